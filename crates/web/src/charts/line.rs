//! Line charts over time: the resource panels, every named query and pushed series, the live
//! figures and the code burndown all draw through [`line_chart`].
//!
//! Each chart has a y axis of "nice" ticks with units and gridlines, time ticks on the local
//! time's minute, hour, day or week boundaries, lines that span the chart's time range (a
//! point sits where its time falls), a scale fitted to the body of the data with larger values
//! clipped under a marker that tells the true value, at most two points a pixel column, the
//! read-out's data as attributes ([`super::readout`]) and a visually hidden table of the
//! figures for screen readers.

use std::fmt::Write as _;

use time::UtcOffset;

use super::axis::{self, Unit};
use super::{escape, num, open_svg_tag};

/// How a series is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineStyle {
    /// A solid line over a lightly filled area (the first series of a panel).
    Area,
    /// A solid line.
    Line,
    /// A dashed line in the second colour (the second series of a panel).
    Dashed,
    /// A solid-coloured line with this dash pattern (`"6 3"`), for charts of many series
    /// told apart by pattern as well as by their labels.
    Pattern(&'static str),
}

/// One series of a [`line_chart`].
#[derive(Debug, Clone, Copy)]
pub struct Series<'a> {
    /// Its name in the legend, the read-out and the table.
    pub name: &'a str,
    /// (Unix seconds, value), oldest first; a non-finite value is a gap.
    pub points: &'a [(i64, f64)],
    /// How it is drawn.
    pub style: LineStyle,
    /// A value holds until the next one (a count read at each commit): drawn as steps.
    pub step: bool,
}

/// The size of a chart, in the units of its `viewBox` (it scales with its container).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    /// A live figure's chart: 360 × 150.
    Small,
    /// A panel's chart: 480 × 200.
    Panel,
    /// A chart across the page: 960 × 260.
    Wide,
}

impl Size {
    fn dims(self) -> (f64, f64) {
        match self {
            Size::Small => (360.0, 150.0),
            Size::Panel => (480.0, 200.0),
            Size::Wide => (960.0, 260.0),
        }
    }
}

/// What [`line_chart`] draws.
#[derive(Debug, Clone, Copy)]
pub struct LineChart<'a> {
    /// What the chart shows ("CPU in use"), for screen readers and the table's caption.
    pub title: &'a str,
    /// How the values are written.
    pub unit: Unit<'a>,
    /// The time range across the chart, Unix seconds.
    pub start: i64,
    /// Its end.
    pub end: i64,
    /// The local time the ticks and read-outs are written in.
    pub offset: UtcOffset,
    /// The series, drawn in order.
    pub series: &'a [Series<'a>],
    /// A fixed top (100 for a share in percent); `None` fits the body of the data.
    pub top: Option<f64>,
    /// The longest gap between two points, in seconds, a line is drawn across.
    pub max_gap: i64,
    /// Its size.
    pub size: Size,
    /// Shown in place of the lines when no series has a value in the range.
    pub empty_text: &'a str,
}

/// A rendered chart: the SVG, self-contained (it renders the same outside the page), and the
/// HTML table of its figures for screen readers, shown to nobody else.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rendered {
    /// The `<svg>` element.
    pub svg: String,
    /// A visually hidden `<table>` of the figures (empty when there are none).
    pub table: String,
}

impl Rendered {
    /// The chart followed by its table, for a page.
    pub fn html(&self) -> String {
        let mut s = String::with_capacity(self.svg.len() + self.table.len());
        s.push_str(&self.svg);
        s.push_str(&self.table);
        s
    }
}

/// Most read-out positions a chart carries; longer series are read in this many time bins.
pub const MAX_READOUT: usize = 120;
/// Most rows of the table of figures; longer series are summed up in this many time bins.
pub const MAX_TABLE_ROWS: usize = 24;
/// Most clip markers a chart draws.
const MAX_CLIP_MARKERS: usize = 40;

const LEFT: f64 = 66.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 28.0;
const BOTTOM: f64 = 22.0;

/// "1 hour", "90 minutes", "6 hours", "90 days".
pub fn duration_words(secs: i64) -> String {
    let plural = |n: i64, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
    match secs {
        s if s < 7_200 && s % 3_600 != 0 => plural((s / 60).max(1), "minute"),
        s if s < 2 * 86_400 => plural(s / 3_600, "hour"),
        s => plural(s / 86_400, "day"),
    }
}

