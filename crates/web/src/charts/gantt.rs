//! The timeline's week-by-week Gantt chart.

use std::fmt::Write as _;

use super::{clean, escape, hatch_defs, num, open_svg, truncate};

/// How a phase's bar is drawn by [`gantt`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GanttStatus {
    /// Solid, in the "done" colour.
    Completed,
    /// An outlined track with its done share filled.
    InProgress,
    /// A dashed outline.
    Planned,
    /// Hatched, with its done share filled.
    Blocked,
}

/// How a milestone's diamond is drawn by [`gantt`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MilestoneMark {
    /// A filled diamond.
    Reached,
    /// A hollow diamond.
    Pending,
    /// A hollow diamond crossed out.
    Missed,
}

/// One milestone on a row of [`gantt`].
#[derive(Debug, Clone, PartialEq)]
pub struct GanttMilestone {
    /// Where it sits: days since the chart's first day (the middle of its day).
    pub day: f64,
    /// Reached, pending or missed.
    pub mark: MilestoneMark,
    /// Tooltip: its name, date and status.
    pub title: String,
}

/// One row (phase) of [`gantt`]. Days count from the chart's first day; the bar covers
/// `start..end`.
#[derive(Debug, Clone, PartialEq)]
pub struct GanttRow {
    /// Name shown at the left (cut to [`GANTT_LABEL_CHARS`]; the title keeps it whole).
    pub label: String,
    /// First day of the bar.
    pub start: f64,
    /// End of the bar (exclusive).
    pub end: f64,
    /// How the bar is drawn.
    pub status: GanttStatus,
    /// Done share, 0–100, filled from the bar's start (in progress and blocked bars).
    pub progress: f64,
    /// The status in words at the right ("✓ done", "● 40% in progress"), so colour is never
    /// alone.
    pub status_text: String,
    /// Tooltip of the row: the full name and figures.
    pub title: String,
    /// Its milestones.
    pub milestones: Vec<GanttMilestone>,
    /// A projected end past `end` (day and tooltip), drawn as a dashed line after the bar.
    pub projected_end: Option<(f64, String)>,
}

/// Options of [`gantt`].
#[derive(Debug, Clone, Copy)]
pub struct GanttOptions<'a> {
    /// Prefix of the ids inside the chart, unique in the page.
    pub id: &'a str,
    /// What the chart shows, for screen readers.
    pub aria_label: &'a str,
    /// Weeks the chart spans from its first day (at least 1).
    pub weeks: u32,
    /// Now, in days since the chart's first day: a marker line when it falls on the chart.
    pub today: Option<f64>,
    /// The marker's label ("today 2025-03-06"), or, when today is off the chart, the text that
    /// says so, shown under the rows.
    pub today_label: &'a str,
}

/// Longest phase name drawn at the left of a [`gantt`] row; longer ones end in `…`.
pub const GANTT_LABEL_CHARS: usize = 17;

const GANTT_W: f64 = 1000.0;
const GANTT_X0: f64 = 150.0;
const GANTT_X1: f64 = 770.0;
const GANTT_HEAD: f64 = 30.0;
const GANTT_ROW: f64 = 28.0;
const GANTT_BAR: f64 = 14.0;

/// An estimate of the width of `s` at `font` user units (0.65 em a character, generous), so
/// texts placed by it do not overlap.
fn width_at(s: &str, font: f64) -> f64 {
    s.chars().count() as f64 * font * 0.65
}

