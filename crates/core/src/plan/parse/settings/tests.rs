//! Each rule of the operational sections, with the place and the message it reports.

use time::Duration;

use crate::plan::{
    AlertSettings, ChannelKind, Comparison, Plan, PlanError, PromQuery, RangeQuery, Rule, RuleKind,
    Schedule, Secret, SecretOrText, parse,
};
use crate::summary::Severity;

/// A small valid plan with one component (`storage`) and one phase (`tests`). Text appended
/// to it starts at line 18; the snippets below begin with an empty line, so their first
/// header is on line 19.
const BASE: &str = r#"[migration]
name = "M"
start = "2025-01-06"
weeks = 4

[datasets]
total = 10

[[components]]
id = "storage"
name = "Storage"

[[phases]]
id = "tests"
name = "Tests"
start = "2025-01-06"
end = "2025-01-20"
"#;

fn plan(extra: &str) -> Plan {
    let source = format!("{BASE}{extra}");
    parse(&source, "migration.toml").unwrap_or_else(|e| panic!("{e:#?}\n{source}"))
}

fn errors(extra: &str) -> Vec<PlanError> {
    let source = format!("{BASE}{extra}");
    match parse(&source, "migration.toml") {
        Ok(plan) => panic!("expected mistakes, got a plan: {plan:#?}\n{source}"),
        Err(errors) => errors,
    }
}

/// Asserts that the plan with `extra` appended has a mistake containing `message` at `line`
/// and `column`, and returns every mistake.
#[track_caller]
fn mistake(extra: &str, line: usize, column: usize, message: &str) -> Vec<PlanError> {
    let found = errors(extra);
    let Some(hit) = found.iter().find(|e| e.message.contains(message)) else {
        panic!("no mistake containing {message:?}; got {found:#?}\n{BASE}{extra}");
    };
    assert_eq!(
        (hit.line, hit.column),
        (line, column),
        "wrong place for {:?}",
        hit.message
    );
    assert_eq!(hit.file, "migration.toml");
    found
}

/// Asserts that no message repeats `secret`.
#[track_caller]
fn never_shown(found: &[PlanError], secret: &str) {
    for e in found {
        assert!(!e.to_string().contains(secret), "the secret leaks: {e}");
    }
}

fn rule(body: &str) -> String {
    format!("\n[[alerts.rules]]\nname = \"r\"\n{body}")
}

fn prometheus(body: &str) -> String {
    format!("\n[[collectors.prometheus]]\nname = \"prod\"\nurl = \"http://127.0.0.1:9090\"\n{body}")
}

fn channel(kind: &str, body: &str) -> String {
    format!("\n[[notify]]\nname = \"ops\"\nkind = \"{kind}\"\n{body}")
}

// ---- durations -------------------------------------------------------------------------------

#[test]
fn collector_interval_must_be_a_duration() {
    mistake(
        &prometheus("interval = \"15x\"\n"),
        22,
        12,
        "`interval` in [[collectors.prometheus]]: \"15x\" is not a duration",
    );
}

#[test]
fn collector_interval_must_be_longer_than_zero() {
    mistake(
        &prometheus("interval = \"0s\"\n"),
        22,
        12,
        "`interval` in [[collectors.prometheus]] must be longer than 0",
    );
}

#[test]
fn collector_timeout_of_zero_is_refused() {
    mistake(
        "\n[[collectors.host]]\ntimeout = \"0ms\"\n",
        20,
        11,
        "`timeout` in [[collectors.host]] must be longer than 0",
    );
}

#[test]
fn a_duration_written_as_a_number_is_refused() {
    mistake(
        "\n[alerts]\ninterval = 15\n",
        20,
        12,
        "`interval` in [alerts] must be a duration such as \"15s\" or \"5m\", found an integer",
    );
}

#[test]
fn alert_interval_and_window_must_be_longer_than_zero() {
    mistake(
        "\n[alerts]\ninterval = \"0s\"\nwindow = \"5 minutes\"\n",
        20,
        12,
        "`interval` in [alerts] must be longer than 0",
    );
    mistake(
        "\n[alerts]\ninterval = \"0s\"\nwindow = \"5 minutes\"\n",
        21,
        10,
        "`window` in [alerts]: \"5 minutes\" is not a duration",
    );
}

#[test]
fn rule_for_and_keep_firing_for_are_durations() {
    let extra = rule("kind = \"integrity\"\nfor = \"1 m\"\nkeep_firing_for = \"-5m\"\n");
    mistake(
        &extra,
        22,
        7,
        "`for` in [[alerts.rules]]: \"1 m\" is not a duration",
    );
    mistake(
        &extra,
        23,
        19,
        "`keep_firing_for` in [[alerts.rules]]: \"-5m\" is not a duration",
    );
}

#[test]
fn rate_of_change_over_must_be_longer_than_zero() {
    mistake(
        &rule(
            "kind = \"rate_of_change\"\nmetric = \"error_rate\"\nop = \">\"\nthreshold = 0.1\nover = \"0m\"\n",
        ),
        25,
        8,
        "`over` in [[alerts.rules]] of kind `rate_of_change` must be longer than 0",
    );
}

#[test]
fn rollback_window_must_be_a_duration() {
    mistake(
        &rule("kind = \"rollback\"\nwindow = \"an hour\"\n"),
        22,
        10,
        "`window` in [[alerts.rules]] of kind `rollback`: \"an hour\" is not a duration",
    );
}

#[test]
fn range_query_step_must_not_exceed_its_range() {
    mistake(
        &prometheus(
            "queries = { lag = { query = \"max(lag)\", range = \"1m\", step = \"5m\" } }\n",
        ),
        22,
        62,
        "`step` in query `lag` in [[collectors.prometheus]] must not be longer than `range`",
    );
}

