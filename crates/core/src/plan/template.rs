//! The starting plan `mhd init` writes: the specification's 21-week MDM refactoring.

use std::fmt::Write as _;

use time::{Date, Duration};

/// One phase of the starting plan, in weeks of the migration (week 1 starts on the start day).
struct PhaseTemplate {
    id: &'static str,
    name: &'static str,
    first_week: i64,
    last_week: i64,
    depends_on: &'static [&'static str],
    components: &'static [&'static str],
    risk: &'static str,
    /// Milestones as (name, week, day of that week from 0, `when` condition or "").
    milestones: &'static [(&'static str, i64, i64, &'static str)],
}

const ALL: &[&str] = &["storage", "config", "features", "registration"];

/// The specification's Gantt chart. A phase depends only on phases that end by the time it
/// starts, so that following the plan never shows a phase as blocked.
const PHASES: &[PhaseTemplate] = &[
    PhaseTemplate {
        id: "tests",
        name: "Tests",
        first_week: 1,
        last_week: 3,
        depends_on: &[],
        components: ALL,
        risk: "low",
        milestones: &[
            ("Characterization suite green", 2, 4, ""),
            ("Coverage of the old system", 3, 4, ""),
        ],
    },
    PhaseTemplate {
        id: "config",
        name: "Configuration",
        first_week: 2,
        last_week: 5,
        depends_on: &[],
        components: &["config"],
        risk: "low",
        milestones: &[("One configuration model", 4, 4, "")],
    },
    PhaseTemplate {
        id: "abstraction",
        name: "Abstraction",
        first_week: 4,
        last_week: 8,
        depends_on: &["tests"],
        components: &["storage"],
        risk: "medium",
        milestones: &[
            ("Storage interface agreed", 5, 4, ""),
            ("Old storage behind the interface", 8, 4, ""),
        ],
    },
    PhaseTemplate {
        id: "storage",
        name: "Storage",
        first_week: 6,
        last_week: 11,
        depends_on: &["config"],
        components: &["storage"],
        risk: "high",
        milestones: &[
            ("New storage passes the suite", 9, 4, ""),
            ("First 100 datasets migrated", 11, 4, "migrated >= 100"),
        ],
    },
    PhaseTemplate {
        id: "features",
        name: "Features",
        first_week: 9,
        last_week: 13,
        depends_on: &["abstraction"],
        components: &["features"],
        risk: "medium",
        milestones: &[("Feature generation on the new storage", 13, 2, "")],
    },
    PhaseTemplate {
        id: "registration",
        name: "Registration",
        first_week: 12,
        last_week: 16,
        depends_on: &["storage"],
        components: &["registration"],
        risk: "medium",
        milestones: &[
            ("Registration on the new storage", 14, 4, ""),
            ("All datasets migrated", 16, 4, "migrated_percent >= 100"),
        ],
    },
    PhaseTemplate {
        id: "validation",
        name: "Validation",
        first_week: 15,
        last_week: 19,
        depends_on: &["features"],
        components: ALL,
        risk: "high",
        milestones: &[("Old and new agree on every dataset", 18, 4, "")],
    },
    PhaseTemplate {
        id: "cleanup",
        name: "Cleanup",
        first_week: 19,
        last_week: 21,
        depends_on: &["registration"],
        components: ALL,
        risk: "low",
        milestones: &[("Old system switched off", 21, 2, "")],
    },
];