/// Values of each series in `k` equal time bins of `start..end`: the lowest and highest, `None`
/// for a bin without a value.
fn bins(series: &[Series<'_>], start: i64, end: i64, k: usize) -> Vec<Vec<Option<(f64, f64)>>> {
    let span = (end - start).max(1) as f64;
    series
        .iter()
        .map(|s| {
            let mut out: Vec<Option<(f64, f64)>> = vec![None; k];
            for &(t, v) in s.points {
                if t < start || t > end || !v.is_finite() {
                    continue;
                }
                let i = (((t - start) as f64 / span * k as f64) as usize).min(k - 1);
                out[i] = Some(match out[i] {
                    None => (v, v),
                    Some((lo, hi)) => (lo.min(v), hi.max(v)),
                });
            }
            out
        })
        .collect()
}

/// A bin's value as the read-out and the table write it: one value, or its range.
fn range_text(unit: Unit<'_>, r: Option<(f64, f64)>) -> String {
    match r {
        None => "—".to_owned(),
        Some((lo, hi)) if lo == hi => axis::value_text(unit, lo),
        Some((lo, hi)) => format!(
            "{} – {}",
            axis::value_text(unit, lo),
            axis::value_text(unit, hi)
        ),
    }
}

/// One position of the read-out (and row of the table): where, when, and each series' text.
struct Reading {
    x: f64,
    when: String,
    values: Vec<String>,
}

/// The readings of a chart: one per distinct time when there are at most `max`, else `max`
/// equal time bins (each telling its lowest and highest value).
fn readings(c: &LineChart<'_>, max: usize, x: &dyn Fn(f64) -> f64) -> Vec<Reading> {
    let long = c.end - c.start > 86_400;
    let in_span = |t: i64| t >= c.start && t <= c.end;
    let total: usize = c
        .series
        .iter()
        .map(|s| s.points.iter().filter(|p| in_span(p.0)).count())
        .sum();
    if total <= max {
        let mut times: Vec<i64> = c
            .series
            .iter()
            .flat_map(|s| s.points.iter().filter(|p| in_span(p.0) && p.1.is_finite()))
            .map(|p| p.0)
            .collect();
        times.sort_unstable();
        times.dedup();
        if times.len() <= max {
            return times
                .iter()
                .map(|&t| Reading {
                    x: x(t as f64),
                    when: axis::moment_text(t, c.offset, long, false),
                    values: c
                        .series
                        .iter()
                        .map(|s| {
                            s.points
                                .iter()
                                .rev()
                                .find(|p| p.0 == t && p.1.is_finite())
                                .map_or("—".to_owned(), |p| axis::value_text(c.unit, p.1))
                        })
                        .collect(),
                })
                .collect();
        }
    }
    let b = bins(c.series, c.start, c.end, max);
    let width = (c.end - c.start) as f64 / max as f64;
    (0..max)
        .filter(|&i| b.iter().any(|s| s[i].is_some()))
        .map(|i| {
            let from = c.start + (i as f64 * width) as i64;
            let to = c.start + ((i + 1) as f64 * width) as i64;
            let days = width >= 86_400.0;
            Reading {
                x: x(from as f64 + width / 2.0),
                when: format!(
                    "{} – {}",
                    axis::moment_text(from, c.offset, long, days),
                    axis::moment_text(to, c.offset, long && (to - from) >= 86_400, days)
                ),
                values: b.iter().map(|s| range_text(c.unit, s[i])).collect(),
            }
        })
        .collect()
}

/// The paint class of a series' line and its dash pattern.
fn line_class(style: LineStyle) -> (&'static str, &'static str) {
    match style {
        LineStyle::Area | LineStyle::Line => ("ln", ""),
        LineStyle::Dashed => ("dl", "4 3"),
        LineStyle::Pattern(d) => ("ln", d),
    }
}

/// A line chart over time; see the module's documentation for what every chart has.
pub fn line_chart(c: &LineChart<'_>) -> Rendered {
    let (w, h) = c.size.dims();
    let (l, r, t, b) = (LEFT, w - RIGHT, TOP, h - BOTTOM);
    let start = c.start.min(c.end - 1);
    let span = (c.end - start).max(1) as f64;
    let x = |ts: f64| l + (ts - start as f64) / span * (r - l);
    let in_span = |ts: i64| ts >= start && ts <= c.end;
    let values = c
        .series
        .iter()
        .flat_map(|s| s.points.iter().filter(|p| in_span(p.0)).map(|p| p.1));
    let (fitted, _) = axis::body_top(values.clone());
    let any = values.clone().any(f64::is_finite);
    let top = c
        .top
        .filter(|v| v.is_finite() && *v > 0.0)
        .unwrap_or(fitted);
    let max_ticks = if c.size == Size::Small { 4 } else { 5 };
    let (ticks, labels) = axis::axis(c.unit, top, max_ticks);
    let top = ticks.last().copied().unwrap_or(1.0).max(f64::MIN_POSITIVE);
    let y = |v: f64| b - v.clamp(0.0, top) / top * (b - t);

    // Read-outs and the screen readers' label.
    let reads = readings(c, MAX_READOUT, &x);
    let summary: Vec<String> = c
        .series
        .iter()
        .map(|s| {
            let vals: Vec<f64> = s
                .points
                .iter()
                .filter(|p| in_span(p.0) && p.1.is_finite())
                .map(|p| p.1)
                .collect();
            match (
                vals.last(),
                vals.iter().copied().reduce(f64::min),
                vals.iter().copied().reduce(f64::max),
            ) {
                (Some(last), Some(lo), Some(hi)) => format!(
                    "{}: latest {}, lowest {}, highest {}",
                    s.name,
                    axis::value_text(c.unit, *last),
                    axis::value_text(c.unit, lo),
                    axis::value_text(c.unit, hi)
                ),
                _ => format!("{}: no values", s.name),
            }
        })
        .collect();
    let long = c.end - start > 86_400;
    let label = format!(
        "{}, {} to {} ({}). {}",
        c.title,
        axis::moment_text(start, c.offset, long, false),
        axis::moment_text(c.end, c.offset, long, false),
        duration_words(c.end - start),
        summary.join("; ")
    );
    let mut out = String::with_capacity(4096 + reads.len() * 40);
    open_svg_tag(&mut out, "chart line", &label, w, h);
    if any {
        let _ = write!(
            out,
            r#" tabindex="0" data-ro-plot="{} {} {} {}" data-ro-x=""#,
            num(l),
            num(t),
            num(r),
            num(b)
        );
        for (i, rd) in reads.iter().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            out.push_str(&num(rd.x));
        }
        out.push_str(r#"" data-ro-t=""#);
        for (i, rd) in reads.iter().enumerate() {
            if i > 0 {
                out.push('|');
            }
            out.push_str(&escape(&rd.when));
        }
        out.push('"');
    }
    out.push('>');
    super::inline_style(&mut out, "chart line");

    // Gridlines and the y axis's labels.
    for (i, (v, text)) in ticks.iter().zip(&labels).enumerate() {
        let _ = write!(
            out,
            r#"<path class="{}" d="M{} {}H{}"/><text class="m e" x="{}" y="{}">{}</text>"#,
            if i == 0 { "ax" } else { "gr" },
            num(l),
            num(y(*v)),
            num(r),
            num(l - 5.0),
            num(y(*v) + 4.0),
            escape(text)
        );
    }
    // Time ticks: a mark under the axis and a label, kept inside the chart.
    let max_time_ticks = ((r - l) / 72.0).floor().max(2.0) as usize;
    for (ts, text) in axis::time_ticks(start, c.end, c.offset, max_time_ticks) {
        let tx = x(ts as f64);
        let half = text.chars().count() as f64 * 3.6;
        let _ = write!(
            out,
            r#"<path class="ax" d="M{} {}v4"/><text class="m c" x="{}" y="{}">{}</text>"#,
            num(tx),
            num(b),
            num(tx.clamp(half, w - half)),
            num(h - 5.0),
            escape(&text)
        );
    }
    // The legend: a swatch and the name of each series.
    let mut lx = l;
    for s in c.series {
        let (class, dash) = line_class(s.style);
        let _ = write!(
            out,
            r#"<path class="{class}"{} d="M{} 12h16"/><text x="{}" y="16">{}</text>"#,
            if dash.is_empty() {
                String::new()
            } else {
                format!(r#" stroke-dasharray="{dash}""#)
            },
            num(lx),
            num(lx + 20.0),
            escape(&super::truncate(s.name, 40))
        );
        lx += 20.0 + super::truncate(s.name, 40).chars().count() as f64 * 7.0 + 14.0;
    }
    if !any {
        let _ = write!(
            out,
            r#"<text class="c m" x="{}" y="{}">{}</text></svg>"#,
            num((l + r) / 2.0),
            num((t + b) / 2.0),
            escape(c.empty_text)
        );
        return Rendered {
            svg: out,
            table: String::new(),
        };
    }
    let columns = (r - l).ceil() as usize;
    let mut markers = 0;
    for s in c.series {
        let (class, dash) = line_class(s.style);
        let dash_attr = if dash.is_empty() {
            String::new()
        } else {
            format!(r#" stroke-dasharray="{dash}""#)
        };
        // Runs of points joined by a line: a gap longer than `max_gap` or a missing value
        // breaks it.
        let mut runs: Vec<Vec<(f64, f64)>> = Vec::new();
        let mut last: Option<i64> = None;
        let mut clipped: Vec<(f64, i64, f64)> = Vec::new();
        for &(ts, v) in s.points.iter().filter(|p| in_span(p.0)) {
            if !v.is_finite() {
                last = None;
                continue;
            }
            let (px, py) = (x(ts as f64), y(v));
            if v > top {
                match clipped.last_mut() {
                    Some(m) if px - m.0 < 8.0 => {
                        if v > m.2 {
                            *m = (px, ts, v);
                        }
                    }
                    _ => clipped.push((px, ts, v)),
                }
            }
            match (last, runs.last_mut()) {
                (Some(prev), Some(run)) if ts - prev <= c.max_gap => {
                    if s.step
                        && let Some(&(_, prev_y)) = run.last()
                    {
                        run.push((px, prev_y));
                    }
                    run.push((px, py));
                }
                _ => runs.push(vec![(px, py)]),
            }
            last = Some(ts);
        }
        for run in runs {
            if let [(px, py)] = run[..] {
                let _ = write!(
                    out,
                    r#"<circle class="pt" cx="{}" cy="{}" r="2.5"/>"#,
                    num(px),
                    num(py)
                );
                continue;
            }
            let pts = axis::downsample(&run, l, columns);
            let mut d = String::with_capacity(pts.len() * 14);
            for (i, (px, py)) in pts.iter().enumerate() {
                let _ = write!(
                    d,
                    "{}{} {}",
                    if i == 0 { "M" } else { "L" },
                    num(*px),
                    num(*py)
                );
            }
            if s.style == LineStyle::Area {
                let _ = write!(
                    out,
                    r#"<path class="a" d="{d}L{} {}L{} {}Z"/>"#,
                    num(pts[pts.len() - 1].0),
                    num(b),
                    num(pts[0].0),
                    num(b)
                );
            }
            let _ = write!(out, r#"<path class="{class}"{dash_attr} d="{d}"/>"#);
        }
        for (px, ts, v) in clipped {
            if markers >= MAX_CLIP_MARKERS {
                break;
            }
            markers += 1;
            let _ = write!(
                out,
                r#"<path class="cl" d="M{} {}l-4-6h8z"><title>{}: {} at {}, above the scale</title></path>"#,
                num(px),
                num(t - 1.0),
                escape(s.name),
                escape(&axis::value_text(c.unit, v)),
                escape(&axis::moment_text(ts, c.offset, long, false))
            );
        }
    }
    // The read-out's values: one group per series, read by the page's script.
    for (i, s) in c.series.iter().enumerate() {
        let _ = write!(out, r#"<g data-ro-name="{}" data-ro-v=""#, escape(s.name));
        for (k, rd) in reads.iter().enumerate() {
            if k > 0 {
                out.push('|');
            }
            out.push_str(&escape(&rd.values[i]));
        }
        out.push_str(r#""/>"#);
    }
    out.push_str("</svg>");
    let rows = if reads.len() <= MAX_TABLE_ROWS {
        reads
    } else {
        readings(c, MAX_TABLE_ROWS.min(reads.len()), &x)
    };
    Rendered {
        svg: out,
        table: table(c.title, "Time", c.series.iter().map(|s| s.name), &rows),
    }
}

/// A visually hidden table of readings, captioned `title`.
fn table<'a>(
    title: &str,
    first: &str,
    names: impl Iterator<Item = &'a str>,
    rows: &[Reading],
) -> String {
    let mut out = String::with_capacity(200 + rows.len() * 60);
    let _ = write!(
        out,
        r#"<table class="sr-only"><caption>{}</caption><thead><tr><th scope="col">{}</th>"#,
        escape(title),
        escape(first)
    );
    for n in names {
        let _ = write!(out, r#"<th scope="col">{}</th>"#, escape(n));
    }
    out.push_str("</tr></thead><tbody>");
    for rd in rows {
        let _ = write!(out, r#"<tr><th scope="row">{}</th>"#, escape(&rd.when));
        for v in &rd.values {
            let _ = write!(out, "<td>{}</td>", escape(v));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
    out
}

/// A table of (label, values) rows for the other charts, built the same way.
pub(crate) fn figures_table(
    title: &str,
    first: &str,
    names: &[&str],
    rows: impl IntoIterator<Item = (String, Vec<String>)>,
) -> String {
    let rows: Vec<Reading> = rows
        .into_iter()
        .map(|(when, values)| Reading {
            x: 0.0,
            when,
            values,
        })
        .collect();
    table(title, first, names.iter().copied(), &rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_741_003_200; // 2025-03-03 12:00 UTC

    fn chart<'a>(series: &'a [Series<'a>], unit: Unit<'a>) -> LineChart<'a> {
        LineChart {
            title: "CPU in use",
            unit,
            start: T0,
            end: T0 + 3_600,
            offset: UtcOffset::UTC,
            series,
            top: None,
            max_gap: 300,
            size: Size::Panel,
            empty_text: "No samples in the last hour",
        }
    }

    fn minutes(values: &[f64]) -> Vec<(i64, f64)> {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| (T0 + 60 * (i as i64 + 1), *v))
            .collect()
    }

    #[test]
    fn lines_span_the_chart_from_its_start_to_its_end() {
        let pts: Vec<(i64, f64)> = (0..=60).map(|i| (T0 + 60 * i, 10.0)).collect();
        let s = [Series {
            name: "CPU",
            points: &pts,
            style: LineStyle::Line,
            step: false,
        }];
        let svg = line_chart(&chart(&s, Unit::Percent)).svg;
        let d = svg.split(r#"<path class="ln" d="M"#).nth(2).unwrap();
        assert!(d.starts_with(&format!("{} ", LEFT)), "{d}");
        assert!(d.contains(&format!("L{} ", 480.0 - RIGHT)), "{d}");
        // A series that starts late starts where its time falls, not at the left edge.
        let late: Vec<(i64, f64)> = (30..=60).map(|i| (T0 + 60 * i, 10.0)).collect();
        let s = [Series {
            points: &late,
            ..s[0]
        }];
        let svg = line_chart(&chart(&s, Unit::Percent)).svg;
        let d = svg.split(r#"<path class="ln" d="M"#).nth(2).unwrap();
        assert!(
            d.starts_with(&num(LEFT + (480.0 - RIGHT - LEFT) / 2.0)),
            "{d}"
        );
    }

    #[test]
    fn axes_have_units_and_time_ticks() {
        let pts = minutes(&[1_000.0, 2_500.0, 3_000.0, 1_500.0, 2_000.0, 2_200.0]);
        let s = [Series {
            name: "in",
            points: &pts,
            style: LineStyle::Area,
            step: false,
        }];
        let svg = line_chart(&chart(&s, Unit::BytesPerSecond)).svg;
        for want in [
            ">0<", ">1 KB/s<", ">2 KB/s<", ">3 KB/s<", ">12:00<", ">12:15<", ">13:00<",
        ] {
            assert!(svg.contains(want), "{want}: {svg}");
        }
        assert_eq!(svg.matches(r#"<path class="gr""#).count(), 3);
        assert!(!svg.contains("NaN") && !svg.contains("inf"));
    }

    #[test]
    fn an_outlier_is_clipped_with_a_marker_and_its_true_value() {
        let mut v = vec![10.0; 50];
        v[20] = 900.0;
        let pts = minutes(&v);
        let s = [Series {
            name: "queries/s",
            points: &pts,
            style: LineStyle::Area,
            step: false,
        }];
        let out = line_chart(&chart(&s, Unit::Count));
        // The body of the data (10) fills the scale: it tops at 15, not 900.
        assert!(
            out.svg.contains(">15<") && !out.svg.contains(">1k<"),
            "{}",
            out.svg
        );
        assert_eq!(out.svg.matches(r#"<path class="cl""#).count(), 1);
        assert!(
            out.svg
                .contains("<title>queries/s: 900 at 12:21, above the scale</title>")
        );
        // The read-out and the table keep the true value.
        assert!(out.svg.contains("|900|"), "{}", out.svg);
        assert!(out.table.contains("<td>10 – 900</td>"), "{}", out.table);
        // Nothing is drawn above the plot but the marker.
        let line = out.svg.split(r#"<path class="ln" d=""#).nth(2).unwrap();
        let line = &line[..line.find('"').unwrap()];
        for p in line.split(['M', 'L']).filter(|p| !p.is_empty()) {
            let y: f64 = p.split(' ').nth(1).unwrap().parse().unwrap();
            assert!((TOP..=200.0 - BOTTOM).contains(&y), "{p}");
        }
    }

    #[test]
    fn readout_data_is_present_and_matches_the_points() {
        let pts = minutes(&[1.0, 2.0, f64::NAN, 4.0]);
        let s = [
            Series {
                name: "read",
                points: &pts,
                style: LineStyle::Area,
                step: false,
            },
            Series {
                name: "write <w>",
                points: &pts[..2],
                style: LineStyle::Dashed,
                step: false,
            },
        ];
        let out = line_chart(&chart(&s, Unit::Count));
        let svg = &out.svg;
        assert!(svg.contains(r#"tabindex="0""#));
        assert!(svg.contains(r#"data-ro-t="12:01|12:02|12:04""#), "{svg}");
        assert!(
            svg.contains(r#"<g data-ro-name="read" data-ro-v="1|2|4"/>"#),
            "{svg}"
        );
        assert!(svg.contains(r#"<g data-ro-name="write &lt;w&gt;" data-ro-v="1|2|—"/>"#));
        let xs: Vec<f64> = svg
            .split(r#"data-ro-x=""#)
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .split(' ')
            .map(|v| v.parse().unwrap())
            .collect();
        assert_eq!(xs.len(), 3);
        assert!(xs.windows(2).all(|w| w[0] < w[1]));
        assert!(
            out.table
                .starts_with(r#"<table class="sr-only"><caption>CPU in use</caption>"#)
        );
        assert!(
            out.table
                .contains(r#"<tr><th scope="row">12:04</th><td>4</td><td>—</td></tr>"#)
        );
        assert!(!svg.contains("NaN") && !svg.contains("inf"));
    }

    #[test]
    fn a_long_series_is_downsampled_and_read_in_bins() {
        // 90 days at one point a minute.
        let n = 90 * 24 * 60;
        let pts: Vec<(i64, f64)> = (0..n)
            .map(|i| (T0 + 60 * i as i64, ((i % 1440) as f64).sin().abs() * 100.0))
            .collect();
        let s = [Series {
            name: "CPU",
            points: &pts,
            style: LineStyle::Area,
            step: false,
        }];
        let c = LineChart {
            end: T0 + 60 * n as i64,
            size: Size::Wide,
            top: Some(100.0),
            ..chart(&s, Unit::Percent)
        };
        let out = line_chart(&c);
        assert!(out.svg.len() < 80_000, "{}", out.svg.len());
        assert_eq!(
            out.svg
                .split(r#"data-ro-x=""#)
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap()
                .split(' ')
                .count(),
            MAX_READOUT
        );
        assert_eq!(
            out.table.matches("<tr><th scope=\"row\">").count(),
            MAX_TABLE_ROWS
        );
        assert!(out.table.contains("%"));
        assert!(!out.svg.contains("NaN"));
    }

    #[test]
    fn nothing_to_draw_says_so() {
        let s = [Series {
            name: "CPU",
            points: &[(T0 - 10, 5.0), (T0 + 60, f64::NAN)],
            style: LineStyle::Area,
            step: false,
        }];
        let out = line_chart(&chart(&s, Unit::Percent));
        assert!(out.svg.contains(">No samples in the last hour</text>"));
        assert!(!out.svg.contains("data-ro-x"));
        assert!(out.table.is_empty());
        assert!(!out.svg.contains("NaN"));
    }

    #[test]
    fn steps_hold_until_the_next_point() {
        let pts = [(T0 + 600, 10.0), (T0 + 1200, 5.0)];
        let s = [Series {
            name: "storage",
            points: &pts,
            style: LineStyle::Pattern("6 3"),
            step: true,
        }];
        let svg = line_chart(&LineChart {
            max_gap: i64::MAX,
            ..chart(&s, Unit::Count)
        })
        .svg;
        let d = svg.split(r#"stroke-dasharray="6 3" d=""#).nth(2).unwrap();
        assert_eq!(d.matches('L').count(), 2, "{d}");
    }
}