#[test]
fn range_query_with_too_many_points_is_refused() {
    mistake(
        &prometheus(
            "queries = { lag = { query = \"max(lag)\", range = \"7d\", step = \"1s\" } }\n",
        ),
        22,
        62,
        "is too short: 604800 points per series, and Prometheus answers at most 11000",
    );
}

#[test]
fn range_query_needs_range_and_step() {
    let found = mistake(
        &prometheus("queries = { lag = { query = \"max(lag)\", range = \"1h\" } }\n"),
        22,
        19,
        "missing key `step` in query `lag` in [[collectors.prometheus]]",
    );
    assert_eq!(found.len(), 1, "{found:#?}");
    mistake(
        &prometheus(
            "queries = { lag = { query = \"max(lag)\", range = \"1 h\", step = \"1m\" } }\n",
        ),
        22,
        49,
        "`range` in query `lag` in [[collectors.prometheus]]: \"1 h\" is not a duration",
    );
}

// ---- alert rules -----------------------------------------------------------------------------

#[test]
fn rule_names_are_unique() {
    let extra = format!(
        "{}{}",
        rule("kind = \"integrity\"\n"),
        rule("kind = \"regression\"\n")
    );
    mistake(&extra, 24, 8, "duplicate rule name `r` (first at line 20)");
}

#[test]
fn rule_kind_must_be_known_with_a_suggestion() {
    mistake(
        &rule("kind = \"treshold\"\n"),
        21,
        8,
        "`kind` in [[alerts.rules]] must be `threshold`, `rate_of_change`, `rollback`, \
         `integrity`, `regression`, `test_pass`, `collector_down` or `schedule`, found \
         \"treshold\" (did you mean `threshold`?)",
    );
}

#[test]
fn rule_kind_is_required() {
    mistake(&rule(""), 19, 1, "missing key `kind` in [[alerts.rules]]");
}

#[test]
fn threshold_rules_need_metric_op_and_threshold() {
    let found = errors(&rule("kind = \"threshold\"\n"));
    let messages: Vec<(usize, usize, &str)> = found
        .iter()
        .map(|e| (e.line, e.column, e.message.as_str()))
        .collect();
    assert_eq!(
        messages,
        [
            (
                19,
                1,
                "missing key `metric` in [[alerts.rules]] of kind `threshold`"
            ),
            (
                19,
                1,
                "missing key `op` in [[alerts.rules]] of kind `threshold`"
            ),
            (
                19,
                1,
                "missing key `threshold` in [[alerts.rules]] of kind `threshold`"
            ),
        ]
    );
}

#[test]
fn rule_op_must_be_a_comparison() {
    mistake(
        &rule("kind = \"threshold\"\nmetric = \"error_rate\"\nop = \"=>\"\nthreshold = 1\n"),
        23,
        6,
        "`op` in [[alerts.rules]] of kind `threshold` must be `>`, `>=`, `<` or `<=`, found \
         \"=>\" (did you mean `>=`?)",
    );
}

#[test]
fn rule_severity_must_be_known() {
    mistake(
        &rule("kind = \"integrity\"\nseverity = \"fatal\"\n"),
        22,
        12,
        "`severity` in [[alerts.rules]] must be `info`, `warning`, `error` or `critical`, found \
         \"fatal\"",
    );
}

#[test]
fn rule_component_must_be_a_plan_component() {
    mistake(
        &rule("kind = \"integrity\"\ncomponent = \"storag\"\n"),
        22,
        13,
        "`component` of rule `r` names `storag`, which is not a component (did you mean \
         `storage`?)",
    );
}

#[test]
fn rule_metric_must_be_known_or_a_query() {
    let found = mistake(
        &rule("kind = \"threshold\"\nmetric = \"erorr_rate\"\nop = \">\"\nthreshold = 1\n"),
        22,
        10,
        "unknown metric \"erorr_rate\": known are `operations_per_second`, `error_rate`,",
    );
    let message = &found[0].message;
    assert!(
        message.ends_with("`code_matches_remaining` (did you mean `error_rate`?)"),
        "{message}"
    );
    // A Prometheus query's name is a metric too, and so are the default queries' names.
    let extra = format!(
        "{}{}{}",
        prometheus("queries = { replication_lag = \"max(lag)\" }\n"),
        rule("kind = \"threshold\"\nmetric = \"replication_lag\"\nop = \">\"\nthreshold = 1\n"),
        "\n[[collectors.prometheus]]\nname = \"other\"\nurl = \"https://p.example\"\n\
         \n[[alerts.rules]]\nname = \"q\"\nkind = \"threshold\"\nmetric = \"p95_latency\"\n\
         op = \">\"\nthreshold = 1\n",
    );
    let p = plan(&extra);
    assert_eq!(p.alerts.rules.len(), 2);
    let found = mistake(
        &rule("kind = \"threshold\"\nmetric = \"replication_lag\"\nop = \">\"\nthreshold = 1\n"),
        22,
        10,
        "unknown metric \"replication_lag\"",
    );
    assert!(
        !found[0].message.contains("did you mean"),
        "{}",
        found[0].message
    );
}

#[test]
fn collector_down_must_name_a_collector() {
    let extra = format!(
        "{}{}",
        prometheus(""),
        rule("kind = \"collector_down\"\ncollector = \"prd\"\n")
    );
    mistake(
        &extra,
        26,
        13,
        "`collector` of rule `r` names `prd`, which is not a collector (did you mean `prod`?)",
    );
    mistake(
        &rule("kind = \"collector_down\"\ncollector = \"prod\"\n"),
        22,
        13,
        "`collector` of rule `r` names `prod`, but the plan has no [[collectors.*]]",
    );
    let p = plan(&format!(
        "{}{}",
        prometheus(""),
        rule("kind = \"collector_down\"\ncollector = \"prod\"\n")
    ));
    assert_eq!(
        p.alerts.rules[0].kind,
        RuleKind::CollectorDown {
            collector: Some("prod".to_owned())
        }
    );
}