/// The specification's migration as a commented plan file starting on `start`: "MDM
/// refactoring", 21 weeks, 412 datasets, four components, eight phases, the default
/// thresholds and an `[alerts]` section, followed by commented-out examples of every collector
/// kind, an alert rule and a notification channel. [`super::parse`] reads it without errors,
/// with the examples commented out or not.
pub fn default_plan_toml(start: Date) -> String {
    // Days past the calendar's end cannot come from a real start date; keep the start then.
    let day = |weeks: i64, days: i64| {
        start
            .checked_add(Duration::weeks(weeks) + Duration::days(days))
            .unwrap_or(start)
    };
    let list = |items: &[&str]| {
        items
            .iter()
            .map(|s| format!("\"{s}\""))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut out = String::new();
    out.push_str(&format!(
        r#"# The migration plan of mhd, the Migration Health Dashboard.
# `mhd check` validates this file and points at the line and column of every mistake.
# Dates are YYYY-MM-DD. Written by `mhd init` from the specification's MDM refactoring:
# edit it to describe your own migration.

[migration]
name = "MDM refactoring"
start = "{start}"            # the first day; the planned end is start + weeks ({end})
weeks = 21

[datasets]
total = 412                     # or list them, each with its component:
# [[datasets.list]]
# name = "sales"
# component = "storage"

# The parts of the system being migrated. Operations, tests and benchmarks name them by id.
# `datasets` says how many of the datasets belong to the component, so its progress is
# counted against the plan rather than the datasets seen so far (with a list above, each
# dataset names its component instead).
# `rollback` says what an admin's rollback of the component runs: a program with exactly
# these arguments (no shell; it runs in this file's folder and reads MHD_ROLLBACK_COMPONENT,
# MHD_ROLLBACK_REQUESTED_BY and MHD_ROLLBACK_REASON from its environment), or a webhook
# POSTed as JSON: {{ webhook = "https://deploy.example/hooks/rollback", token_file = "..." }}.
# `timeout` defaults to 5m for a command and 30s for a webhook, and is at most 1h.
[[components]]
id = "storage"
name = "Storage"
datasets = 103
# rollback = {{ command = ["/usr/local/bin/rollback", "storage"], timeout = "5m" }}

[[components]]
id = "config"
name = "Configuration"
datasets = 103

[[components]]
id = "features"
name = "Features"
datasets = 103

[[components]]
id = "registration"
name = "Registration"
datasets = 103

# The phases of the timeline. A phase is blocked while a phase it depends on is unfinished
# after it should have started. `risk` is low, medium or high; every milestone falls within
# its phase. A milestone is reached when recorded (`mhd record -t milestone -o NAME`), or by
# itself when its `when` holds: `[component.]figure op number` with the figures migrated,
# migrated_percent, verified and verified_percent.
"#,
        end = day(21, 0),
    ));
    for p in PHASES {
        let weeks = if p.first_week == p.last_week {
            format!("week {}", p.first_week)
        } else {
            format!("weeks {}-{}", p.first_week, p.last_week)
        };
        let _ = write!(
            out,
            "\n[[phases]]                      # {weeks}\n\
             id = \"{id}\"\n\
             name = \"{name}\"\n\
             start = \"{start}\"\n\
             end = \"{end}\"\n\
             depends_on = [{deps}]\n\
             components = [{components}]\n\
             risk = \"{risk}\"\n\
             milestones = [\n",
            id = p.id,
            name = p.name,
            start = day(p.first_week - 1, 0),
            end = day(p.last_week, 0),
            deps = list(p.depends_on),
            components = list(p.components),
            risk = p.risk,
        );
        for (name, week, weekday, when) in p.milestones {
            let when = if when.is_empty() {
                String::new()
            } else {
                format!(", when = \"{when}\"")
            };
            let _ = writeln!(
                out,
                "  {{ name = \"{name}\", date = \"{}\"{when} }},",
                day(week - 1, *weekday)
            );
        }
        out.push_str("]\n");
    }
    out.push_str(
        r#"
# When figures turn into warnings. Every one is optional; these are the defaults.
[thresholds]
success_rate_warning = 0.90     # migration success rate under which the migration is at risk
success_rate_critical = 0.80    # ... and under which it is critical
slip_days_critical = 14         # days the P85 forecast may slip past the planned end
test_pass_warning = 0.95        # test pass rate under which a suite is a warning
test_pass_critical = 0.85       # ... and under which it is failing
regression_percent = 10         # how much slower the new system may be before it is a regression
max_future = "1d"               # how far ahead of now a recorded time may be (later ones are refused)

# How long the store keeps each kind of record; `mhd serve` prunes every hour, and
# `mhd retention run` or `mhd stats cleanup` on demand. Pruning never changes how far the
# migration is: dataset states, the per-day migration counts and the rollups the views read
# stay. Raw samples are rolled up into 1-minute, 1-hour and 1-day aggregates (min, max, sum,
# count and a sketch whose p95 is within 10 %) before they go. The audit log keeps its own retention
# (`mhd serve --audit-retention`, 400 days).
[retention]
samples = "48h"                 # raw samples (at least 6h)
sample_rollups = "90d"          # their aggregates per minute, hour and day (at least 7d, and samples)
operations = "90d"              # operations (at least 30d); milestone marks are always kept
test_runs = "180d"              # test runs and cases (at least 7d); each suite's last 10 stay
resolved_alerts = "180d"        # resolved alerts with their history, from their resolution (at least 7d)
deliveries = "30d"              # sent or failed notifications of resolved alerts (at least 1d)

# The alert engine: rules are evaluated every `interval`, and the figures computed from
# operations are taken over the last `window`. Without [[alerts.rules]] the built-in rules
# apply (error rate, p95 duration, memory, connection pool, success rate, schedule, rollbacks,
# data integrity, performance regression, test pass rate, collectors down); rules written here
# replace them, and `defaults = false` turns them off.
[alerts]
interval = "15s"
window = "5m"

# An alert rule. `kind` is threshold, rate_of_change, rollback, integrity, regression,
# test_pass, collector_down or schedule; `severity` is info, warning, error or critical.
# [[alerts.rules]]
# name = "high_error_rate"
# kind = "threshold"
# metric = "error_rate"              # a built-in metric, or the name of a Prometheus query
# op = ">"                           # >, >=, < or <=
# threshold = 0.05
# for = "1m"                         # true this long before firing
# keep_firing_for = "5m"             # clear this long before resolving
# severity = "warning"
# component = "storage"
# runbook = "https://wiki.example.org/runbooks/error-rate"

# Collectors fill the dashboard by themselves. Each has a name of its own and runs every
# `interval`, each run taking at most `timeout`. Relative paths are read from this file's
# folder.
#
# [[collectors.prometheus]]
# name = "prod"
# url = "http://127.0.0.1:9090"
# interval = "15s"
# timeout = "30s"
# queries = { operation_rate = "sum(rate(mdm_operations_total[5m]))" }  # leave out for the defaults
#
# [[collectors.host]]                # this machine's CPU, memory, disk and network
# top = 5                            # processes shown by CPU and by memory
#
# [[collectors.database]]            # a PostgreSQL server's connections and activity
# name = "db"
# dsn_env = "MHD_DATABASE_DSN"       # a secret: `dsn_file` or `dsn_env`, never inline
#
# [[collectors.logs]]
# name = "app"
# paths = ["logs/mdm.log"]
# format = "auto"                    # auto, loguru, json or plain
#
# [[collectors.git]]                 # the code left to migrate, counted at each commit
# name = "code"
# repo = "."
# rev = "HEAD"
# [[collectors.git.patterns]]
# component = "storage"
# pattern = "legacy_store"
# paths = ["src/storage"]
#
# [[collectors.tests]]               # a folder watched for new JUnit XML reports
# name = "ci"
# path = "reports"
# phase = "tests"

# Notification channels: webhook, slack, pagerduty, email or jira. Their secrets are given as
# `<key>_file` or `<key>_env` (such as `routing_key_file`), never written here.
# [[notify]]
# name = "ops"
# kind = "webhook"
# url = "http://127.0.0.1:9999/hook"
# min_severity = "warning"
"#,
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Datasets, Risk, RollbackVia, Rule, Secret, Thresholds, parse};
    use time::macros::date;

    #[test]
    fn default_plan_parses_and_matches_the_specification() {
        let start = date!(2025 - 01 - 06);
        let text = default_plan_toml(start);
        let plan = match parse(&text, "migration.toml") {
            Ok(plan) => plan,
            Err(errors) => panic!("the default plan has mistakes: {errors:#?}\n{text}"),
        };
        assert_eq!(plan.migration.name, "MDM refactoring");
        assert_eq!(plan.migration.start, start);
        assert_eq!(plan.migration.weeks, 21);
        assert_eq!(plan.planned_end(), date!(2025 - 06 - 02));
        assert_eq!(plan.datasets, Datasets::Total(412));
        assert_eq!(plan.datasets_total(), 412);
        assert_eq!(plan.thresholds, Thresholds::default());
        let ids: Vec<&str> = plan.components.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["storage", "config", "features", "registration"]);
        let ids: Vec<&str> = plan.phases.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "tests",
                "config",
                "abstraction",
                "storage",
                "features",
                "registration",
                "validation",
                "cleanup"
            ]
        );
        let tests = &plan.phases[0];
        assert_eq!(
            (tests.start, tests.end),
            (date!(2025 - 01 - 06), date!(2025 - 01 - 27))
        );
        assert_eq!(tests.risk, Risk::Low);
        let cleanup = &plan.phases[7];
        assert_eq!(
            (cleanup.start, cleanup.end),
            (date!(2025 - 05 - 12), plan.planned_end())
        );
        assert_eq!(plan.phase("storage").map(|p| p.risk), Some(Risk::High));
        for p in &plan.phases {
            assert!(!p.milestones.is_empty(), "{} has no milestone", p.id);
            assert!(!p.components.is_empty(), "{} has no component", p.id);
        }
    }

    #[test]
    fn default_plan_dependencies_end_before_their_dependants_start() {
        let plan = parse(&default_plan_toml(date!(2025 - 01 - 06)), "m.toml").expect("parses");
        let mut dependencies = 0;
        for p in &plan.phases {
            for d in &p.depends_on {
                let dep = plan.phase(d).expect("known phase");
                assert!(dep.end <= p.start, "{} starts before {} ends", p.id, dep.id);
                dependencies += 1;
            }
        }
        assert_eq!(dependencies, 6);
    }

    #[test]
    fn default_plan_parses_from_any_start_day() {
        for start in [
            date!(2024 - 02 - 29),
            date!(2025 - 12 - 31),
            date!(2026 - 03 - 04),
        ] {
            let plan = parse(&default_plan_toml(start), "m.toml").expect("parses");
            assert_eq!(plan.planned_end(), start + Duration::weeks(21));
            assert_eq!(plan.phases.last().map(|p| p.end), Some(plan.planned_end()));
        }
    }

    #[test]
    fn default_plan_has_alert_settings_and_the_default_rules() {
        let plan = parse(&default_plan_toml(date!(2025 - 01 - 06)), "m.toml").expect("parses");
        assert_eq!(plan.alerts.interval, Duration::seconds(15));
        assert_eq!(plan.alerts.window, Duration::minutes(5));
        assert_eq!(plan.alerts.rules, Rule::defaults());
        assert!(plan.collectors.is_empty());
        assert!(plan.notify.is_empty());
        assert_eq!(plan.chat.signing_secret, None);
        assert_eq!(plan.retention, crate::plan::RetentionSettings::default());
    }

    /// The commented-out examples, uncommented: every line after `[alerts]` that is `# [...]`
    /// or `# key = ...`.
    fn uncommented_examples(text: &str) -> String {
        let (head, tail) = text
            .split_once("\n[alerts]\n")
            .expect("an [alerts] section");
        let tail: Vec<&str> = tail
            .lines()
            .map(|line| match line.strip_prefix("# ") {
                Some(rest) if rest.starts_with('[') => rest,
                Some(rest)
                    if rest.split_once(" = ").is_some_and(|(key, _)| {
                        !key.is_empty() && key.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                    }) =>
                {
                    rest
                }
                _ => line,
            })
            .collect();
        format!("{head}\n[alerts]\n{}\n", tail.join("\n"))
    }

    #[test]
    fn default_plan_examples_parse_once_uncommented() {
        let text = uncommented_examples(&default_plan_toml(date!(2025 - 01 - 06)));
        let plan = match parse(&text, "migration.toml") {
            Ok(plan) => plan,
            Err(errors) => panic!("the examples have mistakes: {errors:#?}\n{text}"),
        };
        let kinds: Vec<&str> = plan.collectors.all().iter().map(|(_, k, _)| *k).collect();
        assert_eq!(
            kinds,
            ["prometheus", "host", "database", "logs", "git", "tests"]
        );
        assert_eq!(plan.alerts.rules.len(), 1);
        assert_eq!(plan.alerts.rules[0].name, "high_error_rate");
        assert_eq!(plan.alerts.rules[0].kind.name(), "threshold");
        assert_eq!(plan.notify.len(), 1);
        assert_eq!(plan.notify[0].kind.name(), "webhook");
        assert_eq!(
            plan.collectors.database[0].dsn,
            Secret::Env("MHD_DATABASE_DSN".to_owned())
        );
        assert_eq!(plan.collectors.git[0].patterns[0].component, "storage");
    }

    #[test]
    fn default_plan_rollback_example_parses_once_uncommented() {
        let text = default_plan_toml(date!(2025 - 01 - 06));
        let example = "# rollback = ";
        assert_eq!(text.matches(example).count(), 1);
        let plan = parse(&text.replacen(example, "rollback = ", 1), "migration.toml")
            .unwrap_or_else(|e| panic!("the rollback example has mistakes: {e:#?}"));
        let rollback = plan
            .component("storage")
            .and_then(|c| c.rollback.clone())
            .expect("a rollback for storage");
        assert_eq!(
            rollback.via,
            RollbackVia::Command {
                program: "/usr/local/bin/rollback".to_owned(),
                args: vec!["storage".to_owned()],
            }
        );
        assert_eq!(rollback.timeout, Duration::minutes(5));
        let commented = parse(&text, "m.toml").expect("parses");
        assert!(commented.components.iter().all(|c| c.rollback.is_none()));
    }

    #[test]
    fn default_plan_serializes_dates_as_days() {
        let plan = parse(&default_plan_toml(date!(2025 - 01 - 06)), "m.toml").expect("parses");
        let json = serde_json::to_value(&plan).expect("serializes");
        assert_eq!(json["migration"]["start"], "2025-01-06");
        assert_eq!(json["datasets"]["total"], 412);
        assert_eq!(json["phases"][0]["end"], "2025-01-27");
        assert_eq!(json["phases"][0]["risk"], "low");
        assert_eq!(json["phases"][0]["milestones"][0]["date"], "2025-01-17");
        assert_eq!(json["thresholds"]["slip_days_critical"], 14);
    }
}
