//! Reading the plan's operational sections — `[[collectors.*]]`, `[alerts]` with its
//! `[[alerts.rules]]`, `[[notify]]` and `[chat]` — into their typed forms, with every mistake
//! reported at its place like the rest of the plan.
//!
//! Secrets are only ever named (`<key>_file`, `<key>_env`); a secret written inline is refused
//! and its value never appears in a message.

use std::ops::Range;

use time::Duration;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::{Reader, Value, closest, quoted_list};
use crate::plan::{
    AlertSettings, Channel, ChannelKind, ChatSettings, Collectors, Comparison, DatabaseCollector,
    GitCollector, GitPattern, HostCollector, KNOWN_METRICS, LogsCollector, PromQuery,
    PrometheusCollector, RangeQuery, RetentionSettings, Rule, RuleKind, Schedule, Secret,
    SecretOrText, TestReportsCollector, duration_text,
};
use crate::summary::Severity;
use crate::time_parse::parse_duration;

const COLLECTOR_KINDS: &[&str] = &["prometheus", "host", "database", "logs", "git", "tests"];
const PROMETHEUS_KEYS: &[&str] = &["name", "url", "interval", "timeout", "queries", "component"];
const RANGE_QUERY_KEYS: &[&str] = &["query", "range", "step"];
const HOST_KEYS: &[&str] = &["name", "interval", "timeout", "top", "component"];
const DATABASE_KEYS: &[&str] = &[
    "name",
    "dsn",
    "dsn_file",
    "dsn_env",
    "interval",
    "timeout",
    "component",
];
const LOGS_KEYS: &[&str] = &[
    "name",
    "paths",
    "format",
    "interval",
    "timeout",
    "component",
];
const LOG_FORMATS: &[&str] = &["auto", "loguru", "json", "plain"];
const GIT_KEYS: &[&str] = &["name", "repo", "rev", "interval", "timeout", "patterns"];
const GIT_PATTERN_KEYS: &[&str] = &["component", "pattern", "regex", "paths"];
const TESTS_KEYS: &[&str] = &[
    "name",
    "path",
    "suite",
    "phase",
    "component",
    "interval",
    "timeout",
];

const ALERTS_KEYS: &[&str] = &[
    "interval",
    "window",
    "defaults",
    "rules",
    "health_for",
    "health_keep",
];
/// Keys every rule takes, whatever its kind.
const RULE_KEYS: &[&str] = &[
    "name",
    "kind",
    "for",
    "keep_firing_for",
    "severity",
    "component",
    "runbook",
    "summary",
];
/// Each rule kind with the keys only it takes.
const RULE_KINDS: &[(&str, &[&str])] = &[
    ("threshold", &["metric", "op", "threshold"]),
    (
        "rate_of_change",
        &["metric", "op", "threshold", "over", "percent"],
    ),
    ("rollback", &["count", "window"]),
    ("integrity", &[]),
    ("regression", &[]),
    ("test_pass", &["threshold", "drop"]),
    ("collector_down", &["collector"]),
    ("schedule", &["days"]),
];
const OPS: &[&str] = &[">", ">=", "<", "<="];
const SEVERITIES: &[&str] = &["info", "warning", "error", "critical"];

/// Keys every channel takes, whatever its kind.
const CHANNEL_KEYS: &[&str] = &[
    "name",
    "kind",
    "min_severity",
    "components",
    "send_resolved",
];
/// Each channel kind with the keys only it takes.
const CHANNEL_KINDS: &[(&str, &[&str])] = &[
    ("webhook", &["url", "token", "token_file", "token_env"]),
    ("slack", &["url", "url_file", "url_env"]),
    (
        "pagerduty",
        &["url", "routing_key", "routing_key_file", "routing_key_env"],
    ),
    (
        "email",
        &[
            "server",
            "tls",
            "username",
            "password",
            "password_file",
            "password_env",
            "from",
            "to",
        ],
    ),
    (
        "jira",
        &[
            "url",
            "project",
            "issue_type",
            "user",
            "token",
            "token_file",
            "token_env",
            "auto",
            "auto_severity",
        ],
    ),
];
const EMAIL_TLS: &[&str] = &["starttls", "tls", "none"];
/// Where PagerDuty's Events API v2 takes events.
const PAGERDUTY_URL: &str = "https://events.pagerduty.com/v2/enqueue";

const RETENTION_KEYS: &[&str] = &[
    "samples",
    "sample_rollups",
    "operations",
    "test_runs",
    "resolved_alerts",
    "deliveries",
];

const CHAT_KEYS: &[&str] = &[
    "signing_secret",
    "signing_secret_file",
    "signing_secret_env",
];

/// Prometheus answers a range query with at most this many points per series.
const MAX_RANGE_POINTS: i128 = 11_000;

/// What the rest of the plan declares, for the references these sections make.
pub(super) struct Declared<'d> {
    /// The component ids, or `None` when the plan declares no components (then any name goes,
    /// as for phases and datasets).
    pub(super) components: Option<&'d [String]>,
    /// The phase ids.
    pub(super) phases: &'d [String],
}

/// The operational sections as read; each is `None` when it holds a mistake (reported).
pub(super) struct Settings {
    pub(super) collectors: Option<Collectors>,
    pub(super) alerts: Option<AlertSettings>,
    pub(super) notify: Option<Vec<Channel>>,
    pub(super) chat: Option<ChatSettings>,
    pub(super) retention: Option<RetentionSettings>,
}

/// The collectors as read, with what rules may refer to even when a collector has mistakes.
struct CollectorsRead {
    collectors: Option<Collectors>,
    /// Every collector's name.
    names: Vec<String>,
    /// Every Prometheus query's name: metrics rules may name.
    queries: Vec<String>,
}

/// "`key` in [section]", the way messages name a key.
fn what(key: &str, place: &str) -> String {
    format!("`{key}` {place}")
}

/// "`a`, `b` or `c`".
fn alternatives(options: &[&str]) -> String {
    match options.split_last() {
        Some((last, [])) => format!("`{last}`"),
        Some((last, rest)) => format!("{} or `{last}`", quoted_list(rest)),
        None => String::new(),
    }
}

fn did_you_mean(word: &str, options: &[&str]) -> String {
    closest(word, options.iter().copied())
        .map(|s| format!(" (did you mean `{s}`?)"))
        .unwrap_or_default()
}