#[test]
fn runbook_is_an_http_address_or_the_steps_in_words() {
    let found = mistake(
        &rule("kind = \"integrity\"\nrunbook = \"https:wiki runbooks\"\n"),
        22,
        11,
        "`runbook` in [[alerts.rules]] must be an http:// or https:// address",
    );
    never_shown(&found, "wiki runbooks");
    let p = plan(&rule(
        "kind = \"integrity\"\nrunbook = \"Compare the dataset on both systems (`mhd stats dataset NAME`).\"\n",
    ));
    assert_eq!(
        p.alerts.rules[0].runbook.as_deref(),
        Some("Compare the dataset on both systems (`mhd stats dataset NAME`).")
    );
    let p = plan(&rule(
        "kind = \"integrity\"\nrunbook = \"https://wiki.example/runbooks/integrity\"\n",
    ));
    assert_eq!(
        p.alerts.rules[0].runbook.as_deref(),
        Some("https://wiki.example/runbooks/integrity")
    );
}

#[test]
fn a_key_of_another_rule_kind_is_refused() {
    mistake(
        &rule("kind = \"rollback\"\nmetric = \"error_rate\"\n"),
        22,
        1,
        "unknown key `metric` in [[alerts.rules]] of kind `rollback` (known keys:",
    );
    mistake(
        &rule("kind = \"integrity\"\nsevrity = \"critical\"\n"),
        22,
        1,
        "unknown key `sevrity` in [[alerts.rules]] of kind `integrity` (did you mean `severity`?)",
    );
}

#[test]
fn rule_numbers_are_checked() {
    mistake(
        &rule("kind = \"rollback\"\ncount = 0\n"),
        22,
        9,
        "`count` in [[alerts.rules]] of kind `rollback` must be at least 1, found 0",
    );
    mistake(
        &rule("kind = \"test_pass\"\nthreshold = 95\n"),
        22,
        13,
        "`threshold` in [[alerts.rules]] of kind `test_pass` must be between 0 and 1",
    );
    mistake(
        &rule("kind = \"schedule\"\ndays = -1\n"),
        22,
        8,
        "`days` in [[alerts.rules]] of kind `schedule` must not be negative, found -1",
    );
    mistake(
        &rule("kind = \"threshold\"\nmetric = \"error_rate\"\nop = \">\"\nthreshold = \"5%\"\n"),
        24,
        13,
        "`threshold` in [[alerts.rules]] of kind `threshold` must be a number, found a string",
    );
}

#[test]
fn default_rules_apply_unless_the_plan_gives_rules_or_turns_them_off() {
    assert_eq!(plan("").alerts, AlertSettings::default());
    let only_settings = plan("\n[alerts]\ninterval = \"30s\"\nwindow = \"10m\"\n");
    assert_eq!(only_settings.alerts.interval, Duration::seconds(30));
    assert_eq!(only_settings.alerts.window, Duration::minutes(10));
    assert_eq!(only_settings.alerts.rules, Rule::defaults());
    let off = plan("\n[alerts]\ndefaults = false\n");
    assert!(off.alerts.rules.is_empty());
    let own = plan(&rule("kind = \"integrity\"\n"));
    assert_eq!(
        own.alerts.rules.len(),
        1,
        "the plan's rules replace the defaults"
    );
    assert_eq!(own.alerts.rules[0].name, "r");
    mistake(
        "\n[alerts]\ndefaults = \"no\"\n",
        20,
        12,
        "`defaults` in [alerts] must be `true` or `false`, found a string",
    );
}

#[test]
fn every_rule_kind_is_read_with_its_defaults() {
    let extra = "
[[alerts.rules]]
name = \"lag\"
kind = \"threshold\"
metric = \"p95_duration_ms\"
op = \"<=\"
threshold = 250
for = \"1m\"
keep_firing_for = \"5m\"
severity = \"critical\"
component = \"storage\"
summary = \"Slow\"

[[alerts.rules]]
name = \"growth\"
kind = \"rate_of_change\"
metric = \"error_rate\"
op = \">\"
threshold = 50
percent = true

[[alerts.rules]]
name = \"rollbacks\"
kind = \"rollback\"

[[alerts.rules]]
name = \"tests\"
kind = \"test_pass\"
drop = 0.2

[[alerts.rules]]
name = \"late\"
kind = \"schedule\"
";
    let rules = plan(extra).alerts.rules;
    assert_eq!(
        rules[0],
        Rule {
            name: "lag".to_owned(),
            kind: RuleKind::Threshold {
                metric: "p95_duration_ms".to_owned(),
                op: Comparison::AtMost,
                threshold: 250.0,
            },
            for_: Duration::minutes(1),
            keep_firing_for: Duration::minutes(5),
            severity: Severity::Critical,
            component: Some("storage".to_owned()),
            runbook: None,
            summary: Some("Slow".to_owned()),
        }
    );
    assert_eq!(
        rules[1].kind,
        RuleKind::RateOfChange {
            metric: "error_rate".to_owned(),
            op: Comparison::Above,
            threshold: 50.0,
            over: Duration::minutes(5),
            percent: true,
        }
    );
    assert_eq!(rules[1].severity, Severity::Warning);
    assert_eq!(rules[1].for_, Duration::ZERO);
    assert_eq!(
        rules[2].kind,
        RuleKind::Rollback {
            count: 3,
            window: Duration::hours(1)
        }
    );
    assert_eq!(
        rules[3].kind,
        RuleKind::TestPass {
            threshold: None,
            drop: Some(0.2)
        }
    );
    assert_eq!(rules[4].kind, RuleKind::Schedule { days: 7.0 });
}

// ---- collectors ------------------------------------------------------------------------------

#[test]
fn unknown_collector_kind_is_named_with_a_suggestion() {
    mistake(
        "\n[[collectors.prometeus]]\nname = \"p\"\n",
        19,
        14,
        "unknown collector kind `prometeus` (did you mean `prometheus`?)",
    );
    mistake(
        "\n[[collectors.kafka]]\nname = \"k\"\n",
        19,
        14,
        "unknown collector kind `kafka` (known kinds: `prometheus`, `host`, `database`, `logs`, \
         `git`, `tests`)",
    );
}

