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
            text: terminal_safe(text.as_ref()).into_owned(),
            style,
        }
    }
}

impl<T: AsRef<str>> From<T> for Cell {
    fn from(t: T) -> Cell {
        Cell::new(t, Style::Plain)
    }
}

/// A table printed with aligned columns; a row may instead be a note spanning the line.
#[derive(Debug)]
pub struct Table {
    headers: Vec<(String, Align)>,
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
    /// with "…".
    pub fn new(headers: &[(&str, Align)], max_width: usize) -> Table {
        Table {
            headers: headers.iter().map(|(h, a)| ((*h).to_owned(), *a)).collect(),
            rows: Vec::new(),
            max_width,
        }
    }

    /// Adds a row of cells.
    pub fn row(&mut self, cells: Vec<Cell>) {
        self.rows.push(Row::Cells(cells));
    }

    /// Adds a line of text under the previous row, indented to the second column.
    pub fn note(&mut self, cell: Cell) {
        self.rows.push(Row::Note(cell));
    }

    /// Renders the table.
    pub fn render(&self, color: bool) -> String {
        let cut = |s: &str| -> String {
            if s.chars().count() > self.max_width {
                let mut t: String = s.chars().take(self.max_width.saturating_sub(1)).collect();
                t.push('…');
                t
            } else {
                s.to_owned()
            }
        };
        let mut widths: Vec<usize> = self
            .headers
            .iter()
            .map(|(h, _)| h.chars().count())
            .collect();
        for row in &self.rows {
            if let Row::Cells(cells) = row {
                for (i, c) in cells.iter().enumerate() {
                    if let Some(w) = widths.get_mut(i) {
                        *w = (*w).max(cut(&c.text).chars().count());
                    }
                }
            }
        }
        let mut out = String::new();
        let line = |cells: Vec<(String, Style)>, out: &mut String| {
            let mut parts = Vec::new();
            for (i, (text, style)) in cells.into_iter().enumerate() {
                let w = widths.get(i).copied().unwrap_or(0);
                let pad = w.saturating_sub(text.chars().count());
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
        let indent = widths.first().map_or(0, |w| w + 2);
        for row in &self.rows {
            match row {
                Row::Cells(cells) => line(
                    cells.iter().map(|c| (cut(&c.text), c.style)).collect(),
                    &mut out,
                ),
                Row::Note(c) => {
                    let _ = writeln!(
                        out,
                        "{}{}",
                        " ".repeat(indent),
                        paint(color, c.style, &c.text)
                    );
                }
            }
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

    #[test]
    fn columns_align_and_long_cells_are_cut() {
        let mut t = Table::new(&[("Name", Align::Left), ("Count", Align::Right)], 8);
        t.row(vec!["a".into(), "1".into()]);
        t.row(vec!["a-very-long-name".into(), "12345".into()]);
        t.note(Cell::new("→ boom", Style::Red));
        let s = t.render(false);
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
        let plain = t.render(false);
        assert!(plain.contains("x\\u{1b}[2Jy"));
        assert!(!plain.contains('\u{1b}'));
        assert!(t.render(true).contains("\x1b[31m"));
    }
}
