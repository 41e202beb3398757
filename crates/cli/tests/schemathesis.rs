//! The API against its own OpenAPI document: schemathesis generates requests from
//! `/api/v1/openapi.json` of a real `mhd serve` (signed in with an admin token) and checks that
//! no answer is a server error and that every answer — status, content type, headers, body —
//! is one the document describes.
//!
//! Needs schemathesis's `st`: from `MHD_SCHEMATHESIS`, else `~/.cache/mhd-schemathesis/bin/st`,
//! the virtual environment `.ci/run` installs. Without it the test fails (it never skips).
//!
//! The run is bounded ([`MAX_EXAMPLES`] cases per operation, a fixed [`SEED`] so a failure
//! reproduces, at most [`RUN_LIMIT`]). One check is left out: `positive_data_acceptance`, since
//! much of what the API refuses depends on the plan (component, phase and rule names) or ties
//! two fields together (a report's start before its end), which the document cannot state.

use std::io::{BufRead as _, BufReader, Write as _};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The schemathesis release `.ci/run` installs.
const VERSION: &str = "4.32.5";
/// Test cases per API operation and phase.
const MAX_EXAMPLES: u32 = 300;
/// The generator's seed: the same run every time, so a failure in CI reproduces locally.
const SEED: &str = "20261127";
/// The longest the schemathesis run may take before the test fails.
const RUN_LIMIT: Duration = Duration::from_secs(170);
/// The environment variable that names the signing secret of the plan's `[chat]`, so the
/// chat command endpoint is on and its signature checks are exercised.
const CHAT_SECRET_ENV: &str = "MHD_TEST_CHAT_SECRET";

#[test]
fn the_api_answers_as_its_openapi_document_says() {
    let st = find_st();
    let work = tempfile::tempdir().expect("a temporary folder");
    let home = work.path().join("home");
    let token = prepare_home(&home);
    let server = Server::start(&home);

    let output = work.path().join("schemathesis.log");
    let log = std::fs::File::create(&output).expect("create the schemathesis log");
    let mut st_run = Command::new(&st);
    st_run
        .arg("run")
        .arg(format!("{}/api/v1/openapi.json", server.base))
        .args(["--header", &format!("Authorization: Bearer {token}")])
        .args(["--checks", "all"])
        .args(["--exclude-checks", "positive_data_acceptance"])
        .args(["--max-examples", &MAX_EXAMPLES.to_string()])
        .args(["--seed", SEED])
        .args(["--workers", "2"])
        .args(["--request-timeout", "30"])
        .args(["--suppress-health-check", "too_slow"])
        .args(["--generation-database", "none"])
        .arg("--no-color")
        // Anything schemathesis writes stays in the temporary folder.
        .current_dir(work.path())
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("share the schemathesis log"))
        .stderr(log);
    let started = Instant::now();
    let mut st_child = Guard::spawn(&mut st_run);
    let status = st_child.wait_until(started + RUN_LIMIT);
    let took = started.elapsed();
    let said = std::fs::read_to_string(&output).unwrap_or_default();
    let Some(status) = status else {
        panic!(
            "schemathesis did not finish within {RUN_LIMIT:?}; it said:\n{said}\n\
             mhd serve said:\n{}",
            server.said()
        );
    };
    assert!(
        status.success(),
        "schemathesis found answers that break the document ({status}, after {took:?}); \
         it said:\n{said}\nmhd serve said:\n{}",
        server.said()
    );
    assert!(
        said.contains("Tested: "),
        "schemathesis exited 0 but tested nothing; it said:\n{said}"
    );
    eprintln!("schemathesis {VERSION}: clean in {took:?}");
}

/// The `st` executable: `MHD_SCHEMATHESIS`, else the virtual environment `.ci/run` makes.
/// Fails the test, saying how to install it, when there is none.
fn find_st() -> PathBuf {
    let install = format!(
        "run .ci/run, or install it by hand: python3 -m venv ~/.cache/mhd-schemathesis && \
         ~/.cache/mhd-schemathesis/bin/pip install 'schemathesis=={VERSION}'"
    );
    if let Some(path) = std::env::var_os("MHD_SCHEMATHESIS") {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "MHD_SCHEMATHESIS is {}, which is not a file: point it at schemathesis's `st`, or {install}",
            path.display()
        );
        return path;
    }
    let default = std::env::var_os("HOME")
        .map(|home| PathBuf::from(home).join(".cache/mhd-schemathesis/bin/st"));
    match default {
        Some(path) if path.is_file() => path,
        _ => panic!(
            "schemathesis is not installed: neither MHD_SCHEMATHESIS nor \
             ~/.cache/mhd-schemathesis/bin/st exists; {install}"
        ),
    }
}