#[test]
fn a_collector_kind_must_be_an_array_of_tables() {
    mistake(
        "\n[collectors.host]\ntop = 3\n",
        19,
        1,
        "`collectors.host` must be an array of tables ([[collectors.host]]), found a table",
    );
}

#[test]
fn collector_names_are_unique_across_kinds() {
    let extra = format!(
        "{}\n[[collectors.host]]\nname = \"prod\"\n\n[[collectors.host]]\n",
        prometheus("")
    );
    let found = mistake(
        &extra,
        24,
        8,
        "duplicate collector name `prod` (first at line 20)",
    );
    assert_eq!(found.len(), 1, "{found:#?}");
    // Two hosts without names are both `host`.
    mistake(
        "\n[[collectors.host]]\n\n[[collectors.host]]\n",
        21,
        1,
        "duplicate collector name `host` (first at line 19)",
    );
}

#[test]
fn prometheus_url_must_be_http() {
    let found = mistake(
        "\n[[collectors.prometheus]]\nname = \"prod\"\nurl = \"127.0.0.1:9090\"\n",
        21,
        7,
        "`url` in [[collectors.prometheus]] must be an http:// or https:// address",
    );
    never_shown(&found, "127.0.0.1:9090");
    mistake(
        "\n[[collectors.prometheus]]\nname = \"prod\"\n",
        19,
        1,
        "missing key `url` in [[collectors.prometheus]]",
    );
    mistake(
        "\n[[collectors.prometheus]]\nname = \"prod\"\nurl = \"http://:9090\"\n",
        21,
        7,
        "must be an http:// or https:// address",
    );
}

#[test]
fn prometheus_queries_instant_range_and_defaults() {
    let p = plan(&prometheus(
        "interval = \"30s\"\ntimeout = \"10s\"\ncomponent = \"storage\"\n\
         queries = { rate = \"sum(rate(x[5m]))\", lag = { query = \"max(lag)\", range = \"1h\", step = \"1m\" } }\n",
    ));
    let c = &p.collectors.prometheus[0];
    assert_eq!(c.url, "http://127.0.0.1:9090");
    assert_eq!(
        c.schedule,
        Schedule {
            interval: Duration::seconds(30),
            timeout: Duration::seconds(10)
        }
    );
    assert_eq!(c.component.as_deref(), Some("storage"));
    let mut queries = c.queries.clone();
    queries.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(
        queries,
        [
            PromQuery {
                name: "lag".to_owned(),
                query: "max(lag)".to_owned(),
                range: Some(RangeQuery {
                    range: Duration::hours(1),
                    step: Duration::minutes(1)
                }),
            },
            PromQuery {
                name: "rate".to_owned(),
                query: "sum(rate(x[5m]))".to_owned(),
                range: None,
            },
        ]
    );
    let defaults = plan(&prometheus(""));
    let c = &defaults.collectors.prometheus[0];
    assert_eq!(c.queries, PromQuery::defaults());
    assert_eq!(c.schedule, Schedule::default());
    assert_eq!(c.component, None);
}

#[test]
fn prometheus_queries_are_checked() {
    mistake(
        &prometheus("queries = [\"up\"]\n"),
        22,
        11,
        "`queries` in [[collectors.prometheus]] must be a table of named queries",
    );
    mistake(
        &prometheus("queries = {}\n"),
        22,
        11,
        "`queries` in [[collectors.prometheus]] names no query (leave `queries` out for the \
         default queries)",
    );
    mistake(
        &prometheus("queries = { up = 1 }\n"),
        22,
        18,
        "query `up` in [[collectors.prometheus]] must be a PromQL string or a table",
    );
    mistake(
        &prometheus("queries = { \"my rate\" = \"up\" }\n"),
        22,
        13,
        "the query name \"my rate\" in [[collectors.prometheus]] is a metric name",
    );
    mistake(
        &prometheus(
            "queries = { up = { query = \"up\", range = \"1h\", step = \"1m\", every = 1 } }\n",
        ),
        22,
        61,
        "unknown key `every` in query `up` in [[collectors.prometheus]]",
    );
}

#[test]
fn database_dsn_is_a_secret_never_shown() {
    let dsn = "postgres://mhd:hunter2@db/mdm";
    let found = mistake(
        &format!("\n[[collectors.database]]\nname = \"db\"\ndsn = \"{dsn}\"\n"),
        21,
        1,
        "`dsn` in [[collectors.database]] is a secret and is never written in the plan: put it \
         in a file and give `dsn_file`, or in an environment variable and give `dsn_env`",
    );
    never_shown(&found, "hunter2");
    assert_eq!(found.len(), 1, "{found:#?}");
    mistake(
        "\n[[collectors.database]]\nname = \"db\"\n",
        19,
        1,
        "missing key `dsn_file` or `dsn_env` in [[collectors.database]]",
    );
    mistake(
        "\n[[collectors.database]]\nname = \"db\"\ndsn_file = \"dsn.txt\"\ndsn_env = \"DSN\"\n",
        22,
        1,
        "give either `dsn_file` or `dsn_env` in [[collectors.database]], not both",
    );
    let found = mistake(
        &format!("\n[[collectors.database]]\nname = \"db\"\ndsn_env = \"{dsn}\"\n"),
        21,
        11,
        "`dsn_env` in [[collectors.database]] must name an environment variable",
    );
    never_shown(&found, "hunter2");
    let p = plan(
        "\n[[collectors.database]]\nname = \"db\"\ndsn_file = \"secrets/dsn\"\ninterval = \"1m\"\n",
    );
    let db = &p.collectors.database[0];
    assert_eq!(
        db.dsn,
        Secret::File("secrets/dsn".to_owned()),
        "kept as written"
    );
    assert_eq!(db.schedule.interval, Duration::minutes(1));
    let p = plan("\n[[collectors.database]]\nname = \"db\"\ndsn_env = \"MHD_DSN\"\n");
    assert_eq!(
        p.collectors.database[0].dsn,
        Secret::Env("MHD_DSN".to_owned())
    );
}

