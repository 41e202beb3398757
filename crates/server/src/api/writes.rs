//! The API's writes. Each is all-or-nothing and durable before its `201`: the request is parsed
//! and checked whole, then stored in one committed transaction, then answered.
//!
//! Operations from concurrent requests are coalesced by the [`Batcher`] (group commit): one task
//! takes what is queued (up to [`BATCH_MAX_OPS`] operations) and stores it in one transaction,
//! answering each request after the commit. It never waits for company: a lone write goes
//! straight in, and the requests that arrive while a commit is in flight queue up and share the
//! next one. Should that transaction fail, each request's operations are retried in a
//! transaction of their own, so one request never fails because of another.

use std::sync::{Arc, OnceLock};

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use mhd_core::{NewOperation, System};
use mhd_ingest::operations::{self, Rejected};
use mhd_store::{Database, Store, StoreError};
use serde::Serialize;
use serde_json::json;
use tokio::sync::{mpsc, oneshot};

use super::{body_error, media_type};
use crate::audit;
use crate::error::{ApiError, ErrorDetail};
use crate::recorder::{Change, Recorder};
use crate::security::Who;
use crate::state::AppState;

/// The most operations one shared transaction takes.
pub const BATCH_MAX_OPS: usize = 50_000;
/// Requests waiting for the batcher before new ones wait for room.
const QUEUE: usize = 1024;
/// Rejected records listed in a 400 answer (the message says how many there were in all).
const MAX_LISTED: usize = 1000;

/// One request's operations and where to send the outcome.
struct Job {
    ops: Vec<NewOperation>,
    reply: oneshot::Sender<Result<u64, StoreError>>,
}

/// The queue of the write-batching task, started at the first write (it needs the store, which
/// the state brings, and a runtime). Cheap to clone; the task ends when the router is dropped.
#[derive(Clone, Default)]
pub struct Batcher(Arc<OnceLock<mpsc::Sender<Job>>>);

impl Batcher {
    /// Stores `ops` in a transaction shared with other queued requests and announces them
    /// through `recorder`; returns once committed.
    pub async fn store(
        &self,
        recorder: &Recorder,
        ops: Vec<NewOperation>,
    ) -> Result<u64, ApiError> {
        let change = Change::Operations {
            components: crate::recorder::components(&ops),
        };
        recorder
            .commit(change, self.queue(recorder.store(), ops))
            .await
    }

    /// Queues `ops` for the batching task; returns once committed.
    async fn queue(&self, store: &Database, ops: Vec<NewOperation>) -> Result<u64, ApiError> {
        let sender = self.0.get_or_init(|| {
            let (tx, rx) = mpsc::channel(QUEUE);
            tokio::spawn(run(store.clone(), rx));
            tx
        });
        let (reply, answer) = oneshot::channel();
        sender
            .send(Job { ops, reply })
            .await
            .map_err(|_| ApiError::internal(&"the write batcher has stopped"))?;
        match answer.await {
            Ok(result) => Ok(result?),
            Err(_) => Err(ApiError::internal(&"the write batcher dropped a request")),
        }
    }
}

/// The batching loop: one transaction per batch of queued jobs. A batch is the first job and
/// whatever queued behind it while the previous commit ran; nothing waits for more to come.
async fn run(store: Database, mut rx: mpsc::Receiver<Job>) {
    while let Some(first) = rx.recv().await {
        let mut total = first.ops.len();
        let mut jobs = vec![first];
        while total < BATCH_MAX_OPS {
            match rx.try_recv() {
                Ok(job) => {
                    total += job.ops.len();
                    jobs.push(job);
                }
                Err(_) => break,
            }
        }
        if jobs.len() == 1 {
            let job = jobs.pop().expect("one job");
            let result = store.insert_operations(&job.ops).await;
            let _ = job.reply.send(result);
            continue;
        }
        match write_together(&store, &jobs).await {
            Ok(()) => {
                for job in jobs {
                    let n = job.ops.len() as u64;
                    let _ = job.reply.send(Ok(n));
                }
            }
            // A full disk, a busy store or a database that does not answer fails every
            // request alike: each hears it now rather than after one more wait of its own.
            Err(e @ (StoreError::Full | StoreError::Busy(_) | StoreError::Unreachable { .. })) => {
                for job in jobs {
                    let again = match &e {
                        StoreError::Busy(d) => StoreError::Busy(*d),
                        StoreError::Unreachable { url, reason } => StoreError::Unreachable {
                            url: url.clone(),
                            reason: reason.clone(),
                        },
                        _ => StoreError::Full,
                    };
                    let _ = job.reply.send(Err(again));
                }
            }
            Err(e) => {
                tracing::warn!(
                    "a shared write transaction failed ({e}); retrying each request alone"
                );
                for job in jobs {
                    let result = store.insert_operations(&job.ops).await;
                    let _ = job.reply.send(result);
                }
            }
        }
    }
}

