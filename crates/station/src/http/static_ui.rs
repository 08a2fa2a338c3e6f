//! The built web UI (`ui/dist`), embedded in the binary. Unknown paths get `index.html` so the
//! UI's own routes work on reload; a build without the UI still compiles and says so.
//!
//! Must never: answer an `/api/` or `/dicom-web/` path with the UI (a wrong API URL must be a
//! JSON 404).

use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::api::ApiError;

#[derive(rust_embed::Embed)]
#[folder = "../../ui/dist"]
#[allow_missing = true]
struct UiDist;

pub(crate) async fn serve(uri: Uri, headers: HeaderMap) -> Response {
    let path = uri.path().trim_start_matches('/');
    if path == "api" || path.starts_with("api/") || path.starts_with("dicom-web") {
        let err = ApiError::new(
            crate::api::ErrorCode::NotFound,
            "没有这个接口",
            "no such API path",
        );
        return (
            StatusCode::NOT_FOUND,
            Json(err.body(super::routes::lang(&headers))),
        )
            .into_response();
    }
    let (file, name) = match UiDist::get(path).filter(|_| !path.is_empty()) {
        Some(f) => (f, path),
        None => match UiDist::get("index.html") {
            Some(f) => (f, "index.html"),
            None => {
                return (
                    StatusCode::NOT_FOUND,
                    "界面未构建 / the web UI was not built into this station (ui/dist)",
                )
                    .into_response()
            }
        },
    };
    // Vite names assets by content hash: they never change. index.html always may.
    let cache = if name.starts_with("assets/") {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    (
        [
            (header::CONTENT_TYPE, file.metadata.mimetype().to_owned()),
            (header::CACHE_CONTROL, cache.to_owned()),
        ],
        file.data,
    )
        .into_response()
}