#[test]
fn logs_need_paths_and_a_known_format() {
    mistake(
        "\n[[collectors.logs]]\nname = \"app\"\npaths = []\n",
        21,
        9,
        "`paths` in [[collectors.logs]] names no file",
    );
    mistake(
        "\n[[collectors.logs]]\nname = \"app\"\n",
        19,
        1,
        "missing key `paths` in [[collectors.logs]]",
    );
    mistake(
        "\n[[collectors.logs]]\nname = \"app\"\npaths = [\"app.log\"]\nformat = \"jsn\"\n",
        22,
        10,
        "`format` in [[collectors.logs]] must be `auto`, `loguru`, `json` or `plain`, found \
         \"jsn\" (did you mean `json`?)",
    );
    let p = plan(
        "\n[[collectors.logs]]\nname = \"app\"\npaths = [\"logs/app.log\", \"/var/log/mdm.log\"]\n",
    );
    let logs = &p.collectors.logs[0];
    assert_eq!(logs.paths, ["logs/app.log", "/var/log/mdm.log"]);
    assert_eq!(logs.format, "auto");
}

#[test]
fn git_collectors_read_patterns_with_defaults() {
    let p = plan(
        "\n[[collectors.git]]\nname = \"code\"\nrepo = \"../mdm\"\n\
         [[collectors.git.patterns]]\ncomponent = \"storage\"\npattern = \"import legacy_store\"\n\
         [[collectors.git.patterns]]\ncomponent = \"storage\"\npattern = \"old_[a-z]+\\\\(\"\nregex = true\npaths = [\"src/storage\"]\n",
    );
    let git = &p.collectors.git[0];
    assert_eq!(git.repo, "../mdm", "relative paths stay as written");
    assert_eq!(git.rev, "HEAD");
    assert_eq!(git.schedule.interval, Duration::minutes(5));
    assert_eq!(git.patterns.len(), 2);
    assert!(!git.patterns[0].regex);
    assert!(git.patterns[0].paths.is_empty());
    assert_eq!(git.patterns[1].pattern, "old_[a-z]+\\(");
    assert!(git.patterns[1].regex);
    assert_eq!(git.patterns[1].paths, ["src/storage"]);
}

#[test]
fn git_patterns_are_checked() {
    let head = "\n[[collectors.git]]\nname = \"code\"\nrepo = \"../mdm\"\n";
    mistake(head, 19, 1, "missing key `patterns` in [[collectors.git]]");
    let extra =
        format!("{head}[[collectors.git.patterns]]\ncomponent = \"storag\"\nregex = \"yes\"\n");
    mistake(
        &extra,
        23,
        13,
        "`component` of a git pattern names `storag`, which is not a component (did you mean \
         `storage`?)",
    );
    mistake(
        &extra,
        22,
        1,
        "missing key `pattern` in [[collectors.git.patterns]]",
    );
    mistake(
        &extra,
        24,
        9,
        "`regex` in [[collectors.git.patterns]] must be `true` or `false`, found a string",
    );
    mistake(
        &format!(
            "{head}rev = \"--output=x\"\n[[collectors.git.patterns]]\ncomponent = \"storage\"\npattern = \"x\"\n"
        ),
        22,
        7,
        "`rev` in [[collectors.git]] must be a branch, tag or commit, found \"--output=x\": it \
         may not start with `-`",
    );
}

#[test]
fn test_report_collectors_name_a_phase_and_a_component() {
    let p = plan(
        "\n[[collectors.tests]]\nname = \"ci\"\npath = \"reports\"\nsuite = \"unit\"\nphase = \"tests\"\ncomponent = \"storage\"\n",
    );
    let t = &p.collectors.tests[0];
    assert_eq!(t.path, "reports");
    assert_eq!(t.suite.as_deref(), Some("unit"));
    assert_eq!(t.phase.as_deref(), Some("tests"));
    assert_eq!(t.component.as_deref(), Some("storage"));
    let extra = "\n[[collectors.tests]]\nname = \"ci\"\npath = \"reports\"\nphase = \"test\"\ncomponent = \"billing\"\n";
    mistake(
        extra,
        22,
        9,
        "`phase` of collector `ci` names `test`, which is not a phase (did you mean `tests`?)",
    );
    mistake(
        extra,
        23,
        13,
        "`component` of collector `ci` names `billing`, which is not a component (known: \
         `storage`)",
    );
    mistake(
        "\n[[collectors.tests]]\nname = \"ci\"\n",
        19,
        1,
        "missing key `path` in [[collectors.tests]]",
    );
}

#[test]
fn collector_name_and_keys_are_checked() {
    mistake(
        "\n[[collectors.logs]]\npaths = [\"a.log\"]\n",
        19,
        1,
        "missing key `name` in [[collectors.logs]]",
    );
    mistake(
        "\n[[collectors.host]]\nname = \"my host\"\n",
        20,
        8,
        "`name` in [[collectors.host]] must be made of letters, digits",
    );
    mistake(
        "\n[[collectors.host]]\ntpo = 3\n",
        20,
        1,
        "unknown key `tpo` in [[collectors.host]] (did you mean `top`?)",
    );
    let p = plan("\n[[collectors.host]]\ntop = 10\n");
    assert_eq!(p.collectors.host[0].name, "host");
    assert_eq!(p.collectors.host[0].top, 10);
}

// ---- notification channels -------------------------------------------------------------------

#[test]
fn channel_names_are_unique() {
    let one = channel("webhook", "url = \"http://127.0.0.1:9999/hook\"\n");
    mistake(
        &format!("{one}{one}"),
        25,
        8,
        "duplicate channel name `ops` (first at line 20)",
    );
}

