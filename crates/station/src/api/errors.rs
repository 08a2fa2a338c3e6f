//! API errors: a machine code for the client, and a message a person reads, in Chinese
//! (default) or English.
//!
//! Must never: put internal details (SQL, paths) in a message shown to a caller; those go to
//! the log.

use std::borrow::Cow;

use serde::Serialize;

use crate::auth::tokens::TokenError;
use crate::auth::users::UserError;
use crate::store::StoreError;

/// The language of messages, from `Accept-Language` (HTTP) or the window's setting (Tauri).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// Simplified Chinese, the default.
    #[default]
    Zh,
    /// English.
    En,
}

impl Lang {
    /// The first language in an `Accept-Language` header: English if it is `en*`, else Chinese.
    pub fn from_accept_language(header: Option<&str>) -> Lang {
        let mut best: Option<(f32, &str)> = None;
        for part in header.unwrap_or("").split(',') {
            let mut bits = part.trim().split(';');
            let tag = bits.next().unwrap_or("").trim();
            let q = bits
                .find_map(|b| b.trim().strip_prefix("q="))
                .and_then(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            if !tag.is_empty() && best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, tag));
            }
        }
        match best {
            Some((_, tag)) if tag.to_ascii_lowercase().starts_with("en") => Lang::En,
            _ => Lang::Zh,
        }
    }
}

/// The `code` of an error body; each maps to one HTTP status (`invalid` to two: see
/// [`ApiError::malformed`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The request cannot be taken as sent (HTTP 400 or 422); `field` may name the culprit.
    Invalid,
    /// No session, or it expired (HTTP 401): show the login page.
    Unauthenticated,
    /// The caller's role may not do this (HTTP 403).
    Forbidden,
    /// What the request names does not exist, or no longer (HTTP 404).
    NotFound,
    /// The thing exists but its state does not allow this now (HTTP 409), e.g. a purge
    /// already running or an image that cannot be previewed.
    Conflict,
    /// The patient a study would be assigned to differs from the one the device sent, and the
    /// caller did not confirm it (`confirm_mismatch`).
    PatientMismatch,
    /// Too many attempts or too busy (HTTP 429): try again after `retry_after_secs` if given.
    Throttled,
    /// The station failed (HTTP 500); the log has the cause, the message says only that.
    Internal,
}

impl ErrorCode {
    /// The HTTP status this code is answered with (400 for `invalid`; see
    /// [`ApiError::http_status`] for 422).
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::Invalid => 400,
            ErrorCode::Unauthenticated => 401,
            ErrorCode::Forbidden => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::Conflict | ErrorCode::PatientMismatch => 409,
            ErrorCode::Throttled => 429,
            ErrorCode::Internal => 500,
        }
    }
}

/// An error from any operation. Serialized (for Tauri) as
/// `{"code", "message" (Chinese), "message_en"}`; HTTP picks one language via [`ApiError::body`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiError {
    /// What kind of failure, for the client to act on.
    pub code: ErrorCode,
    /// The sentence shown to a person, in Chinese.
    #[serde(rename = "message")]
    pub zh: Cow<'static, str>,
    /// The same sentence in English.
    #[serde(rename = "message_en")]
    pub en: Cow<'static, str>,
    /// Seconds to wait before trying again (throttled only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_secs: Option<u64>,
    /// The request field at fault, e.g. `destinations[0].url`, for a form to mark.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// What the engine found, in its own (often English) words, for a "details" toggle beside
    /// the sentence; never in place of it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The request does not fit the OpenAPI document (not JSON, a wrong type, a missing or
    /// unknown field): HTTP 400. An `invalid` request that fits it, with a value the engine
    /// refuses (a check digit, a date that does not exist, a name taken), is 422.
    #[serde(skip)]
    pub malformed: bool,
}

/// The JSON body of every error response: `{"error": {"code", "message"}}`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// One error as an HTTP client receives it, in the language the request asked for.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// What kind of failure, for the client to act on.
    pub code: ErrorCode,
    /// The sentence to show a person, in the request's `Accept-Language` (Chinese by default).
    pub message: String,
    /// The request field at fault, e.g. `destinations[0].url`, when one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The engine's own words for what is wrong (often English, e.g. serde's), for a
    /// "details" toggle beside the message; absent when the message says it all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}: {}", self.code, self.en)
    }
}

impl std::error::Error for ApiError {}

impl ApiError {
    /// An error with its message in Chinese (`zh`) and English (`en`), no field or detail.
    pub fn new(
        code: ErrorCode,
        zh: impl Into<Cow<'static, str>>,
        en: impl Into<Cow<'static, str>>,
    ) -> ApiError {
        ApiError {
            code,
            zh: zh.into(),
            en: en.into(),
            retry_after_secs: None,
            field: None,
            detail: None,
            malformed: false,
        }
    }

    /// The same error, for a request that does not fit the document (HTTP 400).
    pub fn malformed(mut self) -> ApiError {
        self.malformed = true;
        self
    }

    /// The HTTP status: the code's, but 422 for an `invalid` request that fits the document.
    pub fn http_status(&self) -> u16 {
        match self.code {
            ErrorCode::Invalid if !self.malformed => 422,
            code => code.http_status(),
        }
    }

    /// The same error, naming the request field at fault.
    pub fn at(mut self, field: impl Into<String>) -> ApiError {
        self.field = Some(field.into());
        self
    }

