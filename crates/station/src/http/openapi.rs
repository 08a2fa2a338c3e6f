//! The OpenAPI 3 document (`GET /api/openapi.json`, `station openapi`), built from the
//! operation list and the Rust types, so it cannot drift from what the dispatcher accepts.
//! The UI's TypeScript types are generated from it (`scripts/gen-api-types.sh`).
//!
//! Each operation carries `x-roles`, the roles `api/roles.rs` lets call it (or `"public"`), so
//! the UI's role checks are generated from the engine's one table.
//!
//! Must never: describe an operation by hand; add it to `api/ops.rs` instead.

mod refine;

use std::sync::OnceLock;

use utoipa::openapi::extensions::{Extensions, ExtensionsBuilder};
use utoipa::openapi::path::{
    HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn, PathItem,
};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{ComponentsBuilder, ObjectBuilder, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, PathsBuilder, Ref, RefOr, Required,
    Schema,
};

use crate::api::downloads::Download;
use crate::api::errors::ErrorBody;
use crate::api::ops::{collect, specs};
use crate::api::roles::{access, download_access, Access};
use crate::events::Event;

fn json(schema: impl Into<RefOr<Schema>>) -> utoipa::openapi::Content {
    ContentBuilder::new().schema(Some(schema)).build()
}

/// Who may call: `"Roles: a, b."` for people, and `x-roles` (`["a", "b"]` or `"public"`) for
/// the UI's generated role table.
fn access_doc(access: Access, public: &str) -> (String, Extensions) {
    let (text, roles) = match access {
        Access::Public => (public.to_owned(), serde_json::json!("public")),
        Access::Roles(r) => {
            let names: Vec<&str> = r.iter().map(|r| r.as_str()).collect();
            (names.join(", "), serde_json::json!(names))
        }
    };
    (
        format!("Roles: {text}."),
        ExtensionsBuilder::new().add("x-roles", roles).build(),
    )
}

fn error_response(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content("application/json", json(Ref::from_schema_name("ErrorBody")))
        .build()
}

/// The document, built once.
pub fn document() -> &'static OpenApi {
    static DOC: OnceLock<OpenApi> = OnceLock::new();
    DOC.get_or_init(build)
}

pub(crate) fn document_json() -> String {
    static JSON: OnceLock<String> = OnceLock::new();
    JSON.get_or_init(|| document().to_pretty_json().unwrap_or_else(|_| "{}".into()))
        .clone()
}

fn build() -> OpenApi {
    let doc = assemble();
    match serde_json::to_value(&doc) {
        Ok(mut value) => {
            refine::integer_ranges(&mut value);
            refine::close_variants(&mut value);
            serde_json::from_value(value).unwrap_or(doc)
        }
        Err(_) => doc,
    }
}

/// One server-sent event as OpenAPI 3.1 describes a stream's item: its `data` line is one
/// `Event` as JSON (the `Event` schema; a `contentSchema` pointing at it would not survive
/// utoipa's types).
fn sse_event() -> ObjectBuilder {
    let text = || ObjectBuilder::new().schema_type(Type::String);
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .property(
            "data",
            text()
                .content_media_type("application/json")
                .description(Some("One Event (#/components/schemas/Event) as JSON.")),
        )
        .required("data")
        .property("event", text())
        .property("id", text())
}

