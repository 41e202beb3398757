//! The starting plan `mhd init` writes: the specification's 21-week MDM refactoring by default,
//! or the user's own migration ([`PlanTemplate`]: its name, start, length, datasets and
//! components) in the same shape.

use std::fmt::Write as _;

use time::{Date, Duration};

use super::Datasets;

/// One phase of the starting plan, in days of the specification's 21-week migration (day 0 is
/// the start day); a plan of another length scales these days to its own.
struct PhaseTemplate {
    id: String,
    name: String,
    first_day: i64,
    end_day: i64,
    depends_on: Vec<String>,
    components: Vec<String>,
    risk: &'static str,
    /// Milestones as (name, day, `when` condition or "").
    milestones: Vec<(String, i64, String)>,
}

/// The specification's four components, as (id, name).
const SPEC_COMPONENTS: &[(&str, &str)] = &[
    ("storage", "Storage"),
    ("config", "Configuration"),
    ("features", "Features"),
    ("registration", "Registration"),
];

/// The specification's length in weeks, and so in days: the unit the phases are written in.
const SPEC_WEEKS: u32 = 21;
const SPEC_DAYS: i64 = 7 * SPEC_WEEKS as i64;

/// The specification's dataset count.
const SPEC_DATASETS: u32 = 412;

/// A phase of the specification's Gantt chart, in weeks: (id, name, first week, last week,
/// depends on, components (empty for all), risk, milestones as (name, week, day of that week
/// from 0, `when`)). A phase depends only on phases that end by the time it starts, so that
/// following the plan never shows a phase as blocked. `{first}` in a milestone's name and
/// condition stands for the first quarter of the datasets (100 of the specification's 412).
type SpecPhase = (
    &'static str,
    &'static str,
    i64,
    i64,
    &'static [&'static str],
    &'static [&'static str],
    &'static str,
    &'static [(&'static str, i64, i64, &'static str)],
);

/// The specification's Gantt chart.
const SPEC_PHASES: &[SpecPhase] = &[
    (
        "tests",
        "Tests",
        1,
        3,
        &[],
        &[],
        "low",
        &[
            ("Characterization suite green", 2, 4, ""),
            ("Coverage of the old system", 3, 4, ""),
        ],
    ),
    (
        "config",
        "Configuration",
        2,
        5,
        &[],
        &["config"],
        "low",
        &[("One configuration model", 4, 4, "")],
    ),
    (
        "abstraction",
        "Abstraction",
        4,
        8,
        &["tests"],
        &["storage"],
        "medium",
        &[
            ("Storage interface agreed", 5, 4, ""),
            ("Old storage behind the interface", 8, 4, ""),
        ],
    ),
    (
        "storage",
        "Storage",
        6,
        11,
        &["config"],
        &["storage"],
        "high",
        &[
            ("New storage passes the suite", 9, 4, ""),
            ("{first}", 11, 4, "migrated >= {n}"),
        ],
    ),
    (
        "features",
        "Features",
        9,
        13,
        &["abstraction"],
        &["features"],
        "medium",
        &[("Feature generation on the new storage", 13, 2, "")],
    ),
    (
        "registration",
        "Registration",
        12,
        16,
        &["storage"],
        &["registration"],
        "medium",
        &[
            ("Registration on the new storage", 14, 4, ""),
            ("All datasets migrated", 16, 4, "migrated_percent >= 100"),
        ],
    ),
    (
        "validation",
        "Validation",
        15,
        19,
        &["features"],
        &[],
        "high",
        &[("Old and new agree on every dataset", 18, 4, "")],
    ),
    (
        "cleanup",
        "Cleanup",
        19,
        21,
        &["registration"],
        &[],
        "low",
        &[("Old system switched off", 21, 2, "")],
    ),
];

/// What a starting plan is made of: [`PlanTemplate::specification`] is the specification's
/// migration, and every field may be replaced to describe another one. The phases follow:
/// the specification's eight, scaled to `weeks`, while the components are the
/// specification's; else tests, one migration phase per component, validation and cleanup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanTemplate {
    /// The migration's name.
    pub name: String,
    /// Its first day.
    pub start: Date,
    /// Its planned length in weeks (at least 1).
    pub weeks: u32,
    /// The datasets: a count (shared out among the components) or a list.
    pub datasets: Datasets,
    /// The components' ids, in order (at least one).
    pub components: Vec<String>,
}

