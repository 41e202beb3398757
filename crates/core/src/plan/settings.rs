//! The plan's operational sections: `[[collectors.*]]`, `[alerts]` with its `[[alerts.rules]]`,
//! and `[[notify]]` channels (DESIGN §4 "The plan file").
//!
//! These are the typed forms the server runs from; [`super::parse`] fills them and reports every
//! mistake at its line and column, as for the rest of the plan.
//!
//! Durations are written as text (`"15s"`, `"5m"`, `"1h30m"`). Paths are kept as written; the
//! server reads a relative path from the plan file's folder. Secrets are never written in the
//! plan: a secret `key` is given as `key_file` (a file holding it) or `key_env` (an environment
//! variable holding it), and a plan that writes `key` itself is refused without the value being
//! repeated anywhere.

use serde::Serialize;
use time::Duration;

use crate::summary::Severity;

/// How often a collector runs and how long one run may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Schedule {
    /// Time between two runs (`interval`, default 15 s).
    #[serde(with = "duration_text")]
    pub interval: Duration,
    /// Longest time one run may take before it counts as failed (`timeout`, default 30 s).
    #[serde(with = "duration_text")]
    pub timeout: Duration,
}

impl Default for Schedule {
    fn default() -> Self {
        Schedule {
            interval: Duration::seconds(15),
            timeout: Duration::seconds(30),
        }
    }
}

/// `[[collectors.*]]`: every collector the plan configures, by kind.
///
/// Every collector has a `name` (letters, digits, `_`, `-`, `.`), unique among all collectors
/// of every kind; only the host collector may leave it out (it is then `host`). Every one takes
/// `interval` and `timeout` (both longer than zero), and those that write figures for one
/// component take `component`, which must be one of the plan's components when the plan
/// declares any.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Collectors {
    /// `[[collectors.prometheus]]`
    pub prometheus: Vec<PrometheusCollector>,
    /// `[[collectors.host]]`
    pub host: Vec<HostCollector>,
    /// `[[collectors.database]]`
    pub database: Vec<DatabaseCollector>,
    /// `[[collectors.logs]]`
    pub logs: Vec<LogsCollector>,
    /// `[[collectors.git]]`
    pub git: Vec<GitCollector>,
    /// `[[collectors.tests]]`
    pub tests: Vec<TestReportsCollector>,
}

impl Collectors {
    /// Whether no collector is configured.
    pub fn is_empty(&self) -> bool {
        self.prometheus.is_empty()
            && self.host.is_empty()
            && self.database.is_empty()
            && self.logs.is_empty()
            && self.git.is_empty()
            && self.tests.is_empty()
    }

    /// Every collector's name, kind and schedule, in the file's order within each kind.
    pub fn all(&self) -> Vec<(&str, &'static str, Schedule)> {
        let mut out = Vec::new();
        out.extend(
            self.prometheus
                .iter()
                .map(|c| (c.name.as_str(), "prometheus", c.schedule)),
        );
        out.extend(
            self.host
                .iter()
                .map(|c| (c.name.as_str(), "host", c.schedule)),
        );
        out.extend(
            self.database
                .iter()
                .map(|c| (c.name.as_str(), "database", c.schedule)),
        );
        out.extend(
            self.logs
                .iter()
                .map(|c| (c.name.as_str(), "logs", c.schedule)),
        );
        out.extend(
            self.git
                .iter()
                .map(|c| (c.name.as_str(), "git", c.schedule)),
        );
        out.extend(
            self.tests
                .iter()
                .map(|c| (c.name.as_str(), "tests", c.schedule)),
        );
        out
    }
}

/// `[[collectors.prometheus]]`: named PromQL queries against a Prometheus-compatible server.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PrometheusCollector {
    /// Unique among all collectors.
    pub name: String,
    /// The server's base address, such as `http://127.0.0.1:9090`.
    pub url: String,
    /// Its schedule.
    pub schedule: Schedule,
    /// The queries; each query's name is the metric it writes (and a metric alert rules may
    /// name). Written `queries = { name = "promql", … }`, where a value is a string for an
    /// instant query or `{ query, range, step }` for a range query. When the plan leaves
    /// `queries` out, the specification's five (see [`PromQuery::defaults`]).
    pub queries: Vec<PromQuery>,
    /// The component the samples are written for, if any.
    pub component: Option<String>,
}

