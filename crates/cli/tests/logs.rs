//! `mhd stats logs`: MDM's loguru file through `--file`, and the program's own rotated log.

use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

/// A loguru file as MDM writes it: one entry a minute, a traceback, unicode, a `|` in a message.
fn loguru_file(dir: &Path) -> std::path::PathBuf {
    let mut text = String::new();
    for i in 0..60 {
        let (level, message) = match i % 10 {
            3 => (
                "WARNING",
                format!("Slow query on dataset « ventes-{i} »: 2.5 s"),
            ),
            7 => (
                "ERROR",
                format!("Error in register: disk full (attempt {i})"),
            ),
            _ => ("INFO", format!("Registered dataset sales_{i} | rows=120")),
        };
        text.push_str(&format!(
            "2025-01-06 14:{i:02}:00 | {level} | mdm.storage.sqlite:write:88 - {message}\n"
        ));
    }
    text.push_str("2025-01-06 15:00:00 | CRITICAL | mdm.cli:main:12 - Unhandled error\n");
    text.push_str("Traceback (most recent call last):\n");
    text.push_str("  File \"mdm/cli.py\", line 12, in main\n");
    text.push_str("OSError: [Errno 28] No space left on device\n");
    text.push_str(
        "2025-01-06 15:00:01 | DEBUG | mdm.cli:main:13 - exit \u{1b}[31mcode\u{1b}[0m 1\n",
    );
    let path = dir.join("mdm.log");
    std::fs::write(&path, text).unwrap();
    path
}

fn mhd(home: &Path) -> Command {
    let mut cmd = Command::cargo_bin("mhd").unwrap();
    cmd.arg("--home")
        .arg(home)
        .env("TZ", "UTC")
        .env_remove("MHD_LOG");
    cmd
}