/// Writes every job's operations in one transaction and commits it; on error nothing is kept.
async fn write_together(store: &Database, jobs: &[Job]) -> Result<(), StoreError> {
    let groups: Vec<&[NewOperation]> = jobs.iter().map(|j| j.ops.as_slice()).collect();
    store.insert_operation_groups(&groups).await.map(drop)
}

/// `POST /api/v1/operations`: a JSON array of operations, or NDJSON (one per line).
///
/// `Content-Type` must be `application/json` or `application/x-ndjson` (415 otherwise); either
/// way a body whose first non-blank character is `[` is read as an array, anything else as
/// NDJSON. Every record is checked first: any invalid one → 400 listing each rejected record
/// (`errors`: line, index in an array, reason) and nothing is stored. Otherwise all are stored
/// in one committed transaction and the answer is 201 `{"stored": N}`.
pub async fn operations(
    State(state): State<AppState>,
    axum::Extension(batcher): axum::Extension<Batcher>,
    client: Who,
    headers: HeaderMap,
    query: Result<super::Query<super::NoParams>, ApiError>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let mut details = json!({});
    let answer = store_operations(&state, &batcher, headers, query, body, &mut details).await;
    let action = "operations.write";
    audit::record_response(&state, action, "operations", details, &client, &answer).await;
    answer
}

/// The body of a write of records (`what`: operations or samples), which must be JSON (an
/// array) or NDJSON (one object per line).
fn records_body(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    what: &str,
) -> Result<Bytes, ApiError> {
    match media_type(headers).as_deref() {
        Some("application/json" | "application/x-ndjson") => {}
        other => {
            return Err(ApiError::unsupported_media_type(format!(
                "Content-Type {}: send {what} as application/json (an array) or \
                 application/x-ndjson (one object per line)",
                other.unwrap_or("(none)")
            )));
        }
    }
    body.map_err(|e| body_error(&e))
}

/// [`operations`] without its audit entry; sets `details` to the counts stored.
async fn store_operations(
    state: &AppState,
    batcher: &Batcher,
    headers: HeaderMap,
    query: Result<super::Query<super::NoParams>, ApiError>,
    body: Result<Bytes, BytesRejection>,
    details: &mut serde_json::Value,
) -> Result<Response, ApiError> {
    query?;
    let body = records_body(&headers, body, "operations")?;
    let text = utf8_text(&body)?;
    let ops = match operations::parse(text, time_limits(state)) {
        Ok(ops) => ops,
        Err(rejected) => return Ok(rejected_answer(&rejected)),
    };
    if ops.is_empty() {
        return Err(ApiError::bad_request(
            "the body holds no operations: send a JSON array or NDJSON lines of operations",
        ));
    }
    let components = crate::recorder::components(&ops).len();
    let stored = batcher.store(state.recorder(), ops).await?;
    *details = json!({ "stored": stored, "components": components });
    state.metrics().ingested_operations.inc_by(stored);
    Ok((StatusCode::CREATED, Json(Stored { stored })).into_response())
}

/// The answer of an accepted write of operations or samples.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Stored {
    /// How many records were stored.
    pub stored: u64,
}

/// The body as text, or 400 naming the line where it stops being UTF-8.
fn utf8_text(body: &[u8]) -> Result<&str, ApiError> {
    std::str::from_utf8(body).map_err(|e| {
        let line = 1 + body[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        ApiError::bad_request(format!("line {line}: the body is not UTF-8 text"))
    })
}

/// The answer of a write of records that refused some: the error, and each record refused.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RejectedRecords {
    /// What went wrong: `bad_request`, and a message naming the first records refused.
    pub error: ErrorDetail,
    /// Each rejected record (the first 1000); absent when the body as a whole is refused
    /// (not UTF-8, or holding no record).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub errors: Option<Vec<RejectedRecord>>,
}

/// One record a write refused, and why.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RejectedRecord {
    /// 1-based line where the record starts.
    pub line: usize,
    /// 0-based element index in a JSON array; null in NDJSON.
    pub index: Option<usize>,
    /// Why it was refused, naming the field when one field is at fault.
    pub reason: String,
}