/// One named PromQL query.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PromQuery {
    /// The metric name its results are stored under (the key in `queries`).
    pub name: String,
    /// The PromQL expression.
    pub query: String,
    /// `Some` for a range query (`{ query = "...", range = "1h", step = "1m" }`), `None` for an
    /// instant query (a plain string).
    pub range: Option<RangeQuery>,
}

/// The span and resolution of a range query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RangeQuery {
    /// How far back from now.
    #[serde(with = "duration_text")]
    pub range: Duration,
    /// The step between points.
    #[serde(with = "duration_text")]
    pub step: Duration,
}

impl PromQuery {
    /// The specification's default queries: operation rate, error rate, p95 latency,
    /// connection pool usage and dataset count.
    pub fn defaults() -> Vec<PromQuery> {
        [
            ("operation_rate", "sum(rate(mdm_operations_total[5m]))"),
            ("error_rate", "sum(rate(mdm_errors_total[5m]))"),
            (
                "p95_latency",
                "histogram_quantile(0.95, sum by (le) (rate(mdm_operation_duration_seconds_bucket[5m])))",
            ),
            (
                "connection_pool_usage",
                "sum(mdm_connection_pool_active) / sum(mdm_connection_pool_size)",
            ),
            ("dataset_count", "sum(mdm_datasets_total)"),
        ]
        .into_iter()
        .map(|(name, query)| PromQuery {
            name: name.to_owned(),
            query: query.to_owned(),
            range: None,
        })
        .collect()
    }
}

/// `[[collectors.host]]`: this machine's CPU, memory, disk, network and top processes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HostCollector {
    /// Unique among all collectors (default `"host"`).
    pub name: String,
    /// Its schedule.
    pub schedule: Schedule,
    /// How many processes to report by CPU and by memory (`top`, default 5).
    pub top: u32,
    /// The component the samples are written for, if any.
    pub component: Option<String>,
}

/// `[[collectors.database]]`: a PostgreSQL server's connections and activity.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DatabaseCollector {
    /// Unique among all collectors.
    pub name: String,
    /// Where the connection string comes from (`dsn_file` or `dsn_env`); it may hold a
    /// password, so it is a secret and an inline `dsn` is refused.
    pub dsn: Secret,
    /// Its schedule.
    pub schedule: Schedule,
    /// The component the samples are written for, if any.
    pub component: Option<String>,
}

/// `[[collectors.logs]]`: log files followed across rotation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogsCollector {
    /// Unique among all collectors.
    pub name: String,
    /// The files to follow (`paths`, at least one).
    pub paths: Vec<String>,
    /// `auto` (default), `loguru`, `json` or `plain`.
    pub format: String,
    /// Its schedule.
    pub schedule: Schedule,
    /// The component the figures are written for, if any.
    pub component: Option<String>,
}

/// `[[collectors.git]]`: code migrations measured by what is left to change.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GitCollector {
    /// Unique among all collectors.
    pub name: String,
    /// The repository's folder.
    pub repo: String,
    /// The branch or revision to walk (default `HEAD`; never starting with `-`).
    pub rev: String,
    /// Its schedule (default interval 5 minutes).
    pub schedule: Schedule,
    /// What to count, per component (at least one `[[collectors.git.patterns]]`).
    pub patterns: Vec<GitPattern>,
}

/// One pattern whose matches are counted at each commit (`[[collectors.git.patterns]]`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GitPattern {
    /// The component whose code it measures (required).
    pub component: String,
    /// A fixed string or, with `regex = true`, an extended regular expression, as `git grep`
    /// reads it.
    pub pattern: String,
    /// Whether `pattern` is a regular expression.
    pub regex: bool,
    /// The folders of that component's code (`paths`, default the whole tree); commit activity
    /// is counted on them too.
    pub paths: Vec<String>,
}

/// `[[collectors.tests]]`: a folder watched for new JUnit XML reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TestReportsCollector {
    /// Unique among all collectors.
    pub name: String,
    /// The folder to watch.
    pub path: String,
    /// The suite name the reports are stored under (default: the file's name without `.xml`).
    pub suite: Option<String>,
    /// The phase the runs belong to, if any (one of the plan's phases).
    pub phase: Option<String>,
    /// The component the runs belong to, if any.
    pub component: Option<String>,
    /// Its schedule.
    pub schedule: Schedule,
}

