//! The `mhd` binary end to end on temporary homes: recording, bulk ingest, the stats commands,
//! and what bad input gets.

use mhd_store::prelude::*;
use std::path::Path;
use std::process::Output;

use assert_cmd::Command;
use serde_json::Value;

fn mhd(home: &Path) -> Command {
    let mut c = Command::cargo_bin("mhd").unwrap();
    c.arg("--home")
        .arg(home)
        .env_remove("MHD_HOME")
        .env_remove("MHD_PLAN")
        .env_remove("MHD_DATABASE_URL")
        .env_remove("MHD_DATABASE_URL_FILE")
        .env_remove("DATABASE_URL")
        .env_remove("RETENTION_DAYS")
        .env_remove("MHD_RETENTION_DAYS")
        .env("NO_COLOR", "1");
    c
}

fn json(out: Output) -> Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_recorded_operation_comes_back_with_every_field() {
    let home = tempfile::tempdir().unwrap();
    mhd(home.path())
        .args([
            "record",
            "--type",
            "migration",
            "--operation",
            "migrate",
            "--dataset",
            "sales",
        ])
        .args([
            "--component",
            "storage",
            "--system",
            "new",
            "--duration-ms",
            "840.5",
            "--rows",
            "1200",
        ])
        .args([
            "--metadata",
            r#"{"batch": 3}"#,
            "--timestamp",
            "2025-01-06T10:00:00+01:00",
        ])
        .assert()
        .success();
    mhd(home.path())
        .args([
            "record",
            "-t",
            "migration",
            "-o",
            "migrate",
            "-d",
            "hr",
            "--error",
            "disk full",
        ])
        .assert()
        .success();
    let ops = json(
        mhd(home.path())
            .args(["stats", "show", "--json"])
            .output()
            .unwrap(),
    );
    let ops = ops.as_array().unwrap();
    assert_eq!(ops.len(), 2);
    let sales = ops.iter().find(|o| o["dataset_name"] == "sales").unwrap();
    assert_eq!(sales["timestamp"], "2025-01-06T09:00:00Z");
    assert_eq!(sales["component"], "storage");
    assert_eq!(sales["system"], "new");
    assert_eq!(sales["duration_ms"], 840.5);
    assert_eq!(sales["row_count"], 1200);
    assert_eq!(sales["success"], true);
    assert_eq!(sales["metadata"]["batch"], 3);
    let hr = ops.iter().find(|o| o["dataset_name"] == "hr").unwrap();
    assert_eq!(hr["success"], false, "--error implies a failure");
    assert_eq!(hr["error_message"], "disk full");
}

#[test]
fn bad_flags_are_refused_with_status_2_and_store_nothing() {
    let home = tempfile::tempdir().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["--metadata", "[1,2]"], "--metadata"),
        (&["--metadata", "{nope"], "--metadata"),
        (&["--timestamp", "tomorrow"], "--timestamp"),
        (&["--duration-ms", "-4"], "--duration-ms"),
        (&["--rows", "-1"], "--rows"),
        (&["--system", "sideways"], "--system"),
        (&["--dataset", ""], "--dataset"),
    ];
    for (extra, flag) in cases {
        let out = mhd(home.path())
            .args(["record", "-t", "migration", "-o", "migrate"])
            .args(*extra)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{extra:?}");
        assert!(stderr(&out).contains(flag), "{extra:?}: {}", stderr(&out));
    }
    let ops = json(
        mhd(home.path())
            .args(["stats", "show", "--json"])
            .output()
            .unwrap(),
    );
    assert_eq!(ops, serde_json::json!([]));
}

#[test]
fn two_dozen_concurrent_record_processes_all_succeed() {
    let home = tempfile::tempdir().unwrap();
    let bin = assert_cmd::cargo::cargo_bin("mhd");
    let children: Vec<_> = (0..24)
        .map(|i| {
            std::process::Command::new(&bin)
                .arg("--home")
                .arg(home.path())
                .args([
                    "record",
                    "-t",
                    "migration",
                    "-o",
                    "migrate",
                    "-d",
                    &format!("ds{i}"),
                ])
                .spawn()
                .unwrap()
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    let s = json(
        mhd(home.path())
            .args(["stats", "summary", "--json"])
            .output()
            .unwrap(),
    );
    assert_eq!(s["overall"]["total_operations"], 24);
    assert_eq!(s["dataset_stats"]["total_datasets"], 24);
}

const NDJSON: &str = r#"{"timestamp":"2025-01-06T10:00:00Z","metric_type":"migration","operation":"migrate","dataset_name":"a","duration_ms":10}
{"timestamp":"2025-01-06T10:01:00Z","metric_type":"migration","operation":"migrate","dataset_name":"b","colour":"red"}

{"timestamp":"2025-01-06T10:02:00Z","metric_type":"rollback","operation":"undo","dataset_name":"a"}
not json at all
{"timestamp":"2025-01-06T10:03:00Z","metric_type":"dataset_register","operation":"register","dataset_name":"c","success":false,"error_message":"exists"}
"#;

#[test]
fn ingest_stores_valid_lines_and_reports_each_bad_one_by_line() {
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join("ops.ndjson");
    std::fs::write(&file, NDJSON).unwrap();
    let out = mhd(home.path())
        .args(["ingest", "operations"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "partly stored");
    let err = stderr(&out);
    assert!(err.contains("partly stored (exit status 3)"), "{err}");
    assert!(
        err.contains("ops.ndjson:2: unknown field `colour`"),
        "{err}"
    );
    assert!(err.contains("ops.ndjson:5: "), "{err}");
    assert!(err.contains("Stored 3 operations"), "{err}");
    let s = json(
        mhd(home.path())
            .args(["stats", "summary", "--json"])
            .output()
            .unwrap(),
    );
    assert_eq!(s["overall"]["total_operations"], 3);
}

#[test]
fn strict_ingest_stores_nothing_when_a_line_is_bad() {
    let home = tempfile::tempdir().unwrap();
    let out = mhd(home.path())
        .args(["ingest", "operations", "-", "--strict", "--json"])
        .write_stdin(NDJSON)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["stored"], 0);
    assert_eq!(v["rejected"].as_array().unwrap().len(), 2);
    assert_eq!(v["rejected"][0]["line"], 2);
    let s = json(
        mhd(home.path())
            .args(["stats", "summary", "--json"])
            .output()
            .unwrap(),
    );
    assert_eq!(s["overall"]["total_operations"], 0);
    // The same input without the bad lines goes in whole.
    let good: String = NDJSON
        .lines()
        .filter(|l| !l.contains("colour") && !l.starts_with("not"))
        .collect::<Vec<_>>()
        .join("\n");
    mhd(home.path())
        .args(["ingest", "operations", "-", "--strict"])
        .write_stdin(good)
        .assert()
        .success();
    let s = json(
        mhd(home.path())
            .args(["stats", "summary", "--json"])
            .output()
            .unwrap(),
    );
    assert_eq!(s["overall"]["total_operations"], 3);
}

#[test]
fn a_json_array_is_read_element_by_element_and_a_broken_one_is_refused_whole() {
    let home = tempfile::tempdir().unwrap();
    let array = r#"[
  {"metric_type": "migration", "operation": "migrate", "dataset_name": "x"},
  {"metric_type": "migration"}
]"#;
    let out = mhd(home.path())
        .args(["ingest", "operations", "-"])
        .write_stdin(array)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "partly stored");
    assert!(
        stderr(&out).contains("<stdin>:3: element 1: missing field `operation`"),
        "{}",
        stderr(&out)
    );
    let broken = "[\n{\"metric_type\": \"a\", \"operation\": \"b\"},\n";
    let out = mhd(home.path())
        .args(["ingest", "operations", "-"])
        .write_stdin(broken)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("<stdin>:3: not a JSON array"),
        "{}",
        stderr(&out)
    );
    let s = json(
        mhd(home.path())
            .args(["stats", "summary", "--json"])
            .output()
            .unwrap(),
    );
    assert_eq!(
        s["overall"]["total_operations"], 1,
        "only the valid element of the first input"
    );
}