#[test]
fn channel_kind_must_be_known() {
    mistake(
        &channel("slak", ""),
        21,
        8,
        "`kind` in [[notify]] must be `webhook`, `slack`, `pagerduty`, `email` or `jira`, found \
         \"slak\" (did you mean `slack`?)",
    );
}

#[test]
fn notify_written_as_one_table_is_refused() {
    mistake(
        "\n[notify]\nname = \"ops\"\n",
        19,
        1,
        "`notify` must be an array of tables ([[notify]]), found a table",
    );
}

#[test]
fn channel_common_keys_are_checked() {
    let extra = channel(
        "webhook",
        "url = \"http://127.0.0.1:9999/hook\"\nmin_severity = \"high\"\ncomponents = [\"storage\", \"billing\"]\nsend_resolved = 1\n",
    );
    mistake(
        &extra,
        23,
        16,
        "`min_severity` in [[notify]] must be `info`, `warning`, `error` or `critical`, found \
         \"high\"",
    );
    mistake(
        &extra,
        24,
        26,
        "`components` of channel `ops` names `billing`, which is not a component",
    );
    mistake(
        &extra,
        25,
        17,
        "`send_resolved` in [[notify]] must be `true` or `false`, found an integer",
    );
    let p = plan(&channel(
        "webhook",
        "url = \"http://127.0.0.1:9999/hook\"\n",
    ));
    let c = &p.notify[0];
    assert_eq!(c.min_severity, Severity::Warning);
    assert!(c.components.is_empty());
    assert!(c.send_resolved);
    assert_eq!(
        c.kind,
        ChannelKind::Webhook {
            url: "http://127.0.0.1:9999/hook".to_owned(),
            token: None
        }
    );
}

#[test]
fn inline_secrets_of_channels_are_refused_without_being_shown() {
    let found = mistake(
        &channel("pagerduty", "routing_key = \"R0UTINGKEY\"\n"),
        22,
        1,
        "`routing_key` in [[notify]] of kind `pagerduty` is a secret and is never written in the \
         plan: put it in a file and give `routing_key_file`",
    );
    never_shown(&found, "R0UTINGKEY");
    let found = mistake(
        &channel(
            "webhook",
            "url = \"http://127.0.0.1:9999/hook\"\ntoken = \"T0KEN\"\n",
        ),
        23,
        1,
        "`token` in [[notify]] of kind `webhook` is a secret",
    );
    never_shown(&found, "T0KEN");
    let found = mistake(
        &channel(
            "email",
            "server = \"smtp.example.org\"\nusername = \"mhd\"\npassword = \"PASSW0RD\"\n\
             from = \"mhd@example.org\"\nto = [\"ops@example.org\"]\n",
        ),
        24,
        1,
        "`password` in [[notify]] of kind `email` is a secret",
    );
    never_shown(&found, "PASSW0RD");
    let found = mistake(
        &channel(
            "jira",
            "url = \"https://x.atlassian.net\"\nproject = \"MIG\"\nuser = \"a@b.c\"\ntoken = \"JIRAT0KEN\"\n",
        ),
        25,
        1,
        "`token` in [[notify]] of kind `jira` is a secret",
    );
    never_shown(&found, "JIRAT0KEN");
}

#[test]
fn pagerduty_needs_a_routing_key_and_has_a_default_url() {
    mistake(
        &channel("pagerduty", ""),
        19,
        1,
        "missing key `routing_key_file` or `routing_key_env` in [[notify]] of kind `pagerduty`",
    );
    let p = plan(&channel(
        "pagerduty",
        "routing_key_file = \"/run/secrets/pd\"\nmin_severity = \"critical\"\n",
    ));
    assert_eq!(
        p.notify[0].kind,
        ChannelKind::Pagerduty {
            url: "https://events.pagerduty.com/v2/enqueue".to_owned(),
            routing_key: Secret::File("/run/secrets/pd".to_owned()),
        }
    );
    assert_eq!(p.notify[0].min_severity, Severity::Critical);
}

#[test]
fn slack_url_is_inline_or_a_secret_but_not_both() {
    let p = plan(&channel(
        "slack",
        "url = \"https://hooks.slack.com/services/T/B/X\"\n",
    ));
    assert_eq!(
        p.notify[0].kind,
        ChannelKind::Slack {
            url: SecretOrText::Text("https://hooks.slack.com/services/T/B/X".to_owned())
        }
    );
    let p = plan(&channel("slack", "url_env = \"SLACK_URL\"\n"));
    assert_eq!(
        p.notify[0].kind,
        ChannelKind::Slack {
            url: SecretOrText::Secret(Secret::Env("SLACK_URL".to_owned()))
        }
    );
    mistake(
        &channel("slack", ""),
        19,
        1,
        "missing key `url` in [[notify]] of kind `slack` (or `url_file` / `url_env`",
    );
    mistake(
        &channel(
            "slack",
            "url = \"https://hooks.slack.com/services/T/B/X\"\nurl_file = \"slack\"\n",
        ),
        23,
        1,
        "give either `url` or `url_file` / `url_env` in [[notify]] of kind `slack`, not both",
    );
    let found = mistake(
        &channel(
            "slack",
            "url = \"hooks.slack.com/services/T/B/SECRETPART\"\n",
        ),
        22,
        7,
        "`url` in [[notify]] of kind `slack` must be an http:// or https:// address",
    );
    never_shown(&found, "SECRETPART");
}