/// A secret value: read from a file or an environment variable when used, never written in the
/// plan and never printed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Secret {
    /// `<key>_file = "/run/secrets/x"`: the file's contents, trailing newline removed.
    File(String),
    /// `<key>_env = "VAR"`: the variable's value.
    Env(String),
}

/// `[alerts]`: how often rules are evaluated, and the rules.
///
/// Which rules apply: the `[[alerts.rules]]` the plan writes, and only those (they replace the
/// built-in rules rather than add to them); when the plan writes none — no `[alerts]` at all,
/// or `[alerts]` without rules — the built-in [`Rule::defaults`], unless `[alerts]` says
/// `defaults = false`, which leaves no rule at all.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertSettings {
    /// How often every rule is evaluated (`interval`, default 15 s).
    #[serde(with = "duration_text")]
    pub interval: Duration,
    /// The window over which metrics computed from operations are taken (`window`, default 5 m).
    #[serde(with = "duration_text")]
    pub window: Duration,
    /// The rules; when the plan has no `[[alerts.rules]]`, the specification's defaults
    /// ([`Rule::defaults`]) unless `defaults = false`. Rules in the plan replace the defaults.
    pub rules: Vec<Rule>,
    /// How long a worse overall status must hold before it is shown (`health_for`, default
    /// 1 m): the status's `for`.
    #[serde(with = "duration_text")]
    pub health_for: Duration,
    /// How long a better overall status must hold before it is shown (`health_keep`, default
    /// 5 m): the status's `keep_firing_for`.
    #[serde(with = "duration_text")]
    pub health_keep: Duration,
}

impl Default for AlertSettings {
    fn default() -> Self {
        AlertSettings {
            interval: Duration::seconds(15),
            window: Duration::minutes(5),
            rules: Rule::defaults(),
            health_for: Duration::minutes(1),
            health_keep: Duration::minutes(5),
        }
    }
}

/// One alert rule (`[[alerts.rules]]`): `name` and `kind` are required; the other keys of
/// every rule have defaults, and each kind takes only its own keys (see [`RuleKind`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rule {
    /// Unique among the rules (letters, digits, `_`, `-`, `.`); part of every alert's key.
    pub name: String,
    /// What it watches.
    #[serde(flatten)]
    pub kind: RuleKind,
    /// How long the condition must hold before the alert fires (`for`, default 0).
    #[serde(rename = "for", with = "duration_text")]
    pub for_: Duration,
    /// How long the condition must be clear before the alert resolves (`keep_firing_for`,
    /// default 0), so a flapping metric does not flap the alert.
    #[serde(with = "duration_text")]
    pub keep_firing_for: Duration,
    /// `info`, `warning`, `error` or `critical` (default `warning`).
    pub severity: Severity,
    /// Only this component, when given (one of the plan's components when it declares any);
    /// otherwise the rule is evaluated for every component that has the metric, and for the
    /// migration as a whole.
    pub component: Option<String>,
    /// A link to what to do (an `http://` or `https://` address).
    pub runbook: Option<String>,
    /// A sentence shown with the alert (`summary`); a default is made from the rule otherwise.
    pub summary: Option<String>,
}

/// What a rule watches (`kind` and its own keys).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RuleKind {
    /// `kind = "threshold"`: `metric op threshold`, all three required.
    Threshold {
        /// A metric of DESIGN §4 (computed from operations or written by a collector, see
        /// [`KNOWN_METRICS`]) or the name of one of the plan's Prometheus queries.
        metric: String,
        /// The comparison.
        op: Comparison,
        /// The level.
        threshold: f64,
    },
    /// `kind = "rate_of_change"`: the metric's change over `over` (per that span, in the
    /// metric's unit, or in percent with `percent = true`) compared with `threshold`;
    /// `metric`, `op` and `threshold` are required.
    RateOfChange {
        /// The metric.
        metric: String,
        /// The comparison.
        op: Comparison,
        /// The level.
        threshold: f64,
        /// The span the change is measured over (`over`, default 5 m).
        #[serde(with = "duration_text")]
        over: Duration,
        /// Whether the change is a percentage of the earlier value.
        percent: bool,
    },
    /// `kind = "rollback"`: at least `count` rollbacks within `window` (defaults 3 in 1 h).
    Rollback {
        /// How many.
        count: u32,
        /// Within what span.
        #[serde(with = "duration_text")]
        window: Duration,
    },
    /// `kind = "integrity"`: a failed verification, or old and new row counts that differ.
    Integrity,
    /// `kind = "regression"`: a performance regression of DESIGN §3.7.
    Regression,
    /// `kind = "test_pass"`: a suite's pass rate under `threshold` (default the plan's
    /// `test_pass_critical`) or dropped by more than `drop` (0..1) since the previous run.
    TestPass {
        /// The pass rate under which it fires.
        threshold: Option<f64>,
        /// The drop from the previous run that fires it.
        drop: Option<f64>,
    },
    /// `kind = "collector_down"`: a collector whose last run failed (or any, when `collector`
    /// is not given).
    CollectorDown {
        /// Only this collector (the name of one of the plan's collectors).
        collector: Option<String>,
    },
    /// `kind = "schedule"`: the forecast behind the planned end by more than `days`.
    Schedule {
        /// Days behind (default 7, not negative).
        days: f64,
    },
}

