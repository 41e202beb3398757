//! The operation of each API route in the OpenAPI document ([`super::openapi`]): what it
//! answers and when, its parameters and body, by the types the handlers read and send where
//! they derive their schemas. The route table ([`crate::routes::TABLE`]) names each route's
//! operation.

use serde_json::{Value, json};

use super::openapi::{
    alert_id, err, id_schema, merge, ok, params, read, reference, schema, with, write_errors,
};

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
        reference::<super::reads::DatasetsList>(),
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
        reference::<super::reads::ResourceHistory>(),
        params::<super::reads::ResourcesHistoryParams>(),
        false,
    )
}

/// `GET {paths::API_SAMPLES}`.
pub(crate) fn samples_get() -> Value {
    read(
        "Samples of any metric over a span",
        "Every series of the asked metrics — pushed with `POST /api/v1/samples`, or written by a collector (a Prometheus query's name is its metric) — over `[since, until)` in buckets of `step`, each point with the bucket's start and its samples' min, max, mean and count. What is read depends on the span: the raw samples for a recent span of up to 6 hours, else the 1-minute aggregates for up to 3 days, the 1-hour ones up to 14 days, the 1-day ones beyond (`resolution`); `step` is rounded up to whole rows of it. A span of at most 400 days and at most 10,000 points a series.",
        reference::<super::reads::SamplesSpan>(),
        params::<super::reads::SamplesParams>(),
        false,
    )
}

/// `GET {paths::API_OPERATIONS}`.
pub(crate) fn operations_get() -> Value {
    read(
        "Recent operations",
        "Stored operations, newest first.",
        json!({ "type": "array", "items": reference::<mhd_core::Operation>() }),
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
            "application/json": { "schema": { "type": "array", "minItems": 1, "items": reference::<mhd_ingest::operations::OperationInput>() } },
            "application/x-ndjson": { "schema": reference::<mhd_ingest::operations::OperationInput>() } } },
        "responses": merge(json!({
            "201": ok("Stored: how many operations.", reference::<super::writes::Stored>()),
            "400": { "description": "Invalid records; nothing stored.", "content": { "application/json": { "schema": reference::<super::writes::RejectedRecords>() } } },
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
            "201": ok("Stored: the run and its totals.", reference::<super::writes::JunitStored>()),
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
            "application/json": { "schema": hyperfine_export() }, "text/csv": { "schema": { "type": "string" } } } },
        "responses": merge(json!({
            "201": ok("Stored: the timings, per benchmark.", reference::<super::writes::BenchmarksStored>()),
        }), write_errors(&[])),
    })
}

/// What the benchmarks' write reads of a hyperfine `--export-json` file (hyperfine's format,
/// not the API's: the other fields hyperfine writes are ignored).
fn hyperfine_export() -> Value {
    json!({ "type": "object", "required": ["results"], "description": "A hyperfine `--export-json` file: each of its `results` is a command and its times.", "properties": {
        "results": { "type": "array", "minItems": 1, "items": { "type": "object", "required": ["command", "times"], "properties": {
            "command": { "type": "string", "description": "The command measured (its operation, unless `operation` names it)." },
            "times": { "type": "array", "items": { "type": "number", "minimum": 0 }, "description": "Each run's time in seconds." } } } } } })
}

/// `POST {paths::API_SAMPLES}`.
pub(crate) fn samples_post() -> Value {
    json!({
        "summary": "Record samples",
        "description": "Points of time series, as a JSON array or NDJSON (one sample per line). A body starting with `[` is an array, anything else NDJSON, under either content type. All or nothing: any invalid record answers 400 with every rejected record in `errors` and stores nothing. Accepted samples are committed before the 201. A missing `timestamp` is the time of the request.",
        "requestBody": { "required": true, "content": {
            "application/json": { "schema": { "type": "array", "minItems": 1, "items": reference::<mhd_ingest::samples::SampleInput>() } },
            "application/x-ndjson": { "schema": reference::<mhd_ingest::samples::SampleInput>() } } },
        "responses": merge(json!({
            "201": ok("Stored: how many samples.", reference::<super::writes::Stored>()),
            "400": { "description": "Invalid records; nothing stored.", "content": { "application/json": { "schema": reference::<super::writes::RejectedRecords>() } } },
        }), write_errors(&[("415", "Content-Type is neither application/json nor application/x-ndjson.")])),
    })
}

/// `GET {paths::API_OPENAPI}`.
pub(crate) fn openapi_get() -> Value {
    json!({
        "summary": "This document",
        "responses": { "200": ok("The OpenAPI 3.0 document.", json!({ "type": "object", "required": ["openapi", "info", "paths", "components"], "properties": {
            "openapi": { "type": "string", "description": "The version of OpenAPI: 3.0.3." },
            "info": { "type": "object", "description": "The API's title, version and description." },
            "paths": { "type": "object", "description": "Each route's operations." },
            "components": { "type": "object", "description": "The schemas and the ways to sign in." },
            "security": { "type": "array", "items": { "type": "object" } } } })) },
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
        reference::<super::notify::Notifications>(),
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
            "201": ok("The issue was created.", reference::<super::notify::JiraIssueMade>()),
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
            "200": ok("The answer, shown only to the person who asked.", reference::<crate::notify::chat::ChatAnswer>()),
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
        reference::<super::audit::AuditLog>(),
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
            "200": ok("The caller.", reference::<crate::security::WhoAmI>()),
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
            "200": ok("The rollback succeeded.", reference::<super::rollback::RolledBack>()),
            "400": err("No such component, no reason, or a malformed body (`bad_request`)."),
            "409": err("The server has no plan (`no_plan`), the plan configures no rollback for the component (`no_rollback`), or one is running (`in_progress`)."),
            "413": err("The body is over the limit (`payload_too_large`)."),
            "415": err("A body that is not JSON (`unsupported_media_type`)."),
            "502": ok("The rollback ran and failed (`rollback_failed`); the outcome says how.", reference::<super::rollback::RollbackFailed>()),
        },
    })
}