/// The document as the operation list and the types give it.
fn assemble() -> OpenApi {
    let mut schemas: Vec<(String, RefOr<Schema>)> = Vec::new();
    collect::<ErrorBody>(&mut schemas);
    let mut paths = PathsBuilder::new();
    for spec in specs() {
        (spec.schemas)(&mut schemas);
        let name = spec.op.name();
        let (roles, roles_ext) = access_doc(access(spec.op), "anyone (no session)");
        let mut op = OperationBuilder::new()
            .operation_id(Some(name))
            .summary(Some(spec.summary))
            .description(Some(roles))
            .extensions(Some(roles_ext))
            .tag("api")
            .request_body(Some(
                RequestBodyBuilder::new()
                    .content(
                        "application/json",
                        json(Ref::from_schema_name(&spec.request)),
                    )
                    .required(Some(if (spec.body_optional)() {
                        Required::False
                    } else {
                        Required::True
                    }))
                    .build(),
            ))
            .response(
                "200",
                ResponseBuilder::new().description("Success").content(
                    "application/json",
                    json(Ref::from_schema_name(&spec.response)),
                ),
            )
            .response(
                "400",
                error_response(
                    "The request does not fit this document: not a JSON object, a wrong type, \
                     a missing or unknown field",
                ),
            )
            .response("500", error_response("Internal error"));
        // A request that takes nothing has no value to refuse.
        if spec.request != "Empty" {
            op = op.response(
                "422",
                error_response(
                    "The request fits this document but a value is refused by a check it \
                     cannot state (an ID card's check digit, a date that does not exist, a \
                     URL that does not parse, a name or password the rules refuse); \
                     `error.field` names it",
                ),
            );
        }
        op = match access(spec.op) {
            Access::Public => op
                .response("401", error_response("Wrong username or password"))
                .response(
                    "429",
                    error_response("Too many failed logins (see Retry-After)"),
                ),
            Access::Roles(_) => op
                .security(SecurityRequirement::new("bearer", Vec::<String>::new()))
                .response("401", error_response("Not logged in or session expired"))
                .response("403", error_response("The caller's role may not do this"))
                .response("404", error_response("Not found"))
                .response("409", error_response("Conflicts with the current state")),
        };
        paths = paths.path(format!("/api/{name}"), PathItem::new(HttpMethod::Post, op));
    }
    // The event stream: its data lines are `Event`s.
    collect::<Event>(&mut schemas);
    let events = OperationBuilder::new()
        .operation_id(Some("events"))
        .summary(Some(
            "Engine events as server-sent events; each data line is one Event (JSON).",
        ))
        .description(Some(
            "A client that fell behind gets `{\"type\":\"lagged\",\"missed\":n}` and should \
             reload what it shows. The stream ends when the session does. The caller is the \
             browser's session cookie or a bearer header, never a URL.",
        ))
        .tag("api")
        .response(
            "200",
            ResponseBuilder::new()
                .description("text/event-stream of Event")
                .content("text/event-stream", json(sse_event())),
        )
        .response("401", error_response("Not logged in or session expired"));
    paths = paths.path("/api/events", PathItem::new(HttpMethod::Get, events));
    for what in Download::ALL {
        let (path, summary) = download_path(what);
        paths = paths.path(
            path,
            PathItem::new(HttpMethod::Get, download_op(what, summary)),
        );
    }
    let mut components = ComponentsBuilder::new().security_scheme(
        "bearer",
        SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
    );
    for (name, schema) in schemas {
        components = components.schema(name, schema);
    }
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("Clinic Imaging Station API")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "Every operation is POST /api/{op} with a JSON body and \
                     `Authorization: Bearer <token>` from `login` (a browser gets the \
                     HttpOnly `station_session` cookie at login instead, and its calls must \
                     be `application/json`; a `token` in a URL is refused). Errors are \
                     {\"error\":{\"code\",\"message\"}}, the message in the Accept-Language \
                     language (zh-CN default, en).",
                ))
                .build(),
        )
        .paths(paths.build())
        .components(Some(components.build()))
        .build()
}

/// A URL parameter: a path's is required; the query's `key` is one way of three to say who
/// calls, so it may be left out.
fn param(name: &str, place: ParameterIn, schema: ObjectBuilder) -> ParameterBuilder {
    let required = match place {
        ParameterIn::Path => Required::True,
        _ => Required::False,
    };
    ParameterBuilder::new()
        .name(name)
        .parameter_in(place)
        .required(required)
        .schema(Some(schema))
}

