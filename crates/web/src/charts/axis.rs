//! Scales and axes shared by the charts: "nice" value ticks (1-2-5 steps), time ticks on minute,
//! hour, day and week boundaries, values written with their unit (`1.2k`, `3.4M`, `45%`,
//! `120 ms`, `1.5 MB/s`), a top that fits the body of the data so one outlier does not flatten
//! the rest, and min/max downsampling per pixel column so a long series stays small.

use time::{OffsetDateTime, UtcOffset};

/// How a chart's values are read and written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit<'a> {
    /// A count or a rate without a unit: `950`, `1.2k`, `3.4M`.
    Count,
    /// A percentage: `45%`.
    Percent,
    /// A duration in milliseconds: `120 ms`, `1.5 s`, `2 min`, `1.5 h`.
    Millis,
    /// Bytes, in steps of 1024 as memory is shown: `512 B`, `1.5 MB`.
    Bytes,
    /// Bytes per second: `1.5 MB/s`.
    BytesPerSecond,
    /// Any other unit, written after the number and its SI prefix: `1.2k req`.
    Other(&'a str),
}

impl Unit<'_> {
    /// The divisor and suffix values around `magnitude` are written with.
    fn scale(&self, magnitude: f64) -> (f64, String) {
        let m = if magnitude.is_finite() {
            magnitude.abs()
        } else {
            0.0
        };
        let si = |m: f64| -> (f64, &'static str) {
            [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")]
                .into_iter()
                .find(|(d, _)| m >= *d)
                .unwrap_or((1.0, ""))
        };
        let binary = |m: f64, per: &str| -> (f64, String) {
            let (d, p) = [
                (1024f64.powi(4), "TB"),
                (1024f64.powi(3), "GB"),
                (1024f64.powi(2), "MB"),
                (1024.0, "KB"),
            ]
            .into_iter()
            .find(|(d, _)| m >= *d)
            .unwrap_or((1.0, "B"));
            (d, format!(" {p}{per}"))
        };
        match self {
            Unit::Count => {
                let (d, p) = si(m);
                (d, p.to_owned())
            }
            Unit::Other(u) => {
                let (d, p) = si(m);
                let u = u.trim();
                (
                    d,
                    if u.is_empty() {
                        p.to_owned()
                    } else {
                        format!("{p} {u}")
                    },
                )
            }
            Unit::Percent => (1.0, "%".to_owned()),
            Unit::Millis => match m {
                m if m < 1_000.0 => (1.0, " ms".to_owned()),
                m if m < 60_000.0 => (1_000.0, " s".to_owned()),
                m if m < 3_600_000.0 => (60_000.0, " min".to_owned()),
                _ => (3_600_000.0, " h".to_owned()),
            },
            Unit::Bytes => binary(m, ""),
            Unit::BytesPerSecond => binary(m, "/s"),
        }
    }

    /// The unit as an axis names it, for the `data-unit` attribute and the table's header.
    pub fn name(&self) -> &str {
        match self {
            Unit::Count => "",
            Unit::Percent => "%",
            Unit::Millis => "ms",
            Unit::Bytes => "bytes",
            Unit::BytesPerSecond => "bytes/s",
            Unit::Other(u) => u,
        }
    }
}

/// `v / div` with `decimals` decimals, never `-0`.
fn fixed(v: f64, div: f64, decimals: usize) -> String {
    let s = format!("{:.decimals$}", v / div);
    if s.trim_start_matches(['-', '0', '.']).is_empty() && s.starts_with('-') {
        s[1..].to_owned()
    } else {
        s
    }
}