/// A week-by-week Gantt chart: one row per phase with its name at the left and its status in
/// words at the right; week numbers and gridlines on top; bars styled by status (done solid,
/// in progress filled up to its progress, planned dashed, blocked hatched); milestone
/// diamonds with tooltips; a projected end past the planned one as a dashed line; a "today"
/// marker; a legend at the bottom.
pub fn gantt(rows: &[GanttRow], opts: &GanttOptions<'_>) -> String {
    let weeks = opts.weeks.max(1);
    let days = f64::from(weeks) * 7.0;
    let plot = GANTT_X1 - GANTT_X0;
    let x = |day: f64| {
        let d = if day.is_finite() { day } else { 0.0 };
        GANTT_X0 + d.clamp(0.0, days) / days * plot
    };
    let bottom = GANTT_HEAD + rows.len() as f64 * GANTT_ROW;
    let height = bottom + 52.0;
    let mut out = String::with_capacity(2000 + rows.len() * 900);
    open_svg(&mut out, "chart gantt", opts.aria_label, GANTT_W, height);
    hatch_defs(&mut out, opts.id);
    // Zebra stripes first, so everything else is drawn over them.
    for i in (1..rows.len()).step_by(2) {
        let _ = write!(
            out,
            r#"<rect class="zb" y="{}" width="{}" height="{}"/>"#,
            num(GANTT_HEAD + i as f64 * GANTT_ROW),
            num(GANTT_W),
            num(GANTT_ROW)
        );
    }
    // Week numbers, centred in their week, as many as fit; a gridline at each labelled week's
    // start and at the chart's end.
    let week_w = plot / f64::from(weeks);
    let label_w = width_at(&weeks.to_string(), 13.0) + 8.0;
    let step = ((label_w / week_w).ceil() as u32).max(1);
    let _ = write!(
        out,
        r#"<text class="m" x="4" y="16">Week</text><path class="ax" d="M{} {}H{}"/>"#,
        num(GANTT_X0),
        num(GANTT_HEAD - 2.0),
        num(GANTT_X1)
    );
    for week in (1..=weeks).step_by(step as usize) {
        let start = f64::from(week - 1) * 7.0;
        let _ = write!(
            out,
            r#"<path class="gr" d="M{} {}V{}"/><text class="c m" x="{}" y="16">{week}</text>"#,
            num(x(start)),
            num(GANTT_HEAD - 2.0),
            num(bottom),
            num(x(start + 3.5)),
        );
    }
    let _ = write!(
        out,
        r#"<path class="gr" d="M{} {}V{}"/>"#,
        num(GANTT_X1),
        num(GANTT_HEAD - 2.0),
        num(bottom)
    );
    for (i, row) in rows.iter().enumerate() {
        let top = GANTT_HEAD + i as f64 * GANTT_ROW;
        let bar_y = top + (GANTT_ROW - GANTT_BAR) / 2.0;
        let mid = top + GANTT_ROW / 2.0;
        let _ = write!(
            out,
            r#"<g><title>{}</title><text x="4" y="{}">{}</text>"#,
            escape(&row.title),
            num(mid + 4.5),
            escape(&truncate(&row.label, GANTT_LABEL_CHARS))
        );
        let on_chart = row.end > 0.0 && row.start < days && row.end > row.start;
        if on_chart {
            let (x0, x1) = (x(row.start), x(row.end));
            let w = (x1 - x0).max(2.0);
            let done = w * clean(row.progress).min(100.0) / 100.0;
            let rect = |out: &mut String, class: &str, fill: Option<&str>, width: f64| {
                let _ = write!(
                    out,
                    r#"<rect class="{class}"{} x="{}" y="{}" width="{}" height="{}"/>"#,
                    fill.map_or_else(String::new, |f| format!(r#" fill="{f}""#)),
                    num(x0),
                    num(bar_y),
                    num(width),
                    num(GANTT_BAR)
                );
            };
            match row.status {
                GanttStatus::Completed => rect(&mut out, "gd", None, w),
                GanttStatus::Planned => rect(&mut out, "gn", None, w),
                GanttStatus::InProgress => {
                    rect(&mut out, "gt", None, w);
                    if done > 0.0 {
                        rect(&mut out, "b", None, done);
                    }
                }
                GanttStatus::Blocked => {
                    let hatch = format!("url(#{}-h)", escape(opts.id));
                    rect(&mut out, "gx", Some(&hatch), w);
                    if done > 0.0 {
                        rect(&mut out, "b", None, done);
                    }
                }
            }
        }
        let _ = write!(
            out,
            r#"<text x="{}" y="{}">{}</text></g>"#,
            num(GANTT_X1 + 10.0),
            num(mid + 4.5),
            escape(&row.status_text)
        );
        if let Some((day, title)) = &row.projected_end
            && on_chart
            && *day > row.end
        {
            let _ = write!(
                out,
                r#"<g><title>{}</title><path class="pj" d="M{} {}H{}"/></g>"#,
                escape(title),
                num(x(row.end) + 2.0),
                num(mid),
                num(x(*day))
            );
        }
        for m in &row.milestones {
            let cx = x(m.day);
            let _ = write!(
                out,
                r#"<g><title>{}</title><path class="{}" d="M{} {}l6 6l-6 6l-6-6z"/>"#,
                escape(&m.title),
                match m.mark {
                    MilestoneMark::Reached => "mr",
                    MilestoneMark::Pending => "mp",
                    MilestoneMark::Missed => "mm",
                },
                num(cx),
                num(mid - 6.0)
            );
            if m.mark == MilestoneMark::Missed {
                let _ = write!(
                    out,
                    r#"<path class="mx" d="M{} {}l5 5m0-5l-5 5"/>"#,
                    num(cx - 2.5),
                    num(mid - 2.5)
                );
            }
            out.push_str("</g>");
        }
        out.push('\n');
    }
    // Today: a line over the rows and its label under them, kept inside the chart.
    let label_y = bottom + 17.0;
    match opts
        .today
        .filter(|t| t.is_finite() && (0.0..=days).contains(t))
    {
        Some(t) => {
            let tx = x(t);
            let half = width_at(opts.today_label, 12.0) / 2.0;
            let _ = write!(
                out,
                r#"<path class="td" d="M{} {}V{}"/><text class="c lg" x="{}" y="{}">{}</text>"#,
                num(tx),
                num(GANTT_HEAD - 6.0),
                num(bottom + 4.0),
                num(tx.clamp(half + 2.0, GANTT_W - half - 2.0)),
                num(label_y),
                escape(opts.today_label)
            );
        }
        None => {
            let _ = write!(
                out,
                r#"<text class="lg m" x="{}" y="{}">{}</text>"#,
                num(GANTT_X0),
                num(label_y),
                escape(opts.today_label)
            );
        }
    }
    gantt_legend(&mut out, opts.id, bottom + 40.0);
    out.push_str("</svg>");
    out
}

/// The legend of [`gantt`]: one swatch and word per bar style, milestone mark and the today
/// marker, in a row at `y` (the baseline of its text).
fn gantt_legend(out: &mut String, id: &str, y: f64) {
    let top = y - 10.0;
    let mut lx = 4.0;
    let items: [(&str, &str); 8] = [
        ("gd", "done"),
        ("gt", "in progress"),
        ("gn", "planned"),
        ("gx", "blocked"),
        ("mr", "milestone reached"),
        ("mp", "milestone pending"),
        ("mm", "milestone missed"),
        ("td", "today"),
    ];
    for (class, word) in items {
        match class {
            "mr" | "mp" | "mm" => {
                let _ = write!(
                    out,
                    r#"<path class="{class}" d="M{} {}l6 6l-6 6l-6-6z"/>"#,
                    num(lx + 6.0),
                    num(top - 1.0)
                );
                if class == "mm" {
                    let _ = write!(
                        out,
                        r#"<path class="mx" d="M{} {}l5 5m0-5l-5 5"/>"#,
                        num(lx + 3.5),
                        num(top + 2.5)
                    );
                }
                lx += 16.0;
            }
            "td" => {
                let _ = write!(
                    out,
                    r#"<path class="td" d="M{} {}v14"/>"#,
                    num(lx + 2.0),
                    num(top - 2.0)
                );
                lx += 8.0;
            }
            _ => {
                let fill = if class == "gx" {
                    format!(r#" fill="url(#{}-h)""#, escape(id))
                } else {
                    String::new()
                };
                let _ = write!(
                    out,
                    r#"<rect class="{class}"{fill} x="{}" y="{}" width="22" height="10"/>"#,
                    num(lx),
                    num(top)
                );
                if class == "gt" {
                    let _ = write!(
                        out,
                        r#"<rect class="b" x="{}" y="{}" width="10" height="10"/>"#,
                        num(lx),
                        num(top)
                    );
                }
                lx += 28.0;
            }
        }
        let _ = write!(
            out,
            r#"<text class="lg" x="{}" y="{}">{word}</text>"#,
            num(lx),
            num(y)
        );
        lx += width_at(word, 12.0) + 14.0;
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::charts::tests::attrs;

    pub(crate) fn phase_row(
        label: &str,
        start: f64,
        end: f64,
        status: GanttStatus,
        progress: f64,
    ) -> GanttRow {
        GanttRow {
            label: label.into(),
            start,
            end,
            status,
            progress,
            status_text: format!("{label} status"),
            title: format!("{label} title"),
            milestones: Vec::new(),
            projected_end: None,
        }
    }

    /// The rows of a Gantt chart, without the today marker and the legend after them.
    fn plot(svg: &str) -> &str {
        let end = [
            r#"<path class="td""#,
            r#"<text class="lg"#,
            r#"<text class="c lg"#,
        ]
        .iter()
        .filter_map(|m| svg.find(m))
        .min()
        .unwrap_or(svg.len());
        &svg[..end]
    }

    pub(crate) const GANTT_OPTS: GanttOptions<'static> = GanttOptions {
        id: "g",
        aria_label: "Timeline",
        weeks: 21,
        today: Some(59.5),
        today_label: "today 2025-03-06",
    };

    #[test]
    fn gantt_bars_follow_their_days_and_status() {
        let mut running = phase_row("run", 21.0, 56.0, GanttStatus::InProgress, 50.0);
        running.projected_end = Some((70.0, "run: projected end".into()));
        let rows = [
            phase_row("done", 0.0, 21.0, GanttStatus::Completed, 100.0),
            running,
            phase_row("plan", 70.0, 105.0, GanttStatus::Planned, 0.0),
            phase_row("stop", 35.0, 77.0, GanttStatus::Blocked, 0.0),
        ];
        let full = gantt(&rows, &GANTT_OPTS);
        let svg = plot(&full);
        assert!(svg.starts_with(
            r#"<svg class="chart gantt" role="img" aria-label="Timeline" viewBox="0 0 1000 194" "#
        ));
        // 147 days over 620 units: a day is 4.2177 units from x = 150.
        let day = 620.0 / 147.0;
        let at = |d: f64| (150.0 + d * day) * 100.0;
        let x = |d: f64| at(d).round() / 100.0;
        let w = |a: f64, b: f64| (at(b) - at(a)).round() / 100.0;
        assert_eq!(attrs(svg, r#"<rect class="gd""#, "x")[0], 150.0);
        assert_eq!(
            attrs(svg, r#"<rect class="gd" x"#, "width")[0],
            w(0.0, 21.0)
        );
        assert_eq!(attrs(svg, r#"<rect class="gt""#, "x"), vec![x(21.0)]);
        // The in-progress bar's done half is filled.
        let filled = attrs(svg, r#"<rect class="b" x"#, "width");
        assert!((filled[0] - w(21.0, 56.0) / 2.0).abs() < 0.02, "{filled:?}");
        assert_eq!(attrs(svg, r#"<rect class="gn""#, "x"), vec![x(70.0)]);
        // The blocked bar is hatched; without progress nothing is filled on it.
        assert!(svg.contains(r#"<rect class="gx" fill="url(#g-h)" x=""#));
        assert_eq!(filled.len(), 1);
        assert!(svg.contains(r#"<pattern id="g-h""#));
        let svg = &full;
        // The projected end continues the late bar.
        assert!(svg.contains("<title>run: projected end</title><path class=\"pj\""));
        // Every row says its status in words, beside the chart, and has a tooltip.
        for label in ["done", "run", "plan", "stop"] {
            assert!(svg.contains(&format!(">{label} status</text>")), "{label}");
            assert!(
                svg.contains(&format!("<title>{label} title</title>")),
                "{label}"
            );
        }
        // Today: a line and its label.
        assert!(svg.contains(&format!(r#"<path class="td" d="M{} 24V146"/>"#, x(59.5))));
        assert!(svg.contains(">today 2025-03-06</text>"));
        // Week numbers 1 to 21, each centred in its week.
        for week in 1..=21 {
            assert!(svg.contains(&format!(">{week}</text>")), "week {week}");
        }
        assert!(svg.contains(&format!(r#"x="{}" y="16">1</text>"#, x(3.5))));
        // The legend names every style.
        for word in [
            "done",
            "in progress",
            "planned",
            "blocked",
            "milestone missed",
            "today",
        ] {
            assert!(svg.contains(&format!(">{word}</text>")), "{word}");
        }
        assert!(!svg.contains("NaN") && !svg.contains("inf"));
    }

    #[test]
    fn gantt_milestones_are_diamonds_with_tooltips() {
        let mut row = phase_row("p", 0.0, 21.0, GanttStatus::InProgress, 10.0);
        row.milestones = vec![
            GanttMilestone {
                day: 3.5,
                mark: MilestoneMark::Reached,
                title: "A — 2025-01-09 — completed".into(),
            },
            GanttMilestone {
                day: 10.5,
                mark: MilestoneMark::Missed,
                title: "B — 2025-01-16 — missed".into(),
            },
            GanttMilestone {
                day: 17.5,
                mark: MilestoneMark::Pending,
                title: "C — 2025-01-23 — pending".into(),
            },
        ];
        let svg = gantt(&[row], &GANTT_OPTS);
        assert!(svg.contains(r#"<g><title>A — 2025-01-09 — completed</title><path class="mr""#));
        assert!(svg.contains(r#"<g><title>B — 2025-01-16 — missed</title><path class="mm""#));
        assert!(svg.contains(r#"<g><title>C — 2025-01-23 — pending</title><path class="mp""#));
        // A missed one is crossed out (and so is the legend's).
        assert_eq!(svg.matches(r#"<path class="mx""#).count(), 2);
    }

    #[test]
    fn gantt_clamps_to_the_chart_and_says_when_today_is_off_it() {
        let rows = [
            phase_row("before", -20.0, -5.0, GanttStatus::Completed, 100.0),
            phase_row("across", -7.0, 400.0, GanttStatus::Planned, 0.0),
            phase_row(
                "odd",
                f64::NAN,
                f64::INFINITY,
                GanttStatus::Blocked,
                f64::NAN,
            ),
        ];
        let full = gantt(
            &rows,
            &GanttOptions {
                today: Some(900.0),
                today_label: "Today (2027-01-01) is after week 21.",
                ..GANTT_OPTS
            },
        );
        assert!(!full.contains("NaN") && !full.contains("inf"));
        let svg = plot(&full);
        // A phase wholly before the chart draws no bar but still says its status.
        assert!(!svg.contains(r#"<rect class="gd" x"#));
        assert!(svg.contains(">before status</text>"));
        // One across it is cut to the chart.
        assert_eq!(attrs(svg, r#"<rect class="gn""#, "x"), vec![150.0]);
        assert_eq!(attrs(svg, r#"<rect class="gn" x"#, "width"), vec![620.0]);
        // No marker off the chart: the legend's swatch is the only one.
        assert_eq!(full.matches(r#"<path class="td""#).count(), 1);
        assert!(full.contains(">Today (2027-01-01) is after week 21.</text>"));
        // Long plans label fewer weeks so the numbers do not overlap.
        let long = gantt(
            &[],
            &GanttOptions {
                weeks: 104,
                ..GANTT_OPTS
            },
        );
        assert!(long.contains(">1</text>") && !long.contains(">2</text>"));
        assert!(long.contains(">104</text>") || long.contains(">103</text>"));
    }
}
