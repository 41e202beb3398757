//! The OpenAPI 3.0 document of the API: the operation of each API route ([`super::operations`]),
//! which its entry of [`crate::routes::TABLE`] names, so that no route can be left out of it
//! (the route table hands its API routes to [`document`]); what each route's access adds; and
//! the schemas, derived from the types the handlers send where they can be, in 3.0's terms.

use axum::http::Method;
use serde_json::{Value, json};

use mhd_core::auth::Access;

/// A JSON response described by a schema.
pub(super) fn ok(description: &str, schema: Value) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": schema } } })
}

/// An error response.
pub(super) fn err(description: &str) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } })
}

/// A GET operation answering 200 with `schema` (and 400 for a bad query).
pub(super) fn read(
    summary: &str,
    description: &str,
    schema: Value,
    params: Value,
    plan: bool,
) -> Value {
    let mut responses = json!({
        "200": ok(summary, schema),
        "400": err("A query parameter is unknown or invalid; the message names it."),
        "500": err("The store failed (the cause is logged)."),
    });
    if plan {
        responses["409"] = err("The server runs without a plan (`no_plan`).");
    }
    json!({ "summary": summary, "description": description, "parameters": params, "responses": responses })
}

/// The responses every write shares.
pub(super) fn write_errors(extra: &[(&str, &str)]) -> Value {
    let mut r = json!({
        "400": err("The body or a parameter is invalid; nothing was stored. The message says where."),
        "413": err("The body is over 16 MiB (`payload_too_large`)."),
        "500": err("The store failed; nothing was stored (the cause is logged)."),
        "503": err("The store was busy with another writer for longer than a write waits (`busy`), or the database did not answer within that wait (`unavailable`, a PostgreSQL server restarting, say); nothing was stored. `Retry-After` says when to send it again."),
        "507": err("The disk holding the store is full (`storage_full`); nothing was stored. `/ready` says when writes succeed again."),
    });
    for (code, d) in extra {
        r[*code] = err(d);
    }
    r
}

/// The whole document: the operation of every API route given as (method, path, access,
/// the function giving its operation), with what its access adds.
pub fn document<'a>(
    routes: impl IntoIterator<Item = (&'a Method, &'a str, Access, fn() -> Value)>,
) -> Value {
    let mut paths = serde_json::Map::new();
    for (method, path, access, operation) in routes {
        let mut op = operation();
        guard(&mut op, access);
        let entry = paths.entry(path.to_owned()).or_insert_with(|| json!({}));
        entry[method.as_str().to_ascii_lowercase()] = op;
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "Migration Health Dashboard API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The views of `mhd serve` as JSON (the same documents as the CLI's `--json`) and the writes that feed them. Every error is `{\"error\": {\"code\", \"message\"}}`. An accepted write is durable before its 2xx.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas(),
            "securitySchemes": {
                "token": { "type": "http", "scheme": "bearer", "description": "An API token made by `mhd token create` (`mhd_…`)." },
                "session": { "type": "apiKey", "in": "cookie", "name": crate::security::SESSION_COOKIE, "description": "The cookie of a signed-in browser; changes also need the session's CSRF token in `X-CSRF-Token`." },
            },
        },
        "security": [ { "token": [] }, { "session": [] }, {} ],
    })
}

/// What an operation's access adds: who may call it (crate::access) — a guarded operation
/// says so and may answer 401 (no or a bad credential) and 403 (a role that may not, or a
/// change from another site) — and the refusals every route may answer.
fn guard(op: &mut Value, needed: Access) {
    let responses = &mut op["responses"];
    responses["421"] = err(
        "The request names a host this server does not answer for: localhost, IP addresses and the names given with `--allowed-host` or `--public-url` are (`misdirected_request`).",
    );
    responses["429"] = err(
        "This address has had too many requests refused in the last minute: try again after `Retry-After` seconds (`too_many_refusals`).",
    );
    if needed == Access::Public {
        op["security"] = json!([]);
        return;
    }
    op["x-mhd-access"] = json!(needed.as_str());
    let roles = needed.roles();
    op["description"] = json!(format!(
        "{} Needs: {roles}.",
        op["description"].as_str().unwrap_or_default()
    ));
    let responses = &mut op["responses"];
    if responses.get("401").is_none() {
        responses["401"] = err(
            "No credential was sent while sign-in is required, or the token is unknown, expired or revoked (`unauthorized`).",
        );
    }
    if responses.get("403").is_none() {
        responses["403"] = err(
            "The caller's role may not do this, or a change came from another site or without its CSRF token (`forbidden`).",
        );
    }
}

