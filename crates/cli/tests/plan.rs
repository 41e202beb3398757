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
