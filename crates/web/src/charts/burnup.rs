//! The burn-up chart: datasets migrated over time against the plan's line, with the forecast's
//! fan from today (its P50 to P95 dates, P85 dashed), "nice" ticks of datasets with gridlines,
//! dated ticks, a "today" marker, a read-out of each day's figures and a table of them.

use std::fmt::Write as _;

use time::Date;

use super::axis::{self, Unit};
use super::line::{Rendered, figures_table};
use super::{escape, inline_style, num, open_svg_tag};

/// What the burn-up chart draws ([`burnup_chart`]).
#[derive(Debug, Clone, Copy)]
pub struct Burnup<'a> {
    /// Migrated at the end of each day, oldest first.
    pub points: &'a [(Date, u64)],
    /// The plan's datasets.
    pub total: u64,
    /// The plan's start and end: its line runs from 0 to `total` between them.
    pub plan: (Date, Date),
    /// Today.
    pub today: Date,
    /// When every dataset is migrated: P50, P85, P95 (the fan from today).
    pub fan: Option<(Date, Date, Date)>,
}

const W: f64 = 960.0;
const H: f64 = 300.0;
const LEFT: f64 = 44.0;
const RIGHT: f64 = 10.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 276.0;

/// Days from the Unix epoch's day to `d`, as Unix seconds of its midnight (UTC).
fn secs(d: Date) -> i64 {
    d.midnight().assume_utc().unix_timestamp()
}

/// What the plan's line says on `d`: its share of `total`, rounded.
fn planned(b: &Burnup<'_>, d: Date) -> u64 {
    let span = (b.plan.1 - b.plan.0).whole_days();
    if span <= 0 {
        return if d >= b.plan.1 { b.total } else { 0 };
    }
    let share = ((d - b.plan.0).whole_days() as f64 / span as f64).clamp(0.0, 1.0);
    (share * b.total as f64).round() as u64
}

/// The burn-up chart as a page shows it: the chart and its table.
pub fn burnup_chart(b: &Burnup<'_>) -> String {
    burnup(b).html()
}

