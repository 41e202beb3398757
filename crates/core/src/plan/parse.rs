//! Reading a plan file: every mistake is reported, each at its line and column.
//!
//! The file is parsed into toml's spanned tree (`DeTable`) and walked by hand rather than
//! decoded with serde, so that one pass collects every unknown key, wrong type, bad date and
//! broken reference instead of stopping at the first.

mod reports;
mod settings;

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use time::{Date, Duration, Month};
use toml::Spanned;
use toml::de::{DeArray, DeTable, DeValue};

use super::{
    Component, DatasetSpec, Datasets, MigrationInfo, Milestone, MilestoneCondition, Phase, Plan,
    PlanError, ROLLBACK_COMMAND_TIMEOUT, ROLLBACK_MAX_TIMEOUT, ROLLBACK_WEBHOOK_TIMEOUT, Risk,
    RollbackAction, RollbackVia, Thresholds, duration_text,
};
use crate::time_parse::parse_date;

type Value<'i> = Spanned<DeValue<'i>>;

/// The top-level keys. `collectors`, `alerts`, `notify`, `chat` and `retention` are read by
/// [`settings`].
const ROOT_KEYS: &[&str] = &[
    "migration",
    "datasets",
    "components",
    "phases",
    "thresholds",
    "collectors",
    "alerts",
    "notify",
    "chat",
    "retention",
    "reports",
];
const MIGRATION_KEYS: &[&str] = &["name", "start", "weeks"];
const DATASETS_KEYS: &[&str] = &["total", "list"];
const DATASET_KEYS: &[&str] = &["name", "component", "size"];
const COMPONENT_KEYS: &[&str] = &["id", "name", "rollback", "datasets"];
const ROLLBACK_KEYS: &[&str] = &[
    "command",
    "webhook",
    "timeout",
    "token",
    "token_file",
    "token_env",
];
/// The keys of a webhook's bearer token, which a command does not take.
const ROLLBACK_TOKEN_KEYS: &[&str] = &["token", "token_file", "token_env"];
const PHASE_KEYS: &[&str] = &[
    "id",
    "name",
    "start",
    "end",
    "depends_on",
    "components",
    "risk",
    "milestones",
];
const MILESTONE_KEYS: &[&str] = &["name", "date", "when"];
const THRESHOLD_KEYS: &[&str] = &[
    "success_rate_warning",
    "success_rate_critical",
    "slip_days_critical",
    "test_pass_warning",
    "test_pass_critical",
    "regression_percent",
    "max_future",
];

/// Reads a plan from the text of `file_name`.
///
/// On failure returns every mistake found, sorted by place; `file_name` is only used to name
/// the file in the errors. Syntax errors are reported alone, since the rest of a file that does
/// not parse cannot be judged fairly.
pub fn parse(source: &str, file_name: &str) -> Result<Plan, Vec<PlanError>> {
    let mut r = Reader::new(source, file_name);
    let (root, syntax_errors) = DeTable::parse_recoverable(source);
    if !syntax_errors.is_empty() {
        for e in &syntax_errors {
            r.syntax_error(e);
        }
        return Err(r.into_errors());
    }
    let root = root.get_ref();
    r.check_keys(root, "at the top level", ROOT_KEYS);

    let migration = r.migration(root);
    let datasets = r.datasets(root);
    let components = r.components(root);
    let phases = r.phases(root);
    let thresholds = r.thresholds(root);

    let component_ids = r.check_components(&components);
    r.check_component_datasets(&components, datasets.as_ref());
    r.check_phases(&phases, component_ids.as_deref());
    if let Some(DatasetsIn::List(list)) = &datasets {
        r.check_datasets(list, component_ids.as_deref());
    }
    let phase_ids: Vec<String> = phases
        .iter()
        .filter_map(|p| p.id.as_ref().map(|id| id.get_ref().clone()))
        .collect();
    let settings = r.settings(
        root,
        &settings::Declared {
            components: component_ids.as_deref(),
            phases: &phase_ids,
        },
    );

    let reports = r.reports(root, settings.notify.as_deref());

    if !r.errors.is_empty() {
        return Err(r.into_errors());
    }
    let settings::Settings {
        collectors: Some(collectors),
        alerts: Some(alerts),
        notify: Some(notify),
        chat: Some(chat),
        retention: Some(retention),
    } = settings
    else {
        r.error(0..0, "the plan is incomplete");
        return Err(r.into_errors());
    };
    let (Some(migration), Some(datasets), Some(thresholds)) = (migration, datasets, thresholds)
    else {
        // Every way to get here records an error first.
        r.error(0..0, "the plan is incomplete");
        return Err(r.into_errors());
    };
    let datasets = match datasets {
        DatasetsIn::Total(n) => Datasets::Total(n),
        DatasetsIn::List(list) => Datasets::List(
            list.into_iter()
                .filter_map(|d| {
                    Some(DatasetSpec {
                        name: d.name?.into_inner(),
                        component: d.component.map(Spanned::into_inner),
                        size: d.size,
                    })
                })
                .collect(),
        ),
    };
    let components = components
        .into_iter()
        .filter_map(|c| {
            Some(Component {
                id: c.id?.into_inner(),
                name: c.name?,
                rollback: c.rollback,
                datasets: c.datasets.map(Spanned::into_inner),
            })
        })
        .collect();
    let phases = phases.into_iter().filter_map(PhaseIn::into_phase).collect();

    Ok(Plan {
        migration,
        datasets,
        components,
        phases,
        thresholds,
        collectors,
        alerts,
        notify,
        chat,
        retention,
        reports,
    })
}

/// `[datasets]` as read, before the references are checked.
enum DatasetsIn {
    Total(u32),
    List(Vec<DatasetIn>),
}

struct DatasetIn {
    name: Option<Spanned<String>>,
    component: Option<Spanned<String>>,
    size: Option<u64>,
}

struct ComponentIn {
    id: Option<Spanned<String>>,
    name: Option<String>,
    /// `None` when absent or holding a mistake (reported).
    rollback: Option<RollbackAction>,
    /// `datasets = N`, where it is.
    datasets: Option<Spanned<u32>>,
}

struct PhaseIn {
    id: Option<Spanned<String>>,
    name: Option<String>,
    start: Option<Date>,
    end: Option<Spanned<Date>>,
    depends_on: Vec<Spanned<String>>,
    components: Vec<Spanned<String>>,
    risk: Option<Risk>,
    milestones: Vec<MilestoneIn>,
    /// Whether every milestone was read without mistakes.
    milestones_ok: bool,
}

struct MilestoneIn {
    name: Option<String>,
    date: Option<Spanned<Date>>,
    /// `when`, read; its component is checked against the plan's.
    when: Option<Spanned<MilestoneCondition>>,
}

impl PhaseIn {
    fn into_phase(self) -> Option<Phase> {
        if !self.milestones_ok {
            return None;
        }
        let milestones = self
            .milestones
            .into_iter()
            .map(|m| {
                Some(Milestone {
                    name: m.name?,
                    date: m.date?.into_inner(),
                    when: m.when.map(Spanned::into_inner),
                })
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Phase {
            id: self.id?.into_inner(),
            name: self.name?,
            start: self.start?,
            end: self.end?.into_inner(),
            depends_on: self
                .depends_on
                .into_iter()
                .map(Spanned::into_inner)
                .collect(),
            components: self
                .components
                .into_iter()
                .map(Spanned::into_inner)
                .collect(),
            risk: self.risk?,
            milestones,
        })
    }
}

/// Walks the tree and collects mistakes as byte offsets, turned into lines and columns at the
/// end.
struct Reader<'s> {
    source: &'s str,
    file: &'s str,
    errors: Vec<(Range<usize>, String)>,
}

impl<'s> Reader<'s> {
    fn new(source: &'s str, file: &'s str) -> Self {
        Reader {
            source,
            file,
            errors: Vec::new(),
        }
    }

    fn error(&mut self, span: Range<usize>, message: impl Into<String>) {
        self.errors.push((span, message.into()));
    }

    fn syntax_error(&mut self, e: &toml::de::Error) {
        let span = e.span().unwrap_or(0..0);
        let mut message = format!("invalid TOML: {}", e.message().trim_end());
        // toml names neither the key nor the first definition: name at least the key.
        if e.message() == "duplicate key"
            && let Some(key) = self.source.get(span.clone()).filter(|k| !k.is_empty())
        {
            message = format!("invalid TOML: `{key}` is defined twice");
        }
        self.error(span, message);
    }

