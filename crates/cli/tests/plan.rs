//! `mhd init` and `mhd check`, run as the real binary on a temporary home.

use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;

fn mhd(home: &Path) -> Command {
    let mut cmd = Command::cargo_bin("mhd").expect("the mhd binary");
    cmd.arg("--home")
        .arg(home)
        .env_remove("MHD_HOME")
        .env_remove("MHD_PLAN")
        .env("NO_COLOR", "1");
    cmd
}

#[test]
fn init_then_check_passes() {
    let home = tempfile::tempdir().expect("temp dir");
    let home = home.path().join("new-home");
    mhd(&home)
        .args(["init", "--start", "2025-01-06"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "Wrote the plan \"MDM refactoring\" (8 phases, 21 weeks, 2025-01-06 → 2025-06-02)",
        ));
    let plan = home.join("migration.toml");
    assert!(plan.is_file(), "init writes the home's migration.toml");
    mhd(&home)
        .arg("check")
        .assert()
        .success()
        .stdout(predicate::str::contains(format!(
            "{}: ok — \"MDM refactoring\", 8 phases, 412 datasets, 2025-01-06 → 2025-06-02",
            plan.display()
        )));
}

#[test]
fn init_start_gives_the_dates_in_the_file() {
    let home = tempfile::tempdir().expect("temp dir");
    mhd(home.path())
        .args(["init", "--start", "2025-01-06"])
        .assert()
        .success();
    let text = std::fs::read_to_string(home.path().join("migration.toml")).expect("plan");
    assert!(text.contains("start = \"2025-01-06\""), "{text}");
    assert!(text.contains("weeks = 21"), "{text}");
    assert!(text.contains("total = 412"), "{text}");
    // Tests, weeks 1-3; Cleanup, weeks 19-21, ending with the migration.
    assert!(
        text.contains(
            "id = \"tests\"\nname = \"Tests\"\nstart = \"2025-01-06\"\nend = \"2025-01-27\""
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "id = \"cleanup\"\nname = \"Cleanup\"\nstart = \"2025-05-12\"\nend = \"2025-06-02\""
        ),
        "{text}"
    );
    assert_eq!(text.matches("[[phases]]").count(), 8);
}

#[test]
fn init_without_start_begins_on_a_monday() {
    let home = tempfile::tempdir().expect("temp dir");
    mhd(home.path()).arg("init").assert().success();
    let text = std::fs::read_to_string(home.path().join("migration.toml")).expect("plan");
    let start = text
        .lines()
        .find_map(|l| l.strip_prefix("start = \""))
        .and_then(|rest| rest.get(..10))
        .expect("a start line");
    let f = time::macros::format_description!("[year]-[month]-[day]");
    let start = time::Date::parse(start, &f).expect("a date");
    assert_eq!(start.weekday(), time::Weekday::Monday);
    let today = time::OffsetDateTime::now_utc().date();
    assert!(
        start <= today && today - start < time::Duration::days(7),
        "{start} vs {today}"
    );
}

