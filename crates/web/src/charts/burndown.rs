//! The burndown chart of a git collector: per component, the code left to migrate (the matches
//! of its patterns) at each commit counted.

use time::OffsetDateTime;

use super::Unit;
use super::line::{LineChart, LineStyle, Series, Size, line_chart};

/// One component's matches left, commit by commit.
#[derive(Debug, Clone, PartialEq)]
pub struct BurndownSeries {
    /// The component.
    pub component: String,
    /// (commit time, matches left over all its patterns), oldest first.
    pub points: Vec<(OffsetDateTime, f64)>,
}

/// The burndown as a chart ([`line_chart`]): one stepped line per component
/// (told apart by a dash pattern as well as by the legend), time across from the first counted
/// commit to the last, matches left up, with its read-out and its table of figures.
pub fn burndown_chart(series: &[BurndownSeries], aria_label: &str) -> String {
    const DASHES: [&str; 4] = ["", "6 3", "2 3", "8 3 2 3"];
    let points: Vec<Vec<(i64, f64)>> = series
        .iter()
        .map(|s| {
            s.points
                .iter()
                .map(|(t, v)| (t.unix_timestamp(), *v))
                .collect()
        })
        .collect();
    let first = points.iter().flatten().map(|p| p.0).min().unwrap_or(0);
    let last = points.iter().flatten().map(|p| p.0).max().unwrap_or(0);
    let lines: Vec<Series<'_>> = series
        .iter()
        .zip(&points)
        .enumerate()
        .map(|(i, (s, points))| Series {
            name: &s.component,
            points,
            style: match DASHES[i % DASHES.len()] {
                "" => LineStyle::Line,
                d => LineStyle::Pattern(d),
            },
            step: true,
        })
        .collect();
    line_chart(&LineChart {
        title: aria_label,
        unit: Unit::Other("matches"),
        // One commit alone still gets a day's width.
        start: first.min(last - 86_400),
        end: last,
        offset: time::UtcOffset::UTC,
        series: &lines,
        top: None,
        max_gap: i64::MAX,
        size: Size::Wide,
        empty_text: "No commits counted yet",
    })
    .html()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn the_burndown_is_a_stepped_line_per_component() {
        let series = vec![
            BurndownSeries {
                component: "config".into(),
                points: vec![(datetime!(2025-01-01 0:00 UTC), 3.0)],
            },
            BurndownSeries {
                component: "storage".into(),
                points: vec![
                    (datetime!(2025-01-01 0:00 UTC), 19.0),
                    (datetime!(2025-01-02 0:00 UTC), 13.0),
                    (datetime!(2025-01-03 0:00 UTC), 7.0),
                ],
            },
        ];
        let svg = burndown_chart(&series, "Burndown <of> code");
        assert!(svg.starts_with("<svg") && svg.contains("</svg><table class=\"sr-only\">"));
        assert!(svg.contains("Burndown &lt;of&gt; code"));
        assert!(svg.contains(r#"<g data-ro-name="storage" data-ro-v=""#));
        assert!(svg.contains("|7 matches\""), "{svg}");
        assert!(!svg.contains("NaN"));
        let empty = burndown_chart(&[], "x");
        assert!(empty.contains("No commits counted yet"));
    }
}
