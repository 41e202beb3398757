//! The executive summary (DESIGN §3.1): overall health told by a shape and a word, why, week
//! N of M, progress, the key figures, the completion forecast against the planned end, the
//! blockers and the recommendations.

use askama::Template;
use mhd_core::dashboard::MigrationProgress;
use mhd_core::forecast::EstimatedCompletion;
use mhd_core::format;
use mhd_core::summary::{Blocker, BlockerKind, ExecutiveSummary, Health};
use time::{OffsetDateTime, UtcOffset};

use super::{
    Badge, DASH, MAX_MESSAGE_CHARS, MAX_NAME_CHARS, Stamp, clip, code_spans, days_text,
    signed_percent, thousands,
};
use crate::charts;

/// The executive summary section of a page.
#[derive(Template)]
#[template(path = "summary.html", whitespace = "minimize")]
pub(crate) struct SummarySection {
    pub(crate) health: Badge,
    pub(crate) reasons: Vec<String>,
    pub(crate) week: String,
    pub(crate) percent: String,
    pub(crate) bar: String,
    pub(crate) migrated: String,
    pub(crate) total: String,
    pub(crate) success_rate: String,
    pub(crate) attempts: Option<String>,
    pub(crate) completion: Completion,
    pub(crate) rollbacks: String,
    pub(crate) perf_delta: String,
    pub(crate) perf_note: String,
    pub(crate) perf_class: &'static str,
    pub(crate) blockers: Vec<BlockerItem>,
    pub(crate) recommendations: Vec<Vec<(bool, String)>>,
    /// Each card's explanation, by the summary field it explains.
    pub(crate) why: std::collections::BTreeMap<&'static str, Why>,
    /// How the forecast moved since yesterday, in words.
    pub(crate) moved: Option<String>,
    /// The burn-up chart, when the views carry the progress over time.
    pub(crate) burnup: Option<String>,
    /// What the fan and the chart mean, in words.
    pub(crate) burnup_note: Option<String>,
}

/// A figure's explanation, shown on demand: its rule with its inputs, a link to what is behind
/// it (on the live site) and the rule's place on the page "How these numbers are made".
pub(crate) struct Why {
    pub(crate) text: String,
    pub(crate) link: Option<String>,
    pub(crate) rule: &'static str,
}

impl Why {
    pub(crate) fn new(e: &mhd_core::model::Explained, rule: &'static str, site: bool) -> Why {
        Why {
            text: clip(&e.explain, 2 * MAX_MESSAGE_CHARS),
            link: e.link.clone().filter(|_| site),
            rule: if site { rule } else { "" },
        }
    }
}

/// The forecast card: the P85 date, its range and its slip; or why there is none.
pub(crate) enum Completion {
    Date {
        p85: String,
        range: String,
        slip: String,
        /// `warn` when late, `ok` when early or on time.
        class: &'static str,
        symbol: &'static str,
    },
    None {
        reason: String,
    },
}

pub(crate) struct BlockerItem {
    pub(crate) title: String,
    pub(crate) what: &'static str,
    pub(crate) component: Option<String>,
    pub(crate) since: Option<Stamp>,
}

/// The health as a badge: ● healthy, ▲ at risk, ✗ critical.
pub(crate) fn health_badge(h: Health) -> Badge {
    match h {
        Health::Healthy => Badge::new("●", "Healthy", "ok"),
        Health::AtRisk => Badge::new("▲", "At risk", "warn"),
        Health::Critical => Badge::new("✗", "Critical", "bad"),
    }
}

/// "Week 8 of 21", or where today falls outside the plan's weeks.
pub(crate) fn week_words(week: i64, weeks: u32) -> String {
    if week < 1 {
        format!("Before week 1 of {weeks}")
    } else if week > i64::from(weeks) {
        format!("Week {week} of {weeks} (past the planned end)")
    } else {
        format!("Week {week} of {weeks}")
    }
}

impl SummarySection {
    /// The section for `s`; `progress` (the same store's migration counts) adds the number of
    /// attempts behind the success rate.
    pub(crate) fn new(
        s: &ExecutiveSummary,
        progress: Option<&MigrationProgress>,
        now: OffsetDateTime,
        offset: UtcOffset,
    ) -> Self {
        let k = &s.key_metrics;
        let percent = if s.migration_progress.is_finite() {
            s.migration_progress.clamp(0.0, 100.0)
        } else {
            0.0
        };
        // The headline names what regressed: never "faster" beside a regression.
        let (perf_delta, perf_note, perf_class) = match (
            k.performance_headline.as_deref(),
            k.performance_delta.filter(|d| d.is_finite()),
        ) {
            (Some(h), delta) => (
                clip(h, MAX_MESSAGE_CHARS),
                match delta {
                    Some(d) => format!("median change of p50 {}", signed_percent(Some(d))),
                    None => String::new(),
                },
                if h.contains("slower") { "bad" } else { "" },
            ),
            (None, None) => (
                DASH.to_owned(),
                "no operation benchmarked on both systems".to_owned(),
                "",
            ),
            (None, Some(d)) => (
                signed_percent(Some(d)),
                "median change of p50 (negative: the new system is faster)".to_owned(),
                "",
            ),
        };
        SummarySection {
            health: health_badge(s.overall_health),
            reasons: s
                .health_reasons
                .iter()
                .map(|r| clip(r, MAX_MESSAGE_CHARS))
                .collect(),
            week: week_words(s.week, s.weeks),
            percent: format!("{percent:.1}%"),
            bar: charts::progress_bar(percent, "Datasets migrated"),
            migrated: thousands(k.datasets_migrated),
            total: thousands(k.datasets_total),
            success_rate: k.success_rate.map_or(DASH.to_owned(), format::percent),
            attempts: progress.map(|p| thousands(p.attempts)),
            completion: match &s.estimated_completion {
                Some(e) => completion(e),
                None => Completion::None {
                    reason: no_forecast_reason(s),
                },
            },
            rollbacks: thousands(k.rollback_count),
            perf_delta,
            perf_note,
            perf_class,
            why: std::collections::BTreeMap::new(),
            moved: s.forecast_change.as_ref().map(moved_words),
            burnup: None,
            burnup_note: None,
            blockers: s
                .blockers
                .iter()
                .map(|b| BlockerItem::new(b, now, offset))
                .collect(),
            recommendations: s
                .recommendations
                .iter()
                .map(|r| code_spans(&clip(r, MAX_MESSAGE_CHARS)))
                .collect(),
        }
    }
}

