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
use crate::api::dicomweb::{frame_list, RenderQuery, Request, StudySearch};
use crate::api::ApiError;

/// The query of QIDO-RS studies: its keys (others, such as `includefield`, are ignored: every
/// answer carries all the attributes the station has).
#[derive(Deserialize, Default)]
pub(crate) struct StudyQuery {
    #[serde(flatten)]
    search: StudySearch,
}

/// A request DICOMweb cannot serve is 400 (PS3.18 §8.3.4), where the station's own API says
/// 422 for a value it refuses in a request that fits its document.
fn refused(err: ApiError, headers: &HeaderMap) -> Response {
    error_response(&err.malformed(), lang(headers))
}

async fn answer(state: AppState, headers: HeaderMap, request: Request) -> Response {
    let token = credential(&headers).map(|(token, _)| token);
    let api = state.api.clone();
    file_answer(lang(&headers), move || {
        api.dicomweb(token.as_deref(), &request)
            .map_err(ApiError::malformed)
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

pub(crate) async fn frames(
    State(state): State<AppState>,
    Path((study, series, sop, frames)): Path<(String, String, String, String)>,
    headers: HeaderMap,
) -> Response {
    let frames = match frame_list(&frames) {
        Ok(frames) => frames,
        Err(err) => return refused(err, &headers),
    };
    let request = Request::Frames {
        study,
        series,
        sop,
        frames,
    };
    answer(state, headers, request).await
}

/// The query of a rendered or thumbnail request, with the Accept header beside it.
fn render_query(mut query: RenderQuery, headers: &HeaderMap) -> RenderQuery {
    query.accept = headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    query
}

pub(crate) async fn rendered(
    State(state): State<AppState>,
    Path((study, series, sop)): Path<(String, String, String)>,
    Query(query): Query<RenderQuery>,
    headers: HeaderMap,
) -> Response {
    let query = render_query(query, &headers);
    let request = Request::Rendered {
        study,
        series,
        sop,
        frame: None,
        query,
    };
    answer(state, headers, request).await
}

pub(crate) async fn frame_rendered(
    State(state): State<AppState>,
    Path((study, series, sop, frame)): Path<(String, String, String, String)>,
    Query(query): Query<RenderQuery>,
    headers: HeaderMap,
) -> Response {
    // One frame: a rendered answer is one image.
    let frame = match frame_list(&frame) {
        Ok(list) if list.len() == 1 => list[0],
        Ok(_) => {
            return refused(
                ApiError::invalid("a rendered frame is one frame number"),
                &headers,
            );
        }
        Err(err) => return refused(err, &headers),
    };
    let query = render_query(query, &headers);
    let request = Request::Rendered {
        study,
        series,
        sop,
        frame: Some(frame),
        query,
    };
    answer(state, headers, request).await
}

/// The path of a thumbnail: a study, a series of it, or an instance of that.
#[derive(Deserialize)]
pub(crate) struct ThumbnailOf {
    study: String,
    series: Option<String>,
    sop: Option<String>,
}

pub(crate) async fn thumbnail(
    State(state): State<AppState>,
    Path(of): Path<ThumbnailOf>,
    Query(query): Query<RenderQuery>,
    headers: HeaderMap,
) -> Response {
    let query = render_query(query, &headers);
    let request = Request::Thumbnail {
        study: of.study,
        series: of.series,
        sop: of.sop,
        query,
    };
    answer(state, headers, request).await
}