/// An axis from zero to at least `top`: its ticks (in the chart's units) and their labels. One
/// prefix serves the whole axis (chosen by `top`), the ticks are "nice" steps of the prefixed
/// value (so bytes tick at 0, 2, 4 KB/s, not 0, 2048, 4096), and each label has as many
/// decimals as the step needs, so `0, 0.5k, 1.0k` never reads `0, 1k, 1k` and small values
/// never read `0 / 0 / 0`. Zero is written `0`. At most `max_ticks` ticks.
pub fn axis(unit: Unit<'_>, top: f64, max_ticks: usize) -> (Vec<f64>, Vec<String>) {
    let top = if top.is_finite() && top > 0.0 {
        top
    } else {
        1.0
    };
    let (div, suffix) = unit.scale(top);
    let (ticks, step) = value_ticks(top / div, max_ticks);
    let decimals = (-step.log10() - 1e-9).ceil().clamp(0.0, 6.0) as usize;
    let labels = ticks
        .iter()
        .map(|&t| {
            if t == 0.0 {
                "0".to_owned()
            } else {
                format!("{}{suffix}", fixed(t, 1.0, decimals))
            }
        })
        .collect();
    (ticks.iter().map(|t| t * div).collect(), labels)
}

/// One value as a read-out shows it: three significant digits with its unit, `—` for none.
pub fn value_text(unit: Unit<'_>, v: f64) -> String {
    if !v.is_finite() {
        return "—".to_owned();
    }
    let (div, suffix) = unit.scale(v);
    let x = (v / div).abs();
    let decimals = if x >= 100.0 || x == 0.0 {
        0
    } else if x >= 10.0 {
        1
    } else {
        2
    };
    let mut s = fixed(v, div, decimals);
    if s.contains('.') {
        while s.ends_with('0') {
            s.pop();
        }
        if s.ends_with('.') {
            s.pop();
        }
    }
    format!("{s}{suffix}")
}

/// The smallest 1, 2 or 5 × 10ⁿ at or above `raw` (1 for zero or a non-finite value).
pub fn nice_step(raw: f64) -> f64 {
    if !(raw.is_finite() && raw > 0.0) {
        return 1.0;
    }
    let p = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * p)
        .find(|c| *c >= raw * (1.0 - 1e-9))
        .unwrap_or(10.0 * p)
}

/// Ticks from zero to at least `top` in "nice" steps, at most `max_ticks` of them (at least
/// two: zero and one step), and the step.
pub fn value_ticks(top: f64, max_ticks: usize) -> (Vec<f64>, f64) {
    let top = if top.is_finite() && top > 0.0 {
        top
    } else {
        1.0
    };
    let intervals = max_ticks.max(2) - 1;
    let step = nice_step(top / intervals as f64);
    let n = (top / step - 1e-9).ceil().max(1.0) as usize;
    ((0..=n).map(|i| i as f64 * step).collect(), step)
}

/// How far above the body of the data a scale reaches: the top is at most this many times the
/// 90th percentile of the values.
pub const BODY_MARGIN: f64 = 1.5;

/// The top of a scale that fits the body of `values`: their largest, unless it is more than
/// [`BODY_MARGIN`] times their 90th percentile — then that, and `true` to say larger values are
/// clipped. Fewer than five values, or a 90th percentile of zero, keep the largest. Non-finite
/// and negative values are left out.
pub fn body_top(values: impl IntoIterator<Item = f64>) -> (f64, bool) {
    let mut v: Vec<f64> = values
        .into_iter()
        .filter(|v| v.is_finite() && *v >= 0.0)
        .collect();
    if v.is_empty() {
        return (0.0, false);
    }
    let max = v.iter().copied().fold(0.0, f64::max);
    if v.len() < 5 {
        return (max, false);
    }
    let k = (v.len() - 1) * 9 / 10;
    let (_, q, _) = v.select_nth_unstable_by(k, f64::total_cmp);
    let cap = *q * BODY_MARGIN;
    if cap > 0.0 && max > cap {
        (cap, true)
    } else {
        (max, false)
    }
}

/// Steps time ticks are chosen from, in seconds: 1, 5, 10, 15 and 30 seconds; 1, 2, 5, 10, 15
/// and 30 minutes; 1, 2, 3, 6 and 12 hours; 1 and 2 days; 1, 2 and 4 weeks.
const TIME_STEPS: [i64; 22] = [
    1, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1_800, 3_600, 7_200, 10_800, 21_600, 43_200, 86_400,
    172_800, 604_800, 1_209_600, 2_419_200, 4_838_400,
];

