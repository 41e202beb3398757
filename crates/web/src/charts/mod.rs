//! Every SVG chart of the pages and reports: pure functions from numbers and labels to an SVG
//! string.
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
use std::sync::OnceLock;

pub mod axis;
pub mod burndown;
pub mod burnup;
pub mod gantt;
pub mod line;

pub use axis::Unit;
pub use burndown::{BurndownSeries, burndown_chart};
pub use burnup::{Burnup, burnup, burnup_chart};
pub use gantt::{
    GANTT_LABEL_CHARS, GanttMilestone, GanttOptions, GanttRow, GanttStatus, MilestoneMark, gantt,
};
pub use line::{LineChart, LineStyle, Rendered, Series, Size, line_chart};

/// The stylesheet the charts' class names need. Colours are CSS variables with light fallbacks,
/// so the page decides the scheme (`--fg`, `--muted`, `--bar`, `--err`, `--grid`, `--bg`).
pub const CSS: &str = "\
svg.chart{display:block;width:100%;height:auto;font-size:12px}\
:root svg.chart text{fill:var(--fg,#1b1f24)}\
:root svg.chart .m{fill:var(--muted,#50575f)}\
:root svg.chart .e{text-anchor:end}\
:root svg.chart .c{text-anchor:middle}\
:root svg.chart .b{fill:var(--bar,#1d5fd1)}\
:root svg.chart .p{stroke:var(--err,#b42318);stroke-width:1}\
:root svg.chart .hs{fill:var(--err,#b42318)}\
:root svg.chart .hb{fill:var(--bg,#fff)}\
:root svg.chart .ax{stroke:var(--muted,#50575f);stroke-width:1}\
:root svg.chart .gr{stroke:var(--grid,#d0d5db);stroke-width:1;stroke-dasharray:3 3}\
:root svg.chart .ln{fill:none;stroke:var(--bar,#1d5fd1);stroke-width:1.5;vector-effect:non-scaling-stroke}\
:root svg.chart .a{fill:var(--bar,#1d5fd1);fill-opacity:.18}\
:root svg.chart .dl{fill:none;stroke:var(--err,#b42318);stroke-width:1.5}\
:root svg.chart .pt{fill:var(--bar,#1d5fd1)}\
:root svg.chart .cl{fill:var(--err,#b42318)}\
:root svg.chart .brk{stroke:var(--bg,#fff);stroke-width:3}\
:root svg.chart .ro line{stroke:var(--fg,#1b1f24);stroke-width:1;stroke-dasharray:2 2}\
:root svg.chart .ro rect{fill:var(--bg,#fff);stroke:var(--muted,#50575f);fill-opacity:.95}\
svg.chart[data-ro-x]{touch-action:pan-y;cursor:crosshair}\
svg.chart[data-ro-x]:focus-visible{outline:2px solid var(--link,#1d5fd1);outline-offset:2px}\
svg.pb{display:block;width:100%;height:.9rem}\
.lcharts{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,20rem),1fr));gap:.5rem 1rem;margin-top:.75rem}\
.lcharts figure{margin:0}\
.lcharts figcaption{font-size:.875rem}\
svg.chart.gantt{font-size:13px;min-width:50rem}\
svg.gantt .lg{font-size:12px}\
:root svg.gantt .zb{fill:var(--card,#f4f6f8)}\
:root svg.gantt .gd{fill:var(--ok,#17672e)}\
:root svg.gantt .gt{fill:var(--bg,#fff);stroke:var(--bar,#1d5fd1);stroke-width:1.5}\
:root svg.gantt .gn{fill:var(--bg,#fff);stroke:var(--muted,#50575f);stroke-width:1.5;stroke-dasharray:4 3}\
:root svg.gantt .gx{stroke:var(--err,#b42318);stroke-width:1.5}\
:root svg.gantt .td{stroke:var(--fg,#1b1f24);stroke-width:2}\
:root svg.gantt .mr{fill:var(--fg,#1b1f24);stroke:var(--bg,#fff);stroke-width:1.5}\
:root svg.gantt .mp,:root svg.gantt .mm{fill:var(--bg,#fff);stroke:var(--fg,#1b1f24);stroke-width:1.5}\
:root svg.gantt .mm,:root svg.gantt .mx{stroke:var(--err,#b42318)}\
:root svg.gantt .mx{stroke-width:1.5}\
:root svg.gantt .pj{stroke:var(--err,#b42318);stroke-width:2;stroke-dasharray:2 3}\
svg.spark{width:6rem;height:1.25rem;display:inline-block;vertical-align:middle}\
:root svg.burn .pl{fill:none;stroke:var(--muted,#50575f);stroke-width:1.5;stroke-dasharray:6 4}\
:root svg.burn .fan{fill:var(--bar,#1d5fd1);fill-opacity:.15}\
:root svg.burn .f85{fill:none;stroke:var(--bar,#1d5fd1);stroke-width:1.5;stroke-dasharray:3 3}\
:root svg.burn .dot{fill:var(--bar,#1d5fd1)}\
:root svg.burn .td{stroke:var(--fg,#1b1f24);stroke-width:1.5}\
:root svg.pb .pt{fill:var(--grid,#d0d5db)}\
:root svg.pb .pf{fill:var(--bar,#1d5fd1)}\
@media (max-width:40em){svg.chart{font-size:14px}svg.cols{font-size:20px}svg.cols .xo{display:none}}\
@media (forced-colors:active){:root svg.chart .b,:root svg.pb .pf,:root svg.gantt .gd,:root svg.gantt .mr{fill:CanvasText}:root svg.chart text{fill:CanvasText}:root svg.gantt .td{stroke:CanvasText}}\
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

