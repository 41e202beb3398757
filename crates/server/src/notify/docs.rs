//! What the channels format: an alert and a report as stored in the outbox, and the links
//! and text helpers the messages share.

use super::*;

/// The alert as a channel formats it: the fields of `mhd_core::alerts::Alert` read back from
/// the JSON stored in the outbox.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct AlertDoc {
    /// Its id.
    pub id: i64,
    /// The deduplication key (rule and what it concerns).
    pub key: String,
    /// The rule's name.
    pub rule: String,
    /// The rule's kind.
    pub kind: String,
    /// `info`, `warning`, `error` or `critical`.
    pub severity: String,
    /// A short title.
    pub title: String,
    /// What was seen.
    pub message: String,
    /// The component, if any.
    pub component: Option<String>,
    /// The metric's value, if any.
    pub value: Option<f64>,
    /// When the condition was first seen (RFC 3339).
    pub started_at: String,
    /// When it fired (RFC 3339).
    pub fired_at: Option<String>,
    /// When it resolved (RFC 3339).
    pub resolved_at: Option<String>,
    /// What it affects.
    pub impact: ImpactDoc,
    /// The runbook link.
    pub runbook: Option<String>,
}

/// The alert's impact, as stored.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ImpactDoc {
    /// Datasets behind it.
    pub affected_datasets: Vec<String>,
    /// Components it concerns.
    pub components: Vec<String>,
    /// Estimated minutes of downtime.
    pub estimated_downtime_minutes: Option<f64>,
}

impl AlertDoc {
    /// Reads the alert from its JSON.
    pub fn from_value(value: &serde_json::Value) -> Result<AlertDoc, String> {
        AlertDoc::deserialize(value).map_err(|e| format!("the stored alert is unreadable: {e}"))
    }

    /// The severity in capitals (`CRITICAL`), as subjects and headers show it.
    pub fn severity_word(&self) -> String {
        self.severity.to_ascii_uppercase()
    }

    /// The impact in one line, or `None` when nothing is known.
    pub fn impact_line(&self) -> Option<String> {
        let mut parts = Vec::new();
        let datasets = &self.impact.affected_datasets;
        if !datasets.is_empty() {
            let shown: Vec<&str> = datasets.iter().take(10).map(String::as_str).collect();
            let more = datasets.len().saturating_sub(shown.len());
            let tail = if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            };
            parts.push(format!(
                "{} dataset{}: {}{tail}",
                datasets.len(),
                if datasets.len() == 1 { "" } else { "s" },
                shown.join(", ")
            ));
        }
        if !self.impact.components.is_empty() {
            parts.push(format!("components: {}", self.impact.components.join(", ")));
        }
        if let Some(minutes) = self.impact.estimated_downtime_minutes {
            parts.push(format!("estimated downtime {minutes:.0} min"));
        }
        (!parts.is_empty()).then(|| parts.join("; "))
    }

    /// The runbook link when it is a web address (anything else is not made a link).
    pub fn runbook_url(&self) -> Option<&str> {
        self.runbook
            .as_deref()
            .filter(|r| r.starts_with("https://") || r.starts_with("http://"))
    }
}

/// A scheduled report as the outbox carries it (the document itself stays in the store).
#[derive(Debug, Clone, PartialEq, serde::Serialize, Deserialize)]
pub struct ReportDoc {
    /// The stored report's id.
    pub id: i64,
    /// "Migration report, START to END".
    pub title: String,
    /// The first day (YYYY-MM-DD).
    pub start: String,
    /// The last day.
    pub end: String,
    /// `pdf` or `html`.
    pub format: String,
    /// The attachment's file name.
    pub file_name: String,
    /// When it was made.
    #[serde(with = "time::serde::rfc3339")]
    pub made_at: OffsetDateTime,
}

impl ReportDoc {
    /// Where it is downloaded: `GET /api/v1/reports/{id}` at the dashboard's address.
    pub fn url(&self, public_url: &str) -> String {
        format!(
            "{}/api/v1/reports/{}",
            public_url.trim_end_matches('/'),
            self.id
        )
    }
}

/// The dashboard link a message about `alert_id` carries: the alert on the alerts page.
pub fn dashboard_url(public_url: &str, alert_id: i64) -> String {
    format!(
        "{}{}#alert-{alert_id}",
        public_url.trim_end_matches('/'),
        mhd_web::paths::PAGE_ALERTS
    )
}

/// The dashboard's overview page.
pub fn home_url(public_url: &str) -> String {
    format!("{}/", public_url.trim_end_matches('/'))
}

/// `s` cut to at most `max` characters, with "…" at the end when cut.
pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// `s` on one line: control characters (line breaks included) become spaces.
pub fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}