/// 400 with every rejected record: `{"error": {...}, "errors": [{line, index, reason}]}`.
fn rejected_answer(rejected: &[Rejected]) -> Response {
    let n = rejected.len();
    let mut message = format!(
        "{n} record{} rejected, nothing stored: {}",
        if n == 1 { "" } else { "s" },
        rejected
            .iter()
            .take(3)
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    );
    if n > 3 {
        message.push_str(&format!("; … and {} more (see `errors`)", n - 3));
    }
    let errors = rejected
        .iter()
        .take(MAX_LISTED)
        .map(|r| RejectedRecord {
            line: r.line,
            index: r.index,
            reason: r.reason.clone(),
        })
        .collect();
    let body = RejectedRecords {
        error: ErrorDetail {
            code: "bad_request",
            message,
        },
        errors: Some(errors),
    };
    (StatusCode::BAD_REQUEST, Json(body)).into_response()
}

/// The parameters of `POST /api/v1/tests/junit`.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct JunitParams {
    /// The test suite's name.
    #[param(required = true, min_length = 1)]
    pub suite: Option<String>,
    /// The plan phase the run belongs to.
    #[param(min_length = 1)]
    pub phase: Option<String>,
    /// The plan component the run belongs to.
    #[param(min_length = 1)]
    pub component: Option<String>,
    /// When the run happened (RFC 3339 or YYYY-MM-DD); default the report's timestamp, else
    /// now.
    #[param(min_length = 1)]
    pub run_at: Option<String>,
}

/// `POST /api/v1/tests/junit?suite&phase&component&run_at`: one JUnit XML report (as
/// `application/xml` or `text/xml`) stored as one run of `suite`, like `mhd ingest junit`.
///
/// `run_at` (RFC 3339 or a date) defaults to the report's timestamp, else now. A phase or
/// component the plan does not name is refused. Answers 201 with the run's totals.
pub async fn junit(
    State(state): State<AppState>,
    client: Who,
    headers: HeaderMap,
    query: Result<super::Query<JunitParams>, ApiError>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let mut details = json!({});
    let answer = store_junit(&state, headers, query, body, &mut details).await;
    audit::record_response(&state, "tests.write", "tests", details, &client, &answer).await;
    answer
}

/// [`junit`] without its audit entry; sets `details` to the run's suite and counts.
async fn store_junit(
    state: &AppState,
    headers: HeaderMap,
    query: Result<super::Query<JunitParams>, ApiError>,
    body: Result<Bytes, BytesRejection>,
    details: &mut serde_json::Value,
) -> Result<Response, ApiError> {
    let super::Query(query) = query?;
    let suite = match query.suite.as_deref().map(str::trim) {
        Some(s) if !s.is_empty() => s.to_owned(),
        _ => {
            return Err(ApiError::bad_request(
                "parameter `suite`: required, the name of the test suite",
            ));
        }
    };
    let phase = query.phase;
    let component = query.component;
    check_names(state, phase.as_deref(), component.as_deref())?;
    let limits = time_limits(state);
    let run_at = query
        .run_at
        .as_deref()
        .map(|v| {
            mhd_core::time_parse::parse_timestamp(v)
                .and_then(|t| limits.check(t).map(|()| t))
                .map_err(|e| ApiError::bad_request(format!("parameter `run_at`: {e}")))
        })
        .transpose()?;
    match media_type(&headers).as_deref() {
        Some("application/xml" | "text/xml") => {}
        other => {
            return Err(ApiError::unsupported_media_type(format!(
                "Content-Type {}: send a JUnit report as application/xml or text/xml",
                other.unwrap_or("(none)")
            )));
        }
    }
    let body = body.map_err(|e| body_error(&e))?;
    let report = mhd_ingest::junit::parse(&body[..], "body")
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    if run_at.is_none()
        && let Some(t) = report.timestamp
    {
        limits.check(t).map_err(|e| {
            ApiError::bad_request(format!(
                "body: the report's timestamp: {e} (or give `run_at`)"
            ))
        })?;
    }
    let at = run_at.or(report.timestamp).unwrap_or_else(|| state.now());
    let run = report.into_test_run(suite, phase, component, at);
    state.recorder().test_run(&run, Some("api")).await?;
    let t = run.totals();
    *details = json!({ "suite": run.suite, "cases": t.total, "failed": t.failed });
    Ok((
        StatusCode::CREATED,
        Json(JunitStored {
            results: JunitResults {
                total: t.total,
                passed: t.passed,
                failed: t.failed,
                errors: t.errors,
                skipped: t.skipped,
                duration: run.duration,
            },
            suite: run.suite,
            run_at: run.run_at,
        }),
    )
        .into_response())
}