    /// The same error, with the engine's own words for it (see [`ApiError::detail`]).
    pub fn with_detail(mut self, detail: impl Into<String>) -> ApiError {
        self.detail = Some(detail.into());
        self
    }

    /// The message in `lang`.
    pub fn message(&self, lang: Lang) -> &str {
        match lang {
            Lang::Zh => &self.zh,
            Lang::En => &self.en,
        }
    }

    /// The HTTP response body, with the message in `lang`.
    pub fn body(&self, lang: Lang) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: self.message(lang).to_owned(),
                field: self.field.clone(),
                detail: self.detail.clone(),
            },
        }
    }

    /// A request the engine cannot take, said plainly; `detail` (the engine's words) goes
    /// behind the UI's details toggle. A refusal about one field is
    /// [`super::invalid::invalid_field`], which names it.
    pub fn invalid(detail: impl std::fmt::Display) -> ApiError {
        ApiError::new(
            ErrorCode::Invalid,
            "请求无效，工作站无法处理。请刷新页面后重试；如仍出现，请把详细信息告诉管理员。",
            "The station cannot take this request. Reload the page and try again; if it \
             happens again, tell your administrator the details.",
        )
        .with_detail(detail.to_string())
    }

    /// No valid session: the caller must log in (again).
    pub fn unauthenticated() -> ApiError {
        ApiError::new(
            ErrorCode::Unauthenticated,
            "未登录或登录已过期，请重新登录",
            "not logged in, or the session has expired: please log in again",
        )
    }

    /// Logged in, but the role does not allow the operation.
    pub fn forbidden() -> ApiError {
        ApiError::new(
            ErrorCode::Forbidden,
            "您的角色无权执行此操作",
            "your role may not do this",
        )
    }

    /// No operation named `op` (a client newer or older than the station).
    pub(crate) fn unknown_op(op: &str) -> ApiError {
        ApiError::new(
            ErrorCode::NotFound,
            format!("没有名为 {op} 的操作"),
            format!("there is no operation named {op}"),
        )
    }

    /// No study with Study Instance UID `study_uid` in the index.
    pub(crate) fn study_not_found(study_uid: &str) -> ApiError {
        ApiError::new(
            ErrorCode::NotFound,
            format!("找不到检查 {study_uid}"),
            format!("no study {study_uid}"),
        )
    }

    /// A failure inside the station; log the cause before returning this.
    pub fn internal() -> ApiError {
        ApiError::new(
            ErrorCode::Internal,
            "工作站内部错误，详情见日志",
            "internal error in the station; see its log",
        )
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "API operation failed in the store");
        ApiError::internal()
    }
}

impl From<UserError> for ApiError {
    fn from(e: UserError) -> Self {
        match e {
            UserError::BadUsername => ApiError::new(
                ErrorCode::Invalid,
                "用户名须为 1 到 64 个字母、数字、'.'、'_' 或 '-'",
                e.to_string(),
            ),
            UserError::WeakPassword => ApiError::new(
                ErrorCode::Invalid,
                format!(
                    "密码须为 {} 到 {} 个字符",
                    crate::auth::password::MIN_LENGTH,
                    crate::auth::password::MAX_LENGTH
                ),
                e.to_string(),
            ),
            UserError::Exists(ref u) => ApiError::new(
                ErrorCode::Conflict,
                format!("用户 {u} 已存在"),
                e.to_string(),
            ),
            UserError::NotFound(ref u) => {
                ApiError::new(ErrorCode::NotFound, format!("没有用户 {u}"), e.to_string())
            }
            UserError::LastAdmin => ApiError::new(
                ErrorCode::Conflict,
                "不能停用或降级最后一个有效的管理员",
                e.to_string(),
            ),
            UserError::Store(s) => s.into(),
        }
    }
}

impl From<TokenError> for ApiError {
    fn from(e: TokenError) -> Self {
        let (code, zh) = match e {
            TokenError::Store(s) => return s.into(),
            TokenError::BadName => (
                ErrorCode::Invalid,
                "令牌名称须为 1 到 64 个字母、数字、'.'、'_' 或 '-'".to_owned(),
            ),
            TokenError::AdminRole => (
                ErrorCode::Invalid,
                "令牌不能是管理员角色：管理用户和设置须由本人登录".to_owned(),
            ),
            TokenError::BadLifetime => (
                ErrorCode::Invalid,
                "令牌有效期须在 1 秒到 5 年之间".to_owned(),
            ),
            TokenError::Exists(ref name) => (
                ErrorCode::Conflict,
                format!("已有名为 {name} 的令牌（已吊销的令牌也保留名称）"),
            ),
            TokenError::NotFound(ref name) => {
                (ErrorCode::NotFound, format!("没有有效的令牌 {name}"))
            }
        };
        ApiError::new(code, zh, e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_english_only_when_preferred() {
        assert_eq!(Lang::from_accept_language(None), Lang::Zh);
        assert_eq!(Lang::from_accept_language(Some("en-US,en;q=0.9")), Lang::En);
        assert_eq!(
            Lang::from_accept_language(Some("zh-CN,zh;q=0.9,en;q=0.8")),
            Lang::Zh
        );
        assert_eq!(
            Lang::from_accept_language(Some("zh;q=0.5, en;q=0.9")),
            Lang::En
        );
        assert_eq!(Lang::from_accept_language(Some("fr")), Lang::Zh);
    }
}