impl PlanTemplate {
    /// The specification's migration starting on `start`: "MDM refactoring", 21 weeks, 412
    /// datasets and four components.
    pub fn specification(start: Date) -> PlanTemplate {
        PlanTemplate {
            name: "MDM refactoring".to_owned(),
            start,
            weeks: SPEC_WEEKS,
            datasets: Datasets::Total(SPEC_DATASETS),
            components: SPEC_COMPONENTS
                .iter()
                .map(|(id, _)| (*id).to_owned())
                .collect(),
        }
    }

    /// Whether the components are the specification's, so its phases apply.
    fn has_spec_components(&self) -> bool {
        self.components.len() == SPEC_COMPONENTS.len()
            && self
                .components
                .iter()
                .zip(SPEC_COMPONENTS)
                .all(|(c, (id, _))| c == id)
    }

    /// How many datasets the plan moves.
    fn datasets_total(&self) -> u32 {
        match &self.datasets {
            Datasets::Total(n) => *n,
            Datasets::List(list) => u32::try_from(list.len()).unwrap_or(u32::MAX),
        }
    }

    /// A day of the specification's 21 weeks as a day of this plan's `weeks`.
    fn scale(&self, spec_day: i64) -> i64 {
        spec_day * 7 * i64::from(self.weeks) / SPEC_DAYS
    }

    /// The phases, in days of this plan.
    fn phases(&self) -> Vec<PhaseTemplate> {
        let all = self.components.clone();
        if self.has_spec_components() {
            let first = ((u64::from(self.datasets_total()) * 100 + u64::from(SPEC_DATASETS) / 2)
                / u64::from(SPEC_DATASETS))
            .max(1);
            let first_name = if first == 1 {
                "First dataset migrated".to_owned()
            } else {
                format!("First {first} datasets migrated")
            };
            return SPEC_PHASES
                .iter()
                .map(
                    |&(id, name, first_week, last_week, deps, components, risk, milestones)| {
                        PhaseTemplate {
                            id: id.to_owned(),
                            name: name.to_owned(),
                            first_day: self.scale((first_week - 1) * 7),
                            end_day: self.scale(last_week * 7),
                            depends_on: deps.iter().map(|d| (*d).to_owned()).collect(),
                            components: if components.is_empty() {
                                all.clone()
                            } else {
                                components.iter().map(|c| (*c).to_owned()).collect()
                            },
                            risk,
                            milestones: milestones
                                .iter()
                                .map(|&(m, week, weekday, when)| {
                                    (
                                        m.replace("{first}", &first_name),
                                        self.scale((week - 1) * 7 + weekday),
                                        when.replace("{n}", &first.to_string()),
                                    )
                                })
                                .collect(),
                        }
                    },
                )
                .collect();
        }
        self.own_phases()
    }

    /// Tests, one migration phase per component (side by side when there are more components
    /// than days for them), validation and cleanup, at the specification's proportions.
    fn own_phases(&self) -> Vec<PhaseTemplate> {
        let all = self.components.clone();
        let tests_end = self.scale(3 * 7);
        let validation_start = self.scale(16 * 7);
        let cleanup_start = self.scale(19 * 7);
        let end = self.scale(SPEC_DAYS);
        let mut phases = vec![PhaseTemplate {
            id: "tests".to_owned(),
            name: "Tests".to_owned(),
            first_day: 0,
            end_day: tests_end,
            depends_on: Vec::new(),
            components: all.clone(),
            risk: "low",
            milestones: vec![(
                "Characterization suite green".to_owned(),
                tests_end,
                String::new(),
            )],
        }];
        let n = i64::try_from(self.components.len())
            .unwrap_or(i64::MAX)
            .max(1);
        let days = validation_start - tests_end;
        let mut migrating = Vec::new();
        for (i, c) in (0i64..).zip(&self.components) {
            let (first_day, end_day) = if days >= n {
                (tests_end + i * days / n, tests_end + (i + 1) * days / n)
            } else {
                (tests_end, validation_start)
            };
            let id = format!("migrate-{c}");
            let name = component_name(c);
            let when = if self.component_has_datasets(c) {
                format!("{c}.migrated_percent >= 100")
            } else {
                String::new()
            };
            migrating.push(id.clone());
            phases.push(PhaseTemplate {
                id,
                name: format!("Migrate {name}"),
                first_day,
                end_day,
                depends_on: vec!["tests".to_owned()],
                components: vec![c.clone()],
                risk: "medium",
                milestones: vec![(format!("{name} migrated"), end_day, when)],
            });
        }
        phases.push(PhaseTemplate {
            id: "validation".to_owned(),
            name: "Validation".to_owned(),
            first_day: validation_start,
            end_day: cleanup_start,
            depends_on: migrating,
            components: all.clone(),
            risk: "high",
            milestones: vec![(
                "Old and new agree on every dataset".to_owned(),
                cleanup_start,
                String::new(),
            )],
        });
        phases.push(PhaseTemplate {
            id: "cleanup".to_owned(),
            name: "Cleanup".to_owned(),
            first_day: cleanup_start,
            end_day: end,
            depends_on: vec!["validation".to_owned()],
            components: all,
            risk: "low",
            milestones: vec![("Old system switched off".to_owned(), end, String::new())],
        });
        phases
    }