    /// The errors with their lines and columns, sorted by place.
    fn into_errors(self) -> Vec<PlanError> {
        let mut line_starts = vec![0];
        line_starts.extend(self.source.match_indices('\n').map(|(i, _)| i + 1));
        let mut errors = self.errors;
        errors.sort_by_key(|(span, _)| span.start);
        errors.dedup();
        errors
            .into_iter()
            .map(|(span, message)| {
                let offset = span.start.min(self.source.len());
                let line = line_starts.partition_point(|&s| s <= offset).max(1);
                let line_start = line_starts.get(line - 1).copied().unwrap_or(0);
                let column = self
                    .source
                    .get(line_start..offset)
                    .map_or(offset - line_start, |s| s.chars().count())
                    + 1;
                PlanError {
                    file: self.file.to_owned(),
                    line,
                    column,
                    message,
                }
            })
            .collect()
    }

    // ---- generic readers -------------------------------------------------------------------

    /// Reports every key of `table` that is not in `allowed`, with the closest known key.
    fn check_keys(&mut self, table: &DeTable<'_>, place: &str, allowed: &[&str]) {
        for (key, _) in table.iter() {
            let key_text: &str = key.get_ref();
            if allowed.contains(&key_text) {
                continue;
            }
            let hint = match closest(key_text, allowed.iter().copied()) {
                Some(s) => format!("did you mean `{s}`?"),
                None => format!("known keys: {}", quoted_list(allowed)),
            };
            self.error(
                key.span(),
                format!("unknown key `{key_text}` {place} ({hint})"),
            );
        }
    }

    /// The value of a key that must be there.
    fn required<'a, 'i>(
        &mut self,
        table: &'a DeTable<'i>,
        table_span: Range<usize>,
        place: &str,
        key: &str,
    ) -> Option<&'a Value<'i>> {
        let value = table.get(key);
        if value.is_none() {
            self.error(table_span, format!("missing key `{key}` {place}"));
        }
        value
    }

    fn wrong_type(&mut self, value: &Value<'_>, what: &str, expected: &str) {
        let found = kind(value.get_ref());
        self.error(
            value.span(),
            format!("{what} must be {expected}, found {found}"),
        );
    }

    fn table<'a, 'i>(
        &mut self,
        value: &'a Value<'i>,
        what: &str,
        expected: &str,
    ) -> Option<&'a DeTable<'i>> {
        match value.get_ref() {
            DeValue::Table(t) => Some(t),
            _ => {
                self.wrong_type(value, what, expected);
                None
            }
        }
    }

    fn array<'a, 'i>(&mut self, value: &'a Value<'i>, what: &str) -> Option<&'a DeArray<'i>> {
        match value.get_ref() {
            DeValue::Array(a) => Some(a),
            _ => {
                self.wrong_type(value, what, "an array");
                None
            }
        }
    }

    /// The tables of an array of tables (`[[x]]` or `x = [{ … }]`), each with its span.
    fn tables<'a, 'i>(
        &mut self,
        value: &'a Value<'i>,
        what: &str,
        expected: &str,
    ) -> Vec<(&'a DeTable<'i>, Range<usize>)> {
        let DeValue::Array(items) = value.get_ref() else {
            self.wrong_type(value, what, expected);
            return Vec::new();
        };
        let mut out = Vec::with_capacity(items.len());
        for item in items.iter() {
            match item.get_ref() {
                DeValue::Table(t) => out.push((t, item.span())),
                _ => {
                    let found = kind(item.get_ref());
                    self.error(
                        item.span(),
                        format!("{what} must hold tables, found {found}"),
                    );
                }
            }
        }
        out
    }

    fn string(&mut self, value: &Value<'_>, what: &str) -> Option<String> {
        match value.get_ref() {
            DeValue::String(s) => Some(s.to_string()),
            _ => {
                self.wrong_type(value, what, "a string");
                None
            }
        }
    }

    /// A string that is not blank.
    fn text(&mut self, value: &Value<'_>, what: &str) -> Option<String> {
        let s = self.string(value, what)?;
        if s.trim().is_empty() {
            self.error(value.span(), format!("{what} must not be empty"));
            return None;
        }
        Some(s)
    }

    /// A milestone's `when`: a condition of [`MilestoneCondition::parse`], a mistake pointed at
    /// inside the string.
    fn condition(&mut self, value: &Value<'_>) -> Option<Spanned<MilestoneCondition>> {
        let text = self.text(value, "`when` in a milestone")?;
        match MilestoneCondition::parse(&text) {
            Ok(c) => Some(Spanned::new(value.span(), c)),
            Err((offset, message)) => {
                // Inside the quotes; exact for strings without escapes.
                let at = (value.span().start + 1 + offset).min(value.span().end.saturating_sub(1));
                self.error(at..at + 1, format!("`when` in a milestone: {message}"));
                None
            }
        }
    }

    /// An id: letters, digits, `_`, `-` and `.`, so it fits in URLs and command lines.
    fn id(&mut self, value: &Value<'_>, what: &str) -> Option<Spanned<String>> {
        let s = self.text(value, what)?;
        if !s
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
        {
            self.error(
                value.span(),
                format!("{what} must be made of letters, digits, `_`, `-` and `.`, found {s:?}"),
            );
            return None;
        }
        Some(Spanned::new(value.span(), s))
    }

    /// A non-blank string naming something declared elsewhere; checked later.
    fn reference(&mut self, value: &Value<'_>, what: &str) -> Option<Spanned<String>> {
        self.text(value, what)
            .map(|s| Spanned::new(value.span(), s))
    }

    /// A list of strings; entries that are not strings are reported and left out.
    fn strings(&mut self, value: &Value<'_>, what: &str) -> Vec<Spanned<String>> {
        let Some(items) = self.array(value, what) else {
            return Vec::new();
        };
        let mut out = Vec::with_capacity(items.len());
        for item in items.iter() {
            match item.get_ref() {
                DeValue::String(s) if !s.trim().is_empty() => {
                    out.push(Spanned::new(item.span(), s.to_string()));
                }
                DeValue::String(_) => {
                    self.error(item.span(), format!("{what} holds an empty name"))
                }
                other => {
                    let found = kind(other);
                    self.error(
                        item.span(),
                        format!("{what} must list strings, found {found}"),
                    );
                }
            }
        }
        out
    }

    /// A date: `"2025-01-06"`, or TOML's bare local date `2025-01-06`.
    fn date(&mut self, value: &Value<'_>, what: &str) -> Option<Date> {
        match value.get_ref() {
            DeValue::String(s) => match parse_date(s) {
                Ok(d) => Some(d),
                Err(msg) => {
                    self.error(value.span(), format!("{what}: {msg}"));
                    None
                }
            },
            DeValue::Datetime(dt) => {
                let date = match (dt.date, dt.time, dt.offset) {
                    (Some(d), None, None) => Month::try_from(d.month)
                        .ok()
                        .and_then(|m| Date::from_calendar_date(i32::from(d.year), m, d.day).ok()),
                    _ => None,
                };
                if date.is_none() {
                    self.error(
                        value.span(),
                        format!("{what} must be a date of the form YYYY-MM-DD, found {dt}"),
                    );
                }
                date
            }
            _ => {
                self.wrong_type(value, what, "a date (\"YYYY-MM-DD\")");
                None
            }
        }
    }

    fn integer(&mut self, value: &Value<'_>, what: &str) -> Option<i64> {
        match value.get_ref() {
            DeValue::Integer(i) => match i64::from_str_radix(i.as_str(), i.radix()) {
                Ok(n) => Some(n),
                Err(_) => {
                    self.error(value.span(), format!("{what} is too large"));
                    None
                }
            },
            _ => {
                self.wrong_type(value, what, "an integer");
                None
            }
        }
    }

    /// A dataset's size: a whole number from 0 up.
    fn size(&mut self, value: &Value<'_>, what: &str) -> Option<u64> {
        let n = self.integer(value, what)?;
        match u64::try_from(n) {
            Ok(n) => Some(n),
            Err(_) => {
                self.error(
                    value.span(),
                    format!("{what} must be at least 0, found {n}"),
                );
                None
            }
        }
    }

    /// A whole number from `min` up.
    fn count(&mut self, value: &Value<'_>, what: &str, min: u32) -> Option<u32> {
        let n = self.integer(value, what)?;
        if n < i64::from(min) {
            self.error(
                value.span(),
                format!("{what} must be at least {min}, found {n}"),
            );
            return None;
        }
        match u32::try_from(n) {
            Ok(n) => Some(n),
            Err(_) => {
                self.error(value.span(), format!("{what} is too large ({n})"));
                None
            }
        }
    }