/// Ticks between `start` and `end` (Unix seconds), on boundaries of the local time at `offset`:
/// whole minutes, hours, days (midnight) or weeks (Monday), at most `max_ticks`, with their
/// labels (`14:30`, or `3 Mar` at midnight and for steps of a day or more).
pub fn time_ticks(start: i64, end: i64, offset: UtcOffset, max_ticks: usize) -> Vec<(i64, String)> {
    if end <= start {
        return Vec::new();
    }
    let span = end - start;
    let max_ticks = max_ticks.max(2) as i64;
    let step = TIME_STEPS
        .into_iter()
        .find(|s| span / s < max_ticks)
        .unwrap_or(span / (max_ticks - 1) + 1);
    let off = i64::from(offset.whole_seconds());
    // Weeks start on a Monday: the Unix epoch was a Thursday.
    let shift = if step >= 604_800 { 3 * 86_400 } else { 0 };
    let first = (start + off + shift).div_euclid(step) * step - off - shift;
    let mut out = Vec::new();
    let mut t = if first < start { first + step } else { first };
    while t <= end {
        out.push((t, time_label(t, offset, step)));
        t += step;
    }
    out
}

/// A tick's label: `3 Mar` for steps of a day or more and at local midnight, else `14:30`.
fn time_label(t: i64, offset: UtcOffset, step: i64) -> String {
    let Ok(at) = OffsetDateTime::from_unix_timestamp(t) else {
        return String::new();
    };
    let at = at.checked_to_offset(offset).unwrap_or(at);
    if step >= 86_400 || (at.hour() == 0 && at.minute() == 0 && at.second() == 0) {
        format!("{} {}", at.day(), short_month(at.month()))
    } else if step < 60 {
        format!("{:02}:{:02}:{:02}", at.hour(), at.minute(), at.second())
    } else {
        format!("{:02}:{:02}", at.hour(), at.minute())
    }
}

fn short_month(m: time::Month) -> &'static str {
    use time::Month::*;
    match m {
        January => "Jan",
        February => "Feb",
        March => "Mar",
        April => "Apr",
        May => "May",
        June => "Jun",
        July => "Jul",
        August => "Aug",
        September => "Sep",
        October => "Oct",
        November => "Nov",
        December => "Dec",
    }
}

/// A moment as a read-out names it, in the local time at `offset`: `14:30` when the chart spans
/// at most a day, else `3 Mar 14:30` (`3 Mar` when `days`).
pub fn moment_text(t: i64, offset: UtcOffset, long: bool, days: bool) -> String {
    let Ok(at) = OffsetDateTime::from_unix_timestamp(t) else {
        return String::new();
    };
    let at = at.checked_to_offset(offset).unwrap_or(at);
    match (long, days) {
        (_, true) => format!("{} {} {}", at.day(), short_month(at.month()), at.year()),
        (true, false) => format!(
            "{} {} {:02}:{:02}",
            at.day(),
            short_month(at.month()),
            at.hour(),
            at.minute()
        ),
        (false, false) => format!("{:02}:{:02}", at.hour(), at.minute()),
    }
}