#[test]
fn email_channels_are_read_with_defaults() {
    let p = plan(&channel(
        "email",
        "server = \"smtp.example.org:587\"\nusername = \"mhd\"\npassword_env = \"SMTP_PASSWORD\"\n\
         from = \"MHD <mhd@example.org>\"\nto = [\"ops@example.org\", \"lead@example.org\"]\n",
    ));
    assert_eq!(
        p.notify[0].kind,
        ChannelKind::Email {
            server: "smtp.example.org:587".to_owned(),
            tls: "starttls".to_owned(),
            username: Some("mhd".to_owned()),
            password: Some(Secret::Env("SMTP_PASSWORD".to_owned())),
            from: "MHD <mhd@example.org>".to_owned(),
            to: vec!["ops@example.org".to_owned(), "lead@example.org".to_owned()],
        }
    );
    let p = plan(&channel(
        "email",
        "server = \"smtp://127.0.0.1:2525\"\ntls = \"none\"\nfrom = \"mhd@localhost\"\nto = [\"ops@localhost\"]\n",
    ));
    let ChannelKind::Email { tls, username, .. } = &p.notify[0].kind else {
        panic!("an e-mail channel")
    };
    assert_eq!((tls.as_str(), username), ("none", &None));
}

#[test]
fn email_channels_are_checked() {
    let base = "server = \"smtp.example.org\"\nfrom = \"mhd@example.org\"\n";
    mistake(
        &channel("email", &format!("{base}to = []\n")),
        24,
        6,
        "`to` in [[notify]] of kind `email` names no recipient",
    );
    mistake(
        &channel(
            "email",
            &format!("{base}to = [\"ops@example.org\", \"ops\"]\n"),
        ),
        24,
        26,
        "`to` in [[notify]] of kind `email` must be an e-mail address such as ops@example.org",
    );
    mistake(
        &channel(
            "email",
            &format!("{base}to = [\"a@b.org\\r\\nBcc: x@y.org\"]\n"),
        ),
        24,
        7,
        "must be an e-mail address",
    );
    mistake(
        &channel("email", base),
        19,
        1,
        "missing key `to` in [[notify]] of kind `email`",
    );
    mistake(
        &channel(
            "email",
            &format!("{base}to = [\"ops@example.org\"]\ntls = \"ssl\"\n"),
        ),
        25,
        7,
        "`tls` in [[notify]] of kind `email` must be `starttls`, `tls` or `none`, found \"ssl\"",
    );
    mistake(
        &channel(
            "email",
            &format!("{base}to = [\"ops@example.org\"]\ntls = \"none\"\n"),
        ),
        25,
        7,
        "`tls` in [[notify]] of kind `email` = \"none\" would send alerts and the password in \
         clear over the network",
    );
    mistake(
        &channel(
            "email",
            "server = \"smtp.example.org:99999\"\nfrom = \"mhd@example.org\"\nto = [\"o@e.org\"]\n",
        ),
        22,
        10,
        "`server` in [[notify]] of kind `email` must be `host`, `host:port` or \
         `smtp://host:port`, found \"smtp.example.org:99999\"",
    );
    mistake(
        &channel(
            "email",
            &format!("{base}to = [\"ops@example.org\"]\npassword_file = \"/run/secrets/smtp\"\n"),
        ),
        25,
        1,
        "a password needs a `username` in [[notify]] of kind `email`",
    );
}

#[test]
fn jira_channels_default_to_bugs_and_critical_alerts() {
    let body = "url = \"https://example.atlassian.net\"\nproject = \"MIG\"\nuser = \"ops@example.org\"\ntoken_file = \"/run/secrets/jira\"\n";
    let p = plan(&channel("jira", body));
    assert_eq!(
        p.notify[0].kind,
        ChannelKind::Jira {
            url: "https://example.atlassian.net".to_owned(),
            project: "MIG".to_owned(),
            issue_type: "Bug".to_owned(),
            user: "ops@example.org".to_owned(),
            token: Secret::File("/run/secrets/jira".to_owned()),
            auto_severity: Some(Severity::Critical),
        }
    );
    let p = plan(&channel(
        "jira",
        &format!("{body}issue_type = \"Incident\"\nauto_severity = \"error\"\n"),
    ));
    let ChannelKind::Jira {
        issue_type,
        auto_severity,
        ..
    } = &p.notify[0].kind
    else {
        panic!("a Jira channel")
    };
    assert_eq!(
        (issue_type.as_str(), *auto_severity),
        ("Incident", Some(Severity::Error))
    );
    let p = plan(&channel("jira", &format!("{body}auto = false\n")));
    let ChannelKind::Jira { auto_severity, .. } = &p.notify[0].kind else {
        panic!("a Jira channel")
    };
    assert_eq!(*auto_severity, None);
    mistake(
        &channel(
            "jira",
            &format!("{body}auto = false\nauto_severity = \"error\"\n"),
        ),
        27,
        17,
        "`auto_severity` in [[notify]] of kind `jira` has no effect with `auto = false`",
    );
    mistake(
        &channel("jira", "url = \"https://example.atlassian.net\"\n"),
        19,
        1,
        "missing key `token_file` or `token_env` in [[notify]] of kind `jira`",
    );
    mistake(
        &channel("jira", "url = \"https://example.atlassian.net\"\n"),
        19,
        1,
        "missing key `project` in [[notify]] of kind `jira`",
    );
}

#[test]
fn a_key_of_another_channel_kind_is_refused() {
    mistake(
        &channel(
            "webhook",
            "url = \"http://127.0.0.1:9999/hook\"\nproject = \"MIG\"\n",
        ),
        23,
        1,
        "unknown key `project` in [[notify]] of kind `webhook`",
    );
}

// ---- chat ------------------------------------------------------------------------------------

#[test]
fn chat_signing_secret_comes_from_a_file_or_the_environment() {
    assert_eq!(plan("").chat.signing_secret, None);
    let p = plan("\n[chat]\nsigning_secret_file = \"secrets/slack-signing\"\n");
    assert_eq!(
        p.chat.signing_secret,
        Some(Secret::File("secrets/slack-signing".to_owned()))
    );
    let found = mistake(
        "\n[chat]\nsigning_secret = \"8f742231b10e8888abcd99yyyzzz85a5\"\n",
        20,
        1,
        "`signing_secret` in [chat] is a secret and is never written in the plan",
    );
    never_shown(&found, "8f742231b10e");
    mistake(
        "\n[chat]\nsigning_secret_env = \"1PASS\"\n",
        20,
        22,
        "`signing_secret_env` in [chat] must name an environment variable",
    );
    mistake(
        "\n[chat]\nsigning_secet_file = \"x\"\n",
        20,
        1,
        "unknown key `signing_secet_file` in [chat] (did you mean `signing_secret_file`?)",
    );
}