/// The opening tag of a chart's `<svg>`, with its role, label and coordinate system, left open
/// for more attributes.
fn open_svg_tag(out: &mut String, class: &str, aria_label: &str, w: f64, h: f64) {
    let _ = write!(
        out,
        r#"<svg class="{class}" role="img" aria-label="{}" viewBox="0 0 {} {}" xmlns="http://www.w3.org/2000/svg""#,
        escape(aria_label),
        num(w),
        num(h)
    );
}

/// The opening tag of a chart's `<svg>` and its own style ([`inline_style`]).
fn open_svg(out: &mut String, class: &str, aria_label: &str, w: f64, h: f64) {
    open_svg_tag(out, class, aria_label, w, h);
    out.push('>');
    inline_style(out, class);
}

/// The paint rules of [`CSS`] (every rule of its `:root svg.…` selectors), with each colour
/// variable replaced by its fallback: (the chart class the rule applies to, the rule).
fn paint_rules() -> &'static [(String, String)] {
    static RULES: OnceLock<Vec<(String, String)>> = OnceLock::new();
    RULES.get_or_init(|| {
        let mut out = Vec::new();
        let mut rest = CSS;
        while let Some(open) = rest.find('{') {
            let selectors = &rest[..open];
            if selectors.starts_with('@') {
                // A media query: its rules are for the page only.
                let mut depth = 0;
                let end = rest[open..]
                    .char_indices()
                    .find(|&(_, c)| {
                        depth += match c {
                            '{' => 1,
                            '}' => -1,
                            _ => 0,
                        };
                        depth == 0
                    })
                    .map_or(rest.len(), |(i, _)| open + i + 1);
                rest = &rest[end..];
                continue;
            }
            let close = rest[open..].find('}').map_or(rest.len(), |i| open + i);
            let mut decls = rest[open + 1..close].to_owned();
            while let Some(v) = decls.find("var(") {
                let comma = decls[v..].find(',').map(|i| v + i);
                let end = decls[v..].find(')').map(|i| v + i);
                match (comma, end) {
                    (Some(c), Some(e)) if c < e => {
                        let fallback = decls[c + 1..e].to_owned();
                        decls.replace_range(v..=e, &fallback);
                    }
                    _ => break,
                }
            }
            for sel in selectors.split(',') {
                if let Some(sel) = sel.strip_prefix(":root ") {
                    let family = sel
                        .strip_prefix("svg.")
                        .and_then(|f| f.split([' ', '.', '[', ':']).next())
                        .unwrap_or_default();
                    out.push((family.to_owned(), format!("{sel}{{{decls}}}")));
                }
            }
            rest = &rest[(close + 1).min(rest.len())..];
        }
        out
    })
}

