//! Issues and alerts (DESIGN §3.5): the active alerts, firing first, worst first, then newest,
//! with their severity (a word
//! and a shape beside the colour), component, age, impact, runbook link and acknowledgement, a
//! form to acknowledge each one that is not yet, the silences with forms to add and remove
//! them, and the resolved history. Also the overview's count of firing alerts by severity.
//!
//! The forms post to the page's own routes and work without JavaScript (the server answers
//! with a redirect back to the page); the page script sends the same requests through `fetch`
//! and redraws the panel.

use askama::Template;
use mhd_core::alerts::{Alert, AlertState, Resolution, Severity, Silence};
use time::{OffsetDateTime, UtcOffset};

use super::page::{Empty, LiveChrome, PageKind, frame};
use super::viewer::{Page, Viewer};
use super::{Badge, MAX_MESSAGE_CHARS, MAX_NAME_CHARS, Stamp, ViewError, clip};
use crate::paths;

/// What the alerts page says when rendered without its alerts.
pub(crate) const NO_ALERTS: Empty = Empty {
    heading: "The alerts are not part of this page",
    text: "The alerts are read from the alert store: open the alerts page, or list them on the terminal:",
    commands: "mhd alerts",
};

/// Datasets named per alert; the rest are counted.
const MAX_DATASETS_SHOWN: usize = 10;

/// Everything the alerts page shows.
#[derive(Debug, Clone)]
pub struct AlertsView {
    /// The time of the page.
    pub now: OffsetDateTime,
    /// Pending and firing alerts, firing first, worst first, then newest.
    pub active: Vec<Alert>,
    /// Resolved alerts, newest first.
    pub resolved: Vec<Alert>,
    /// Silences in force now or later.
    pub silences: Vec<Silence>,
    /// The plan's rule names, for the silence form.
    pub rules: Vec<String>,
    /// The plan's components as (id, name), for the silence form.
    pub components: Vec<(String, String)>,
    /// The outcome of the form just sent, when the page answers one.
    pub notice: Option<Notice>,
    /// Whether the plan has a Jira channel and notifications run, so an issue can be made
    /// from an alert on a click.
    pub jira: bool,
    /// The Jira issues made from the active alerts: (alert id, issue key, link to the issue).
    pub jira_issues: Vec<(i64, String, Option<String>)>,
}

/// The outcome of a form, shown at the top of the panel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// Whether it failed.
    pub error: bool,
    /// What happened.
    pub text: String,
}

/// A severity as a badge: a shape and a word beside the colour.
pub(crate) fn severity_badge(s: Severity) -> Badge {
    match s {
        Severity::Info => Badge::new("●", "info", "mut"),
        Severity::Warning => Badge::new("▲", "warning", "warn"),
        Severity::Error => Badge::new("■", "error", "bad"),
        Severity::Critical => Badge::new("◆", "critical", "bad"),
    }
}

/// A link's target when it is an http or https address; anything else is shown as text.
pub(crate) fn safe_link(url: &str) -> Option<&str> {
    let lower = url.trim_start().to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://")).then_some(url.trim())
}

struct AlertRow {
    id: i64,
    severity: Badge,
    pending: bool,
    title: String,
    message: String,
    component: Option<String>,
    since: Stamp,
    datasets: Option<String>,
    components: Option<String>,
    downtime: Option<String>,
    runbook_link: Option<String>,
    runbook_text: Option<String>,
    ack: Option<AckView>,
    quiet: Option<String>,
    ack_action: String,
    /// The alert's Jira issue: its key and a link to it.
    jira_issue: Option<(String, Option<String>)>,
    /// Where the "create a Jira issue" form posts, when one can be made.
    jira_action: Option<String>,
}

struct AckView {
    by: String,
    at: Stamp,
    comment: Option<String>,
}

struct ResolvedRow {
    id: i64,
    severity: Badge,
    title: String,
    component: Option<String>,
    fired: Option<Stamp>,
    resolved: Option<Stamp>,
    how: &'static str,
    lasted: String,
    ack: Option<String>,
}

struct SilenceRow {
    id: i64,
    scope: String,
    until: Stamp,
    by: String,
    comment: Option<String>,
    remove_action: String,
    starts: Option<Stamp>,
}

/// The alerts panel of the alerts page.
#[derive(Template)]
#[template(path = "alerts.html", whitespace = "minimize")]
pub(crate) struct AlertsSection {
    /// Who looks: the forms are shown to those who may use them, with the session's token.
    viewer: Viewer,
    notice: Option<Notice>,
    active: Vec<AlertRow>,
    resolved: Vec<ResolvedRow>,
    silences: Vec<SilenceRow>,
    rules: Vec<String>,
    components: Vec<(String, String)>,
    silence_action: &'static str,
    api_alerts: &'static str,
}

