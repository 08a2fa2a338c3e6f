//! `GET /dicom-web/...`: the station's read-only DICOMweb (PS3.18) over HTTP, for the image
//! viewer and LAN workstations. Thin: `Api::dicomweb` checks the role and audits; the caller
//! is the `Authorization: Bearer` header or the browser's session cookie (never a URL).
//!
//! Must never: read a file or the store on an async worker, or let a shared PC cache images.

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;

use super::downloads::file_answer;
use super::routes::{credential, error_response, lang};
use super::AppState;
use crate::api::dicomweb::{Request, StudySearch};
use crate::api::ApiError;

/// The query of QIDO-RS studies: its keys (others, such as `includefield`, are ignored: every
/// answer carries all the attributes the station has).
#[derive(Deserialize, Default)]
pub(crate) struct StudyQuery {
    #[serde(flatten)]
    search: StudySearch,
}

async fn answer(state: AppState, headers: HeaderMap, request: Request) -> Response {
    let token = credential(&headers).map(|(token, _)| token);
    let api = state.api.clone();
    file_answer(lang(&headers), move || {
        api.dicomweb(token.as_deref(), &request)
    })
    .await
}

pub(crate) async fn studies(
    State(state): State<AppState>,
    Query(q): Query<StudyQuery>,
    headers: HeaderMap,
) -> Response {
    answer(state, headers, Request::Studies(q.search)).await
}

pub(crate) async fn series(
    State(state): State<AppState>,
    Path(study): Path<String>,
    headers: HeaderMap,
) -> Response {
    answer(state, headers, Request::Series { study }).await
}

pub(crate) async fn instances(
    State(state): State<AppState>,
    Path((study, series)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    answer(state, headers, Request::Instances { study, series }).await
}

pub(crate) async fn metadata(
    State(state): State<AppState>,
    Path((study, series)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    answer(state, headers, Request::Metadata { study, series }).await
}

pub(crate) async fn instance(
    State(state): State<AppState>,
    Path((study, series, sop)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    answer(state, headers, Request::Instance { study, series, sop }).await
}

pub(crate) async fn frame(
    State(state): State<AppState>,
    Path((study, series, sop, frame)): Path<(String, String, String, String)>,
    headers: HeaderMap,
) -> Response {
    // One frame per request, as the viewer asks (a list such as `1,2` is not served).
    let Ok(frame) = frame.parse::<usize>() else {
        let err = ApiError::invalid(format!("frame {frame:?}: one frame number, from 1"));
        return error_response(&err, lang(&headers));
    };
    let request = Request::Frame {
        study,
        series,
        sop,
        frame,
    };
    answer(state, headers, request).await
}