#[test]
fn init_twice_refuses_without_force() {
    let home = tempfile::tempdir().expect("temp dir");
    mhd(home.path())
        .args(["init", "--start", "2025-01-06"])
        .assert()
        .success();
    let plan = home.path().join("migration.toml");
    std::fs::write(&plan, "# my own plan\n").expect("write");
    mhd(home.path())
        .args(["init", "--start", "2025-02-03"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(plan.display().to_string()))
        .stderr(predicate::str::contains("--force"));
    assert_eq!(
        std::fs::read_to_string(&plan).expect("plan"),
        "# my own plan\n",
        "left alone"
    );
    mhd(home.path())
        .args(["init", "--start", "2025-02-03", "--force"])
        .assert()
        .success();
    let text = std::fs::read_to_string(&plan).expect("plan");
    assert!(text.contains("start = \"2025-02-03\""), "{text}");
}

#[test]
fn init_with_a_bad_start_names_the_flag() {
    let home = tempfile::tempdir().expect("temp dir");
    mhd(home.path())
        .args(["init", "--start", "next monday"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--start"));
    assert!(!home.path().join("migration.toml").exists());
}

#[test]
fn init_writes_where_plan_points() {
    let home = tempfile::tempdir().expect("temp dir");
    let elsewhere = home.path().join("plans").join("q3.toml");
    mhd(home.path())
        .arg("--plan")
        .arg(&elsewhere)
        .args(["init", "--start", "2025-07-07"])
        .assert()
        .success();
    assert!(elsewhere.is_file());
    mhd(home.path())
        .arg("check")
        .arg(&elsewhere)
        .assert()
        .success();
}

#[test]
fn check_reports_every_mistake_with_its_place() {
    let home = tempfile::tempdir().expect("temp dir");
    let plan = home.path().join("broken.toml");
    std::fs::write(
        &plan,
        r#"[migration]
name = "M"
start = "2025-02-30"
weeks = 0

[datasets]
total = 10

[[phases]]
id = "tests"
name = "Tests"
start = "2025-01-06"
end = "2025-01-20"
dependson = ["config"]
risk = "severe"
"#,
    )
    .expect("write");
    let shown = plan.display().to_string();
    let assert = mhd(home.path()).arg("check").arg(&plan).assert().code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    let expected = [
        format!("{shown}:3:9: `start` in [migration]: \"2025-02-30\" is not a date"),
        format!("{shown}:4:9: `weeks` in [migration] must be at least 1, found 0"),
        format!("{shown}:14:1: unknown key `dependson` in [[phases]] (did you mean `depends_on`?)"),
        format!("{shown}:15:8: `risk` in [[phases]] must be `low`, `medium` or `high`"),
        format!("4 mistakes in {shown}"),
    ];
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), expected.len(), "{stderr}");
    for (line, want) in lines.iter().zip(&expected) {
        assert!(
            line.starts_with(want.as_str()),
            "{line:?} should start with {want:?}"
        );
    }
}

#[test]
fn check_points_inside_a_milestone_condition() {
    let home = tempfile::tempdir().expect("temp dir");
    let plan = home.path().join("migration.toml");
    std::fs::write(
        &plan,
        r#"[migration]
name = "M"
start = "2025-01-06"
weeks = 4

[datasets]
total = 10

[[phases]]
id = "move"
name = "Move"
start = "2025-01-06"
end = "2025-02-03"
milestones = [{ name = "Half", date = "2025-01-20", when = "migrated_pct >= 50" }]
"#,
    )
    .expect("write");
    let shown = plan.display().to_string();
    let assert = mhd(home.path()).arg("check").arg(&plan).assert().code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(
        stderr.starts_with(&format!(
            "{shown}:14:61: `when` in a milestone: unknown figure `migrated_pct`"
        )),
        "{stderr}"
    );
    // Written right, the plan is good and the condition reads back.
    std::fs::write(
        &plan,
        std::fs::read_to_string(&plan)
            .unwrap()
            .replace("migrated_pct", "migrated_percent"),
    )
    .unwrap();
    let out = mhd(home.path())
        .args(["check", "--json"])
        .arg(&plan)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let when = &v["plan"]["phases"][0]["milestones"][0]["when"];
    assert_eq!(when["figure"], "migrated_percent", "{v}");
    assert_eq!(when["op"], ">=");
    assert_eq!(when["value"], 50.0);
}

#[test]
fn check_json_gives_the_plan_or_the_mistakes() {
    let home = tempfile::tempdir().expect("temp dir");
    mhd(home.path())
        .args(["init", "--start", "2025-01-06"])
        .assert()
        .success();
    let out = mhd(home.path())
        .args(["check", "--json"])
        .assert()
        .success();
    let json: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).expect("JSON");
    assert_eq!(json["ok"], true);
    assert_eq!(json["plan"]["migration"]["start"], "2025-01-06");
    assert_eq!(json["plan"]["phases"].as_array().map(Vec::len), Some(8));

    std::fs::write(
        home.path().join("migration.toml"),
        "[migration]\nname = 3\n",
    )
    .expect("write");
    let out = mhd(home.path()).args(["check", "--json"]).assert().code(2);
    let json: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).expect("JSON");
    assert_eq!(json["ok"], false);
    assert_eq!(json["errors"][0]["line"], 1);
    assert!(
        json["errors"]
            .as_array()
            .is_some_and(|e| e.iter().any(|e| e["line"] == 2 && e["column"] == 8))
    );
}

