//! `GET /api/v1/openapi.json`: the REST API described as OpenAPI, generated from the handlers' annotations
//! and the types they take and answer, so the document changes with the code. A test holds every
//! `/api/v1` route of the router to having its operation in the document.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

/// Every error's body: a stable code, the sentence in Chinese and in English.
#[derive(Debug, ToSchema)]
#[schema(as = ErrorBody)]
pub struct ErrorBodyDoc {
    /// Stable code, e.g. `api.bad_query`.
    pub code: String,
    /// The sentence in Chinese.
    pub message: String,
    /// The sentence in English.
    pub message_en: String,
}

/// The bearer scheme every operation names.
struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "server.api_token (every scope) or a token made with `shoprelay tokens create` / the \
                         console (scope read, operate or admin). A loopback server without server.api_token \
                         also answers requests without a token.",
                    ))
                    .build(),
            ),
        );
    }
}

/// The document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "shoprelay API",
        description = "Audit log, status, dead-letter replay, buyers' data, shop data policies, rules, \
                       conversations and tasks. Errors answer `{code, message, message_en}` with their status."
    ),
    paths(
        document,
        crate::api::audit,
        crate::api::status,
        crate::api::replay,
        crate::buyers::forget,
        crate::shops::get,
        crate::shops::put,
        crate::rules::list,
        crate::rules::test,
        crate::rules::preview,
        crate::rules::get,
        crate::rules::put,
        crate::rules::delete,
        crate::rules::enable,
        crate::rules::disable,
        crate::conversations::list,
        crate::conversations::search,
        crate::conversations::export,
        crate::conversations::get,
        crate::tasks::list,
        crate::tasks::ack,
    ),
    // What query parameters name: utoipa collects the schemas of bodies and answers, not of parameters.
    components(schemas(
        ErrorBodyDoc,
        shoprelay_store::AuditKind,
        shoprelay_store::AuditOutcome,
        shoprelay_store::TaskState,
        shoprelay_store::ConversationState
    )),
    modifiers(&BearerScheme),
    security(("bearer" = []))
)]
pub struct ApiDoc;

/// `GET /api/v1/openapi.json`.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "meta",
    responses(
        (status = 200, description = "This document", body = Object),
        (status = "4XX", description = "Refused", body = ErrorBodyDoc),
    )
)]
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

#[cfg(test)]
mod tests {
    use super::*;
    use shoprelay_core::error::UserFacing;

    /// `(path, method)` of every `.route("/api/v1…", …)` in `lib.rs`, read from its source: axum cannot
    /// list a router's routes, and the source is where a new route is added.
    fn routed() -> Vec<(String, String)> {
        let source = include_str!("lib.rs");
        let mut found = Vec::new();
        for (at, _) in source.match_indices(".route(") {
            let rest = source[at + ".route(".len()..].trim_start();
            let Some(rest) = rest.strip_prefix('"') else { continue };
            let Some((path, rest)) = rest.split_once('"') else {
                continue;
            };
            if !path.starts_with("/api/v1") {
                continue;
            }
            // The route's arguments end where the parentheses opened by `.route(` close.
            let mut depth = 1usize;
            let mut end = rest.len();
            for (i, c) in rest.char_indices() {
                match c {
                    '(' => depth += 1,
                    ')' => {
                        depth -= 1;
                        if depth == 0 {
                            end = i;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            let args = &rest[..end];
            for method in ["get", "post", "put", "delete", "patch"] {
                let called = args
                    .match_indices(&format!("{method}("))
                    .any(|(i, _)| i == 0 || !args[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_'));
                if called {
                    found.push((path.to_owned(), method.to_owned()));
                }
            }
        }
        found
    }

    #[test]
    fn every_api_route_of_the_router_is_in_the_document() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let routes = routed();
        assert!(routes.len() >= 20, "the route scan found too little: {routes:?}");
        let missing: Vec<_> = routes
            .iter()
            .filter(|(path, method)| doc["paths"][path.as_str()][method.as_str()].is_null())
            .collect();
        assert!(
            missing.is_empty(),
            "routes without an operation in the OpenAPI document: {missing:?}"
        );
        let paths = doc["paths"].as_object().unwrap();
        for (path, item) in paths {
            for method in item.as_object().unwrap().keys() {
                assert!(
                    routes.iter().any(|(p, m)| p == path && m == method),
                    "documented but not routed: {method} {path}"
                );
            }
        }
    }

    #[test]
    fn every_operation_names_the_bearer_scheme_and_the_error_body() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
        assert_eq!(doc["security"][0]["bearer"], serde_json::json!([]));
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let error = &op["responses"]["4XX"]["content"]["application/json"]["schema"]["$ref"];
                assert_eq!(error, "#/components/schemas/ErrorBody", "{method} {path}");
            }
        }
    }

    #[test]
    fn the_error_schema_has_the_fields_errors_are_sent_with() {
        let sent = serde_json::to_value(crate::api::Unauthorized.to_body()).unwrap();
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let schema = &doc["components"]["schemas"]["ErrorBody"];
        let mut documented: Vec<_> = schema["properties"].as_object().unwrap().keys().cloned().collect();
        let mut keys: Vec<_> = sent.as_object().unwrap().keys().cloned().collect();
        documented.sort();
        keys.sort();
        assert_eq!(documented, keys);
        assert_eq!(schema["required"].as_array().unwrap().len(), keys.len());
    }
}