impl SummarySection {
    /// Adds each figure's explanation (with links to what is behind it when `site`: the live
    /// server's pages) and the burn-up chart of `progress`.
    pub(crate) fn with_views(
        mut self,
        s: &ExecutiveSummary,
        progress: Option<&mhd_core::model::Progress>,
        site: bool,
    ) -> Self {
        for (field, rule) in [
            ("overall_health", "overall-health"),
            ("migration_progress", "migration-progress"),
            ("success_rate", "success-rate"),
            ("estimated_completion", "forecast"),
            ("rollback_count", "dataset-state"),
            ("performance_delta", "performance"),
        ] {
            if let Some(e) = s.explain.get(field) {
                self.why.insert(field, Why::new(e, rule, site));
            }
        }
        if let Some(p) = progress {
            let points: Vec<(time::Date, u64)> =
                p.points.iter().map(|b| (b.day, b.migrated)).collect();
            let today = s.generated_at.to_offset(time::UtcOffset::UTC).date();
            self.burnup = Some(charts::burnup_chart(&charts::Burnup {
                points: &points,
                total: p.total,
                plan: (p.plan_start, p.planned_end),
                today,
                fan: p.datasets.map(|f| (f.p50, f.p85, f.p95)),
            }));
            self.burnup_note = Some(clip(&p.explain, 2 * MAX_MESSAGE_CHARS));
        }
        self
    }
}

/// "Since yesterday: 3 days later (from 2027-04-18): 2 more migrated since; …".
pub(crate) fn moved_words(c: &mhd_core::summary::ForecastChange) -> String {
    let head = match (c.days_moved, c.previous_p85) {
        (Some(0), _) => "Since yesterday: unchanged".to_owned(),
        (Some(d), Some(p)) => format!(
            "Since yesterday: {} {} (from {p})",
            days_text(d.abs()),
            if d > 0 { "later" } else { "earlier" }
        ),
        (_, None) => "Since yesterday: there was no forecast yesterday".to_owned(),
        (None, Some(p)) => format!("Since yesterday: was {p}"),
    };
    clip(
        &format!("{head}: {}.", c.reasons.join("; ")),
        MAX_MESSAGE_CHARS,
    )
}

fn completion(e: &EstimatedCompletion) -> Completion {
    let (slip, class, symbol) = match e.slip_days {
        d if d > 0 => (
            format!("{} after the planned end {}", days_text(d), e.planned_end),
            "warn",
            "⚠",
        ),
        d if d < 0 => (
            format!("{} before the planned end {}", days_text(-d), e.planned_end),
            "ok",
            "✓",
        ),
        _ => (format!("on the planned end {}", e.planned_end), "ok", "✓"),
    };
    Completion::Date {
        p85: e.p85.to_string(),
        range: format!("P50 {} – P95 {}", e.p50, e.p95),
        slip,
        class,
        symbol,
    }
}

/// Why there is no forecast: the summary's own sentence about it among the recommendations
/// when there is one, otherwise a plain reason.
fn no_forecast_reason(s: &ExecutiveSummary) -> String {
    if s.key_metrics.datasets_total == 0 {
        return "the plan counts no datasets".to_owned();
    }
    s.recommendations
        .iter()
        .find(|r| r.contains("forecast") || r.contains("within five years"))
        .map(|r| clip(&r.replace('`', ""), MAX_MESSAGE_CHARS))
        .unwrap_or_else(|| {
            "not enough net throughput in the recent days to forecast from".to_owned()
        })
}

impl BlockerItem {
    fn new(b: &Blocker, now: OffsetDateTime, offset: UtcOffset) -> Self {
        BlockerItem {
            title: clip(&b.title, MAX_MESSAGE_CHARS),
            what: match b.kind {
                BlockerKind::Phase => "blocked phase",
                BlockerKind::Alert => "critical alert",
            },
            component: b.component.as_deref().map(|c| clip(c, MAX_NAME_CHARS)),
            since: b.since.map(|t| Stamp::new(t, now, offset)),
        }
    }
}