#[test]
fn check_of_a_missing_file_names_it() {
    let home = tempfile::tempdir().expect("temp dir");
    let missing = home.path().join("nowhere.toml");
    mhd(home.path())
        .arg("check")
        .arg(&missing)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(missing.display().to_string()))
        .stderr(predicate::str::contains("mhd init"));
    mhd(home.path())
        .arg("check")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            home.path().join("migration.toml").display().to_string(),
        ));
}

#[test]
fn check_escapes_control_characters_from_the_file() {
    let home = tempfile::tempdir().expect("temp dir");
    let plan = home.path().join("migration.toml");
    std::fs::write(&plan, "[migration]\n\"evil\\u001b[2J\" = 1\n").expect("write");
    let out = mhd(home.path()).arg("check").assert().code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(!stderr.contains('\u{1b}'), "{stderr:?}");
    assert!(stderr.contains("evil\\u{1b}[2J"), "{stderr}");
}

#[test]
fn mhd_home_from_the_environment() {
    let home = tempfile::tempdir().expect("temp dir");
    let mut cmd = Command::cargo_bin("mhd").expect("the mhd binary");
    cmd.env("MHD_HOME", home.path())
        .env_remove("MHD_PLAN")
        .args(["init", "--start", "2025-01-06"]);
    cmd.assert().success();
    assert!(home.path().join("migration.toml").is_file());
    let mut cmd = Command::cargo_bin("mhd").expect("the mhd binary");
    cmd.env("MHD_HOME", home.path())
        .env_remove("MHD_PLAN")
        .arg("check");
    cmd.assert()
        .success()
        .stdout(predicate::str::contains("ok"));
}

#[test]
fn init_writes_alert_settings_and_commented_examples() {
    let home = tempfile::tempdir().expect("temp dir");
    mhd(home.path())
        .args(["init", "--start", "2025-01-06"])
        .assert()
        .success();
    let text = std::fs::read_to_string(home.path().join("migration.toml")).expect("plan");
    assert!(
        text.contains("\n[alerts]\ninterval = \"15s\"\nwindow = \"5m\"\n"),
        "{text}"
    );
    for example in [
        "# [[collectors.prometheus]]",
        "# [[collectors.host]]",
        "# [[collectors.database]]",
        "# [[collectors.logs]]",
        "# [[collectors.git]]",
        "# [[collectors.git.patterns]]",
        "# [[collectors.tests]]",
        "# [[alerts.rules]]",
        "# kind = \"threshold\"",
        "# [[notify]]",
        "# kind = \"webhook\"",
    ] {
        assert!(text.contains(example), "{example:?} missing:\n{text}");
    }
    insta::assert_snapshot!("init_plan_file", text);

    let out = mhd(home.path())
        .args(["check", "--json"])
        .assert()
        .success();
    let json: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).expect("JSON");
    let alerts = &json["plan"]["alerts"];
    assert_eq!(alerts["interval"], "15s");
    assert_eq!(alerts["window"], "5m");
    let rules = alerts["rules"].as_array().expect("the default rules");
    assert!(
        rules.iter().any(|r| r["name"] == "high_error_rate"),
        "{rules:?}"
    );
    assert_eq!(json["plan"]["notify"], serde_json::json!([]));
}

