//! Rolling a component back: runs the component's `rollback` from the plan — a program or a
//! webhook — for `POST /api/v1/secure/rollback`, and builds the operation that records it in
//! the component's history.
//!
//! Nothing from the request goes into a command line or an address. A program is run with the
//! plan's arguments exactly, never through a shell, in the plan's folder; the request reaches it
//! only through its environment: `MHD_ROLLBACK_COMPONENT`, `MHD_ROLLBACK_REQUESTED_BY`,
//! `MHD_ROLLBACK_REASON` and `MHD_ROLLBACK_REQUESTED_AT` (RFC 3339). A webhook is sent the same
//! as JSON. The webhook's token is read when the rollback runs and never logged or returned.

use std::future::poll_fn;
use std::path::Path;
use std::pin::Pin;
use std::process::{ExitStatus, Stdio};
use std::task::Poll;
use std::time::{Duration as StdDuration, Instant};

use mhd_core::NewOperation;
use mhd_core::limits::MAX_TEXT_BYTES;
use mhd_core::operation::kind;
use mhd_core::plan::{RollbackAction, RollbackVia, Secret};
use serde::Serialize;
use serde_json::json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::io::{AsyncRead, ReadBuf};

use crate::notify::{SecretValue, SendError, read_secret};

/// The most of a program's standard output, and of its standard error, kept in the outcome.
pub const MAX_OUTPUT: usize = 64 * 1024;
/// The most of a webhook's answer kept in the outcome.
pub const MAX_BODY: usize = 4 * 1024;
/// How long the output of a program that has ended is still read, for what it handed to a
/// process it left running.
const OUTPUT_GRACE: StdDuration = StdDuration::from_millis(500);
/// Longest timeout honoured, whatever the action says (the plan allows at most 1 hour).
const MAX_TIMEOUT: StdDuration = StdDuration::from_secs(3600);

/// Who asks for which rollback, when and why.
#[derive(Debug, Clone, Copy)]
pub struct RollbackRequest<'a> {
    /// The component's id.
    pub component: &'a str,
    /// The user or token name that asked.
    pub requested_by: &'a str,
    /// The reason given.
    pub reason: &'a str,
    /// When it was asked.
    pub requested_at: OffsetDateTime,
    /// The plan file's folder: a program runs there, and a relative `token_file` is read from
    /// there.
    pub plan_dir: &'a Path,
}

/// How a rollback was carried out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Via {
    /// A program was run.
    Command,
    /// A webhook was called.
    Webhook,
}

impl Via {
    /// `command` or `webhook`.
    pub fn as_str(self) -> &'static str {
        match self {
            Via::Command => "command",
            Via::Webhook => "webhook",
        }
    }
}

/// What a rollback did. Every field is always present; those that do not apply are `null`
/// (or `false`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RollbackOutcome {
    /// Whether it succeeded: the program exited with 0, or the webhook answered 2xx.
    pub ok: bool,
    /// How it was carried out.
    pub via: Via,
    /// The program's exit code, when it exited by itself.
    pub exit_code: Option<i32>,
    /// The webhook's HTTP status, when it answered.
    pub status: Option<u16>,
    /// The program's standard output (at most [`MAX_OUTPUT`] bytes, invalid UTF-8 replaced).
    pub stdout: Option<String>,
    /// Whether `stdout` was cut.
    pub stdout_truncated: bool,
    /// The program's standard error (at most [`MAX_OUTPUT`] bytes, invalid UTF-8 replaced).
    pub stderr: Option<String>,
    /// Whether `stderr` was cut.
    pub stderr_truncated: bool,
    /// The webhook's answer (at most [`MAX_BODY`] bytes).
    pub body: Option<String>,
    /// Whether `body` was cut.
    pub body_truncated: bool,
    /// Whether it ran out of time: the program was stopped, or the webhook did not answer.
    pub timed_out: bool,
    /// How long it took, in milliseconds.
    pub duration_ms: u64,
    /// Why it failed, in plain words; `None` when it succeeded.
    pub error: Option<String>,
}

impl RollbackOutcome {
    fn new(via: Via) -> RollbackOutcome {
        RollbackOutcome {
            ok: false,
            via,
            exit_code: None,
            status: None,
            stdout: None,
            stdout_truncated: false,
            stderr: None,
            stderr_truncated: false,
            body: None,
            body_truncated: false,
            timed_out: false,
            duration_ms: 0,
            error: None,
        }
    }
}