    /// A finite number, integer or float.
    fn number(&mut self, value: &Value<'_>, what: &str) -> Option<f64> {
        let n = match value.get_ref() {
            DeValue::Float(f) => f.as_str().replace('_', "").parse::<f64>().ok(),
            // Whole numbers are fine where a fraction is expected: `regression_percent = 10`.
            DeValue::Integer(_) => self.integer(value, what).map(|n| n as f64),
            _ => {
                self.wrong_type(value, what, "a number");
                return None;
            }
        };
        match n {
            Some(n) if n.is_finite() => Some(n),
            _ => {
                self.error(value.span(), format!("{what} must be a finite number"));
                None
            }
        }
    }

    // ---- sections --------------------------------------------------------------------------

    fn migration(&mut self, root: &DeTable<'_>) -> Option<MigrationInfo> {
        let Some(value) = root.get("migration") else {
            self.error(
                0..0,
                "missing table [migration] (with `name`, `start` and `weeks`)",
            );
            return None;
        };
        let table = self.table(value, "`migration`", "a table ([migration])")?;
        let place = "in [migration]";
        self.check_keys(table, place, MIGRATION_KEYS);
        let span = value.span();
        let name = self
            .required(table, span.clone(), place, "name")
            .and_then(|v| self.text(v, "`name` in [migration]"));
        let start = self
            .required(table, span.clone(), place, "start")
            .and_then(|v| self.date(v, "`start` in [migration]"));
        let weeks_value = self.required(table, span, place, "weeks");
        let weeks = weeks_value.and_then(|v| self.count(v, "`weeks` in [migration]", 1));
        let (name, start, weeks) = (name?, start?, weeks?);
        if start
            .checked_add(Duration::weeks(i64::from(weeks)))
            .is_none()
        {
            if let Some(v) = weeks_value {
                self.error(
                    v.span(),
                    format!("`weeks` in [migration] is too large: {weeks} weeks from {start} end past the calendar"),
                );
            }
            return None;
        }
        Some(MigrationInfo { name, start, weeks })
    }

    fn datasets(&mut self, root: &DeTable<'_>) -> Option<DatasetsIn> {
        let Some(value) = root.get("datasets") else {
            self.error(
                0..0,
                "missing table [datasets] (with `total = N`, or a list of [[datasets.list]])",
            );
            return None;
        };
        let table = self.table(value, "`datasets`", "a table ([datasets])")?;
        let place = "in [datasets]";
        self.check_keys(table, place, DATASETS_KEYS);
        match (table.get("total"), table.get_key_value("list")) {
            (Some(_), Some((key, _))) => {
                self.error(
                    key.span(),
                    "[datasets] takes either `total` or `list`, not both".to_owned(),
                );
                None
            }
            (None, None) => {
                self.error(
                    value.span(),
                    "missing key `total` in [datasets] (or a list of [[datasets.list]])",
                );
                None
            }
            (Some(total), None) => self
                .count(total, "`total` in [datasets]", 1)
                .map(DatasetsIn::Total),
            (None, Some((_, list))) => {
                let tables = self.tables(
                    list,
                    "`list` in [datasets]",
                    "an array of tables ([[datasets.list]])",
                );
                if tables.is_empty() {
                    if matches!(list.get_ref(), DeValue::Array(_)) {
                        self.error(list.span(), "`list` in [datasets] names no dataset");
                    }
                    return None;
                }
                let place = "in [[datasets.list]]";
                let list = tables
                    .into_iter()
                    .map(|(t, span)| {
                        self.check_keys(t, place, DATASET_KEYS);
                        DatasetIn {
                            name: self
                                .required(t, span, place, "name")
                                .and_then(|v| self.reference(v, "`name` in [[datasets.list]]")),
                            component: t.get("component").and_then(|v| {
                                self.reference(v, "`component` in [[datasets.list]]")
                            }),
                            size: t
                                .get("size")
                                .and_then(|v| self.size(v, "`size` in [[datasets.list]]")),
                        }
                    })
                    .collect();
                Some(DatasetsIn::List(list))
            }
        }
    }

    fn components(&mut self, root: &DeTable<'_>) -> Vec<ComponentIn> {
        let Some(value) = root.get("components") else {
            return Vec::new();
        };
        let place = "in [[components]]";
        self.tables(value, "`components`", "an array of tables ([[components]])")
            .into_iter()
            .map(|(t, span)| {
                self.check_keys(t, place, COMPONENT_KEYS);
                let id = self
                    .required(t, span.clone(), place, "id")
                    .and_then(|v| self.id(v, "`id` in [[components]]"));
                let name = self
                    .required(t, span, place, "name")
                    .and_then(|v| self.text(v, "`name` in [[components]]"));
                let rollback = t
                    .get("rollback")
                    .and_then(|v| self.rollback(v, id.as_ref().map(|id| id.get_ref().as_str())));
                let datasets = t.get("datasets").and_then(|v| {
                    self.count(v, "`datasets` in [[components]]", 0)
                        .map(|n| Spanned::new(v.span(), n))
                });
                ComponentIn {
                    id,
                    name,
                    rollback,
                    datasets,
                }
            })
            .collect()
    }

    /// A component's `rollback`: exactly one of `command` and `webhook`, an optional
    /// `timeout` (at most [`ROLLBACK_MAX_TIMEOUT`]) and, for a webhook, an optional bearer
    /// token from `token_file` / `token_env`.
    fn rollback(&mut self, value: &Value<'_>, component: Option<&str>) -> Option<RollbackAction> {
        let place = match component {
            Some(id) => format!("in `rollback` of component `{id}`"),
            None => "in `rollback` of [[components]]".to_owned(),
        };
        let table = self.table(
            value,
            "`rollback` in [[components]]",
            "a table ({ command = [\"/path/to/program\", \"arg\"] } or { webhook = \"https://…\" })",
        )?;
        self.check_keys(table, &place, ROLLBACK_KEYS);
        let span = value.span();
        let via = match (
            table.get_key_value("command"),
            table.get_key_value("webhook"),
        ) {
            (Some(_), Some((key, _))) => {
                self.error(
                    key.span(),
                    format!("give either `command` or `webhook` {place}, not both"),
                );
                None
            }
            (None, None) => {
                self.error(
                    span.clone(),
                    format!("missing key `command` or `webhook` {place}"),
                );
                None
            }
            (Some((_, command)), None) => {
                for key in ROLLBACK_TOKEN_KEYS {
                    if let Some((k, _)) = table.get_key_value(*key) {
                        self.error(
                            k.span(),
                            format!("`{key}` {place} goes with `webhook` only: a command is given no token"),
                        );
                    }
                }
                self.rollback_command(command, &place)
            }
            (None, Some((_, webhook))) => {
                let url = self.http_url(webhook, &format!("`webhook` {place}"));
                let token = self.secret(table, span, &place, "token", false);
                Some(RollbackVia::Webhook {
                    url: url?,
                    token: token?,
                })
            }
        };
        let default = match &via {
            Some(RollbackVia::Webhook { .. }) => ROLLBACK_WEBHOOK_TIMEOUT,
            _ => ROLLBACK_COMMAND_TIMEOUT,
        };
        let timeout = match table.get("timeout") {
            None => Some(default),
            Some(v) => {
                let what = format!("`timeout` {place}");
                self.positive_duration(v, &what).and_then(|d| {
                    if d > ROLLBACK_MAX_TIMEOUT {
                        self.error(
                            v.span(),
                            format!(
                                "{what} must be at most {}, found {}",
                                duration_text(ROLLBACK_MAX_TIMEOUT),
                                duration_text(d)
                            ),
                        );
                        return None;
                    }
                    Some(d)
                })
            }
        };
        Some(RollbackAction {
            via: via?,
            timeout: timeout?,
        })
    }