#[test]
fn check_reports_mistakes_in_collectors_rules_and_channels() {
    let home = tempfile::tempdir().expect("temp dir");
    let plan = home.path().join("migration.toml");
    std::fs::write(
        &plan,
        r#"[migration]
name = "M"
start = "2025-01-06"
weeks = 4

[datasets]
total = 10

[[components]]
id = "storage"
name = "Storage"

[[collectors.prometeus]]
name = "prod"

[[collectors.database]]
name = "db"
dsn = "postgres://mhd:hunter2@db/mdm"
interval = "0s"

[[alerts.rules]]
name = "errors"
kind = "threshold"
metric = "eror_rate"
op = ">"
threshold = 0.05
component = "billing"

[[notify]]
name = "pager"
kind = "pagerduty"
routing_key = "R0UTINGKEY"
"#,
    )
    .expect("write");
    let shown = plan.display().to_string();
    let assert = mhd(home.path()).arg("check").assert().code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    let expected = [
        format!("{shown}:13:14: unknown collector kind `prometeus` (did you mean `prometheus`?)"),
        format!(
            "{shown}:18:1: `dsn` in [[collectors.database]] is a secret and is never written in \
             the plan: put it in a file and give `dsn_file`, or in an environment variable and \
             give `dsn_env`"
        ),
        format!("{shown}:19:12: `interval` in [[collectors.database]] must be longer than 0"),
        format!("{shown}:24:10: unknown metric \"eror_rate\": known are `operations_per_second`"),
        format!(
            "{shown}:27:13: `component` of rule `errors` names `billing`, which is not a \
             component (known: `storage`)"
        ),
        format!(
            "{shown}:32:1: `routing_key` in [[notify]] of kind `pagerduty` is a secret and is \
             never written in the plan"
        ),
        format!("6 mistakes in {shown}"),
    ];
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), expected.len(), "{stderr}");
    for (line, want) in lines.iter().zip(&expected) {
        assert!(
            line.starts_with(want.as_str()),
            "{line:?} should start with {want:?}"
        );
    }
    assert!(
        lines[3].ends_with("(did you mean `error_rate`?)"),
        "{}",
        lines[3]
    );

    let out = mhd(home.path()).args(["check", "--json"]).assert().code(2);
    for output in [&out.get_output().stdout, &out.get_output().stderr] {
        let text = String::from_utf8_lossy(output);
        assert!(!text.contains("hunter2"), "the DSN leaks: {text}");
        assert!(
            !text.contains("R0UTINGKEY"),
            "the routing key leaks: {text}"
        );
    }
    assert!(!stderr.contains("hunter2") && !stderr.contains("R0UTINGKEY"));
}

#[test]
fn check_refuses_a_retention_below_its_safe_minimum_naming_the_key() {
    let home = tempfile::tempdir().expect("temp dir");
    let plan = home.path().join("migration.toml");
    std::fs::write(
        &plan,
        r#"[migration]
name = "M"
start = "2025-01-06"
weeks = 4

[datasets]
total = 10

[retention]
samples = "10m"
operations = "90d"
test_runs = "forever"
"#,
    )
    .expect("write");
    let shown = plan.display().to_string();
    let assert = mhd(home.path()).arg("check").arg(&plan).assert().code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(
        stderr.contains(&format!(
            "{shown}:10:11: `samples` in [retention]: 10m is shorter than the safe minimum of 6h"
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "{shown}:12:13: `test_runs` in [retention]: \"forever\" is not a duration"
        )),
        "{stderr}"
    );
    assert!(stderr.contains("2 mistakes"), "{stderr}");
}

/// `mhd check --json` of `plan`, which must pass.
fn checked(home: &Path, plan: &Path) -> serde_json::Value {
    let out = mhd(home)
        .arg("check")
        .arg(plan)
        .arg("--json")
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json["ok"], true);
    json["plan"].clone()
}

#[test]
fn init_flags_each_round_trip_through_check() {
    let home = tempfile::tempdir().expect("temp dir");
    let plan = home.path().join("migration.toml");
    mhd(home.path())
        .args([
            "init",
            "--name",
            "Billing \"v2\" move",
            "--start",
            "2026-03-02",
        ])
        .args([
            "--weeks",
            "6",
            "--datasets",
            "30",
            "--components",
            "api,db,jobs",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "Wrote the plan \"Billing \"v2\" move\" (6 phases, 6 weeks, 2026-03-02 → 2026-04-13)",
        ));
    let p = checked(home.path(), &plan);
    assert_eq!(p["migration"]["name"], "Billing \"v2\" move");
    assert_eq!(p["migration"]["start"], "2026-03-02");
    assert_eq!(p["migration"]["weeks"], 6);
    assert_eq!(p["datasets"]["total"], 30);
    let ids: Vec<&str> = p["components"]
        .as_array()
        .expect("components")
        .iter()
        .map(|c| c["id"].as_str().expect("id"))
        .collect();
    assert_eq!(ids, ["api", "db", "jobs"]);
    let phases: Vec<&str> = p["phases"]
        .as_array()
        .expect("phases")
        .iter()
        .map(|c| c["id"].as_str().expect("id"))
        .collect();
    assert_eq!(
        phases,
        [
            "tests",
            "migrate-api",
            "migrate-db",
            "migrate-jobs",
            "validation",
            "cleanup"
        ]
    );
    assert_eq!(p["phases"][5]["end"], "2026-04-13");

    // One flag at a time keeps the rest of the specification's plan.
    for (flag, value, key, expected) in [
        (
            "--name",
            "Move",
            "/migration/name",
            serde_json::json!("Move"),
        ),
        ("--weeks", "30", "/migration/weeks", serde_json::json!(30)),
        ("--datasets", "7", "/datasets/total", serde_json::json!(7)),
        (
            "--start",
            "2026-01-05",
            "/migration/start",
            serde_json::json!("2026-01-05"),
        ),
    ] {
        mhd(home.path())
            .args(["init", "--force", flag, value])
            .assert()
            .success();
        let p = checked(home.path(), &plan);
        assert_eq!(p.pointer(key), Some(&expected), "{flag} {value}");
        assert_eq!(p["phases"].as_array().map(Vec::len), Some(8), "{flag}");
    }
}