/// A span in words: `45s`, `12m`, `3h 05m`, `2d 4h`.
fn span(d: time::Duration) -> String {
    let s = d.whole_seconds().max(0);
    if s < 60 {
        format!("{s}s")
    } else if s < 3600 {
        format!("{}m", s / 60)
    } else if s < 86_400 {
        format!("{}h {:02}m", s / 3600, s % 3600 / 60)
    } else {
        format!("{}d {}h", s / 86_400, s % 86_400 / 3600)
    }
}

fn names(list: &[String]) -> Option<String> {
    if list.is_empty() {
        return None;
    }
    let shown: Vec<String> = list
        .iter()
        .take(MAX_DATASETS_SHOWN)
        .map(|n| clip(n, MAX_NAME_CHARS))
        .collect();
    let mut text = shown.join(", ");
    if list.len() > MAX_DATASETS_SHOWN {
        text.push_str(&format!(" and {} more", list.len() - MAX_DATASETS_SHOWN));
    }
    Some(text)
}

impl AlertRow {
    fn new(a: &Alert, view: &AlertsView, offset: UtcOffset) -> AlertRow {
        let now = view.now;
        let runbook = a.runbook.as_deref().filter(|r| !r.trim().is_empty());
        let runbook_link = runbook.and_then(safe_link).map(str::to_owned);
        let quiet = if let Some(why) = &a.suppressed_by {
            Some(format!(
                "Nobody is notified: {}",
                clip(why, MAX_MESSAGE_CHARS)
            ))
        } else if mhd_core::alerts::silenced(a, &view.silences, now) {
            Some("Nobody is notified: a silence is in force.".to_owned())
        } else {
            None
        };
        AlertRow {
            id: a.id,
            severity: severity_badge(a.severity),
            pending: a.state == AlertState::Pending,
            title: clip(&a.title, MAX_MESSAGE_CHARS),
            message: clip(&a.message, MAX_MESSAGE_CHARS),
            component: a.component.as_deref().map(|c| clip(c, MAX_NAME_CHARS)),
            since: Stamp::new(a.fired_at.unwrap_or(a.started_at), now, offset),
            datasets: names(&a.impact.affected_datasets),
            components: names(&a.impact.components),
            downtime: a
                .impact
                .estimated_downtime_minutes
                .filter(|m| m.is_finite() && *m > 0.0)
                .map(|m| span(time::Duration::seconds_f64(m * 60.0))),
            runbook_text: match runbook_link {
                Some(_) => None,
                None => runbook.map(|r| clip(r, MAX_MESSAGE_CHARS)),
            },
            runbook_link,
            ack: a.acknowledged.as_ref().map(|k| AckView {
                by: clip(&k.by, MAX_NAME_CHARS),
                at: Stamp::new(k.at, now, offset),
                comment: k.comment.as_deref().map(|c| clip(c, MAX_MESSAGE_CHARS)),
            }),
            quiet,
            ack_action: paths::PAGE_ALERT_ACK.replace("{alert_id}", &a.id.to_string()),
            jira_issue: view.jira_issues.iter().find(|(id, _, _)| *id == a.id).map(
                |(_, key, link)| {
                    (
                        clip(key, MAX_NAME_CHARS),
                        link.as_deref().and_then(safe_link).map(str::to_owned),
                    )
                },
            ),
            jira_action: view
                .jira
                .then(|| paths::PAGE_ALERT_JIRA.replace("{alert_id}", &a.id.to_string())),
        }
    }
}

impl ResolvedRow {
    fn new(a: &Alert, now: OffsetDateTime, offset: UtcOffset) -> ResolvedRow {
        ResolvedRow {
            id: a.id,
            severity: severity_badge(a.severity),
            title: clip(&a.title, MAX_MESSAGE_CHARS),
            component: a.component.as_deref().map(|c| clip(c, MAX_NAME_CHARS)),
            fired: a.fired_at.map(|t| Stamp::new(t, now, offset)),
            resolved: a.resolved_at.map(|t| Stamp::new(t, now, offset)),
            how: match a.resolution {
                Some(Resolution::Manual) => "by hand",
                Some(Resolution::Automatic) => "cleared",
                Some(Resolution::Rollback) => "by a rollback",
                None => "",
            },
            lasted: match (a.fired_at, a.resolved_at) {
                (Some(f), Some(r)) => span(r - f),
                _ => super::DASH.to_owned(),
            },
            ack: a.acknowledged.as_ref().map(|k| clip(&k.by, MAX_NAME_CHARS)),
        }
    }
}