/// `points` (x, y in the chart's units, x ascending) reduced to at most two a column of width
/// one between `x0` and `x0 + columns`: the lowest and the highest of each column, in the order
/// they came, so a line of any length is as small as the chart is wide and keeps its peaks.
pub fn downsample(points: &[(f64, f64)], x0: f64, columns: usize) -> Vec<(f64, f64)> {
    if points.len() <= 2 * columns {
        return points.to_vec();
    }
    let mut out = Vec::with_capacity(2 * columns + 2);
    let mut col = i64::MIN;
    let mut lo = (0.0, f64::INFINITY, 0usize);
    let mut hi = (0.0, f64::NEG_INFINITY, 0usize);
    let flush = |out: &mut Vec<(f64, f64)>, lo: (f64, f64, usize), hi: (f64, f64, usize)| {
        if lo.1.is_finite() {
            if lo.2 == hi.2 {
                out.push((lo.0, lo.1));
            } else if lo.2 < hi.2 {
                out.push((lo.0, lo.1));
                out.push((hi.0, hi.1));
            } else {
                out.push((hi.0, hi.1));
                out.push((lo.0, lo.1));
            }
        }
    };
    for (i, &(x, y)) in points.iter().enumerate() {
        let c = (x - x0).floor() as i64;
        if c != col {
            flush(&mut out, lo, hi);
            col = c;
            lo = (x, y, i);
            hi = (x, y, i);
            continue;
        }
        if y < lo.1 {
            lo = (x, y, i);
        }
        if y > hi.1 {
            hi = (x, y, i);
        }
    }
    flush(&mut out, lo, hi);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{datetime, offset};

    #[test]
    fn steps_are_one_two_or_five_times_a_power_of_ten() {
        for (raw, want) in [
            (0.0, 1.0),
            (0.7, 1.0),
            (1.0, 1.0),
            (1.2, 2.0),
            (3.0, 5.0),
            (6.0, 10.0),
            (240.0, 500.0),
            (0.0013, 0.002),
            (f64::NAN, 1.0),
        ] {
            assert!((nice_step(raw) - want).abs() < 1e-12, "nice_step({raw})");
        }
    }

    #[test]
    fn value_ticks_start_at_zero_and_cover_the_top() {
        assert_eq!(value_ticks(100.0, 5), (vec![0.0, 50.0, 100.0], 50.0));
        assert_eq!(value_ticks(87.0, 5), (vec![0.0, 50.0, 100.0], 50.0));
        assert_eq!(value_ticks(7.0, 5).0, vec![0.0, 2.0, 4.0, 6.0, 8.0]);
        assert_eq!(value_ticks(0.0, 5).0, vec![0.0, 0.5, 1.0]);
        let (t, step) = value_ticks(0.0031, 5);
        assert!((step - 0.001).abs() < 1e-12);
        assert_eq!(t.len(), 5);
        assert!(t.last().unwrap() >= &0.0031);
        for top in [0.3, 1.0, 9.9, 123.0, 45_678.0, 1e9] {
            let (t, _) = value_ticks(top, 5);
            assert!(t.len() <= 5 && t.len() >= 2, "{top}: {t:?}");
            assert!(*t.last().unwrap() >= top, "{top}: {t:?}");
        }
    }

    #[test]
    fn small_rates_never_read_zero_on_every_tick() {
        // 3 KB/s at most: the network chart of a quiet machine.
        let (ticks, labels) = axis(Unit::BytesPerSecond, 3_000.0, 5);
        assert_eq!(labels, ["0", "1 KB/s", "2 KB/s", "3 KB/s"]);
        assert_eq!(ticks, [0.0, 1024.0, 2048.0, 3072.0]);
        let (_, labels) = axis(Unit::BytesPerSecond, 0.004 * 1_048_576.0, 5);
        assert_eq!(labels, ["0", "2 KB/s", "4 KB/s", "6 KB/s"]);
        let (_, labels) = axis(Unit::Count, 0.003, 5);
        assert_eq!(labels, ["0", "0.001", "0.002", "0.003"]);
        // No zero or empty range draws a flat axis.
        assert_eq!(axis(Unit::Count, 0.0, 5).1, ["0", "0.5", "1.0"]);
    }

    #[test]
    fn labels_carry_prefixes_and_units() {
        assert_eq!(
            axis(Unit::Count, 3_400_000.0, 5).1,
            ["0", "1M", "2M", "3M", "4M"]
        );
        assert_eq!(
            axis(Unit::Count, 1_500.0, 5).1,
            ["0", "0.5k", "1.0k", "1.5k"]
        );
        assert_eq!(axis(Unit::Percent, 100.0, 5).1, ["0", "50%", "100%"]);
        assert_eq!(axis(Unit::Millis, 1_000.0, 5).1, ["0", "0.5 s", "1.0 s"]);
        assert_eq!(axis(Unit::Other("req"), 5.0, 2).1, ["0", "5 req"]);
        assert_eq!(value_text(Unit::Count, 1234.0), "1.23k");
        assert_eq!(value_text(Unit::Count, 3_400_000.0), "3.4M");
        assert_eq!(value_text(Unit::Percent, 45.26), "45.3%");
        assert_eq!(value_text(Unit::Millis, 120.0), "120 ms");
        assert_eq!(value_text(Unit::Millis, 1500.0), "1.5 s");
        assert_eq!(value_text(Unit::BytesPerSecond, 1_572_864.0), "1.5 MB/s");
        assert_eq!(value_text(Unit::Count, 0.0), "0");
        assert_eq!(value_text(Unit::Count, f64::NAN), "—");
        assert_eq!(value_text(Unit::Count, -0.0001), "0");
    }

    #[test]
    fn an_outlier_is_clipped_to_the_body_of_the_data() {
        let mut days = [100.0; 20];
        days[7] = 5_000.0;
        let (top, clipped) = body_top(days.iter().copied());
        assert!(clipped);
        assert_eq!(top, 150.0);
        // Ordinary spread is kept whole.
        let (top, clipped) = body_top((1..=30).map(f64::from));
        assert!(!clipped);
        assert_eq!(top, 30.0);
        // Few values, or mostly zeros, keep the largest.
        assert_eq!(body_top([1.0, 900.0]), (900.0, false));
        assert_eq!(body_top([0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 7.0]), (7.0, false));
        assert_eq!(body_top([f64::NAN, f64::INFINITY, -3.0]), (0.0, false));
    }

    #[test]
    fn time_ticks_fall_on_boundaries() {
        let start = datetime!(2025-03-03 12:07:30 UTC).unix_timestamp();
        let hour = time_ticks(start, start + 3_600, UtcOffset::UTC, 7);
        let labels: Vec<&str> = hour.iter().map(|t| t.1.as_str()).collect();
        assert_eq!(
            labels,
            ["12:10", "12:20", "12:30", "12:40", "12:50", "13:00"]
        );
        assert!(hour.iter().all(|(t, _)| t % 600 == 0));
        // A day in a zone two hours east: every three hours of its local time, midnight dated.
        let day = time_ticks(start, start + 86_400, offset!(+2), 9);
        assert!(
            day.iter().all(|(t, _)| (t + 7_200) % 10_800 == 0),
            "{day:?}"
        );
        assert!(day.iter().any(|(_, l)| l == "4 Mar"), "{day:?}");
        // 90 days: weeks, each a Monday.
        let long = time_ticks(start, start + 90 * 86_400, UtcOffset::UTC, 8);
        assert!(long.len() <= 8 && long.len() >= 3, "{long:?}");
        for (t, _) in &long {
            let d = OffsetDateTime::from_unix_timestamp(*t).unwrap();
            assert_eq!(d.weekday(), time::Weekday::Monday);
            assert_eq!((d.hour(), d.minute()), (0, 0));
        }
        assert!(time_ticks(start, start, UtcOffset::UTC, 5).is_empty());
        // A minute: seconds.
        let minute = time_ticks(start, start + 60, UtcOffset::UTC, 4);
        let labels: Vec<&str> = minute.iter().map(|t| t.1.as_str()).collect();
        assert_eq!(labels, ["12:07:30", "12:08:00", "12:08:30"]);
    }

    #[test]
    fn downsampling_keeps_each_columns_extremes_in_order() {
        let pts: Vec<(f64, f64)> = (0..1000)
            .map(|i| {
                (
                    f64::from(i) / 100.0,
                    if i == 555 { 99.0 } else { f64::from(i % 7) },
                )
            })
            .collect();
        let out = downsample(&pts, 0.0, 10);
        assert!(out.len() <= 20, "{}", out.len());
        assert!(out.contains(&(5.55, 99.0)));
        assert!(out.windows(2).all(|w| w[0].0 <= w[1].0));
        // Short series are left alone.
        assert_eq!(downsample(&pts[..5], 0.0, 10), pts[..5].to_vec());
    }
}
