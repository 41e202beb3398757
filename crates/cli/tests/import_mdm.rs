//! `mhd import mdm`: databases written by Python's own `sqlite3` exactly as MDM writes them
//! (`tests/fixtures/make_mdm_db.py`), imported by the real binary and read back through
//! `mhd stats`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command as StdCommand;

use assert_cmd::Command;
use serde_json::{Value, json};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/make_mdm_db.py");

/// Runs the fixture script; `None` (with a notice) when python3 is not installed.
fn make_db(dir: &Path, name: &str, flags: &[&str]) -> Option<PathBuf> {
    let out = dir.join(name);
    match StdCommand::new("python3")
        .arg(SCRIPT)
        .arg(&out)
        .args(flags)
        .output()
    {
        Ok(o) => {
            assert!(
                o.status.success(),
                "{SCRIPT} failed: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            Some(out)
        }
        Err(e) => {
            eprintln!("SKIPPED: python3 is needed to write MDM's database ({e})");
            None
        }
    }
}

fn mhd(home: &Path) -> Command {
    let mut c = Command::cargo_bin("mhd").unwrap();
    c.arg("--home")
        .arg(home)
        .env_remove("MHD_HOME")
        .env_remove("MHD_PLAN")
        .env("NO_COLOR", "1");
    c
}

fn json_of(out: &[u8]) -> Value {
    serde_json::from_slice(out).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(out)))
}

fn import_json(home: &Path, db: &Path) -> Value {
    let out = mhd(home)
        .args(["import", "mdm", "--utc-offset", "+02:00", "--json"])
        .arg(db)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    json_of(&out)
}

