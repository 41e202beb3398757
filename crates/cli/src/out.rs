//! Terminal output: plain tables, colour only on a terminal and never under `NO_COLOR`, and
//! every user-supplied string made safe for the terminal.

use std::fmt::Write as _;

use mhd_core::format::terminal_safe;

/// A text style, applied only when colour is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// No style.
    Plain,
    /// Headers and labels.
    Bold,
    /// Secondary text.
    Dim,
    /// Success.
    Green,
    /// Warnings.
    Yellow,
    /// Failures.
    Red,
    /// Names of things.
    Cyan,
}

impl Style {
    fn code(self) -> &'static str {
        match self {
            Style::Plain => "",
            Style::Bold => "\x1b[1m",
            Style::Dim => "\x1b[2m",
            Style::Green => "\x1b[32m",
            Style::Yellow => "\x1b[33m",
            Style::Red => "\x1b[31m",
            Style::Cyan => "\x1b[36m",
        }
    }
}

/// Paints `text` (already terminal-safe) with `style` when `color` is on.
pub fn paint(color: bool, style: Style, text: &str) -> String {
    if !color || style == Style::Plain {
        text.to_owned()
    } else {
        format!("{}{text}\x1b[0m", style.code())
    }
}

/// Horizontal alignment of a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    /// Text columns.
    Left,
    /// Numbers.
    Right,
}

/// One cell: its text (made terminal-safe on entry) and style.
#[derive(Debug, Clone)]
pub struct Cell {
    text: String,
    style: Style,
}

impl Cell {
    /// A cell of user-supplied or computed text.
    pub fn new(text: impl AsRef<str>, style: Style) -> Cell {
        Cell {
            // A tab would take more room than the one character it counts as.
            text: terminal_safe(text.as_ref()).replace('\t', " "),
            style,
        }
    }
}

impl<T: AsRef<str>> From<T> for Cell {
    fn from(t: T) -> Cell {
        Cell::new(t, Style::Plain)
    }
}

/// The width tables are fitted to when nothing else says: a classic terminal's.
pub const DEFAULT_WIDTH: usize = 80;

/// The width output is fitted to: `COLUMNS` when set to a positive integer, else the terminal's
/// width when standard output is one, else [`DEFAULT_WIDTH`]. A `COLUMNS` that is set but not a
/// positive integer (`0`, `abc`) counts as [`DEFAULT_WIDTH`]; an empty one as unset.
pub fn output_width(stdout_tty: bool) -> usize {
    let terminal = || {
        stdout_tty
            .then(|| console::Term::stdout().size_checked())
            .flatten()
            .map(|(_rows, cols)| usize::from(cols))
    };
    width_from(std::env::var_os("COLUMNS").as_deref(), terminal)
}

/// [`output_width`] from the value of `COLUMNS` and, asked only when that is unset, the
/// terminal's width.
fn width_from(
    columns: Option<&std::ffi::OsStr>,
    terminal: impl FnOnce() -> Option<usize>,
) -> usize {
    match columns.filter(|c| !c.is_empty()) {
        Some(c) => c
            .to_str()
            .and_then(|c| c.trim().parse::<usize>().ok())
            .filter(|n| *n > 0)
            .unwrap_or(DEFAULT_WIDTH),
        None => terminal().filter(|n| *n > 0).unwrap_or(DEFAULT_WIDTH),
    }
}

/// How many characters `s` takes on the terminal (one per char, as the tables count).
pub fn display_width(s: &str) -> usize {
    s.chars().count()
}

/// `s` cut to at most `width` characters, ending with "…" when anything was cut; never splits
/// a character.
pub fn cut(s: &str, width: usize) -> String {
    if display_width(s) <= width {
        return s.to_owned();
    }
    if width == 0 {
        return String::new();
    }
    let mut t: String = s.chars().take(width - 1).collect();
    t.push('…');
    t
}