// ---- the whole ---------------------------------------------------------------------------------

#[test]
fn every_section_is_read_and_serialized_without_secret_values() {
    let extra = r#"
[[collectors.prometheus]]
name = "prod"
url = "https://prometheus.example"

[[collectors.host]]

[[collectors.database]]
name = "db"
dsn_env = "MHD_DSN"
component = "storage"

[[collectors.logs]]
name = "app"
paths = ["logs/app.log"]
format = "loguru"

[[collectors.git]]
name = "code"
repo = "."
rev = "main"
[[collectors.git.patterns]]
component = "storage"
pattern = "legacy"

[[collectors.tests]]
name = "ci"
path = "reports"

[alerts]
interval = "30s"

[[alerts.rules]]
name = "down"
kind = "collector_down"
collector = "db"
severity = "error"

[[notify]]
name = "pager"
kind = "pagerduty"
routing_key_env = "PD_KEY"
send_resolved = false

[chat]
signing_secret_env = "SLACK_SIGNING"
"#;
    let p = plan(extra);
    let all: Vec<(&str, &str)> = p
        .collectors
        .all()
        .into_iter()
        .map(|(name, kind, _)| (name, kind))
        .collect();
    assert_eq!(
        all,
        [
            ("prod", "prometheus"),
            ("host", "host"),
            ("db", "database"),
            ("app", "logs"),
            ("code", "git"),
            ("ci", "tests")
        ]
    );
    assert_eq!(p.collectors.git[0].rev, "main");
    assert_eq!(p.collectors.logs[0].format, "loguru");
    assert_eq!(p.alerts.interval, Duration::seconds(30));
    assert_eq!(p.alerts.rules[0].severity, Severity::Error);
    assert!(!p.notify[0].send_resolved);
    let json = serde_json::to_value(&p).expect("serializes");
    assert_eq!(json["alerts"]["interval"], "30s");
    assert_eq!(json["collectors"]["database"][0]["dsn"]["env"], "MHD_DSN");
    assert_eq!(json["notify"][0]["kind"], "pagerduty");
    assert_eq!(json["chat"]["signing_secret"]["env"], "SLACK_SIGNING");
}

#[test]
fn mistakes_in_every_section_are_all_reported_in_order() {
    let extra = r#"
[[collectors.prometheus]]
name = "prod"
url = "ftp://x"

[alerts]
interval = "0s"

[[alerts.rules]]
name = "r"
kind = "threshold"
metric = "nope"
op = ">"
threshold = 1

[[notify]]
name = "ops"
kind = "webhook"

[chat]
signing_secret = "s"
"#;
    let found = errors(extra);
    let places: Vec<(usize, usize)> = found.iter().map(|e| (e.line, e.column)).collect();
    assert_eq!(
        places,
        [(21, 7), (24, 12), (29, 10), (33, 1), (38, 1)],
        "{found:#?}"
    );
}

#[test]
fn retention_defaults_apply_without_the_section_and_keys_are_read() {
    assert_eq!(
        plan("").retention,
        crate::plan::RetentionSettings::default()
    );
    let r = plan("\n[retention]\nsamples = \"12h\"\noperations = \"60d\"\ndeliveries = \"2d\"\n")
        .retention;
    assert_eq!(r.samples, Duration::hours(12));
    assert_eq!(r.operations, Duration::days(60));
    assert_eq!(r.deliveries, Duration::days(2));
    assert_eq!(r.sample_rollups, Duration::days(90));
    assert_eq!(r.test_runs, Duration::days(180));
    assert_eq!(r.resolved_alerts, Duration::days(180));
}

#[test]
fn retention_shorter_than_the_safe_minimum_is_refused_naming_the_key() {
    // (source, line, column, part of the message)
    let cases = [
        (
            "\n[retention]\nsamples = \"1h\"\n",
            20,
            11,
            "`samples` in [retention]: 1h is shorter than the safe minimum of 6h",
        ),
        (
            "\n[retention]\noperations = \"7d\"\n",
            20,
            14,
            "`operations` in [retention]: 7d is shorter than the safe minimum of 30d",
        ),
        (
            "\n[retention]\ntest_runs = \"1d\"\n",
            20,
            13,
            "`test_runs` in [retention]: 1d is shorter than the safe minimum of 7d",
        ),
        (
            "\n[retention]\nresolved_alerts = \"0s\"\n",
            20,
            19,
            "`resolved_alerts` in [retention]: 0ms is shorter than the safe minimum of 7d",
        ),
        (
            "\n[retention]\ndeliveries = \"1h\"\n",
            20,
            14,
            "`deliveries` in [retention]: 1h is shorter than the safe minimum of 1d",
        ),
        (
            "\n[retention]\nsamples = \"30d\"\nsample_rollups = \"14d\"\n",
            21,
            18,
            "`sample_rollups` in [retention]: 14d is shorter than `samples` (30d)",
        ),
        (
            "\n[retention]\noperations = \"ninety days\"\n",
            20,
            14,
            "`operations` in [retention]: \"ninety days\" is not a duration",
        ),
        (
            "\n[retention]\noperations = 90\n",
            20,
            14,
            "`operations` in [retention] must be a duration",
        ),
        (
            "\n[retention]\nsample = \"48h\"\n",
            20,
            1,
            "unknown key `sample` in [retention] (did you mean `samples`?)",
        ),
    ];
    for (extra, line, column, message) in cases {
        mistake(extra, line, column, message);
    }
}