impl Reader<'_> {
    /// Reads `[[collectors.*]]`, `[alerts]`, `[[notify]]`, `[chat]` and `[retention]`.
    pub(super) fn settings(&mut self, root: &DeTable<'_>, declared: &Declared<'_>) -> Settings {
        let collectors = self.collectors(root, declared);
        let alerts = self.alerts(root, declared, &collectors);
        let notify = self.notify(root, declared);
        let chat = self.chat(root);
        let retention = self.retention(root);
        Settings {
            collectors: collectors.collectors,
            alerts,
            notify,
            chat,
            retention,
        }
    }

    // ---- value readers ---------------------------------------------------------------------

    /// The value of `key` read by `read`, or `default` when the key is absent.
    fn or_default<'a, 'i, T>(
        &mut self,
        table: &'a DeTable<'i>,
        key: &str,
        default: T,
        read: impl FnOnce(&mut Self, &'a Value<'i>) -> Option<T>,
    ) -> Option<T> {
        match table.get(key) {
            None => Some(default),
            Some(v) => read(self, v),
        }
    }

    /// The value of `key` read by `read`: `Some(None)` when absent, `None` on a mistake.
    fn optional<'a, 'i, T>(
        &mut self,
        table: &'a DeTable<'i>,
        key: &str,
        read: impl FnOnce(&mut Self, &'a Value<'i>) -> Option<T>,
    ) -> Option<Option<T>> {
        match table.get(key) {
            None => Some(None),
            Some(v) => read(self, v).map(Some),
        }
    }

    fn boolean(&mut self, value: &Value<'_>, what: &str) -> Option<bool> {
        match value.get_ref() {
            DeValue::Boolean(b) => Some(*b),
            _ => {
                self.wrong_type(value, what, "`true` or `false`");
                None
            }
        }
    }

    /// A span written as text: `"15s"`, `"5m"`, `"1h30m"`.
    fn duration(&mut self, value: &Value<'_>, what: &str) -> Option<Duration> {
        let DeValue::String(s) = value.get_ref() else {
            self.wrong_type(value, what, "a duration such as \"15s\" or \"5m\"");
            return None;
        };
        match parse_duration(s) {
            Ok(d) => Some(d),
            Err(msg) => {
                self.error(value.span(), format!("{what}: {msg}"));
                None
            }
        }
    }

    /// A span longer than zero.
    pub(super) fn positive_duration(&mut self, value: &Value<'_>, what: &str) -> Option<Duration> {
        let d = self.duration(value, what)?;
        if d <= Duration::ZERO {
            self.error(value.span(), format!("{what} must be longer than 0"));
            return None;
        }
        Some(d)
    }

    /// One of `options`, with a suggestion for a likely typo.
    fn choice(&mut self, value: &Value<'_>, what: &str, options: &[&str]) -> Option<String> {
        let s = self.string(value, what)?;
        if options.contains(&s.as_str()) {
            return Some(s);
        }
        self.error(
            value.span(),
            format!(
                "{what} must be {}, found {s:?}{}",
                alternatives(options),
                did_you_mean(&s, options)
            ),
        );
        None
    }

    fn severity(&mut self, value: &Value<'_>, what: &str) -> Option<Severity> {
        Some(match self.choice(value, what, SEVERITIES)?.as_str() {
            "info" => Severity::Info,
            "warning" => Severity::Warning,
            "error" => Severity::Error,
            _ => Severity::Critical,
        })
    }

    /// An `http://` or `https://` address. The text is not repeated in the message: addresses
    /// such as Slack's carry a token.
    pub(super) fn http_url(&mut self, value: &Value<'_>, what: &str) -> Option<String> {
        let s = self.string(value, what)?;
        if is_http_url(&s) {
            return Some(s);
        }
        self.error(
            value.span(),
            format!("{what} must be an http:// or https:// address, such as https://host/path"),
        );
        None
    }

    /// The name of an environment variable. Not repeated in the message, in case a secret was
    /// written there by mistake.
    fn env_name(&mut self, value: &Value<'_>, what: &str) -> Option<String> {
        let s = self.string(value, what)?;
        let mut chars = s.chars();
        let valid = chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            self.error(
                value.span(),
                format!(
                    "{what} must name an environment variable: ASCII letters, digits and `_`, \
                     not starting with a digit"
                ),
            );
            return None;
        }
        Some(s)
    }

    /// A fraction from 0 to 1.
    fn fraction(&mut self, value: &Value<'_>, what: &str) -> Option<f64> {
        let n = self.number(value, what)?;
        if !(0.0..=1.0).contains(&n) {
            self.error(
                value.span(),
                format!("{what} must be between 0 and 1 (a fraction: 0.1 means 10 %), found {n}"),
            );
            return None;
        }
        Some(n)
    }

    /// A non-empty list of non-empty strings.
    fn nonempty_strings(&mut self, value: &Value<'_>, what: &str, noun: &str) -> Vec<String> {
        let list = self.strings(value, what);
        if list.is_empty() && matches!(value.get_ref(), DeValue::Array(a) if a.is_empty()) {
            self.error(value.span(), format!("{what} names no {noun}"));
        }
        list.into_iter().map(Spanned::into_inner).collect()
    }

    /// The name of a thing declared in this section, such as a collector or a rule.
    fn name(
        &mut self,
        table: &DeTable<'_>,
        span: Range<usize>,
        place: &str,
    ) -> Option<Spanned<String>> {
        self.required(table, span, place, "name")
            .and_then(|v| self.id(v, &what("name", place)))
    }

    /// An optional reference to a component, checked against the plan's components.
    fn component_ref(
        &mut self,
        table: &DeTable<'_>,
        place: &str,
        label: &str,
        declared: &Declared<'_>,
    ) -> Option<Option<String>> {
        let Some(v) = table.get("component") else {
            return Some(None);
        };
        let c = self.reference(v, &what("component", place))?;
        let before = self.errors.len();
        self.check_refs(
            std::slice::from_ref(&c),
            declared.components,
            &format!("`component` of {label}"),
            "component",
        );
        (self.errors.len() == before).then(|| Some(c.into_inner()))
    }

    // ---- secrets ---------------------------------------------------------------------------

    /// Refuses a secret written inline as `key`, pointing at the key and never repeating the
    /// value. Returns whether there was none.
    fn refuse_inline_secret(&mut self, table: &DeTable<'_>, place: &str, key: &str) -> bool {
        let Some((k, _)) = table.get_key_value(key) else {
            return true;
        };
        self.error(
            k.span(),
            format!(
                "{} is a secret and is never written in the plan: put it in a file and give \
                 `{key}_file`, or in an environment variable and give `{key}_env`",
                what(key, place)
            ),
        );
        false
    }

    /// Where a secret comes from: `<key>_file` or `<key>_env`. `Some(None)` when neither is
    /// given, `None` on a mistake.
    fn secret_source(
        &mut self,
        table: &DeTable<'_>,
        place: &str,
        key: &str,
    ) -> Option<Option<Secret>> {
        let file_key = format!("{key}_file");
        let env_key = format!("{key}_env");
        let file = table
            .get(file_key.as_str())
            .map(|v| self.text(v, &what(&file_key, place)).map(Secret::File));
        let env = table
            .get_key_value(env_key.as_str())
            .map(|(k, v)| (k.span(), self.env_name(v, &what(&env_key, place))));
        match (file, env) {
            (Some(_), Some((span, _))) => {
                self.error(
                    span,
                    format!("give either `{file_key}` or `{env_key}` {place}, not both"),
                );
                None
            }
            (Some(file), None) => file.map(Some),
            (None, Some((_, env))) => env.map(|e| Some(Secret::Env(e))),
            (None, None) => Some(None),
        }
    }

    /// A secret that may only come from `<key>_file` / `<key>_env`; `required` makes one of
    /// them mandatory.
    pub(super) fn secret(
        &mut self,
        table: &DeTable<'_>,
        span: Range<usize>,
        place: &str,
        key: &str,
        required: bool,
    ) -> Option<Option<Secret>> {
        let inline_ok = self.refuse_inline_secret(table, place, key);
        let source = self.secret_source(table, place, key)?;
        if !inline_ok {
            return None;
        }
        if required && source.is_none() {
            self.error(
                span,
                format!("missing key `{key}_file` or `{key}_env` {place} (the {key} is a secret)"),
            );
            return None;
        }
        Some(source)
    }

    // ---- collectors ------------------------------------------------------------------------

    fn collectors(&mut self, root: &DeTable<'_>, declared: &Declared<'_>) -> CollectorsRead {
        let mut read = CollectorsRead {
            collectors: Some(Collectors::default()),
            names: Vec::new(),
            queries: Vec::new(),
        };
        let Some(value) = root.get("collectors") else {
            return read;
        };
        let Some(table) = self.table(
            value,
            "`collectors`",
            "a table of collector kinds ([[collectors.prometheus]], [[collectors.host]], …)",
        ) else {
            read.collectors = None;
            return read;
        };
        let before = self.errors.len();
        let mut out = Collectors::default();
        let mut names: Vec<Spanned<String>> = Vec::new();
        for (key, v) in table.iter() {
            let kind: &str = key.get_ref();
            if !COLLECTOR_KINDS.contains(&kind) {
                let hint = match closest(kind, COLLECTOR_KINDS.iter().copied()) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!("known kinds: {}", quoted_list(COLLECTOR_KINDS)),
                };
                self.error(
                    key.span(),
                    format!("unknown collector kind `{kind}` ({hint})"),
                );
                continue;
            }
            let place = format!("in [[collectors.{kind}]]");
            let items = self.tables(
                v,
                &format!("`collectors.{kind}`"),
                &format!("an array of tables ([[collectors.{kind}]])"),
            );
            for (t, span) in items {
                let name = if kind == "host" && !t.contains_key("name") {
                    Some(Spanned::new(span.clone(), "host".to_owned()))
                } else {
                    self.name(t, span.clone(), &place)
                };
                if let Some(n) = &name {
                    names.push(n.clone());
                }
                let name = name.map(Spanned::into_inner);
                let label = name.as_ref().map_or_else(
                    || "this collector".to_owned(),
                    |n| format!("collector `{n}`"),
                );
                let c = Item {
                    table: t,
                    span,
                    place: &place,
                    label: &label,
                    name,
                };
                match kind {
                    "prometheus" => {
                        if let Some(p) = self.prometheus(&c, declared, &mut read.queries) {
                            out.prometheus.push(p);
                        }
                    }
                    "host" => out.host.extend(self.host(&c, declared)),
                    "database" => out.database.extend(self.database(&c, declared)),
                    "logs" => out.logs.extend(self.logs(&c, declared)),
                    "git" => out.git.extend(self.git(&c, declared)),
                    _ => out.tests.extend(self.test_reports(&c, declared)),
                }
            }
        }
        // The table iterates by kind; report a second name after the first in the file.
        names.sort_by_key(|n| n.span().start);
        self.check_unique(&names.iter().collect::<Vec<_>>(), "collector name");
        read.names = names.into_iter().map(Spanned::into_inner).collect();
        read.collectors = (self.errors.len() == before).then_some(out);
        read
    }

    /// `interval` and `timeout`, each longer than zero.
    fn schedule(&mut self, c: &Item<'_, '_>, default: Schedule) -> Option<Schedule> {
        let interval = self.or_default(c.table, "interval", default.interval, |r, v| {
            r.positive_duration(v, &what("interval", c.place))
        });
        let timeout = self.or_default(c.table, "timeout", default.timeout, |r, v| {
            r.positive_duration(v, &what("timeout", c.place))
        });
        Some(Schedule {
            interval: interval?,
            timeout: timeout?,
        })
    }

    fn prometheus(
        &mut self,
        c: &Item<'_, '_>,
        declared: &Declared<'_>,
        query_names: &mut Vec<String>,
    ) -> Option<PrometheusCollector> {
        self.check_keys(c.table, c.place, PROMETHEUS_KEYS);
        let url = self
            .required(c.table, c.span.clone(), c.place, "url")
            .and_then(|v| self.http_url(v, &what("url", c.place)));
        let schedule = self.schedule(c, Schedule::default());
        let queries = match c.table.get("queries") {
            None => {
                let defaults = PromQuery::defaults();
                query_names.extend(defaults.iter().map(|q| q.name.clone()));
                Some(defaults)
            }
            Some(v) => self.queries(v, c.place, query_names),
        };
        let component = self.component_ref(c.table, c.place, c.label, declared);
        Some(PrometheusCollector {
            name: c.name.clone()?,
            url: url?,
            schedule: schedule?,
            queries: queries?,
            component: component?,
        })
    }

    /// `queries = { name = "promql", other = { query = "…", range = "1h", step = "1m" } }`.
    fn queries(
        &mut self,
        value: &Value<'_>,
        place: &str,
        query_names: &mut Vec<String>,
    ) -> Option<Vec<PromQuery>> {
        let what_queries = what("queries", place);
        let table = self.table(
            value,
            &what_queries,
            "a table of named queries, such as { operation_rate = \"sum(rate(x[5m]))\" }",
        )?;
        if table.is_empty() {
            self.error(
                value.span(),
                format!(
                    "{what_queries} names no query (leave `queries` out for the default queries)"
                ),
            );
            return None;
        }
        let before = self.errors.len();
        let mut queries = Vec::with_capacity(table.len());
        for (key, v) in table.iter() {
            let name: &str = key.get_ref();
            query_names.push(name.to_owned());
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | ':'))
            {
                self.error(
                    key.span(),
                    format!(
                        "the query name {name:?} {place} is a metric name: use ASCII letters, \
                         digits, `_` and `:`"
                    ),
                );
                continue;
            }
            let what_query = format!("query `{name}` {place}");
            let query = match v.get_ref() {
                DeValue::String(_) => self.text(v, &what_query).map(|query| PromQuery {
                    name: name.to_owned(),
                    query,
                    range: None,
                }),
                DeValue::Table(t) => self.range_query(t, v.span(), name, &what_query),
                _ => {
                    self.wrong_type(
                        v,
                        &what_query,
                        "a PromQL string or a table { query = \"…\", range = \"1h\", step = \"1m\" }",
                    );
                    None
                }
            };
            queries.extend(query);
        }
        (self.errors.len() == before).then_some(queries)
    }

    fn range_query(
        &mut self,
        t: &DeTable<'_>,
        span: Range<usize>,
        name: &str,
        what_query: &str,
    ) -> Option<PromQuery> {
        let place = format!("in {what_query}");
        self.check_keys(t, &place, RANGE_QUERY_KEYS);
        let query = self
            .required(t, span.clone(), &place, "query")
            .and_then(|v| self.text(v, &what("query", &place)));
        let range = self
            .required(t, span.clone(), &place, "range")
            .and_then(|v| self.positive_duration(v, &what("range", &place)));
        let step_value = self.required(t, span, &place, "step");
        let step = step_value.and_then(|v| self.positive_duration(v, &what("step", &place)));
        let (query, range, step) = (query?, range?, step?);
        let points = range.whole_milliseconds() / step.whole_milliseconds().max(1);
        if step > range || points > MAX_RANGE_POINTS {
            let problem = if step > range {
                "must not be longer than `range`".to_owned()
            } else {
                format!(
                    "is too short: {points} points per series, and Prometheus answers at most \
                     {MAX_RANGE_POINTS}"
                )
            };
            if let Some(v) = step_value {
                self.error(v.span(), format!("{} {problem}", what("step", &place)));
            }
            return None;
        }
        Some(PromQuery {
            name: name.to_owned(),
            query,
            range: Some(RangeQuery { range, step }),
        })
    }

    fn host(&mut self, c: &Item<'_, '_>, declared: &Declared<'_>) -> Option<HostCollector> {
        self.check_keys(c.table, c.place, HOST_KEYS);
        let schedule = self.schedule(c, Schedule::default());
        let top = self.or_default(c.table, "top", 5, |r, v| {
            r.count(v, &what("top", c.place), 0)
        });
        let component = self.component_ref(c.table, c.place, c.label, declared);
        Some(HostCollector {
            name: c.name.clone()?,
            schedule: schedule?,
            top: top?,
            component: component?,
        })
    }

    fn database(&mut self, c: &Item<'_, '_>, declared: &Declared<'_>) -> Option<DatabaseCollector> {
        self.check_keys(c.table, c.place, DATABASE_KEYS);
        // The connection string may hold a password: only where to find it is written.
        let dsn = self
            .secret(c.table, c.span.clone(), c.place, "dsn", true)
            .flatten();
        let schedule = self.schedule(c, Schedule::default());
        let component = self.component_ref(c.table, c.place, c.label, declared);
        Some(DatabaseCollector {
            name: c.name.clone()?,
            dsn: dsn?,
            schedule: schedule?,
            component: component?,
        })
    }

    fn logs(&mut self, c: &Item<'_, '_>, declared: &Declared<'_>) -> Option<LogsCollector> {
        self.check_keys(c.table, c.place, LOGS_KEYS);
        let before = self.errors.len();
        let paths = self
            .required(c.table, c.span.clone(), c.place, "paths")
            .map(|v| self.nonempty_strings(v, &what("paths", c.place), "file"));
        let paths_ok = self.errors.len() == before;
        let format = self.or_default(c.table, "format", "auto".to_owned(), |r, v| {
            r.choice(v, &what("format", c.place), LOG_FORMATS)
        });
        let schedule = self.schedule(c, Schedule::default());
        let component = self.component_ref(c.table, c.place, c.label, declared);
        Some(LogsCollector {
            name: c.name.clone()?,
            paths: paths.filter(|_| paths_ok)?,
            format: format?,
            schedule: schedule?,
            component: component?,
        })
    }

    fn git(&mut self, c: &Item<'_, '_>, declared: &Declared<'_>) -> Option<GitCollector> {
        self.check_keys(c.table, c.place, GIT_KEYS);
        let repo = self
            .required(c.table, c.span.clone(), c.place, "repo")
            .and_then(|v| self.text(v, &what("repo", c.place)));
        let rev = self.or_default(c.table, "rev", "HEAD".to_owned(), |r, v| {
            let what = what("rev", c.place);
            let rev = r.text(v, &what)?;
            // It is passed to git, which would take a leading `-` for an option.
            if rev.starts_with('-') || rev.chars().any(char::is_whitespace) {
                r.error(
                    v.span(),
                    format!(
                        "{what} must be a branch, tag or commit, found {rev:?}: it may not \
                         start with `-` or hold spaces"
                    ),
                );
                return None;
            }
            Some(rev)
        });
        let default = Schedule {
            interval: Duration::minutes(5),
            ..Schedule::default()
        };
        let schedule = self.schedule(c, default);
        let patterns = match c.table.get("patterns") {
            None => {
                self.error(
                    c.span.clone(),
                    format!(
                        "missing key `patterns` {} (at least one [[collectors.git.patterns]] \
                         with `component` and `pattern`)",
                        c.place
                    ),
                );
                None
            }
            Some(v) => self.git_patterns(v, declared),
        };
        Some(GitCollector {
            name: c.name.clone()?,
            repo: repo?,
            rev: rev?,
            schedule: schedule?,
            patterns: patterns?,
        })
    }

    fn git_patterns(
        &mut self,
        value: &Value<'_>,
        declared: &Declared<'_>,
    ) -> Option<Vec<GitPattern>> {
        let place = "in [[collectors.git.patterns]]";
        let before = self.errors.len();
        let tables = self.tables(
            value,
            "`patterns` in [[collectors.git]]",
            "an array of tables ([[collectors.git.patterns]])",
        );
        if tables.is_empty() && self.errors.len() == before {
            self.error(
                value.span(),
                "`patterns` in [[collectors.git]] names no pattern",
            );
        }
        let mut patterns = Vec::with_capacity(tables.len());
        for (t, span) in tables {
            self.check_keys(t, place, GIT_PATTERN_KEYS);
            let component = self
                .required(t, span.clone(), place, "component")
                .and_then(|v| self.reference(v, &what("component", place)));
            if let Some(c) = &component {
                self.check_refs(
                    std::slice::from_ref(c),
                    declared.components,
                    "`component` of a git pattern",
                    "component",
                );
            }
            let pattern = self
                .required(t, span, place, "pattern")
                .and_then(|v| self.text(v, &what("pattern", place)));
            let regex = self.or_default(t, "regex", false, |r, v| {
                r.boolean(v, &what("regex", place))
            });
            let paths = self.or_default(t, "paths", Vec::new(), |r, v| {
                Some(
                    r.strings(v, &what("paths", place))
                        .into_iter()
                        .map(Spanned::into_inner)
                        .collect(),
                )
            });
            if let (Some(component), Some(pattern), Some(regex), Some(paths)) =
                (component, pattern, regex, paths)
            {
                patterns.push(GitPattern {
                    component: component.into_inner(),
                    pattern,
                    regex,
                    paths,
                });
            }
        }
        (self.errors.len() == before).then_some(patterns)
    }

    fn test_reports(
        &mut self,
        c: &Item<'_, '_>,
        declared: &Declared<'_>,
    ) -> Option<TestReportsCollector> {
        self.check_keys(c.table, c.place, TESTS_KEYS);
        let path = self
            .required(c.table, c.span.clone(), c.place, "path")
            .and_then(|v| self.text(v, &what("path", c.place)));
        let suite = self.optional(c.table, "suite", |r, v| r.text(v, &what("suite", c.place)));
        let phase = self.optional(c.table, "phase", |r, v| {
            let phase = r.reference(v, &what("phase", c.place))?;
            let before = r.errors.len();
            r.check_refs(
                std::slice::from_ref(&phase),
                Some(declared.phases),
                &format!("`phase` of {}", c.label),
                "phase",
            );
            (r.errors.len() == before).then(|| phase.into_inner())
        });
        let component = self.component_ref(c.table, c.place, c.label, declared);
        let schedule = self.schedule(c, Schedule::default());
        Some(TestReportsCollector {
            name: c.name.clone()?,
            path: path?,
            suite: suite?,
            phase: phase?,
            component: component?,
            schedule: schedule?,
        })
    }

    // ---- alerts ----------------------------------------------------------------------------

    fn alerts(
        &mut self,
        root: &DeTable<'_>,
        declared: &Declared<'_>,
        collectors: &CollectorsRead,
    ) -> Option<AlertSettings> {
        let Some(value) = root.get("alerts") else {
            return Some(AlertSettings::default());
        };
        let table = self.table(value, "`alerts`", "a table ([alerts])")?;
        let place = "in [alerts]";
        self.check_keys(table, place, ALERTS_KEYS);
        let before = self.errors.len();
        let defaults = AlertSettings::default();
        let interval = self.or_default(table, "interval", defaults.interval, |r, v| {
            r.positive_duration(v, &what("interval", place))
        });
        let window = self.or_default(table, "window", defaults.window, |r, v| {
            r.positive_duration(v, &what("window", place))
        });
        let use_defaults = self.or_default(table, "defaults", true, |r, v| {
            r.boolean(v, &what("defaults", place))
        });
        let health_for = self.or_default(table, "health_for", defaults.health_for, |r, v| {
            r.duration(v, &what("health_for", place))
        });
        let health_keep = self.or_default(table, "health_keep", defaults.health_keep, |r, v| {
            r.duration(v, &what("health_keep", place))
        });
        let mut rules = Vec::new();
        if let Some(v) = table.get("rules") {
            let metrics: Vec<&str> = KNOWN_METRICS
                .iter()
                .copied()
                .chain(
                    collectors
                        .queries
                        .iter()
                        .map(String::as_str)
                        .filter(|q| !KNOWN_METRICS.contains(q)),
                )
                .fold(Vec::new(), |mut all, m| {
                    if !all.contains(&m) {
                        all.push(m);
                    }
                    all
                });
            let known = Known {
                declared,
                metrics: &metrics,
                collectors: &collectors.names,
            };
            let mut names = Vec::new();
            let tables = self.tables(
                v,
                "`rules` in [alerts]",
                "an array of tables ([[alerts.rules]])",
            );
            for (t, span) in tables {
                let (name, rule) = self.rule(t, span, &known);
                names.extend(name);
                rules.extend(rule);
            }
            self.check_unique(&names.iter().collect::<Vec<_>>(), "rule name");
        }
        let (interval, window, use_defaults) = (interval?, window?, use_defaults?);
        let (health_for, health_keep) = (health_for?, health_keep?);
        if self.errors.len() != before {
            return None;
        }
        // Rules written in the plan replace the built-in ones.
        if rules.is_empty() && use_defaults {
            rules = Rule::defaults();
        }
        Some(AlertSettings {
            interval,
            window,
            rules,
            health_for,
            health_keep,
        })
    }

    /// One `[[alerts.rules]]`: its name (for the uniqueness check) and the rule.
    fn rule(
        &mut self,
        t: &DeTable<'_>,
        span: Range<usize>,
        known: &Known<'_>,
    ) -> (Option<Spanned<String>>, Option<Rule>) {
        let place = "in [[alerts.rules]]";
        let before = self.errors.len();
        let kind_names: Vec<&str> = RULE_KINDS.iter().map(|(k, _)| *k).collect();
        let kind = self
            .required(t, span.clone(), place, "kind")
            .and_then(|v| self.choice(v, &what("kind", place), &kind_names));
        let kind_keys = kind
            .as_deref()
            .and_then(|k| RULE_KINDS.iter().find(|(name, _)| *name == k));
        match kind_keys {
            Some((kind, keys)) => {
                let allowed: Vec<&str> = RULE_KEYS.iter().chain(keys.iter()).copied().collect();
                self.check_keys(t, &format!("{place} of kind `{kind}`"), &allowed);
            }
            None => {
                // Without a kind, take any rule's keys: the kind's mistake is reported already.
                let allowed: Vec<&str> = RULE_KEYS
                    .iter()
                    .chain(RULE_KINDS.iter().flat_map(|(_, keys)| keys.iter()))
                    .copied()
                    .collect();
                self.check_keys(t, place, &allowed);
            }
        }
        let name = self.name(t, span.clone(), place);
        let label = name.as_ref().map_or_else(
            || "this rule".to_owned(),
            |n| format!("rule `{}`", n.get_ref()),
        );
        let for_ = self.or_default(t, "for", Duration::ZERO, |r, v| {
            r.duration(v, &what("for", place))
        });
        let keep_firing_for = self.or_default(t, "keep_firing_for", Duration::ZERO, |r, v| {
            r.duration(v, &what("keep_firing_for", place))
        });
        let severity = self.or_default(t, "severity", Severity::Warning, |r, v| {
            r.severity(v, &what("severity", place))
        });
        let component = self.component_ref(t, place, &label, known.declared);
        // A web address, or the steps themselves in words.
        let runbook = self.optional(t, "runbook", |r, v| {
            let text = r.text(v, &what("runbook", place))?;
            if text.starts_with("http:") || text.starts_with("https:") {
                r.http_url(v, &what("runbook", place))
            } else {
                Some(text)
            }
        });
        let summary = self.optional(t, "summary", |r, v| r.text(v, &what("summary", place)));
        let rule_kind = match kind.as_deref() {
            Some(kind) => self.rule_kind(kind, t, span, &label, known),
            None => None,
        };
        let rule = (|| {
            Some(Rule {
                name: name.clone()?.into_inner(),
                kind: rule_kind?,
                for_: for_?,
                keep_firing_for: keep_firing_for?,
                severity: severity?,
                component: component?,
                runbook: runbook?,
                summary: summary?,
            })
        })();
        (name, rule.filter(|_| self.errors.len() == before))
    }

    /// The keys of one rule kind.
    fn rule_kind(
        &mut self,
        kind: &str,
        t: &DeTable<'_>,
        span: Range<usize>,
        label: &str,
        known: &Known<'_>,
    ) -> Option<RuleKind> {
        let place = &format!("in [[alerts.rules]] of kind `{kind}`");
        let field = |key: &str| what(key, place);
        match kind {
            "threshold" | "rate_of_change" => {
                let metric = self
                    .required(t, span.clone(), place, "metric")
                    .and_then(|v| self.metric(v, &field("metric"), known.metrics));
                let op = self
                    .required(t, span.clone(), place, "op")
                    .and_then(|v| self.choice(v, &field("op"), OPS))
                    .and_then(|s| Comparison::from_symbol(&s));
                let threshold = self
                    .required(t, span, place, "threshold")
                    .and_then(|v| self.number(v, &field("threshold")));
                if kind == "threshold" {
                    return Some(RuleKind::Threshold {
                        metric: metric?,
                        op: op?,
                        threshold: threshold?,
                    });
                }
                let over = self.or_default(t, "over", Duration::minutes(5), |r, v| {
                    r.positive_duration(v, &field("over"))
                });
                let percent =
                    self.or_default(t, "percent", false, |r, v| r.boolean(v, &field("percent")));
                Some(RuleKind::RateOfChange {
                    metric: metric?,
                    op: op?,
                    threshold: threshold?,
                    over: over?,
                    percent: percent?,
                })
            }
            "rollback" => {
                let count = self.or_default(t, "count", 3, |r, v| r.count(v, &field("count"), 1));
                let window = self.or_default(t, "window", Duration::hours(1), |r, v| {
                    r.positive_duration(v, &field("window"))
                });
                Some(RuleKind::Rollback {
                    count: count?,
                    window: window?,
                })
            }
            "integrity" => Some(RuleKind::Integrity),
            "regression" => Some(RuleKind::Regression),
            "test_pass" => {
                let threshold =
                    self.optional(t, "threshold", |r, v| r.fraction(v, &field("threshold")));
                let drop = self.optional(t, "drop", |r, v| {
                    let drop = r.fraction(v, &field("drop"))?;
                    if drop == 0.0 {
                        r.error(v.span(), format!("{} must be more than 0", field("drop")));
                        return None;
                    }
                    Some(drop)
                });
                Some(RuleKind::TestPass {
                    threshold: threshold?,
                    drop: drop?,
                })
            }
            "collector_down" => {
                let collector = self.optional(t, "collector", |r, v| {
                    let c = r.reference(v, &field("collector"))?;
                    let before = r.errors.len();
                    if known.collectors.is_empty() {
                        r.error(
                            v.span(),
                            format!(
                                "`collector` of {label} names `{}`, but the plan has no \
                                 [[collectors.*]]",
                                c.get_ref()
                            ),
                        );
                    } else {
                        r.check_refs(
                            std::slice::from_ref(&c),
                            Some(known.collectors),
                            &format!("`collector` of {label}"),
                            "collector",
                        );
                    }
                    (r.errors.len() == before).then(|| c.into_inner())
                });
                Some(RuleKind::CollectorDown {
                    collector: collector?,
                })
            }
            _ => {
                let days = self.or_default(t, "days", 7.0, |r, v| {
                    let days = r.number(v, &field("days"))?;
                    if days < 0.0 {
                        r.error(
                            v.span(),
                            format!("{} must not be negative, found {days}", field("days")),
                        );
                        return None;
                    }
                    Some(days)
                });
                Some(RuleKind::Schedule { days: days? })
            }
        }
    }

    /// A metric a rule may watch: one of [`KNOWN_METRICS`] or a Prometheus query's name.
    fn metric(&mut self, value: &Value<'_>, what: &str, metrics: &[&str]) -> Option<String> {
        let s = self.text(value, what)?;
        if metrics.contains(&s.as_str()) {
            return Some(s);
        }
        self.error(
            value.span(),
            format!(
                "unknown metric {s:?}: known are {}{}",
                quoted_list(metrics),
                did_you_mean(&s, metrics)
            ),
        );
        None
    }

    // ---- notification channels -------------------------------------------------------------

    fn notify(&mut self, root: &DeTable<'_>, declared: &Declared<'_>) -> Option<Vec<Channel>> {
        let Some(value) = root.get("notify") else {
            return Some(Vec::new());
        };
        let before = self.errors.len();
        let tables = self.tables(value, "`notify`", "an array of tables ([[notify]])");
        let mut names = Vec::new();
        let mut channels = Vec::with_capacity(tables.len());
        for (t, span) in tables {
            let (name, channel) = self.channel(t, span, declared);
            names.extend(name);
            channels.extend(channel);
        }
        self.check_unique(&names.iter().collect::<Vec<_>>(), "channel name");
        (self.errors.len() == before).then_some(channels)
    }

    fn channel(
        &mut self,
        t: &DeTable<'_>,
        span: Range<usize>,
        declared: &Declared<'_>,
    ) -> (Option<Spanned<String>>, Option<Channel>) {
        let place = "in [[notify]]";
        let before = self.errors.len();
        let kind_names: Vec<&str> = CHANNEL_KINDS.iter().map(|(k, _)| *k).collect();
        let kind = self
            .required(t, span.clone(), place, "kind")
            .and_then(|v| self.choice(v, &what("kind", place), &kind_names));
        let kind_keys = kind
            .as_deref()
            .and_then(|k| CHANNEL_KINDS.iter().find(|(name, _)| *name == k));
        match kind_keys {
            Some((kind, keys)) => {
                let allowed: Vec<&str> = CHANNEL_KEYS.iter().chain(keys.iter()).copied().collect();
                self.check_keys(t, &format!("{place} of kind `{kind}`"), &allowed);
            }
            None => {
                let mut allowed: Vec<&str> = CHANNEL_KEYS.to_vec();
                for key in CHANNEL_KINDS.iter().flat_map(|(_, keys)| keys.iter()) {
                    if !allowed.contains(key) {
                        allowed.push(key);
                    }
                }
                self.check_keys(t, place, &allowed);
            }
        }
        let name = self.name(t, span.clone(), place);
        let label = name.as_ref().map_or_else(
            || "this channel".to_owned(),
            |n| format!("channel `{}`", n.get_ref()),
        );
        let min_severity = self.or_default(t, "min_severity", Severity::Warning, |r, v| {
            r.severity(v, &what("min_severity", place))
        });
        let components = self.or_default(t, "components", Vec::new(), |r, v| {
            let list = r.strings(v, &what("components", place));
            let before = r.errors.len();
            r.check_refs(
                &list,
                declared.components,
                &format!("`components` of {label}"),
                "component",
            );
            (r.errors.len() == before).then(|| list.into_iter().map(Spanned::into_inner).collect())
        });
        let send_resolved = self.or_default(t, "send_resolved", true, |r, v| {
            r.boolean(v, &what("send_resolved", place))
        });
        let channel_kind = match kind.as_deref() {
            Some(kind) => self.channel_kind(kind, t, span),
            None => None,
        };
        let channel = (|| {
            Some(Channel {
                name: name.clone()?.into_inner(),
                kind: channel_kind?,
                min_severity: min_severity?,
                components: components?,
                send_resolved: send_resolved?,
            })
        })();
        (name, channel.filter(|_| self.errors.len() == before))
    }

    /// The keys of one channel kind.
    fn channel_kind(
        &mut self,
        kind: &str,
        t: &DeTable<'_>,
        span: Range<usize>,
    ) -> Option<ChannelKind> {
        let place = &format!("in [[notify]] of kind `{kind}`");
        let field = |key: &str| what(key, place);
        match kind {
            "webhook" => {
                let url = self
                    .required(t, span.clone(), place, "url")
                    .and_then(|v| self.http_url(v, &field("url")));
                let token = self.secret(t, span, place, "token", false);
                Some(ChannelKind::Webhook {
                    url: url?,
                    token: token?,
                })
            }
            "slack" => {
                let inline = t.get("url");
                let source = self.secret_source(t, place, "url");
                let url = match (inline, source) {
                    (_, None) => None,
                    (Some(_), Some(Some(_))) => {
                        let at = t
                            .get_key_value("url_file")
                            .or_else(|| t.get_key_value("url_env"))
                            .map_or(span, |(k, _)| k.span());
                        self.error(
                            at,
                            format!(
                                "give either `url` or `url_file` / `url_env` {place}, not both"
                            ),
                        );
                        None
                    }
                    (Some(v), Some(None)) => {
                        self.http_url(v, &field("url")).map(SecretOrText::Text)
                    }
                    (None, Some(Some(secret))) => Some(SecretOrText::Secret(secret)),
                    (None, Some(None)) => {
                        self.error(
                            span,
                            format!(
                                "missing key `url` {place} (or `url_file` / `url_env` to keep \
                                 the incoming webhook's address out of the plan)"
                            ),
                        );
                        None
                    }
                };
                Some(ChannelKind::Slack { url: url? })
            }
            "pagerduty" => {
                let url = self.or_default(t, "url", PAGERDUTY_URL.to_owned(), |r, v| {
                    r.http_url(v, &field("url"))
                });
                let routing_key = self.secret(t, span, place, "routing_key", true).flatten();
                Some(ChannelKind::Pagerduty {
                    url: url?,
                    routing_key: routing_key?,
                })
            }
            "email" => self.email(t, span, place),
            _ => {
                let url = self
                    .required(t, span.clone(), place, "url")
                    .and_then(|v| self.http_url(v, &field("url")));
                let project = self
                    .required(t, span.clone(), place, "project")
                    .and_then(|v| self.text(v, &field("project")));
                let issue_type = self.or_default(t, "issue_type", "Bug".to_owned(), |r, v| {
                    r.text(v, &field("issue_type"))
                });
                let user = self
                    .required(t, span.clone(), place, "user")
                    .and_then(|v| self.text(v, &field("user")));
                let token = self.secret(t, span, place, "token", true).flatten();
                let auto = self.or_default(t, "auto", true, |r, v| r.boolean(v, &field("auto")));
                let auto_severity = self.optional(t, "auto_severity", |r, v| {
                    r.severity(v, &field("auto_severity"))
                });
                let auto_severity = match (auto, t.get("auto_severity"), auto_severity) {
                    (Some(false), Some(v), _) => {
                        self.error(
                            v.span(),
                            format!(
                                "{} has no effect with `auto = false`: leave one of them out",
                                field("auto_severity")
                            ),
                        );
                        None
                    }
                    (Some(false), None, _) => Some(None),
                    (Some(true), _, Some(given)) => Some(Some(given.unwrap_or(Severity::Critical))),
                    _ => None,
                };
                Some(ChannelKind::Jira {
                    url: url?,
                    project: project?,
                    issue_type: issue_type?,
                    user: user?,
                    token: token?,
                    auto_severity: auto_severity?,
                })
            }
        }
    }

    fn email(&mut self, t: &DeTable<'_>, span: Range<usize>, place: &str) -> Option<ChannelKind> {
        let field = |key: &str| what(key, place);
        let server_value = self.required(t, span.clone(), place, "server");
        let server = server_value.and_then(|v| {
            let s = self.text(v, &field("server"))?;
            let host = smtp_host(&s);
            if host.is_none() {
                self.error(
                    v.span(),
                    format!(
                        "{} must be `host`, `host:port` or `smtp://host:port`, found {s:?}",
                        field("server")
                    ),
                );
            }
            host.map(|host| (s, host))
        });
        let tls_value = t.get("tls");
        let tls = self.or_default(t, "tls", "starttls".to_owned(), |r, v| {
            r.choice(v, &field("tls"), EMAIL_TLS)
        });
        if let (Some(v), Some("none"), Some((_, host))) = (tls_value, tls.as_deref(), &server)
            && !is_loopback(host)
        {
            self.error(
                v.span(),
                format!(
                    "{} = \"none\" would send alerts and the password in clear over the network: \
                     it is only allowed for a server on this machine (localhost, 127.0.0.1, ::1)",
                    field("tls")
                ),
            );
        }
        let username = self.optional(t, "username", |r, v| r.text(v, &field("username")));
        let password = self.secret(t, span.clone(), place, "password", false);
        if let (Some(None), Some(Some(_))) = (&username, &password)
            && let Some((k, _)) = t
                .get_key_value("password_file")
                .or_else(|| t.get_key_value("password_env"))
        {
            self.error(k.span(), format!("a password needs a `username` {place}"));
        }
        let from = self.required(t, span.clone(), place, "from").and_then(|v| {
            let s = self.text(v, &field("from"))?;
            self.check_address(v.span(), &s, &field("from"))
                .then_some(s)
        });
        let to = self.required(t, span, place, "to").and_then(|v| {
            let before = self.errors.len();
            let list = self.strings(v, &field("to"));
            if list.is_empty() && self.errors.len() == before {
                self.error(v.span(), format!("{} names no recipient", field("to")));
            }
            for a in &list {
                self.check_address(a.span(), a.get_ref(), &field("to"));
            }
            (self.errors.len() == before)
                .then(|| list.into_iter().map(Spanned::into_inner).collect())
        });
        Some(ChannelKind::Email {
            server: server?.0,
            tls: tls?,
            username: username?,
            password: password?,
            from: from?,
            to: to?,
        })
    }

    /// Reports `address` unless it is an e-mail address (`ops@example.org`, or
    /// `Ops <ops@example.org>`); returns whether it is one.
    fn check_address(&mut self, span: Range<usize>, address: &str, what: &str) -> bool {
        if is_mail_address(address) {
            return true;
        }
        self.error(
            span,
            format!(
                "{what} must be an e-mail address such as ops@example.org or \
                 \"Ops <ops@example.org>\", found {address:?}"
            ),
        );
        false
    }

    // ---- retention -------------------------------------------------------------------------

    /// `[retention]`: every key a duration at least its kind's safe minimum.
    fn retention(&mut self, root: &DeTable<'_>) -> Option<RetentionSettings> {
        let Some(value) = root.get("retention") else {
            return Some(RetentionSettings::default());
        };
        let table = self.table(value, "`retention`", "a table ([retention])")?;
        let place = "in [retention]";
        self.check_keys(table, place, RETENTION_KEYS);
        let d = RetentionSettings::default();
        let kept = |r: &mut Self, key: &str, default: Duration, min: Duration, why: &str| {
            r.or_default(table, key, default, |r, v| {
                let what = what(key, place);
                let kept = r.duration(v, &what)?;
                if kept < min {
                    r.error(
                        v.span(),
                        format!(
                            "{what}: {} is shorter than the safe minimum of {} ({why})",
                            duration_text(kept),
                            duration_text(min)
                        ),
                    );
                    return None;
                }
                Some(kept)
            })
        };
        let samples = kept(
            self,
            "samples",
            d.samples,
            RetentionSettings::MIN_SAMPLES,
            "the resource charts and the alert windows read the last hours of raw samples",
        );
        let sample_rollups = kept(
            self,
            "sample_rollups",
            d.sample_rollups,
            RetentionSettings::MIN_SAMPLE_ROLLUPS,
            "the resource charts reach a week back",
        );
        let operations = kept(
            self,
            "operations",
            d.operations,
            RetentionSettings::MIN_OPERATIONS,
            "the forecast reads the last 28 days of throughput",
        );
        let test_runs = kept(
            self,
            "test_runs",
            d.test_runs,
            RetentionSettings::MIN_TEST_RUNS,
            "a week of test history at least",
        );
        let resolved_alerts = kept(
            self,
            "resolved_alerts",
            d.resolved_alerts,
            RetentionSettings::MIN_RESOLVED_ALERTS,
            "a resolved alert stays in the history a week at least",
        );
        let deliveries = kept(
            self,
            "deliveries",
            d.deliveries,
            RetentionSettings::MIN_DELIVERIES,
            "a day of delivery history at least",
        );
        let (samples, sample_rollups) = (samples?, sample_rollups?);
        if sample_rollups < samples {
            let span = table
                .get("sample_rollups")
                .map_or(value.span(), |v| v.span());
            self.error(
                span,
                format!(
                    "{}: {} is shorter than `samples` ({}): the aggregates are made from the raw \
                     samples and must outlive them",
                    what("sample_rollups", place),
                    duration_text(sample_rollups),
                    duration_text(samples)
                ),
            );
            return None;
        }
        Some(RetentionSettings {
            samples,
            sample_rollups,
            operations: operations?,
            test_runs: test_runs?,
            resolved_alerts: resolved_alerts?,
            deliveries: deliveries?,
        })
    }

    // ---- chat ------------------------------------------------------------------------------

    fn chat(&mut self, root: &DeTable<'_>) -> Option<ChatSettings> {
        let Some(value) = root.get("chat") else {
            return Some(ChatSettings::default());
        };
        let table = self.table(value, "`chat`", "a table ([chat])")?;
        let place = "in [chat]";
        self.check_keys(table, place, CHAT_KEYS);
        let signing_secret = self.secret(table, value.span(), place, "signing_secret", false)?;
        Some(ChatSettings { signing_secret })
    }
}

