//! `GET /api/v1/openapi.json`: the REST API described as OpenAPI, generated from the handlers' annotations
//! and the types they take and answer, so the document changes with the code. A test holds every
//! `/api/v1` route of the router to having its operation in the document.

use axum::Json;
use serde::Deserialize;
use utoipa::openapi::link::LinkBuilder;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::RefOr;
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

/// A rule as `PUT /api/v1/rules/{id}` and `POST /api/v1/rules/preview` take it: the configuration file's
/// `[[rules]]` in JSON. Fields it does not name are refused, and its targets must name destinations the
/// configuration holds (which no schema can say). A field the rule reads with a default is optional but
/// not nullable here, as the API refuses `null` for it; only the core rule's `Option` fields take `null`.
// Deserialize is derived only so that the serde attributes, which utoipa reads, are allowed.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = RuleBody)]
pub struct RuleBodyDoc {
    /// The rule's id; the path's when left out.
    #[serde(default)]
    #[schema(pattern = "^[A-Za-z0-9_-]{1,64}$")]
    pub id: String,
    /// Off: kept, matching nothing (default on).
    #[serde(default)]
    pub enabled: bool,
    /// Event kinds selected; none selects every kind but the derived ones.
    #[serde(default)]
    pub events: Vec<shoprelay_core::event::EventKind>,
    /// Shops selected (the marketplace's shop or seller ids); none selects every shop.
    #[serde(default)]
    #[schema(value_type = Vec<u64>, minimum = 1)]
    pub shops: Vec<u64>,
    /// Shop groups selected (`[[shop_groups]]` ids), besides `shops`.
    #[serde(default)]
    pub shop_groups: Vec<String>,
    /// A further condition on the event: fields, `all` / `any` / `not`, or a CEL `expr`.
    #[schema(value_type = Option<Object>)]
    pub when: Option<serde_json::Value>,
    /// A message template (minijinja, markdown) replacing the built-in card and markdown.
    pub template: Option<String>,
    /// Where matching events go (may be empty when the rule assigns).
    #[serde(default)]
    pub targets: Vec<TargetDoc>,
    /// Sent before order news, never folded into a digest, not held by quiet hours.
    #[serde(default)]
    pub urgent: bool,
    /// Daily hours in which the rule's messages wait, `{"from": "22:00", "to": "08:00"}`.
    #[schema(value_type = Option<Object>)]
    pub quiet_hours: Option<serde_json::Value>,
    /// Give each event to one member of a group (分单).
    #[schema(value_type = Option<Object>)]
    pub assign: Option<serde_json::Value>,
    /// Unacknowledged for this long, the event goes to a supervisor.
    #[schema(value_type = Option<Object>)]
    pub escalate: Option<serde_json::Value>,
    /// Logistics exception: days shipped without tracking news.
    pub stalled_after_days: Option<u32>,
    /// Logistics exception: hours before the ship-by date with the order unshipped.
    pub ship_risk_hours: Option<u32>,
    /// How the buyer's personal fields appear: `masked` (default) or `full`.
    #[serde(default)]
    #[schema(pattern = "^(masked|full)$")]
    pub personal_data: String,
}

