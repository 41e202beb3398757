//! Small SVG charts drawn on the server: pure functions from numbers and labels to an SVG string.
//!
//! Every chart:
//! - scales with its container (`viewBox`, no fixed size) and needs no script;
//! - is announced to assistive technology (`role="img"` and an `aria-label`, or
//!   `role="progressbar"` with its values) and gives every mark a text label and a `<title>`
//!   tooltip, so nothing is told by colour alone; a second series (failures) is hatched as well
//!   as coloured;
//! - escapes every caller-supplied string with [`escape`], so its output may be inserted into a
//!   page unescaped;
//! - writes numbers with at most two decimals ([`num`]) and never writes `NaN` or `inf`:
//!   non-finite and negative values are drawn as zero;
//! - is styled by class names whose colours come from [`CSS`] (light and dark schemes).

use std::fmt::Write as _;

/// The stylesheet the charts' class names need. Colours are CSS variables with light fallbacks,
/// so the page decides the scheme (`--fg`, `--muted`, `--bar`, `--err`, `--grid`, `--bg`).
pub const CSS: &str = "\
svg.chart{display:block;width:100%;height:auto;font-size:12px}\
svg.chart text{fill:var(--fg,#1b1f24)}\
svg.chart .m{fill:var(--muted,#50575f)}\
svg.chart .e{text-anchor:end}\
svg.chart .c{text-anchor:middle}\
svg.chart .b{fill:var(--bar,#1d5fd1)}\
svg.chart .p{stroke:var(--err,#b42318);stroke-width:1}\
svg.chart .hs{fill:var(--err,#b42318)}\
svg.chart .hb{fill:var(--bg,#fff)}\
svg.chart .ax{stroke:var(--muted,#50575f);stroke-width:1}\
svg.chart .gr{stroke:var(--grid,#d0d5db);stroke-width:1;stroke-dasharray:3 3}\
svg.chart .ln{fill:none;stroke:var(--bar,#1d5fd1);stroke-width:1.5;vector-effect:non-scaling-stroke}\
svg.pb{display:block;width:100%;height:.9rem}\
svg.chart.gantt{font-size:13px;min-width:50rem}\
svg.gantt .lg{font-size:12px}\
svg.gantt .zb{fill:var(--card,#f4f6f8)}\
svg.gantt .gd{fill:var(--ok,#17672e)}\
svg.gantt .gt{fill:var(--bg,#fff);stroke:var(--bar,#1d5fd1);stroke-width:1.5}\
svg.gantt .gn{fill:var(--bg,#fff);stroke:var(--muted,#50575f);stroke-width:1.5;stroke-dasharray:4 3}\
svg.gantt .gx{stroke:var(--err,#b42318);stroke-width:1.5}\
svg.gantt .td{stroke:var(--fg,#1b1f24);stroke-width:2}\
svg.gantt .mr{fill:var(--fg,#1b1f24);stroke:var(--bg,#fff);stroke-width:1.5}\
svg.gantt .mp,svg.gantt .mm{fill:var(--bg,#fff);stroke:var(--fg,#1b1f24);stroke-width:1.5}\
svg.gantt .mm,svg.gantt .mx{stroke:var(--err,#b42318)}\
svg.gantt .mx{stroke-width:1.5}\
svg.gantt .pj{stroke:var(--err,#b42318);stroke-width:2;stroke-dasharray:2 3}\
svg.spark{width:6rem;height:1.25rem;display:inline-block;vertical-align:middle}\
svg.burn .pl{fill:none;stroke:var(--muted,#50575f);stroke-width:1.5;stroke-dasharray:6 4}\
svg.burn .fan{fill:var(--bar,#1d5fd1);fill-opacity:.15}\
svg.burn .f85{fill:none;stroke:var(--bar,#1d5fd1);stroke-width:1.5;stroke-dasharray:3 3}\
svg.burn .dot{fill:var(--bar,#1d5fd1)}\
svg.burn .td{stroke:var(--fg,#1b1f24);stroke-width:1.5}\
svg.pb .pt{fill:var(--grid,#d0d5db)}\
svg.pb .pf{fill:var(--bar,#1d5fd1)}\
@media (max-width:40em){svg.chart{font-size:14px}svg.cols{font-size:20px}svg.cols .xo{display:none}}\
@media (forced-colors:active){svg.chart .b,svg.pb .pf,svg.gantt .gd,svg.gantt .mr{fill:CanvasText}svg.chart text{fill:CanvasText}svg.gantt .td{stroke:CanvasText}}\
@media print{svg.chart.gantt{min-width:0}}";

/// Escapes text for HTML and SVG, in element content and in quoted attribute values alike.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A number for SVG: rounded to two decimals, trailing zeros dropped, `0` for NaN and infinities,
/// so output is stable and always valid.
pub fn num(v: f64) -> String {
    if !v.is_finite() {
        return "0".to_owned();
    }
    let mut s = format!("{:.2}", (v * 100.0).round() / 100.0);
    if s.contains('.') {
        while s.ends_with('0') {
            s.pop();
        }
        if s.ends_with('.') {
            s.pop();
        }
    }
    if s == "-0" { "0".to_owned() } else { s }
}