/// One collector's table, with what every collector reads the same way.
struct Item<'a, 'i> {
    table: &'a DeTable<'i>,
    span: Range<usize>,
    /// "in [[collectors.kind]]".
    place: &'a str,
    /// "collector `name`", for messages about references.
    label: &'a str,
    /// `None` when the name has a mistake (reported).
    name: Option<String>,
}

/// What the rules may refer to.
struct Known<'k> {
    declared: &'k Declared<'k>,
    /// [`KNOWN_METRICS`] and the Prometheus queries' names.
    metrics: &'k [&'k str],
    /// The collectors' names.
    collectors: &'k [String],
}

/// Whether `s` is an `http://` or `https://` address with a host.
fn is_http_url(s: &str) -> bool {
    let lower = s.get(..8).unwrap_or(s).to_ascii_lowercase();
    let rest = if lower.starts_with("https://") {
        &s[8..]
    } else if lower.starts_with("http://") {
        &s[7..]
    } else {
        return false;
    };
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    let (host, port) = split_host_port(host_port);
    !host.is_empty() && port.is_none_or(|p| p.parse::<u16>().is_ok())
}

/// `host:port`, `[v6]:port`, `host` or `[v6]` as host and port.
fn split_host_port(s: &str) -> (&str, Option<&str>) {
    if let Some(rest) = s.strip_prefix('[') {
        return match rest.split_once(']') {
            Some((host, "")) => (host, None),
            Some((host, port)) => match port.strip_prefix(':') {
                Some(port) => (host, Some(port)),
                None => ("", None),
            },
            None => ("", None),
        };
    }
    match s.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (s, None),
    }
}