#[test]
fn a_missing_input_file_is_a_usage_error() {
    let home = tempfile::tempdir().unwrap();
    let out = mhd(home.path())
        .args(["ingest", "operations", "/no/such/file.ndjson"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("/no/such/file.ndjson"));
}

fn seeded_home() -> tempfile::TempDir {
    let home = tempfile::tempdir().unwrap();
    let lines = [
        r#"{"timestamp":"2025-01-06T10:00:00Z","metric_type":"dataset_register","operation":"register","dataset_name":"sales","duration_ms":100,"row_count":10}"#,
        r#"{"timestamp":"2025-01-06T10:05:00Z","metric_type":"dataset_read","operation":"read","dataset_name":"sales","duration_ms":300,"row_count":20}"#,
        r#"{"timestamp":"2025-01-06T10:10:00Z","metric_type":"dataset_read","operation":"read","dataset_name":"hr","success":false,"error_message":"permission denied\u001b[2Jevil","duration_ms":5}"#,
        r#"{"timestamp":"2025-01-06T10:15:00Z","metric_type":"migration","operation":"migrate","dataset_name":"evil","duration_ms":50}"#,
    ];
    mhd(home.path())
        .args(["ingest", "operations", "-"])
        .write_stdin(lines.join("\n"))
        .assert()
        .success();
    home
}

#[test]
fn summary_json_keeps_mdm_field_names_and_figures() {
    let home = seeded_home();
    let s = json(
        mhd(home.path())
            .args(["stats", "summary", "--json"])
            .output()
            .unwrap(),
    );
    assert_eq!(s["overall"]["total_operations"], 4);
    assert_eq!(s["overall"]["successful_operations"], 3);
    assert_eq!(
        s["overall"]["avg_duration_ms"], 150.0,
        "mean of successful durations"
    );
    assert_eq!(s["overall"]["last_operation"], "2025-01-06T10:15:00Z");
    let read = s["by_type"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["metric_type"] == "dataset_read")
        .unwrap();
    assert_eq!(
        (read["count"].as_u64(), read["error_count"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(s["dataset_stats"]["total_datasets"], 3);
    assert_eq!(s["dataset_stats"]["datasets_registered"], 1);
    assert_eq!(s["recent_errors"][0]["operation"], "read");
    assert_eq!(
        s["recent_errors"][0]["error_message"],
        "permission denied\u{1b}[2Jevil"
    );
}

#[test]
fn show_filters_and_prints_errors_under_failed_rows() {
    let home = seeded_home();
    let n = |args: &[&str]| -> usize {
        json(
            mhd(home.path())
                .args(["stats", "show", "--json"])
                .args(args)
                .output()
                .unwrap(),
        )
        .as_array()
        .unwrap()
        .len()
    };
    assert_eq!(n(&[]), 4);
    assert_eq!(n(&["-n", "2"]), 2);
    assert_eq!(n(&["-d", "sales"]), 2);
    assert_eq!(n(&["-t", "dataset_read"]), 2);
    assert_eq!(n(&["--since", "2025-01-06T10:06:00Z"]), 2);
    assert_eq!(n(&["--failed"]), 1);
    assert_eq!(n(&["-d", "sales' OR 1=1 --"]), 0);
    let out = mhd(home.path()).args(["stats", "show"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("Recent Operations"));
    assert!(
        text.contains("✗ failed") && text.contains("→ permission denied"),
        "{text}"
    );
    assert!(
        !text.contains('\u{1b}'),
        "an escape sequence in an error message must not reach the terminal"
    );
    assert!(text.contains("\\u{1b}[2Jevil"));
    let out = mhd(home.path())
        .args(["stats", "show", "--since", "whenever"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--since"));
}

#[test]
fn dataset_lists_its_operations_by_type() {
    let home = seeded_home();
    let v = json(
        mhd(home.path())
            .args(["stats", "dataset", "sales", "--json"])
            .output()
            .unwrap(),
    );
    let rows = v["by_type"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1]["metric_type"], "dataset_register");
    assert_eq!(rows[1]["total_rows_processed"], 10);
    let out = mhd(home.path())
        .args(["stats", "dataset", "nothing-here"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("No operations found for dataset 'nothing-here'")
    );
}

#[test]
fn cleanup_deletes_only_with_consent() {
    let home = seeded_home();
    // Not on a terminal and no --yes: nothing is deleted.
    let out = mhd(home.path())
        .args(["stats", "cleanup", "--days", "30"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--yes"));
    let s = json(
        mhd(home.path())
            .args(["stats", "summary", "--json"])
            .output()
            .unwrap(),
    );
    assert_eq!(s["overall"]["total_operations"], 4);
    let v = json(
        mhd(home.path())
            .args(["stats", "cleanup", "--days", "30", "--yes", "--json"])
            .output()
            .unwrap(),
    );
    assert_eq!(v["deleted"], 4);
    let s = json(
        mhd(home.path())
            .args(["stats", "summary", "--json"])
            .output()
            .unwrap(),
    );
    assert_eq!(s["overall"]["total_operations"], 0);
    // The datasets and their states stay: a cleanup never changes how far the migration is.
    assert!(
        s["dataset_stats"]["total_datasets"]
            .as_u64()
            .is_some_and(|n| n > 0),
        "{s}"
    );
}

#[test]
fn a_store_from_a_newer_version_is_refused_with_status_2() {
    let home = seeded_home();
    let db = home.path().join("mhd.db");
    let status = std::process::Command::new("sqlite3")
        .arg(&db)
        .arg("PRAGMA user_version = 42")
        .status();
    if !status.is_ok_and(|s| s.success()) {
        eprintln!("sqlite3 not found: skipping");
        return;
    }
    let out = mhd(home.path())
        .args(["stats", "summary"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("schema version 42"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn the_dashboard_file_is_self_contained_and_shows_hostile_names_as_text() {
    let home = tempfile::tempdir().unwrap();
    let line = r#"{"timestamp":"2025-01-06T10:00:00Z","metric_type":"migration","operation":"migrate","dataset_name":"<script>alert(1)</script>","success":false,"error_message":"<img src=x onerror=alert(1)>"}"#;
    mhd(home.path())
        .args(["ingest", "operations", "-"])
        .write_stdin(line)
        .assert()
        .success();
    mhd(home.path())
        .args(["init", "--start", "2025-01-06"])
        .assert()
        .success();
    let out_file = home.path().join("out.html");
    mhd(home.path())
        .args(["stats", "dashboard", "--no-open", "-o"])
        .arg(&out_file)
        .assert()
        .success();
    let html = std::fs::read_to_string(&out_file).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"), "{}", &html[..60]);
    assert!(
        !html.contains("<script>alert") && html.matches("<script").count() == 1,
        "no script but the charts' read-out, and the hostile name is escaped"
    );
    assert!(!html.contains("<img src=x"));
    assert!(
        html.contains("alert(1)"),
        "the hostile strings are shown, as text"
    );
    assert!(
        html.contains("MDM refactoring"),
        "the plan's migration progress is shown"
    );
    assert!(
        html.contains(r#"data-live="datasets_migrated">0</span>"#)
            && html.contains(r#"data-live="datasets_total">412</span>"#),
        "migrated / total"
    );
    // The charts name the SVG namespace, which loads nothing.
    let html = html.replace("http://www.w3.org/2000/svg", "");
    for needle in ["http://", "https://", "src=\"//", "href=\"//"] {
        assert!(
            !html.contains(needle),
            "the page loads nothing from elsewhere: found {needle}"
        );
    }
    // Without a plan the page still renders, without the progress section.
    let bare = tempfile::tempdir().unwrap();
    mhd(bare.path())
        .args(["stats", "dashboard", "--no-open"])
        .assert()
        .success();
    let html = std::fs::read_to_string(bare.path().join("dashboard.html")).unwrap();
    assert!(
        html.contains("mhd record"),
        "the empty page says how to start"
    );
    assert!(!html.contains("MDM refactoring"));
}

#[test]
fn an_invalid_plan_stops_commands_that_use_it_with_every_mistake() {
    let home = tempfile::tempdir().unwrap();
    std::fs::write(
        home.path().join("migration.toml"),
        "[migration]\nname = \"x\"\nstart = \"2025-01-06\"\nweeks = 0\ncolour = 1\n[datasets]\ntotal = 3\n",
    )
    .unwrap();
    let out = mhd(home.path())
        .args(["stats", "dashboard", "--no-open"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("migration.toml:4:"), "{err}");
    assert!(err.contains("migration.toml:5:"), "{err}");
}

#[test]
fn serve_and_demo_refuse_a_reachable_address_without_sign_in_unless_told() {
    let home = tempfile::tempdir().unwrap();
    for command in ["serve", "demo"] {
        let out = mhd(home.path())
            .args([command, "--bind", "0.0.0.0:0"])
            .env_remove("MHD_BIND")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{command}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains("--bind: 0.0.0.0:0 can be reached from other machines")
                && err.contains("--insecure-no-auth"),
            "{command}: {err}"
        );
    }
    assert!(
        !home.path().join("mhd.db").exists(),
        "nothing is created when the address is refused"
    );
}

#[test]
fn serve_listens_beyond_loopback_once_users_sign_in_and_checks_its_tls_files() {
    let home = tempfile::tempdir().unwrap();
    mhd(home.path())
        .args(["user", "add", "alice", "--role", "admin"])
        .write_stdin("a long enough password\n")
        .assert()
        .success();
    // Bad TLS files: exit 2 naming the file, before anything listens.
    let out = mhd(home.path())
        .args(["serve", "--bind", "127.0.0.1:0", "--tls-cert"])
        .arg(home.path().join("missing-cert.pem"))
        .arg("--tls-key")
        .arg(home.path().join("missing-key.pem"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("missing-cert.pem"),
        "{}",
        stderr(&out)
    );
    let out = mhd(home.path())
        .args(["serve", "--tls-cert", "c.pem"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "--tls-cert needs --tls-key");
    // With a user, a reachable address is served (with a warning about plain HTTP).
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_mhd"))
        .arg("--home")
        .arg(home.path())
        .args(["serve", "--bind", "0.0.0.0:0"])
        .env_remove("MHD_BIND")
        .env_remove("MHD_HOME")
        .env_remove("MHD_PLAN")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    while !seen.contains("serving") {
        let mut line = String::new();
        if std::io::BufRead::read_line(&mut err, &mut line).unwrap() == 0 {
            break;
        }
        seen.push_str(&line);
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(seen.contains("cross the network unencrypted"), "{seen}");
    assert!(seen.contains("sign-in required"), "{seen}");
}

/// A running `mhd serve` on a free port of 127.0.0.1, stopped when dropped.
struct Served {
    child: std::process::Child,
    addr: std::net::SocketAddr,
}

impl Served {
    fn start(home: &Path, extra: &[&str]) -> Served {
        Served::start_with(home, extra, None, &[])
    }

    /// With at most `files` open files (`ulimit -n`) when given.
    fn start_with_files(home: &Path, extra: &[&str], files: Option<u32>) -> Served {
        Served::start_with(home, extra, files, &[])
    }

    /// With at most `files` open files (`ulimit -n`) when given, and the variables `env`.
    fn start_with(home: &Path, extra: &[&str], files: Option<u32>, env: &[(&str, &str)]) -> Served {
        let mut command = match files {
            Some(n) => {
                let mut c = std::process::Command::new("sh");
                c.args(["-c", &format!("ulimit -n {n} && exec \"$0\" \"$@\"")])
                    .arg(env!("CARGO_BIN_EXE_mhd"));
                c
            }
            None => std::process::Command::new(env!("CARGO_BIN_EXE_mhd")),
        };
        let mut child = command
            .arg("--home")
            .arg(home)
            .args(["serve", "--bind", "127.0.0.1:0"])
            .args(extra)
            .env_remove("MHD_BIND")
            .env_remove("MHD_HOME")
            .env_remove("MHD_PLAN")
            .env_remove("MALLOC_ARENA_MAX")
            // Logs in the home's file whether or not this machine is a container, where
            // `serve` would write them to standard error, which is read here for its address.
            .env("MHD_LOG_TO", "file")
            .envs(env.iter().copied())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut err = std::io::BufReader::new(child.stderr.take().unwrap());
        let mut seen = String::new();
        let addr = loop {
            let mut line = String::new();
            if std::io::BufRead::read_line(&mut err, &mut line).unwrap() == 0 {
                let _ = child.kill();
                panic!("mhd serve ended: {seen}");
            }
            seen.push_str(&line);
            if let Some(rest) = line.split("://").nth(1) {
                break rest.split('/').next().unwrap().parse().unwrap();
            }
        };
        // Keep reading its standard error so that it never blocks on a full pipe.
        std::thread::spawn(move || std::io::copy(&mut err, &mut std::io::sink()));
        Served { child, addr }
    }

    /// Its resident memory in KiB, from /proc.
    fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends one raw HTTP/1.1 request from `from` to `to`; the status and the response's head.
async fn raw_request(
    from: std::net::IpAddr,
    to: std::net::SocketAddr,
    request: &str,
) -> (u16, String) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(std::net::SocketAddr::new(from, 0)).unwrap();
    let mut stream = socket.connect(to).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let head = text.split("\r\n\r\n").next().unwrap_or("").to_owned();
    (status, head)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_sign_ins_keeps_the_servers_memory_bounded() {
    let home = tempfile::tempdir().unwrap();
    mhd(home.path())
        .args(["user", "add", "alice", "--role", "admin"])
        .write_stdin("a long enough password\n")
        .assert()
        .success();
    let served = Served::start(home.path(), &[]);
    let addr = served.addr;
    let sign_in = |from: std::net::IpAddr, name: String| async move {
        let body = format!("name={name}&password=not+the+password");
        let request = format!(
            "POST /signin HTTP/1.1\r\nHost: {addr}\r\nContent-Type: \
             application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        raw_request(from, addr, &request).await
    };
    // One sign-in first, so that what is measured is the burst.
    let (status, _) = sign_in([127, 0, 0, 1].into(), "warm".into()).await;
    assert_eq!(status, 401);
    let before = served.rss_kib();
    // 150 at once with names nobody has, each from its own address (so that no address
    // reaches its own limit): a few are checked at once, a few wait, the rest are turned away.
    let peak = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(before));
    let watching = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let watcher = {
        let (peak, watching) = (peak.clone(), watching.clone());
        let path = format!("/proc/{}/status", served.child.id());
        tokio::spawn(async move {
            while watching.load(std::sync::atomic::Ordering::Relaxed) {
                if let Some(kib) = std::fs::read_to_string(&path).ok().and_then(|s| {
                    s.lines()
                        .find_map(|l| l.strip_prefix("VmRSS:"))
                        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
                }) {
                    peak.fetch_max(kib, std::sync::atomic::Ordering::Relaxed);
                }
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
        })
    };
    let tasks: Vec<_> = (0..150u32)
        .map(|i| {
            let from = std::net::IpAddr::from([127, 0, 2 + (i / 200) as u8, 1 + (i % 200) as u8]);
            tokio::spawn(sign_in(from, format!("nobody{i}")))
        })
        .collect();
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    watching.store(false, std::sync::atomic::Ordering::Relaxed);
    watcher.await.unwrap();
    let checked = answers.iter().filter(|(s, _)| *s == 401).count();
    let busy: Vec<_> = answers.iter().filter(|(s, _)| *s == 503).collect();
    assert_eq!(checked + busy.len(), 150, "{answers:?}");
    assert!(
        !busy.is_empty(),
        "beyond the queue, sign-ins are turned away"
    );
    assert!(
        busy.iter()
            .all(|(_, head)| head.to_ascii_lowercase().contains("retry-after:")),
        "{busy:?}"
    );
    let peak = peak.load(std::sync::atomic::Ordering::Relaxed);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let after = served.rss_kib();
    eprintln!(
        "RSS before {before} KiB, peak {peak} KiB, after {after} KiB; {checked} checked, {} busy",
        busy.len()
    );
    // Each check works in ~19 MiB; 150 at once took 2.8 GB, kept, before the checks were
    // bounded, and bounded checks still left ~6 MiB each in the allocator's heap. Two at once,
    // and the memory is given back.
    assert!(
        peak < before + 100 * 1024,
        "peak {peak} KiB, before {before} KiB"
    );
    assert!(
        after < before + 32 * 1024,
        "after {after} KiB, before {before} KiB"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_sockets_past_the_open_file_limit_leave_health_answerable() {
    let home = tempfile::tempdir().unwrap();
    // 400 files: the server keeps its connections to 144, the rest for itself.
    let served = Served::start_with_files(home.path(), &[], Some(400));
    let addr = served.addr;
    let mut idle = Vec::new();
    for _ in 0..600 {
        // (A server that stopped accepting leaves connections waiting in its backlog, then
        // unanswered: give up on them early.)
        let connect = tokio::net::TcpStream::connect(addr);
        match tokio::time::timeout(std::time::Duration::from_secs(2), connect).await {
            Ok(socket) => idle.push(socket.unwrap()),
            Err(_) => break,
        }
    }
    let health = format!("GET /health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    let answer = tokio::time::timeout(
        std::time::Duration::from_secs(3),
        raw_request([127, 0, 0, 1].into(), addr, &health),
    )
    .await
    .expect("/health answers with 600 idle sockets open");
    assert_eq!(answer.0, 200, "{answer:?}");
    drop(idle);
}

/// An audit entry recorded `days` ago.
fn audit_entry(days: i64) -> mhd_store::audit::NewEntry {
    mhd_store::audit::NewEntry {
        at: time::OffsetDateTime::now_utc() - time::Duration::days(days),
        actor: "someone".into(),
        action: "signin".into(),
        resource: format!("{days} days ago"),
        details: serde_json::json!({}),
        client: Some("192.0.2.1:1234".into()),
        outcome: mhd_store::audit::Outcome::Refused,
    }
}

/// The resources of the audit entries, newest first.
async fn audit_resources(home: &Path) -> Vec<String> {
    let store = mhd_store::Database::open_file(&home.join("mhd.db"), 1)
        .await
        .unwrap();
    let entries = store
        .audit_entries(&mhd_store::audit::AuditFilter::default())
        .await
        .unwrap();
    store.close().await;
    entries.into_iter().map(|e| e.resource).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_log_is_pruned_past_its_retention_by_hand_and_by_the_server() {
    let home = tempfile::tempdir().unwrap();
    let store = mhd_store::Database::open_file(&home.path().join("mhd.db"), 1)
        .await
        .unwrap();
    for days in [800, 120, 31, 1] {
        store.record_audit(&audit_entry(days)).await.unwrap();
    }
    store.close().await;
    // Bad retentions: exit 2, naming the flag, nothing deleted.
    for (args, flag) in [
        (vec!["audit", "prune", "--older-than", "7d"], "--older-than"),
        (
            vec!["audit", "prune", "--older-than", "soon"],
            "--older-than",
        ),
        (
            vec!["serve", "--bind", "127.0.0.1:0", "--audit-retention", "1d"],
            "--audit-retention",
        ),
    ] {
        let out = mhd(home.path()).args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(flag), "{}", stderr(&out));
    }
    assert_eq!(audit_resources(home.path()).await.len(), 4);
    // By hand: past 400 days by default, then past 100 days.
    let out = mhd(home.path()).args(["audit", "prune"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("Deleted 1 audit entry older than 400 days"),
        "{said}"
    );
    let out = mhd(home.path())
        .args(["audit", "prune", "--older-than", "100d"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Deleted 1 audit entry older than 100 days")
    );
    let left = audit_resources(home.path()).await;
    assert!(left.iter().any(|r| r == "31 days ago") && left.iter().any(|r| r == "1 days ago"));
    assert!(
        !left
            .iter()
            .any(|r| r == "800 days ago" || r == "120 days ago"),
        "{left:?}"
    );
    // The prunes themselves are in the log.
    assert_eq!(left.iter().filter(|r| *r == "audit").count(), 2, "{left:?}");
    // The server prunes when it starts.
    let served = Served::start(home.path(), &["--audit-retention", "30d"]);
    let mut left = Vec::new();
    for _ in 0..50 {
        left = audit_resources(home.path()).await;
        if !left.iter().any(|r| r == "31 days ago") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    drop(served);
    assert!(!left.iter().any(|r| r == "31 days ago"), "{left:?}");
    assert!(left.iter().any(|r| r == "1 days ago"), "{left:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_answers_only_the_hosts_it_is_given() {
    let home = tempfile::tempdir().unwrap();
    for (args, flag) in [
        (vec!["--allowed-host", "not a host"], "--allowed-host"),
        (vec!["--public-url", "dash.example.test"], "--public-url"),
        (vec!["--max-connections", "0"], "--max-connections"),
    ] {
        let out = mhd(home.path())
            .args(["serve", "--bind", "127.0.0.1:0"])
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(flag), "{}", stderr(&out));
    }
    let served = Served::start(
        home.path(),
        &[
            "--allowed-host",
            "dash.example.test",
            "--public-url",
            "https://other.example.test/",
        ],
    );
    let addr = served.addr;
    let port = addr.port();
    for (host, status) in [
        (format!("dash.example.test:{port}"), 200),
        (format!("other.example.test:{port}"), 200),
        (format!("localhost:{port}"), 200),
        (addr.to_string(), 200),
        (format!("attacker.example:{port}"), 421),
    ] {
        let request = format!(
            "GET /api/v1/auth/whoami HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
        );
        let (got, head) = raw_request([127, 0, 0, 1].into(), addr, &request).await;
        assert_eq!(got, status, "{host}: {head}");
    }
}

/// `n` operations as NDJSON lines, from `from` on, an hour apart from 2025-01-06.
fn operation_lines(n: usize, from: usize) -> String {
    let start = 1_736_121_600; // 2025-01-06T00:00:00Z
    (from..from + n)
        .map(|i| {
            let t = time::OffsetDateTime::from_unix_timestamp(start + (i as i64 % 2000) * 60)
                .unwrap()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap();
            format!(
                "{{\"timestamp\":\"{t}\",\"metric_type\":\"migration\",\"operation\":\"migrate\",\
                 \"dataset_name\":\"ds{}\",\"duration_ms\":{}}}\n",
                i % 400,
                i % 97
            )
        })
        .collect()
}

fn total_operations(home: &Path) -> u64 {
    json(
        mhd(home)
            .args(["stats", "summary", "--json"])
            .output()
            .unwrap(),
    )["overall"]["total_operations"]
        .as_u64()
        .unwrap()
}

#[test]
fn a_rerun_adds_nothing_a_grown_input_adds_only_its_new_records_and_again_adds_all() {
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join("ops.ndjson");
    std::fs::write(&file, operation_lines(40_000, 0)).unwrap();
    let ingest = |extra: &[&str]| {
        let out = mhd(home.path())
            .args(["ingest", "operations", "--json"])
            .args(extra)
            .arg(&file)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    let first = ingest(&[]);
    assert_eq!(
        (first["stored"].as_u64(), first["skipped"].as_u64()),
        (Some(40_000), Some(0))
    );
    // The same file again: nothing is added.
    let again = ingest(&[]);
    assert_eq!(
        (again["stored"].as_u64(), again["skipped"].as_u64()),
        (Some(0), Some(40_000))
    );
    assert_eq!(total_operations(home.path()), 40_000);
    // The file grows: only the new lines are stored.
    let mut grown = std::fs::read_to_string(&file).unwrap();
    grown.push_str(&operation_lines(25, 40_000));
    std::fs::write(&file, grown).unwrap();
    let more = ingest(&[]);
    assert_eq!(
        (more["stored"].as_u64(), more["skipped"].as_u64()),
        (Some(25), Some(40_000))
    );
    assert_eq!(total_operations(home.path()), 40_025);
    // --again stores it all once more; standard input is recognised the same way.
    let forced = ingest(&["--again"]);
    assert_eq!(forced["stored"], 40_025);
    assert_eq!(total_operations(home.path()), 80_050);
    let out = mhd(home.path())
        .args(["ingest", "operations", "-"])
        .write_stdin(std::fs::read(&file).unwrap())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("Stored 0 operations"),
        "{}",
        stderr(&out)
    );
    assert_eq!(total_operations(home.path()), 80_050);
}

/// Waits until `home`'s store holds at least one operation (or `child` ends), then kills the
/// child with SIGKILL.
fn kill_once_storing(home: &Path, child: &mut std::process::Child, wait_for_rows: bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        assert!(
            std::time::Instant::now() < deadline,
            "the ingest never got going"
        );
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if !wait_for_rows || total_operations(home) > 0 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn a_killed_ingest_resumes_without_duplicates_and_a_killed_strict_one_stores_nothing() {
    let home = tempfile::tempdir().unwrap();
    mhd(home.path())
        .args(["stats", "summary"])
        .assert()
        .success();
    let file = home.path().join("ops.ndjson");
    let n = 120_000;
    std::fs::write(&file, operation_lines(n, 0)).unwrap();
    let spawn = |strict: bool| {
        let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("mhd"));
        c.arg("--home")
            .arg(home.path())
            .args(["ingest", "operations"]);
        if strict {
            c.arg("--strict");
        }
        c.arg(&file)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    // --strict, killed while it reads and stages: nothing is stored.
    let mut strict = spawn(true);
    std::thread::sleep(std::time::Duration::from_millis(700));
    kill_once_storing(home.path(), &mut strict, false);
    assert_eq!(
        total_operations(home.path()),
        0,
        "a killed --strict ingest stores nothing"
    );
    // Without --strict, killed once chunks are being committed: what was committed stays,
    // and the same command again stores exactly the rest.
    let mut plain = spawn(false);
    kill_once_storing(home.path(), &mut plain, true);
    let partial = total_operations(home.path());
    assert!(
        partial > 0 && partial.is_multiple_of(65_536),
        "whole chunks only: {partial}"
    );
    let out = mhd(home.path())
        .args(["ingest", "operations", "--json"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["skipped"], partial);
    assert_eq!(total_operations(home.path()), n as u64);
    // --strict to its end stores all, once.
    let home2 = tempfile::tempdir().unwrap();
    mhd(home2.path())
        .args(["ingest", "operations", "--strict"])
        .arg(&file)
        .assert()
        .success();
    assert_eq!(total_operations(home2.path()), n as u64);
    mhd(home2.path())
        .args(["ingest", "operations", "--strict"])
        .arg(&file)
        .assert()
        .success();
    assert_eq!(total_operations(home2.path()), n as u64);
}

#[test]
fn endless_and_oversized_inputs_are_refused_with_their_place_in_bounded_memory() {
    let home = tempfile::tempdir().unwrap();
    let bin = assert_cmd::cargo::cargo_bin("mhd");
    // One endless line: refused at line 1 once it passes 16 MiB, within 512 MiB of memory
    // (the whole line was read into memory before, until the system killed the process).
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg("ulimit -v 524288 && exec \"$0\" --home \"$1\" ingest operations /dev/zero")
        .arg(&bin)
        .arg(home.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("/dev/zero:1: a line longer than 16 MiB"),
        "{}",
        stderr(&out)
    );
    // A JSON array is read whole: at most 16 MiB of it.
    let big = home.path().join("big.json");
    std::fs::write(&big, format!("[\"{}\"]", "x".repeat(17 << 20))).unwrap();
    let out = mhd(home.path())
        .args(["ingest", "operations"])
        .arg(&big)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("a JSON array larger than 16 MiB"),
        "{}",
        stderr(&out)
    );
    // So is a benchmark file.
    let csv = home.path().join("bench.csv");
    let mut text = String::from("operation,system,value_ms\n");
    while text.len() <= 17 << 20 {
        text.push_str("load,old,12.5\n");
    }
    std::fs::write(&csv, text).unwrap();
    let out = mhd(home.path())
        .args(["ingest", "bench"])
        .arg(&csv)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("larger than 16 MiB"),
        "{}",
        stderr(&out)
    );
    // Bad records are counted, and only the first thousand kept to be listed.
    let out = mhd(home.path())
        .args(["ingest", "operations", "-", "--json"])
        .write_stdin("not json\n".repeat(1500))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["rejected"].as_array().unwrap().len(), 1000);
    assert_eq!(v["rejected_count"], 1500);
    assert!(stderr(&out).contains("… and 1450 more rejected records"));
    // A folder is not a file of operations: bad usage, status 2.
    let out = mhd(home.path())
        .args(["ingest", "operations"])
        .arg(home.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("is a folder"), "{}", stderr(&out));
    assert_eq!(total_operations(home.path()), 0);
}

#[test]
fn names_over_the_limit_or_with_control_characters_are_refused_on_every_path() {
    let home = tempfile::tempdir().unwrap();
    let long = "x".repeat(4097);
    let record = |args: &[&str]| {
        mhd(home.path())
            .args(["record", "-t", "migration"])
            .args(args)
            .output()
            .unwrap()
    };
    let out = record(&["-o", &long]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--operation: is 4097 bytes long; the limit is 4096"));
    let out = record(&["-o", "m", "-d", "a\tb"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--dataset: must not contain control characters"));
    // The same rules in a benchmark file (its operation names), a JUnit report and ingest.
    let csv = home.path().join("bench.csv");
    std::fs::write(&csv, format!("operation,system,value_ms\n{long},old,1\n")).unwrap();
    let out = mhd(home.path())
        .args(["ingest", "bench"])
        .arg(&csv)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("field `operation`: is 4097 bytes long"),
        "{}",
        stderr(&out)
    );
    let xml = home.path().join("report.xml");
    std::fs::write(
        &xml,
        "<testsuite><testcase name=\"a\" time=\"NaN\"/></testsuite>",
    )
    .unwrap();
    let out = mhd(home.path())
        .args(["ingest", "junit", "--suite", "unit"])
        .arg(&xml)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("report.xml:1:12: <testcase> time=\"NaN\": not a number of seconds"),
        "{}",
        stderr(&out)
    );
    let out = mhd(home.path())
        .args(["ingest", "operations", "-"])
        .write_stdin(format!(
            "{{\"metric_type\":\"m\",\"operation\":\"{long}\"}}\n{{\"metric_type\":\"m\",\"operation\":\"a\\u0000b\"}}\n"
        ))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "nothing stored: {}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("<stdin>:1: field `operation`: is 4097 bytes long"));
    assert!(stderr(&out).contains("<stdin>:2: field `operation`: must not contain control"));
    assert_eq!(total_operations(home.path()), 0);
}

#[test]
fn times_past_the_allowed_future_are_refused_naming_the_place_unless_allowed() {
    let home = tempfile::tempdir().unwrap();
    let far = "9999-12-31T23:59:59Z";
    let out = mhd(home.path())
        .args(["record", "-t", "migration", "-o", "m", "--timestamp", far])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("--timestamp: 9999-12-31T23:59:59Z is more than 1d in the future"),
        "{err}"
    );
    let out = mhd(home.path())
        .args([
            "record",
            "-t",
            "migration",
            "-o",
            "m",
            "--timestamp",
            "10000-01-01T00:00:00Z",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("the year must have 4 digits (times from 1970 to 9999"),
        "{}",
        stderr(&out)
    );
    let out = mhd(home.path())
        .args(["ingest", "operations", "-"])
        .write_stdin(format!(
            "{{\"metric_type\":\"m\",\"operation\":\"ok\"}}\n{{\"timestamp\":\"{far}\",\"metric_type\":\"m\",\"operation\":\"late\"}}\n"
        ))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "partly stored");
    assert!(
        stderr(&out).contains("<stdin>:2: field `timestamp`: 9999-12-31T23:59:59Z is more than 1d"),
        "{}",
        stderr(&out)
    );
    // Allowed by the flag, the variable or the plan: stored, and every view renders it.
    mhd(home.path())
        .args([
            "--max-future",
            "3000000d",
            "record",
            "-t",
            "migration",
            "-o",
            "m",
            "--timestamp",
            far,
        ])
        .assert()
        .success();
    mhd(home.path())
        .env("MHD_MAX_FUTURE", "3000000d")
        .args(["record", "-t", "migration", "-o", "m2", "--timestamp", far])
        .assert()
        .success();
    mhd(home.path()).args(["init"]).assert().success();
    let plan = home.path().join("migration.toml");
    let text = std::fs::read_to_string(&plan)
        .unwrap()
        .replace("max_future = \"1d\"", "max_future = \"3000000d\"");
    std::fs::write(&plan, text).unwrap();
    mhd(home.path())
        .args(["record", "-t", "migration", "-o", "m3", "--timestamp", far])
        .assert()
        .success();
    assert_eq!(total_operations(home.path()), 4);
    let file = home.path().join("dashboard.html");
    mhd(home.path())
        .args(["stats", "dashboard", "--no-open", "-o"])
        .arg(&file)
        .assert()
        .success();
    for view in ["summary", "timeline", "components"] {
        mhd(home.path()).arg(view).assert().success();
    }
}

#[test]
fn a_store_error_says_its_cause_once() {
    let home = tempfile::tempdir().unwrap();
    // A folder where the store should be: SQLite cannot open it.
    std::fs::create_dir_all(home.path().join("mhd.db")).unwrap();
    let out = mhd(home.path())
        .args(["record", "-t", "migration", "-o", "m"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert_eq!(
        err.matches("unable to open database file").count(),
        1,
        "{err}"
    );
}

/// A child process killed when dropped, so that a failing test leaves none behind.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One `POST /api/v1/operations` of `body` (NDJSON) over a new connection: the status, whether
/// `Retry-After` came with it, and the body.
fn post_operations(addr: &str, body: &str) -> (u16, bool, String) {
    use std::io::{Read as _, Write as _};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(60)))
        .unwrap();
    write!(
        s,
        "POST /api/v1/operations HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-ndjson\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let retry_after = answer.to_ascii_lowercase().contains("\r\nretry-after: ");
    let body = answer
        .split_once("\r\n\r\n")
        .map_or(String::new(), |(_, b)| b.to_owned());
    (status, retry_after, body)
}

#[test]
fn a_long_ingest_beside_a_busy_server_lets_every_record_and_http_write_through() {
    // Writers give up after 5 s here (10 s by default), so that holding the store for longer
    // shows within the test: a single transaction for the whole ingest did, and every
    // `mhd record` and HTTP write meanwhile failed ("database is locked", 500).
    let timeout = "5s";
    let home = tempfile::tempdir().unwrap();
    let bin = assert_cmd::cargo::cargo_bin("mhd");
    let file = home.path().join("ops.ndjson");
    let n = 300_000;
    std::fs::write(&file, operation_lines(n, 0)).unwrap();
    let command = |args: &[&str]| {
        let mut c = std::process::Command::new(&bin);
        c.arg("--home")
            .arg(home.path())
            .args(args)
            .env("MHD_BUSY_TIMEOUT", timeout)
            .env_remove("MHD_BIND")
            .env_remove("MHD_PLAN");
        c
    };
    let mut serve = Killed(
        command(&["serve", "--bind", "127.0.0.1:0"])
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut err = std::io::BufReader::new(serve.0.stderr.take().unwrap());
    let addr = loop {
        let mut line = String::new();
        assert!(
            std::io::BufRead::read_line(&mut err, &mut line).unwrap() > 0,
            "the server ended before serving"
        );
        if let Some(rest) = line.strip_prefix("mhd: serving http://") {
            break rest.split('/').next().unwrap().to_owned();
        }
    };
    std::thread::spawn(move || std::io::copy(&mut err, &mut std::io::sink()));

    let ingest = Killed(
        command(&["ingest", "operations"])
            .arg(&file)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let ingesting = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    // HTTP writers: small batches, one after another, while the ingest runs.
    let http: Vec<_> = (0..2)
        .map(|w| {
            let (addr, ingesting) = (addr.clone(), ingesting.clone());
            std::thread::spawn(move || {
                let mut answers = Vec::new();
                let mut i = 0;
                while ingesting.load(std::sync::atomic::Ordering::Relaxed) {
                    let body = format!(
                        "{{\"metric_type\":\"http\",\"operation\":\"post\",\"dataset_name\":\"h{w}-{i}\"}}\n"
                    );
                    answers.push(post_operations(&addr, &body));
                    i += 1;
                }
                answers
            })
        })
        .collect();
    // What the store holds, seen from outside while the ingest runs: (the ingest's rows, the
    // others' rows).
    let seen = {
        let (ingesting, home) = (ingesting.clone(), home.path().to_owned());
        std::thread::spawn(move || {
            let mut seen = Vec::new();
            while ingesting.load(std::sync::atomic::Ordering::Relaxed) {
                let out = mhd(&home)
                    .args(["stats", "summary", "--json"])
                    .output()
                    .unwrap();
                if let Ok(v) = serde_json::from_slice::<Value>(&out.stdout) {
                    let count = |ty: &str| {
                        v["by_type"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .filter(|t| t["metric_type"] == ty)
                            .map(|t| t["count"].as_u64().unwrap())
                            .sum::<u64>()
                    };
                    seen.push((count("migration"), count("http") + count("cli")));
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            seen
        })
    };
    // `mhd record` calls, a few at a time, while the ingest runs.
    let mut recorded = 0;
    let mut ingest = ingest;
    while ingest.0.try_wait().unwrap().is_none() {
        let children: Vec<_> = (0..3)
            .map(|i| {
                command(&[
                    "record",
                    "-t",
                    "cli",
                    "-o",
                    "record",
                    "-d",
                    &format!("r{recorded}-{i}"),
                ])
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
            })
            .collect();
        for c in children {
            let out = c.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "mhd record beside the ingest: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            recorded += 1;
        }
    }
    ingesting.store(false, std::sync::atomic::Ordering::Relaxed);
    let status = ingest.0.wait().unwrap();
    let mut ingest_err = String::new();
    std::io::Read::read_to_string(ingest.0.stderr.as_mut().unwrap(), &mut ingest_err).unwrap();
    assert!(status.success(), "{ingest_err}");
    let mut posted = 0;
    let mut answers = 0;
    for h in http {
        for (status, retry_after, body) in h.join().unwrap() {
            answers += 1;
            match status {
                201 => posted += 1,
                // A store busy for longer than a write waits: 503 with Retry-After, never 500.
                503 => assert!(retry_after && body.contains("\"busy\""), "{body}"),
                other => panic!("HTTP write beside the ingest: {other} {body}"),
            }
        }
    }
    assert!(
        recorded >= 3 && answers >= 10,
        "{recorded} records, {answers} HTTP writes"
    );
    // Other writes were stored while the ingest was half-way: between two looks at the store
    // that each found part of the ingest's rows stored, more of the others' were.
    let seen = seen.join().unwrap();
    let midway: Vec<_> = seen
        .iter()
        .filter(|(ingested, _)| *ingested > 0 && *ingested < n as u64)
        .collect();
    assert!(
        midway.windows(2).any(|w| w[1].1 > w[0].1),
        "no write got in between the ingest's chunks: {seen:?}"
    );
    assert_eq!(
        total_operations(home.path()),
        n as u64 + recorded + posted,
        "every acknowledged write is stored, and the ingest's every line"
    );
}

/// The body of a GET to a served `mhd` (the local user: no user in the store).
fn served_text(addr: std::net::SocketAddr, path: &str) -> String {
    exchange(addr, "GET", path, "").1
}

/// [`served_text`] read as JSON.
fn served_json(addr: std::net::SocketAddr, path: &str) -> serde_json::Value {
    let body = served_text(addr, path);
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: {e}: {body}"))
}

/// Whether a served `mhd` says it leads its store (`mhd_leader` in `/metrics`).
fn leads(addr: std::net::SocketAddr) -> bool {
    let metrics = served_text(addr, "/metrics");
    let line = metrics
        .lines()
        .find(|l| l.starts_with("mhd_leader "))
        .unwrap_or_else(|| panic!("no mhd_leader in /metrics: {metrics}"));
    line.ends_with(" 1")
}

#[test]
fn a_write_by_another_process_shows_on_the_running_server_within_a_second() {
    let home = tempfile::tempdir().unwrap();
    mhd(home.path()).arg("init").assert().success();
    let served = Served::start(home.path(), &[]);
    let migrated = || {
        served_json(served.addr, "/api/v1/health/summary")["key_metrics"]["datasets_migrated"]
            .as_u64()
            .unwrap()
    };
    // The server computes and keeps its views (once its first alert evaluation, which
    // announces the first overall status, is behind it: the next is 15 s away).
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert_eq!(migrated(), 0);
    mhd(home.path())
        .args([
            "record",
            "-t",
            "migration",
            "-o",
            "migrate",
            "--dataset",
            "sales",
        ])
        .assert()
        .success();
    // Another process wrote: the server notices without waiting out its caches.
    let started = std::time::Instant::now();
    while migrated() == 0 {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(2),
            "the server did not see the other process's write"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(migrated(), 1);
}

#[test]
fn the_store_can_be_named_by_a_database_url() {
    let home = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let file = elsewhere.path().join("team.db");
    let url = format!("sqlite:{}", file.display());
    mhd(home.path())
        .args([
            "--database-url",
            &url,
            "record",
            "-t",
            "migration",
            "-o",
            "migrate",
        ])
        .args(["--dataset", "sales"])
        .assert()
        .success();
    assert!(file.exists(), "the store is made where the URL says");
    assert!(!home.path().join("mhd.db").exists(), "and not in the home");
    // The variable says the same as the flag.
    let summary = json(
        mhd(home.path())
            .env("MHD_DATABASE_URL", &url)
            .args(["stats", "summary", "--json"])
            .output()
            .unwrap(),
    );
    assert_eq!(summary["overall"]["total_operations"], 1);
}

#[test]
fn a_database_url_that_cannot_be_used_is_refused_naming_it_and_changes_nothing() {
    let home = tempfile::tempdir().unwrap();
    for (url, says) in [
        ("mysql://db.example/mhd", "mysql://"),
        (
            "postgres://mhd:hunter2@127.0.0.1:1/mhd",
            "cannot reach the database",
        ),
        (
            "postgres://mhd:hunter2@127.0.0.1:notaport/mhd",
            "PostgreSQL URL",
        ),
        ("sqlite:", "file path"),
    ] {
        let out = mhd(home.path())
            .args(["--database-url", url, "stats", "summary"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{url}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("--database-url") && err.contains(says),
            "{url}: {err}"
        );
        assert!(
            !err.contains("hunter2"),
            "the password is never shown: {err}"
        );
    }
    assert!(!home.path().join("mhd.db").exists(), "no store was made");
}

#[test]
fn two_servers_on_one_store_share_its_writes_and_one_leads_until_it_stops() {
    let home = tempfile::tempdir().unwrap();
    mhd(home.path()).arg("init").assert().success();
    let first = Served::start(home.path(), &[]);
    let second = Served::start(home.path(), &[]);
    assert!(leads(first.addr), "the first server leads");
    assert!(!leads(second.addr), "the second waits for its turn");
    // A write through the second shows on the first.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let migrated = |addr| {
        served_json(addr, "/api/v1/health/summary")["key_metrics"]["datasets_migrated"]
            .as_u64()
            .unwrap()
    };
    assert_eq!(migrated(first.addr), 0);
    let mut post = std::net::TcpStream::connect(second.addr).unwrap();
    let body = r#"{"metric_type":"migration","operation":"migrate","dataset_name":"sales","success":true}"#;
    std::io::Write::write_all(
        &mut post,
        format!(
            "POST /api/v1/operations HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-ndjson\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    )
    .unwrap();
    let mut answer = String::new();
    std::io::Read::read_to_string(&mut post, &mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    let started = std::time::Instant::now();
    while migrated(first.addr) == 0 {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(2),
            "the first server did not see the second's write"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // The leader stops: the other takes over within seconds.
    drop(first);
    let started = std::time::Instant::now();
    while !leads(second.addr) {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "the second server did not take the lead"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// A PostgreSQL database of the test's own on the server at 127.0.0.1:5432 (made and dropped
/// with `psql`); `None` outside CI when there is none.
struct PgScratch {
    name: String,
    url: String,
}

impl PgScratch {
    fn new(tag: &str) -> Option<PgScratch> {
        let name = format!("mhd_cli_{tag}_{}", std::process::id());
        let psql = |sql: &str| {
            std::process::Command::new("psql")
                .args([
                    "-h",
                    "127.0.0.1",
                    "-U",
                    "postgres",
                    "-d",
                    "test",
                    "-qc",
                    sql,
                ])
                .output()
        };
        match psql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")) {
            Ok(o) if o.status.success() => {}
            other if std::env::var_os("CI").is_none() => {
                eprintln!("no PostgreSQL at 127.0.0.1:5432 ({other:?}): skipped");
                return None;
            }
            other => panic!("the PostgreSQL tests need a server at 127.0.0.1:5432: {other:?}"),
        }
        let made = psql(&format!("CREATE DATABASE {name}")).unwrap();
        assert!(made.status.success(), "{made:?}");
        Some(PgScratch {
            url: format!("postgres://postgres@127.0.0.1:5432/{name}"),
            name,
        })
    }
}

impl Drop for PgScratch {
    fn drop(&mut self) {
        let _ = std::process::Command::new("psql")
            .args(["-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-qc"])
            .arg(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .output();
    }
}

/// One HTTP/1.1 exchange with a served `mhd` on a new connection (as a client retrying would
/// make one): the status and the body; an NDJSON body when `body` is given.
fn exchange(addr: std::net::SocketAddr, method: &str, path: &str, body: &str) -> (u16, String) {
    use std::io::{Read as _, Write as _};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(60)))
        .unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-ndjson\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    let status = answer
        .get(9..12)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status: {answer}"));
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// POSTs one successful migration of `dataset` to a served `mhd`.
fn post_migration(addr: std::net::SocketAddr, dataset: &str) {
    let body = format!(
        r#"{{"metric_type":"migration","operation":"migrate","dataset_name":"{dataset}","success":true}}"#
    );
    let (status, answer) = exchange(addr, "POST", "/api/v1/operations", &body);
    assert_eq!(status, 201, "{answer}");
}

#[test]
fn three_servers_on_one_postgresql_database_share_writes_and_hand_over_the_lead() {
    let Some(db) = PgScratch::new("replicas") else {
        return;
    };
    let home = tempfile::tempdir().unwrap();
    mhd(home.path()).arg("init").assert().success();
    // The command line reads and writes the same database.
    mhd(home.path())
        .args([
            "--database-url",
            &db.url,
            "record",
            "-t",
            "migration",
            "-o",
            "migrate",
        ])
        .args(["--dataset", "first"])
        .assert()
        .success();
    let url = ["--database-url", db.url.as_str()];
    let a = Served::start(home.path(), &url);
    let b = Served::start(home.path(), &url);
    let c = Served::start(home.path(), &url);
    assert!(leads(a.addr), "the first server leads");
    assert!(!leads(b.addr) && !leads(c.addr), "one leader at a time");
    let migrated = |addr| {
        served_json(addr, "/api/v1/health/summary")["key_metrics"]["datasets_migrated"]
            .as_u64()
            .unwrap()
    };
    assert_eq!(migrated(c.addr), 1, "what the command line stored");
    // A write on A is pushed to a WebSocket client of C, and is on C's pages, within a second.
    let mut ws = WsClient::connect(c.addr);
    while ws
        .next_text(std::time::Duration::from_millis(300))
        .is_some()
    {}
    post_migration(a.addr, "second");
    let started = std::time::Instant::now();
    loop {
        let left = std::time::Duration::from_secs(1).saturating_sub(started.elapsed());
        let text = ws
            .next_text(left)
            .unwrap_or_else(|| panic!("no push of A's write on C within a second"));
        let v: Value = serde_json::from_str(&text).unwrap();
        if v["type"] == "progress:update" && v["data"]["key_metrics"]["datasets_migrated"] == 2 {
            break;
        }
    }
    let started = std::time::Instant::now();
    while migrated(c.addr) < 2 {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(2),
            "C did not see A's write"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // The leader stops: another takes the lead within seconds, and only one.
    drop(a);
    let started = std::time::Instant::now();
    loop {
        let (lb, lc) = (leads(b.addr), leads(c.addr));
        assert!(!(lb && lc), "two leaders");
        if lb || lc {
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "nobody took the lead"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    drop((b, c));
    drop(db);
}

/// A home holding operations from 200 days ago to today, and a plan whose datasets they
/// migrate.
fn aged_home() -> tempfile::TempDir {
    let home = tempfile::tempdir().unwrap();
    let now = time::OffsetDateTime::now_utc();
    let at = |days: i64| {
        (now - time::Duration::days(days))
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    let mut lines = Vec::new();
    for d in 0..200 {
        lines.push(format!(
            r#"{{"timestamp":"{}","metric_type":"migration","operation":"migrate","dataset_name":"ds-{d}","duration_ms":50}}"#,
            at(d)
        ));
        lines.push(format!(
            r#"{{"timestamp":"{}","metric_type":"dataset_read","operation":"read","dataset_name":"ds-{d}","duration_ms":5}}"#,
            at(d)
        ));
    }
    mhd(home.path())
        .args(["ingest", "operations", "-"])
        .write_stdin(lines.join("\n"))
        .assert()
        .success();
    let start = (now - time::Duration::days(210)).date();
    std::fs::write(
        home.path().join("migration.toml"),
        format!(
            "[migration]\nname = \"Aged\"\nstart = \"{start}\"\nweeks = 40\n\n[datasets]\ntotal = 300\n"
        ),
    )
    .unwrap();
    home
}

#[test]
fn retention_run_prints_what_it_removed_per_kind_and_keeps_progress() {
    let home = aged_home();
    let migrated = |home: &Path| {
        json(
            mhd(home)
                .args(["summary", "--json"])
                .output()
                .unwrap(),
        )["key_metrics"]["datasets_migrated"]
            .clone()
    };
    let before = migrated(home.path());
    assert_eq!(before, 200);
    let out = mhd(home.path())
        .args(["retention", "run"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    // 200 days of two operations a day, 90 kept (days 0 to 89 and the 90th day's newer part).
    let ops = text
        .lines()
        .find(|l| l.trim_start().starts_with("operations "))
        .unwrap_or_else(|| panic!("no operations line in {text}"));
    assert!(ops.contains(" 220 ") || ops.contains(" 218 "), "{ops}");
    assert!(
        ops.contains("older than 90d; milestone marks kept"),
        "{ops}"
    );
    for kind in ["raw samples", "test runs", "resolved alerts", "deliveries"] {
        assert!(text.contains(kind), "{kind} missing from {text}");
    }
    assert!(text.contains("progress is unchanged"), "{text}");
    assert_eq!(
        migrated(home.path()),
        before,
        "retention never changes progress"
    );
    // Nothing left to remove: every kind says 0, in JSON too.
    let v = json(
        mhd(home.path())
            .args(["retention", "run", "--json"])
            .output()
            .unwrap(),
    );
    assert_eq!(v["removed"]["operations"], 0);
    assert_eq!(v["removed"]["samples"], 0);
    assert_eq!(v["retention"]["operations"], "90d");
    assert_eq!(v["retention"]["samples"], "2d");
}

#[test]
fn stats_cleanup_prunes_like_retention_and_keeps_migrated_counts() {
    let home = aged_home();
    let v = json(
        mhd(home.path())
            .args(["stats", "cleanup", "--days", "30", "--yes", "--json"])
            .output()
            .unwrap(),
    );
    let deleted = v["deleted"].as_u64().unwrap();
    assert!((338..=340).contains(&deleted), "{v}");
    assert_eq!(v["removed"]["operations"], v["deleted"]);
    assert!(v["removed"]["test_runs"].is_u64(), "{v}");
    let s = json(
        mhd(home.path())
            .args(["summary", "--json"])
            .output()
            .unwrap(),
    );
    assert_eq!(s["key_metrics"]["datasets_migrated"], 200);
}

#[test]
fn a_sqlite_store_moves_to_postgresql_whole_and_copying_again_changes_nothing() {
    let Some(db) = PgScratch::new("copy") else {
        return;
    };
    let home = aged_home();
    mhd(home.path())
        .args(["user", "add", "ana", "--role", "admin"])
        .write_stdin("correct horse battery staple\n")
        .assert()
        .success();
    // A scheduled report as the server stores it: a PDF's bytes, not text.
    let body: Vec<u8> = b"%PDF-1.7\n\xff\x00\xfe report of the week\n%%EOF".to_vec();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let now = time::OffsetDateTime::now_utc();
    let report_id = runtime.block_on(async {
        let source = mhd_store::Database::open_file(&home.path().join("mhd.db"), 1)
            .await
            .unwrap();
        let id = source
            .insert_report(
                &mhd_store::reports::NewReport {
                    schedule: "weekly",
                    due_at: now - time::Duration::days(1),
                    start: (now - time::Duration::days(8)).date(),
                    end: (now - time::Duration::days(1)).date(),
                    format: "pdf",
                    body: &body,
                },
                now,
            )
            .await
            .unwrap()
            .expect("a new report");
        source.close().await;
        id
    });
    let before = json(
        mhd(home.path())
            .args(["summary", "--json"])
            .output()
            .unwrap(),
    );
    let copied = json(
        mhd(home.path())
            .args(["store", "copy", "--to", &db.url, "--json"])
            .output()
            .unwrap(),
    );
    assert_eq!(copied["already_copied"], false, "{copied}");
    assert_eq!(copied["tables"]["users"], 1, "{copied}");
    assert!(copied["tables"]["operations"].as_u64().unwrap() > 0);
    // The PostgreSQL store shows the same migration.
    let after = json(
        mhd(home.path())
            .args(["--database-url", &db.url, "summary", "--json"])
            .output()
            .unwrap(),
    );
    assert_eq!(after["progress"], before["progress"], "{after}");
    assert_eq!(after["key_metrics"], before["key_metrics"]);
    // The stored report came along, byte for byte, under its id.
    assert_eq!(copied["tables"]["reports"], 1, "{copied}");
    let copied_report = runtime.block_on(async {
        let target = mhd_store::Database::open(&db.url, 1).await.unwrap();
        let r = target.stored_report(report_id).await.unwrap();
        target.close().await;
        r
    });
    let copied_report = copied_report.expect("the report is in the copy");
    assert_eq!(copied_report.body, body);
    assert_eq!(
        (
            copied_report.schedule.as_str(),
            copied_report.format.as_str()
        ),
        ("weekly", "pdf")
    );
    // Again: nothing to do.
    let again = json(
        mhd(home.path())
            .args(["store", "copy", "--to", &db.url, "--json"])
            .output()
            .unwrap(),
    );
    assert_eq!(again["already_copied"], true, "{again}");
    // The source grew: the target is no longer its copy, and is kept unless asked.
    mhd(home.path())
        .args([
            "record",
            "-t",
            "migration",
            "-o",
            "migrate",
            "--dataset",
            "late",
        ])
        .assert()
        .success();
    let refused = mhd(home.path())
        .args(["store", "copy", "--to", &db.url])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("--replace"), "{err}");
    let replaced = json(
        mhd(home.path())
            .args(["store", "copy", "--to", &db.url, "--replace", "--json"])
            .output()
            .unwrap(),
    );
    assert_eq!(replaced["replaced"], true, "{replaced}");
    assert_eq!(
        replaced["tables"]["operations"].as_u64().unwrap(),
        copied["tables"]["operations"].as_u64().unwrap() + 1
    );
}

/// A webhook receiver on loopback that records what it accepts (refusing with a 503 while told
/// to): each accepted notification as its idempotency key, event and alert.
struct Hook {
    addr: std::net::SocketAddr,
    refusing: std::sync::Arc<std::sync::atomic::AtomicBool>,
    refused: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    accepted: std::sync::Arc<std::sync::Mutex<Vec<(String, String, Value)>>>,
}

impl Hook {
    fn start() -> Hook {
        use std::sync::atomic::Ordering;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let hook = Hook {
            addr: listener.local_addr().unwrap(),
            refusing: Default::default(),
            refused: Default::default(),
            accepted: Default::default(),
        };
        let (refusing, refused, accepted) = (
            hook.refusing.clone(),
            hook.refused.clone(),
            hook.accepted.clone(),
        );
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let (refusing, refused, accepted) =
                    (refusing.clone(), refused.clone(), accepted.clone());
                std::thread::spawn(move || {
                    use std::io::{BufRead as _, Read as _, Write as _};
                    let mut reader = std::io::BufReader::new(conn.try_clone().unwrap());
                    let mut conn = conn;
                    // One request after another on a kept-alive connection.
                    loop {
                        let (mut length, mut key) = (0usize, String::new());
                        let mut line = String::new();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        loop {
                            line.clear();
                            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                                return;
                            }
                            let header = line.trim_end();
                            if header.is_empty() {
                                break;
                            }
                            let (name, value) = header.split_once(':').unwrap_or((header, ""));
                            match name.to_ascii_lowercase().as_str() {
                                "content-length" => length = value.trim().parse().unwrap(),
                                "idempotency-key" => key = value.trim().to_owned(),
                                _ => {}
                            }
                        }
                        let mut body = vec![0; length];
                        if reader.read_exact(&mut body).is_err() {
                            return;
                        }
                        let status = if refusing.load(Ordering::SeqCst) {
                            refused.fetch_add(1, Ordering::SeqCst);
                            "503 Service Unavailable"
                        } else {
                            let v: Value = serde_json::from_slice(&body).unwrap();
                            accepted.lock().unwrap().push((
                                key,
                                v["event"].as_str().unwrap_or_default().to_owned(),
                                v["alert"].clone(),
                            ));
                            "200 OK"
                        };
                        if write!(conn, "HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n").is_err() {
                            return;
                        }
                    }
                });
            }
        });
        hook
    }

    /// The accepted firings of alerts on `component`.
    fn fired_on(&self, component: &str) -> Vec<(String, String, Value)> {
        self.accepted
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, event, alert)| {
                event == "fired" && alert["component"].as_str() == Some(component)
            })
            .cloned()
            .collect()
    }
}

/// POSTs failing operations on `component` to a served `mhd` (its error rate: 100 %).
fn post_failures(addr: std::net::SocketAddr, component: &str) {
    let line = format!(
        r#"{{"metric_type":"dataset_read","operation":"read","component":"{component}","success":false}}"#
    );
    let (status, answer) = exchange(
        addr,
        "POST",
        "/api/v1/operations",
        &[line.as_str(); 5].join("\n"),
    );
    assert_eq!(status, 201, "{answer}");
}

/// Waits up to `limit` for `done`, saying `what` did not happen otherwise.
fn wait_for(limit: std::time::Duration, what: &str, mut done: impl FnMut() -> bool) {
    let started = std::time::Instant::now();
    while !done() {
        assert!(started.elapsed() < limit, "{what} within {limit:?}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn killing_the_leading_replica_loses_no_notification_and_sends_none_twice() {
    use std::sync::atomic::Ordering;
    let Some(db) = PgScratch::new("failover") else {
        return;
    };
    let hook = Hook::start();
    let home = tempfile::tempdir().unwrap();
    let mut plan = String::from(
        "[migration]\nname = \"Failover\"\nstart = \"2026-01-05\"\nweeks = 52\n\n\
         [datasets]\ntotal = 10\n\n[alerts]\ninterval = \"1s\"\n",
    );
    for c in ["a", "b", "c"] {
        plan.push_str(&format!(
            "\n[[components]]\nid = \"{c}\"\nname = \"{c}\"\n\n\
             [[alerts.rules]]\nname = \"errors_{c}\"\nkind = \"threshold\"\nmetric = \"error_rate\"\n\
             op = \">\"\nthreshold = 0.05\nfor = \"0s\"\nseverity = \"warning\"\ncomponent = \"{c}\"\n"
        ));
    }
    plan.push_str(&format!(
        "\n[[notify]]\nname = \"ops\"\nkind = \"webhook\"\nurl = \"http://{}/hook\"\n\
         min_severity = \"warning\"\n",
        hook.addr
    ));
    std::fs::write(home.path().join("migration.toml"), plan).unwrap();
    let url = ["--database-url", db.url.as_str()];
    let mut a = Served::start(home.path(), &url);
    let b = Served::start(home.path(), &url);
    let c = Served::start(home.path(), &url);
    assert!(leads(a.addr) && !leads(b.addr) && !leads(c.addr));
    let long = std::time::Duration::from_secs(60);

    // Written on a replica that does not lead; the leader's alert fires and is delivered.
    post_failures(b.addr, "a");
    wait_for(long, "the firing on a delivered", || {
        !hook.fired_on("a").is_empty()
    });
    // The receiver is down: the firing on b is queued and retried.
    hook.refusing.store(true, Ordering::SeqCst);
    post_failures(c.addr, "b");
    wait_for(long, "an attempt at the firing on b", || {
        hook.refused.load(Ordering::SeqCst) > 0
    });
    // The leader dies (SIGKILL: nothing of it runs after) with that delivery pending.
    a.child.kill().unwrap();
    a.child.wait().unwrap();
    let killed = std::time::Instant::now();
    hook.refusing.store(false, Ordering::SeqCst);
    // Another replica leads within seconds, and only one.
    wait_for(std::time::Duration::from_secs(10), "a new leader", || {
        let (lb, lc) = (leads(b.addr), leads(c.addr));
        assert!(!(lb && lc), "two leaders");
        lb || lc
    });
    let (leader, other) = if leads(b.addr) { (&b, &c) } else { (&c, &b) };
    eprintln!("new leader after {:?}", killed.elapsed());
    // It evaluates the alerts: a new firing, written on the replica that does not lead.
    post_failures(other.addr, "c");
    wait_for(long, "the firing on c delivered", || {
        !hook.fired_on("c").is_empty()
    });
    wait_for(long, "the pending firing on b delivered", || {
        !hook.fired_on("b").is_empty()
    });
    // A few seconds more in which a second copy would arrive.
    std::thread::sleep(std::time::Duration::from_secs(3));
    for component in ["a", "b", "c"] {
        let fired = hook.fired_on(component);
        assert_eq!(
            fired.len(),
            1,
            "the firing on {component} is received exactly once: {fired:?}"
        );
        assert!(
            fired[0].0.starts_with("mhd-delivery-"),
            "with its idempotency key: {fired:?}"
        );
    }
    let accepted = hook.accepted.lock().unwrap().clone();
    let mut keys: Vec<&String> = accepted.iter().map(|(k, _, _)| k).collect();
    keys.sort();
    let all = keys.len();
    keys.dedup();
    assert_eq!(all, keys.len(), "nothing is received twice: {accepted:?}");
    assert!(leads(leader.addr));
    drop((b, c));
    drop(db);
}

/// A PostgreSQL server of the test's own (Debian's `initdb` and `pg_ctl`, on a free loopback
/// port, its files in a temporary folder), which the test may stop and start; `None` outside
/// CI when PostgreSQL's programs are not installed.
struct PrivatePg {
    dir: tempfile::TempDir,
    bin: std::path::PathBuf,
    port: u16,
    url: String,
}

impl PrivatePg {
    fn new() -> Option<PrivatePg> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()
            .and_then(|d| d.flatten().map(|e| e.path().join("bin")).max())
            .filter(|b| b.join("initdb").exists());
        let Some(bin) = bin else {
            assert!(
                std::env::var_os("CI").is_none(),
                "the PostgreSQL restart test needs Debian's postgresql (initdb, pg_ctl)"
            );
            eprintln!("no initdb: skipped");
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let pg = PrivatePg {
            url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
            dir,
            bin,
            port,
        };
        // PostgreSQL refuses to run as root: as root, its files belong to `postgres`.
        if pg.as_root() {
            let chown = std::process::Command::new("chown")
                .args(["postgres:postgres"])
                .arg(pg.dir.path())
                .status()
                .unwrap();
            assert!(chown.success());
        }
        let data = pg.dir.path().join("data");
        pg.run(&[
            pg.bin.join("initdb").to_str().unwrap(),
            "-D",
            data.to_str().unwrap(),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
        ]);
        pg.start();
        Some(pg)
    }

    fn as_root(&self) -> bool {
        let id = std::process::Command::new("id").arg("-u").output().unwrap();
        String::from_utf8_lossy(&id.stdout).trim() == "0"
    }

    fn run(&self, args: &[&str]) {
        let mut command = if self.as_root() {
            let mut c = std::process::Command::new("runuser");
            c.args(["-u", "postgres", "--"]);
            c
        } else {
            std::process::Command::new(args[0])
        };
        let args = if self.as_root() { args } else { &args[1..] };
        let out = command.args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn pg_ctl(&self, args: &[&str]) {
        let data = self.dir.path().join("data");
        let ctl = self.bin.join("pg_ctl");
        let mut all = vec![ctl.to_str().unwrap(), "-D", data.to_str().unwrap(), "-w"];
        all.extend_from_slice(args);
        self.run(&all);
    }

    fn start(&self) {
        let log = self.dir.path().join("log");
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        self.pg_ctl(&["-l", log.to_str().unwrap(), "-o", &options, "start"]);
    }

    /// Stops it the way an operator restarting it does (`pg_ctl stop -m fast`: every
    /// connection is ended).
    fn stop(&self) {
        self.pg_ctl(&["-m", "fast", "stop"]);
    }

    /// What `sql` answers, one row per line.
    fn query(&self, sql: &str) -> String {
        let out = std::process::Command::new("psql")
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(["-U", "postgres", "-d", "postgres", "-Atc", sql])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for PrivatePg {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        if data.join("postmaster.pid").exists() {
            let ctl = self.bin.join("pg_ctl");
            let args = [
                ctl.to_str().unwrap(),
                "-D",
                data.to_str().unwrap(),
                "-m",
                "immediate",
                "stop",
            ];
            let mut command = if self.as_root() {
                let mut c = std::process::Command::new("runuser");
                c.args(["-u", "postgres", "--"]).args(args);
                c
            } else {
                let mut c = std::process::Command::new(args[0]);
                c.args(&args[1..]);
                c
            };
            let _ = command.output();
        }
    }
}

/// POSTs one operation on `dataset`: the status and the body.
fn post_one(addr: std::net::SocketAddr, dataset: &str) -> (u16, String) {
    let body = format!(
        r#"{{"metric_type":"dataset_read","operation":"read","dataset_name":"{dataset}","success":true}}"#
    );
    exchange(addr, "POST", "/api/v1/operations", &body)
}

/// `/ready`'s status.
fn ready_status(addr: std::net::SocketAddr) -> u16 {
    exchange(addr, "GET", "/ready", "").0
}

#[test]
fn postgresql_restarted_under_load_loses_no_acknowledged_write_and_the_lead_comes_back() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let Some(pg) = PrivatePg::new() else {
        return;
    };
    let home = tempfile::tempdir().unwrap();
    mhd(home.path()).arg("init").assert().success();
    // Writes wait up to 6 s for the database before they fail.
    let served = Served::start_with(
        home.path(),
        &["--database-url", &pg.url],
        None,
        &[("MHD_BUSY_TIMEOUT", "6s")],
    );
    let addr = served.addr;
    assert!(leads(addr));
    // Two clients write one operation after another throughout.
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..2)
        .map(|w| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut outcomes = Vec::new();
                let mut i = 0;
                while !stop.load(Ordering::SeqCst) {
                    let dataset = format!("w{w}-{i}");
                    let started = std::time::Instant::now();
                    let (status, body) = post_one(addr, &dataset);
                    outcomes.push((dataset, status, body, started.elapsed()));
                    i += 1;
                }
                outcomes
            })
        })
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(800));
    pg.stop();
    // Gone: /ready says so (and does not hang).
    wait_for(std::time::Duration::from_secs(6), "/ready false", || {
        ready_status(addr) == 503
    });
    std::thread::sleep(std::time::Duration::from_secs(1));
    pg.start();
    wait_for(
        std::time::Duration::from_secs(10),
        "/ready true again",
        || ready_status(addr) == 200,
    );
    wait_for(
        std::time::Duration::from_secs(10),
        "the lead taken again",
        || leads(addr),
    );
    std::thread::sleep(std::time::Duration::from_millis(800));
    stop.store(true, Ordering::SeqCst);
    let outcomes: Vec<_> = writers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect();
    // The outage was shorter than a write waits: every write was stored, the ones sent
    // while the database was gone after waiting for it.
    for (dataset, status, body, took) in &outcomes {
        assert_eq!(*status, 201, "{dataset} after {took:?}: {body}");
    }
    let stored = pg.query(
        "SELECT d.name FROM operations o JOIN dataset_ids d ON d.id = o.dataset_id ORDER BY 1",
    );
    let stored: std::collections::BTreeSet<&str> = stored.lines().collect();
    for (dataset, ..) in &outcomes {
        assert!(
            stored.contains(dataset.as_str()),
            "{dataset} was acknowledged but is not stored"
        );
    }
    assert_eq!(stored.len(), outcomes.len(), "each write stored once");
    let waited = outcomes.iter().map(|o| o.3).max().unwrap();
    assert!(
        waited > std::time::Duration::from_millis(500),
        "some write waited out the outage ({waited:?}): the test did stop the database"
    );

    // A longer outage: a write fails after its wait, saying so, and stores nothing.
    pg.stop();
    let started = std::time::Instant::now();
    let (status, body) = post_one(addr, "during-the-outage");
    let took = started.elapsed();
    pg.start();
    if status != 503 {
        let log = walk_logs(home.path());
        panic!("{status} {body}\n{log}");
    }
    assert!(
        body.contains("\"unavailable\"") && body.contains("nothing of this"),
        "{body}"
    );
    assert!(
        took >= std::time::Duration::from_secs(5) && took < std::time::Duration::from_secs(10),
        "it waited about 6 s: {took:?}"
    );
    wait_for(
        std::time::Duration::from_secs(10),
        "/ready true again",
        || ready_status(addr) == 200,
    );
    assert_eq!(
        pg.query("SELECT count(*) FROM dataset_ids WHERE name = 'during-the-outage'")
            .trim(),
        "0"
    );
    assert_eq!(post_one(addr, "after").0, 201);
}

fn walk_logs(dir: &Path) -> String {
    let mut out = String::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.push_str(&walk_logs(&p));
        } else if p.to_string_lossy().ends_with(".log") {
            out.push_str(&std::fs::read_to_string(&p).unwrap_or_default());
        }
    }
    out
}

/// A WebSocket client of a served `/ws/dashboard`: just enough of RFC 6455 for a test (the
/// server's frames are unmasked; no extension is offered).
struct WsClient {
    reader: std::io::BufReader<std::net::TcpStream>,
}

impl WsClient {
    fn connect(addr: std::net::SocketAddr) -> WsClient {
        use std::io::{BufRead as _, Write as _};
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        write!(
            s,
            "GET /ws/dashboard HTTP/1.1\r\nHost: {addr}\r\nOrigin: http://{addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        .unwrap();
        let mut reader = std::io::BufReader::new(s);
        let mut status = String::new();
        reader.read_line(&mut status).unwrap();
        assert!(status.starts_with("HTTP/1.1 101"), "{status}");
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if line == "\r\n" {
                break;
            }
        }
        WsClient { reader }
    }

    /// The next text message, if one comes within `wait`.
    fn next_text(&mut self, wait: std::time::Duration) -> Option<String> {
        let deadline = std::time::Instant::now() + wait;
        loop {
            let left = deadline.checked_duration_since(std::time::Instant::now())?;
            let (opcode, payload) = self.next_frame(left)?;
            if opcode == 1 {
                return Some(String::from_utf8(payload).unwrap());
            }
        }
    }

    /// The next frame (its opcode and payload), if one comes within `wait`.
    fn next_frame(&mut self, wait: std::time::Duration) -> Option<(u8, Vec<u8>)> {
        use std::io::Read as _;
        self.reader
            .get_ref()
            .set_read_timeout(Some(wait.max(std::time::Duration::from_millis(1))))
            .unwrap();
        let mut head = [0u8; 2];
        if self.reader.read_exact(&mut head).is_err() {
            return None;
        }
        // A frame begun is read whole, however long it takes.
        self.reader.get_ref().set_read_timeout(None).unwrap();
        let len = match head[1] & 0x7f {
            126 => {
                let mut b = [0u8; 2];
                self.reader.read_exact(&mut b).unwrap();
                u64::from(u16::from_be_bytes(b))
            }
            127 => {
                let mut b = [0u8; 8];
                self.reader.read_exact(&mut b).unwrap();
                u64::from_be_bytes(b)
            }
            n => u64::from(n),
        };
        let mut payload = vec![0u8; usize::try_from(len).unwrap()];
        self.reader.read_exact(&mut payload).unwrap();
        Some((head[0] & 0x0f, payload))
    }
}

#[test]
fn a_backup_made_while_a_server_writes_is_whole_and_restores_when_the_server_is_stopped() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let home = tempfile::tempdir().unwrap();
    mhd(home.path()).arg("init").assert().success();
    let served = Served::start(home.path(), &[]);
    let addr = served.addr;
    // A client writes one operation after another throughout the backup.
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut stored = 0u64;
            while !stop.load(Ordering::SeqCst) {
                assert_eq!(post_one(addr, &format!("ds-{stored}")).0, 201);
                stored += 1;
            }
            stored
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(300));
    let file = home.path().join("backup.db");
    let out = mhd(home.path())
        .args(["backup", file.to_str().unwrap(), "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    std::thread::sleep(std::time::Duration::from_millis(300));
    stop.store(true, Ordering::SeqCst);
    let written = writer.join().unwrap();
    let info: Value = serde_json::from_slice(&out.stdout).unwrap();
    let in_backup = info["operations"].as_u64().unwrap();
    assert!(
        in_backup > 0 && in_backup < written,
        "the backup is the store of one moment during the writes: {in_backup} of {written}"
    );
    let check = std::process::Command::new("sqlite3")
        .arg(&file)
        .arg("PRAGMA integrity_check; SELECT COUNT(*) FROM operations;")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&check.stdout),
        format!("ok\n{in_backup}\n")
    );
    // A backup never overwrites a file.
    let again = mhd(home.path())
        .args(["backup", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(2));
    assert!(
        stderr(&again).contains("exists already"),
        "{}",
        stderr(&again)
    );

    // Refused while the server runs on the store; nothing changes.
    let refused = mhd(home.path())
        .args(["restore", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("a server is running on this store"),
        "{}",
        stderr(&refused)
    );
    let total = |home: &Path| {
        json(
            mhd(home)
                .args(["stats", "summary", "--json"])
                .output()
                .unwrap(),
        )["overall"]["total_operations"]
            .as_u64()
            .unwrap()
    };
    drop(served);
    assert_eq!(total(home.path()), written, "every acknowledged write");

    // Not a store, or not a whole one: refused naming the file.
    let junk = home.path().join("junk.db");
    std::fs::write(&junk, b"not a database at all, just some bytes").unwrap();
    let out = mhd(home.path())
        .args(["restore", junk.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("junk.db"), "{}", stderr(&out));
    assert_eq!(total(home.path()), written, "nothing changed");

    // Stopped: the backup takes the store's place, the replaced store kept beside it.
    let out = mhd(home.path())
        .args(["restore", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("before-restore-"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(total(home.path()), in_backup);
    let kept: Vec<_> = std::fs::read_dir(home.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains("before-restore-"))
        .collect();
    assert_eq!(kept.len(), 1);
}

#[test]
fn the_server_logs_each_request_as_json_with_its_route_status_and_request_id() {
    use std::io::{Read as _, Write as _};
    let home = tempfile::tempdir().unwrap();
    mhd(home.path()).arg("init").assert().success();
    let served = Served::start(
        home.path(),
        &[
            "--log-format",
            "json",
            "--log-level",
            "info",
            "--log-to",
            "file",
        ],
    );
    let mut s = std::net::TcpStream::connect(served.addr).unwrap();
    write!(
        s,
        "GET /api/v1/datasets?state=migrated HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Request-Id: trace-42\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    assert!(
        answer
            .to_ascii_lowercase()
            .contains("x-request-id: trace-42"),
        "the id is answered: {answer}"
    );
    let log = home.path().join("logs").join("mhd.log");
    let mut found = None;
    for _ in 0..50 {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        found = text
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .find(|v| v["fields"]["request_id"] == "trace-42");
        if found.is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let line = found.expect("a request line");
    assert_eq!(line["target"], "mhd::request");
    assert_eq!(line["level"], "INFO");
    assert_eq!(line["fields"]["method"], "GET");
    assert_eq!(
        line["fields"]["route"], "/api/v1/datasets",
        "the pattern, not the path"
    );
    assert_eq!(line["fields"]["status"], 200);
    assert!(line["fields"]["latency_ms"].as_f64().unwrap() >= 0.0);
    assert_eq!(line["command"], "serve");
    // A bad setting is named and nothing runs.
    for (args, env, says) in [
        (&["--log-format", "xml"][..], None, "--log-format"),
        (&[][..], Some(("MHD_LOG_FORMAT", "xml")), "--log-format"),
        (&["--log-level", "info,=["][..], None, "--log-level"),
    ] {
        let mut cmd = mhd(home.path());
        cmd.args(args).args(["stats", "summary"]);
        if let Some((k, v)) = env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?} {env:?}");
        assert!(stderr(&out).contains(says), "{}", stderr(&out));
    }
}

#[test]
fn sigterm_under_load_answers_every_write_in_flight_closes_websockets_going_away_and_exits() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let home = tempfile::tempdir().unwrap();
    mhd(home.path()).arg("init").assert().success();
    let mut served = Served::start(home.path(), &[]);
    let addr = served.addr;
    let mut ws = WsClient::connect(addr);
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..3)
        .map(|w| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut acknowledged = Vec::new();
                let mut i = 0;
                while !stop.load(Ordering::SeqCst) {
                    let dataset = format!("w{w}-{i}");
                    i += 1;
                    // Once it stops, connections are refused or closed unanswered.
                    let answer = std::panic::catch_unwind(|| post_one(addr, &dataset));
                    match answer {
                        Ok((201, _)) => acknowledged.push(dataset),
                        Ok((status, body)) => panic!("{dataset}: {status} {body}"),
                        Err(_) => break,
                    }
                }
                acknowledged
            })
        })
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(500));
    let signalled = std::time::Instant::now();
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &served.child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    // The WebSocket client is told the server goes away (1001).
    let close = loop {
        let (opcode, payload) = ws
            .next_frame(std::time::Duration::from_secs(5))
            .expect("a close frame within 5 s");
        if opcode == 8 {
            break payload;
        }
    };
    assert_eq!(u16::from_be_bytes([close[0], close[1]]), 1001, "going away");
    let status = loop {
        if let Some(status) = served.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            signalled.elapsed() < std::time::Duration::from_secs(10),
            "still running 10 s after SIGTERM"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert!(status.success(), "{status:?}");
    stop.store(true, Ordering::SeqCst);
    let acknowledged: Vec<String> = writers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect();
    assert!(!acknowledged.is_empty());
    let stored = std::process::Command::new("sqlite3")
        .arg(home.path().join("mhd.db"))
        .arg("SELECT name FROM dataset_ids")
        .output()
        .unwrap();
    let stored = String::from_utf8_lossy(&stored.stdout).into_owned();
    let stored: std::collections::BTreeSet<&str> = stored.lines().collect();
    for dataset in &acknowledged {
        assert!(
            stored.contains(dataset.as_str()),
            "{dataset} acknowledged, not stored"
        );
    }
}

#[test]
fn settings_come_from_the_flag_then_the_variable_then_the_specifications_variable_then_the_plan() {
    let home = aged_home();
    let plan = home.path().join("migration.toml");
    let mut text = std::fs::read_to_string(&plan).unwrap();
    text.push_str("\n[retention]\noperations = \"120d\"\n");
    std::fs::write(&plan, text).unwrap();
    let kept = |flag: Option<&str>, env: &[(&str, &str)]| {
        let mut c = mhd(home.path());
        c.args(["retention", "run", "--json"]);
        if let Some(days) = flag {
            c.args(["--retention-days", days]);
        }
        c.envs(env.iter().copied());
        json(c.output().unwrap())["retention"]["operations"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(kept(None, &[]), "120d", "the plan");
    assert_eq!(
        kept(None, &[("RETENTION_DAYS", "100")]),
        "100d",
        "the specification's variable"
    );
    assert_eq!(
        kept(
            None,
            &[("RETENTION_DAYS", "100"), ("MHD_RETENTION_DAYS", "95")]
        ),
        "95d",
        "MHD_ over the specification's"
    );
    assert_eq!(
        kept(
            Some("91"),
            &[("RETENTION_DAYS", "100"), ("MHD_RETENTION_DAYS", "95")]
        ),
        "91d",
        "the flag over both"
    );
    // A bad value is named with where it came from, and nothing is pruned.
    for (flag, env, says) in [
        (
            None,
            ("RETENTION_DAYS", "ninety"),
            "RETENTION_DAYS \"ninety\"",
        ),
        (Some("7"), ("X", ""), "at least 30 days"),
    ] {
        let mut c = mhd(home.path());
        c.args(["retention", "run"]).env(env.0, env.1);
        if let Some(days) = flag {
            c.args(["--retention-days", days]);
        }
        let out = c.output().unwrap();
        assert_eq!(out.status.code(), Some(2));
        assert!(stderr(&out).contains(says), "{}", stderr(&out));
    }
    // The database URL: from a secret's file, else DATABASE_URL; a file that cannot be read is
    // named.
    let elsewhere = tempfile::tempdir().unwrap();
    let store = elsewhere.path().join("team.db");
    let secret = elsewhere.path().join("url");
    std::fs::write(&secret, format!("sqlite:{}\n", store.display())).unwrap();
    let record = |env: (&str, &std::ffi::OsStr)| {
        mhd(home.path())
            .env(env.0, env.1)
            .args([
                "record",
                "-t",
                "migration",
                "-o",
                "migrate",
                "--dataset",
                "x",
            ])
            .assert()
            .success();
    };
    record(("MHD_DATABASE_URL_FILE", secret.as_os_str()));
    assert!(store.exists(), "the store the secret names");
    let out = mhd(home.path())
        .env("MHD_DATABASE_URL_FILE", elsewhere.path().join("missing"))
        .args(["stats", "summary"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("MHD_DATABASE_URL_FILE") && stderr(&out).contains("missing"),
        "{}",
        stderr(&out)
    );
    let spec_store = elsewhere.path().join("spec.db");
    let url = format!("sqlite:{}", spec_store.display());
    record(("DATABASE_URL", std::ffi::OsStr::new(&url)));
    assert!(spec_store.exists(), "the store DATABASE_URL names");
}

#[test]
fn a_changed_plan_is_put_in_force_without_a_restart_and_a_bad_one_is_refused_saying_why() {
    let home = tempfile::tempdir().unwrap();
    let plan = home.path().join("migration.toml");
    let write_plan = |name: &str, extra: &str| {
        std::fs::write(
            &plan,
            format!(
                "[migration]\nname = \"{name}\"\nstart = \"2026-01-05\"\nweeks = 52\n\n[datasets]\ntotal = 10\n\n[alerts]\ninterval = \"1s\"\n{extra}"
            ),
        )
        .unwrap();
    };
    write_plan("First", "");
    let served = Served::start(home.path(), &[]);
    let addr = served.addr;
    let mut ws = WsClient::connect(addr);
    let ready = || served_json(addr, "/ready");
    assert_eq!(ready()["plan"], "First");

    // A good change: in force within a second, the WebSocket client still connected.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let rule = "\n[[alerts.rules]]\nname = \"errors\"\nkind = \"threshold\"\nmetric = \"error_rate\"\nop = \">\"\nthreshold = 0.05\nfor = \"0s\"\nseverity = \"warning\"\n";
    write_plan("Second", rule);
    let changed = std::time::Instant::now();
    wait_for(
        std::time::Duration::from_secs(2),
        "the new plan in force",
        || ready()["plan"] == "Second",
    );
    eprintln!(
        "plan in force {:?} after the file changed",
        changed.elapsed()
    );
    // Its alert rule is evaluated: failing operations fire it.
    post_failures(addr, "any");
    let fired = || served_text(addr, "/api/v1/alerts").contains("\"errors\"");
    let started = std::time::Instant::now();
    while !fired() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "the new rule did not fire: {}\n{}",
            served_text(addr, "/api/v1/alerts"),
            walk_logs(home.path())
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    while let Some((opcode, _)) = ws.next_frame(std::time::Duration::from_millis(200)) {
        assert_ne!(opcode, 8, "the WebSocket client was not closed");
    }

    // A bad change: refused, saying why, and the plan in force kept.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    std::fs::write(&plan, "[migration]\nname = \"Broken\"\nweeks = \"many\"\n").unwrap();
    wait_for(
        std::time::Duration::from_secs(3),
        "the refusal on /ready",
        || ready()["plan_reload"]["status"] == "refused",
    );
    let r = ready();
    assert_eq!(r["status"], "ready", "{r}");
    assert_eq!(r["plan"], "Second", "the plan in force is kept: {r}");
    let error = r["plan_reload"]["error"].as_str().unwrap();
    assert!(
        error.contains("migration.toml") && error.contains("weeks"),
        "{error}"
    );
    let metrics = served_text(addr, "/metrics");
    assert!(
        metrics.contains("mhd_plan_reload_failures_total 1"),
        "{metrics}"
    );

    // SIGHUP puts the file in force again once it is good.
    write_plan("Third", rule);
    let _ = std::process::Command::new("kill")
        .args(["-HUP", &served.child.id().to_string()])
        .status();
    wait_for(
        std::time::Duration::from_secs(3),
        "the fixed plan in force",
        || {
            let r = ready();
            r["plan"] == "Third" && r.get("plan_reload").is_none()
        },
    );
    assert!(served_text(addr, "/metrics").contains("mhd_plan_reloads_total"));
}

#[test]
fn the_database_pool_is_sized_by_a_flag_or_variable_within_bounds() {
    let home = tempfile::tempdir().unwrap();
    for (args, env) in [
        (&["serve", "--database-pool", "0"][..], None),
        (&["serve"][..], Some(("MHD_DATABASE_POOL", "lots"))),
    ] {
        let mut c = mhd(home.path());
        c.args(args);
        if let Some((k, v)) = env {
            c.env(k, v);
        }
        let out = c.output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(stderr(&out).contains("--database-pool"), "{}", stderr(&out));
    }
    let served = Served::start(home.path(), &["--database-pool", "3"]);
    wait_for(std::time::Duration::from_secs(10), "ready", || {
        served_json(served.addr, "/ready")["status"] == "ready"
    });
}

/// A 60-character name, as long names come from real migrations.
const LONG_NAME: &str = "customer-ledger-reconciliation-archive-eu-west-partition-0042";
/// A name in two scripts, each character of several bytes.
const UNICODE_NAME: &str = "Δεδομένα-数据";

/// A JUnit report of nine tests, `failed` of them failing with a long message.
fn nine_tests(failed: usize) -> String {
    let mut xml = format!(
        r#"<?xml version="1.0"?><testsuites><testsuite name="ledger" tests="9" failures="{failed}">"#
    );
    for i in 0..9 {
        if i < failed {
            xml.push_str(&format!(
                r#"<testcase classname="{LONG_NAME}" name="reconciles partition {i} of the ledger against the archive" time="0.5"><failure message="expected the balances of the old and the new store to agree to the cent, found a difference of 0.01 EUR">trace</failure></testcase>"#
            ));
        } else {
            xml.push_str(&format!(
                r#"<testcase classname="{UNICODE_NAME}" name="case {i}" time="0.25"/>"#
            ));
        }
    }
    xml.push_str("</testsuite></testsuites>");
    xml
}

/// The starting plan with a component and a phase of a 60-character name and others of a
/// unicode name; operations, ten test runs (100 % six times, then 89 %) and benchmarks, all
/// on those names.
fn long_names_home() -> tempfile::TempDir {
    let home = tempfile::tempdir().unwrap();
    mhd(home.path())
        .args(["init", "--start", "2025-01-06"])
        .assert()
        .success();
    let plan_path = home.path().join("migration.toml");
    let plan = std::fs::read_to_string(&plan_path)
        .unwrap()
        .replace(r#"name = "Storage""#, &format!(r#"name = "{LONG_NAME}""#))
        .replace(
            r#"name = "Configuration""#,
            &format!(r#"name = "{UNICODE_NAME}""#),
        );
    std::fs::write(&plan_path, plan).unwrap();
    let mut lines = Vec::new();
    for i in 0..60 {
        let day = 14 + i / 3;
        let (component, dataset) = if i % 2 == 0 {
            ("storage", format!("{}{i:02}", &LONG_NAME[..58]))
        } else {
            ("config", format!("{UNICODE_NAME}-{i}"))
        };
        let ok = i % 13 != 5;
        lines.push(format!(
            r#"{{"timestamp":"2025-{:02}-{:02}T10:00:00Z","metric_type":"migration","operation":"migrate","dataset_name":"{dataset}","component":"{component}","system":"new","duration_ms":{},"success":{ok}{}}}"#,
            if day < 31 { 1 } else { 2 },
            if day < 31 { day + 1 } else { day - 30 },
            1000 + i * 10,
            if ok {
                String::new()
            } else {
                r#","error_message":"the target partition refused the write: quota of the tablespace exceeded while copying the ledger archive""#.to_owned()
            }
        ));
    }
    mhd(home.path())
        .args(["ingest", "operations", "-"])
        .write_stdin(lines.join("\n"))
        .assert()
        .success();
    for run in 0..10 {
        let file = home.path().join(format!("run{run}.xml"));
        std::fs::write(&file, nine_tests(if run < 6 { 0 } else { 1 })).unwrap();
        mhd(home.path())
            .args([
                "ingest",
                "junit",
                "--suite",
                LONG_NAME,
                "--component",
                "storage",
            ])
            .arg("--run-at")
            .arg(format!("2025-02-{:02}T09:00:00Z", 10 + run))
            .arg(&file)
            .assert()
            .success();
    }
    let mut csv = String::from("operation,system,value_ms\n");
    for i in 0..8 {
        let jitter = f64::from(i) * 3.5;
        csv.push_str(&format!("{LONG_NAME},old,{}\n", 2300.0 + jitter));
        csv.push_str(&format!("{LONG_NAME},new,{}\n", 2900.0 + jitter));
        csv.push_str(&format!("{UNICODE_NAME},old,{}\n", 120.0 + jitter));
        csv.push_str(&format!("{UNICODE_NAME},new,{}\n", 80.0 + jitter));
    }
    let bench = home.path().join("timings.csv");
    std::fs::write(&bench, csv).unwrap();
    mhd(home.path())
        .args(["ingest", "bench", "--component", "storage"])
        .arg(&bench)
        .assert()
        .success();
    home
}

/// Runs `mhd ARGS` with `COLUMNS` set as given (`None`: unset); returns standard output.
fn printed(home: &Path, columns: Option<&str>, args: &[&str]) -> String {
    let mut c = mhd(home);
    c.args(args);
    match columns {
        Some(v) => c.env("COLUMNS", v),
        None => c.env_remove("COLUMNS"),
    };
    let out = c.output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    String::from_utf8(out.stdout).unwrap()
}

/// The lines of `text` wider than `width` characters.
fn too_wide(text: &str, width: usize) -> Vec<&str> {
    text.lines().filter(|l| l.chars().count() > width).collect()
}

#[test]
fn every_table_fits_80_columns_with_long_and_unicode_names() {
    let home = long_names_home();
    let at = ["--at", "2025-02-28"];
    let unicode_dataset = format!("{UNICODE_NAME}-1");
    let commands: Vec<(&str, Vec<&str>)> = vec![
        ("summary", [&["summary"][..], &at].concat()),
        ("timeline", [&["timeline"][..], &at].concat()),
        ("components", [&["components"][..], &at].concat()),
        ("perf", vec!["perf"]),
        ("tests", vec!["tests"]),
        ("stats_summary", vec!["stats", "summary"]),
        ("stats_show", vec!["stats", "show"]),
        ("stats_dataset", vec!["stats", "dataset", &unicode_dataset]),
        ("alerts", vec!["alerts", "--all"]),
    ];
    for (name, args) in &commands {
        let text = printed(home.path(), Some("80"), args);
        assert!(
            too_wide(&text, 80).is_empty(),
            "{name}: lines over 80 columns:\n{}\n\nin:\n{text}",
            too_wide(&text, 80).join("\n")
        );
        // Those that do not depend on the day the test runs are kept whole.
        if !name.starts_with("stats") && *name != "alerts" {
            let shown = if *name == "tests" {
                // The failing tests say how long ago they began to fail.
                text.split("\n\n").next().unwrap().to_owned()
            } else {
                text.clone()
            };
            insta::assert_snapshot!(format!("fitted_80_{name}"), shown);
        }
    }
    // The tables of users, tokens, the audit log and the forecast's backtest fit too.
    let user = format!("{}@example.org", &LONG_NAME[..52]);
    mhd(home.path())
        .args(["user", "add", &user, "--role", "admin"])
        .write_stdin("a long enough password\n")
        .assert()
        .success();
    mhd(home.path())
        .args(["token", "create", "--name", LONG_NAME, "--role", "viewer"])
        .assert()
        .success();
    for args in [
        &["user", "list"][..],
        &["token", "list"],
        &["audit"],
        &["forecast", "backtest", "--runs", "50", "--days", "40"],
    ] {
        let text = printed(home.path(), Some("80"), args);
        assert!(too_wide(&text, 80).is_empty(), "{args:?}:\n{text}");
    }

    let tests = printed(home.path(), Some("80"), &["tests"]);
    assert!(tests.contains("██████▇▇▇▇ 100 → 89 %"), "{tests}");
    assert!(
        tests.contains(&LONG_NAME[..20]) && tests.contains('…'),
        "a long suite name is cut, not dropped: {tests}"
    );
    let perf = printed(home.path(), Some("80"), &["perf"]);
    assert!(perf.contains(UNICODE_NAME), "{perf}");
}

#[test]
fn a_width_that_is_not_a_positive_number_is_80_and_wide_shows_every_column_whole() {
    let home = long_names_home();
    let at80 = printed(home.path(), Some("80"), &["perf"]);
    for columns in [Some("0"), Some("abc"), None] {
        assert_eq!(
            printed(home.path(), columns, &["perf"]),
            at80,
            "COLUMNS={columns:?} off a terminal is 80 columns"
        );
    }
    let narrow = printed(home.path(), Some("60"), &["perf"]);
    assert!(too_wide(&narrow, 60).is_empty(), "{narrow}");
    assert!(
        narrow.contains("hidden: --wide shows them"),
        "columns that cannot fit are dropped and said to be: {narrow}"
    );
    let wide = printed(home.path(), Some("60"), &["perf", "--wide"]);
    assert!(!wide.contains("hidden"), "{wide}");
    for header in ["Samples", "Verdict", "Std Dev"] {
        assert!(wide.contains(header), "--wide shows {header}: {wide}");
    }
    assert!(wide.contains(LONG_NAME), "--wide cuts no name: {wide}");
    assert!(!too_wide(&wide, 80).is_empty(), "--wide is not fitted");
    // JSON is never fitted.
    assert_eq!(
        printed(home.path(), Some("20"), &["perf", "--json"]),
        printed(home.path(), None, &["perf", "--json", "--wide"])
    );
}

#[test]
fn demo_says_where_its_data_is_and_the_cli_reads_it_there() {
    let scratch = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_mhd"))
        .arg("--home")
        .arg(scratch.path().join("home"))
        .args(["demo", "--bind", "127.0.0.1:0", "--log-to", "stderr"])
        .env_remove("MHD_HOME")
        .env_remove("MHD_PLAN")
        .env("TMPDIR", scratch.path())
        .env("NO_COLOR", "1")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let stderr_pipe = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in
            std::io::BufRead::lines(std::io::BufReader::new(stderr_pipe)).map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    let mut seen = Vec::new();
    let mut folder = None;
    let mut commands = Vec::new();
    while commands.len() < 2 {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let Ok(line) = rx.recv_timeout(left) else {
            let _ = child.kill();
            panic!(
                "the demo did not say where its data is:\n{}",
                seen.join("\n")
            );
        };
        if let Some(f) = line.strip_prefix("mhd: the demo's data folder: ") {
            folder = Some(f.to_owned());
        }
        if line.starts_with("mhd: ")
            && let Some((_, command)) = line.split_once("MHD_HOME=")
        {
            commands.push(command.to_owned());
        }
        seen.push(line);
    }
    let folder = folder.expect("the data folder is named");
    assert!(
        folder.starts_with(&scratch.path().display().to_string()),
        "{folder}"
    );
    assert!(
        seen.iter().any(|l| l.contains("open http://127.0.0.1:")),
        "{seen:?}"
    );
    // The log says it too (standard error here, as --log-to asks).
    assert!(
        seen.iter()
            .any(|l| l.contains("INFO") && l.contains("data folder")),
        "{seen:?}"
    );
    // Each command as printed, with the folder it names, reads the demo's data.
    for command in &commands {
        let (home, rest) = command.split_once(' ').unwrap();
        assert_eq!(home, folder);
        let args: Vec<&str> = rest.split_whitespace().skip(1).collect();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_mhd"))
            .args(&args)
            .arg("--json")
            .env("MHD_HOME", home)
            .env_remove("MHD_PLAN")
            .output()
            .unwrap();
        assert!(out.status.success(), "{command}: {}", stderr(&out));
        let text = String::from_utf8_lossy(&out.stdout);
        if args == ["summary"] {
            assert!(text.contains("\"datasets_total\": 412"), "{text}");
        } else {
            let v: Value = serde_json::from_str(&text).unwrap();
            assert!(
                v["overall"]["total_operations"].as_u64().unwrap() > 1000,
                "{text}"
            );
        }
    }
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
}

/// The body of `GET path` from the server at `addr`, with its status.
fn http_get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    use std::io::{Read as _, Write as _};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_owned();
    (status, body)
}

#[test]
fn the_empty_pages_suggest_commands_that_run_as_given() {
    let home = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ingest/tests/fixtures");
    let hyperfine = fixtures.join("bench/hyperfine-one.json");
    std::fs::copy(&hyperfine, work.path().join("old.json")).unwrap();
    std::fs::copy(&hyperfine, work.path().join("new.json")).unwrap();
    std::fs::copy(
        fixtures.join("junit/surefire.xml"),
        work.path().join("report.xml"),
    )
    .unwrap();
    let served = Served::start(home.path(), &[]);
    for (path, empty, filled) in [
        (
            "/performance",
            "No benchmarks recorded yet",
            r#"id="performance""#,
        ),
        ("/tests", "No test runs recorded yet", r#"id="tests""#),
    ] {
        let (status, html) = http_get(served.addr, path);
        assert_eq!(status, 200, "{path}");
        assert!(html.contains(empty), "{path}: {html}");
        let start = html.find("<pre><code>").expect("a suggested command") + "<pre><code>".len();
        let end = html[start..].find("</code></pre>").unwrap() + start;
        let suggested = &html[start..end];
        for line in suggested.lines() {
            let words: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(words.first(), Some(&"mhd"), "{path}: {line}");
            let out = std::process::Command::new(env!("CARGO_BIN_EXE_mhd"))
                .args(&words[1..])
                .current_dir(work.path())
                .env("MHD_HOME", home.path())
                .env_remove("MHD_PLAN")
                .env_remove("MHD_DATABASE_URL")
                .env_remove("DATABASE_URL")
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{path}: `{line}` failed: {}",
                stderr(&out)
            );
        }
        // The server sees another process's writes within its cache's lifetime.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        let html = loop {
            let (_, html) = http_get(served.addr, path);
            if !html.contains(empty) || std::time::Instant::now() > deadline {
                break html;
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
        };
        assert!(
            !html.contains(empty),
            "{path} is still empty after `{suggested}`"
        );
        assert!(html.contains(filled), "{path}: {html}");
    }
}

#[test]
fn stats_summary_of_no_operations_says_so_instead_of_a_percentage_of_nothing() {
    let home = tempfile::tempdir().unwrap();
    let out = mhd(home.path())
        .args(["stats", "summary"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Total Operations: 0"), "{text}");
    assert!(text.contains("No operations yet"), "{text}");
    assert!(!text.contains('%'), "{text}");
    let v = json(
        mhd(home.path())
            .args(["stats", "summary", "--json"])
            .output()
            .unwrap(),
    );
    assert!(v["overall"]["success_rate"].is_null(), "{v}");
    assert_eq!(v["overall"]["total_operations"], 0);
    // One operation later, the rate is a rate.
    mhd(home.path())
        .args(["record", "-t", "dataset_read", "-o", "read", "-d", "sales"])
        .assert()
        .success();
    let v = json(
        mhd(home.path())
            .args(["stats", "summary", "--json"])
            .output()
            .unwrap(),
    );
    assert_eq!(v["overall"]["success_rate"], 1.0);
    let out = mhd(home.path())
        .args(["stats", "summary"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Success Rate:     100.0%"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn summary_without_migration_attempts_gives_no_rate() {
    let home = tempfile::tempdir().unwrap();
    mhd(home.path())
        .args(["init", "--start", "2025-01-06"])
        .assert()
        .success();
    let out = mhd(home.path()).arg("summary").output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Success rate: no migration attempts yet"),
        "{text}"
    );
    let v = json(
        mhd(home.path())
            .args(["summary", "--json"])
            .output()
            .unwrap(),
    );
    assert!(v["key_metrics"]["success_rate"].is_null(), "{v}");
}