/// A value as a chart draws it: NaN, infinities and negatives are zero.
fn clean(v: f64) -> f64 {
    if v.is_finite() && v > 0.0 { v } else { 0.0 }
}

/// At most `max` characters of `s`, ending in `…` when cut.
pub fn truncate(s: &str, max: usize) -> std::borrow::Cow<'_, str> {
    match s.char_indices().nth(max) {
        None => s.into(),
        Some(_) => {
            let cut = s
                .char_indices()
                .nth(max.saturating_sub(1))
                .map_or(0, |(i, _)| i);
            format!("{}…", &s[..cut]).into()
        }
    }
}

/// Lengths proportional to `values` on a scale where `max` is `full`; a value above zero gets at
/// least `min_visible` so it never disappears.
fn scale(values: &[f64], max: f64, full: f64, min_visible: f64) -> Vec<f64> {
    let max = clean(max);
    values
        .iter()
        .map(|&v| {
            let v = clean(v);
            if max == 0.0 || v == 0.0 {
                0.0
            } else {
                (v / max * full).clamp(min_visible.min(full), full)
            }
        })
        .collect()
}

/// The smallest "round" number (1, 2, 2.5 or 5 × 10ⁿ) at or above `v`; 1 for zero.
pub fn nice_ceiling(v: f64) -> f64 {
    let v = clean(v);
    if v == 0.0 {
        return 1.0;
    }
    let p = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * p)
        .find(|c| *c >= v * (1.0 - 1e-12))
        .unwrap_or(10.0 * p)
}

/// The opening tag of a chart's `<svg>`, with its role, label and coordinate system.
fn open_svg(out: &mut String, class: &str, aria_label: &str, w: f64, h: f64) {
    let _ = write!(
        out,
        r#"<svg class="{class}" role="img" aria-label="{}" viewBox="0 0 {} {}">"#,
        escape(aria_label),
        num(w),
        num(h)
    );
}

/// The hatch pattern of the second series, with an id unique to the chart.
fn hatch_defs(out: &mut String, id: &str) {
    let _ = write!(
        out,
        r#"<defs><pattern id="{}-h" width="4" height="4" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect class="hb" width="4" height="4"/><rect class="hs" width="2" height="4"/></pattern></defs>"#,
        escape(id)
    );
}

/// A legend row at the top: a solid swatch named `value_label`, then a hatched one named
/// `part_label`.
fn legend(out: &mut String, id: &str, value_label: &str, part_label: &str) {
    let second = 16.0 + text_width(value_label) + 12.0;
    let _ = write!(
        out,
        r#"<rect class="b" y="4" width="11" height="11"/><text x="16" y="15">{}</text><rect class="p" fill="url(#{}-h)" x="{}" y="4" width="11" height="11"/><text x="{}" y="15">{}</text>"#,
        escape(value_label),
        escape(id),
        num(second),
        num(second + 16.0),
        escape(part_label)
    );
}

/// A generous estimate of the width of `s` in user units at the largest font size the charts
/// use (20 units on small screens, 0.65 em per character), so texts placed by it never overlap.
fn text_width(s: &str) -> f64 {
    s.chars().count() as f64 * 13.0
}

/// A text shown in place of a chart that has nothing to draw.
fn no_data(out: &mut String, w: f64, y: f64, text: &str) {
    let _ = write!(
        out,
        r#"<text class="c m" x="{}" y="{}">{}</text>"#,
        num(w / 2.0),
        num(y),
        escape(text)
    );
}

/// One bar of [`bar_chart_horizontal`].
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    /// Name shown above the bar (cut to [`MAX_LABEL_CHARS`]; the title keeps it whole).
    pub label: String,
    /// Length of the bar.
    pub value: f64,
    /// Part of `value` drawn hatched at the bar's end (failures); 0 for none.
    pub part: f64,
    /// The value as people read it, shown at the right of the label ("1,204 · 3 failed").
    pub value_text: String,
    /// Tooltip: the full label and figures.
    pub title: String,
}

/// Options of [`bar_chart_horizontal`].
#[derive(Debug, Clone, Copy)]
pub struct BarChartOptions<'a> {
    /// Prefix of the ids inside the chart, unique in the page.
    pub id: &'a str,
    /// What the chart shows, for screen readers.
    pub aria_label: &'a str,
    /// Legend of the bars and of the hatched parts, shown when some bar has a part.
    pub legend: Option<(&'a str, &'a str)>,
    /// Shown when there are no bars or every value is zero.
    pub empty_text: &'a str,
}

/// Longest label drawn beside a bar; longer ones end in `…`.
pub const MAX_LABEL_CHARS: usize = 22;