/// `a` with the keys of `b` it lacks.
pub(super) fn merge(mut a: Value, b: Value) -> Value {
    if let (Some(a), Value::Object(b)) = (a.as_object_mut(), b) {
        for (k, v) in b {
            a.entry(k).or_insert(v);
        }
    }
    a
}

/// The query parameters of `T`, as the handler reads them (3.0: no `null` types, which a
/// query string cannot carry). A parameter whose schema is made by a function (`schema_with`)
/// takes the schema's description.
pub(super) fn params<T: utoipa::IntoParams>() -> Value {
    let mut params = serde_json::to_value(T::into_params(|| None)).unwrap_or_default();
    if let Some(list) = params.as_array_mut() {
        for p in list {
            if p.get("description").is_none()
                && let Some(d) = p["schema"]
                    .as_object_mut()
                    .and_then(|s| s.remove("description"))
            {
                p["description"] = d;
            }
            if let Some(types) = p["schema"]["type"].as_array() {
                let types: Vec<Value> = types.iter().filter(|t| *t != "null").cloned().collect();
                if types.len() == 1 {
                    p["schema"]["type"] = types[0].clone();
                }
            }
        }
    }
    params
}

/// The schema of `T` as derived from the type the handler reads, in OpenAPI 3.0's terms.
pub(super) fn schema<T: utoipa::PartialSchema>() -> Value {
    let mut schema = serde_json::to_value(T::schema()).unwrap_or_default();
    to_3_0(&mut schema);
    schema
}

/// Rewrites OpenAPI 3.1's nullable types (`"type": ["string", "null"]`) as 3.0's
/// (`"type": "string", "nullable": true`), a nullable reference (`"oneOf": [{"type":
/// "null"}, {"$ref": …}]`) as `"allOf": [{"$ref": …}], "nullable": true`, and any other
/// `oneOf` holding `{"type": "null"}` as the `oneOf` of the rest, nullable, everywhere in
/// `schema`.
fn to_3_0(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            if let Some(Value::Array(options)) = map.get_mut("oneOf")
                && let Some(null) = options.iter().position(|o| o["type"] == "null")
            {
                options.remove(null);
                if options.len() == 1 {
                    let other = options.remove(0);
                    map.remove("oneOf");
                    map.insert("allOf".to_owned(), Value::Array(vec![other]));
                }
                map.insert("nullable".to_owned(), Value::Bool(true));
            }
            if let Some(Value::Array(types)) = map.get("type")
                && types.len() == 2
                && let Some(other) = types.iter().find(|t| *t != "null")
            {
                let other = other.clone();
                map.insert("type".to_owned(), other);
                map.insert("nullable".to_owned(), Value::Bool(true));
            }
            // 3.0 has no `propertyNames`: a JSON object's names are strings anyway.
            map.remove("propertyNames");
            map.values_mut().for_each(to_3_0);
        }
        Value::Array(items) => items.iter_mut().for_each(to_3_0),
        _ => {}
    }
}

/// `first` before the parameters of `rest`.
pub(super) fn with(first: Value, rest: Value) -> Value {
    let mut all = vec![first];
    all.extend(rest.as_array().into_iter().flatten().cloned());
    Value::Array(all)
}

/// The schema of a string that takes one of `values`.
pub(crate) fn string_enum(
    values: &[&str],
    default: Option<&str>,
    description: &str,
) -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(values.iter().copied()))
        .default(default.map(Value::from))
        .description(Some(description))
        .build()
}

/// The `alert_id` path parameter.
pub(super) fn alert_id() -> Value {
    json!({ "name": "alert_id", "in": "path", "required": true, "description": "The alert's id.", "schema": id_schema() })
}

/// The schema of a path's id: a positive 64-bit integer (anything else is 400).
pub(super) fn id_schema() -> Value {
    json!({ "type": "integer", "format": "int64", "minimum": 1, "maximum": i64::MAX })
}