    /// How many of a count of datasets go to each component: an even share, the first
    /// components taking one more while some are left over.
    fn shares(&self) -> Vec<u32> {
        let n = u32::try_from(self.components.len())
            .unwrap_or(u32::MAX)
            .max(1);
        let total = self.datasets_total();
        (0..n)
            .map(|i| total / n + u32::from(i < total % n))
            .collect()
    }

    /// Whether any dataset belongs to component `c`.
    fn component_has_datasets(&self, c: &str) -> bool {
        match &self.datasets {
            Datasets::Total(_) => {
                let i = self.components.iter().position(|x| x == c);
                i.and_then(|i| self.shares().get(i).copied()).unwrap_or(0) > 0
            }
            Datasets::List(list) => list.iter().any(|d| d.component.as_deref() == Some(c)),
        }
    }

    /// The plan as a commented TOML file, followed by the default thresholds, retention and
    /// alert settings and commented-out examples of every collector kind, an alert rule and a
    /// notification channel. [`super::parse`] reads it without errors, with the examples
    /// commented out or not, when the fields hold what their documentation says.
    pub fn to_toml(&self) -> String {
        let start = self.start;
        // Days past the calendar's end cannot come from a real start date; keep the start then.
        let day = |days: i64| start.checked_add(Duration::days(days)).unwrap_or(start);
        let list = |items: &[String]| {
            items
                .iter()
                .map(|s| toml_string(s))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let spec = *self == PlanTemplate::specification(start);
        let origin = if spec {
            "Written by `mhd init` from the specification's MDM refactoring:\n\
             # edit it to describe your own migration."
        } else {
            "Written by `mhd init`: edit it as\n# the migration goes."
        };
        let mut out = String::new();
        let _ = write!(
            out,
            r#"# The migration plan of mhd, the Migration Health Dashboard.
# `mhd check` validates this file and points at the line and column of every mistake.
# Dates are YYYY-MM-DD. {origin}

[migration]
name = {name}
start = "{start}"            # the first day; the planned end is start + weeks ({end})
weeks = {weeks}

[datasets]
"#,
            name = toml_string(&self.name),
            end = day(7 * i64::from(self.weeks)),
            weeks = self.weeks,
        );
        match &self.datasets {
            Datasets::Total(n) => {
                let _ = write!(
                    out,
                    "total = {n}{pad}# or list them, each with its component:\n\
                     # [[datasets.list]]\n\
                     # name = \"sales\"\n\
                     # component = \"{first}\"\n",
                    pad = " ".repeat(32usize.saturating_sub(8 + n.to_string().len())),
                    first = self.components.first().map_or("storage", String::as_str),
                );
            }
            Datasets::List(list) => {
                out.push_str(
                    "# Every dataset, with its component and its size in rows where known.\n",
                );
                for d in list {
                    let _ = write!(
                        out,
                        "\n[[datasets.list]]\nname = {}\n",
                        toml_string(&d.name)
                    );
                    if let Some(c) = &d.component {
                        let _ = writeln!(out, "component = {}", toml_string(c));
                    }
                    if let Some(size) = d.size {
                        let _ = writeln!(out, "size = {size}");
                    }
                }
            }
        }
        out.push_str(
            r#"
# The parts of the system being migrated. Operations, tests and benchmarks name them by id.
# `datasets` says how many of the datasets belong to the component, so its progress is
# counted against the plan rather than the datasets seen so far (with a list above, each
# dataset names its component instead).
# `rollback` says what an admin's rollback of the component runs: a program with exactly
# these arguments (no shell; it runs in this file's folder and reads MHD_ROLLBACK_COMPONENT,
# MHD_ROLLBACK_REQUESTED_BY and MHD_ROLLBACK_REASON from its environment), or a webhook
# POSTed as JSON: { webhook = "https://deploy.example/hooks/rollback", token_file = "..." }.
# `timeout` defaults to 5m for a command and 30s for a webhook, and is at most 1h.
"#,
        );
        let shares = self.shares();
        for (i, c) in self.components.iter().enumerate() {
            let name = SPEC_COMPONENTS
                .iter()
                .find(|(id, _)| id == c)
                .map_or_else(|| component_name(c), |(_, name)| (*name).to_owned());
            let _ = write!(
                out,
                "[[components]]\nid = {}\nname = {}\n",
                toml_string(c),
                toml_string(&name)
            );
            if matches!(self.datasets, Datasets::Total(_)) {
                let _ = writeln!(out, "datasets = {}", shares.get(i).copied().unwrap_or(0));
            }
            if i == 0 {
                let _ = writeln!(
                    out,
                    "# rollback = {{ command = [\"/usr/local/bin/rollback\", {}], timeout = \"5m\" }}",
                    toml_string(c)
                );
            }
            out.push('\n');
        }
        out.push_str(
            r#"# The phases of the timeline. A phase is blocked while a phase it depends on is unfinished
# after it should have started. `risk` is low, medium or high; every milestone falls within
# its phase. A milestone is reached when recorded (`mhd record -t milestone -o NAME`), or by
# itself when its `when` holds: `[component.]figure op number` with the figures migrated,
# migrated_percent, verified and verified_percent.
"#,
        );
        for p in self.phases() {
            let first_week = p.first_day / 7 + 1;
            let last_week = ((p.end_day + 6) / 7).max(first_week);
            let weeks = if first_week == last_week {
                format!("week {first_week}")
            } else {
                format!("weeks {first_week}-{last_week}")
            };
            let _ = write!(
                out,
                "\n[[phases]]                      # {weeks}\n\
                 id = {id}\n\
                 name = {name}\n\
                 start = \"{start}\"\n\
                 end = \"{end}\"\n\
                 depends_on = [{deps}]\n\
                 components = [{components}]\n\
                 risk = \"{risk}\"\n\
                 milestones = [\n",
                id = toml_string(&p.id),
                name = toml_string(&p.name),
                start = day(p.first_day),
                end = day(p.end_day),
                deps = list(&p.depends_on),
                components = list(&p.components),
                risk = p.risk,
            );
            for (name, at, when) in &p.milestones {
                let when = if when.is_empty() {
                    String::new()
                } else {
                    format!(", when = {}", toml_string(when))
                };
                let _ = writeln!(
                    out,
                    "  {{ name = {}, date = \"{}\"{when} }},",
                    toml_string(name),
                    day(*at)
                );
            }
            out.push_str("]\n");
        }
        out.push_str(TAIL);
        out
    }
}

/// The specification's migration as a commented plan file starting on `start`: "MDM
/// refactoring", 21 weeks, 412 datasets, four components, eight phases, the default
/// thresholds and an `[alerts]` section, followed by commented-out examples of every collector
/// kind, an alert rule and a notification channel. [`super::parse`] reads it without errors,
/// with the examples commented out or not.
pub fn default_plan_toml(start: Date) -> String {
    PlanTemplate::specification(start).to_toml()
}

/// A component's name made from its id: `user_accounts` is "User accounts".
fn component_name(id: &str) -> String {
    let words = id.replace(['_', '-'], " ");
    let mut chars = words.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// `s` as a TOML basic string, quoted and escaped.
fn toml_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Everything after the phases: the same for every plan.
const TAIL: &str = r#"
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
"#;

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

    #[test]
    fn the_specification_is_the_template_with_its_own_fields() {
        let start = date!(2025 - 01 - 06);
        let text = PlanTemplate::specification(start).to_toml();
        assert_eq!(text, default_plan_toml(start));
        assert!(text.contains("total = 412                     # or list them"));
        assert!(text.contains("{ name = \"First 100 datasets migrated\", date = \"2025-03-21\", when = \"migrated >= 100\" },"));
        assert!(text.contains("[[phases]]                      # weeks 6-11\nid = \"storage\""));
    }

    #[test]
    fn own_name_length_and_count_scale_the_specification_phases() {
        let start = date!(2026 - 03 - 02);
        let template = PlanTemplate {
            name: "Billing \"v2\"".to_owned(),
            weeks: 7,
            datasets: Datasets::Total(40),
            ..PlanTemplate::specification(start)
        };
        let plan = parse(&template.to_toml(), "m.toml").expect("parses");
        assert_eq!(plan.migration.name, "Billing \"v2\"");
        assert_eq!(plan.migration.weeks, 7);
        assert_eq!(plan.planned_end(), start + Duration::weeks(7));
        assert_eq!(plan.datasets_total(), 40);
        assert_eq!(plan.phases.len(), 8);
        assert_eq!(plan.phases.last().map(|p| p.end), Some(plan.planned_end()));
        let counts: Vec<Option<u32>> = plan.components.iter().map(|c| c.datasets).collect();
        assert_eq!(counts, [Some(10); 4]);
        for p in &plan.phases {
            assert!(p.start < p.end, "{} is empty", p.id);
            for d in &p.depends_on {
                assert!(
                    plan.phase(d).expect("known").end <= p.start,
                    "{} overlaps {d}",
                    p.id
                );
            }
        }
        let storage = plan.phase("storage").expect("storage phase");
        assert_eq!(storage.milestones[1].name, "First 10 datasets migrated");
    }

    #[test]
    fn own_components_get_a_phase_each_from_any_length() {
        let start = date!(2026 - 03 - 02);
        for weeks in [1, 2, 5, 30] {
            for n in [1usize, 3, 9] {
                let components: Vec<String> = (0..n).map(|i| format!("part_{i}")).collect();
                let template = PlanTemplate {
                    name: "Mine".to_owned(),
                    start,
                    weeks,
                    datasets: Datasets::Total(5),
                    components: components.clone(),
                };
                let text = template.to_toml();
                let plan = parse(&text, "m.toml")
                    .unwrap_or_else(|e| panic!("{weeks} weeks, {n} components: {e:#?}\n{text}"));
                let ids: Vec<&str> = plan.components.iter().map(|c| c.id.as_str()).collect();
                assert_eq!(
                    ids,
                    components.iter().map(String::as_str).collect::<Vec<_>>()
                );
                assert_eq!(plan.components[0].name, "Part 0");
                assert_eq!(plan.phases.len(), n + 3);
                assert_eq!(plan.phases.last().map(|p| p.end), Some(plan.planned_end()));
                for p in &plan.phases {
                    assert!(p.start < p.end, "{} is empty", p.id);
                    for d in &p.depends_on {
                        assert!(plan.phase(d).expect("known").end <= p.start);
                    }
                }
                let shares: u32 = plan.components.iter().filter_map(|c| c.datasets).sum();
                assert_eq!(shares, 5);
            }
        }
    }

    #[test]
    fn a_dataset_list_is_written_with_components_and_sizes() {
        let list = vec![
            crate::plan::DatasetSpec {
                name: "sales \\ 2024".to_owned(),
                component: Some("api".to_owned()),
                size: Some(1200),
            },
            crate::plan::DatasetSpec {
                name: "users".to_owned(),
                component: None,
                size: None,
            },
        ];
        let template = PlanTemplate {
            name: "Mine".to_owned(),
            start: date!(2026 - 03 - 02),
            weeks: 4,
            datasets: Datasets::List(list.clone()),
            components: vec!["api".to_owned(), "db".to_owned()],
        };
        let plan = parse(&template.to_toml(), "m.toml").expect("parses");
        assert_eq!(plan.datasets, Datasets::List(list));
        assert!(plan.components.iter().all(|c| c.datasets.is_none()));
        let api = plan.phase("migrate-api").expect("a phase for api");
        assert_eq!(api.components, ["api"]);
        let db = plan.phase("migrate-db").expect("a phase for db");
        assert!(
            db.milestones[0].when.is_none(),
            "db has no dataset to finish"
        );
    }
}
