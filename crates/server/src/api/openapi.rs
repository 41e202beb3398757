//! The OpenAPI 3.0 document of the API: the operation of each API route, which its entry of
//! [`crate::routes::TABLE`] names, so that no route can be left out of it (the route table
//! hands its API routes to [`document`]).

use axum::http::Method;
use serde_json::{Value, json};

use mhd_core::auth::Access;

/// A JSON response described by a schema.
fn ok(description: &str, schema: Value) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": schema } } })
}

/// An error response.
fn err(description: &str) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } })
}

/// A GET operation answering 200 with `schema` (and 400 for a bad query).
fn read(summary: &str, description: &str, schema: Value, params: Value, plan: bool) -> Value {
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

/// The series of samples answered by the reads of samples: each with its points, a bucket
/// each.
fn sample_series() -> Value {
    json!({ "type": "array", "items": { "type": "object", "required": ["metric", "points"], "properties": {
        "metric": { "type": "string" },
        "component": { "type": "string", "nullable": true },
        "labels": { "type": "object", "additionalProperties": { "type": "string" } },
        "unit": { "type": "string", "nullable": true },
        "points": { "type": "array", "items": { "type": "object", "required": ["start", "min", "max", "mean", "count"], "properties": {
            "start": { "type": "string", "format": "date-time" },
            "min": { "type": "number" },
            "max": { "type": "number" },
            "mean": { "type": "number" },
            "count": { "type": "integer" } } } } } } })
}

/// The responses every write shares.
fn write_errors(extra: &[(&str, &str)]) -> Value {
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
fn merge(mut a: Value, b: Value) -> Value {
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
fn params<T: utoipa::IntoParams>() -> Value {
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
fn schema<T: utoipa::PartialSchema>() -> Value {
    let mut schema = serde_json::to_value(T::schema()).unwrap_or_default();
    to_3_0(&mut schema);
    schema
}

/// Rewrites OpenAPI 3.1's nullable types (`"type": ["string", "null"]`) as 3.0's
/// (`"type": "string", "nullable": true`), and a nullable reference (`"oneOf": [{"type":
/// "null"}, {"$ref": …}]`) as `"allOf": [{"$ref": …}], "nullable": true`, everywhere in
/// `schema`.
fn to_3_0(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            if let Some(Value::Array(options)) = map.get("oneOf")
                && options.len() == 2
                && let Some(null) = options.iter().position(|o| o["type"] == "null")
            {
                let other = options[1 - null].clone();
                map.remove("oneOf");
                map.insert("allOf".to_owned(), Value::Array(vec![other]));
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
fn with(first: Value, rest: Value) -> Value {
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

/// A JSON object of any shape.
fn any_object() -> Value {
    json!({ "type": "object", "additionalProperties": true })
}

/// The `alert_id` path parameter.
fn alert_id() -> Value {
    json!({ "name": "alert_id", "in": "path", "required": true, "description": "The alert's id.", "schema": id_schema() })
}

/// The schema of a path's id: a positive 64-bit integer (anything else is 400).
fn id_schema() -> Value {
    json!({ "type": "integer", "format": "int64", "minimum": 1, "maximum": i64::MAX })
}

/// The properties of an operation: as sent (`stored` false) or as stored, with its `id`, a
/// time always set, and `metadata` that an imported operation may hold as text.
fn operation_fields(stored: bool) -> Value {
    let mut fields = json!({
        "timestamp": { "type": "string", "format": "date-time", "nullable": true, "description": "Default (absent or null): the time of the request." },
        "metric_type": { "type": "string", "minLength": 1 }, "operation": { "type": "string", "minLength": 1 },
        "dataset_name": { "type": "string", "minLength": 1, "nullable": true }, "component": { "type": "string", "minLength": 1, "nullable": true },
        "system": { "type": "string", "enum": ["old", "new", null], "nullable": true },
        "duration_ms": { "type": "number", "minimum": 0, "nullable": true }, "success": { "type": "boolean", "default": true },
        "row_count": { "type": "integer", "minimum": 0, "nullable": true }, "error_message": { "type": "string", "nullable": true },
        "metadata": { "type": "object", "additionalProperties": true, "nullable": true },
    });
    if stored {
        fields["id"] = json!({ "type": "integer" });
        fields["timestamp"] = json!({ "type": "string", "format": "date-time" });
        fields["metadata"] = json!({ "nullable": true, "description": "An object, or text for an imported operation." });
    }
    fields
}

/// The schemas the paths refer to: the views' and the alerts' derived from the types the
/// handlers send (with every type they refer to), the rest written here.
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
    derived::<super::alerts::AlertsList>(&mut schemas);
    derived::<super::alerts::Acknowledged>(&mut schemas);
    let Value::Object(written) = written_schemas() else {
        unreachable!("the written schemas are an object")
    };
    schemas.extend(written);
    Value::Object(schemas)
}

/// A reference to the schema of `T` (which [`schemas`] derives).
fn reference<T: utoipa::ToSchema>() -> Value {
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

/// The schemas written by hand: the error shape and the bodies the writes read.
fn written_schemas() -> Value {
    json!({
        "Error": { "type": "object", "required": ["error"], "properties": { "error": {
            "type": "object", "required": ["code", "message"], "properties": {
                "code": { "type": "string", "description": "Stable machine-readable code: bad_request, unauthorized (no or a bad credential, or a chat command without a valid signature), forbidden (a role that may not, a change from another site or without its CSRF token), not_found, no_rollback, in_progress, rollback_failed, conflict (the alert has its Jira issue already), no_plan, payload_too_large, unsupported_media_type, resolved (the alert is already resolved), removed (the silence was removed already), bad_gateway (Jira refused), unavailable (notifications are not running), internal." },
                "message": { "type": "string", "description": "What went wrong, for people." } } } } },
        "RollbackOutcome": { "type": "object", "required": ["ok", "via", "timed_out", "duration_ms"], "properties": {
            "ok": { "type": "boolean" },
            "via": { "type": "string", "enum": ["command", "webhook"] },
            "exit_code": { "type": "integer", "nullable": true },
            "status": { "type": "integer", "nullable": true, "description": "The webhook's HTTP status." },
            "stdout": { "type": "string", "nullable": true, "description": "At most 64 KiB of the program's output." },
            "stdout_truncated": { "type": "boolean" },
            "stderr": { "type": "string", "nullable": true },
            "stderr_truncated": { "type": "boolean" },
            "body": { "type": "string", "nullable": true, "description": "At most 4 KiB of the webhook's answer." },
            "body_truncated": { "type": "boolean" },
            "timed_out": { "type": "boolean" },
            "duration_ms": { "type": "integer" },
            "error": { "type": "string", "nullable": true } } },
        "RejectedRecords": { "type": "object", "required": ["error"], "properties": {
            "error": { "$ref": "#/components/schemas/Error/properties/error" },
            "errors": { "type": "array", "description": "Each rejected record (the first 1000); absent when the body as a whole is refused (not UTF-8, or holding no record).", "items": { "type": "object", "properties": {
                "line": { "type": "integer", "description": "1-based line where the record starts." },
                "index": { "type": "integer", "nullable": true, "description": "0-based element index in a JSON array." },
                "reason": { "type": "string" } } } } } },
        "NewOperation": { "type": "object", "additionalProperties": false, "required": ["metric_type", "operation"], "properties": operation_fields(false) },
        "Operation": { "type": "object", "description": "A stored operation: the fields of NewOperation with its id and time.",
            "required": ["id", "timestamp", "metric_type", "operation", "success"], "properties": operation_fields(true) },
        "Sample": { "type": "object", "additionalProperties": false, "required": ["metric", "value"], "properties": {
            "timestamp": { "type": "string", "format": "date-time", "nullable": true, "description": "Default (absent or null): the time of the request." },
            "metric": { "type": "string", "pattern": "^[A-Za-z0-9_.:]{1,200}$" },
            "value": { "type": "number", "description": "A finite number." },
            "unit": { "type": "string", "minLength": 1, "maxLength": 200, "nullable": true },
            "component": { "type": "string", "minLength": 1, "maxLength": 200, "nullable": true },
            "labels": { "type": "object", "maxProperties": 32, "additionalProperties": { "type": "string", "maxLength": 200 }, "default": {} } } },
    })
}

/// `GET {paths::API_SUMMARY}`.
pub(crate) fn summary_get() -> Value {
    read(
        "Executive summary",
        "Overall health, migration progress, forecast completion, blockers, key metrics and recommendations, as `mhd summary --json`.",
        json!({ "$ref": "#/components/schemas/ExecutiveSummary" }),
        json!([]),
        true,
    )
}

/// `GET {paths::API_TIMELINE}`.
pub(crate) fn timeline_get() -> Value {
    read(
        "Migration timeline",
        "The plan's phases with status, progress, dates, milestones, risk and slip, as `mhd timeline --json`.",
        json!({ "type": "array", "items": { "$ref": "#/components/schemas/MigrationPhase" } }),
        json!([]),
        true,
    )
}

/// `GET {paths::API_COMPONENTS}`.
pub(crate) fn components_get() -> Value {
    read(
        "Component health matrix",
        "Each plan component's old and new system over the last 7 days, migration, tests and performance, as `mhd components --json`: a list ordered worst first, or with `shape=object` the specification's object keyed by component id (each value the same row). The shape is a parameter of the one route rather than a second route because it is one resource in two shapes, and so the specification's own path answers the specification's shape.",
        json!({ "oneOf": [
            { "type": "array", "description": "`shape=list` (the default): worst first.", "items": { "$ref": "#/components/schemas/ComponentHealth" } },
            { "type": "object", "description": "`shape=object`: keyed by component id.", "additionalProperties": { "$ref": "#/components/schemas/ComponentHealth" } },
        ] }),
        params::<super::reads::ComponentsParams>(),
        true,
    )
}

/// `GET {paths::API_LIVE}`.
pub(crate) fn live_get() -> Value {
    read(
        "Live metrics",
        "Operations per second, errors per minute, mean and p95 duration over the last 5 minutes against the 5 before, with sparklines (10 points), and the datasets being migrated. With `since` and/or `until`, over that span instead (it ends at `until`, now at the latest; at most 7 days; sparklines of 60 points) against the span just before it. Memory (`memory_percent` and `memory_bytes`, from the `memory_percent` and `memory_used_bytes` samples), queue depth and workers (the `queue_depth` and `workers` samples) are null without samples.",
        json!({ "$ref": "#/components/schemas/LiveMetrics" }),
        params::<super::reads::LiveParams>(),
        false,
    )
}

/// `GET {paths::API_ALERTS}`.
pub(crate) fn alerts_get() -> Value {
    read(
        "Alerts",
        "Pending and firing alerts newest first (`active`), resolved ones by resolution newest first (`resolved`), and the silences in force now or later, as `mhd alerts --json`.",
        reference::<super::alerts::AlertsList>(),
        params::<super::alerts::ListParams>(),
        false,
    )
}

/// `GET {paths::API_ALERT}`.
pub(crate) fn alert_get() -> Value {
    json!({
        "summary": "One alert",
        "description": "The alert with its `history`, oldest first: its transitions (pending, fired, resolved, cancelled) and the acknowledgements made of it (`re-acknowledged` for one that replaced another, naming it).",
        "parameters": [alert_id()],
        "responses": {
            "200": ok("The alert.", json!({ "allOf": [ { "$ref": "#/components/schemas/Alert" }, { "type": "object", "required": ["history"], "properties": { "history": { "type": "array", "items": { "$ref": "#/components/schemas/AlertEvent" } } } } ] })),
            "400": err("The id is not a positive whole number."),
            "404": err("No alert has this id (`not_found`)."),
            "500": err("The store failed (the cause is logged)."),
        },
    })
}

/// `POST {paths::API_ALERT_ACK}`.
pub(crate) fn alert_ack_post() -> Value {
    json!({
        "summary": "Acknowledge an alert",
        "description": "Records who acknowledged a pending or firing alert, when, and why. The body may be empty. Who: with nobody signed in, the specification's `user` (query parameter or body field) or `by`, which must agree when both are given; absent, null or blank, `anonymous`. A signed-in user or a token always acknowledges under its own name, so that nobody can acknowledge as somebody else: a different stated name is kept beside it as `stated_user` (in the answer and in the audit entry), never in its place. A second acknowledgement replaces the first and says so: the answer's `replaced` names the earlier one, and the alert's history shows a `re-acknowledged` event. The alert loop sees it at its next evaluation.",
        "parameters": with(alert_id(), params::<super::alerts::AckParams>()),
        "requestBody": { "required": false, "content": { "application/json": { "schema": schema::<super::alerts::AckRequest>() } } },
        "responses": merge(json!({
            "200": ok("Acknowledged: the specification's `{status, alert_id}`, the alert as it is now, and the acknowledgement this one replaced (null for the first).", reference::<super::alerts::Acknowledged>()),
            "404": err("No alert has this id (`not_found`)."),
            "409": err("The alert is already resolved (`resolved`)."),
        }), write_errors(&[("415", "Content-Type is not application/json.")])),
    })
}

/// `POST {paths::API_ALERT_SILENCES}`.
pub(crate) fn alert_silences_post() -> Value {
    json!({
        "summary": "Silence a rule or a component",
        "description": "From now for `duration` (such as `2h`, at most 90 days), alerts of the rule and/or the component notify nobody; they are still raised and shown. The rule and the component must be the plan's.",
        "requestBody": { "required": true, "content": { "application/json": { "schema": schema::<super::alerts::SilenceRequest>() } } },
        "responses": merge(json!({
            "201": ok("The silence.", json!({ "$ref": "#/components/schemas/Silence" })),
        }), write_errors(&[("415", "Content-Type is not application/json.")])),
    })
}

/// `DELETE {paths::API_ALERT_SILENCE}`.
pub(crate) fn alert_silence_delete() -> Value {
    json!({
        "summary": "Remove a silence",
        "description": "Ends a silence now; its record is kept.",
        "parameters": [{ "name": "id", "in": "path", "required": true, "description": "The silence's id.", "schema": id_schema() }],
        "responses": {
            "200": ok("The silence removed.", json!({ "$ref": "#/components/schemas/Silence" })),
            "400": err("The id is not a positive whole number."),
            "404": err("No silence has this id (`not_found`)."),
            "409": err("The silence was removed already (`removed`)."),
            "500": err("The store failed (the cause is logged)."),
        },
    })
}

/// `GET {paths::API_TESTS}`.
pub(crate) fn tests_get() -> Value {
    read(
        "Test results",
        "Per suite: latest results, pass rate, trend over the last 10 runs, failing and flaky tests, as `mhd tests --json`. With `since` or `until`, of each suite's last 10 runs in `[since, until)` alone (a suite without a run there is absent).",
        json!({ "$ref": "#/components/schemas/TestsView" }),
        params::<super::reads::TestsParams>(),
        false,
    )
}

/// `GET {paths::API_DATASETS}`.
pub(crate) fn datasets_get() -> Value {
    read(
        "Datasets",
        "Every dataset by name with its state (pending, migrating, failed, migrated, verified, rolled_back), component, whether a migration of it is under way, its last operation and marks; `counts` per state of the datasets that count (the plan's datasets not seen yet are pending), `total` the plan's (null when the plan does not give one for the component). `state=migrated` includes verified datasets, as every migrated figure does.",
        json!({ "type": "object", "required": ["counts", "datasets", "migrated"], "properties": {
            "total": { "type": "integer", "nullable": true },
            "counts": { "type": "object", "additionalProperties": { "type": "integer" } },
            "migrated": { "type": "integer" },
            "unplanned": { "type": "integer" },
            "datasets": { "type": "array", "items": { "type": "object", "required": ["name", "state", "planned", "in_flight"], "additionalProperties": true, "properties": {
                "name": { "type": "string" },
                "component": { "type": "string", "nullable": true },
                "state": { "type": "string", "enum": ["pending", "migrating", "failed", "migrated", "verified", "rolled_back"] },
                "in_flight": { "type": "boolean" },
                "planned": { "type": "boolean" } } } } } }),
        params::<super::reads::DatasetsParams>(),
        false,
    )
}

/// `GET {paths::API_PERFORMANCE}`.
pub(crate) fn performance_get() -> Value {
    read(
        "Performance comparison",
        "Old against new per operation from the latest benchmarks, as `mhd perf --json`.",
        reference::<mhd_core::model::PerformanceView>(),
        json!([]),
        false,
    )
}

/// `GET {paths::API_RESOURCES}`.
pub(crate) fn resources_get() -> Value {
    read(
        "Resource utilization",
        "CPU, memory, disk, network and database connections from the newest sample of each series over the last 5 minutes, with the top consumers and, in `components`, the same figures per component from the samples that name one. Every figure is null when no sample gives it. Metric names read: cpu_percent, cpu_cores_used, memory_used_bytes, memory_available_bytes, memory_percent, disk_read_bytes_per_second, disk_write_bytes_per_second, disk_used_bytes, disk_free_bytes, network_in_bytes_per_second, network_out_bytes_per_second, db_connections_active, db_connections_idle, db_pool_size, db_queries_per_second, and process_cpu_percent / process_memory_bytes with a `process` label. Several series of a metric are added up (percentages averaged); GB is 2^30 bytes, MB 2^20.",
        json!({ "$ref": "#/components/schemas/ResourceMetrics" }),
        json!([]),
        false,
    )
}

/// `GET {paths::API_RESOURCES_HISTORY}`.
pub(crate) fn resources_history_get() -> Value {
    read(
        "Resource samples over a span",
        "Each series of the asked metrics over the last `range` (or over `[since, until)`; `range` and `since`/`until` exclude each other), in about 60 buckets of whole rows of what is read: the raw samples for a recent span of up to 6 hours, the 1-minute aggregates for up to 3 days, the 1-hour ones up to 14 days, the 1-day ones beyond (raw samples are kept 48 hours and the aggregates 90 days by default: the plan's [retention]). Each point has the bucket's start and its samples' min, max, mean and count.",
        json!({ "type": "object", "required": ["since", "until", "resolution", "bucket_seconds", "series"], "properties": {
        "since": { "type": "string", "format": "date-time" },
        "until": { "type": "string", "format": "date-time" },
        "resolution": { "type": "string", "enum": ["raw", "minute", "hour", "day"] },
        "bucket_seconds": { "type": "integer" },
        "series": sample_series() } }),
        params::<super::reads::ResourcesHistoryParams>(),
        false,
    )
}

/// `GET {paths::API_SAMPLES}`.
pub(crate) fn samples_get() -> Value {
    read(
        "Samples of any metric over a span",
        "Every series of the asked metrics — pushed with `POST /api/v1/samples`, or written by a collector (a Prometheus query's name is its metric) — over `[since, until)` in buckets of `step`, each point with the bucket's start and its samples' min, max, mean and count. What is read depends on the span: the raw samples for a recent span of up to 6 hours, else the 1-minute aggregates for up to 3 days, the 1-hour ones up to 14 days, the 1-day ones beyond (`resolution`); `step` is rounded up to whole rows of it. A span of at most 400 days and at most 10,000 points a series.",
        json!({ "type": "object", "required": ["metric", "since", "until", "resolution", "step_seconds", "series"], "properties": {
        "metric": { "type": "array", "items": { "type": "string" } },
        "component": { "type": "string", "nullable": true },
        "since": { "type": "string", "format": "date-time" },
        "until": { "type": "string", "format": "date-time" },
        "resolution": { "type": "string", "enum": ["raw", "minute", "hour", "day"] },
        "step_seconds": { "type": "integer" },
        "series": sample_series() } }),
        params::<super::reads::SamplesParams>(),
        false,
    )
}

/// `GET {paths::API_OPERATIONS}`.
pub(crate) fn operations_get() -> Value {
    read(
        "Recent operations",
        "Stored operations, newest first.",
        json!({ "type": "array", "items": { "$ref": "#/components/schemas/Operation" } }),
        params::<super::reads::OperationsParams>(),
        false,
    )
}

/// `POST {paths::API_OPERATIONS}`.
pub(crate) fn operations_post() -> Value {
    json!({
        "summary": "Record operations",
        "description": "A JSON array of operations, or NDJSON (one operation per line). A body starting with `[` is an array, anything else NDJSON, under either content type. All or nothing: any invalid record (unknown field, missing field, bad value) answers 400 with every rejected record in `errors` and stores nothing. Accepted operations are committed before the 201. A missing `timestamp` is the time of the request.",
        "requestBody": { "required": true, "content": {
            "application/json": { "schema": { "type": "array", "minItems": 1, "items": { "$ref": "#/components/schemas/NewOperation" } } },
            "application/x-ndjson": { "schema": { "$ref": "#/components/schemas/NewOperation" } } } },
        "responses": merge(json!({
            "201": ok("Stored.", json!({ "type": "object", "required": ["stored"], "properties": { "stored": { "type": "integer", "description": "Operations stored." } } })),
            "400": { "description": "Invalid records; nothing stored.", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/RejectedRecords" } } } },
        }), write_errors(&[("415", "Content-Type is neither application/json nor application/x-ndjson.")])),
    })
}

/// `POST {paths::API_JUNIT}`.
pub(crate) fn junit_post() -> Value {
    json!({
        "summary": "Record a JUnit XML report",
        "description": "One JUnit XML report stored as one run of `suite`, as `mhd ingest junit`. Bad XML answers 400 with `body:LINE:COLUMN: message`.",
        "parameters": params::<super::writes::JunitParams>(),
        "requestBody": { "required": true, "content": {
            "application/xml": { "schema": { "type": "string" } }, "text/xml": { "schema": { "type": "string" } } } },
        "responses": merge(json!({
            "201": ok("Stored.", json!({ "type": "object", "required": ["suite", "run_at", "results"], "properties": {
                "suite": { "type": "string" }, "run_at": { "type": "string", "format": "date-time" },
                "results": { "type": "object", "properties": {
                    "total": { "type": "integer" }, "passed": { "type": "integer" }, "failed": { "type": "integer" },
                    "errors": { "type": "integer" }, "skipped": { "type": "integer" }, "duration": { "type": "number" } } } } })),
        }), write_errors(&[("415", "Content-Type is neither application/xml nor text/xml.")])),
    })
}

/// `POST {paths::API_BENCHMARKS}`.
pub(crate) fn benchmarks_post() -> Value {
    json!({
        "summary": "Record benchmark results",
        "description": "A hyperfine `--export-json` file or a CSV file of `operation,system,value_ms`, stored as one batch, as `mhd ingest bench`.",
        "parameters": params::<super::writes::BenchmarkParams>(),
        "requestBody": { "required": true, "content": {
            "application/json": { "schema": any_object() }, "text/csv": { "schema": { "type": "string" } } } },
        "responses": merge(json!({
            "201": ok("Stored.", json!({ "type": "object", "required": ["stored", "benchmarks"], "properties": {
                "stored": { "type": "integer", "description": "Timings stored." },
                "benchmarks": { "type": "array", "items": { "type": "object", "properties": {
                    "operation": { "type": "string" }, "system": { "type": "string", "enum": ["old", "new"] },
                    "component": { "type": "string", "nullable": true }, "samples": { "type": "integer" } } } } } })),
        }), write_errors(&[])),
    })
}

/// `POST {paths::API_SAMPLES}`.
pub(crate) fn samples_post() -> Value {
    json!({
        "summary": "Record samples",
        "description": "Points of time series, as a JSON array or NDJSON (one sample per line). A body starting with `[` is an array, anything else NDJSON, under either content type. All or nothing: any invalid record answers 400 with every rejected record in `errors` and stores nothing. Accepted samples are committed before the 201. A missing `timestamp` is the time of the request.",
        "requestBody": { "required": true, "content": {
            "application/json": { "schema": { "type": "array", "minItems": 1, "items": { "$ref": "#/components/schemas/Sample" } } },
            "application/x-ndjson": { "schema": { "$ref": "#/components/schemas/Sample" } } } },
        "responses": merge(json!({
            "201": ok("Stored.", json!({ "type": "object", "required": ["stored"], "properties": { "stored": { "type": "integer", "description": "Samples stored." } } })),
            "400": { "description": "Invalid records; nothing stored.", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/RejectedRecords" } } } },
        }), write_errors(&[("415", "Content-Type is neither application/json nor application/x-ndjson.")])),
    })
}

/// `GET {paths::API_OPENAPI}`.
pub(crate) fn openapi_get() -> Value {
    json!({
        "summary": "This document",
        "responses": { "200": ok("The OpenAPI 3.0 document.", any_object()) },
    })
}

/// `GET {paths::API_REPORTS}`.
pub(crate) fn reports_get() -> Value {
    json!({
        "summary": "Report of a range of days",
        "description": "One document for the UTC days start_date to end_date (both included, at most 366 days), or the `last` days up to today: page 1 in plain words (the status and why, the burn-up chart against the plan, the completion date with its confidence, the top three risks, what is needed), then the progress in the period (datasets migrated, migrations, failed attempts, rollbacks, integrity issues, operations per day), the timeline, the component matrix, the alerts of the period with their times to acknowledge and resolve, the test results up to the end of the period, the performance comparison of the latest benchmarks, the resources and the period's most frequent errors. The status, timeline and matrix are as of the end of the period (or now when it reaches today). HTML is self-contained (no script, nothing loaded from elsewhere); the PDF embeds its fonts (Latin, Greek, Cyrillic, Chinese, Japanese, Korean, emoji) and draws the pages' charts as vectors. Sent as an attachment named `mhd-report-<start>-<end>.<ext>`.",
        "parameters": params::<super::reports::ReportParams>(),
        "responses": {
            "200": { "description": "The report.", "headers": { "Content-Disposition": { "description": "attachment; filename=\"mhd-report-<start>-<end>.<ext>\"", "schema": { "type": "string" } } },
                "content": { "application/pdf": { "schema": { "type": "string", "format": "binary" } }, "text/html": { "schema": { "type": "string" } } } },
            "400": err("A parameter is missing or invalid (a bad date, the start after the end, a range over 366 days, a `last` that is not whole days or is given with dates, an unknown format); the message names it."),
            "500": err("The store failed (the cause is logged)."),
        },
    })
}

/// `GET {paths::API_REPORT}`.
pub(crate) fn report_get() -> Value {
    json!({
        "summary": "A scheduled report",
        "description": "A report the server made on a schedule of the plan's [[reports]], the same bytes as it sent (the e-mail's attachment; chat and webhook messages link here). Reports are kept 90 days.",
        "parameters": [
            { "name": "report_id", "in": "path", "required": true, "description": "The report's id, as in the message that announced it.", "schema": { "type": "integer", "minimum": 1 } },
        ],
        "responses": {
            "200": { "description": "The report.", "headers": { "Content-Disposition": { "description": "attachment; filename=\"mhd-report-<start>-<end>.<ext>\"", "schema": { "type": "string" } } },
                "content": { "application/pdf": { "schema": { "type": "string", "format": "binary" } }, "text/html": { "schema": { "type": "string" } } } },
            "400": err("The id is not a positive number."),
            "404": err("No report of that id (never made, or pruned)."),
            "500": err("The store failed (the cause is logged)."),
        },
    })
}

/// `GET {paths::API_NOTIFICATIONS}`.
pub(crate) fn notifications_get() -> Value {
    read(
        "Notification deliveries",
        "The plan's notification channels (name, kind and routing; never addresses or secrets), the pending deliveries per channel, and the recent deliveries newest first: channel, alert, event, state (pending, sent, failed), attempts, when the next attempt is due, the last error. Payloads are never shown.",
        json!({ "type": "object", "required": ["channels", "pending", "deliveries"], "properties": {
            "channels": { "type": "array", "items": { "type": "object", "required": ["name", "kind", "min_severity", "components", "send_resolved"], "properties": {
                "name": { "type": "string" }, "kind": { "type": "string", "enum": ["webhook", "slack", "pagerduty", "email", "jira"] },
                "min_severity": { "type": "string", "enum": ["info", "warning", "error", "critical"] },
                "components": { "type": "array", "items": { "type": "string" } }, "send_resolved": { "type": "boolean" } } } },
            "pending": { "type": "object", "description": "Pending deliveries per channel name.", "additionalProperties": { "type": "integer" } },
            "deliveries": { "type": "array", "items": { "type": "object", "required": ["id", "channel", "alert_id", "event", "state", "attempts", "created_at"], "properties": {
                "id": { "type": "integer" }, "channel": { "type": "string" }, "alert_id": { "type": "integer" },
                "title": { "type": "string", "nullable": true }, "severity": { "type": "string", "nullable": true },
                "event": { "type": "string", "enum": ["fired", "resolved"] },
                "state": { "type": "string", "enum": ["pending", "sent", "failed"] },
                "attempts": { "type": "integer" },
                "next_attempt_at": { "type": "string", "format": "date-time", "nullable": true },
                "last_error": { "type": "string", "nullable": true },
                "created_at": { "type": "string", "format": "date-time" },
                "sent_at": { "type": "string", "format": "date-time", "nullable": true } } } } } }),
        params::<super::notify::DeliveriesParams>(),
        false,
    )
}

/// `POST {paths::API_ALERT_JIRA}`.
pub(crate) fn alert_jira_post() -> Value {
    json!({
        "summary": "Make the alert's Jira issue",
        "description": "Creates a Jira issue from the alert now, through the plan's first Jira channel. An alert has at most one issue: a second request answers 409 (`conflict`) naming it. No body.",
        "parameters": [ { "name": "alert_id", "in": "path", "required": true, "description": "The alert's id.", "schema": id_schema() } ],
        "responses": {
            "201": ok("The issue was created.", json!({ "type": "object", "required": ["alert_id", "issue_key"], "properties": {
                "alert_id": { "type": "integer" }, "issue_key": { "type": "string", "description": "Such as `OPS-7`." },
                "issue_id": { "type": "string", "nullable": true }, "url": { "type": "string", "nullable": true, "description": "The issue's page." },
                "channel": { "type": "string" } } })),
            "400": err("`alert_id` is not a positive whole number."),
            "404": err("No alert has this id, or no Jira channel is configured (`not_found`)."),
            "409": err("The alert has a Jira issue already (`conflict`); the message names it."),
            "500": err("The store failed (the cause is logged)."),
            "502": err("Jira refused the issue or could not be reached (`bad_gateway`); the message says why."),
            "503": err("Notifications are not running on this server (`unavailable`)."),
        },
    })
}

/// `POST {paths::API_CHAT_COMMAND}`.
pub(crate) fn chat_command_post() -> Value {
    json!({
        "summary": "Chat command (Slack slash command)",
        "description": "A Slack slash-command request, signed with the app's signing secret (`[chat] signing_secret_file` or `signing_secret_env`): `X-Slack-Signature` is `v0=` and the hex HMAC-SHA256 of `v0:{X-Slack-Request-Timestamp}:{body}`, and the timestamp is within 5 minutes of now. `text` `status` answers the executive summary (health, progress, forecast, blockers), `alerts` the firing alerts, anything else the help. Off (404) without a signing secret.",
        "parameters": [
            { "name": "X-Slack-Request-Timestamp", "in": "header", "required": true, "description": "Unix seconds when Slack sent the request.", "schema": { "type": "integer" } },
            { "name": "X-Slack-Signature", "in": "header", "required": true, "description": "`v0=` and the hex HMAC-SHA256 signature.", "schema": { "type": "string" } },
        ],
        "requestBody": { "required": true, "content": { "application/x-www-form-urlencoded": { "schema": { "type": "object", "properties": {
            "command": { "type": "string", "description": "The slash command, such as `/mhd`." },
            "text": { "type": "string", "description": "`status`, `alerts`, or anything else for the help." } } } } } },
        "responses": {
            "200": ok("The answer, shown only to the person who asked.", json!({ "type": "object", "required": ["response_type", "text"], "properties": {
                "response_type": { "type": "string", "enum": ["ephemeral"] }, "text": { "type": "string", "description": "Slack mrkdwn." } } })),
            "400": err("The body is not a form."),
            "401": err("The timestamp is missing or more than 5 minutes from now, or the signature is missing or does not match (`unauthorized`)."),
            "404": err("The endpoint is off: the plan's `[chat]` has no signing secret (`not_found`)."),
            "413": err("The body is over 16 MiB (`payload_too_large`)."),
            "503": err("Notifications are not running on this server (`unavailable`)."),
        },
    })
}

/// `GET {paths::API_AUDIT}`.
pub(crate) fn audit_get() -> Value {
    read(
        "Audit log",
        "Who changed what, from where, newest first: writes of operations, samples, test results and benchmarks, acknowledgements, silences, Jira issues, users and tokens. The log is append-only. The actor is the signed-in user, `token:NAME`, `anonymous`, or `local` when nobody signs in; sign-ins, sign-outs and refused requests are recorded too.",
        json!({ "type": "object", "required": ["entries"], "properties": {
            "entries": { "type": "array", "items": { "type": "object", "required": ["id", "at", "actor", "action", "resource", "details", "outcome", "timestamp", "user", "ip_address"], "properties": {
                "id": { "type": "integer" }, "at": { "type": "string", "format": "date-time" },
                "actor": { "type": "string" }, "action": { "type": "string" }, "resource": { "type": "string" },
                "details": { "type": "object", "additionalProperties": true },
                "client": { "type": "string", "nullable": true, "description": "The client's address with its port, `cli`, or null when unknown." },
                "outcome": { "type": "string", "enum": ["ok", "refused"] },
                "timestamp": { "type": "string", "format": "date-time", "description": "The specification's name for `at`." },
                "user": { "type": "string", "description": "The specification's name for `actor`." },
                "ip_address": { "type": "string", "nullable": true, "description": "The specification's field: the client's address without its port; null for `cli` or an unknown client." } } } } } }),
        params::<super::audit::AuditParams>(),
        false,
    )
}

/// `GET {paths::API_WHOAMI}`.
pub(crate) fn whoami_get() -> Value {
    json!({
        "summary": "Who am I",
        "description": "Who the server takes the caller for: the local user when nobody signs in, a signed-in user, a token, or nobody.",
        "responses": {
            "200": ok("The caller.", json!({ "type": "object", "required": ["kind", "name", "role", "sign_in_required"], "properties": {
                "kind": { "type": "string", "enum": ["local", "user", "token", "anonymous"] },
                "name": { "type": "string" },
                "role": { "type": "string", "nullable": true, "enum": ["viewer", "operator", "admin", "ingest", null] },
                "sign_in_required": { "type": "boolean", "description": "Whether a user exists, so that everyone must sign in or send a token." } } })),
        },
    })
}

/// `POST {paths::API_ROLLBACK}`.
pub(crate) fn rollback_post() -> Value {
    json!({
        "summary": "Roll back a component",
        "description": "Runs the rollback the plan configures for the component (`rollback` in its `[[components]]` entry): a program with fixed arguments, never a shell, stopped at its timeout, or a webhook. One at a time per component. Recorded as a `rollback` operation of the component and in the audit log.",
        "requestBody": { "required": true, "content": { "application/json": { "schema": schema::<super::rollback::RollbackBody>() } } },
        "responses": {
            "200": ok("The rollback succeeded.", json!({ "type": "object", "required": ["component", "outcome"], "properties": { "component": { "type": "string" }, "outcome": { "$ref": "#/components/schemas/RollbackOutcome" } } })),
            "400": err("No such component, no reason, or a malformed body (`bad_request`)."),
            "409": err("The server has no plan (`no_plan`), the plan configures no rollback for the component (`no_rollback`), or one is running (`in_progress`)."),
            "413": err("The body is over the limit (`payload_too_large`)."),
            "415": err("A body that is not JSON (`unsupported_media_type`)."),
            "502": { "description": "The rollback ran and failed (`rollback_failed`); the outcome says how.", "content": { "application/json": { "schema": { "type": "object", "required": ["error", "outcome"], "properties": { "error": { "$ref": "#/components/schemas/Error/properties/error" }, "component": { "type": "string" }, "outcome": { "$ref": "#/components/schemas/RollbackOutcome" } } } } } },
        },
    })
}