#[test]
fn an_mdm_database_imports_once_and_shows_in_stats() {
    let dir = tempfile::tempdir().unwrap();
    let Some(db) = make_db(dir.path(), "metrics.db", &[]) else {
        return;
    };
    let before = std::fs::read(&db).unwrap();
    let home = dir.path().join("home");

    assert_eq!(
        import_json(&home, &db),
        json!({"inserted": 20, "skipped": 0, "rejected": 0})
    );
    // The same file again adds nothing.
    assert_eq!(
        import_json(&home, &db),
        json!({"inserted": 0, "skipped": 20, "rejected": 0})
    );
    assert_eq!(
        std::fs::read(&db).unwrap(),
        before,
        "the MDM file must not change"
    );

    let out = mhd(&home)
        .args(["stats", "summary", "--json"])
        .assert()
        .success();
    let s = json_of(&out.get_output().stdout);
    assert_eq!(s["overall"]["total_operations"], 20);
    assert_eq!(s["overall"]["successful_operations"], 16);
    let avg = s["overall"]["avg_duration_ms"].as_f64().unwrap();
    assert!((avg - 1664.55 / 16.0).abs() < 1e-9, "{avg}");
    // MDM's latest row, 14:23:12.123456 at +02:00.
    assert_eq!(
        s["overall"]["last_operation"],
        "2025-01-06T12:23:12.123456Z"
    );
    let by_type: HashMap<String, (u64, u64)> = s["by_type"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let n = |k: &str| t[k].as_u64().unwrap();
            (
                t["metric_type"].as_str().unwrap().to_owned(),
                (n("count"), n("error_count")),
            )
        })
        .collect();
    let want: HashMap<String, (u64, u64)> = [
        ("dataset_register", (4, 0)),
        ("dataset_read", (3, 1)),
        ("dataset_export", (2, 1)),
        ("feature_generation", (3, 0)),
        ("query_execution", (4, 1)),
        ("error", (1, 1)),
        ("storage_operation", (3, 0)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(by_type, want);
    assert_eq!(
        s["dataset_stats"],
        json!({"total_datasets": 4, "datasets_registered": 4})
    );
    let errors = s["recent_errors"].as_array().unwrap();
    assert_eq!(errors.len(), 4);
    assert_eq!(errors[0]["metric_type"], "error");
    assert_eq!(
        errors[0]["error_message"],
        "Traceback (most recent call last):\n  ...\nValueError: bad value"
    );

    let out = mhd(&home)
        .args(["stats", "show", "--json", "-n", "100"])
        .assert()
        .success();
    let ops = json_of(&out.get_output().stdout);
    let ops = ops.as_array().unwrap();
    assert_eq!(ops.len(), 20);
    // Every MDM row has its own time; index the operations by it.
    let at: HashMap<&str, &Value> = ops
        .iter()
        .map(|o| (o["timestamp"].as_str().unwrap(), o))
        .collect();
    assert_eq!(at.len(), 20);
    let row = |local_minute: u32| -> &Value {
        // Row k of the fixture is at 14:03:12.123456 + k minutes local time, UTC+2.
        let t = format!("2025-01-06T12:{:02}:12.123456Z", 3 + local_minute);
        at.get(t.as_str())
            .unwrap_or_else(|| panic!("no operation at {t}"))
    };

    let sales = row(1);
    assert_eq!(sales["metric_type"], "dataset_register");
    assert_eq!(sales["operation"], "register_dataset");
    assert_eq!(sales["dataset_name"], "sales");
    assert_eq!(sales["duration_ms"], 120.5);
    assert_eq!(sales["row_count"], 1000);
    assert_eq!(sales["success"], true);
    assert_eq!(
        sales["metadata"],
        json!({"source": "/data/sales.csv", "format": "csv", "columns": ["id", "amount"], "size_mb": 12.5})
    );
    assert_eq!(
        row(2)["metadata"],
        json!({"description": "naïve café ✓", "owner": "O'Brien", "quote": "say \"hi\""})
    );
    assert_eq!(row(3)["dataset_name"], "<script>alert(1)</script>");
    assert_eq!(row(3)["metadata"], json!({"note": "<b>bold</b> & 'more'"}));
    assert_eq!(
        row(4)["metadata"],
        json!({"columns": ["id", "amount"], "filters": null, "limit": 10})
    );
    let failed = row(5);
    assert_eq!(failed["success"], false);
    assert_eq!(
        failed["error_message"],
        "FileNotFoundError: [Errno 2] No such file or directory: 'customers.parquet'"
    );
    assert_eq!(
        failed["metadata"],
        json!({"path": "C:\\data\\customers.parquet"})
    );
    assert_eq!(row(7)["metadata"], Value::Null);
    assert_eq!(
        row(8)["metadata"],
        json!({"features": ["a", "b"], "params": {"window": 7, "ratio": 0.25, "enabled": true},
               "nested": {"k": [1, 2], "s": [3], "neg": -4, "big": 1099511627776u64}})
    );
    // What JSON cannot hold faithfully is kept exactly as MDM wrote it.
    assert_eq!(
        row(9)["metadata"],
        "{'when': datetime.datetime(2025, 1, 6, 0, 0), 'rows': 250}"
    );
    assert_eq!(
        row(10)["metadata"],
        json!({"query": "SELECT * FROM \"sales\" WHERE note = 'it''s'", "rows": 42})
    );
    assert_eq!(row(12)["duration_ms"], Value::Null);
    assert_eq!(
        row(13)["metadata"],
        json!({"backend": "sqlite", "bytes": 1048576, "ratio": 1e-05})
    );
    assert_eq!(row(14)["metadata"], Value::Null);
    assert_eq!(row(16)["metadata"], Value::Null);
    assert_eq!(row(17)["metadata"], "{'huge': 1180591620717411303424}");
    assert_eq!(row(18)["metadata"], "{1: 'a'}");
    assert_eq!(
        row(19)["metadata"],
        json!({"text": "line1\nline2\ttab", "esc": "\u{1b}[31mred", "emoji": "😀"})
    );
    assert_eq!(row(20)["metadata"], "{'ratio': inf}");
    // Microseconds 0: Python wrote "2025-01-06 09:00:00", local time at +02:00.
    let early = at
        .get("2025-01-06T07:00:00Z")
        .expect("the row written without microseconds");
    assert_eq!(early["dataset_name"], "inventory");
    assert_eq!(early["metadata"], json!({"rows": 5}));
}

#[test]
fn the_summary_line_names_the_file_and_counts() {
    let dir = tempfile::tempdir().unwrap();
    let Some(db) = make_db(dir.path(), "metrics.db", &[]) else {
        return;
    };
    let home = dir.path().join("home");
    let shown = db.display().to_string();
    mhd(&home)
        .args(["import", "mdm", "--utc-offset=-05:00"])
        .arg(&db)
        .assert()
        .success()
        .stdout(format!(
            "Imported 20 operations from {shown} (0 already imported, 0 rejected)\n"
        ));
    let out = mhd(&home)
        .args(["stats", "show", "--json", "-n", "1"])
        .assert()
        .success();
    // 14:23:12.123456 at -05:00.
    assert_eq!(
        json_of(&out.get_output().stdout)[0]["timestamp"],
        "2025-01-06T19:23:12.123456Z"
    );
}

#[test]
fn a_file_that_is_not_an_mdm_database_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let Some(foreign) = make_db(dir.path(), "users.db", &["--foreign"]) else {
        return;
    };
    let Some(garbage) = make_db(dir.path(), "notes.db", &["--garbage"]) else {
        return;
    };
    let missing = dir.path().join("missing.db");
    let cases: [(&Path, &str); 4] = [
        (
            &foreign,
            "is not an MDM metrics database: no table `metrics`",
        ),
        (
            &garbage,
            "is not an MDM metrics database: not an SQLite database (file is not a database)",
        ),
        (&missing, "cannot open"),
        (dir.path(), "cannot open"),
    ];
    for (path, want) in cases {
        let home = dir.path().join("home");
        let before = std::fs::read(path).ok();
        let out = mhd(&home)
            .args(["import", "mdm"])
            .arg(path)
            .assert()
            .code(2);
        let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
        assert!(err.contains(want), "{}: {err}", path.display());
        assert!(
            err.contains(&path.display().to_string()),
            "the message must name the file: {err}"
        );
        assert!(
            !home.join("mhd.db").exists(),
            "{}: the store must not be created",
            path.display()
        );
        assert_eq!(
            std::fs::read(path).ok(),
            before,
            "{} must not change",
            path.display()
        );
    }
    assert!(!missing.exists(), "a missing source must not be created");
}