/// The URL and summary of a file route.
fn download_path(what: Download) -> (&'static str, &'static str) {
    match what {
        Download::Preview => (
            "/api/preview/{sop_instance_uid}.png",
            "An instance's preview (PNG, at most 512 px a side): the converted export's thumbnail, else its first frame rendered. Audited.",
        ),
        Download::ReportPdf => (
            "/api/report/{id}/pdf",
            "A PDF report's document (application/pdf). Audited.",
        ),
        Download::ReportPrint => (
            "/api/report/{id}/print",
            "A report's print view (self-contained HTML, A4) in the Accept-Language language. Audited.",
        ),
        Download::Diagnostics => (
            "/api/diagnostics.tar.gz",
            "The diagnostics bundle of `station diagnose` (settings without secrets, log tail, queue, index check, connection tests; no patient data). Audited.",
        ),
        Download::Log => (
            "/api/log.txt",
            "The station log's last 2,000 lines (text/plain), every patient name and ID the station knows replaced by [patient]. Audited.",
        ),
    }
}

fn download_op(what: Download, summary: &str) -> utoipa::openapi::path::Operation {
    let (roles, roles_ext) = access_doc(download_access(what), "anyone");
    let (key, media) = match what {
        Download::Preview => ("sop_instance_uid", "image/png"),
        Download::ReportPdf => ("id", "application/pdf"),
        Download::ReportPrint => ("id", "text/html"),
        Download::Diagnostics => ("", "application/gzip"),
        Download::Log => ("", "text/plain"),
    };
    let binary = ObjectBuilder::new().schema_type(Type::String).format(Some(
        utoipa::openapi::SchemaFormat::KnownFormat(utoipa::openapi::KnownFormat::Binary),
    ));
    let mut op = OperationBuilder::new()
        .operation_id(Some(what.name()))
        .summary(Some(summary))
        .description(Some(format!(
            "{roles} The caller: a bearer header, the browser's session cookie, or the \
             desktop window's `?key=` from `file_key`."
        )))
        .extensions(Some(roles_ext))
        .tag("api");
    let string = || ObjectBuilder::new().schema_type(Type::String);
    if !key.is_empty() {
        // A report's number is what `report_id` parses: an i64.
        let schema = match what {
            Download::ReportPdf | Download::ReportPrint => {
                ObjectBuilder::new().schema_type(Type::Integer).format(Some(
                    utoipa::openapi::SchemaFormat::KnownFormat(utoipa::openapi::KnownFormat::Int64),
                ))
            }
            _ => string(),
        };
        op = op.parameter(param(key, ParameterIn::Path, schema));
    }
    op.parameter(param("key", ParameterIn::Query, string()))
        .response(
            "200",
            ResponseBuilder::new()
                .description(media)
                .content(media, json(binary)),
        )
        .response(
            "400",
            error_response("The URL does not fit this document (a report number that is not one)"),
        )
        .response("401", error_response("Not logged in or session expired"))
        .response("403", error_response("The caller's role may not do this"))
        .response("404", error_response("Not found"))
        .response("409", error_response("Cannot be rendered"))
        .build()
}

#[cfg(test)]
mod tests {
    /// The UI's generated types come from the committed document: it must be this build's.
    #[test]
    fn committed_ui_types_match_the_api() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../ui/src/api/generated/openapi.json"
        );
        let committed: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(path).expect("ui/src/api/generated/openapi.json"),
        )
        .expect("committed OpenAPI JSON");
        let current = serde_json::to_value(super::document()).expect("document JSON");
        assert!(
            committed == current,
            "the API changed: run scripts/gen-api-types.sh and commit ui/src/api/generated/"
        );
        let ops = current["paths"].as_object().expect("paths");
        assert!(ops.contains_key("/api/login") && ops.contains_key("/api/events"));
    }
}