const BAR_W: f64 = 400.0;
const BAR_ROW: f64 = 32.0;

/// Horizontal bars, one row each: the label and value text above, the bar below, lengths
/// proportional to the largest value.
pub fn bar_chart_horizontal(bars: &[Bar], opts: &BarChartOptions<'_>) -> String {
    let has_part = bars.iter().any(|b| clean(b.part) > 0.0);
    let legend_h = if has_part && opts.legend.is_some() {
        22.0
    } else {
        0.0
    };
    let max = bars.iter().map(|b| clean(b.value)).fold(0.0, f64::max);
    let height = if bars.is_empty() {
        40.0
    } else {
        legend_h + bars.len() as f64 * BAR_ROW
    };
    let mut out = String::with_capacity(300 + bars.len() * 280);
    open_svg(&mut out, "chart", opts.aria_label, BAR_W, height);
    if bars.is_empty() || max == 0.0 {
        no_data(
            &mut out,
            BAR_W,
            if bars.is_empty() {
                24.0
            } else {
                legend_h + 12.0
            },
            opts.empty_text,
        );
    }
    if has_part {
        hatch_defs(&mut out, opts.id);
        if let Some((v, p)) = opts.legend {
            legend(&mut out, opts.id, v, p);
        }
    }
    let full = BAR_W - 2.0;
    let values: Vec<f64> = bars.iter().map(|b| b.value).collect();
    let widths = scale(&values, max, full, 1.0);
    let parts: Vec<f64> = bars.iter().map(|b| b.part.min(b.value)).collect();
    let part_widths = scale(&parts, max, full, 1.0);
    for (i, bar) in bars.iter().enumerate() {
        let y = legend_h + i as f64 * BAR_ROW;
        let _ = write!(
            out,
            r#"<g><title>{}</title><text x="1" y="{}">{}</text><text class="e" x="{}" y="{}">{}</text>"#,
            escape(&bar.title),
            num(y + 13.0),
            escape(&truncate(&bar.label, MAX_LABEL_CHARS)),
            num(BAR_W - 1.0),
            num(y + 13.0),
            escape(&bar.value_text)
        );
        let (w, pw) = (widths[i], part_widths[i].min(widths[i]));
        if w > 0.0 {
            let _ = write!(
                out,
                r#"<rect class="b" x="1" y="{}" width="{}" height="11"/>"#,
                num(y + 18.0),
                num(w)
            );
        }
        if pw > 0.0 {
            let _ = write!(
                out,
                r#"<rect class="p" fill="url(#{}-h)" x="{}" y="{}" width="{}" height="11"/>"#,
                escape(opts.id),
                num(1.0 + w - pw),
                num(y + 18.0),
                num(pw)
            );
        }
        out.push_str("</g>\n");
    }
    out.push_str("</svg>");
    out
}

/// One column of [`column_chart`].
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// Short name on the x axis ("6 Jan"), drawn under a few evenly spaced columns.
    pub label: String,
    /// Height of the column.
    pub value: f64,
    /// Part of `value` stacked on top, hatched (failures); 0 for none.
    pub part: f64,
    /// Tooltip: the period and its figures.
    pub title: String,
}

/// Options of [`column_chart`].
#[derive(Debug, Clone, Copy)]
pub struct ColumnChartOptions<'a> {
    /// Prefix of the ids inside the chart, unique in the page.
    pub id: &'a str,
    /// What the chart shows, for screen readers.
    pub aria_label: &'a str,
    /// Legend of the columns and of their hatched parts.
    pub legend: (&'a str, &'a str),
    /// Unit written after the y axis maximum ("operations").
    pub unit: &'a str,
    /// Shown when there are no columns or every value is zero.
    pub empty_text: &'a str,
}

/// Most x-axis labels a column chart draws, so they never overlap.
pub const MAX_X_LABELS: usize = 4;

const COL_W: f64 = 480.0;
const COL_H: f64 = 200.0;
const COL_TOP: f64 = 46.0;
const COL_BOTTOM: f64 = 174.0;