impl RuleKind {
    /// The name written in `kind`.
    pub fn name(&self) -> &'static str {
        match self {
            RuleKind::Threshold { .. } => "threshold",
            RuleKind::RateOfChange { .. } => "rate_of_change",
            RuleKind::Rollback { .. } => "rollback",
            RuleKind::Integrity => "integrity",
            RuleKind::Regression => "regression",
            RuleKind::TestPass { .. } => "test_pass",
            RuleKind::CollectorDown { .. } => "collector_down",
            RuleKind::Schedule { .. } => "schedule",
        }
    }
}

/// A comparison in a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Comparison {
    /// `>`
    #[serde(rename = ">")]
    Above,
    /// `>=`
    #[serde(rename = ">=")]
    AtLeast,
    /// `<`
    #[serde(rename = "<")]
    Below,
    /// `<=`
    #[serde(rename = "<=")]
    AtMost,
}

impl Comparison {
    /// Reads `>`, `>=`, `<` or `<=`.
    pub fn from_symbol(s: &str) -> Option<Comparison> {
        match s {
            ">" => Some(Comparison::Above),
            ">=" => Some(Comparison::AtLeast),
            "<" => Some(Comparison::Below),
            "<=" => Some(Comparison::AtMost),
            _ => None,
        }
    }

    /// The symbol.
    pub fn symbol(self) -> &'static str {
        match self {
            Comparison::Above => ">",
            Comparison::AtLeast => ">=",
            Comparison::Below => "<",
            Comparison::AtMost => "<=",
        }
    }

    /// Whether `value` compares so with `threshold` (never for NaN).
    pub fn holds(self, value: f64, threshold: f64) -> bool {
        match self {
            Comparison::Above => value > threshold,
            Comparison::AtLeast => value >= threshold,
            Comparison::Below => value < threshold,
            Comparison::AtMost => value <= threshold,
        }
    }
}

/// The metrics every rule and chart may name without a collector (computed from operations over
/// the live window) and those the built-in collectors write (DESIGN §4).
pub const KNOWN_METRICS: &[&str] = &[
    "operations_per_second",
    "error_rate",
    "mean_duration_ms",
    "p95_duration_ms",
    "migration_success_rate",
    "rollbacks",
    "schedule_delay_days",
    "cpu_percent",
    "memory_percent",
    "memory_used_bytes",
    "disk_read_bytes_per_second",
    "disk_write_bytes_per_second",
    "network_in_bytes_per_second",
    "network_out_bytes_per_second",
    "connection_pool_usage",
    "db_connections_active",
    "db_connections_idle",
    "db_pool_size",
    "db_queries_per_second",
    "db_transactions_per_second",
    "log_errors_per_minute",
    "code_matches_remaining",
];