/// `text` broken at spaces into lines of at most `width` characters each, the first starting
/// with `first` and the others with `rest` (a hanging indent); a word longer than a line is
/// split. Text that fits, or any text without a width (`--wide`), stays on one line as it is.
pub fn wrap(text: &str, width: Option<usize>, first: &str, rest: &str) -> Vec<String> {
    let whole = format!("{first}{text}");
    let Some(width) = width.filter(|w| display_width(&whole) > *w) else {
        return vec![whole];
    };
    let mut lines = Vec::new();
    let mut line = first.to_owned();
    let mut empty = true;
    let room = |prefix_len: usize| width.saturating_sub(prefix_len).max(1);
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let mut word = word.to_owned();
        loop {
            let used = display_width(&line);
            let need = display_width(&word) + usize::from(!empty);
            if used + need <= width {
                if !empty {
                    line.push(' ');
                }
                line.push_str(&word);
                empty = false;
                break;
            }
            if empty {
                // Longer than a whole line: split it.
                let take = room(used);
                line.extend(word.chars().take(take));
                word = word.chars().skip(take).collect();
                lines.push(std::mem::replace(&mut line, rest.to_owned()));
                if word.is_empty() {
                    break;
                }
                continue;
            }
            lines.push(std::mem::replace(&mut line, rest.to_owned()));
            empty = true;
        }
    }
    if !empty || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// A sparkline of percentages (one block per value, a space for a value that is missing)
/// followed by the first and last values shown, as in `██████▇▇▇▇ 100 → 89 %`, so that a drop
/// the blocks are too coarse to show is still read.
pub fn trend(values: &[Option<f64>], unit: &str) -> String {
    const BLOCKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let mut s: String = values
        .iter()
        .map(|v| match v.filter(|p| p.is_finite()) {
            Some(p) => BLOCKS[((p.clamp(0.0, 100.0) / 100.0) * 7.0).round() as usize],
            None => ' ',
        })
        .collect();
    let shown: Vec<f64> = values
        .iter()
        .flatten()
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    match shown.as_slice() {
        [] => {}
        [only] => s.push_str(&format!(" {only:.0} {unit}")),
        [first, .., last] => s.push_str(&format!(" {first:.0} → {last:.0} {unit}")),
    }
    s
}

/// The narrowest a text column is cut to before columns are dropped instead.
const MIN_TEXT_WIDTH: usize = 8;
/// The space between two columns.
const GAP: usize = 2;

/// The widths of the columns that fit in `width` and how many columns (from the left) are
/// shown. Each column has its natural width and the narrowest it may be cut to (its natural
/// width when it may not be cut). The widest cuttable column is narrowed first, so narrow
/// columns keep their width; when every column is as narrow as it may be, columns are dropped
/// from the right, and the first column alone is cut to the width as a last resort.
fn fit_columns(natural: &[usize], narrowest: &[usize], width: usize) -> Vec<usize> {
    let mut shown = natural.len();
    while shown > 0 {
        let mut widths = natural[..shown].to_vec();
        let total = |w: &[usize]| w.iter().sum::<usize>() + GAP * (w.len() - 1);
        let mut excess = total(&widths).saturating_sub(width);
        while excess > 0 {
            let widest = (0..shown)
                .filter(|&i| widths[i] > narrowest[i])
                .max_by_key(|&i| (widths[i], std::cmp::Reverse(i)));
            let Some(i) = widest else { break };
            widths[i] -= 1;
            excess -= 1;
        }
        if excess == 0 {
            return widths;
        }
        if shown == 1 {
            widths[0] = widths[0].min(width);
            return widths;
        }
        shown -= 1;
    }
    Vec::new()
}

/// A table printed with aligned columns; a row may instead be a note spanning the line.
#[derive(Debug)]
pub struct Table {
    headers: Vec<(String, Align)>,
    uncut: Vec<bool>,
    rows: Vec<Row>,
    max_width: usize,
}

#[derive(Debug)]
enum Row {
    Cells(Vec<Cell>),
    Note(Cell),
}

impl Table {
    /// A table with these column headers; cells wider than `max_width` characters are cut
    /// with "…" (unless the table is printed wide). Left-aligned columns are text that may be
    /// cut to fit the terminal; right-aligned ones (numbers) never are.
    pub fn new(headers: &[(&str, Align)], max_width: usize) -> Table {
        Table {
            headers: headers.iter().map(|(h, a)| ((*h).to_owned(), *a)).collect(),
            uncut: vec![false; headers.len()],
            rows: Vec::new(),
            max_width,
        }
    }