/// Makes a home with the specification's plan (its `storage` component with a harmless
/// rollback, the chat command on), some failing operations so alerts fire from the start, an
/// admin user (so every request must sign in) and an admin token, which it returns.
fn prepare_home(home: &Path) -> String {
    run(mhd(home).arg("init"), None, "mhd init");
    let plan_path = home.join("migration.toml");
    let plan = std::fs::read_to_string(&plan_path)
        .unwrap_or_else(|e| panic!("read {}: {e}", plan_path.display()));
    let component = "[[components]]\nid = \"storage\"\n";
    assert_eq!(
        plan.matches(component).count(),
        1,
        "{} has no single `storage` component to give a rollback to",
        plan_path.display()
    );
    let plan = plan.replace(
        component,
        &format!("{component}rollback = {{ command = [\"true\"], timeout = \"10s\" }}\n"),
    );
    let plan = format!("{plan}\n[chat]\nsigning_secret_env = \"{CHAT_SECRET_ENV}\"\n");
    std::fs::write(&plan_path, plan)
        .unwrap_or_else(|e| panic!("write {}: {e}", plan_path.display()));

    let now = time::OffsetDateTime::now_utc();
    let mut operations = String::new();
    for i in 0..20_i64 {
        let at = (now - time::Duration::seconds(10 * i + 5))
            .format(&time::format_description::well_known::Rfc3339)
            .expect("format a time");
        let op = serde_json::json!({
            "timestamp": at,
            "metric_type": "migration",
            "operation": "migrate",
            "dataset_name": format!("ds{i}"),
            "component": "storage",
            "duration_ms": 100 + i,
            "success": i % 2 == 0,
        });
        operations.push_str(&format!("{op}\n"));
    }
    run(
        mhd(home).args(["ingest", "operations", "-"]),
        Some(&operations),
        "mhd ingest operations",
    );
    run(
        mhd(home).args(["user", "add", "admin", "--role", "admin"]),
        Some("schemathesis-admin-password\n"),
        "mhd user add",
    );
    let token = run(
        mhd(home).args([
            "token",
            "create",
            "--name",
            "schemathesis",
            "--role",
            "admin",
        ]),
        None,
        "mhd token create",
    );
    let token = token.trim().to_owned();
    assert!(
        token.starts_with("mhd_"),
        "mhd token create printed no token on standard output"
    );
    token
}

/// Runs `cmd` with `stdin`, fails the test naming `what` unless it succeeds, and returns its
/// standard output.
fn run(cmd: &mut Command, stdin: Option<&str>, what: &str) -> String {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    let mut input = child.stdin.take().expect("a piped stdin");
    if let Some(text) = stdin {
        input
            .write_all(text.as_bytes())
            .unwrap_or_else(|e| panic!("{what}: write its input: {e}"));
    }
    drop(input);
    let out = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `mhd --home HOME`, untouched by the caller's `MHD_*` settings.
fn mhd(home: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mhd"));
    c.arg("--home")
        .arg(home)
        .env_remove("MHD_HOME")
        .env_remove("MHD_PLAN")
        .env_remove("MHD_BIND")
        .env("NO_COLOR", "1");
    c
}

/// A running `mhd serve` on a loopback port of its choosing, stopped when dropped.
struct Server {
    /// `http://127.0.0.1:PORT`.
    base: String,
    /// What it wrote to standard error, read in the background.
    stderr: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    _process: Guard,
}

impl Server {
    /// Starts `mhd serve` on `127.0.0.1:0` and waits until it names its address.
    fn start(home: &Path) -> Server {
        let mut cmd = mhd(home);
        cmd.args(["serve", "--bind", "127.0.0.1:0"])
            .env(CHAT_SECRET_ENV, "schemathesis-chat-signing-secret")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut process = Guard::spawn(&mut cmd);
        let stderr = process.0.stderr.take().expect("a piped stderr");
        let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        let kept = std::sync::Arc::clone(&lines);
        // Drains the pipe for the server's whole life, so it never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(address) = line.strip_prefix("mhd: serving http://") {
                    let _ = tx.send(address.split('/').next().unwrap_or_default().to_owned());
                }
                if let Ok(mut kept) = kept.lock() {
                    kept.push(line);
                }
            }
        });
        let address = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|e| {
                let said = lines.lock().map(|l| l.join("\n")).unwrap_or_default();
                panic!("mhd serve did not print its address ({e}); it said:\n{said}")
            });
        Server {
            base: format!("http://{address}"),
            stderr: lines,
            _process: process,
        }
    }

    /// The server's standard error so far.
    fn said(&self) -> String {
        self.stderr.lock().map(|l| l.join("\n")).unwrap_or_default()
    }
}

/// A child process leading its own process group; dropping it kills the group (the child and
/// anything it started) and reaps the child, also when the test panics.
struct Guard(Child);

impl Guard {
    fn spawn(cmd: &mut Command) -> Guard {
        let child = cmd
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
        Guard(child)
    }

    /// Waits for the child to exit until `deadline`; `None` when it is still running then.
    fn wait_until(&mut self, deadline: Instant) -> Option<std::process::ExitStatus> {
        loop {
            match self.0.try_wait() {
                Ok(Some(status)) => return Some(status),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(200));
                }
                Ok(None) => return None,
                Err(e) => panic!("waiting for {:?}: {e}", self.0.id()),
            }
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        let group = format!("-{}", self.0.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