impl Rule {
    /// The specification's default rules: error rate 5 % warning and 10 % critical, p95
    /// latency over 1 s, memory 80 % / 90 %, pool usage 90 %, migration success rate under
    /// 90 %, schedule behind by 7 days, rollbacks, data integrity, performance regression,
    /// test pass rate, and collectors down.
    pub fn defaults() -> Vec<Rule> {
        fn rule(name: &str, kind: RuleKind, severity: Severity, summary: &str) -> Rule {
            Rule {
                name: name.to_owned(),
                kind,
                for_: Duration::ZERO,
                keep_firing_for: Duration::minutes(5),
                severity,
                component: None,
                runbook: default_runbook(name).map(str::to_owned),
                summary: Some(summary.to_owned()),
            }
        }
        fn threshold(metric: &str, op: Comparison, threshold: f64) -> RuleKind {
            RuleKind::Threshold {
                metric: metric.to_owned(),
                op,
                threshold,
            }
        }
        use Comparison::{Above, Below};
        use Severity::{Critical, Warning};
        vec![
            rule(
                "high_error_rate",
                threshold("error_rate", Above, 0.05),
                Warning,
                "Error rate above 5 %",
            ),
            rule(
                "critical_error_rate",
                threshold("error_rate", Above, 0.10),
                Critical,
                "Error rate above 10 %",
            ),
            rule(
                "slow_response",
                threshold("p95_duration_ms", Above, 1000.0),
                Warning,
                "p95 duration above 1 s",
            ),
            rule(
                "high_memory",
                threshold("memory_percent", Above, 80.0),
                Warning,
                "Memory use above 80 %",
            ),
            rule(
                "critical_memory",
                threshold("memory_percent", Above, 90.0),
                Critical,
                "Memory use above 90 %",
            ),
            rule(
                "pool_exhaustion",
                threshold("connection_pool_usage", Above, 0.9),
                Critical,
                "Connection pool over 90 % used",
            ),
            rule(
                "low_success_rate",
                threshold("migration_success_rate", Below, 0.9),
                Warning,
                "Migration success rate under 90 %",
            ),
            rule(
                "behind_schedule",
                RuleKind::Schedule { days: 7.0 },
                Warning,
                "Forecast more than 7 days behind the plan",
            ),
            rule(
                "rollbacks",
                RuleKind::Rollback {
                    count: 3,
                    window: Duration::hours(1),
                },
                Warning,
                "3 or more rollbacks within an hour",
            ),
            rule(
                "data_integrity",
                RuleKind::Integrity,
                Critical,
                "A data integrity check failed",
            ),
            rule(
                "performance_regression",
                RuleKind::Regression,
                Warning,
                "The new system is slower than the old",
            ),
            rule(
                "test_pass_rate",
                RuleKind::TestPass {
                    threshold: None,
                    drop: Some(0.10),
                },
                Warning,
                "A test suite's pass rate is low or dropped",
            ),
            rule(
                "collector_down",
                RuleKind::CollectorDown { collector: None },
                Warning,
                "A collector is failing",
            ),
        ]
    }
}

/// What to look at first for an alert of a default rule, and which `mhd` command shows it:
/// the default rules' runbook text.
pub fn default_runbook(rule: &str) -> Option<&'static str> {
    Some(match rule {
        "high_error_rate" | "critical_error_rate" => {
            "Look at the component's failing operations and their errors (`mhd stats show \
             --failed --since 1h`) and its row in the component matrix (`mhd components`). If the \
             new system causes them, roll the component back from the dashboard's rollback page."
        }
        "slow_response" => {
            "See which operation types got slow (`mhd stats summary`: durations by type) and \
             whether the host is loaded (the resources page); compare old and new with `mhd perf`."
        }
        "high_memory" | "critical_memory" => {
            "See the top processes on the resources page (host collector) and whether a worker or \
             an import keeps growing; restart or scale it before it runs out."
        }
        "pool_exhaustion" => {
            "See the database's connections on the resources page; look for long transactions or \
             leaked connections, and raise the pool size only once they are ruled out."
        }
        "low_success_rate" => {
            "Look at the failed migrations and their errors (`mhd stats show --failed -t \
             migration`, or the datasets page filtered to failed) and retry them once the cause \
             is fixed."
        }
        "behind_schedule" => {
            "See which phases hold the forecast up (`mhd timeline`, and the critical path in \
             `mhd summary`); raise their throughput, or move the planned end in the plan."
        }
        "rollbacks" => {
            "See which datasets were rolled back and why (`mhd stats show -t rollback`, or the \
             datasets page filtered to rolled back) before migrating them again."
        }
        "data_integrity" => {
            "Compare the dataset on both systems (`mhd stats dataset NAME`) and stop migrating \
             the component until its verification passes again."
        }
        "performance_regression" => {
            "See the operations that got slower and by how much (`mhd perf`); profile the new \
             system on them before more traffic moves to it."
        }
        "test_pass_rate" => {
            "See the failing and flaky tests of the suite (`mhd tests`) and fix them before the \
             phase that relies on the suite goes on."
        }
        "collector_down" => {
            "See the collector's last error on the resources page and in the log (`mhd stats \
             logs --level error`); check its address, credentials and timeout in the plan."
        }
        _ => return None,
    })
}