/// The answer of `POST /api/v1/tests/junit`: the run stored, with its totals.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct JunitStored {
    /// The test suite's name.
    pub suite: String,
    /// When the run happened.
    #[serde(serialize_with = "super::utc")]
    pub run_at: time::OffsetDateTime,
    /// The run's cases by status, and its duration.
    pub results: JunitResults,
}

/// The cases of a stored JUnit run by status, and how long it took.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct JunitResults {
    /// All cases.
    pub total: u64,
    /// Cases that passed.
    pub passed: u64,
    /// Cases that failed or errored.
    pub failed: u64,
    /// Cases that errored, alone (also counted in `failed`).
    pub errors: u64,
    /// Cases that were skipped.
    pub skipped: u64,
    /// The run's duration in seconds.
    pub duration: f64,
}

/// The parameters of `POST /api/v1/benchmarks`.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct BenchmarkParams {
    /// The system: see `system_schema`.
    #[param(schema_with = system_schema)]
    pub system: Option<String>,
    /// A name for the operation instead of hyperfine's command (one command only); refused
    /// for CSV.
    #[param(min_length = 1)]
    pub operation: Option<String>,
    /// The plan component of every sample.
    #[param(min_length = 1)]
    pub component: Option<String>,
    /// The format: see `format_schema`.
    #[param(schema_with = format_schema)]
    pub format: Option<String>,
}

/// The schema of `system`, with its description.
fn system_schema() -> utoipa::openapi::Object {
    super::openapi::string_enum(
        &["old", "new"],
        None,
        "The system measured; required for hyperfine, refused for CSV (its rows say it).",
    )
}

/// The schema of `format`, with its description.
fn format_schema() -> utoipa::openapi::Object {
    super::openapi::string_enum(
        &["hyperfine", "csv"],
        None,
        "The body's format; without it the content tells.",
    )
}

/// `POST /api/v1/benchmarks?system&operation&component&format`: a hyperfine `--export-json`
/// file (`format=hyperfine`, needs `system`) or a CSV file of `operation,system,value_ms`
/// (`format=csv`, whose rows name operation and system). Without `format` the content tells.
/// Stored as one batch; answers 201 `{"stored": values, "benchmarks": [...]}`.
pub async fn benchmarks(
    State(state): State<AppState>,
    client: Who,
    query: Result<super::Query<BenchmarkParams>, ApiError>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let mut details = json!({});
    let answer = store_benchmarks(&state, query, body, &mut details).await;
    let action = "benchmarks.write";
    audit::record_response(&state, action, "benchmarks", details, &client, &answer).await;
    answer
}

/// [`benchmarks`] without its audit entry; sets `details` to the counts stored.
async fn store_benchmarks(
    state: &AppState,
    query: Result<super::Query<BenchmarkParams>, ApiError>,
    body: Result<Bytes, BytesRejection>,
    details: &mut serde_json::Value,
) -> Result<Response, ApiError> {
    use mhd_ingest::bench::{self, Kind};
    let super::Query(query) = query?;
    let system = match query.system.as_deref() {
        None => None,
        Some("old") => Some(System::Old),
        Some("new") => Some(System::New),
        Some(v) => {
            return Err(ApiError::bad_request(format!(
                "parameter `system`: {v:?} is neither old nor new"
            )));
        }
    };
    let component = query.component;
    check_names(state, None, component.as_deref())?;
    let options = bench::Options {
        system,
        operation: query.operation,
        component,
    };
    let body = body.map_err(|e| body_error(&e))?;
    let kind = match query.format.as_deref() {
        Some("hyperfine") => Kind::Hyperfine,
        Some("csv") => Kind::Csv,
        None => bench::detect_content("body", &body)
            .map_err(|e| ApiError::bad_request(e.to_string()))?,
        Some(v) => {
            return Err(ApiError::bad_request(format!(
                "parameter `format`: {v:?} is neither hyperfine nor csv"
            )));
        }
    };
    let samples = match kind {
        Kind::Hyperfine => bench::parse_hyperfine("body", &body, &options),
        Kind::Csv => bench::parse_csv("body", &body, &options),
        Kind::Criterion => {
            return Err(ApiError::bad_request(
                "body: a Criterion sample.json needs its folder; send hyperfine JSON or CSV",
            ));
        }
    }
    .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let stored = state
        .recorder()
        .benchmarks(&samples, Some("api"), state.now())
        .await?;
    *details = json!({ "stored": stored, "benchmarks": samples.len() });
    let benchmarks = samples
        .iter()
        .map(|s| StoredBenchmark {
            operation: &s.operation,
            system: s.system,
            component: s.component.as_deref(),
            samples: s.values_ms.len(),
        })
        .collect();
    Ok((
        StatusCode::CREATED,
        Json(BenchmarksStored { stored, benchmarks }),
    )
        .into_response())
}

