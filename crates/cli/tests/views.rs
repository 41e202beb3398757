//! The analysis views end to end: test reports and benchmarks in, the summary, timeline,
//! component matrix, test results and performance comparison out, as of a fixed date so the
//! JSON documents can be kept as snapshots.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

fn mhd(home: &Path) -> Command {
    let mut c = Command::cargo_bin("mhd").unwrap();
    c.arg("--home")
        .arg(home)
        .env_remove("MHD_HOME")
        .env_remove("MHD_PLAN")
        .env("NO_COLOR", "1");
    c
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../ingest/tests/fixtures")
}

fn json(c: &mut Command) -> Value {
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A migration that started 2025-01-06; by 2025-02-28 (week 8) 120 of 412 datasets are
/// migrated at about 3 a day, two were rolled back, the Tests phase is done and one milestone
/// reached.
fn week_eight_home() -> tempfile::TempDir {
    let home = tempfile::tempdir().unwrap();
    mhd(home.path())
        .args(["init", "--start", "2025-01-06"])
        .assert()
        .success();
    let mut lines = Vec::new();
    for i in 0..124 {
        let day = 14 + i / 3;
        let hour = 8 + (i % 3) * 3;
        let component = ["storage", "config", "features", "registration"][i as usize % 4];
        let ok = i % 31 != 5;
        lines.push(format!(
            r#"{{"timestamp":"2025-{:02}-{:02}T{hour:02}:00:00Z","metric_type":"migration","operation":"migrate","dataset_name":"ds{i}","component":"{component}","system":"new","duration_ms":{},"success":{ok}}}"#,
            if day < 31 { 1 } else { 2 },
            if day < 31 { day + 1 } else { day - 30 },
            1000 + i * 10,
        ));
    }
    for (i, day) in [(3, "2025-02-10"), (7, "2025-02-11")] {
        lines.push(format!(r#"{{"timestamp":"{day}T20:00:00Z","metric_type":"rollback","operation":"rollback","dataset_name":"ds{i}"}}"#));
    }
    lines.push(r#"{"timestamp":"2025-01-24T12:00:00Z","metric_type":"phase_complete","operation":"tests"}"#.into());
    lines.push(r#"{"timestamp":"2025-01-17T12:00:00Z","metric_type":"milestone","operation":"Characterization suite green"}"#.into());
    mhd(home.path())
        .args(["ingest", "operations", "-"])
        .write_stdin(lines.join("\n"))
        .assert()
        .success();
    home
}

#[test]
fn summary_and_timeline_as_of_a_date() {
    let home = week_eight_home();
    let s = json(mhd(home.path()).args(["summary", "--json", "--at", "2025-02-28"]));
    assert_eq!(s["week"], 8);
    assert_eq!(s["weeks"], 21);
    let k = &s["key_metrics"];
    assert_eq!(k["datasets_total"], 412);
    assert_eq!(k["rollback_count"], 2);
    let migrated = k["datasets_migrated"].as_u64().unwrap();
    assert!((110..=124).contains(&migrated), "{migrated}");
    let e = &s["estimated_completion"];
    assert!(e["p50"].as_str().unwrap() <= e["p85"].as_str().unwrap());
    assert!(e["p85"].as_str().unwrap() <= e["p95"].as_str().unwrap());
    assert_eq!(e["planned_end"], "2025-06-02");
    insta::assert_json_snapshot!("summary_week_8", s);

    // The same question asked twice gives the same forecast: it is seeded by its inputs.
    let again = json(mhd(home.path()).args(["summary", "--json", "--at", "2025-02-28"]));
    assert_eq!(again["estimated_completion"], s["estimated_completion"]);

    // As of an earlier day, fewer datasets are migrated.
    let earlier = json(mhd(home.path()).args(["summary", "--json", "--at", "2025-02-01"]));
    assert!(
        earlier["key_metrics"]["datasets_migrated"]
            .as_u64()
            .unwrap()
            < migrated
    );

    let t = json(mhd(home.path()).args(["timeline", "--json", "--at", "2025-02-28"]));
    let phases = t.as_array().unwrap();
    assert_eq!(phases.len(), 8);
    assert_eq!(phases[0]["id"], "tests");
    assert_eq!(phases[0]["status"], "completed");
    insta::assert_json_snapshot!("timeline_week_8", t);

    let text = mhd(home.path())
        .args(["timeline", "--at", "2025-02-28"])
        .output()
        .unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.starts_with("Week:"), "{text}");
    assert!(text.contains("▼"), "the today marker");
}

#[test]
fn plan_views_need_a_plan_and_a_valid_date() {
    let home = tempfile::tempdir().unwrap();
    let out = mhd(home.path()).args(["summary"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("mhd init"));
    mhd(home.path()).args(["init"]).assert().success();
    let out = mhd(home.path())
        .args(["timeline", "--at", "someday"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--at"));
}

#[test]
fn junit_reports_make_runs_and_the_tests_view() {
    let home = week_eight_home();
    let f = fixtures().join("junit");
    for (file, at) in [
        ("pytest.xml", "2025-02-26T10:00:00Z"),
        ("pytest.xml", "2025-02-27T10:00:00Z"),
    ] {
        mhd(home.path())
            .args([
                "ingest",
                "junit",
                "--suite",
                "unit",
                "--phase",
                "tests",
                "--component",
                "storage",
                "--run-at",
                at,
            ])
            .arg(f.join(file))
            .assert()
            .success();
    }
    mhd(home.path())
        .args([
            "ingest",
            "junit",
            "--suite",
            "e2e",
            "--run-at",
            "2025-02-27T11:00:00Z",
        ])
        .arg(f.join("jest.xml"))
        .arg(f.join("nextest.xml"))
        .assert()
        .success();
    let v = json(mhd(home.path()).args(["tests", "--json"]));
    let suites = v["suites"].as_array().unwrap();
    assert_eq!(suites.len(), 2);
    let e2e = &suites[0];
    assert_eq!(e2e["name"], "e2e");
    assert_eq!(
        e2e["results"]["total"], 16,
        "jest's 10 cases and nextest's 6 in one run"
    );
    let unit = &suites[1];
    assert_eq!(unit["results"]["total"], 11);
    assert_eq!(unit["results"]["failed"], 4);
    assert_eq!(unit["results"]["errors"], 2);
    assert_eq!(unit["results"]["skipped"], 3);
    assert_eq!(unit["trend"].as_array().unwrap().len(), 2);
    assert_eq!(unit["status"], "failing");
    let failing = unit["failing_tests"].as_array().unwrap();
    assert!(
        failing
            .iter()
            .all(|t| t["attempts"] == 2 && t["first_failed"] == "2025-02-26T10:00:00Z")
    );
    insta::assert_json_snapshot!("tests_view", v);

    // A bad report stores nothing; an unknown phase is refused.
    let out = mhd(home.path())
        .args(["ingest", "junit", "--suite", "unit"])
        .arg(f.join("truncated.xml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("truncated.xml:15:1"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = mhd(home.path())
        .args(["ingest", "junit", "--suite", "unit", "--phase", "nope"])
        .arg(f.join("pytest.xml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let v2 = json(mhd(home.path()).args(["tests", "--json"]));
    assert_eq!(v2, v, "nothing stored from the refused inputs");
}

#[test]
fn benchmarks_make_the_performance_comparison() {
    let home = week_eight_home();
    let f = fixtures().join("bench");
    mhd(home.path())
        .args(["ingest", "bench", "--component", "storage"])
        .arg(f.join("timings.csv"))
        .assert()
        .success();
    mhd(home.path())
        .args(["ingest", "bench", "--system", "old", "--operation", "sleep"])
        .arg(f.join("hyperfine-one.json"))
        .assert()
        .success();
    let v = json(mhd(home.path()).args(["perf", "--json"]));
    let c = v["comparisons"].as_array().unwrap();
    let reg = c
        .iter()
        .find(|x| x["operation"] == "dataset_register")
        .unwrap();
    assert_eq!(reg["old_samples"], 3);
    assert_eq!(reg["new_samples"], 2);
    assert_eq!(reg["regression"], false);
    assert!(
        reg["delta_percent"].as_f64().unwrap() < 0.0,
        "the new system is faster"
    );
    let sleep = c.iter().find(|x| x["operation"] == "sleep").unwrap();
    assert!(sleep["new_system"].is_null());
    insta::assert_json_snapshot!("performance", v);

    // --operation names one command only; an unknown shape is refused naming the file.
    let out = mhd(home.path())
        .args(["ingest", "bench", "--system", "new", "--operation", "x"])
        .arg(f.join("hyperfine-two.json"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--operation"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = mhd(home.path())
        .args(["ingest", "bench", "--system", "new"])
        .arg(fixtures().join("junit/pytest.xml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("pytest.xml"));

    let comps = json(mhd(home.path()).args(["components", "--json", "--at", "2025-02-28"]));
    let storage = comps
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["component"] == "storage")
        .unwrap();
    assert!(
        storage["performance_metrics"]["delta_percent"]
            .as_f64()
            .unwrap()
            < 0.0
    );
    assert_eq!(storage["new_version"]["version"], "new");
}

#[test]
fn the_forecast_backtest_replays_the_stores_history_and_the_corpus() {
    // Nothing stored: nothing to test on this store, and it says so; the corpus still runs.
    let empty = tempfile::tempdir().unwrap();
    let out = mhd(empty.path())
        .args(["forecast", "backtest", "--runs", "50", "--days", "40"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("This store: nothing to test yet"), "{text}");
    assert!(text.contains("Simulated migrations whose pace changes"));

    // Eight weeks of about three a day: every replayed day forecasts, and the shares are
    // shares.
    let home = week_eight_home();
    let v = json(mhd(home.path()).args([
        "forecast", "backtest", "--json", "--runs", "200", "--days", "40",
    ]));
    let store = &v["store"];
    assert_eq!(store["target"], 118, "the migrated datasets of today");
    assert!(store["forecasts"].as_u64().unwrap() > 20, "{store}");
    for q in ["p50", "p85", "p95"] {
        let c = store["coverage"][q].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&c), "{q}: {c}");
    }
    assert!(store["coverage"]["p95"].as_f64() >= store["coverage"]["p50"].as_f64());
    assert!(v["corpus"]["forecasts"].as_u64().unwrap() > 100);
    // Bad input names the option and changes nothing.
    let out = mhd(home.path())
        .args(["forecast", "backtest", "--runs", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--runs"));
}

/// A JUnit report of `n` cases in suites of 1,000, one in 50 failed, one in 100 errored, one in
/// 40 skipped (unless failed or errored), written to `path`; `broken_after` cuts it off there.
fn large_report(path: &Path, n: usize, broken_after: Option<usize>) {
    use std::io::Write;
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(
        f,
        "<?xml version=\"1.0\"?>\n<testsuites time=\"12.5\" timestamp=\"2025-02-26T10:00:00\">"
    )
    .unwrap();
    for i in 0..n {
        if i % 1000 == 0 {
            if i > 0 {
                writeln!(f, "</testsuite>").unwrap();
            }
            writeln!(f, "<testsuite name=\"s{}\">", i / 1000).unwrap();
        }
        if broken_after == Some(i) {
            writeln!(f, "<testcase name=\"broken\"").unwrap();
            return;
        }
        let body = if i % 50 == 3 {
            "<failure message=\"expected 1\">trace</failure>"
        } else if i % 100 == 7 {
            "<error message=\"boom\"/>"
        } else if i % 40 == 11 {
            "<skipped/>"
        } else {
            ""
        };
        writeln!(
            f,
            "<testcase classname=\"c{}\" name=\"test_{i}\" time=\"0.001\">{body}</testcase>",
            i % 7
        )
        .unwrap();
    }
    writeln!(f, "</testsuite>\n</testsuites>").unwrap();
}

#[test]
fn a_large_junit_report_is_stored_whole_and_a_broken_one_not_at_all() {
    let home = week_eight_home();
    let n = 20_000;
    let (failed, errors) = (
        (0..n).filter(|i| i % 50 == 3).count(),
        (0..n).filter(|i| i % 100 == 7).count(),
    );
    let skipped = (0..n)
        .filter(|i| i % 50 != 3 && i % 100 != 7 && i % 40 == 11)
        .count();
    let report = home.path().join("large.xml");
    large_report(&report, n, None);
    let stored = json(
        mhd(home.path())
            .args(["ingest", "junit", "--suite", "large", "--json"])
            .arg(&report),
    );
    let results = &stored["results"];
    assert_eq!(results["total"], n);
    assert_eq!(results["failed"], failed + errors);
    assert_eq!(results["errors"], errors);
    assert_eq!(results["skipped"], skipped);
    assert_eq!(results["passed"], n - failed - errors - skipped);
    assert_eq!(stored["run_at"], "2025-02-26T10:00:00Z");
    assert!((results["duration"].as_f64().unwrap() - 20.0).abs() < 1e-6);

    let v = json(mhd(home.path()).args(["tests", "--json"]));
    let suite = v["suites"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "large")
        .unwrap();
    assert_eq!(suite["results"], *results);
    assert_eq!(
        suite["failing_tests"].as_array().unwrap().len(),
        failed + errors,
        "every failed and errored case is listed"
    );

    // Cut off after more cases than one batch holds: nothing of it is stored.
    let broken = home.path().join("broken.xml");
    large_report(&broken, n, Some(15_000));
    let out = mhd(home.path())
        .args(["ingest", "junit", "--suite", "broken"])
        .arg(&broken)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("broken.xml:"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(json(mhd(home.path()).args(["tests", "--json"])), v);
}