/// Carries out `action` for `request` and says what happened. Never fails: every problem
/// (a program that cannot start, an unreadable token, an unreachable address) is an outcome
/// with `ok = false` and its `error`.
pub async fn run(action: &RollbackAction, request: &RollbackRequest<'_>) -> RollbackOutcome {
    let started = Instant::now();
    let timeout = StdDuration::try_from(action.timeout)
        .unwrap_or(MAX_TIMEOUT)
        .min(MAX_TIMEOUT);
    let mut outcome = match &action.via {
        RollbackVia::Command { program, args } => {
            run_command(program, args, timeout, request, started).await
        }
        RollbackVia::Webhook { url, token } => {
            run_webhook(url, token.as_ref(), timeout, request).await
        }
    };
    outcome.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    if outcome.ok {
        tracing::info!(
            component = request.component,
            requested_by = request.requested_by,
            via = outcome.via.as_str(),
            duration_ms = outcome.duration_ms,
            "rollback done"
        );
    } else {
        tracing::warn!(
            component = request.component,
            requested_by = request.requested_by,
            via = outcome.via.as_str(),
            duration_ms = outcome.duration_ms,
            error = outcome.error.as_deref().unwrap_or_default(),
            "rollback failed"
        );
    }
    outcome
}

/// The operation that records a rollback in the component's history: `metric_type =
/// "rollback"`, the component, no dataset, its success, duration and error, and metadata
/// `{action, requested_by, reason, via, exit_code | status}`. Its time is when the rollback
/// ended. Store it with the API's write path ([`mhd_store::Store::insert_operations`]).
pub fn history_operation(request: &RollbackRequest<'_>, outcome: &RollbackOutcome) -> NewOperation {
    let took = time::Duration::milliseconds(i64::try_from(outcome.duration_ms).unwrap_or(0));
    let ended = request
        .requested_at
        .checked_add(took)
        .unwrap_or(request.requested_at);
    let mut op = NewOperation::new(ended, kind::ROLLBACK, "rollback");
    op.component = Some(request.component.to_owned());
    op.duration_ms = Some(outcome.duration_ms as f64);
    op.success = outcome.ok;
    if !outcome.ok {
        let error = outcome.error.as_deref().unwrap_or("the rollback failed");
        op.error_message = Some(cut(error, MAX_TEXT_BYTES).to_owned());
    }
    let mut metadata = json!({
        "action": "rollback",
        "requested_by": request.requested_by,
        "reason": cut(request.reason, MAX_TEXT_BYTES),
        "via": outcome.via.as_str(),
    });
    match outcome.via {
        Via::Command => metadata["exit_code"] = json!(outcome.exit_code),
        Via::Webhook => metadata["status"] = json!(outcome.status),
    }
    op.metadata = Some(metadata);
    op
}

// ---- command -------------------------------------------------------------------------------

/// Runs the program in its own process group, so that a timeout stops what it started too.
async fn run_command(
    program: &str,
    args: &[String],
    timeout: StdDuration,
    request: &RollbackRequest<'_>,
    started: Instant,
) -> RollbackOutcome {
    let mut outcome = RollbackOutcome::new(Via::Command);
    // The environment cannot carry a NUL character; say so rather than fail to start.
    for (what, text) in [
        ("component", request.component),
        ("requested_by", request.requested_by),
        ("reason", request.reason),
    ] {
        if text.contains('\0') {
            outcome.error = Some(format!(
                "the {what} holds a NUL character, which cannot be passed to the program"
            ));
            return outcome;
        }
    }
    if !request.plan_dir.is_dir() {
        outcome.error = Some(format!(
            "cannot start {program}: the plan's folder {} is not a folder",
            request.plan_dir.display()
        ));
        return outcome;
    }
    let requested_at = request
        .requested_at
        .format(&Rfc3339)
        .unwrap_or_else(|_| request.requested_at.to_string());
    let mut command = tokio::process::Command::new(program);
    command
        .args(args)
        .current_dir(request.plan_dir)
        .env("MHD_ROLLBACK_COMPONENT", request.component)
        .env("MHD_ROLLBACK_REQUESTED_BY", request.requested_by)
        .env("MHD_ROLLBACK_REASON", request.reason)
        .env("MHD_ROLLBACK_REQUESTED_AT", requested_at)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .process_group(0);
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => {
            let hint = if e.kind() == std::io::ErrorKind::NotFound && !program.contains('/') {
                " (not found in PATH)"
            } else {
                ""
            };
            outcome.error = Some(format!("cannot start {program}: {}{hint}", io_reason(&e)));
            return outcome;
        }
    };
    let mut group = ProcessGroup(child.id());
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let mut out = Capture::new(MAX_OUTPUT);
    let mut err = Capture::new(MAX_OUTPUT);
    let deadline = tokio::time::Instant::from_std(started + timeout);

    let ended = {
        let pumps = async {
            tokio::join!(pump(stdout, &mut out), pump(stderr, &mut err));
        };
        tokio::pin!(pumps);
        let mut pumps_done = false;
        let ended = loop {
            tokio::select! {
                () = &mut pumps, if !pumps_done => pumps_done = true,
                status = child.wait() => break Ended::Exited(status),
                () = tokio::time::sleep_until(deadline) => break Ended::TimedOut,
            }
        };
        match &ended {
            Ended::Exited(Ok(_)) => group.forget(),
            Ended::Exited(Err(_)) | Ended::TimedOut => {
                group.kill().await;
                let _ = child.kill().await;
            }
        }
        if !pumps_done {
            let _ = tokio::time::timeout(OUTPUT_GRACE, &mut pumps).await;
        }
        ended
    };

    outcome.stdout = Some(out.text());
    outcome.stdout_truncated = out.truncated;
    outcome.stderr = Some(err.text());
    outcome.stderr_truncated = err.truncated;
    match ended {
        Ended::Exited(Ok(status)) => {
            outcome.exit_code = status.code();
            outcome.ok = status.success();
            if !outcome.ok {
                outcome.error = Some(exit_reason(status));
            }
        }
        Ended::Exited(Err(e)) => {
            outcome.error = Some(format!(
                "lost track of {program} while it ran: {}",
                io_reason(&e)
            ));
        }
        Ended::TimedOut => {
            outcome.timed_out = true;
            outcome.error = Some(format!(
                "the program did not finish within {} and was stopped",
                seconds(timeout)
            ));
        }
    }
    outcome
}