impl SilenceRow {
    fn new(s: &Silence, now: OffsetDateTime, offset: UtcOffset) -> SilenceRow {
        let scope = match (&s.rule, &s.component) {
            (Some(r), Some(c)) => format!(
                "rule {} on component {}",
                clip(r, MAX_NAME_CHARS),
                clip(c, MAX_NAME_CHARS)
            ),
            (Some(r), None) => format!("rule {}", clip(r, MAX_NAME_CHARS)),
            (None, Some(c)) => format!("component {}", clip(c, MAX_NAME_CHARS)),
            (None, None) => "every alert".to_owned(),
        };
        SilenceRow {
            id: s.id,
            scope,
            until: Stamp::new(s.until, now, offset),
            by: clip(&s.by, MAX_NAME_CHARS),
            comment: s.comment.as_deref().map(|c| clip(c, MAX_MESSAGE_CHARS)),
            remove_action: paths::PAGE_ALERT_UNSILENCE.replace("{id}", &s.id.to_string()),
            starts: (s.starts_at > now).then(|| Stamp::new(s.starts_at, now, offset)),
        }
    }
}

impl AlertsSection {
    pub(crate) fn new(view: &AlertsView, offset: UtcOffset, viewer: &Viewer) -> AlertsSection {
        AlertsSection {
            viewer: viewer.clone(),
            notice: view.notice.clone().map(|n| Notice {
                error: n.error,
                text: clip(&n.text, MAX_MESSAGE_CHARS),
            }),
            active: view
                .active
                .iter()
                .map(|a| AlertRow::new(a, view, offset))
                .collect(),
            resolved: view
                .resolved
                .iter()
                .map(|a| ResolvedRow::new(a, view.now, offset))
                .collect(),
            silences: view
                .silences
                .iter()
                .map(|s| SilenceRow::new(s, view.now, offset))
                .collect(),
            rules: view.rules.iter().map(|r| clip(r, MAX_NAME_CHARS)).collect(),
            components: view
                .components
                .iter()
                .map(|(id, name)| (clip(id, MAX_NAME_CHARS), clip(name, MAX_NAME_CHARS)))
                .collect(),
            silence_action: paths::PAGE_ALERT_SILENCES,
            api_alerts: paths::API_ALERTS,
        }
    }
}

/// Renders the alerts page: the alerts panel in the live layout. `migration` is the plan's
/// (name, week, weeks), when there is a plan; its forms are shown to `viewer` when they may
/// use them.
pub fn render_alerts_page(
    view: &AlertsView,
    migration: Option<(&str, i64, u32)>,
    offset: UtcOffset,
    script_src: &str,
    bar: Option<&super::range::RangeBar>,
    viewer: &Viewer,
) -> Result<String, ViewError> {
    let section = AlertsSection::new(view, offset, viewer).render()?;
    frame(
        PageKind::Alerts,
        migration,
        view.now,
        offset,
        LiveChrome::new(PageKind::Alerts, script_src, viewer).with_range(bar),
        Some(section),
        None,
    )
    .map(Page::into_html)
}

/// Firing alerts by severity, and the worst of them, for the overview.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FiringCounts {
    /// Critical ones.
    pub critical: u64,
    /// Error ones.
    pub error: u64,
    /// Warning ones.
    pub warning: u64,
    /// Info ones.
    pub info: u64,
    /// The first [`FIRING_LISTED`] firing alerts: worst first, then newest.
    pub top: Vec<FiringAlert>,
}

/// Firing alerts the overview names; the rest are counted.
pub const FIRING_LISTED: usize = 5;

/// One firing alert as the overview names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FiringAlert {
    /// Its id, for the link to it on the alerts page.
    pub id: i64,
    /// How bad it is.
    pub severity: Severity,
    /// What fires.
    pub title: String,
    /// Since when.
    pub since: OffsetDateTime,
}

/// Worst first: the order of [`Severity`] from critical to info.
fn severity_rank(s: Severity) -> u8 {
    match s {
        Severity::Critical => 0,
        Severity::Error => 1,
        Severity::Warning => 2,
        Severity::Info => 3,
    }
}