#[test]
fn init_datasets_file_lists_every_dataset_with_its_component_and_size() {
    let home = tempfile::tempdir().expect("temp dir");
    let csv = home.path().join("datasets.csv");
    std::fs::write(
        &csv,
        "name,component,size\nsales,api,1200\n\"orders, 2024\",db\nusers\n",
    )
    .expect("write");
    mhd(home.path())
        .args([
            "init",
            "--components",
            "api,db",
            "--weeks",
            "4",
            "--datasets-file",
        ])
        .arg(&csv)
        .assert()
        .success();
    let p = checked(home.path(), &home.path().join("migration.toml"));
    assert_eq!(
        p["datasets"]["list"],
        serde_json::json!([
            { "name": "sales", "component": "api", "size": 1200 },
            { "name": "orders, 2024", "component": "db" },
            { "name": "users" },
        ])
    );
    mhd(home.path())
        .arg("check")
        .assert()
        .success()
        .stdout(predicate::str::contains("5 phases, 3 datasets"));
}

#[test]
fn init_refuses_bad_flags_naming_them_and_writes_nothing() {
    let home = tempfile::tempdir().expect("temp dir");
    let csv = home.path().join("datasets.csv");
    std::fs::write(&csv, "sales,storage\norders,billing,10\n").expect("write");
    let bad_size = home.path().join("sizes.csv");
    std::fs::write(&bad_size, "sales,storage,12k\n").expect("write");
    let csv_shown = csv.display().to_string();
    let size_shown = bad_size.display().to_string();
    for (args, expected) in [
        (
            vec!["--weeks", "0"],
            "--weeks: a migration lasts at least 1 week".to_owned(),
        ),
        (vec!["--start", "2026-13-01"], "--start:".to_owned()),
        (
            vec!["--datasets", "0"],
            "--datasets: a migration moves at least 1 dataset".to_owned(),
        ),
        (
            vec!["--name", " "],
            "--name: give the migration a name".to_owned(),
        ),
        (vec!["--components", "api,,db"], "--components:".to_owned()),
        (
            vec!["--components", "api,a b"],
            "--components: \"a b\" must be made of".to_owned(),
        ),
        (
            vec!["--components", "api,api"],
            "--components: \"api\" is named twice".to_owned(),
        ),
        (
            vec!["--datasets-file", csv_shown.as_str()],
            format!(
                "--datasets-file: {csv_shown}:2: `component`: \"billing\" is not a component of the plan"
            ),
        ),
        (
            vec!["--datasets-file", size_shown.as_str()],
            format!(
                "--datasets-file: {size_shown}:1: `size`: \"12k\" is not a whole number of rows"
            ),
        ),
        (
            vec!["--datasets-file", "/nonexistent/list.csv"],
            "--datasets-file: cannot read /nonexistent/list.csv".to_owned(),
        ),
        (
            vec!["--datasets", "3", "--datasets-file", csv_shown.as_str()],
            "--datasets".to_owned(),
        ),
    ] {
        mhd(home.path())
            .arg("init")
            .args(&args)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(expected.as_str()));
        assert!(
            !home.path().join("migration.toml").exists(),
            "{args:?} wrote a plan"
        );
    }
}