fn stdout_lines(out: &[u8]) -> Vec<String> {
    String::from_utf8(out.to_vec())
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn tail_counts_entries_with_their_continuation_lines() {
    let tmp = tempfile::tempdir().unwrap();
    let file = loguru_file(tmp.path());
    let out = mhd(tmp.path())
        .args(["stats", "logs", "--file"])
        .arg(&file)
        .args(["-n", "2"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let lines = stdout_lines(&out);
    assert_eq!(lines.len(), 5, "{lines:#?}");
    assert_eq!(
        lines[0],
        "2025-01-06 15:00:00 | CRITICAL | mdm.cli:main:12 - Unhandled error"
    );
    assert_eq!(lines[3], "OSError: [Errno 28] No space left on device");
    // Control characters are shown, not obeyed; no colour off a terminal.
    assert_eq!(
        lines[4],
        "2025-01-06 15:00:01 | DEBUG | mdm.cli:main:13 - exit \\u{1b}[31mcode\\u{1b}[0m 1"
    );

    // The default tail is 50 entries.
    let out = mhd(tmp.path())
        .args(["stats", "logs", "--file"])
        .arg(&file)
        .assert()
        .success();
    let lines = stdout_lines(&out.get_output().stdout);
    assert_eq!(lines.len(), 48 + 5);
    assert!(
        lines[0].starts_with("2025-01-06 14:12:00 | INFO"),
        "{}",
        lines[0]
    );
}

#[test]
fn level_shows_that_level_and_more_severe_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let file = loguru_file(tmp.path());
    for level in ["warning", "WARN"] {
        let out = mhd(tmp.path())
            .args(["stats", "logs", "--file"])
            .arg(&file)
            .args(["--level", level, "--tail", "4"])
            .assert()
            .success();
        let lines = stdout_lines(&out.get_output().stdout);
        let heads: Vec<&str> = lines
            .iter()
            .filter(|l| l.starts_with("2025"))
            .map(|l| l.split(" | ").nth(1).unwrap())
            .collect();
        assert_eq!(
            heads,
            ["ERROR", "WARNING", "ERROR", "CRITICAL"],
            "{lines:#?}"
        );
        assert!(
            lines[0].starts_with("2025-01-06 14:47:00 | ERROR"),
            "{}",
            lines[0]
        );
    }
}

#[test]
fn a_bad_level_is_a_usage_error_listing_the_levels() {
    let tmp = tempfile::tempdir().unwrap();
    let file = loguru_file(tmp.path());
    mhd(tmp.path())
        .args(["stats", "logs", "--file"])
        .arg(&file)
        .args(["-l", "loud"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--level"))
        .stderr(predicate::str::contains(
            "TRACE, DEBUG, INFO, SUCCESS, WARNING, ERROR, CRITICAL",
        ));
}

#[test]
fn grep_ignores_case_and_filters_before_the_tail() {
    let tmp = tempfile::tempdir().unwrap();
    let file = loguru_file(tmp.path());
    let out = mhd(tmp.path())
        .args(["stats", "logs", "--file"])
        .arg(&file)
        .args(["-g", "DISK FULL", "-n", "2"])
        .assert()
        .success();
    assert_eq!(
        stdout_lines(&out.get_output().stdout),
        [
            "2025-01-06 14:47:00 | ERROR | mdm.storage.sqlite:write:88 - Error in register: disk full (attempt 47)",
            "2025-01-06 14:57:00 | ERROR | mdm.storage.sqlite:write:88 - Error in register: disk full (attempt 57)",
        ]
    );
    // A match in a continuation line selects the whole entry; unicode matches without case.
    let out = mhd(tmp.path())
        .args(["stats", "logs", "--file"])
        .arg(&file)
        .args(["--grep", "no space"])
        .assert()
        .success();
    assert_eq!(stdout_lines(&out.get_output().stdout).len(), 4);
    let out = mhd(tmp.path())
        .args(["stats", "logs", "--file"])
        .arg(&file)
        .args(["--grep", "« VENTES-53 »"])
        .assert()
        .success();
    assert_eq!(stdout_lines(&out.get_output().stdout).len(), 1);
}

#[test]
fn json_gives_time_level_source_and_message() {
    let tmp = tempfile::tempdir().unwrap();
    let file = loguru_file(tmp.path());
    let out = mhd(tmp.path())
        .args(["stats", "logs", "--json", "--level", "critical", "--file"])
        .arg(&file)
        .assert()
        .success();
    let v: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(
        v,
        serde_json::json!([{
            "time": "2025-01-06T15:00:00Z",
            "level": "CRITICAL",
            "source": "mdm.cli:main:12",
            "message": "Unhandled error\nTraceback (most recent call last):\n  File \"mdm/cli.py\", line 12, in main\nOSError: [Errno 28] No space left on device",
        }])
    );
    let out = mhd(tmp.path())
        .args(["stats", "logs", "--json", "-n", "3", "--file"])
        .arg(&file)
        .assert()
        .success();
    let v: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let levels: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["level"].as_str().unwrap())
        .collect();
    assert_eq!(levels, ["INFO", "CRITICAL", "DEBUG"]);
    assert_eq!(v[0]["message"], "Registered dataset sales_59 | rows=120");
}

#[test]
fn no_own_log_is_not_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    let want = format!(
        "No log file found at {}",
        home.join("logs").join("mhd.log").display()
    );
    mhd(&home)
        .args(["stats", "logs"])
        .assert()
        .success()
        .stdout(predicate::str::contains(want.clone()));
    mhd(&home)
        .args(["stats", "logs", "--json"])
        .assert()
        .success()
        .stdout("[]\n")
        .stderr(predicate::str::contains(want));
}

#[test]
fn a_missing_file_is_a_usage_error_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nope.log");
    mhd(tmp.path())
        .args(["stats", "logs", "--file"])
        .arg(&missing)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(missing.display().to_string()));
}

#[test]
fn the_own_log_is_read_across_rotations() {
    let tmp = tempfile::tempdir().unwrap();
    let logs = tmp.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let line = |i: u32, level: &str| {
        format!(
            "2025-01-06T14:{i:02}:00.000Z | {level} | record[42] mhd_cli::cmd::record:10 - op {i}\n"
        )
    };
    std::fs::write(
        logs.join("mhd.20250106T140200.000000000Z.log"),
        [line(0, "INFO"), line(1, "ERROR")].concat(),
    )
    .unwrap();
    std::fs::write(
        logs.join("mhd.20250106T140400.000000000Z.log"),
        [line(2, "INFO"), line(3, "INFO")].concat(),
    )
    .unwrap();
    std::fs::write(
        logs.join("mhd.log"),
        [line(4, "ERROR"), line(5, "INFO")].concat(),
    )
    .unwrap();
    let out = mhd(tmp.path())
        .args(["stats", "logs", "-n", "5"])
        .assert()
        .success();
    let lines = stdout_lines(&out.get_output().stdout);
    let ops: Vec<&str> = lines
        .iter()
        .map(|l| l.rsplit(" - ").next().unwrap())
        .collect();
    assert_eq!(ops, ["op 1", "op 2", "op 3", "op 4", "op 5"]);

    let out = mhd(tmp.path())
        .args(["stats", "logs", "--level", "error", "--json"])
        .assert()
        .success();
    let v: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let messages: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["message"].as_str().unwrap())
        .collect();
    assert_eq!(messages, ["op 1", "op 4"]);
    assert_eq!(v[0]["time"], "2025-01-06T14:01:00Z");
    assert_eq!(v[0]["source"], "record[42] mhd_cli::cmd::record:10");
}