impl FiringCounts {
    /// The counts of the firing alerts among `alerts`, and the worst of them.
    pub fn of(alerts: &[Alert]) -> FiringCounts {
        let mut c = FiringCounts::default();
        let mut firing: Vec<&Alert> = alerts
            .iter()
            .filter(|a| a.state == AlertState::Firing)
            .collect();
        for a in &firing {
            match a.severity {
                Severity::Critical => c.critical += 1,
                Severity::Error => c.error += 1,
                Severity::Warning => c.warning += 1,
                Severity::Info => c.info += 1,
            }
        }
        firing.sort_by(|a, b| {
            severity_rank(a.severity)
                .cmp(&severity_rank(b.severity))
                .then_with(|| b.started_at.cmp(&a.started_at))
                .then_with(|| b.id.cmp(&a.id))
        });
        c.top = firing
            .into_iter()
            .take(FIRING_LISTED)
            .map(|a| FiringAlert {
                id: a.id,
                severity: a.severity,
                title: clip(&a.title, MAX_MESSAGE_CHARS),
                since: a.fired_at.unwrap_or(a.started_at),
            })
            .collect();
        c
    }

    /// How many fire in all.
    pub fn total(&self) -> u64 {
        self.critical + self.error + self.warning + self.info
    }
}

struct CountItem {
    key: &'static str,
    badge: Badge,
    count: u64,
}

struct FiringItem {
    badge: Badge,
    title: String,
    href: String,
    since: Stamp,
}

/// The overview's alerts panel: how many fire, by severity, the worst of them, and a link to
/// the page. The page's script replaces it (`data-alerts-panel`) when an alert changes.
#[derive(Template)]
#[template(path = "alerts_overview.html", whitespace = "minimize")]
pub(crate) struct AlertsOverview {
    items: Vec<CountItem>,
    firing: Vec<FiringItem>,
    more: u64,
    href: &'static str,
}

