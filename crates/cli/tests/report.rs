//! `mhd report` end to end on a temporary home: the default file, `-o -`, PDF, and bad input
//! (exit status 2, a message naming the option, no file written).

use std::path::Path;

use assert_cmd::Command;

const HOSTILE: &str = "<img src=x onerror=alert(1)>";

fn mhd(home: &Path) -> Command {
    let mut c = Command::cargo_bin("mhd").unwrap();
    c.arg("--home")
        .arg(home)
        .env_remove("MHD_HOME")
        .env_remove("MHD_PLAN")
        .env("NO_COLOR", "1");
    c
}

/// A home with two recorded operations of today, one of them failed on a hostile dataset.
fn home() -> tempfile::TempDir {
    let home = tempfile::tempdir().unwrap();
    mhd(home.path())
        .args(["record", "--type", "migration", "--operation", "migrate"])
        .args(["--dataset", "sales"])
        .assert()
        .success();
    mhd(home.path())
        .args(["record", "--type", "migration", "--operation", "migrate"])
        .args(["--dataset", HOSTILE, "--failed", "--error", "disk full"])
        .assert()
        .success();
    home
}

fn today() -> time::Date {
    time::OffsetDateTime::now_utc().date()
}

#[test]
fn the_default_report_is_the_last_seven_days_as_html_in_the_current_folder() {
    let home = home();
    let cwd = tempfile::tempdir().unwrap();
    let out = mhd(home.path())
        .arg("report")
        .current_dir(cwd.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let name = format!(
        "mhd-report-{}-{}.html",
        today() - time::Duration::days(6),
        today()
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(&name), "{stdout}");
    let html = std::fs::read_to_string(cwd.path().join(&name)).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("Progress in the period"));
    assert!(html.contains("disk full"));
    assert!(!html.contains(HOSTILE), "the dataset name became markup");
    assert!(!html.contains("<script"));
}

#[test]
fn a_pdf_goes_where_it_is_told_and_html_to_standard_output() {
    let home = home();
    let dir = tempfile::tempdir().unwrap();
    let pdf = dir.path().join("week.pdf");
    mhd(home.path())
        .args(["report", "--format", "pdf", "-o"])
        .arg(&pdf)
        .assert()
        .success();
    let bytes = std::fs::read(&pdf).unwrap();
    assert!(bytes.starts_with(b"%PDF-"));
    assert!(bytes.trim_ascii_end().ends_with(b"%%EOF"));
    let from = (today() - time::Duration::days(1)).to_string();
    let out = mhd(home.path())
        .args(["report", "--from", &from, "-o", "-"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let html = String::from_utf8(out.stdout).unwrap();
    assert!(
        html.starts_with("<!DOCTYPE html>"),
        "only the report on stdout"
    );
    assert!(html.contains(&format!("{from} to {}", today())));
}

#[test]
fn bad_input_exits_2_naming_the_option_and_writes_nothing() {
    let home = home();
    let cwd = tempfile::tempdir().unwrap();
    let cases: [(&[&str], &str); 9] = [
        (&["--from", "2025-02-01", "--to", "2025-01-01"], "--from"),
        (&["--from", "2025-02-30"], "--from"),
        (&["--to", "next week"], "--to"),
        (&["--from", "2023-01-01", "--to", "2025-01-01"], "--to"),
        (&["--format", "docx"], "--format"),
        (&["--last", "14x"], "--last"),
        (&["--last", "36h"], "--last"),
        (&["--last", "400d"], "--last"),
        (&["--last", "7d", "--from", "2025-01-01"], "--last"),
    ];
    for (args, option) in cases {
        let out = mhd(home.path())
            .arg("report")
            .args(args)
            .current_dir(cwd.path())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(option), "{args:?}: {err}");
    }
    assert_eq!(
        std::fs::read_dir(cwd.path()).unwrap().count(),
        0,
        "no file written"
    );
}

#[test]
fn last_14d_is_the_fourteen_days_up_to_today() {
    let home = home();
    let cwd = tempfile::tempdir().unwrap();
    let out = mhd(home.path())
        .args(["report", "--last", "14d"])
        .current_dir(cwd.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let name = format!(
        "mhd-report-{}-{}.html",
        today() - time::Duration::days(13),
        today()
    );
    let html = std::fs::read_to_string(cwd.path().join(&name)).unwrap();
    assert!(html.contains("(14 days, UTC)"));
    assert!(html.contains("disk full"));
    // Two weeks written as weeks are the same days.
    let out = mhd(home.path())
        .args(["report", "--last", "2w", "-o", "-"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("(14 days, UTC)"));
}