/// The host of an SMTP server written as `host`, `host:port` or `smtp://host:port`.
fn smtp_host(s: &str) -> Option<String> {
    let rest = s.strip_prefix("smtp://").unwrap_or(s);
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.is_empty()
        || rest
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '/' | '@' | '?' | '#'))
    {
        return None;
    }
    let (host, port) = split_host_port(rest);
    let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok_and(|p| p > 0));
    (!host.is_empty() && port_ok).then(|| host.to_owned())
}

/// Whether a host is this machine.
fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Whether `s` is `local@domain` or `Name <local@domain>`, without what could break a mail
/// header (line breaks, commas, quotes).
fn is_mail_address(s: &str) -> bool {
    if s.chars()
        .any(|c| c.is_control() || matches!(c, ',' | ';' | '"'))
    {
        return false;
    }
    let address = match s.strip_suffix('>') {
        Some(rest) => match rest.rsplit_once('<') {
            Some((name, address)) if !name.contains(['<', '>']) => address,
            _ => return false,
        },
        None => s,
    };
    if address.contains(|c: char| c.is_whitespace() || matches!(c, '<' | '>')) {
        return false;
    }
    match address.rsplit_once('@') {
        Some((local, domain)) => !local.is_empty() && !domain.is_empty() && !domain.contains('@'),
        None => false,
    }
}

#[cfg(test)]
mod tests;
