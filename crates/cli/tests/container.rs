//! The container image (`Dockerfile`): built from the `mhd` binary on a Debian base made
//! locally, run with host networking on a loopback port, and checked as an operator would —
//! `/health`, `/ready`, a write, a page, an unprivileged user, JSON logs on standard error, and
//! a stop by SIGTERM within the grace period.
//!
//! Needs Docker and the base image `mhd-test-base:bookworm` (or `MHD_TEST_BASE_IMAGE`), which
//! `.ci/run` makes with `debootstrap`; with CI set the test fails, saying why, when either is
//! missing, and skips otherwise.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn docker(args: &[&str]) -> Output {
    Command::new("docker")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("docker {args:?}: {e}"))
}

fn ok(out: &Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Whether the test can run; panics with the reason under CI when it cannot.
fn ready_to_run(base: &str) -> bool {
    let why = match Command::new("docker").args(["info"]).output() {
        Err(e) => format!("docker cannot be run: {e}"),
        Ok(o) if !o.status.success() => format!(
            "the Docker daemon does not answer: {}",
            String::from_utf8_lossy(&o.stderr).trim()
        ),
        Ok(_) if !docker(&["image", "inspect", base]).status.success() => {
            format!("there is no base image {base} (.ci/run makes it with debootstrap)")
        }
        Ok(_) => return true,
    };
    assert!(std::env::var_os("CI").is_none(), "{why}");
    eprintln!("{why}: skipped");
    false
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// One HTTP/1.1 exchange on loopback: the status and the body.
fn http(port: u16, method: &str, path: &str, body: &str) -> Option<(u16, String)> {
    use std::io::{Read as _, Write as _};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-ndjson\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut answer = String::new();
    s.read_to_string(&mut answer).ok()?;
    let status = answer.get(9..12)?.parse().ok()?;
    let body = answer.split_once("\r\n\r\n").map(|(_, b)| b.to_owned())?;
    Some((status, body))
}

/// The image and container of this test, removed however it ends.
struct Cleanup {
    image: String,
    container: String,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = docker(&["rm", "-f", &self.container]);
        let _ = docker(&["rmi", "-f", &self.image]);
    }
}

#[test]
fn the_image_serves_writes_and_pages_as_an_unprivileged_user_and_stops_on_sigterm() {
    let base =
        std::env::var("MHD_TEST_BASE_IMAGE").unwrap_or_else(|_| "mhd-test-base:bookworm".into());
    if !ready_to_run(&base) {
        return;
    }
    let tag = format!("mhd-test-{}", std::process::id());
    let cleanup = Cleanup {
        image: format!("{tag}:latest"),
        container: tag.clone(),
    };
    // The build context: the Dockerfile and the binary under test, without its debug info.
    let context = tempfile::tempdir().unwrap();
    std::fs::copy(
        repo_root().join("Dockerfile"),
        context.path().join("Dockerfile"),
    )
    .unwrap();
    let stripped = Command::new("strip")
        .arg("--strip-debug")
        .arg("-o")
        .arg(context.path().join("mhd"))
        .arg(env!("CARGO_BIN_EXE_mhd"))
        .status()
        .unwrap();
    assert!(stripped.success());
    let built = Command::new("docker")
        .args(["build", "--network", "host", "-q", "-t", &cleanup.image])
        .args(["--build-arg", &format!("BASE={base}")])
        .args(["--build-arg", &format!("BUILDER={base}")])
        .args(["--build-arg", "PREBUILT=mhd"])
        .arg(context.path())
        .output()
        .unwrap();
    ok(&built, "docker build");

    let inspect = ok(
        &docker(&[
            "image",
            "inspect",
            "--format",
            "{{.Config.User}}\t{{json .Config.ExposedPorts}}\t{{json .Config.Healthcheck.Test}}\t{{json .Config.Volumes}}\t{{.Config.StopSignal}}",
            &cleanup.image,
        ]),
        "docker image inspect",
    );
    let fields: Vec<&str> = inspect.trim().split('\t').collect();
    assert_eq!(fields[0], "10001:10001", "{inspect}");
    assert!(fields[1].contains("8000/tcp"), "{inspect}");
    assert!(fields[2].contains("/health"), "{inspect}");
    assert!(fields[3].contains("/data"), "{inspect}");
    assert_eq!(fields[4], "SIGTERM", "{inspect}");

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let started = Instant::now();
    ok(
        &docker(&[
            "run",
            "-d",
            "--network",
            "host",
            "--name",
            &cleanup.container,
            "-e",
            &format!("MHD_BIND=127.0.0.1:{port}"),
            &cleanup.image,
        ]),
        "docker run",
    );
    let ready = loop {
        if let Some((200, _)) = http(port, "GET", "/ready", "") {
            break started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "not ready within 20 s: {}",
            String::from_utf8_lossy(&docker(&["logs", &cleanup.container]).stderr)
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    eprintln!("docker run → /ready: {ready:?}");
    assert_eq!(http(port, "GET", "/health", "").unwrap().0, 200);
    let write = r#"{"metric_type":"migration","operation":"migrate","dataset_name":"sales"}"#;
    let (status, body) = http(port, "POST", "/api/v1/operations", write).unwrap();
    assert_eq!(status, 201, "{body}");
    let (status, page) = http(port, "GET", "/", "").unwrap();
    assert_eq!(status, 200);
    assert!(page.contains("<html"), "{page}");
    let uid = ok(
        &docker(&["exec", &cleanup.container, "id", "-u"]),
        "docker exec id",
    );
    assert_eq!(uid.trim(), "10001", "runs as non-root");
    let store = ok(
        &docker(&["exec", &cleanup.container, "ls", "/data"]),
        "docker exec ls",
    );
    assert!(
        store.contains("mhd.db"),
        "the store is in the volume: {store}"
    );

    // Stopped as an orchestrator stops it: SIGTERM, then the grace period.
    let stopping = Instant::now();
    ok(
        &docker(&["stop", "--time", "10", &cleanup.container]),
        "docker stop",
    );
    assert!(
        stopping.elapsed() < Duration::from_secs(8),
        "stopped by SIGTERM, not killed at the end of the grace: {:?}",
        stopping.elapsed()
    );
    let exit = ok(
        &docker(&[
            "inspect",
            "--format",
            "{{.State.ExitCode}}",
            &cleanup.container,
        ]),
        "docker inspect",
    );
    assert_eq!(exit.trim(), "0");
    // Its log is JSON on standard error, one object per line, with the requests in it.
    let logs = docker(&["logs", &cleanup.container]);
    let text = String::from_utf8_lossy(&logs.stderr);
    let lines: Vec<serde_json::Value> = text
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(
        lines
            .iter()
            .any(|v| v["target"] == "mhd::request" && v["fields"]["route"] == "/api/v1/operations"),
        "{text}"
    );
    drop(cleanup);
}
