//! A store made by the previous release, opened by this one. The fixture in
//! `tests/fixtures/previous-release` is a whole home (`mhd.db`, `migration.toml`) that the
//! binary of commit 77b70a6 (schema version 10) made with its command line only, and `expected/`
//! holds what that release printed about it (see `make.sh` there). Each test works on a copy.
//!
//! The store is read with the `sqlite3` command-line tool, which CI installs.

use std::io::{Read as _, Write as _};
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

/// The previous release's home and what it printed.
fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/previous-release")
}

/// The day the plan-driven views are asked about (`--at`), as `make.sh` asked.
const AT: &str = "2026-11-20";

/// The schema version of the previous release.
const PREVIOUS_VERSION: i64 = 10;

fn mhd(home: &Path) -> Command {
    let mut c = Command::cargo_bin("mhd").unwrap();
    c.arg("--home")
        .arg(home)
        .env_remove("MHD_HOME")
        .env_remove("MHD_PLAN")
        .env_remove("MHD_DATABASE_URL")
        .env("NO_COLOR", "1");
    c
}

/// Runs `mhd ARGS` and reads its standard output as JSON.
fn json_of(home: &Path, args: &[&str]) -> Value {
    let out = mhd(home).args(args).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "mhd {args:?}: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("mhd {args:?}: {e}: {stdout}"))
}

/// What the previous release printed, `expected/NAME.json`.
fn expected(name: &str) -> Value {
    let path = fixture().join("expected").join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    serde_json::from_str(&text).unwrap()
}

/// A home holding a copy of the fixture.
fn copied_home() -> tempfile::TempDir {
    let home = tempfile::tempdir().unwrap();
    for file in ["mhd.db", "migration.toml"] {
        std::fs::copy(fixture().join(file), home.path().join(file)).unwrap();
    }
    home
}