#[test]
fn rows_that_cannot_convert_are_reported_and_strict_imports_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let Some(db) = make_db(dir.path(), "metrics.db", &["--bad-rows"]) else {
        return;
    };
    let home = dir.path().join("home");
    let shown = db.display().to_string();

    let out = mhd(&home)
        .args([
            "import",
            "mdm",
            "--strict",
            "--json",
            "--utc-offset",
            "+02:00",
        ])
        .arg(&db)
        .assert()
        .code(2);
    assert_eq!(
        json_of(&out.get_output().stdout),
        json!({"inserted": 0, "skipped": 0, "rejected": 2})
    );
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        err.contains(&format!("{shown}: row id 21: timestamp \"yesterday\"")),
        "{err}"
    );
    assert!(
        err.contains(&format!("{shown}: row id 22: field `duration_ms`")),
        "{err}"
    );
    assert!(
        !home.join("mhd.db").exists(),
        "--strict must not create the store"
    );

    // Without --strict the good rows are imported: partly stored, status 3.
    let out = mhd(&home)
        .args(["import", "mdm", "--utc-offset", "+02:00"])
        .arg(&db)
        .assert()
        .code(3);
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert_eq!(
        stdout,
        format!("Imported 20 operations from {shown} (0 already imported, 2 rejected)\n")
    );
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(err.contains("row id 22"), "{err}");
    assert!(err.contains("partly imported (exit status 3)"), "{err}");
    // Again: nothing is added, the same rows are rejected, nothing changed: status 2.
    let out = mhd(&home)
        .args(["import", "mdm", "--utc-offset", "+02:00"])
        .arg(&db)
        .assert()
        .code(2);
    assert_eq!(
        String::from_utf8_lossy(&out.get_output().stdout),
        format!("Imported 0 operations from {shown} (20 already imported, 2 rejected)\n")
    );
    let out = mhd(&home)
        .args(["stats", "summary", "--json"])
        .assert()
        .success();
    assert_eq!(
        json_of(&out.get_output().stdout)["overall"]["total_operations"],
        20
    );
}
