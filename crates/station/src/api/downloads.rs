//! What the API serves as files rather than JSON: an instance's preview PNG, a report's PDF and
//! its print view. Browsers fetch them by URL (`<img src>`, a new tab), so the HTTP adapter
//! takes the token from the query; the role check is the dispatcher's ([`Api::authorize`] with
//! `roles::download_access`), and each is audited as a read.
//!
//! Must never: serve a file without the role check and the audit entry, or hold the store's lock
//! while rendering a preview.

use super::{roles, Api, ApiError, ErrorCode, Lang};
use crate::diagnose;
use crate::reports::{print, view};
use crate::scp::preview::{self, PreviewError};
use crate::store::{self, audit};

/// A kind of file the API serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Download {
    /// `GET /api/preview/{sop_instance_uid}.png`
    Preview,
    /// `GET /api/report/{id}/pdf`
    ReportPdf,
    /// `GET /api/report/{id}/print`
    ReportPrint,
    /// `GET /api/diagnostics.tar.gz`: the bundle of `station diagnose` (no key).
    Diagnostics,
    /// `GET /api/log.txt`: the log's last lines, scrubbed like the bundle's (no key).
    Log,
}

impl Download {
    /// Every download route, in the order the OpenAPI document lists them.
    pub const ALL: [Download; 5] = [
        Download::Preview,
        Download::ReportPdf,
        Download::ReportPrint,
        Download::Diagnostics,
        Download::Log,
    ];

    /// The name refusals and the OpenAPI document use.
    pub fn name(self) -> &'static str {
        match self {
            Download::Preview => "preview",
            Download::ReportPdf => "report_pdf",
            Download::ReportPrint => "report_print",
            Download::Diagnostics => "diagnostics",
            Download::Log => "log",
        }
    }
}

/// A file to send: its bytes and media type.
#[derive(Debug, Clone)]
pub struct Binary {
    /// The HTTP `Content-Type` it is sent with.
    pub content_type: &'static str,
    /// The file's content.
    pub bytes: Vec<u8>,
}

impl From<PreviewError> for ApiError {
    fn from(e: PreviewError) -> Self {
        match e {
            PreviewError::NotFound(ref sop) => ApiError::new(
                ErrorCode::NotFound,
                format!("找不到影像 {sop}"),
                e.to_string(),
            ),
            PreviewError::NoImage(_) => {
                ApiError::new(ErrorCode::NotFound, "该影像没有可预览的图像", e.to_string())
            }
            PreviewError::Render { .. } => {
                tracing::warn!(error = %e, "preview failed");
                ApiError::new(
                    ErrorCode::Conflict,
                    "该影像无法生成预览（压缩格式或像素数据不受支持）",
                    e.to_string(),
                )
            }
            PreviewError::Busy => ApiError::new(
                ErrorCode::Throttled,
                "工作站正忙于生成其他预览，请稍后重试",
                "The station is busy making other previews; try again shortly.",
            ),
            PreviewError::Store(s) => s.into(),
        }
    }
}

fn diagnostics_error(e: diagnose::DiagnoseError) -> ApiError {
    match e {
        diagnose::DiagnoseError::Store(s) => s.into(),
        other => {
            tracing::error!(error = %other, "diagnostics bundle failed");
            ApiError::internal()
        }
    }
}

fn report_id(key: &str) -> Result<i64, ApiError> {
    key.parse()
        .map_err(|_| ApiError::invalid(format!("{key:?} is not a report number")).malformed())
}

impl Api {
    /// The file `what` names by `key` (a SOP Instance UID or a report number), for the caller
    /// holding `token`; the print view in `lang`.
    pub fn download(
        &self,
        token: Option<&str>,
        what: Download,
        key: &str,
        lang: Lang,
    ) -> Result<Binary, ApiError> {
        let session = self
            .authorize(token, roles::download_access(what), what.name())?
            .ok_or_else(ApiError::unauthenticated)?;
        let actor = session.user.username.as_str();
        let data_dir = &self.config().data_dir;
        let (content_type, bytes, subject) = match what {
            Download::Preview => {
                let png = match preview::png(&self.store, data_dir, key) {
                    // No preview was kept and the file is at the center: fetch it back first.
                    Err(e @ PreviewError::Render { .. }) => {
                        let purged = store::retention::purged_study_of(&self.store.lock(), key)?;
                        let Some(study) = purged else {
                            return Err(e.into());
                        };
                        self.on_disk(&study, Some(key))?;
                        preview::png(&self.store, data_dir, key)?
                    }
                    other => other?,
                };
                ("image/png", png, key.to_owned())
            }
            Download::ReportPdf => {
                let id = report_id(key)?;
                let path = view::pdf_path(&self.store.lock(), id)?;
                let bytes = view::pdf_read(data_dir, path)?;
                ("application/pdf", bytes, format!("report #{id}"))
            }
            Download::ReportPrint => {
                let id = report_id(key)?;
                let lang = match lang {
                    Lang::Zh => print::Lang::Zh,
                    Lang::En => print::Lang::En,
                };
                let html = print::print_html(&self.store.lock(), &self.config().reports, id, lang)?;
                (
                    "text/html; charset=utf-8",
                    html.into_bytes(),
                    format!("report #{id}"),
                )
            }
            Download::Diagnostics => {
                // The lock only while reading: the destinations are tested after it.
                let facts = diagnose::read_store(&self.store.lock()).map_err(diagnostics_error)?;
                let mut bytes = Vec::new();
                diagnose::write_bundle(&self.config(), facts, &mut bytes)
                    .map_err(diagnostics_error)?;
                ("application/gzip", bytes, "station".to_owned())
            }
            Download::Log => {
                let text = diagnose::log_text(&self.store.lock(), &self.config())
                    .map_err(diagnostics_error)?;
                (
                    "text/plain; charset=utf-8",
                    text.into_bytes(),
                    "station".to_owned(),
                )
            }
        };
        let action = format!("{}.read", what.name());
        // Coalesced: a study's page fetches its thumbnails again each time it refetches on a
        // live event (they are never cached, `private, no-store`).
        audit::read(&self.store.lock(), actor, &action, &subject, "", &[])?;
        Ok(Binary {
            content_type,
            bytes,
        })
    }
}