/// The answer of the `sqlite3` tool to `sql` on the store at `db`, one line per row.
fn sqlite(db: &Path, sql: &str) -> String {
    let out = std::process::Command::new("sqlite3")
        .args(["-batch", "-bail"])
        .arg(db)
        .arg(sql)
        .output()
        .unwrap_or_else(|e| {
            panic!("this test reads the store with sqlite3 (apt-get install sqlite3): {e}")
        });
    assert!(
        out.status.success(),
        "sqlite3 {sql:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim_end().to_owned()
}

fn user_version(db: &Path) -> i64 {
    sqlite(db, "PRAGMA user_version").parse().unwrap()
}

/// A digest of everything the store holds, schema and rows (SQLite's `.sha3sum`).
fn content_digest(db: &Path) -> String {
    sqlite(db, ".sha3sum --schema")
}

/// Where `new` differs from `old` in the fields both have: objects are compared on their
/// common keys, arrays element by element (and by length), numbers within a rounding error
/// (sums may be added in another order), everything else exactly. Keys `old` has and `new`
/// lacks go to `missing`.
fn differences(
    path: &str,
    old: &Value,
    new: &Value,
    diffs: &mut Vec<String>,
    missing: &mut Vec<String>,
) {
    match (old, new) {
        (Value::Object(o), Value::Object(n)) => {
            for (key, old_value) in o {
                let here = format!("{path}.{key}");
                match n.get(key) {
                    Some(new_value) => differences(&here, old_value, new_value, diffs, missing),
                    None => missing.push(here),
                }
            }
        }
        (Value::Array(o), Value::Array(n)) => {
            if o.len() != n.len() {
                diffs.push(format!("{path}: {} items, now {}", o.len(), n.len()));
            }
            for (i, (old_value, new_value)) in o.iter().zip(n).enumerate() {
                differences(
                    &format!("{path}[{i}]"),
                    old_value,
                    new_value,
                    diffs,
                    missing,
                );
            }
        }
        (Value::Number(o), Value::Number(n)) => {
            let (o, n) = (o.as_f64().unwrap(), n.as_f64().unwrap());
            if (o - n).abs() > 1e-9 * o.abs().max(n.abs()).max(1.0) {
                diffs.push(format!("{path}: {o}, now {n}"));
            }
        }
        _ if old == new => {}
        _ => diffs.push(format!("{path}: {old}, now {new}")),
    }
}

/// Asserts that `new` has every field of `old` and the same value in each (see
/// [`differences`]).
fn assert_same_figures(name: &str, old: &Value, new: &Value) {
    let (mut diffs, mut missing) = (Vec::new(), Vec::new());
    differences(name, old, new, &mut diffs, &mut missing);
    assert!(
        diffs.is_empty(),
        "{name}: answered otherwise than before:\n{}",
        diffs.join("\n")
    );
    assert!(
        missing.is_empty(),
        "{name}: fields printed before are gone:\n{}",
        missing.join("\n")
    );
}

/// The array `v` ordered by the field `key` of its elements (lists whose order is not what is
/// compared).
fn by_key(v: &Value, key: &str) -> Value {
    let mut items = v.as_array().unwrap().clone();
    items.sort_by_key(|item| item[key].to_string());
    Value::Array(items)
}

/// Takes `field` out of every element of the array `v` (or out of `v` itself when it is an
/// object); `field` may name a nested one, `a.b`.
fn remove(v: &mut Value, field: &str) {
    let items: Vec<&mut Value> = match v {
        Value::Array(items) => items.iter_mut().collect(),
        other => vec![other],
    };
    for item in items {
        let mut at = item;
        let mut parts: Vec<&str> = field.split('.').collect();
        let last = parts.pop().unwrap();
        for p in parts {
            at = at.get_mut(p).unwrap();
        }
        at.as_object_mut().unwrap().remove(last);
    }
}

#[test]
fn a_store_of_the_previous_release_is_upgraded_in_place_and_answers_the_same() {
    let home = copied_home();
    let h = home.path();
    let db = h.join("mhd.db");
    assert_eq!(user_version(&db), PREVIOUS_VERSION);
    let inode = std::fs::metadata(&db).unwrap().ino();

    // The first command opens it: upgraded, in the same file.
    let stats = json_of(h, &["stats", "summary", "--json"]);
    assert_eq!(user_version(&db), mhd_store::SCHEMA_VERSION);
    assert_eq!(
        std::fs::metadata(&db).unwrap().ino(),
        inode,
        "the store is upgraded in place, not made anew"
    );
    assert_eq!(sqlite(&db, "PRAGMA integrity_check"), "ok");
    assert_eq!(sqlite(&db, "PRAGMA foreign_key_check"), "");
    let upgraded = content_digest(&db);

    // Every row is still there.
    let Value::Object(tables) = expected("tables") else {
        panic!("tables.json holds an object");
    };
    for (table, rows) in &tables {
        let now: u64 = sqlite(&db, &format!("SELECT COUNT(*) FROM \"{table}\""))
            .parse()
            .unwrap();
        assert_eq!(Some(now), rows.as_u64(), "rows of {table}");
    }

    // The schema is the one a new store gets.
    let fresh = tempfile::tempdir().unwrap();
    json_of(fresh.path(), &["stats", "summary", "--json"]);
    let schema = "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name";
    assert_eq!(
        sqlite(&db, schema),
        sqlite(&fresh.path().join("mhd.db"), schema),
        "the upgraded schema differs from a new store's"
    );

    // Every figure the previous release printed is the same.
    assert_same_figures("stats summary", &expected("stats-summary"), &stats);
    assert_same_figures(
        "stats show",
        &expected("stats-show"),
        &json_of(h, &["stats", "show", "--json", "-n", "100000"]),
    );
    for dataset in ["ds-03", "ds-05", "ds-08", "ds-11", "ds-21", "ds-24"] {
        assert_same_figures(
            &format!("stats dataset {dataset}"),
            &expected(&format!("stats-dataset-{dataset}")),
            &json_of(h, &["stats", "dataset", dataset, "--json"]),
        );
    }
    assert_same_figures(
        "tests",
        &expected("tests"),
        &json_of(h, &["tests", "--json"]),
    );
    assert_same_figures("perf", &expected("perf"), &json_of(h, &["perf", "--json"]));
    assert_same_figures(
        "user list",
        &expected("users"),
        &json_of(h, &["user", "list", "--json"]),
    );
    assert_same_figures(
        "token list",
        &expected("tokens"),
        &json_of(h, &["token", "list", "--json"]),
    );
    assert_same_figures(
        "audit",
        &expected("audit"),
        &json_of(h, &["audit", "--json"]),
    );
    // The alerts as they were, whatever order they are listed in. (The silence lasts 90 days
    // from when the fixture was made; its row is counted above.)
    let mut alerts = json_of(h, &["alerts", "--json", "--all"]);
    // A resolution is now an object, whose `resolution_type` is the word printed before.
    for alert in alerts["resolved"].as_array_mut().unwrap() {
        let kind = alert["resolution"]["resolution_type"].clone();
        alert["resolution"] = kind;
    }
    let old_alerts = expected("alerts");
    for list in ["active", "resolved"] {
        assert_same_figures(
            &format!("alerts {list}"),
            &by_key(&old_alerts[list], "id"),
            &by_key(&alerts[list], "id"),
        );
    }
    assert_eq!(
        old_alerts["active"].as_array().unwrap().len()
            + old_alerts["resolved"].as_array().unwrap().len(),
        4,
        "the fixture has alerts firing and resolved"
    );

    // The plan-driven views, on what this release computes as the previous one did.
    assert_same_figures(
        "summary",
        &without_forecast(expected("summary")),
        &without_forecast(json_of(h, &["summary", "--json", "--at", AT])),
    );
    let timeline = |mut v: Value| {
        // A phase's projected end and slip are this release's own; its risk is raised by
        // the slip.
        for field in ["projected_end", "slip_days", "risk_level"] {
            remove(&mut v, field);
        }
        v
    };
    assert_same_figures(
        "timeline",
        &timeline(expected("timeline")),
        &timeline(json_of(h, &["timeline", "--json", "--at", AT])),
    );
    assert_same_components(
        &expected("components"),
        &json_of(h, &["components", "--json", "--at", AT]),
    );

    // Opening it again, for all those reads, changed nothing.
    assert_eq!(
        content_digest(&db),
        upgraded,
        "a second open changed the store"
    );
    assert_eq!(user_version(&db), mhd_store::SCHEMA_VERSION);
}

/// The executive summary without the completion forecast, which this release reads from
/// daily counts with another model, and the sentences that quote it.
fn without_forecast(mut summary: Value) -> Value {
    for field in ["estimated_completion", "recommendations", "health_reasons"] {
        remove(&mut summary, field);
    }
    summary
}

/// The component matrix as the previous release printed it (`old`) against this release's
/// (`new`), component by component: the same figures but for the p95 durations, which this
/// release reads from per-hour histograms (within 10 % of the exact value, see
/// `mhd_core::sketch`), and the total of datasets, which it only takes from the plan.
fn assert_same_components(old: &Value, new: &Value) {
    let (mut old, mut new) = (by_key(old, "component"), by_key(new, "component"));
    for (o, n) in old.as_array().unwrap().iter().zip(new.as_array().unwrap()) {
        for system in ["old_version", "new_version"] {
            let p95 = |v: &Value| v[system]["metrics"]["response_time_p95"].as_f64().unwrap();
            let (exact, estimated) = (p95(o), p95(n));
            assert!(
                (estimated - exact).abs() <= 0.1 * exact,
                "{} {system}: p95 {exact} ms before, {estimated} ms now",
                o["component"]
            );
        }
    }
    for v in [&mut old, &mut new] {
        for field in [
            "old_version.metrics.response_time_p95",
            "new_version.metrics.response_time_p95",
            "migration_status.total",
            "migration_status.percent",
        ] {
            remove(v, field);
        }
    }
    assert_same_figures("components", &old, &new);
}

/// The test reports and benchmark files the fixture's store was given (by `make.sh`), with
/// their arguments (`mhd ingest …`; files relative to `crates/ingest/tests/fixtures`).
const REPORTS: &[&str] = &[
    "junit junit/nextest.xml --suite unit --component storage --run-at 2026-10-20T12:00:00Z",
    "junit junit/pytest.xml --suite unit --component storage --run-at 2026-11-18T12:00:00Z",
    "junit junit/jest.xml junit/phpunit.xml --suite integration --phase validation \
     --run-at 2026-11-19T12:00:00Z",
    "junit junit/surefire.xml --suite storage-suite --phase storage --component storage \
     --run-at 2026-11-20T12:00:00Z",
    "bench bench/hyperfine-one.json --system old --operation sleep --component config",
    "bench bench/hyperfine-params.json --system new --component config",
    "bench bench/criterion --system new --component features",
    "bench bench/timings.csv --component storage",
];

/// What the upgrade computes from the rows it finds — each dataset's state, the daily
/// migration counts, the per-hour component histograms — is what this release computes when
/// it is given the same records itself: the upgraded store and a new one fed the fixture's
/// operations, test reports and benchmarks answer every view alike, fields new in this release
/// included.
#[test]
fn an_upgraded_store_answers_like_a_new_store_given_the_same_records() {
    let upgraded = copied_home();
    let fresh = tempfile::tempdir().unwrap();
    std::fs::copy(
        fixture().join("migration.toml"),
        fresh.path().join("migration.toml"),
    )
    .unwrap();

    // The operations as the previous release listed them, oldest first, in NDJSON.
    let mut ops = expected("stats-show").as_array().unwrap().clone();
    ops.sort_by_key(|o| o["id"].as_i64().unwrap());
    let mut ndjson = String::new();
    for mut op in ops {
        let fields = op.as_object_mut().unwrap();
        fields.remove("id");
        fields.retain(|_, v| !v.is_null());
        ndjson.push_str(&format!("{op}\n"));
    }
    let file = fresh.path().join("operations.ndjson");
    std::fs::write(&file, ndjson).unwrap();
    mhd(fresh.path())
        .args(["ingest", "operations"])
        .arg(&file)
        .assert()
        .success();
    let inputs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ingest/tests/fixtures");
    for report in REPORTS {
        let args: Vec<String> = report
            .split_whitespace()
            .map(|a| {
                if a.starts_with("junit/") || a.starts_with("bench/") {
                    inputs.join(a).display().to_string()
                } else {
                    a.to_owned()
                }
            })
            .collect();
        mhd(fresh.path())
            .arg("ingest")
            .args(&args)
            .assert()
            .success();
    }

    let views: &[&[&str]] = &[
        &["stats", "summary", "--json"],
        &["summary", "--json", "--at", AT],
        &["timeline", "--json", "--at", AT],
        &["components", "--json", "--at", AT],
        &["tests", "--json"],
        &["perf", "--json"],
    ];
    for view in views {
        let (mine, theirs) = (json_of(upgraded.path(), view), json_of(fresh.path(), view));
        // Both ways, so that neither has a field the other lacks.
        assert_same_figures(&view.join(" "), &theirs, &mine);
        assert_same_figures(&view.join(" "), &mine, &theirs);
    }
}

/// Sends one HTTP/1.1 request to a served `mhd`; its status and whole answer.
fn request(addr: std::net::SocketAddr, head: &str, body: &str) -> (u16, String) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "{head}\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
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
    (status, answer)
}