#[test]
fn global_options_work_after_the_subcommand() {
    let home = tempfile::tempdir().expect("temp dir");
    let elsewhere = home.path().join("q3.toml");
    // `--plan` after `init` and after `check`.
    let mut init = Command::cargo_bin("mhd").expect("the mhd binary");
    init.env_remove("MHD_HOME")
        .env_remove("MHD_PLAN")
        .args(["init", "--start", "2025-01-06", "--plan"])
        .arg(&elsewhere)
        .assert()
        .success();
    assert!(elsewhere.is_file());
    let mut check = Command::cargo_bin("mhd").expect("the mhd binary");
    check
        .env_remove("MHD_HOME")
        .env_remove("MHD_PLAN")
        .args(["check", "--plan"])
        .arg(&elsewhere)
        .assert()
        .success()
        .stdout(predicate::str::contains("ok — \"MDM refactoring\""));
    // `--home` after `summary` and after `stats summary`.
    let mut init = Command::cargo_bin("mhd").expect("the mhd binary");
    init.env_remove("MHD_HOME")
        .env_remove("MHD_PLAN")
        .args(["init", "--name", "Placed", "--home"])
        .arg(home.path())
        .assert()
        .success();
    let mut summary = Command::cargo_bin("mhd").expect("the mhd binary");
    summary
        .env_remove("MHD_HOME")
        .env_remove("MHD_PLAN")
        .env("NO_COLOR", "1")
        .args(["summary", "--json", "--home"])
        .arg(home.path())
        .assert()
        .success()
        .stdout(predicate::str::contains("\"datasets_total\": 412"));
    let mut stats = Command::cargo_bin("mhd").expect("the mhd binary");
    stats
        .env_remove("MHD_HOME")
        .env_remove("MHD_PLAN")
        .args(["stats", "summary", "--json", "--home"])
        .arg(home.path())
        .assert()
        .success()
        .stdout(predicate::str::contains("\"total_operations\": 0"));
}

#[test]
fn check_refuses_a_bad_scheduled_report_naming_its_line_and_field() {
    let home = tempfile::tempdir().expect("temp dir");
    let plan = home.path().join("migration.toml");
    let base = r#"[migration]
name = "M"
start = "2025-01-06"
weeks = 4

[datasets]
total = 10

[[notify]]
name = "team-hook"
kind = "webhook"
url = "http://127.0.0.1:9/hook"
"#;
    std::fs::write(
        &plan,
        format!(
            r#"{base}
[[reports]]
every = "funday 08:00"
format = "docx"
last = "36h"
channels = ["team-hok"]

[[reports]]
every = "day 07:30"
channels = ["team-hook"]
"#
        ),
    )
    .expect("write");
    let shown = plan.display().to_string();
    let assert = mhd(home.path()).arg("check").assert().code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    let expected = [
        format!(
            "{shown}:15:9: `every` in [[reports]]: \"funday 08:00\": \"funday\" is not a day of the week"
        ),
        format!("{shown}:16:10: `format` in [[reports]] must be `pdf` or `html`, found \"docx\""),
        format!("{shown}:17:8: `last` in [[reports]]: \"36h\" is not a whole number of days"),
        format!(
            "{shown}:18:13: `channels` in [[reports]] names `team-hok`, which is not a [[notify]] \
             channel (did you mean `team-hook`?)"
        ),
        format!("4 mistakes in {shown}"),
    ];
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), expected.len(), "{stderr}");
    for (line, want) in lines.iter().zip(&expected) {
        assert!(
            line.starts_with(want.as_str()),
            "{line:?} should start with {want:?}"
        );
    }
    // The same entries written right pass, and --json shows the schedule.
    std::fs::write(
        &plan,
        format!(
            r#"{base}
[[reports]]
every = "monday 08:00"
format = "html"
last = "14d"
channels = ["team-hook"]
"#
        ),
    )
    .expect("write");
    let out = mhd(home.path())
        .args(["check", "--json"])
        .assert()
        .success();
    let text = String::from_utf8_lossy(&out.get_output().stdout);
    assert!(
        text.contains("\"weekday\":\"monday\"") || text.contains("\"weekday\": \"monday\""),
        "{text}"
    );
}