/// Vertical columns over time with a hatched part stacked on top, a y axis topped by a round
/// maximum, a legend, and at most [`MAX_X_LABELS`] x-axis labels.
pub fn column_chart(columns: &[Column], opts: &ColumnChartOptions<'_>) -> String {
    let max = columns.iter().map(|c| clean(c.value)).fold(0.0, f64::max);
    let top = nice_ceiling(max);
    let mut out = String::with_capacity(600 + columns.len() * 160);
    open_svg(&mut out, "chart cols", opts.aria_label, COL_W, COL_H);
    hatch_defs(&mut out, opts.id);
    legend(&mut out, opts.id, opts.legend.0, opts.legend.1);
    let _ = write!(
        out,
        r#"<text class="m" y="{}">{} {}</text><path class="gr" d="M0 {}H{}"/><path class="ax" d="M0 {}H{}"/>"#,
        num(COL_TOP - 5.0),
        num(if max == 0.0 { 0.0 } else { top }),
        escape(opts.unit),
        num(COL_TOP),
        num(COL_W),
        num(COL_BOTTOM),
        num(COL_W)
    );
    if max == 0.0 {
        no_data(
            &mut out,
            COL_W,
            (COL_TOP + COL_BOTTOM) / 2.0,
            opts.empty_text,
        );
    }
    let n = columns.len().max(1) as f64;
    let slot = COL_W / n;
    let bar_w = (slot * 0.8).min(40.0);
    let full = COL_BOTTOM - COL_TOP;
    let values: Vec<f64> = columns.iter().map(|c| c.value).collect();
    let parts: Vec<f64> = columns.iter().map(|c| c.part.min(c.value)).collect();
    let heights = scale(&values, top, full, 1.0);
    let part_heights = scale(&parts, top, full, 1.0);
    for (i, col) in columns.iter().enumerate() {
        let (h, ph) = (heights[i], part_heights[i].min(heights[i]));
        let x = i as f64 * slot + (slot - bar_w) / 2.0;
        let _ = write!(out, "<g><title>{}</title>", escape(&col.title));
        if h > 0.0 {
            let _ = write!(
                out,
                r#"<rect class="b" x="{}" y="{}" width="{}" height="{}"/>"#,
                num(x),
                num(COL_BOTTOM - h),
                num(bar_w),
                num(h)
            );
        } else {
            // An empty period still gets a hover target for its tooltip.
            let _ = write!(
                out,
                r#"<rect fill="transparent" x="{}" y="{}" width="{}" height="{}"/>"#,
                num(x),
                num(COL_TOP),
                num(bar_w),
                num(full)
            );
        }
        if ph > 0.0 {
            let _ = write!(
                out,
                r#"<rect class="p" fill="url(#{}-h)" x="{}" y="{}" width="{}" height="{}"/>"#,
                escape(opts.id),
                num(x),
                num(COL_BOTTOM - h),
                num(bar_w),
                num(ph)
            );
        }
        out.push_str("</g>\n");
    }
    // Labels start under their column; one that would run off the right edge is left out, and
    // every second one is hidden on small screens, where the text is larger.
    let fitting = x_label_indices(columns.len()).into_iter().filter(|&i| {
        i as f64 * slot + (slot - bar_w) / 2.0 + text_width(&columns[i].label) <= COL_W
    });
    for (k, i) in fitting.enumerate() {
        let _ = write!(
            out,
            r#"<text{} x="{}" y="{}">{}</text>"#,
            if k % 2 == 1 { r#" class="xo""# } else { "" },
            num(i as f64 * slot + (slot - bar_w) / 2.0),
            num(COL_H - 4.0),
            escape(&columns[i].label)
        );
    }
    out.push_str("</svg>");
    out
}

/// Which columns get an x-axis label: the first, then evenly spaced, at most [`MAX_X_LABELS`].
fn x_label_indices(n: usize) -> Vec<usize> {
    if n == 0 {
        return Vec::new();
    }
    let step = n.div_ceil(MAX_X_LABELS).max(1);
    (0..n).step_by(step).collect()
}

/// What the burn-up chart draws ([`burnup_chart`]).
#[derive(Debug, Clone, Copy)]
pub struct Burnup<'a> {
    /// Migrated at the end of each day, oldest first.
    pub points: &'a [(time::Date, u64)],
    /// The plan's datasets.
    pub total: u64,
    /// The plan's start and end: its line runs from 0 to `total` between them.
    pub plan: (time::Date, time::Date),
    /// Today.
    pub today: time::Date,
    /// When every dataset is migrated: P50, P85, P95 (the fan from today).
    pub fan: Option<(time::Date, time::Date, time::Date)>,
}

const BURN_W: f64 = 480.0;
const BURN_H: f64 = 220.0;
const BURN_LEFT: f64 = 44.0;
const BURN_TOP: f64 = 24.0;
const BURN_BOTTOM: f64 = 196.0;