/// A rule's target, by its `type`. Fields it does not name are refused (`target_variants_closed` says
/// so in the document: utoipa writes `additionalProperties: false` for structs only).
// Deserialize is derived only so that the serde attributes, which utoipa reads, are allowed.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
#[schema(as = RuleTarget)]
pub enum TargetDoc {
    /// A WeCom app's message to members, departments, tags or everyone.
    WecomApp {
        /// The WeCom app's id in the configuration.
        app: String,
        /// Members' userids.
        #[serde(default)]
        users: Vec<String>,
        /// Department ids.
        #[serde(default)]
        departments: Vec<u32>,
        /// Tag ids.
        #[serde(default)]
        tags: Vec<u32>,
        /// Everyone the app reaches.
        #[serde(default)]
        all: bool,
    },
    /// A group robot's message.
    Robot {
        /// The robot's id in the configuration.
        robot: String,
        /// Userids to @.
        #[serde(default)]
        mentions: Vec<String>,
        /// Mobile numbers to @.
        #[serde(default)]
        mention_mobiles: Vec<String>,
    },
    /// A WeCom app group chat.
    Appchat {
        /// The WeCom app's id in the configuration.
        app: String,
        /// The chat's id.
        chatid: String,
        /// The chat to create when it does not exist yet.
        #[schema(value_type = Option<Object>)]
        create: Option<serde_json::Value>,
    },
    /// The seller's own system.
    Webhook {
        /// The webhook's id in the configuration.
        webhook: String,
    },
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

/// Each operation's id, `{tag}_{handler}`: utoipa names an operation after its handler, and handlers in
/// different modules share names (`list`, `get`), while a link names its target by a unique id.
struct OperationIds;

impl Modify for OperationIds {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            let operations = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete];
            for operation in operations.into_iter().flatten() {
                let tag = operation.tags.as_ref().and_then(|t| t.first()).cloned();
                if let (Some(tag), Some(id)) = (tag, operation.operation_id.as_mut()) {
                    *id = format!("{tag}_{id}");
                }
            }
        }
    }
}

/// The links between operations: which value of an answer names what another operation takes (a rule's
/// id, a conversation's, a task's, a shop's), so a client — and schemathesis' stateful phase, which
/// chains calls along them — can follow one answer into the next call.
struct Links;

/// `(path, method, status, link name, target operation id, [(target parameter, runtime expression)])`.
type LinkSpec = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

const FIRST_RULE: &[(&str, &str)] = &[("id", "$response.body#/0/id")];
const THIS_RULE: &[(&str, &str)] = &[("id", "$response.body#/id")];
const FIRST_SHOP: &[(&str, &str)] = &[
    ("app_id", "$response.body#/0/app_id"),
    ("shop_id", "$response.body#/0/shop_id"),
];
const LINKS: &[LinkSpec] = &[
    ("/api/v1/rules", "get", "200", "GetRule", "rules_get", FIRST_RULE),
    (
        "/api/v1/rules",
        "get",
        "200",
        "DisableRule",
        "rules_disable",
        FIRST_RULE,
    ),
    ("/api/v1/rules", "get", "200", "EnableRule", "rules_enable", FIRST_RULE),
    ("/api/v1/rules/{id}", "put", "200", "GetRule", "rules_get", THIS_RULE),
    ("/api/v1/rules/{id}", "put", "201", "GetRule", "rules_get", THIS_RULE),
    (
        "/api/v1/rules/{id}",
        "put",
        "201",
        "DeleteRule",
        "rules_delete",
        THIS_RULE,
    ),
    (
        "/api/v1/rules/{id}/enable",
        "post",
        "200",
        "GetRule",
        "rules_get",
        THIS_RULE,
    ),
    (
        "/api/v1/rules/{id}/disable",
        "post",
        "200",
        "GetRule",
        "rules_get",
        THIS_RULE,
    ),
    (
        "/api/v1/tasks",
        "get",
        "200",
        "AckTask",
        "tasks_ack",
        &[("id", "$response.body#/0/id")],
    ),
    (
        "/api/v1/tasks",
        "get",
        "200",
        "GetRule",
        "rules_get",
        &[("id", "$response.body#/0/rule_id")],
    ),
    (
        "/api/v1/tasks/{id}/ack",
        "post",
        "200",
        "GetRule",
        "rules_get",
        &[("id", "$response.body#/rule_id")],
    ),
    (
        "/api/v1/conversations",
        "get",
        "200",
        "GetConversation",
        "conversations_get",
        &[("id", "$response.body#/0/id")],
    ),
    (
        "/api/v1/conversations",
        "get",
        "200",
        "GetDataPolicy",
        "shops_get",
        FIRST_SHOP,
    ),
    (
        "/api/v1/status",
        "get",
        "200",
        "GetDataPolicy",
        "shops_get",
        &[
            ("app_id", "$response.body#/shops/0/app_id"),
            ("shop_id", "$response.body#/shops/0/shop_id"),
        ],
    ),
    (
        "/api/v1/shops/{app_id}/{shop_id}/data-policy",
        "put",
        "200",
        "GetDataPolicy",
        "shops_get",
        &[("app_id", "$request.path.app_id"), ("shop_id", "$request.path.shop_id")],
    ),
];