/// A `<style>` inside a chart with the colours of its classes (`class` is its `class`
/// attribute), so the chart renders the same outside the page (the PDF report's SVG renderer
/// reads no page stylesheet). The page's own rules are more specific ([`CSS`]: `:root svg…`),
/// so they win in a browser and keep the dark scheme and forced colours. The read-out's rules
/// are left out: only a page with its script shows a read-out.
fn inline_style(out: &mut String, class: &str) {
    inline_style_of(out, class, None);
}

/// [`inline_style`] with only the rules whose selector, after the chart's class, is one of
/// `only` (`".ln"`, `"text"`), for charts that use a few classes.
fn inline_style_of(out: &mut String, class: &str, only: Option<&[&str]>) {
    out.push_str("<style>");
    for (family, rule) in paint_rules() {
        if !class.split(' ').any(|c| c == family) {
            continue;
        }
        let key = rule
            .split_once(' ')
            .map_or("", |(_, k)| k.split('{').next().unwrap_or(""));
        if key.starts_with(".ro") || only.is_some_and(|o| !o.contains(&key)) {
            continue;
        }
        out.push_str(rule);
    }
    out.push_str("</style>");
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
    open_svg_tag(&mut out, "chart", opts.aria_label, BAR_W, height);
    out.push('>');
    inline_style_of(
        &mut out,
        "chart",
        Some(&["text", ".m", ".e", ".c", ".b", ".p", ".hs", ".hb"]),
    );
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
const COL_LEFT: f64 = 44.0;
const COL_TOP: f64 = 46.0;
const COL_BOTTOM: f64 = 174.0;

/// Vertical columns over time with a hatched part stacked on top, a y axis of "nice" ticks
/// with gridlines, a legend, and at most [`MAX_X_LABELS`] x-axis labels. The scale fits the
/// body of the data ([`axis::body_top`]): a column above it is cut at the top, with a break
/// and a marker, and its true value in its tooltip and the read-out.
pub fn column_chart(columns: &[Column], opts: &ColumnChartOptions<'_>) -> String {
    let values: Vec<f64> = columns.iter().map(|c| clean(c.value)).collect();
    let max = values.iter().copied().fold(0.0, f64::max);
    let (fitted, _) = axis::body_top(values.iter().copied());
    let (ticks, labels) = axis::axis(Unit::Count, fitted, 5);
    let top = ticks.last().copied().unwrap_or(1.0);
    let full = COL_BOTTOM - COL_TOP;
    let y = |v: f64| COL_BOTTOM - v.min(top) / top * full;
    let n = columns.len().max(1) as f64;
    let slot = (COL_W - COL_LEFT) / n;
    let bar_w = (slot * 0.8).min(40.0);
    let left = |i: usize| COL_LEFT + i as f64 * slot + (slot - bar_w) / 2.0;
    let mut out = String::with_capacity(1200 + columns.len() * 260);
    open_svg_tag(&mut out, "chart cols", opts.aria_label, COL_W, COL_H);
    if max > 0.0 {
        let _ = write!(
            out,
            r#" tabindex="0" data-ro-plot="{} {} {} {}" data-ro-x=""#,
            num(COL_LEFT),
            num(COL_TOP),
            num(COL_W),
            num(COL_BOTTOM)
        );
        for i in 0..columns.len() {
            if i > 0 {
                out.push(' ');
            }
            out.push_str(&num(left(i) + bar_w / 2.0));
        }
        out.push_str(r#"" data-ro-t=""#);
        for (i, c) in columns.iter().enumerate() {
            if i > 0 {
                out.push('|');
            }
            out.push_str(&escape(&c.label));
        }
        out.push('"');
    }
    out.push('>');
    inline_style(&mut out, "chart cols");
    hatch_defs(&mut out, opts.id);
    legend(&mut out, opts.id, opts.legend.0, opts.legend.1);
    let _ = write!(
        out,
        r#"<text class="m" y="{}">{}</text>"#,
        num(COL_TOP - 12.0),
        escape(opts.unit)
    );
    for (i, (v, text)) in ticks.iter().zip(&labels).enumerate() {
        let _ = write!(
            out,
            r#"<path class="{}" d="M{} {}H{}"/><text class="m e" x="{}" y="{}">{}</text>"#,
            if i == 0 { "ax" } else { "gr" },
            num(COL_LEFT),
            num(y(*v)),
            num(COL_W),
            num(COL_LEFT - 5.0),
            num(y(*v) + 4.0),
            escape(text)
        );
    }
    if max == 0.0 {
        no_data(
            &mut out,
            COL_W,
            (COL_TOP + COL_BOTTOM) / 2.0,
            opts.empty_text,
        );
    }
    let parts: Vec<f64> = columns
        .iter()
        .map(|c| clean(c.part).min(clean(c.value)))
        .collect();
    for (i, col) in columns.iter().enumerate() {
        let v = values[i];
        let h = if v > 0.0 {
            (v.min(top) / top * full).max(1.0)
        } else {
            0.0
        };
        let ph = if parts[i] > 0.0 {
            (parts[i].min(top) / top * full).clamp(1.0, h)
        } else {
            0.0
        };
        let x = left(i);
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
        if v > top {
            // Cut: a break across the column and a marker above it.
            let _ = write!(
                out,
                r#"<path class="brk" d="M{} {}h{}"/><path class="cl" d="M{} {}l-4-6h8z"/>"#,
                num(x - 1.0),
                num(COL_TOP + 8.0),
                num(bar_w + 2.0),
                num(x + bar_w / 2.0),
                num(COL_TOP - 1.0)
            );
        }
        out.push_str("</g>\n");
    }
    // Labels start under their column; one that would run off the right edge is left out, and
    // every second one is hidden on small screens, where the text is larger.
    let fitting = x_label_indices(columns.len())
        .into_iter()
        .filter(|&i| left(i) + text_width(&columns[i].label) <= COL_W);
    for (k, i) in fitting.enumerate() {
        let _ = write!(
            out,
            r#"<text{} x="{}" y="{}">{}</text>"#,
            if k % 2 == 1 { r#" class="xo""# } else { "" },
            num(left(i)),
            num(COL_H - 4.0),
            escape(&columns[i].label)
        );
    }
    if max > 0.0 {
        for (name, of) in [(opts.unit, &values), (opts.legend.1, &parts)] {
            let _ = write!(out, r#"<g data-ro-name="{}" data-ro-v=""#, escape(name));
            for (i, v) in of.iter().enumerate() {
                if i > 0 {
                    out.push('|');
                }
                out.push_str(&escape(&axis::value_text(Unit::Count, *v)));
            }
            out.push_str(r#""/>"#);
        }
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

/// A progress bar for `percent` (clamped to 0–100, NaN as 0), with `role="progressbar"` and its
/// values for assistive technology. It stretches to its container's width.
pub fn progress_bar(percent: f64, aria_label: &str) -> String {
    let p = clean(percent).min(100.0);
    let mut out = String::with_capacity(400);
    let _ = write!(
        out,
        r#"<svg class="pb" role="progressbar" aria-label="{}" aria-valuemin="0" aria-valuemax="100" aria-valuenow="{}" aria-valuetext="{}%" viewBox="0 0 100 6" preserveAspectRatio="none" xmlns="http://www.w3.org/2000/svg">"#,
        escape(aria_label),
        num(p),
        num(p),
    );
    inline_style(&mut out, "pb");
    let _ = write!(
        out,
        r#"<rect class="pt" width="100" height="6"/><rect class="pf" width="{}" height="6"/></svg>"#,
        num(p)
    );
    out
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
    open_svg_tag(&mut out, "chart spark", aria_label, W, H);
    out.push('>');
    inline_style_of(&mut out, "chart spark", Some(&[".ln"]));
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

#[cfg(test)]
pub(crate) mod tests {
    use super::gantt::tests::{GANTT_OPTS, phase_row};
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
    pub(crate) fn attrs(svg: &str, marker: &str, attr: &str) -> Vec<f64> {
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
        assert!(svg.contains(">200</text>") && svg.contains(">operations</text>"));
        assert!(svg.contains(">50</text>") && svg.contains(">150</text>"));
        assert!(!svg.contains(r#"class="cl""#), "nothing is clipped");
        // The empty period keeps a transparent hover target with its tooltip.
        assert!(svg.contains(r#"<g><title>T0</title><rect fill="transparent""#));
        assert_eq!(svg.matches("<title>").count(), 4);
    }

    #[test]
    fn a_busy_day_is_cut_and_does_not_flatten_the_others() {
        let mut cols: Vec<Column> = (0..14).map(|i| col(100.0 + f64::from(i), 5.0)).collect();
        cols[9] = Column {
            title: "busy day: 9,000 operations".into(),
            ..col(9_000.0, 40.0)
        };
        let svg = column_chart(&cols, &COL_OPTS);
        // The scale fits the ordinary days (about 100), not the busy one.
        assert!(
            svg.contains(">200</text>") && !svg.contains(">9k</text>"),
            "{svg}"
        );
        let heights = attrs(&svg, r#"<rect class="b""#, "height");
        // Legend swatch, then the columns: an ordinary day fills about half the plot.
        assert!(heights[1] > 60.0, "{heights:?}");
        assert_eq!(heights[10], 128.0, "the busy day reaches the top");
        assert_eq!(svg.matches(r#"<path class="cl""#).count(), 1);
        assert_eq!(svg.matches(r#"<path class="brk""#).count(), 1);
        // Its true value stays in the tooltip and the read-out.
        assert!(svg.contains("<title>busy day: 9,000 operations</title>"));
        assert!(svg.contains("|9k|"), "{svg}");
        assert!(svg.contains(r#"data-ro-t="L100|L101|"#), "{svg}");
        assert!(!svg.contains("NaN") && !svg.contains("inf"));
    }

    #[test]
    fn charts_carry_their_own_colours() {
        let svg = column_chart(&[col(3.0, 1.0)], &COL_OPTS);
        let style = &svg[svg.find("<style>").unwrap()..svg.find("</style>").unwrap()];
        assert!(style.contains("svg.chart .b{fill:#1d5fd1}"), "{style}");
        assert!(!style.contains("var("), "{style}");
        assert!(!style.contains(":root"), "{style}");
        assert!(
            !style.contains("gantt"),
            "only the rules of its classes: {style}"
        );
        assert!(svg.contains(r#"xmlns="http://www.w3.org/2000/svg""#));
        let bar = progress_bar(50.0, "x");
        assert!(
            bar.contains("<style>svg.pb .pt{fill:#d0d5db}svg.pb .pf{fill:#1d5fd1}</style>"),
            "{bar}"
        );
        // The page's rules win over the chart's own: they are more specific.
        assert!(CSS.contains(":root svg.chart .b{fill:var(--bar,#1d5fd1)}"));
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
            assert!(svg.contains(">0</text>") && svg.contains(">operations</text>"));
            assert!(!svg.contains("data-ro-x"), "nothing to read out");
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
        let style = "<style>svg.chart .ln{fill:none;stroke:#1d5fd1;stroke-width:1.5;vector-effect:non-scaling-stroke}</style>";
        assert_eq!(
            sparkline(&[0.0, 5.0, 10.0], "ops"),
            format!(
                r#"<svg class="chart spark" role="img" aria-label="ops" viewBox="0 0 100 20" xmlns="http://www.w3.org/2000/svg">{style}<polyline class="ln" points="0,19 50,10 100,1"/></svg>"#
            )
        );
        assert!(sparkline(&[7.0], "one").contains(r#"points="0,10 100,10""#));
        assert!(sparkline(&[3.0, 3.0, 3.0], "flat").contains(r#"points="0,10 50,10 100,10""#));
        assert!(!sparkline(&[], "none").contains("polyline"));
        let odd = sparkline(&[f64::NAN, 1.0, f64::INFINITY], "odd");
        assert!(!odd.contains("NaN") && !odd.contains("inf"));
        assert!(odd.contains(r#"points="0,19 50,1 100,19""#));
    }
}