    /// Marks the column of this header as one that is never cut (such as a sparkline): it is
    /// shown whole or, when it cannot fit, not at all.
    pub fn keep_whole(mut self, header: &str) -> Table {
        if let Some(i) = self.headers.iter().position(|(h, _)| h == header) {
            self.uncut[i] = true;
        }
        self
    }

    /// Adds a row of cells.
    pub fn row(&mut self, cells: Vec<Cell>) {
        self.rows.push(Row::Cells(cells));
    }

    /// Adds a line of text under the previous row, indented to the second column.
    pub fn note(&mut self, cell: Cell) {
        self.rows.push(Row::Note(cell));
    }

    /// Renders the table fitted to `width` characters (see [`output_width`]), or, without a
    /// width (`--wide`), every column whole. Fitting cuts the widest text columns first with
    /// "…", then drops columns from the right and says so in a last line; notes are wrapped.
    pub fn render(&self, color: bool, width: Option<usize>) -> String {
        let capped = |s: &str| -> String {
            match width {
                Some(_) => cut(s, self.max_width),
                None => s.to_owned(),
            }
        };
        let mut natural: Vec<usize> = self.headers.iter().map(|(h, _)| display_width(h)).collect();
        for row in &self.rows {
            if let Row::Cells(cells) = row {
                for (i, c) in cells.iter().enumerate() {
                    if let Some(w) = natural.get_mut(i) {
                        *w = (*w).max(display_width(&capped(&c.text)));
                    }
                }
            }
        }
        let widths = match width {
            None => natural.clone(),
            Some(width) => {
                let narrowest: Vec<usize> = self
                    .headers
                    .iter()
                    .zip(&natural)
                    .zip(&self.uncut)
                    .map(|(((h, align), &n), &uncut)| {
                        if uncut || *align == Align::Right {
                            n
                        } else {
                            n.min(display_width(h).max(MIN_TEXT_WIDTH))
                        }
                    })
                    .collect();
                fit_columns(&natural, &narrowest, width)
            }
        };
        let hidden = self.headers.len() - widths.len();
        let mut out = String::new();
        let line = |cells: Vec<(String, Style)>, out: &mut String| {
            let mut parts = Vec::new();
            for (i, (text, style)) in cells.into_iter().enumerate().take(widths.len()) {
                let w = widths[i];
                let text = cut(&text, w);
                let pad = w.saturating_sub(display_width(&text));
                let last = i + 1 == widths.len();
                let cell = match self.headers.get(i).map(|h| h.1) {
                    Some(Align::Right) => {
                        format!("{}{}", " ".repeat(pad), paint(color, style, &text))
                    }
                    _ if last => paint(color, style, &text),
                    _ => format!("{}{}", paint(color, style, &text), " ".repeat(pad)),
                };
                parts.push(cell);
            }
            let _ = writeln!(out, "{}", parts.join("  ").trim_end());
        };
        line(
            self.headers
                .iter()
                .map(|(h, _)| (h.clone(), Style::Bold))
                .collect(),
            &mut out,
        );
        line(
            widths
                .iter()
                .map(|w| ("─".repeat(*w), Style::Dim))
                .collect(),
            &mut out,
        );
        let indent = match (widths.first(), width) {
            (Some(w), Some(width)) if width.saturating_sub(w + GAP) < 2 * MIN_TEXT_WIDTH + 4 => {
                GAP.min(width / 4)
            }
            (Some(w), _) => w + GAP,
            (None, _) => 0,
        };
        for row in &self.rows {
            match row {
                Row::Cells(cells) => line(
                    cells.iter().map(|c| (capped(&c.text), c.style)).collect(),
                    &mut out,
                ),
                Row::Note(c) => {
                    let pad = " ".repeat(indent);
                    let room = width.map(|w| w.saturating_sub(indent).max(1));
                    for l in wrap(&c.text, room, "", "") {
                        let _ = writeln!(out, "{pad}{}", paint(color, c.style, &l));
                    }
                }
            }
        }
        if hidden > 0 {
            let text = format!(
                "({hidden} column{} hidden: --wide shows them)",
                if hidden == 1 { "" } else { "s" }
            );
            let _ = writeln!(
                out,
                "{}",
                paint(color, Style::Dim, &cut(&text, width.unwrap_or(usize::MAX)))
            );
        }
        out
    }
}