    /// `command = [program, args…]`: strings only, the program an absolute path or a bare
    /// name, and no placeholder that someone could expect to be filled in.
    fn rollback_command(&mut self, value: &Value<'_>, place: &str) -> Option<RollbackVia> {
        let what = format!("`command` {place}");
        let items = self.array(value, &what)?;
        if items.is_empty() {
            self.error(
                value.span(),
                format!("{what} must name a program: [\"/path/to/program\", \"arg\", …]"),
            );
            return None;
        }
        let before = self.errors.len();
        let mut words = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let DeValue::String(word) = item.get_ref() else {
                let found = kind(item.get_ref());
                self.error(
                    item.span(),
                    format!("{what} must list strings, found {found}"),
                );
                continue;
            };
            if word.contains('\0') {
                self.error(item.span(), format!("{what} must not hold a NUL character"));
            } else if let Some(p) = placeholder(word) {
                self.error(
                    item.span(),
                    format!(
                        "{what} is run exactly as written and `{p}` would not be filled in: \
                         the program reads MHD_ROLLBACK_COMPONENT, MHD_ROLLBACK_REQUESTED_BY and \
                         MHD_ROLLBACK_REASON from its environment instead"
                    ),
                );
            } else if i == 0 && !is_program(word) {
                self.error(
                    item.span(),
                    format!(
                        "the program of {what} must be an absolute path (such as \
                         /usr/local/bin/rollback) or a bare name found in PATH, found {word:?}"
                    ),
                );
            }
            words.push(word.to_string());
        }
        if self.errors.len() != before {
            return None;
        }
        let mut words = words.into_iter();
        let program = words.next()?;
        Some(RollbackVia::Command {
            program,
            args: words.collect(),
        })
    }

    fn phases(&mut self, root: &DeTable<'_>) -> Vec<PhaseIn> {
        let Some(value) = root.get("phases") else {
            return Vec::new();
        };
        let tables = self.tables(value, "`phases`", "an array of tables ([[phases]])");
        tables
            .into_iter()
            .map(|(t, span)| self.phase(t, span))
            .collect()
    }

    fn phase(&mut self, t: &DeTable<'_>, span: Range<usize>) -> PhaseIn {
        let place = "in [[phases]]";
        self.check_keys(t, place, PHASE_KEYS);
        let id = self
            .required(t, span.clone(), place, "id")
            .and_then(|v| self.id(v, "`id` in [[phases]]"));
        let name = self
            .required(t, span.clone(), place, "name")
            .and_then(|v| self.text(v, "`name` in [[phases]]"));
        let start = self
            .required(t, span.clone(), place, "start")
            .and_then(|v| self.date(v, "`start` in [[phases]]"));
        let end = self.required(t, span, place, "end").and_then(|v| {
            self.date(v, "`end` in [[phases]]")
                .map(|d| Spanned::new(v.span(), d))
        });
        let depends_on = t
            .get("depends_on")
            .map(|v| self.strings(v, "`depends_on` in [[phases]]"))
            .unwrap_or_default();
        let components = t
            .get("components")
            .map(|v| self.strings(v, "`components` in [[phases]]"))
            .unwrap_or_default();
        let risk = match t.get("risk") {
            None => Some(Risk::default()),
            Some(v) => self.string(v, "`risk` in [[phases]]").and_then(|s| {
                let risk = Risk::from_name(&s);
                if risk.is_none() {
                    self.error(
                        v.span(),
                        format!(
                            "`risk` in [[phases]] must be `low`, `medium` or `high`, found {s:?}"
                        ),
                    );
                }
                risk
            }),
        };
        let mut milestones = Vec::new();
        let mut milestones_ok = true;
        if let Some(v) = t.get("milestones") {
            let errors_before = self.errors.len();
            let place = "in a milestone";
            for (m, m_span) in self.tables(v, "`milestones` in [[phases]]", "an array of tables") {
                self.check_keys(m, place, MILESTONE_KEYS);
                milestones.push(MilestoneIn {
                    name: self
                        .required(m, m_span.clone(), place, "name")
                        .and_then(|v| self.text(v, "`name` in a milestone")),
                    date: self.required(m, m_span, place, "date").and_then(|v| {
                        self.date(v, "`date` in a milestone")
                            .map(|d| Spanned::new(v.span(), d))
                    }),
                    when: m.get("when").and_then(|v| self.condition(v)),
                });
            }
            milestones_ok = self.errors.len() == errors_before;
        }
        PhaseIn {
            id,
            name,
            start,
            end,
            depends_on,
            components,
            risk,
            milestones,
            milestones_ok,
        }
    }

    fn thresholds(&mut self, root: &DeTable<'_>) -> Option<Thresholds> {
        let mut th = Thresholds::default();
        let Some(value) = root.get("thresholds") else {
            return Some(th);
        };
        let table = self.table(value, "`thresholds`", "a table ([thresholds])")?;
        self.check_keys(table, "in [thresholds]", THRESHOLD_KEYS);
        let errors_before = self.errors.len();

        let rate = |r: &mut Self, key: &str, field: &mut f64| -> Option<Range<usize>> {
            let v = table.get(key)?;
            let what = format!("`{key}` in [thresholds]");
            let n = r.number(v, &what)?;
            if !(0.0..=1.0).contains(&n) {
                r.error(
                    v.span(),
                    format!(
                        "{what} must be between 0 and 1 (a fraction: 0.9 means 90 %), found {n}"
                    ),
                );
                return None;
            }
            *field = n;
            Some(v.span())
        };
        let srw = rate(self, "success_rate_warning", &mut th.success_rate_warning);
        let src = rate(self, "success_rate_critical", &mut th.success_rate_critical);
        let tpw = rate(self, "test_pass_warning", &mut th.test_pass_warning);
        let tpc = rate(self, "test_pass_critical", &mut th.test_pass_critical);
        if let Some(v) = table.get("slip_days_critical")
            && let Some(n) = self.count(v, "`slip_days_critical` in [thresholds]", 0)
        {
            th.slip_days_critical = n;
        }
        if let Some(v) = table.get("regression_percent")
            && let Some(n) = self.number(v, "`regression_percent` in [thresholds]")
        {
            if n < 0.0 {
                self.error(
                    v.span(),
                    format!("`regression_percent` in [thresholds] must not be negative, found {n}"),
                );
            } else {
                th.regression_percent = n;
            }
        }
        if let Some(v) = table.get("max_future")
            && let Some(d) = self.positive_duration(v, "`max_future` in [thresholds]")
        {
            th.max_future = d;
        }
        let pairs = [
            (
                "success_rate",
                th.success_rate_warning,
                th.success_rate_critical,
                srw,
                src,
            ),
            (
                "test_pass",
                th.test_pass_warning,
                th.test_pass_critical,
                tpw,
                tpc,
            ),
        ];
        if self.errors.len() == errors_before {
            for (name, warning, critical, w_span, c_span) in pairs {
                if warning >= critical {
                    continue;
                }
                let shown = |n: f64, span: &Option<Range<usize>>| {
                    if span.is_some() {
                        format!("{n}")
                    } else {
                        format!("{n} by default")
                    }
                };
                let message = format!(
                    "`{name}_warning` ({}) must be at least `{name}_critical` ({}): a rate falls \
                     under the warning level before the critical one",
                    shown(warning, &w_span),
                    shown(critical, &c_span),
                );
                let span = w_span
                    .clone()
                    .or(c_span.clone())
                    .unwrap_or_else(|| value.span());
                self.error(span, message);
            }
        }
        (self.errors.len() == errors_before).then_some(th)
    }

    // ---- references between sections ------------------------------------------------------

    /// Reports duplicate component ids; returns the declared ids, or `None` when the plan
    /// declares no components (then phases and datasets may name any component).
    /// `datasets = N` of components goes with `[datasets] total`, and adds up to at most it.
    fn check_component_datasets(
        &mut self,
        components: &[ComponentIn],
        datasets: Option<&DatasetsIn>,
    ) {
        let counted: Vec<&Spanned<u32>> = components
            .iter()
            .filter_map(|c| c.datasets.as_ref())
            .collect();
        match datasets {
            Some(DatasetsIn::List(_)) => {
                for n in counted {
                    self.error(
                        n.span(),
                        "`datasets` in [[components]] goes with `[datasets] total`: with a list, \
                         each [[datasets.list]] entry names its `component`",
                    );
                }
            }
            Some(DatasetsIn::Total(total)) => {
                let sum: u64 = counted.iter().map(|n| u64::from(*n.get_ref())).sum();
                if let Some(last) = counted.last()
                    && sum > u64::from(*total)
                {
                    self.error(
                        last.span(),
                        format!(
                            "the components' `datasets` add up to {sum}, more than the {total} \
                             of `[datasets] total`"
                        ),
                    );
                }
            }
            None => {}
        }
    }

    fn check_components(&mut self, components: &[ComponentIn]) -> Option<Vec<String>> {
        let ids: Vec<&Spanned<String>> = components.iter().filter_map(|c| c.id.as_ref()).collect();
        self.check_unique(&ids, "component id");
        (!components.is_empty()).then(|| ids.iter().map(|s| s.get_ref().clone()).collect())
    }

    /// Reports a second occurrence of a name, pointing back at the first.
    fn check_unique(&mut self, names: &[&Spanned<String>], what: &str) {
        let mut first: HashMap<&str, usize> = HashMap::new();
        for name in names {
            match first.get(name.get_ref().as_str()) {
                Some(&at) => {
                    let before = self.source.get(..at).unwrap_or_default();
                    let line = before.matches('\n').count() + 1;
                    self.error(
                        name.span(),
                        format!(
                            "duplicate {what} `{}` (first at line {line})",
                            name.get_ref()
                        ),
                    );
                }
                None => {
                    first.insert(name.get_ref(), name.span().start);
                }
            }
        }
    }

    /// Reports names listed twice and, when `known` is given, names that are not among it.
    fn check_refs(
        &mut self,
        refs: &[Spanned<String>],
        known: Option<&[String]>,
        what: &str,
        kind: &str,
    ) {
        let mut seen = HashSet::new();
        for r in refs {
            let name = r.get_ref();
            if !seen.insert(name.as_str()) {
                self.error(r.span(), format!("{what} lists `{name}` twice"));
                continue;
            }
            let Some(known) = known else { continue };
            if known.iter().any(|k| k == name) {
                continue;
            }
            let hint = match closest(name, known.iter().map(String::as_str)) {
                Some(s) => format!(" (did you mean `{s}`?)"),
                None if known.is_empty() => String::new(),
                None => format!(" (known: {})", quoted_list(known)),
            };
            self.error(
                r.span(),
                format!("{what} names `{name}`, which is not a {kind}{hint}"),
            );
        }
    }

    fn check_phases(&mut self, phases: &[PhaseIn], component_ids: Option<&[String]>) {
        let ids: Vec<&Spanned<String>> = phases.iter().filter_map(|p| p.id.as_ref()).collect();
        self.check_unique(&ids, "phase id");
        let phase_ids: Vec<String> = ids.iter().map(|s| s.get_ref().clone()).collect();

        for p in phases {
            let label = p.id.as_ref().map_or_else(
                || "this phase".to_owned(),
                |id| format!("phase `{}`", id.get_ref()),
            );
            if let (Some(start), Some(end)) = (p.start, &p.end) {
                let end_day = *end.get_ref();
                if end_day < start {
                    self.error(
                        end.span(),
                        format!("{label} ends ({end_day}) before it starts ({start})"),
                    );
                } else {
                    for m in &p.milestones {
                        if let Some(date) = &m.date {
                            let day = *date.get_ref();
                            if day < start || day > end_day {
                                let milestone = m.name.as_ref().map_or_else(
                                    || "a milestone".to_owned(),
                                    |n| format!("milestone `{n}`"),
                                );
                                self.error(
                                    date.span(),
                                    format!(
                                        "{milestone} ({day}) falls outside {label} \
                                         ({start} to {end_day})"
                                    ),
                                );
                            }
                        }
                    }
                }
            }
            for m in &p.milestones {
                let Some(when) = &m.when else { continue };
                if let (Some(c), Some(known)) = (&when.get_ref().component, component_ids)
                    && !known.contains(c)
                {
                    self.error(
                        when.span(),
                        format!(
                            "`when` in a milestone of {label} names component `{c}`, which is \
                             not a component of the plan"
                        ),
                    );
                } else if when.get_ref().component.is_some() && component_ids.is_none() {
                    self.error(
                        when.span(),
                        format!(
                            "`when` in a milestone of {label} names a component, but the plan \
                             has no [[components]]"
                        ),
                    );
                }
            }
            self.check_refs(
                &p.depends_on,
                Some(&phase_ids),
                &format!("`depends_on` of {label}"),
                "phase",
            );
            self.check_refs(
                &p.components,
                component_ids,
                &format!("`components` of {label}"),
                "component",
            );
        }
        self.check_cycles(phases);
    }

    /// Reports every dependency cycle found by a depth-first walk, at the `depends_on` entry
    /// that closes it.
    fn check_cycles(&mut self, phases: &[PhaseIn]) {
        let mut index: HashMap<&str, usize> = HashMap::new();
        let mut nodes: Vec<&PhaseIn> = Vec::new();
        for p in phases {
            if let Some(id) = &p.id
                && !index.contains_key(id.get_ref().as_str())
            {
                index.insert(id.get_ref(), nodes.len());
                nodes.push(p);
            }
        }
        let edges: Vec<Vec<(usize, Range<usize>)>> = nodes
            .iter()
            .map(|p| {
                let mut seen = HashSet::new();
                p.depends_on
                    .iter()
                    .filter_map(|d| index.get(d.get_ref().as_str()).map(|&i| (i, d.span())))
                    .filter(|&(i, _)| seen.insert(i))
                    .collect()
            })
            .collect();
        let name = |i: usize| nodes[i].id.as_ref().map_or("?", |s| s.get_ref().as_str());

        #[derive(Clone, Copy, PartialEq)]
        enum Mark {
            New,
            OnPath,
            Done,
        }
        let mut mark = vec![Mark::New; nodes.len()];
        for root in 0..nodes.len() {
            if mark[root] != Mark::New {
                continue;
            }
            mark[root] = Mark::OnPath;
            let mut path: Vec<(usize, usize)> = vec![(root, 0)];
            while let Some(top) = path.last_mut() {
                let (node, next) = *top;
                let Some((dep, span)) = edges[node].get(next).cloned() else {
                    mark[node] = Mark::Done;
                    path.pop();
                    continue;
                };
                top.1 += 1;
                match mark[dep] {
                    Mark::New => {
                        mark[dep] = Mark::OnPath;
                        path.push((dep, 0));
                    }
                    Mark::OnPath => {
                        let from = path.iter().position(|&(n, _)| n == dep).unwrap_or(0);
                        let mut cycle: Vec<&str> =
                            path[from..].iter().map(|&(n, _)| name(n)).collect();
                        cycle.push(name(dep));
                        let message = if dep == node {
                            format!("phase `{}` depends on itself", name(dep))
                        } else {
                            format!("dependency cycle: {}", cycle.join(" -> "))
                        };
                        self.error(span, message);
                    }
                    Mark::Done => {}
                }
            }
        }
    }

    fn check_datasets(&mut self, list: &[DatasetIn], component_ids: Option<&[String]>) {
        let names: Vec<&Spanned<String>> = list.iter().filter_map(|d| d.name.as_ref()).collect();
        self.check_unique(&names, "dataset");
        if let Some(known) = component_ids {
            for d in list {
                if let Some(c) = &d.component {
                    let label = d.name.as_ref().map_or_else(
                        || "`component` of a dataset".to_owned(),
                        |n| format!("`component` of dataset `{}`", n.get_ref()),
                    );
                    self.check_refs(std::slice::from_ref(c), Some(known), &label, "component");
                }
            }
        }
    }
}