/// Migrated datasets over time against the plan's line, with the forecast's fan from today to
/// the P50 and P95 dates (P85 dashed), a "today" marker, a y axis in datasets with gridlines at
/// each quarter, dated x labels, and a read-out of every week's point on hover or focus.
pub fn burnup_chart(b: &Burnup<'_>) -> String {
    let first = b.points.first().map_or(b.plan.0, |p| p.0).min(b.plan.0);
    let last = [Some(b.plan.1), Some(b.today), b.fan.map(|f| f.2)]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(b.plan.1);
    let span = (last - first).whole_days().max(1) as f64;
    let x = |d: time::Date| {
        BURN_LEFT + (d - first).whole_days() as f64 / span * (BURN_W - BURN_LEFT - 8.0)
    };
    let top = b
        .total
        .max(b.points.iter().map(|p| p.1).max().unwrap_or(0))
        .max(1) as f64;
    let y = |v: f64| BURN_BOTTOM - v / top * (BURN_BOTTOM - BURN_TOP);
    let mut out = String::with_capacity(2000 + b.points.len() * 40);
    open_svg(
        &mut out,
        "chart burn",
        &format!(
            "Datasets migrated over time: {} of {} by {}, against the plan's line",
            b.points.last().map_or(0, |p| p.1),
            b.total,
            b.today
        ),
        BURN_W,
        BURN_H,
    );
    for q in 0..=4 {
        let v = top * f64::from(q) / 4.0;
        let _ = write!(
            out,
            r#"<path class="{}" d="M{} {}H{}"/><text class="m e" x="{}" y="{}">{}</text>"#,
            if q == 0 { "ax" } else { "gr" },
            num(BURN_LEFT),
            num(y(v)),
            num(BURN_W),
            num(BURN_LEFT - 4.0),
            num(y(v) + 4.0),
            num(v.round())
        );
    }
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
    let now = b.points.last().map_or(0.0, |p| p.1 as f64);
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
        // A read-out of every seventh day and the last one.
        let n = b.points.len();
        for (i, (d, v)) in b.points.iter().enumerate() {
            if !(n - 1 - i).is_multiple_of(7) {
                continue;
            }
            let _ = write!(
                out,
                r#"<circle class="dot" tabindex="0" cx="{}" cy="{}" r="3"><title>{d}: {v} of {} migrated</title></circle>"#,
                num(x(*d)),
                num(y(*v as f64)),
                b.total
            );
        }
    }
    let _ = write!(
        out,
        r#"<path class="td" d="M{} {}V{}"/>"#,
        num(x(b.today)),
        num(BURN_TOP),
        num(BURN_BOTTOM)
    );
    // Dated labels: the start, today and the plan's end, when they do not overlap.
    let mut placed: Vec<f64> = Vec::new();
    for (d, label) in [
        (first, first.to_string()),
        (b.today, format!("today {}", b.today)),
        (b.plan.1, format!("end {}", b.plan.1)),
    ] {
        let at = x(d).min(BURN_W - text_width(&label) * 0.6).max(0.0);
        if placed
            .iter()
            .any(|p| (p - at).abs() < text_width(&label) * 0.6)
        {
            continue;
        }
        placed.push(at);
        let _ = write!(
            out,
            r#"<text class="m" x="{}" y="{}">{}</text>"#,
            num(at),
            num(BURN_H - 6.0),
            escape(&label)
        );
    }
    out.push_str("</svg>");
    out
}

/// A progress bar for `percent` (clamped to 0–100, NaN as 0), with `role="progressbar"` and its
/// values for assistive technology. It stretches to its container's width.
pub fn progress_bar(percent: f64, aria_label: &str) -> String {
    let p = clean(percent).min(100.0);
    format!(
        r#"<svg class="pb" role="progressbar" aria-label="{}" aria-valuemin="0" aria-valuemax="100" aria-valuenow="{}" aria-valuetext="{}%" viewBox="0 0 100 6" preserveAspectRatio="none"><rect class="pt" width="100" height="6"/><rect class="pf" width="{}" height="6"/></svg>"#,
        escape(aria_label),
        num(p),
        num(p),
        num(p)
    )
}