impl AlertsOverview {
    pub(crate) fn new(c: &FiringCounts, now: OffsetDateTime, offset: UtcOffset) -> AlertsOverview {
        AlertsOverview {
            items: vec![
                CountItem {
                    key: "alerts_critical",
                    badge: severity_badge(Severity::Critical),
                    count: c.critical,
                },
                CountItem {
                    key: "alerts_error",
                    badge: severity_badge(Severity::Error),
                    count: c.error,
                },
                CountItem {
                    key: "alerts_warning",
                    badge: severity_badge(Severity::Warning),
                    count: c.warning,
                },
                CountItem {
                    key: "alerts_info",
                    badge: severity_badge(Severity::Info),
                    count: c.info,
                },
            ],
            firing: c
                .top
                .iter()
                .map(|a| FiringItem {
                    badge: severity_badge(a.severity),
                    title: a.title.clone(),
                    href: format!("{}#alert-{}", paths::PAGE_ALERTS, a.id),
                    since: Stamp::new(a.since, now, offset),
                })
                .collect(),
            more: c.total().saturating_sub(c.top.len() as u64),
            href: paths::PAGE_ALERTS,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mhd_core::alerts::{Acknowledgement, Impact};
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2025-03-01 12:00 UTC);

    fn alert(id: i64, severity: Severity, state: AlertState) -> Alert {
        Alert {
            id,
            key: format!("r/{id}"),
            rule: "high_error_rate".into(),
            kind: "threshold".into(),
            severity,
            state,
            title: "Error rate above 5 % on <b>storage</b>".into(),
            message: "error_rate 0.12 > 0.05".into(),
            component: Some("<img src=x onerror=alert(1)>".into()),
            value: Some(0.12),
            started_at: NOW - time::Duration::minutes(30),
            fired_at: (state != AlertState::Pending).then(|| NOW - time::Duration::minutes(20)),
            last_seen: NOW,
            clear_since: None,
            resolved_at: (state == AlertState::Resolved).then_some(NOW),
            resolution: (state == AlertState::Resolved).then_some(Resolution::Automatic),
            acknowledged: None,
            impact: Impact {
                affected_datasets: (0..12).map(|i| format!("ds{i}")).collect(),
                components: vec!["storage".into()],
                estimated_downtime_minutes: Some(125.0),
            },
            runbook: Some("javascript:alert(1)".into()),
            suppressed_by: None,
            notified: true,
        }
    }

    fn view() -> AlertsView {
        let mut acked = alert(2, Severity::Warning, AlertState::Firing);
        acked.runbook = Some("https://wiki.example/rb?a=1&b=2".into());
        acked.acknowledged = Some(Acknowledgement {
            alert_id: 2,
            by: "ana".into(),
            at: NOW - time::Duration::minutes(5),
            comment: Some("on it <script>".into()),
        });
        AlertsView {
            now: NOW,
            active: vec![alert(1, Severity::Critical, AlertState::Firing), acked],
            resolved: vec![alert(3, Severity::Error, AlertState::Resolved)],
            silences: vec![Silence {
                id: 9,
                rule: Some("slow_response".into()),
                component: None,
                starts_at: NOW - time::Duration::hours(1),
                until: NOW + time::Duration::hours(1),
                by: "bob".into(),
                comment: None,
            }],
            rules: vec!["high_error_rate".into(), "slow_response".into()],
            components: vec![("storage".into(), "Storage".into())],
            notice: None,
            jira: true,
            jira_issues: vec![(2, "OPS-<7>".into(), Some("javascript:alert(1)".into()))],
        }
    }

    #[test]
    fn jira_issues_are_shown_by_key_and_the_button_only_where_there_is_none() {
        let html = AlertsSection::new(&view(), UtcOffset::UTC, &Viewer::local())
            .render()
            .unwrap();
        assert!(html.contains("Create a Jira issue for #1"), "{html}");
        assert!(!html.contains("Create a Jira issue for #2"), "{html}");
        assert!(html.contains("Jira issue OPS-&#60;7&#62;"), "{html}");
        assert!(
            !html.contains(r#"href="javascript:"#),
            "only http(s) links: {html}"
        );
    }

    #[test]
    fn the_panel_shows_each_alert_with_words_beside_colours_and_escapes_what_it_is_given() {
        let html = AlertsSection::new(&view(), UtcOffset::UTC, &Viewer::local())
            .render()
            .unwrap();
        assert!(html.contains("◆</span> critical"), "{html}");
        assert!(html.contains("▲</span> warning"));
        assert!(
            html.contains("&#60;img src=x onerror=alert(1)&#62;"),
            "{html}"
        );
        assert!(!html.contains("<img src=x"));
        assert!(!html.contains("<script>"));
        assert!(html.contains("Error rate above 5 % on &#60;b&#62;storage&#60;/b&#62;"));
        // Only http(s) runbooks are links; the others are text.
        assert!(html.contains(r#"href="https://wiki.example/rb?a=1&#38;b=2""#));
        assert!(!html.contains(r#"href="javascript:"#));
        assert!(html.contains("javascript:alert(1)"));
        // Impact: ten datasets named, the rest counted; the downtime in words.
        assert!(html.contains("ds9 and 2 more"), "{html}");
        assert!(html.contains("2h 05m"));
        // One form for the unacknowledged alert, none for the acknowledged one.
        assert_eq!(html.matches(r#"action="/alerts/acknowledge/1""#).count(), 1);
        assert!(!html.contains(r#"action="/alerts/acknowledge/2""#));
        assert!(html.contains("Acknowledged by ana"));
        assert!(html.contains("on it &#60;script&#62;"));
        // The silence and its removal form; the resolved history.
        assert!(html.contains("rule slow_response"));
        assert!(html.contains(r#"action="/alerts/silences/9/remove""#));
        assert!(html.contains(r#"<option value="slow_response">"#));
        assert!(html.contains("cleared"));
    }

    #[test]
    fn the_overview_counts_firing_alerts_by_severity() {
        let v = view();
        let mut all = v.active.clone();
        all.push(alert(5, Severity::Critical, AlertState::Pending));
        let c = FiringCounts::of(&all);
        assert_eq!((c.critical, c.error, c.warning, c.info), (1, 0, 1, 0));
        // The worst first, the pending one not among them.
        let named: Vec<(i64, Severity)> = c.top.iter().map(|a| (a.id, a.severity)).collect();
        assert_eq!(named.len(), 2, "{named:?}");
        assert_eq!(named[0].1, Severity::Critical, "{named:?}");
        assert!(!named.iter().any(|(id, _)| *id == 5), "{named:?}");
        let html = AlertsOverview::new(&c, NOW, time::UtcOffset::UTC)
            .render()
            .unwrap();
        assert!(html.contains(r#"data-live="alerts_critical">1<"#), "{html}");
        assert!(html.contains(r#"href="/alerts""#));
        assert!(
            html.contains(&format!(r#"href="/alerts#alert-{}""#, named[0].0)),
            "{html}"
        );
        // A title is text, never markup.
        assert!(!html.contains("<b>storage</b>"), "{html}");
    }

    #[test]
    fn spans_and_links() {
        assert_eq!(span(time::Duration::seconds(45)), "45s");
        assert_eq!(span(time::Duration::minutes(12)), "12m");
        assert_eq!(span(time::Duration::minutes(185)), "3h 05m");
        assert_eq!(span(time::Duration::hours(52)), "2d 4h");
        assert_eq!(
            safe_link(" HTTPS://x.example/a "),
            Some("HTTPS://x.example/a")
        );
        assert_eq!(safe_link("javascript:alert(1)"), None);
        assert_eq!(safe_link("data:text/html,x"), None);
    }
}