/// Prints a value as pretty JSON on standard output.
pub fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    const LONG: &str = "customer-ledger-reconciliation-archive-eu-west-partition-0042";
    const UNICODE: &str = "Δεδομένα-数据";

    /// A table like the commands print: a long text column, short and numeric columns, a
    /// text column at the right, and a note.
    fn operations_table() -> Table {
        let mut t = Table::new(
            &[
                ("Dataset", Align::Left),
                ("Status", Align::Left),
                ("Count", Align::Right),
                ("Avg Duration", Align::Right),
                ("Errors", Align::Right),
                ("Last error", Align::Left),
            ],
            60,
        );
        t.row(vec![
            LONG.into(),
            "✓ ok".into(),
            "1234".into(),
            "2.3s".into(),
            "0".into(),
            "—".into(),
        ]);
        t.row(vec![
            UNICODE.into(),
            "✗ failed".into(),
            "12".into(),
            "150ms".into(),
            "3".into(),
            "the target partition refused the write: quota exceeded".into(),
        ]);
        t.note(Cell::new(
            "→ the target partition refused the write: quota of the tablespace exceeded while \
             copying the ledger archive",
            Style::Red,
        ));
        t
    }

    fn widths(text: &str) -> Vec<usize> {
        text.lines().map(display_width).collect()
    }

    #[test]
    fn columns_align_and_long_cells_are_cut() {
        let mut t = Table::new(&[("Name", Align::Left), ("Count", Align::Right)], 8);
        t.row(vec!["a".into(), "1".into()]);
        t.row(vec!["a-very-long-name".into(), "12345".into()]);
        t.note(Cell::new("→ boom", Style::Red));
        let s = t.render(false, Some(80));
        let lines: Vec<&str> = s.lines().collect();
        assert_eq!(lines[0], "Name      Count");
        assert_eq!(lines[2], "a             1");
        assert_eq!(lines[3], "a-very-…  12345");
        assert_eq!(lines[4], "          → boom");
    }

    #[test]
    fn escape_sequences_in_cells_are_neutralised_and_colour_is_optional() {
        let mut t = Table::new(&[("Name", Align::Left)], 40);
        t.row(vec![Cell::new("x\u{1b}[2Jy", Style::Red)]);
        let plain = t.render(false, Some(80));
        assert!(plain.contains("x\\u{1b}[2Jy"));
        assert!(!plain.contains('\u{1b}'));
        assert!(t.render(true, Some(80)).contains("\x1b[31m"));
    }

    #[test]
    fn a_table_fits_80_columns_by_cutting_its_long_text_columns() {
        let text = operations_table().render(false, Some(80));
        assert!(widths(&text).iter().all(|w| *w <= 80), "{text}");
        let lines: Vec<&str> = text.lines().collect();
        // The numbers and the short status keep their width; the long texts are cut.
        assert!(
            lines[0].contains("Status    Count  Avg Duration  Errors"),
            "{text}"
        );
        assert!(
            lines[2].contains("✓ ok       1234          2.3s       0"),
            "{text}"
        );
        assert!(lines[2].starts_with("customer-ledger") && lines[2].contains('…'));
        assert!(
            lines[3].starts_with(UNICODE),
            "a short unicode name is whole: {text}"
        );
        assert!(!text.contains("hidden"), "nothing is dropped at 80: {text}");
        // The note is wrapped under the second column, not cut.
        assert!(text.contains("tablespace exceeded"), "{text}");
        assert!(text.contains("ledger archive"), "{text}");
        insta::assert_snapshot!(text);
    }

    #[test]
    fn columns_that_cannot_fit_are_dropped_from_the_right_and_said_to_be() {
        let text = operations_table().render(false, Some(40));
        assert!(widths(&text).iter().all(|w| *w <= 40), "{text}");
        let header = text.lines().next().unwrap();
        assert!(header.starts_with("Dataset"), "{text}");
        assert!(!header.contains("Last error"), "{text}");
        assert!(!header.contains("Errors"), "{text}");
        assert_eq!(
            text.lines().last(),
            Some("(2 columns hidden: --wide shows them)"),
            "{text}"
        );
        insta::assert_snapshot!(text);
    }

    #[test]
    fn without_a_width_every_column_is_whole() {
        let text = operations_table().render(false, None);
        assert!(text.contains(LONG), "{text}");
        assert!(text.lines().next().unwrap().ends_with("Last error"));
        assert!(text.contains("quota exceeded"));
        assert!(!text.contains('…') && !text.contains("hidden"), "{text}");
        assert!(widths(&text).iter().any(|w| *w > 80));
    }

    #[test]
    fn a_column_kept_whole_is_dropped_rather_than_cut() {
        let mut t =
            Table::new(&[("Suite", Align::Left), ("Trend", Align::Left)], 60).keep_whole("Trend");
        let spark = trend(&[Some(100.0); 10], "%");
        t.row(vec![LONG.into(), spark.clone().into()]);
        let fits = t.render(false, Some(50));
        assert!(fits.contains(&spark), "{fits}");
        let narrow = t.render(false, Some(20));
        assert!(!narrow.contains('█'), "{narrow}");
        assert!(narrow.contains("(1 column hidden"), "{narrow}");
        assert!(widths(&narrow).iter().all(|w| *w <= 20), "{narrow}");
    }

    #[test]
    fn a_very_narrow_width_still_bounds_every_line() {
        for width in [3, 12, 20, 30] {
            let text = operations_table().render(false, Some(width));
            assert!(widths(&text).iter().all(|w| *w <= width), "{width}: {text}");
            assert!(text.lines().next().unwrap().starts_with('D'), "{text}");
        }
    }

    #[test]
    fn cutting_never_splits_a_character() {
        assert_eq!(cut(UNICODE, 11), UNICODE);
        assert_eq!(cut(UNICODE, 10), "Δεδομένα-…");
        assert_eq!(cut(UNICODE, 5), "Δεδο…");
        assert_eq!(cut(UNICODE, 1), "…");
        assert_eq!(cut(UNICODE, 0), "");
        assert_eq!(display_width("数据"), 2);
    }

    #[test]
    fn wrapping_breaks_at_spaces_with_a_hanging_indent() {
        let lines = wrap("alpha beta gamma delta", Some(14), "  • ", "    ");
        assert_eq!(lines, ["  • alpha beta", "    gamma", "    delta"]);
        let long = wrap(LONG, Some(30), "", "");
        assert!(long.iter().all(|l| display_width(l) <= 30), "{long:?}");
        assert_eq!(long.concat(), LONG);
        assert_eq!(wrap("a b", None, "> ", ""), ["> a b"]);
        assert_eq!(
            wrap("a  b", Some(4), "", ""),
            ["a  b"],
            "what fits is left as it is"
        );
    }

    #[test]
    fn the_width_is_columns_else_the_terminal_else_80() {
        let w = |columns: Option<&str>, terminal: Option<usize>| {
            width_from(columns.map(OsStr::new), || terminal)
        };
        assert_eq!(w(Some("120"), Some(200)), 120);
        assert_eq!(w(Some(" 100 "), None), 100);
        assert_eq!(w(None, Some(132)), 132);
        assert_eq!(w(None, None), 80);
        assert_eq!(w(Some(""), Some(90)), 90, "an empty COLUMNS is unset");
        for bad in ["0", "abc", "-5", "12.5", "99999999999999999999999"] {
            assert_eq!(w(Some(bad), Some(200)), 80, "COLUMNS={bad}");
        }
        assert_eq!(w(None, Some(0)), 80, "a terminal that says 0 columns");
    }

    #[test]
    fn a_trend_says_its_first_and_last_values() {
        let mut runs = vec![Some(100.0); 6];
        runs.extend([Some(88.9); 4]);
        assert_eq!(trend(&runs, "%"), "██████▇▇▇▇ 100 → 89 %");
        assert_eq!(trend(&[None, Some(50.0), None], "%"), " ▅  50 %");
        assert_eq!(trend(&[], "%"), "");
        assert_eq!(trend(&[Some(20.0), None, Some(95.0)], "%"), "▂ █ 20 → 95 %");
    }
}