impl Modify for Links {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, method, status, name, target, parameters) in LINKS {
            let Some(item) = openapi.paths.paths.get_mut(*path) else {
                continue;
            };
            let operation: &mut Option<Operation> = match *method {
                "get" => &mut item.get,
                "put" => &mut item.put,
                "post" => &mut item.post,
                _ => &mut item.delete,
            };
            let response = operation.as_mut().and_then(|o| o.responses.responses.get_mut(*status));
            let Some(RefOr::T(response)) = response else {
                continue;
            };
            let link = parameters
                .iter()
                .fold(LinkBuilder::new().operation_id(*target), |link, (name, value)| {
                    link.parameter(*name, *value)
                })
                .build();
            response.links.insert((*name).to_owned(), RefOr::T(link));
        }
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
        RuleBodyDoc,
        TargetDoc,
        shoprelay_store::AuditKind,
        shoprelay_store::AuditOutcome,
        shoprelay_store::TaskState,
        shoprelay_store::ConversationState
    )),
    modifiers(&BearerScheme, &OperationIds, &Links),
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
pub async fn document() -> Json<serde_json::Value> {
    Json(document_json())
}

/// The document as served. utoipa 5 writes a response link's fields in snake case (`operation_id`,
/// `request_body`), which OpenAPI readers — schemathesis among them — do not know, so the served document
/// renames them to the specification's camel case.
pub fn document_json() -> serde_json::Value {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
    target_variants_closed(&mut doc);
    dry_run_bodies(&mut doc);
    let operations = doc
        .get_mut("paths")
        .and_then(serde_json::Value::as_object_mut)
        .into_iter()
        .flat_map(|paths| paths.values_mut())
        .filter_map(serde_json::Value::as_object_mut)
        .flat_map(|item| item.values_mut());
    for op in operations {
        let responses = op.get_mut("responses").and_then(serde_json::Value::as_object_mut);
        for response in responses.into_iter().flat_map(|r| r.values_mut()) {
            let links = response.get_mut("links").and_then(serde_json::Value::as_object_mut);
            for link in links.into_iter().flat_map(|l| l.values_mut()) {
                let Some(link) = link.as_object_mut() else { continue };
                for (snake, camel) in [
                    ("operation_id", "operationId"),
                    ("operation_ref", "operationRef"),
                    ("request_body", "requestBody"),
                ] {
                    if let Some(value) = link.remove(snake) {
                        link.insert(camel.to_owned(), value);
                    }
                }
            }
        }
    }
    doc
}

/// `RuleTarget`'s variants refuse fields they do not name, as the core target does (`deny_unknown_fields`).
fn target_variants_closed(doc: &mut serde_json::Value) {
    let variants = doc
        .pointer_mut("/components/schemas/RuleTarget/oneOf")
        .and_then(serde_json::Value::as_array_mut);
    for variant in variants.into_iter().flatten() {
        if let Some(variant) = variant.as_object_mut() {
            variant.insert("additionalProperties".into(), false.into());
        }
    }
}