/// The answer of `POST /api/v1/benchmarks`: the timings stored, per benchmark.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BenchmarksStored<'a> {
    /// Timings stored.
    pub stored: u64,
    /// Each benchmark of the body.
    pub benchmarks: Vec<StoredBenchmark<'a>>,
}

/// One benchmark stored: an operation on one system.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StoredBenchmark<'a> {
    /// The operation measured.
    pub operation: &'a str,
    /// The system it ran on.
    pub system: System,
    /// The component it belongs to, if given.
    pub component: Option<&'a str>,
    /// How many timings it has.
    pub samples: usize,
}

/// `POST /api/v1/samples`: a JSON array of samples, or NDJSON (one per line).
///
/// Read like `POST /api/v1/operations`: `Content-Type` `application/json` or
/// `application/x-ndjson` (415 otherwise); a body whose first non-blank character is `[` is an
/// array, anything else NDJSON; any invalid record → 400 listing each rejected one and nothing
/// is stored; otherwise all are stored in one committed transaction and the answer is 201
/// `{"stored": N}`. A missing `timestamp` is the time of the request.
pub async fn samples(
    State(state): State<AppState>,
    client: Who,
    headers: HeaderMap,
    query: Result<super::Query<super::NoParams>, ApiError>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let mut details = json!({});
    let answer = store_samples(&state, headers, query, body, &mut details).await;
    audit::record_response(
        &state,
        "samples.write",
        "samples",
        details,
        &client,
        &answer,
    )
    .await;
    answer
}

/// [`samples`] without its audit entry; sets `details` to the count stored.
async fn store_samples(
    state: &AppState,
    headers: HeaderMap,
    query: Result<super::Query<super::NoParams>, ApiError>,
    body: Result<Bytes, BytesRejection>,
    details: &mut serde_json::Value,
) -> Result<Response, ApiError> {
    query?;
    let body = records_body(&headers, body, "samples")?;
    let text = utf8_text(&body)?;
    let samples = match mhd_ingest::samples::parse(text, time_limits(state)) {
        Ok(samples) => samples,
        Err(rejected) => return Ok(rejected_answer(&rejected)),
    };
    if samples.is_empty() {
        return Err(ApiError::bad_request(
            "the body holds no samples: send a JSON array or NDJSON lines of samples",
        ));
    }
    let stored = state.recorder().samples(&samples).await?;
    *details = json!({ "stored": stored });
    Ok((StatusCode::CREATED, Json(Stored { stored })).into_response())
}

/// When the request is received, and how far past then a time in it may lie: `--max-future`,
/// else the plan's `max_future`, else a day.
pub(crate) fn time_limits(state: &AppState) -> mhd_core::limits::TimeLimits {
    mhd_core::limits::TimeLimits {
        now: state.now(),
        max_future: state.max_future().get().copied().unwrap_or_else(|| {
            state
                .plan()
                .as_deref()
                .map_or(mhd_core::limits::DEFAULT_MAX_FUTURE, |p| {
                    p.thresholds.max_future
                })
        }),
    }
}

/// Refuses a phase or component the plan does not name (any, without a plan or, for
/// components, when the plan lists none), as `mhd ingest` does.
fn check_names(
    state: &AppState,
    phase: Option<&str>,
    component: Option<&str>,
) -> Result<(), ApiError> {
    let Some(plan) = state.plan() else {
        return Ok(());
    };
    if let Some(p) = phase
        && plan.phase(p).is_none()
    {
        let known: Vec<&str> = plan.phases.iter().map(|p| p.id.as_str()).collect();
        return Err(ApiError::bad_request(format!(
            "parameter `phase`: the plan has no phase {p:?} (it has {})",
            known.join(", ")
        )));
    }
    if let Some(c) = component
        && !plan.components.is_empty()
        && plan.component(c).is_none()
    {
        let known: Vec<&str> = plan.components.iter().map(|c| c.id.as_str()).collect();
        return Err(ApiError::bad_request(format!(
            "parameter `component`: the plan has no component {c:?} (it has {})",
            known.join(", ")
        )));
    }
    Ok(())
}