/// `[[notify]]`: one notification channel. `name` and `kind` are required; each kind takes
/// only its own keys (see [`ChannelKind`]), and its secrets only as `<key>_file` / `<key>_env`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Channel {
    /// Unique among the channels (letters, digits, `_`, `-`, `.`).
    pub name: String,
    /// Where and how it sends.
    #[serde(flatten)]
    pub kind: ChannelKind,
    /// The least severity it is sent (`min_severity`, default `warning`).
    pub min_severity: Severity,
    /// Only alerts of these components (`components`, default all; each one of the plan's
    /// components when it declares any).
    pub components: Vec<String>,
    /// Whether resolutions are sent too (`send_resolved`, default true).
    pub send_resolved: bool,
}

/// How a channel sends, with its own keys.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChannelKind {
    /// `kind = "webhook"`: the alert as JSON, POSTed to `url`.
    Webhook {
        /// Where (required, `http://` or `https://`).
        url: String,
        /// Optional bearer token (`token_file` / `token_env`).
        token: Option<Secret>,
    },
    /// `kind = "slack"`: an incoming-webhook message.
    Slack {
        /// The incoming webhook address (`url`, or `url_file` / `url_env` since Slack's address
        /// is itself a secret).
        url: SecretOrText,
    },
    /// `kind = "pagerduty"`: Events API v2, `trigger` and `resolve` with the alert's key as
    /// `dedup_key`.
    Pagerduty {
        /// Default `https://events.pagerduty.com/v2/enqueue`.
        url: String,
        /// `routing_key_file` / `routing_key_env`.
        routing_key: Secret,
    },
    /// `kind = "email"`: SMTP with STARTTLS and authentication.
    Email {
        /// `smtp://host:port` or `host:port` (default port 587).
        server: String,
        /// `starttls` (default), `tls` or `none` (refused unless the server is `localhost`,
        /// `127.0.0.1` or `::1`).
        tls: String,
        /// SMTP user name, if the server wants one.
        username: Option<String>,
        /// `password_file` / `password_env` (only with a `username`).
        password: Option<Secret>,
        /// The sender: `ops@example.org` or `Ops <ops@example.org>`.
        from: String,
        /// The recipients (at least one), written like `from`.
        to: Vec<String>,
    },
    /// `kind = "jira"`: an issue created from an alert, on a button, or automatically for
    /// alerts of at least `auto_severity`.
    Jira {
        /// The site, such as `https://example.atlassian.net` (issues are created at
        /// `{url}/rest/api/2/issue`).
        url: String,
        /// The project key.
        project: String,
        /// The issue type (default `Bug`).
        issue_type: String,
        /// The account's e-mail or user name.
        user: String,
        /// `token_file` / `token_env`: an API token.
        token: Secret,
        /// The least severity for which an issue is created without a click
        /// (`auto_severity`, default `critical`); `None` with `auto = false`, which does not
        /// take `auto_severity`.
        auto_severity: Option<Severity>,
    },
}

impl ChannelKind {
    /// The name written in `kind`.
    pub fn name(&self) -> &'static str {
        match self {
            ChannelKind::Webhook { .. } => "webhook",
            ChannelKind::Slack { .. } => "slack",
            ChannelKind::Pagerduty { .. } => "pagerduty",
            ChannelKind::Email { .. } => "email",
            ChannelKind::Jira { .. } => "jira",
        }
    }
}

/// A value that may be written inline or kept as a secret. Either way it is treated as a secret
/// once read: an inline value (a Slack webhook address is one) is never shown by `Debug` or in
/// JSON, which say `"(inline)"` instead.
#[derive(Clone, PartialEq, Eq)]
pub enum SecretOrText {
    /// Written in the plan.
    Text(String),
    /// Read from a file or the environment.
    Secret(Secret),
}

impl std::fmt::Debug for SecretOrText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SecretOrText::Text(_) => f.write_str("Text(\"(inline)\")"),
            SecretOrText::Secret(s) => f.debug_tuple("Secret").field(s).finish(),
        }
    }
}

impl Serialize for SecretOrText {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(1))?;
        match self {
            SecretOrText::Text(_) => map.serialize_entry("text", "(inline)")?,
            SecretOrText::Secret(secret) => map.serialize_entry("secret", secret)?,
        }
        map.end()
    }
}