/// How the wait for the program ended.
enum Ended {
    Exited(std::io::Result<ExitStatus>),
    TimedOut,
}

/// Why a program that exited did not succeed.
fn exit_reason(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt as _;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("the program exited with status {code}"),
        (None, Some(signal)) => format!("the program was ended by signal {signal}"),
        (None, None) => "the program ended abnormally".to_owned(),
    }
}

/// The process group a program leads. Killed when dropped unless forgotten, so that a rollback
/// abandoned half-way (its request dropped) leaves nothing running.
struct ProcessGroup(Option<u32>);

impl ProcessGroup {
    /// The program ended by itself: what it left running is its own business.
    fn forget(&mut self) {
        self.0 = None;
    }

    /// Kills every process of the group.
    async fn kill(&mut self) {
        if let Some(id) = self.0.take() {
            // std offers no way to signal a process group; `kill` does it without unsafe code.
            let _ = tokio::process::Command::new("kill")
                .args(["-KILL", "--", &format!("-{id}")])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .await;
        }
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        if let Some(id) = self.0.take() {
            let _ = std::process::Command::new("kill")
                .args(["-KILL", "--", &format!("-{id}")])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// The first bytes of a stream, up to a limit, and whether more came.
struct Capture {
    bytes: Vec<u8>,
    limit: usize,
    truncated: bool,
}

impl Capture {
    fn new(limit: usize) -> Capture {
        Capture {
            bytes: Vec::new(),
            limit,
            truncated: false,
        }
    }

    fn push(&mut self, chunk: &[u8]) {
        let room = self.limit.saturating_sub(self.bytes.len());
        if chunk.len() > room {
            self.truncated = true;
        }
        self.bytes
            .extend_from_slice(&chunk[..chunk.len().min(room)]);
    }

    /// The bytes as text (invalid UTF-8 replaced), within the limit.
    fn text(&self) -> String {
        let text = String::from_utf8_lossy(&self.bytes);
        cut(&text, self.limit).to_owned()
    }
}

/// Reads `reader` to its end into `capture`, keeping what fits and discarding the rest, so
/// the program never blocks on a full pipe.
async fn pump<R: AsyncRead + Unpin>(reader: Option<R>, capture: &mut Capture) {
    let Some(mut reader) = reader else { return };
    let mut chunk = vec![0u8; 16 * 1024];
    loop {
        let read = poll_fn(|cx| {
            let mut buf = ReadBuf::new(&mut chunk);
            match Pin::new(&mut reader).poll_read(cx, &mut buf) {
                Poll::Ready(Ok(())) => Poll::Ready(Ok(buf.filled().len())),
                Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                Poll::Pending => Poll::Pending,
            }
        })
        .await;
        match read {
            Ok(0) | Err(_) => return,
            Ok(n) => capture.push(&chunk[..n]),
        }
    }
}

// ---- webhook -------------------------------------------------------------------------------

/// POSTs the request as JSON, with the bearer token when there is one.
async fn run_webhook(
    url: &str,
    token: Option<&Secret>,
    timeout: StdDuration,
    request: &RollbackRequest<'_>,
) -> RollbackOutcome {
    let mut outcome = RollbackOutcome::new(Via::Webhook);
    let url = match reqwest::Url::parse(url) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => url,
        _ => {
            outcome.error =
                Some("the webhook's address is not an http:// or https:// address".into());
            return outcome;
        }
    };
    let owner = format!("rollback of component `{}`", request.component);
    let token = match token.map(|s| read_secret(&owner, "token", &in_plan_dir(s, request.plan_dir)))
    {
        None => None,
        Some(Ok(token)) => Some(token),
        Some(Err(e)) => {
            outcome.error = Some(format!("cannot read the webhook's token: {e}"));
            return outcome;
        }
    };
    let http = match crate::http::client(timeout) {
        Ok(http) => http,
        Err(e) => {
            outcome.error = Some(format!("cannot build the HTTP client: {e}"));
            return outcome;
        }
    };
    let requested_at = request
        .requested_at
        .format(&Rfc3339)
        .unwrap_or_else(|_| request.requested_at.to_string());
    let mut post = http.post(url).json(&json!({
        "component": request.component,
        "requested_by": request.requested_by,
        "reason": request.reason,
        "requested_at": requested_at,
    }));
    if let Some(token) = &token {
        post = post.bearer_auth(token.expose());
    }
    match post.send().await {
        Err(e) => {
            outcome.timed_out = e.is_timeout();
            let why = SendError::from_reqwest(e, timeout).message;
            outcome.error = Some(redact(
                &format!("the webhook failed: {why}"),
                token.as_ref(),
            ));
        }
        Ok(mut response) => {
            let status = response.status();
            outcome.status = Some(status.as_u16());
            let mut body = Capture::new(MAX_BODY);
            let mut cut_short = None;
            while !body.truncated {
                match response.chunk().await {
                    Ok(Some(chunk)) => body.push(&chunk),
                    Ok(None) => break,
                    Err(e) => {
                        cut_short = Some(e);
                        break;
                    }
                }
            }
            outcome.body = Some(redact(&body.text(), token.as_ref()));
            outcome.body_truncated = body.truncated;
            outcome.ok = status.is_success();
            if !outcome.ok {
                let mut why = format!("the webhook answered HTTP {status}");
                if status.is_redirection() {
                    why.push_str(" (redirects are not followed: check the address)");
                }
                outcome.error = Some(why);
            } else if let Some(e) = cut_short {
                // The answer was accepted: a broken-off body does not undo the rollback.
                let why = SendError::from_reqwest(e, timeout).message;
                tracing::debug!(
                    component = request.component,
                    "the rollback webhook's answer was cut short: {}",
                    redact(&why, token.as_ref())
                );
            }
        }
    }
    outcome
}

/// A `token_file` read from the plan's folder when relative.
fn in_plan_dir(secret: &Secret, plan_dir: &Path) -> Secret {
    match secret {
        Secret::File(path) => Secret::File(
            crate::collect::resolve(plan_dir, path)
                .display()
                .to_string(),
        ),
        Secret::Env(var) => Secret::Env(var.clone()),
    }
}

/// `text` with the token's value replaced, should a receiver echo it back.
fn redact(text: &str, token: Option<&SecretValue>) -> String {
    match token.map(SecretValue::expose) {
        Some(value) if !value.is_empty() => text.replace(value, "[redacted]"),
        _ => text.to_owned(),
    }
}

// ---- text ----------------------------------------------------------------------------------

/// The longest start of `text` of at most `max` bytes that ends on a character boundary.
fn cut(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// An I/O error's reason without the "(os error N)" suffix.
fn io_reason(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}

/// A duration as people read it: `30 s`, `250 ms`.
fn seconds(d: StdDuration) -> String {
    if d.as_millis().is_multiple_of(1000) {
        format!("{} s", d.as_secs())
    } else {
        format!("{} ms", d.as_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_capture_keeps_the_first_bytes_and_says_when_cut() {
        let mut c = Capture::new(5);
        c.push(b"abc");
        assert!(!c.truncated);
        c.push(b"def");
        assert_eq!(c.text(), "abcde");
        assert!(c.truncated);
    }

    #[test]
    fn a_cut_never_splits_a_character() {
        let mut c = Capture::new(4);
        c.push("aé€".as_bytes());
        // "a" + "é" are 3 bytes; the first byte of "€" does not make a character.
        assert_eq!(c.text(), "aé");
        assert_eq!(cut("été", 2), "é");
    }

    #[test]
    fn an_echoed_token_is_redacted() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("token"), "tok-123\n").expect("write");
        let secret = in_plan_dir(&Secret::File("token".into()), dir.path());
        let token = read_secret("t", "token", &secret).expect("readable");
        assert_eq!(
            redact("Bearer tok-123 seen", Some(&token)),
            "Bearer [redacted] seen"
        );
    }
}