/// The schemas the paths refer to, derived from the types the handlers send and read (with
/// every type they refer to).
fn schemas() -> Value {
    let mut schemas = serde_json::Map::new();
    derived::<mhd_core::summary::ExecutiveSummary>(&mut schemas);
    derived::<mhd_core::timeline::MigrationPhase>(&mut schemas);
    derived::<mhd_core::components::ComponentHealth>(&mut schemas);
    derived::<mhd_core::live::LiveMetrics>(&mut schemas);
    derived::<mhd_core::testview::TestsView>(&mut schemas);
    derived::<mhd_core::alerts::Alert>(&mut schemas);
    derived::<mhd_store::alerts::AlertEventRecord>(&mut schemas);
    derived::<mhd_core::alerts::Silence>(&mut schemas);
    derived::<mhd_core::perf::PerformanceComparison>(&mut schemas);
    derived::<mhd_core::sample::ResourceMetrics>(&mut schemas);
    derived::<mhd_core::model::PerformanceView>(&mut schemas);
    derived::<mhd_core::Operation>(&mut schemas);
    derived::<super::alerts::AlertsList>(&mut schemas);
    derived::<super::alerts::Acknowledged>(&mut schemas);
    derived::<crate::error::ErrorBody>(&mut schemas);
    derived::<crate::rollback::RollbackOutcome>(&mut schemas);
    derived::<super::rollback::RolledBack>(&mut schemas);
    derived::<super::rollback::RollbackFailed>(&mut schemas);
    derived::<super::audit::AuditLog>(&mut schemas);
    derived::<super::reads::DatasetsList>(&mut schemas);
    derived::<super::reads::SamplesSpan>(&mut schemas);
    derived::<super::reads::ResourceHistory>(&mut schemas);
    derived::<super::notify::Notifications>(&mut schemas);
    derived::<super::notify::JiraIssueMade>(&mut schemas);
    derived::<crate::notify::chat::ChatAnswer>(&mut schemas);
    derived::<crate::security::WhoAmI>(&mut schemas);
    derived::<super::writes::Stored>(&mut schemas);
    derived::<super::writes::RejectedRecords>(&mut schemas);
    derived::<super::writes::JunitStored>(&mut schemas);
    derived::<super::writes::BenchmarksStored>(&mut schemas);
    derived::<mhd_ingest::operations::OperationInput>(&mut schemas);
    derived::<mhd_ingest::samples::SampleInput>(&mut schemas);
    bound_labels(&mut schemas);
    Value::Object(schemas)
}

/// Bounds the labels of a `Sample`: at most [`mhd_core::sample::MAX_LABELS`], each value at
/// most [`mhd_core::sample::MAX_NAME_LEN`] characters. The derive cannot say either of a
/// field (`maxProperties` is a struct's, and a map's values take no attributes), so the
/// derived schema of `labels` gets them here.
fn bound_labels(schemas: &mut serde_json::Map<String, Value>) {
    let labels = schemas
        .get_mut("Sample")
        .and_then(|s| s.pointer_mut("/properties/labels"));
    debug_assert!(labels.is_some(), "the Sample schema has labels");
    if let Some(labels) = labels {
        labels["maxProperties"] = json!(mhd_core::sample::MAX_LABELS);
        labels["additionalProperties"] =
            json!({ "type": "string", "maxLength": mhd_core::sample::MAX_NAME_LEN });
    }
}

/// A reference to the schema of `T` (which [`schemas`] derives).
pub(super) fn reference<T: utoipa::ToSchema>() -> Value {
    json!({ "$ref": format!("#/components/schemas/{}", T::name()) })
}

/// The schemas of `T` and of every type it refers to, as derived from the types, in OpenAPI
/// 3.0's terms, added to `into` under their names.
fn derived<T: utoipa::ToSchema>(into: &mut serde_json::Map<String, Value>) {
    let mut found = vec![(T::name().into_owned(), T::schema())];
    T::schemas(&mut found);
    for (name, schema) in found {
        let mut schema = serde_json::to_value(schema).unwrap_or_default();
        to_3_0(&mut schema);
        plain_descriptions(&mut schema);
        // Two types of one name would be one schema: the second must be the first.
        if let Some(before) = into.get(&name) {
            debug_assert_eq!(
                before, &schema,
                "two types are named {name} in the document"
            );
        }
        into.insert(name, schema);
    }
}

/// The descriptions, taken from the types' documentation, without its links to the code:
/// "[`week_of`]" reads "`week_of`".
fn plain_descriptions(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            if let Some(Value::String(d)) = map.get_mut("description") {
                *d = d.replace("[`", "`").replace("`]", "`");
            }
            map.values_mut().for_each(plain_descriptions);
        }
        Value::Array(items) => items.iter_mut().for_each(plain_descriptions),
        _ => {}
    }
}