/// The burn-up chart: the SVG (self-contained, as every chart) and its table of figures (one
/// row a week and today).
pub fn burnup(b: &Burnup<'_>) -> Rendered {
    let first = b.points.first().map_or(b.plan.0, |p| p.0).min(b.plan.0);
    let last = [Some(b.plan.1), Some(b.today), b.fan.map(|f| f.2)]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(b.plan.1)
        .max(first.next_day().unwrap_or(first));
    let span = (last - first).whole_days().max(1) as f64;
    let x = |d: Date| LEFT + (d - first).whole_days() as f64 / span * (W - LEFT - RIGHT);
    let most = b
        .total
        .max(b.points.iter().map(|p| p.1).max().unwrap_or(0))
        .max(1) as f64;
    let (ticks, labels) = axis::axis(Unit::Count, most, 6);
    let top = ticks.last().copied().unwrap_or(most);
    let y = |v: f64| BOTTOM - v.clamp(0.0, top) / top * (BOTTOM - TOP);
    let migrated = b.points.last().map_or(0, |p| p.1);
    // Read-outs: every day of the line (every n-th when there are many).
    let every = b.points.len().div_ceil(super::line::MAX_READOUT).max(1);
    let n = b.points.len();
    let reads: Vec<&(Date, u64)> = b
        .points
        .iter()
        .enumerate()
        .filter(|(i, _)| (n - 1 - i).is_multiple_of(every))
        .map(|(_, p)| p)
        .collect();
    let mut out = String::with_capacity(4000 + reads.len() * 40);
    open_svg_tag(
        &mut out,
        "chart burn",
        &format!(
            "Datasets migrated over time: {migrated} of {} by {}, against the plan's line{}",
            b.total,
            b.today,
            b.fan.map_or(String::new(), |(p50, p85, p95)| format!(
                "; forecast: every dataset migrated by {p50} (P50), {p85} (P85), {p95} (P95)"
            ))
        ),
        W,
        H,
    );
    if !reads.is_empty() {
        let _ = write!(
            out,
            r#" tabindex="0" data-ro-plot="{} {} {} {}" data-ro-x=""#,
            num(LEFT),
            num(TOP),
            num(W - RIGHT),
            num(BOTTOM)
        );
        let xs: Vec<String> = reads.iter().map(|p| num(x(p.0))).collect();
        out.push_str(&xs.join(" "));
        let ts: Vec<String> = reads.iter().map(|p| p.0.to_string()).collect();
        let _ = write!(out, r#"" data-ro-t="{}""#, ts.join("|"));
    }
    out.push('>');
    inline_style(&mut out, "chart burn");
    for (i, (v, text)) in ticks.iter().zip(&labels).enumerate() {
        let _ = write!(
            out,
            r#"<path class="{}" d="M{} {}H{}"/><text class="m e" x="{}" y="{}">{}</text>"#,
            if i == 0 { "ax" } else { "gr" },
            num(LEFT),
            num(y(*v)),
            num(W - RIGHT),
            num(LEFT - 5.0),
            num(y(*v) + 4.0),
            escape(text)
        );
    }
    // Dated ticks on day or week boundaries.
    for (t, text) in axis::time_ticks(secs(first), secs(last), time::UtcOffset::UTC, 10) {
        let tx = LEFT + (t - secs(first)) as f64 / 86_400.0 / span * (W - LEFT - RIGHT);
        let _ = write!(
            out,
            r#"<path class="ax" d="M{} {}v4"/><text class="m c" x="{}" y="{}">{}</text>"#,
            num(tx),
            num(BOTTOM),
            num(tx.clamp(18.0, W - 18.0)),
            num(H - 6.0),
            escape(&text)
        );
    }
    // The legend.
    out.push_str(concat!(
        r#"<path class="ln" d="M0 12h16"/><text x="20" y="16">migrated</text>"#,
        r#"<path class="pl" d="M90 12h16"/><text x="110" y="16">plan</text>"#,
        r#"<rect class="fan" x="156" y="6" width="16" height="11"/><text x="176" y="16">forecast P50–P95</text>"#,
        r#"<path class="f85" d="M300 12h16"/><text x="320" y="16">P85</text>"#
    ));
    // The plan's line.
    let _ = write!(
        out,
        r#"<path class="pl" d="M{} {}L{} {}"><title>Plan: 0 on {} to {} on {}</title></path>"#,
        num(x(b.plan.0)),
        num(y(0.0)),
        num(x(b.plan.1)),
        num(y(b.total as f64)),
        b.plan.0,
        b.total,
        b.plan.1
    );
    // The fan: from today's count to the total between the P50 and P95 dates.
    let now = migrated as f64;
    if let Some((p50, p85, p95)) = b.fan {
        let _ = write!(
            out,
            r#"<path class="fan" d="M{} {}L{} {}L{} {}Z"><title>Forecast: every dataset migrated between {p50} (P50) and {p95} (P95)</title></path><path class="f85" d="M{} {}L{} {}"><title>P85: {p85}</title></path>"#,
            num(x(b.today)),
            num(y(now)),
            num(x(p50)),
            num(y(b.total as f64)),
            num(x(p95)),
            num(y(b.total as f64)),
            num(x(b.today)),
            num(y(now)),
            num(x(p85)),
            num(y(b.total as f64)),
        );
    }
    // What happened.
    if !b.points.is_empty() {
        out.push_str(r#"<path class="ln" d=""#);
        for (i, (d, v)) in b.points.iter().enumerate() {
            let _ = write!(
                out,
                "{}{} {}",
                if i == 0 { "M" } else { "L" },
                num(x(*d)),
                num(y(*v as f64))
            );
        }
        out.push_str(r#""/>"#);
        // A dot on every seventh day and the last one, with its figures as a tooltip.
        for (i, (d, v)) in b.points.iter().enumerate() {
            if !(n - 1 - i).is_multiple_of(7) {
                continue;
            }
            let _ = write!(
                out,
                r#"<circle class="dot" cx="{}" cy="{}" r="3"><title>{d}: {v} of {} migrated</title></circle>"#,
                num(x(*d)),
                num(y(*v as f64)),
                b.total
            );
        }
    }
    let _ = write!(
        out,
        r#"<path class="td" d="M{} {}V{}"/><text class="m c" x="{}" y="{}">today</text>"#,
        num(x(b.today)),
        num(TOP - 4.0),
        num(BOTTOM),
        num(x(b.today).clamp(16.0, W - 16.0)),
        num(TOP - 8.0)
    );
    for (name, values) in [
        (
            "migrated",
            reads
                .iter()
                .map(|p| format!("{} of {}", p.1, b.total))
                .collect::<Vec<_>>(),
        ),
        (
            "plan",
            reads
                .iter()
                .map(|p| planned(b, p.0).to_string())
                .collect::<Vec<_>>(),
        ),
    ] {
        if reads.is_empty() {
            break;
        }
        let _ = write!(
            out,
            r#"<g data-ro-name="{name}" data-ro-v="{}"/>"#,
            escape(&values.join("|"))
        );
    }
    out.push_str("</svg>");
    let rows = b
        .points
        .iter()
        .enumerate()
        .filter(|(i, _)| (n - 1 - i).is_multiple_of(7))
        .map(|(_, (d, v))| {
            (
                d.to_string(),
                vec![v.to_string(), planned(b, *d).to_string()],
            )
        });
    let table = if b.points.is_empty() {
        String::new()
    } else {
        figures_table(
            "Datasets migrated and planned, weekly",
            "Day",
            &["migrated", "plan"],
            rows,
        )
    };
    Rendered { svg: out, table }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn the_burnup_has_ticks_a_plan_a_fan_and_readouts() {
        let points: Vec<(Date, u64)> = (0..30)
            .map(|i| {
                (
                    date!(2025 - 01 - 06) + time::Duration::days(i),
                    (i * 4) as u64,
                )
            })
            .collect();
        let b = Burnup {
            points: &points,
            total: 412,
            plan: (date!(2025 - 01 - 06), date!(2025 - 06 - 02)),
            today: date!(2025 - 02 - 04),
            fan: Some((
                date!(2025 - 05 - 20),
                date!(2025 - 06 - 10),
                date!(2025 - 07 - 01),
            )),
        };
        let r = burnup(&b);
        let svg = &r.svg;
        for tick in [">0<", ">100<", ">200<", ">300<", ">400<", ">500<"] {
            assert!(svg.contains(tick), "{tick}");
        }
        assert!(svg.contains(r#"<path class="fan""#) && svg.contains(r#"<path class="f85""#));
        assert!(svg.contains("<title>Plan: 0 on 2025-01-06 to 412 on 2025-06-02</title>"));
        assert!(
            svg.contains(r#"data-ro-t="2025-01-06|2025-01-07|"#),
            "{svg}"
        );
        assert!(svg.contains(r#"<g data-ro-name="migrated" data-ro-v="0 of 412|4 of 412|"#));
        // 29 days into a 147-day plan of 412: 81 planned.
        assert!(svg.contains("|116 of 412\"/>"), "{svg}");
        assert!(svg.ends_with(r#"|81"/></svg>"#), "{svg}");
        assert!(svg.contains("<style>") && svg.contains("svg.burn .fan{fill:#1d5fd1"));
        assert!(
            r.table
                .contains(r#"<tr><th scope="row">2025-02-04</th><td>116</td><td>81</td></tr>"#)
        );
        assert!(!svg.contains("NaN") && !svg.contains("inf"));
        // No points yet: the plan alone, nothing to read out.
        let empty = burnup(&Burnup {
            points: &[],
            fan: None,
            ..b
        });
        assert!(!empty.svg.contains("data-ro-x") && empty.table.is_empty());
    }
}