/// A small line of `values` (oldest first) scaled between their minimum and maximum; one value
/// or equal values draw a flat line, none draw nothing. Non-finite values count as zero.
pub fn sparkline(values: &[f64], aria_label: &str) -> String {
    const W: f64 = 100.0;
    const H: f64 = 20.0;
    let vals: Vec<f64> = values
        .iter()
        .map(|v| if v.is_finite() { *v } else { 0.0 })
        .collect();
    let mut out = String::with_capacity(150 + vals.len() * 12);
    open_svg(&mut out, "chart spark", aria_label, W, H);
    if !vals.is_empty() {
        let lo = vals.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = vals.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let y = |v: f64| {
            if hi > lo {
                H - 1.0 - (v - lo) / (hi - lo) * (H - 2.0)
            } else {
                H / 2.0
            }
        };
        let points: Vec<(f64, f64)> = if vals.len() == 1 {
            vec![(0.0, y(vals[0])), (W, y(vals[0]))]
        } else {
            let step = W / (vals.len() - 1) as f64;
            vals.iter()
                .enumerate()
                .map(|(i, v)| (i as f64 * step, y(*v)))
                .collect()
        };
        out.push_str(r#"<polyline class="ln" points=""#);
        for (i, (x, y)) in points.iter().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            let _ = write!(out, "{},{}", num(*x), num(*y));
        }
        out.push_str(r#""/>"#);
    }
    out.push_str("</svg>");
    out
}

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
mod tests {
    use super::*;

    fn bar(label: &str, value: f64, part: f64) -> Bar {
        Bar {
            label: label.into(),
            value,
            part,
            value_text: format!("{value}"),
            title: format!("{label}: {value}"),
        }
    }

    const BAR_OPTS: BarChartOptions<'static> = BarChartOptions {
        id: "t",
        aria_label: "Operations by type",
        legend: Some(("succeeded", "failed")),
        empty_text: "No operations",
    };

    const COL_OPTS: ColumnChartOptions<'static> = ColumnChartOptions {
        id: "c",
        aria_label: "Operations over time",
        legend: ("succeeded", "failed"),
        unit: "operations",
        empty_text: "No operations",
    };

    /// The numeric value of the first `attr="…"` after each occurrence of `marker` in `svg`.
    fn attrs(svg: &str, marker: &str, attr: &str) -> Vec<f64> {
        svg.split(marker)
            .skip(1)
            .filter_map(|chunk| {
                let start = chunk.find(&format!(" {attr}=\""))? + attr.len() + 3;
                let end = start + chunk[start..].find('"')?;
                chunk[start..end].parse().ok()
            })
            .collect()
    }

    #[test]
    fn escape_covers_the_five_html_specials() {
        assert_eq!(
            escape(r#"<a href="x">Tom & 'Jerry'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;"
        );
        assert_eq!(escape("plain é ✓"), "plain é ✓");
        assert_eq!(escape(""), "");
    }

    #[test]
    fn numbers_have_at_most_two_decimals_and_never_nan() {
        let cases = [
            (0.0, "0"),
            (-0.0, "0"),
            (-0.001, "0"),
            (1.0, "1"),
            (1.5, "1.5"),
            (2.0 / 3.0, "0.67"),
            (123.456_789, "123.46"),
            (-4.25, "-4.25"),
            (1e9, "1000000000"),
            (f64::NAN, "0"),
            (f64::INFINITY, "0"),
            (f64::NEG_INFINITY, "0"),
        ];
        for (v, want) in cases {
            assert_eq!(num(v), want, "num({v})");
        }
    }

    #[test]
    fn nice_ceilings_are_round_and_not_below_the_value() {
        for (v, want) in [
            (0.0, 1.0),
            (1.0, 1.0),
            (3.0, 5.0),
            (7.0, 10.0),
            (11.0, 20.0),
            (240.0, 250.0),
            (0.3, 0.5),
            (f64::NAN, 1.0),
        ] {
            assert_eq!(nice_ceiling(v), want, "nice_ceiling({v})");
        }
    }

    #[test]
    fn truncation_counts_characters_not_bytes() {
        assert_eq!(truncate("short", 10), "short");
        assert_eq!(truncate("exactly10!", 10), "exactly10!");
        assert_eq!(truncate("ééééééééééé", 5), "éééé…");
    }

    #[test]
    fn bar_widths_are_proportional_to_values() {
        let svg = bar_chart_horizontal(
            &[
                bar("a", 100.0, 0.0),
                bar("b", 50.0, 0.0),
                bar("c", 25.0, 0.0),
            ],
            &BAR_OPTS,
        );
        let widths = attrs(&svg, r#"<rect class="b""#, "width");
        assert_eq!(widths, vec![398.0, 199.0, 99.5]);
        assert!(svg.starts_with(
            r#"<svg class="chart" role="img" aria-label="Operations by type" viewBox="0 0 400 96""#
        ));
        assert_eq!(svg.matches("<title>").count(), 3);
        assert!(svg.contains(">a</text>") && svg.contains(">50</text>"));
    }

    #[test]
    fn hatched_parts_sit_at_the_bar_end_and_never_exceed_it() {
        let svg = bar_chart_horizontal(&[bar("a", 100.0, 25.0), bar("b", 10.0, 40.0)], &BAR_OPTS);
        // The first of each is the legend's swatch.
        let widths = attrs(&svg, r#"<rect class="p" fill="url(#t-h)" x"#, "width");
        assert_eq!(widths, vec![11.0, 99.5, 39.8]);
        let xs = attrs(&svg, r#"<rect class="p" fill="url(#t-h)""#, "x");
        assert_eq!(xs, vec![16.0 + 9.0 * 13.0 + 12.0, 299.5, 1.0]);
        assert!(svg.contains(r#"<pattern id="t-h""#));
        assert!(svg.contains(">failed</text>"));
    }

    #[test]
    fn tiny_values_stay_visible() {
        let svg = bar_chart_horizontal(&[bar("big", 1e6, 0.0), bar("tiny", 1.0, 0.0)], &BAR_OPTS);
        assert_eq!(attrs(&svg, r#"<rect class="b""#, "width"), vec![398.0, 1.0]);
    }

    #[test]
    fn zeros_and_bad_numbers_draw_no_bars_and_no_nan() {
        let bars = [
            bar("z", 0.0, 0.0),
            Bar {
                value: f64::NAN,
                part: f64::NAN,
                ..bar("n", 0.0, 0.0)
            },
            Bar {
                value: f64::INFINITY,
                ..bar("i", 0.0, 0.0)
            },
            Bar {
                value: -5.0,
                part: f64::NEG_INFINITY,
                ..bar("neg", 0.0, 0.0)
            },
        ];
        let svg = bar_chart_horizontal(&bars, &BAR_OPTS);
        assert!(!svg.contains("NaN") && !svg.contains("inf"));
        assert!(!svg.contains(r#"<rect class="b""#));
        assert!(svg.contains("No operations"));
        assert_eq!(svg.matches("<g>").count(), 4);
    }

    #[test]
    fn an_empty_bar_chart_says_so() {
        let svg = bar_chart_horizontal(&[], &BAR_OPTS);
        assert!(svg.contains(">No operations</text>"));
        assert!(!svg.contains("<g>"));
        assert!(svg.ends_with("</svg>"));
    }

    #[test]
    fn a_single_bar_fills_the_width() {
        let svg = bar_chart_horizontal(&[bar("only", 3.0, 0.0)], &BAR_OPTS);
        assert_eq!(attrs(&svg, r#"<rect class="b""#, "width"), vec![398.0]);
        assert!(!svg.contains("<pattern"), "no hatch without parts");
    }

    #[test]
    fn long_labels_are_cut_but_titles_keep_them() {
        let long = "x".repeat(40);
        let svg = bar_chart_horizontal(&[bar(&long, 1.0, 0.0)], &BAR_OPTS);
        assert!(svg.contains(&format!(">{}…</text>", "x".repeat(MAX_LABEL_CHARS - 1))));
        assert!(svg.contains(&format!("<title>{long}: 1</title>")));
    }

    fn phase_row(
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

    const GANTT_OPTS: GanttOptions<'static> = GanttOptions {
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
            r#"<svg class="chart gantt" role="img" aria-label="Timeline" viewBox="0 0 1000 194">"#
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

    #[test]
    fn chart_text_is_escaped_everywhere() {
        let evil = "<script>alert(1)</script>\"'&";
        let b = Bar {
            label: evil.into(),
            value: 2.0,
            part: 1.0,
            value_text: evil.into(),
            title: evil.into(),
        };
        let opts = BarChartOptions {
            id: "x\"y",
            aria_label: evil,
            legend: Some((evil, evil)),
            empty_text: evil,
        };
        let col = Column {
            label: evil.into(),
            value: 1.0,
            part: 0.0,
            title: evil.into(),
        };
        let copts = ColumnChartOptions {
            id: "x'y",
            aria_label: evil,
            legend: (evil, evil),
            unit: evil,
            empty_text: evil,
        };
        for svg in [
            bar_chart_horizontal(&[b], &opts),
            bar_chart_horizontal(&[], &opts),
            column_chart(&[col], &copts),
            column_chart(&[], &copts),
            progress_bar(10.0, evil),
            sparkline(&[1.0], evil),
            gantt(
                &[GanttRow {
                    label: evil.into(),
                    status_text: evil.into(),
                    title: evil.into(),
                    milestones: vec![GanttMilestone {
                        day: 1.0,
                        mark: MilestoneMark::Missed,
                        title: evil.into(),
                    }],
                    projected_end: Some((30.0, evil.into())),
                    ..phase_row("x", 0.0, 20.0, GanttStatus::Blocked, 5.0)
                }],
                &GanttOptions {
                    id: "x\"y",
                    aria_label: evil,
                    today: Some(3.0),
                    today_label: evil,
                    ..GANTT_OPTS
                },
            ),
        ] {
            assert!(!svg.contains("<script"), "{svg}");
            assert!(!svg.contains("\"'&"), "{svg}");
            assert!(
                svg.contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;"),
                "{svg}"
            );
        }
    }

    fn col(value: f64, part: f64) -> Column {
        Column {
            label: format!("L{value}"),
            value,
            part,
            title: format!("T{value}"),
        }
    }

    #[test]
    fn columns_are_proportional_to_a_round_maximum() {
        let svg = column_chart(
            &[
                col(200.0, 0.0),
                col(100.0, 50.0),
                col(0.0, 0.0),
                col(40.0, 0.0),
            ],
            &COL_OPTS,
        );
        // 200 → maximum 200; the plot is 128 units tall.
        // The first of each is the legend's swatch.
        let heights = attrs(&svg, r#"<rect class="b""#, "height");
        assert_eq!(heights, vec![11.0, 128.0, 64.0, 25.6]);
        let parts = attrs(&svg, r#"<rect class="p" fill="url(#c-h)" x"#, "height");
        assert_eq!(parts, vec![11.0, 32.0]);
        assert!(svg.contains(">200 operations</text>"));
        // The empty period keeps a transparent hover target with its tooltip.
        assert!(svg.contains(r#"<g><title>T0</title><rect fill="transparent""#));
        assert_eq!(svg.matches("<title>").count(), 4);
    }

    #[test]
    fn x_labels_are_sparse() {
        assert_eq!(x_label_indices(0), Vec::<usize>::new());
        assert_eq!(x_label_indices(1), vec![0]);
        assert_eq!(x_label_indices(4), vec![0, 1, 2, 3]);
        assert_eq!(x_label_indices(60), vec![0, 15, 30, 45]);
        assert_eq!(x_label_indices(61), vec![0, 16, 32, 48]);
        let cols: Vec<Column> = (0..720).map(|i| col(i as f64, 0.0)).collect();
        let svg = column_chart(&cols, &COL_OPTS);
        assert_eq!(svg.matches(">L").count(), MAX_X_LABELS);
        assert_eq!(svg.matches(r#"<text class="xo""#).count(), MAX_X_LABELS / 2);
    }

    #[test]
    fn x_labels_never_overlap_nor_leave_the_chart() {
        for n in 1..=120 {
            let cols: Vec<Column> = (0..n)
                .map(|i| Column {
                    label: "01 Mar 13:00".into(),
                    ..col(i as f64, 0.0)
                })
                .collect();
            let svg = column_chart(&cols, &COL_OPTS);
            // (class, x) of each x-axis label, in order.
            let labels: Vec<(String, f64)> = svg
                .split("<text")
                .skip(1)
                .filter(|t| t.contains(">01 Mar 13:00</text>"))
                .map(|t| {
                    let class = t
                        .split("class=\"")
                        .nth(1)
                        .map_or("", |c| c.split('"').next().unwrap());
                    (
                        class.to_owned(),
                        attrs(&format!("<text{t}"), "<text", "x")[0],
                    )
                })
                .collect();
            // On large screens every label shows at 12 units, on small ones every other label at
            // 20 units (at most 0.65 em a character).
            for (per_char, shown) in [
                (7.8, labels.iter().collect::<Vec<_>>()),
                (
                    13.0,
                    labels.iter().filter(|(c, _)| !c.contains("xo")).collect(),
                ),
            ] {
                let w = 12.0 * per_char;
                let spans: Vec<(f64, f64)> = shown
                    .iter()
                    .map(|(c, x)| {
                        if c.contains('e') {
                            (x - w, *x)
                        } else {
                            (*x, x + w)
                        }
                    })
                    .collect();
                for (a, b) in spans.iter().zip(spans.iter().skip(1)) {
                    assert!(a.1 <= b.0, "n={n}: {spans:?}");
                }
                assert!(
                    spans.iter().all(|(l, r)| *l >= 0.0 && *r <= COL_W),
                    "n={n}: {spans:?}"
                );
            }
        }
    }

    #[test]
    fn all_zero_and_empty_column_charts_say_so_without_nan() {
        let odd = Column {
            value: f64::NAN,
            part: f64::INFINITY,
            ..col(0.0, 0.0)
        };
        for cols in [vec![], vec![col(0.0, 0.0); 5], vec![odd]] {
            let svg = column_chart(&cols, &COL_OPTS);
            assert!(svg.contains(">No operations</text>"), "{svg}");
            assert!(svg.contains(">0 operations</text>"));
            assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");
            assert!(
                !svg.contains(r#"<rect class="b" x"#),
                "only the legend is solid"
            );
        }
    }

    #[test]
    fn progress_bars_clamp_and_expose_their_value() {
        let svg = progress_bar(37.864, "Datasets migrated");
        assert!(svg.contains(r#"role="progressbar""#));
        assert!(
            svg.contains(r#"aria-valuenow="37.86""#)
                && svg.contains(r#"aria-valuemin="0""#)
                && svg.contains(r#"aria-valuemax="100""#)
        );
        assert!(svg.contains(r#"<rect class="pf" width="37.86""#));
        assert!(progress_bar(250.0, "x").contains(r#"aria-valuenow="100""#));
        assert!(progress_bar(-3.0, "x").contains(r#"aria-valuenow="0""#));
        assert!(progress_bar(f64::NAN, "x").contains(r#"<rect class="pf" width="0""#));
    }

    #[test]
    fn sparklines_scale_between_min_and_max() {
        assert_eq!(
            sparkline(&[0.0, 5.0, 10.0], "ops"),
            r#"<svg class="chart spark" role="img" aria-label="ops" viewBox="0 0 100 20"><polyline class="ln" points="0,19 50,10 100,1"/></svg>"#
        );
        assert!(sparkline(&[7.0], "one").contains(r#"points="0,10 100,10""#));
        assert!(sparkline(&[3.0, 3.0, 3.0], "flat").contains(r#"points="0,10 50,10 100,10""#));
        assert!(!sparkline(&[], "none").contains("polyline"));
        let odd = sparkline(&[f64::NAN, 1.0, f64::INFINITY], "odd");
        assert!(!odd.contains("NaN") && !odd.contains("inf"));
        assert!(odd.contains(r#"points="0,19 50,1 100,19""#));
    }
}