/// `[chat]`: the chat command endpoint (`POST /api/v1/chat/command`), answering `status` and
/// `alerts` in Slack's slash-command format.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ChatSettings {
    /// The signing secret requests are checked with (`signing_secret_file` /
    /// `signing_secret_env`); without one the endpoint is off.
    pub signing_secret: Option<Secret>,
}

/// `[retention]`: how long each kind of record is kept before the store prunes it (DESIGN §8).
///
/// Pruning never changes how far the migration is: datasets keep their states, and the
/// per-day migration counts and the rollups the views read are kept apart from the raw
/// operations. Raw samples are rolled up into 1-minute, 1-hour and 1-day aggregates (min, max, sum,
/// count and a [`crate::sketch::ValueSketch`] for percentiles) before they are deleted. The
/// audit log keeps its own, longer retention (`mhd serve --audit-retention`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RetentionSettings {
    /// Raw samples (`samples`, default 48 h, at least [`RetentionSettings::MIN_SAMPLES`]).
    #[serde(with = "duration_text")]
    pub samples: Duration,
    /// The samples' 1-minute, 1-hour and 1-day aggregates (`sample_rollups`, default 90 days, at
    /// least [`RetentionSettings::MIN_SAMPLE_ROLLUPS`] and not shorter than `samples`).
    #[serde(with = "duration_text")]
    pub sample_rollups: Duration,
    /// Operations (`operations`, default 90 days, at least
    /// [`RetentionSettings::MIN_OPERATIONS`]); `milestone` and `phase_complete` operations,
    /// which mark the timeline, are kept whatever their age.
    #[serde(with = "duration_text")]
    pub operations: Duration,
    /// Test runs with their cases (`test_runs`, default 180 days, at least
    /// [`RetentionSettings::MIN_TEST_RUNS`]); each suite's latest runs, which its trend
    /// shows, are kept whatever their age.
    #[serde(with = "duration_text")]
    pub test_runs: Duration,
    /// Resolved alerts with their history, acknowledgements and deliveries, counted from
    /// their resolution (`resolved_alerts`, default 180 days, at least
    /// [`RetentionSettings::MIN_RESOLVED_ALERTS`]); open alerts are never pruned.
    #[serde(with = "duration_text")]
    pub resolved_alerts: Duration,
    /// Notification deliveries that were sent or gave up (`deliveries`, default 30 days, at
    /// least [`RetentionSettings::MIN_DELIVERIES`]), once their alert is resolved; pending
    /// ones are never pruned.
    #[serde(with = "duration_text")]
    pub deliveries: Duration,
}

impl RetentionSettings {
    /// The shortest `samples`: the resource charts and the alert windows read the last hours
    /// of raw samples.
    pub const MIN_SAMPLES: Duration = Duration::hours(6);
    /// The shortest `sample_rollups`.
    pub const MIN_SAMPLE_ROLLUPS: Duration = Duration::days(7);
    /// The shortest `operations`: the forecast reads the last 28 days of throughput and the
    /// component matrix its last week.
    pub const MIN_OPERATIONS: Duration = Duration::days(30);
    /// The shortest `test_runs`.
    pub const MIN_TEST_RUNS: Duration = Duration::days(7);
    /// The shortest `resolved_alerts`: a resolved alert stays in the history a week at least.
    pub const MIN_RESOLVED_ALERTS: Duration = Duration::days(7);
    /// The shortest `deliveries`.
    pub const MIN_DELIVERIES: Duration = Duration::days(1);
}

impl Default for RetentionSettings {
    fn default() -> Self {
        RetentionSettings {
            samples: Duration::hours(48),
            sample_rollups: Duration::days(90),
            operations: Duration::days(90),
            test_runs: Duration::days(180),
            resolved_alerts: Duration::days(180),
            deliveries: Duration::days(30),
        }
    }
}

/// Writes a duration as the plan does: `250ms`, `15s`, `5m`, `1h30m`, `2d`.
pub fn duration_text(d: Duration) -> String {
    let ms = d.whole_milliseconds();
    if ms % 1000 != 0 || ms == 0 {
        return format!("{ms}ms");
    }
    let mut s = ms / 1000;
    let mut out = String::new();
    for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
        if s >= size {
            out.push_str(&format!("{}{unit}", s / size));
            s %= size;
        }
    }
    out
}

/// Durations written as text (`"15s"`) in JSON, as in the plan.
mod duration_text {
    use serde::Serializer;
    use time::Duration;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::duration_text(*d))
    }
}