/// What utoipa cannot derive for the dry runs' bodies: `/rules/test` needs one of `kind`, `order_sn` or
/// `event` (the handler answers 400 otherwise), and `/rules/preview` also the `rule` — its own schema,
/// `RulePreview`, since both handlers read the same struct. A test holds the document to having them, so
/// a renamed schema or operation fails it rather than leaving this undone.
fn dry_run_bodies(doc: &mut serde_json::Value) {
    let one_of_the_sources = serde_json::json!([
        {"required": ["kind"]},
        {"required": ["order_sn"]},
        {"required": ["event"]}
    ]);
    let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(serde_json::Value::as_object_mut)
    else {
        return;
    };
    let Some(test) = schemas.get_mut("RulesTest").and_then(serde_json::Value::as_object_mut) else {
        return;
    };
    test.insert("anyOf".into(), one_of_the_sources);
    let mut preview = test.clone();
    preview.insert("required".into(), serde_json::json!(["rule"]));
    preview.insert(
        "description".into(),
        "The rule to preview, and the event to preview it with.".into(),
    );
    schemas.insert("RulePreview".into(), preview.into());
    if let Some(body) =
        doc.pointer_mut("/paths/~1api~1v1~1rules~1preview/post/requestBody/content/application~1json/schema")
    {
        *body = serde_json::json!({"$ref": "#/components/schemas/RulePreview"});
    }
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
        let doc = document_json();
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
        let doc = document_json();
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
    fn operation_ids_are_unique_and_every_link_names_an_operation_and_its_parameters() {
        let doc = document_json();
        let mut ids = std::collections::BTreeMap::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let id = op["operationId"].as_str().unwrap().to_owned();
                assert!(
                    ids.insert(id.clone(), op.clone()).is_none(),
                    "operationId {id} twice ({method} {path})"
                );
            }
        }
        let mut links = 0;
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                for (status, response) in op["responses"].as_object().unwrap() {
                    for (name, link) in response["links"].as_object().into_iter().flatten() {
                        links += 1;
                        let at = format!("{method} {path} {status} {name}");
                        let target = link["operationId"].as_str().unwrap_or_else(|| panic!("{at}: {link}"));
                        let target = ids.get(target).unwrap_or_else(|| panic!("{at}: no operation {target}"));
                        let takes: Vec<_> = target["parameters"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(|p| p["name"].as_str())
                            .collect();
                        for (parameter, value) in link["parameters"].as_object().unwrap() {
                            assert!(
                                takes.contains(&parameter.as_str()),
                                "{at}: {parameter} not in {takes:?}"
                            );
                            assert!(value.as_str().unwrap().starts_with('$'), "{at}: {value}");
                        }
                    }
                }
            }
        }
        assert_eq!(links, LINKS.len(), "every link found its answer");
    }

    fn from<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> T {
        serde_json::from_value(value).unwrap()
    }

    fn keys(value: &serde_json::Value) -> Vec<String> {
        let mut keys: Vec<_> = value.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        keys
    }

    /// A core rule with every field set to a value it serializes: a struct literal, so that a new field
    /// of `Route` must be given one here, and then must be documented in `RuleBody`.
    fn full_route() -> shoprelay_core::route::Route {
        use serde_json::json;
        shoprelay_core::route::Route {
            id: from(json!("r")),
            enabled: false,
            events: vec![from(json!("order_created"))],
            shops: vec![from(json!(1))],
            shop_groups: vec![from(json!("g"))],
            when: Some(from(json!({"all": []}))),
            template: Some("t".into()),
            targets: vec![from(json!({"type": "robot", "robot": "ops"}))],
            urgent: true,
            quiet_hours: Some(from(json!({"from": "22:00", "to": "08:00"}))),
            assign: Some(from(json!({"app": "hq", "members": [{"user": "zhangsan"}]}))),
            escalate: Some(from(json!({"after_minutes": 5, "targets": []}))),
            stalled_after_days: Some(3),
            ship_risk_hours: Some(24),
            personal_data: shoprelay_core::policy::Display::Full,
        }
    }

    /// The core targets, one of each kind, every field set to a value it serializes.
    fn full_targets() -> Vec<shoprelay_core::route::Target> {
        use serde_json::json;
        vec![
            from(
                json!({"type": "wecom_app", "app": "hq", "users": ["a"], "departments": [1], "tags": [2], "all": true}),
            ),
            from(json!({"type": "robot", "robot": "ops", "mentions": ["a"], "mention_mobiles": ["13800000000"]})),
            from(
                json!({"type": "appchat", "app": "hq", "chatid": "c", "create": {"name": "n", "members": ["a", "b"]}}),
            ),
            from(json!({"type": "webhook", "webhook": "erp"})),
        ]
    }

    #[test]
    fn the_rule_body_documents_every_field_of_a_rule() {
        let doc = document_json();
        let body = &doc["components"]["schemas"]["RuleBody"];
        let route = serde_json::to_value(full_route()).unwrap();
        assert_eq!(keys(&body["properties"]), keys(&route));
        assert_eq!(body["additionalProperties"], false);
        assert_eq!(
            doc["paths"]["/api/v1/rules/{id}"]["put"]["requestBody"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/RuleBody"
        );
    }

    #[test]
    fn each_rule_target_documents_its_fields_and_refuses_others() {
        let doc = document_json();
        let variants = doc["components"]["schemas"]["RuleTarget"]["oneOf"].as_array().unwrap();
        assert_eq!(variants.len(), full_targets().len());
        for target in full_targets() {
            let target = serde_json::to_value(target).unwrap();
            let variant = variants
                .iter()
                .find(|v| v["properties"]["type"]["enum"][0] == target["type"])
                .unwrap_or_else(|| panic!("no variant for {target}"));
            assert_eq!(keys(&variant["properties"]), keys(&target), "{target}");
            assert_eq!(variant["additionalProperties"], false, "{target}");
        }
    }

    /// A field the API refuses `null` for (its default covers only a missing field) is not nullable in the
    /// document; the core rule's `Option` fields are.
    #[test]
    fn only_the_fields_the_api_reads_as_optional_values_are_nullable() {
        fn nullable(property: &serde_json::Value) -> bool {
            property["type"].as_array().is_some_and(|t| t.contains(&"null".into()))
                || property["oneOf"]
                    .as_array()
                    .is_some_and(|o| o.iter().any(|s| s["type"] == "null"))
        }
        let doc = document_json();
        let schemas = &doc["components"]["schemas"];
        let route = full_route();
        let body = schemas["RuleBody"]["properties"].as_object().unwrap();
        let optional = [
            route.when.is_some().then_some("when"),
            route.template.is_some().then_some("template"),
            route.quiet_hours.is_some().then_some("quiet_hours"),
            route.assign.is_some().then_some("assign"),
            route.escalate.is_some().then_some("escalate"),
            route.stalled_after_days.is_some().then_some("stalled_after_days"),
            route.ship_risk_hours.is_some().then_some("ship_risk_hours"),
        ];
        for (name, property) in body {
            assert_eq!(
                nullable(property),
                optional.contains(&Some(name.as_str())),
                "RuleBody.{name}: {property}"
            );
        }
        for variant in schemas["RuleTarget"]["oneOf"].as_array().unwrap() {
            for (name, property) in variant["properties"].as_object().unwrap() {
                assert_eq!(nullable(property), name == "create", "RuleTarget.{name}: {property}");
            }
        }
        for name in ["rule", "kind", "order_sn", "event"] {
            let property = &schemas["RulesTest"]["properties"][name];
            assert!(
                !property.is_null() && !nullable(property),
                "RulesTest.{name}: {property}"
            );
        }
    }

    #[test]
    fn the_dry_runs_bodies_need_an_event_source_and_the_preview_a_rule() {
        let doc = document_json();
        let schemas = &doc["components"]["schemas"];
        let sources = serde_json::json!([{"required": ["kind"]}, {"required": ["order_sn"]}, {"required": ["event"]}]);
        assert_eq!(schemas["RulesTest"]["anyOf"], sources);
        assert_eq!(schemas["RulePreview"]["anyOf"], sources);
        assert_eq!(schemas["RulePreview"]["required"], serde_json::json!(["rule"]));
        assert_eq!(
            schemas["RulePreview"]["properties"]["rule"]["$ref"],
            "#/components/schemas/RuleBody"
        );
        let body = |path: &str| {
            doc["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"].clone()
        };
        assert_eq!(body("/api/v1/rules/preview"), "#/components/schemas/RulePreview");
        assert_eq!(body("/api/v1/rules/test"), "#/components/schemas/RulesTest");
    }

    #[test]
    fn the_error_schema_has_the_fields_errors_are_sent_with() {
        let sent = serde_json::to_value(crate::api::Unauthorized.to_body()).unwrap();
        let doc = document_json();
        let schema = &doc["components"]["schemas"]["ErrorBody"];
        let mut documented: Vec<_> = schema["properties"].as_object().unwrap().keys().cloned().collect();
        let mut keys: Vec<_> = sent.as_object().unwrap().keys().cloned().collect();
        documented.sort();
        keys.sort();
        assert_eq!(documented, keys);
        assert_eq!(schema["required"].as_array().unwrap().len(), keys.len());
    }
}