/// `mhd serve` on a free port of the loopback address, stopped when dropped.
struct Served {
    child: std::process::Child,
    addr: std::net::SocketAddr,
}

impl Served {
    fn start(home: &Path) -> Served {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_mhd"))
            .arg("--home")
            .arg(home)
            .args(["serve", "--bind", "127.0.0.1:0"])
            .env_remove("MHD_BIND")
            .env_remove("MHD_HOME")
            .env_remove("MHD_PLAN")
            .env_remove("MHD_DATABASE_URL")
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
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The users and tokens made by the previous release sign in to this one: passwords (Argon2id
/// hashes) and tokens (SHA-256 digests) are read as they were stored.
#[test]
fn users_and_tokens_of_the_previous_release_still_sign_in() {
    let home = copied_home();
    let served = Served::start(home.path());
    let sign_in = |name: &str, password: &str| {
        let body = format!("name={name}&password={}", password.replace(' ', "+"));
        request(
            served.addr,
            "POST /signin HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded",
            &body,
        )
    };
    let (status, answer) = sign_in("alice", "fixture password 1");
    assert_eq!(status, 303, "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("set-cookie:"),
        "{answer}"
    );
    assert_eq!(sign_in("bob", "fixture password 2").0, 303);
    assert_eq!(sign_in("alice", "fixture password 2").0, 401);

    let token = |file: &str| {
        std::fs::read_to_string(fixture().join(file))
            .unwrap()
            .trim()
            .to_owned()
    };
    let read_with = |secret: &str| {
        request(
            served.addr,
            &format!("GET /api/v1/health/summary HTTP/1.1\r\nAuthorization: Bearer {secret}"),
            "",
        )
    };
    let (status, answer) = read_with(&token("dashboard.token"));
    assert_eq!(status, 200, "the viewer token reads: {answer}");
    // The ingest token is known, and only allowed to write.
    assert_eq!(read_with(&token("ci.token")).0, 403);
    assert_eq!(read_with("mhd_not-a-token-anyone-was-given").0, 401);
}

/// A store the program may not write is not upgraded: the command fails, says which file and
/// why, and the file is left as it was. Needs a user the file's permissions apply to: when the
/// test runs as root, the command runs as `nobody` through `setpriv`, or the test is skipped.
#[test]
fn a_read_only_store_of_the_previous_release_is_refused_and_left_unchanged() {
    let home = copied_home();
    let db = home.path().join("mhd.db");
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o444)).unwrap();
    let mut command = if std::fs::OpenOptions::new().write(true).open(&db).is_err() {
        std::process::Command::new(env!("CARGO_BIN_EXE_mhd"))
    } else {
        // Root writes any file: run as nobody, in a home of nobody's, the store root's.
        const NOBODY: u32 = 65534;
        let setpriv = std::process::Command::new("setpriv")
            .arg("--version")
            .output();
        if !setpriv.is_ok_and(|o| o.status.success()) {
            eprintln!("running as root without setpriv: skipped");
            return;
        }
        std::fs::set_permissions(home.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        std::os::unix::fs::chown(home.path(), Some(NOBODY), Some(NOBODY)).unwrap();
        let mut c = std::process::Command::new("setpriv");
        c.args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            env!("CARGO_BIN_EXE_mhd"),
        ]);
        c
    };
    let out = command
        .arg("--home")
        .arg(home.path())
        .args(["stats", "summary", "--json"])
        .env_remove("MHD_HOME")
        .env_remove("MHD_PLAN")
        .env_remove("MHD_DATABASE_URL")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if stderr.contains("Permission denied") && !stderr.contains("mhd.db") {
        eprintln!("nobody cannot run the test binary here ({stderr}): skipped");
        return;
    }
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(out.stdout.is_empty());
    assert!(
        stderr.contains(&db.display().to_string()) && stderr.contains("may not write it"),
        "{stderr}"
    );
    // Nothing was left beside it that would fail the next open once it is writable.
    for suffix in ["-wal", "-shm"] {
        let beside = home.path().join(format!("mhd.db{suffix}"));
        assert!(!beside.exists(), "{} left behind", beside.display());
    }
    assert_eq!(
        std::fs::read(&db).unwrap(),
        std::fs::read(fixture().join("mhd.db")).unwrap(),
        "the read-only store was changed"
    );
    assert_eq!(user_version(&db), PREVIOUS_VERSION);
}