/// Whether a command's program is an absolute path or a bare name (looked up in `PATH`): a
/// relative path would depend on the folder the server runs in.
fn is_program(word: &str) -> bool {
    !word.trim().is_empty()
        && word.trim() == word
        && (std::path::Path::new(word).is_absolute() || !word.contains('/'))
}

/// The first `{…}` placeholder in a command word (`{}`, `{reason}`, `${USER}`), if any.
fn placeholder(word: &str) -> Option<&str> {
    let mut rest = word;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let name_len = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        if after[name_len..].starts_with('}') {
            return Some(&rest[open..open + name_len + 2]);
        }
        rest = after;
    }
    None
}

/// What kind of TOML value this is, for "found …" in messages.
fn kind(value: &DeValue<'_>) -> &'static str {
    match value {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date-time",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

fn quoted_list<S: AsRef<str>>(names: &[S]) -> String {
    names
        .iter()
        .map(|n| format!("`{}`", n.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The candidate closest to `word` when it is close enough to be a likely typo.
fn closest<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let normalized = word.to_lowercase().replace('-', "_");
    candidates
        .map(|c| (edit_distance(&normalized, c), c))
        .filter(|&(d, c)| d * 2 <= c.chars().count())
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

/// Optimal string alignment distance: insertions, deletions, substitutions and swaps of
/// neighbours each count one.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    d[0] = (0..=b.len()).collect();
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    /// A small valid plan; the cases below change or extend it. Appended text starts at
    /// line 18.
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

    fn errors(source: &str) -> Vec<PlanError> {
        match parse(source, "migration.toml") {
            Ok(plan) => panic!("expected mistakes, got a plan: {plan:#?}\n{source}"),
            Err(errors) => errors,
        }
    }

    fn edited(from: &str, to: &str) -> String {
        assert!(BASE.contains(from), "{from:?} is not in the base plan");
        BASE.replacen(from, to, 1)
    }

    fn appended(extra: &str) -> String {
        format!("{BASE}{extra}")
    }

    #[test]
    fn the_base_plan_is_valid() {
        let plan = parse(BASE, "migration.toml").expect("valid");
        assert_eq!(plan.migration.weeks, 4);
        assert_eq!(plan.planned_end(), date!(2025 - 02 - 03));
        assert_eq!(plan.datasets_total(), 10);
        assert_eq!(plan.phases[0].risk, Risk::Low);
        assert!(plan.phases[0].depends_on.is_empty());
        assert_eq!(plan.thresholds, Thresholds::default());
        assert!(plan.collectors.is_empty());
        assert_eq!(plan.alerts, crate::plan::AlertSettings::default());
        assert_eq!(plan.alerts.rules, crate::plan::Rule::defaults());
        assert!(plan.notify.is_empty());
        assert_eq!(plan.chat.signing_secret, None);
    }

    #[test]
    fn each_rule_reports_its_place_and_reason() {
        // (rule, source, line, column, part of the message)
        let cases: Vec<(&str, String, usize, usize, &str)> = vec![
            (
                "unknown key with a suggestion",
                appended("dependson = [\"tests\"]\n"),
                18,
                1,
                "unknown key `dependson` in [[phases]] (did you mean `depends_on`?)",
            ),
            (
                "unknown key without a close match lists the known keys",
                edited("total = 10", "total = 10\ncolour = 1"),
                8,
                1,
                "unknown key `colour` in [datasets] (known keys: `total`, `list`)",
            ),
            (
                "unknown top-level table",
                appended("\n[thresold]\n"),
                19,
                2,
                "unknown key `thresold` at the top level (did you mean `thresholds`?)",
            ),
            (
                "wrong type",
                edited("weeks = 4", "weeks = \"4\""),
                4,
                9,
                "`weeks` in [migration] must be an integer, found a string",
            ),
            (
                "bad date",
                edited(
                    "start = \"2025-01-06\"\nweeks",
                    "start = \"2025-02-30\"\nweeks",
                ),
                3,
                9,
                "`start` in [migration]: \"2025-02-30\" is not a date of the form YYYY-MM-DD",
            ),
            (
                "a date-time where a date is expected",
                edited("end = \"2025-01-20\"", "end = 2025-01-20T10:00:00Z"),
                17,
                7,
                "`end` in [[phases]] must be a date of the form YYYY-MM-DD",
            ),
            (
                "missing required key",
                edited("name = \"M\"\n", ""),
                1,
                1,
                "missing key `name` in [migration]",
            ),
            (
                "missing required key in a phase points at its header",
                edited("name = \"Tests\"\n", ""),
                13,
                1,
                "missing key `name` in [[phases]]",
            ),
            (
                "missing [datasets]",
                edited("[datasets]\ntotal = 10\n", ""),
                1,
                1,
                "missing table [datasets]",
            ),
            (
                "phases written as one table",
                edited("[[phases]]", "[phases]"),
                13,
                1,
                "`phases` must be an array of tables ([[phases]]), found a table",
            ),
            (
                "weeks = 0",
                edited("weeks = 4", "weeks = 0"),
                4,
                9,
                "`weeks` in [migration] must be at least 1, found 0",
            ),
            (
                "duplicate phase id",
                appended(
                    "\n[[phases]]\nid = \"tests\"\nname = \"Again\"\nstart = \"2025-01-06\"\nend = \"2025-01-07\"\n",
                ),
                20,
                6,
                "duplicate phase id `tests` (first at line 14)",
            ),
            (
                "duplicate component id",
                edited(
                    "[[phases]]",
                    "[[components]]\nid = \"storage\"\nname = \"S\"\n\n[[phases]]",
                ),
                14,
                6,
                "duplicate component id `storage` (first at line 10)",
            ),
            (
                "depends_on names a missing phase",
                appended("depends_on = [\"tset\"]\n"),
                18,
                15,
                "`depends_on` of phase `tests` names `tset`, which is not a phase (did you mean `tests`?)",
            ),
            (
                "depends_on lists a phase twice",
                appended(
                    "\n[[phases]]\nid = \"b\"\nname = \"B\"\nstart = \"2025-01-06\"\nend = \"2025-01-07\"\ndepends_on = [\"tests\", \"tests\"]\n",
                ),
                24,
                24,
                "`depends_on` of phase `b` lists `tests` twice",
            ),
            (
                "a phase depending on itself",
                appended("depends_on = [\"tests\"]\n"),
                18,
                15,
                "phase `tests` depends on itself",
            ),
            (
                "dependency cycle",
                appended(
                    "depends_on = [\"config\"]\n\n[[phases]]\nid = \"config\"\nname = \"Config\"\nstart = \"2025-01-06\"\nend = \"2025-01-07\"\ndepends_on = [\"tests\"]\n",
                ),
                25,
                15,
                "dependency cycle: tests -> config -> tests",
            ),
            (
                "end before start",
                edited("end = \"2025-01-20\"", "end = \"2025-01-01\""),
                17,
                7,
                "phase `tests` ends (2025-01-01) before it starts (2025-01-06)",
            ),
            (
                "milestone outside its phase",
                appended("milestones = [{ name = \"Late\", date = \"2025-02-01\" }]\n"),
                18,
                39,
                "milestone `Late` (2025-02-01) falls outside phase `tests` (2025-01-06 to 2025-01-20)",
            ),
            (
                "unknown key in a milestone",
                appended("milestones = [{ name = \"M1\", day = \"2025-01-08\" }]\n"),
                18,
                30,
                "unknown key `day` in a milestone (did you mean `date`?)",
            ),
            (
                "missing key in a milestone points at the milestone",
                appended("milestones = [{ name = \"M1\", day = \"2025-01-08\" }]\n"),
                18,
                15,
                "missing key `date` in a milestone",
            ),
            (
                "milestone condition with an unknown figure",
                appended(
                    "milestones = [{ name = \"M\", date = \"2025-01-10\", when = \"done >= 3\" }]\n",
                ),
                18,
                58,
                "`when` in a milestone: unknown figure `done`: a condition counts `migrated`, `migrated_percent`, `verified`, `verified_percent`",
            ),
            (
                "milestone condition without a comparison",
                appended(
                    "milestones = [{ name = \"M\", date = \"2025-01-10\", when = \"migrated ~ 3\" }]\n",
                ),
                18,
                67,
                "`when` in a milestone: expected a comparison: >=, >, <=, < or ==",
            ),
            (
                "milestone condition on a percent over 100",
                appended(
                    "milestones = [{ name = \"M\", date = \"2025-01-10\", when = \"migrated_percent >= 120\" }]\n",
                ),
                18,
                78,
                "`when` in a milestone: a percent is at most 100, found 120",
            ),
            (
                "milestone condition on an unknown component",
                appended(
                    "milestones = [{ name = \"M\", date = \"2025-01-10\", when = \"billing.migrated >= 3\" }]\n",
                ),
                18,
                57,
                "`when` in a milestone of phase `tests` names component `billing`, which is not a component of the plan",
            ),
            (
                "components' datasets over the total",
                edited(
                    "name = \"Storage\"\n",
                    "name = \"Storage\"\ndatasets = 11\n",
                ),
                12,
                12,
                "the components' `datasets` add up to 11, more than the 10 of `[datasets] total`",
            ),
            (
                "component datasets beside a list",
                edited(
                    "total = 10\n",
                    "list = [{ name = \"a\", component = \"storage\" }]\n",
                )
                .replace("name = \"Storage\"\n", "name = \"Storage\"\ndatasets = 1\n"),
                12,
                12,
                "`datasets` in [[components]] goes with `[datasets] total`: with a list, each [[datasets.list]] entry names its `component`",
            ),
            (
                "phase names an unknown component",
                appended("components = [\"storag\"]\n"),
                18,
                15,
                "`components` of phase `tests` names `storag`, which is not a component (did you mean `storage`?)",
            ),
            (
                "dataset names an unknown component",
                edited(
                    "total = 10\n",
                    "[[datasets.list]]\nname = \"sales\"\ncomponent = \"billing\"\n",
                ),
                9,
                13,
                "`component` of dataset `sales` names `billing`, which is not a component (known: `storage`)",
            ),
            (
                "duplicate dataset",
                edited(
                    "total = 10\n",
                    "list = [{ name = \"a\" }, { name = \"a\" }]\n",
                ),
                7,
                34,
                "duplicate dataset `a` (first at line 7)",
            ),
            (
                "total and list together",
                edited("total = 10\n", "total = 10\nlist = [{ name = \"a\" }]\n"),
                8,
                1,
                "[datasets] takes either `total` or `list`, not both",
            ),
            (
                "rate out of range",
                appended("\n[thresholds]\nsuccess_rate_warning = 90\n"),
                20,
                24,
                "`success_rate_warning` in [thresholds] must be between 0 and 1 (a fraction: 0.9 means 90 %), found 90",
            ),
            (
                "warning under critical, against a default",
                appended("\n[thresholds]\ntest_pass_warning = 0.5\n"),
                20,
                21,
                "`test_pass_warning` (0.5) must be at least `test_pass_critical` (0.85 by default)",
            ),
            (
                "warning under critical, both given",
                appended(
                    "\n[thresholds]\nsuccess_rate_warning = 0.7\nsuccess_rate_critical = 0.8\n",
                ),
                20,
                24,
                "`success_rate_warning` (0.7) must be at least `success_rate_critical` (0.8)",
            ),
            (
                "negative slip days",
                appended("\n[thresholds]\nslip_days_critical = -1\n"),
                20,
                22,
                "`slip_days_critical` in [thresholds] must be at least 0, found -1",
            ),
            (
                "negative regression percent",
                appended("\n[thresholds]\nregression_percent = -5.0\n"),
                20,
                22,
                "`regression_percent` in [thresholds] must not be negative, found -5",
            ),
            (
                "risk not low, medium or high",
                appended("risk = \"severe\"\n"),
                18,
                8,
                "`risk` in [[phases]] must be `low`, `medium` or `high`, found \"severe\"",
            ),
            (
                "id with spaces",
                edited("id = \"tests\"", "id = \"my tests\""),
                14,
                6,
                "`id` in [[phases]] must be made of letters, digits, `_`, `-` and `.`",
            ),
            (
                "empty name",
                edited("name = \"M\"", "name = \" \""),
                2,
                8,
                "`name` in [migration] must not be empty",
            ),
            (
                "syntax error",
                edited("weeks = 4", "weeks = = 4"),
                4,
                9,
                "invalid TOML: extra `=`",
            ),
            (
                "key defined twice",
                edited("weeks = 4", "weeks = 4\nweeks = 5"),
                5,
                1,
                "invalid TOML: `weeks` is defined twice",
            ),
        ];
        for (rule, source, line, column, message) in cases {
            let found = errors(&source);
            let hit = found.iter().find(|e| e.message.contains(message));
            let Some(hit) = hit else {
                panic!("{rule}: no error containing {message:?}; got {found:#?}\n{source}");
            };
            assert_eq!(
                (hit.line, hit.column),
                (line, column),
                "{rule}: wrong place for {:?}\n{source}",
                hit.message
            );
            assert_eq!(hit.file, "migration.toml", "{rule}");
        }
    }

    #[test]
    fn every_mistake_is_reported_sorted_by_line() {
        let source = r#"[migration]
name = "M"
start = "2025-13-01"
weeks = 0
colour = "blue"

[datasets]
total = -3

[[phases]]
id = "tests"
nam = "Tests"
start = "2025-01-06"
end = "2025-01-01"
depends_on = ["nope"]
risk = "extreme"

[thresholds]
test_pass_critical = 2
"#;
        let found = errors(source);
        let places: Vec<(usize, usize)> = found.iter().map(|e| (e.line, e.column)).collect();
        assert_eq!(
            places,
            [
                (3, 9),
                (4, 9),
                (5, 1),
                (8, 9),
                (10, 1),
                (12, 1),
                (14, 7),
                (15, 15),
                (16, 8),
                (19, 22)
            ],
            "{found:#?}"
        );
        let text: Vec<String> = found.iter().map(ToString::to_string).collect();
        assert_eq!(
            text[5],
            "migration.toml:12:1: unknown key `nam` in [[phases]] (did you mean `name`?)"
        );
        assert_eq!(
            text[1],
            "migration.toml:4:9: `weeks` in [migration] must be at least 1, found 0"
        );
        assert!(
            text[4].contains("missing key `name` in [[phases]]"),
            "{}",
            text[4]
        );
    }

    #[test]
    fn several_syntax_errors_are_all_reported() {
        let found = errors("[migration]\nname = \"x\nweeks = = 3\n[migration]\n");
        assert!(found.len() >= 3, "{found:#?}");
        assert!(
            found
                .windows(2)
                .all(|w| (w[0].line, w[0].column) <= (w[1].line, w[1].column))
        );
        assert!(
            found
                .iter()
                .all(|e| e.message.starts_with("invalid TOML: "))
        );
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        let source = appended("milestones = [{ name = \"Ünï\", dat = \"2025-01-07\" }]\n");
        let found = errors(&source);
        let unknown = found
            .iter()
            .find(|e| e.message.contains("`dat`"))
            .expect("unknown key");
        assert_eq!((unknown.line, unknown.column), (18, 31));
        let source = edited("id = \"tests\"", "id = \"tésts\"\n# ünïcode\nrisk = 1");
        let found = errors(&source);
        let risk = found
            .iter()
            .find(|e| e.message.contains("`risk`"))
            .expect("risk error");
        assert_eq!((risk.line, risk.column), (16, 8));
    }

    #[test]
    fn bare_dates_lists_and_later_sections_are_accepted() {
        let source = r#"[migration]
name = "M"
start = 2025-01-06
weeks = 2

[datasets]
[[datasets.list]]
name = "sales"
component = "anything"
[[datasets.list]]
name = "stock"

[[phases]]
id = "late"
name = "Outside the migration's span, which is allowed"
start = 2025-06-01
end = 2025-07-01
risk = "high"
[[phases.milestones]]
name = "Half way"
date = 2025-06-15

[[collectors.prometheus]]
name = "prod"
url = "http://127.0.0.1:9090"
queries = { lag = "max(replication_lag_seconds)" }

[alerts]
interval = "15s"
[[alerts.rules]]
name = "r"
kind = "threshold"
metric = "lag"
op = ">="
threshold = 30

[[notify]]
name = "ops"
kind = "webhook"
url = "http://127.0.0.1:9999/hook"

[chat]
signing_secret_env = "MHD_CHAT_SECRET"
"#;
        let plan = parse(source, "m.toml").unwrap_or_else(|e| panic!("{e:#?}"));
        assert_eq!(plan.migration.start, date!(2025 - 01 - 06));
        assert_eq!(plan.datasets_total(), 2);
        let Datasets::List(list) = &plan.datasets else {
            panic!("a list")
        };
        assert_eq!(list[0].component.as_deref(), Some("anything"));
        assert_eq!(list[1].component, None);
        assert_eq!(plan.phases[0].risk, Risk::High);
        assert_eq!(plan.phases[0].milestones[0].date, date!(2025 - 06 - 15));
        let prometheus = &plan.collectors.prometheus;
        assert_eq!(prometheus.len(), 1);
        assert_eq!(prometheus[0].name, "prod");
        assert_eq!(prometheus[0].queries[0].name, "lag");
        assert_eq!(plan.alerts.interval, Duration::seconds(15));
        assert_eq!(
            plan.alerts.rules.len(),
            1,
            "the plan's rules replace the defaults"
        );
        assert_eq!(
            plan.alerts.rules[0].kind,
            crate::plan::RuleKind::Threshold {
                metric: "lag".to_owned(),
                op: crate::plan::Comparison::AtLeast,
                threshold: 30.0,
            }
        );
        assert_eq!(plan.notify.len(), 1);
        assert_eq!(plan.notify[0].kind.name(), "webhook");
        assert_eq!(
            plan.chat.signing_secret,
            Some(crate::plan::Secret::Env("MHD_CHAT_SECRET".to_owned()))
        );
    }

    #[test]
    fn thresholds_are_read_and_default_when_absent() {
        let plan = parse(
            &appended("\n[thresholds]\nsuccess_rate_warning = 1\nslip_days_critical = 0\nregression_percent = 2.5\nmax_future = \"36h\"\n"),
            "m.toml",
        )
        .unwrap_or_else(|e| panic!("{e:#?}"));
        let expected = Thresholds {
            success_rate_warning: 1.0,
            slip_days_critical: 0,
            regression_percent: 2.5,
            max_future: Duration::hours(36),
            ..Thresholds::default()
        };
        assert_eq!(plan.thresholds, expected);
        assert_eq!(
            parse(&appended(""), "m.toml")
                .unwrap()
                .thresholds
                .max_future,
            Duration::days(1)
        );
        for bad in ["\"0s\"", "\"soon\"", "3"] {
            let errors = parse(
                &appended(&format!("\n[thresholds]\nmax_future = {bad}\n")),
                "m.toml",
            )
            .unwrap_err();
            assert!(
                errors[0].message.contains("`max_future` in [thresholds]"),
                "{bad}: {errors:?}"
            );
        }
    }

    #[test]
    fn a_longer_cycle_is_named_once_in_dependency_order() {
        let phase = |id: &str, dep: &str| {
            format!(
                "\n[[phases]]\nid = \"{id}\"\nname = \"{id}\"\nstart = \"2025-01-06\"\n\
                 end = \"2025-01-07\"\ndepends_on = [\"{dep}\", \"{dep}\"]\n"
            )
        };
        let source = appended(&[phase("a", "b"), phase("b", "c"), phase("c", "a")].concat());
        let found = errors(&source);
        let cycles: Vec<&PlanError> = found
            .iter()
            .filter(|e| e.message.starts_with("dependency cycle"))
            .collect();
        assert_eq!(cycles.len(), 1, "{found:#?}");
        assert_eq!(cycles[0].message, "dependency cycle: a -> b -> c -> a");
        assert_eq!(cycles[0].line, 38);
        assert_eq!(
            found.iter().filter(|e| e.message.contains("twice")).count(),
            3
        );
    }

    #[test]
    fn suggestions_are_only_made_for_likely_typos() {
        assert_eq!(
            closest("dependson", PHASE_KEYS.iter().copied()),
            Some("depends_on")
        );
        assert_eq!(
            closest("depends-on", PHASE_KEYS.iter().copied()),
            Some("depends_on")
        );
        assert_eq!(closest("nmae", PHASE_KEYS.iter().copied()), Some("name"));
        assert_eq!(closest("x", PHASE_KEYS.iter().copied()), None);
        assert_eq!(closest("deadline", PHASE_KEYS.iter().copied()), None);
        assert_eq!(edit_distance("abc", "acb"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
    }

    /// The base plan with `line` added to the `storage` component, as its line 12.
    fn with_rollback(line: &str) -> String {
        edited(
            "name = \"Storage\"\n",
            &format!("name = \"Storage\"\n{line}\n"),
        )
    }

    #[test]
    fn rollback_commands_and_webhooks_are_read_with_their_defaults() {
        use crate::plan::{RollbackAction, RollbackVia, Secret};
        let source = with_rollback(
            "rollback = { command = [\"/usr/local/bin/rollback\", \"storage\", \"--now\", \"\"] }\n\
             \n[[components]]\nid = \"config\"\nname = \"Config\"\n\
             rollback = { webhook = \"https://deploy.example/hooks/rollback\", token_file = \"/run/secrets/deploy\" }\n\
             \n[[components]]\nid = \"features\"\nname = \"Features\"\n\
             [components.rollback]\ncommand = [\"rollback-features\"]\ntimeout = \"1h\"\n\
             \n[[components]]\nid = \"plain\"\nname = \"No rollback\"",
        );
        let plan = parse(&source, "m.toml").unwrap_or_else(|e| panic!("{e:#?}\n{source}"));
        assert_eq!(
            plan.component("storage").and_then(|c| c.rollback.clone()),
            Some(RollbackAction {
                via: RollbackVia::Command {
                    program: "/usr/local/bin/rollback".to_owned(),
                    args: vec!["storage".to_owned(), "--now".to_owned(), String::new()],
                },
                timeout: Duration::minutes(5),
            })
        );
        assert_eq!(
            plan.component("config").and_then(|c| c.rollback.clone()),
            Some(RollbackAction {
                via: RollbackVia::Webhook {
                    url: "https://deploy.example/hooks/rollback".to_owned(),
                    token: Some(Secret::File("/run/secrets/deploy".to_owned())),
                },
                timeout: Duration::seconds(30),
            })
        );
        let features = plan.component("features").and_then(|c| c.rollback.clone());
        assert_eq!(
            features.as_ref().map(|r| r.timeout),
            Some(Duration::hours(1))
        );
        assert_eq!(features.map(|r| r.via.name()), Some("command"));
        assert_eq!(
            plan.component("plain").map(|c| c.rollback.is_none()),
            Some(true)
        );

        let json = serde_json::to_value(&plan.components).expect("serializes");
        assert_eq!(
            json[0]["rollback"],
            serde_json::json!({
                "command": {
                    "program": "/usr/local/bin/rollback",
                    "args": ["storage", "--now", ""]
                },
                "timeout": "5m"
            })
        );
        assert_eq!(
            json[1]["rollback"]["webhook"]["token"],
            serde_json::json!({ "file": "/run/secrets/deploy" })
        );
        assert_eq!(json[1]["rollback"]["timeout"], "30s");
        assert!(json[3].get("rollback").is_none(), "{json}");
    }

    #[test]
    fn rollback_mistakes_are_reported_at_their_place() {
        let place = "in `rollback` of component `storage`";
        // (the rollback line, the text its error points at, part of the message)
        let cases: Vec<(&str, &str, String)> = vec![
            (
                "rollback = { timeout = \"5m\" }",
                "{",
                format!("missing key `command` or `webhook` {place}"),
            ),
            (
                "rollback = { command = [\"/bin/rb\"], webhook = \"https://h/x\" }",
                "webhook",
                format!("give either `command` or `webhook` {place}, not both"),
            ),
            (
                "rollback = { command = [] }",
                "[",
                format!("`command` {place} must name a program"),
            ),
            (
                "rollback = { command = \"/bin/rb storage\" }",
                "\"/bin",
                format!("`command` {place} must be an array, found a string"),
            ),
            (
                "rollback = { command = [\"/bin/rb\", 3] }",
                "3",
                format!("`command` {place} must list strings, found an integer"),
            ),
            (
                "rollback = { command = [\"./rollback.sh\"] }",
                "\"./",
                format!(
                    "the program of `command` {place} must be an absolute path (such as \
                     /usr/local/bin/rollback) or a bare name found in PATH, found \"./rollback.sh\""
                ),
            ),
            (
                "rollback = { command = [\"bin/rollback\"] }",
                "\"bin",
                "must be an absolute path".to_owned(),
            ),
            (
                "rollback = { command = [\"/bin/rb\", \"--reason={reason}\"] }",
                "\"--",
                format!(
                    "`command` {place} is run exactly as written and `{{reason}}` would not be \
                     filled in: the program reads MHD_ROLLBACK_COMPONENT"
                ),
            ),
            (
                "rollback = { command = [\"/bin/rb\", \"{}\"] }",
                "\"{}",
                "`{}` would not be filled in".to_owned(),
            ),
            (
                "rollback = { command = [\"/bin/rb\", \"${USER}\"] }",
                "\"$",
                "`{USER}` would not be filled in".to_owned(),
            ),
            (
                "rollback = { command = [\"/bin/rb\"], timout = \"1m\" }",
                "timout",
                format!("unknown key `timout` {place} (did you mean `timeout`?)"),
            ),
            (
                "rollback = { command = [\"/bin/rb\"], timeout = \"2h\" }",
                "\"2h",
                format!("`timeout` {place} must be at most 1h, found 2h"),
            ),
            (
                "rollback = { command = [\"/bin/rb\"], timeout = \"0s\" }",
                "\"0s",
                format!("`timeout` {place} must be longer than 0"),
            ),
            (
                "rollback = { command = [\"/bin/rb\"], timeout = 30 }",
                "30",
                format!("`timeout` {place} must be a duration such as \"15s\" or \"5m\""),
            ),
            (
                "rollback = { command = [\"/bin/rb\"], token_file = \"/run/t\" }",
                "token_file",
                format!("`token_file` {place} goes with `webhook` only"),
            ),
            (
                "rollback = { webhook = \"ftp://h/x\" }",
                "\"ftp",
                format!("`webhook` {place} must be an http:// or https:// address"),
            ),
            (
                "rollback = { webhook = \"https://h/x\", token_file = \"/a\", token_env = \"B\" }",
                "token_env",
                format!("give either `token_file` or `token_env` {place}, not both"),
            ),
            (
                "rollback = \"/bin/rb\"",
                "\"/bin",
                "`rollback` in [[components]] must be a table".to_owned(),
            ),
        ];
        for (line, at, message) in cases {
            let source = with_rollback(line);
            let found = errors(&source);
            let Some(hit) = found.iter().find(|e| e.message.contains(&message)) else {
                panic!("{line}: no error containing {message:?}; got {found:#?}");
            };
            let column = line.find(at).expect("the place is in the line") + 1;
            assert_eq!(
                (hit.line, hit.column),
                (12, column),
                "{line}: {}",
                hit.message
            );
        }
    }

    #[test]
    fn a_rollback_token_written_inline_is_refused_without_repeating_it() {
        let source =
            with_rollback("rollback = { webhook = \"https://h/x\", token = \"s3cr3t-value\" }");
        let found = errors(&source);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!((found[0].line, found[0].column), (12, 39));
        assert!(
            found[0].message.starts_with(
                "`token` in `rollback` of component `storage` is a secret and is never written \
                 in the plan"
            ),
            "{}",
            found[0].message
        );
        assert!(!found[0].to_string().contains("s3cr3t"));
    }
}
