//! A small PDF writer of our own, enough for a report: PDF 1.4, A4 pages, the standard
//! Helvetica, Helvetica-Bold and Courier fonts (every PDF reader has them, so nothing is
//! embedded) in WinAnsiEncoding; text lines that wrap, simple tables whose header repeats on
//! each page, horizontal and vertical bars drawn with path operators; automatic page breaks and
//! "Page N of M" footers; a cross-reference table with the byte offset of every object.
//!
//! Strings are made safe for PDF where they are written: characters outside WinAnsi become `?`,
//! control characters are removed, and `\`, `(` and `)` are escaped in string literals, so no
//! stored string can end a string early or inject an operator.

use std::io::Write as _;

/// The page's width in points (A4).
pub const PAGE_WIDTH: f64 = 595.28;
/// The page's height in points (A4).
pub const PAGE_HEIGHT: f64 = 841.89;
/// The margin on every side, in points.
pub const MARGIN: f64 = 50.0;
/// Where the footer's baseline sits, in points from the bottom.
const FOOTER_Y: f64 = 28.0;
/// The width text may take.
pub const TEXT_WIDTH: f64 = PAGE_WIDTH - 2.0 * MARGIN;

/// One of the three fonts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Font {
    /// Helvetica.
    Regular,
    /// Helvetica-Bold.
    Bold,
    /// Courier, for commands and identifiers.
    Mono,
}

impl Font {
    /// The font's name in the page resources.
    fn resource(self) -> &'static str {
        match self {
            Font::Regular => "F1",
            Font::Bold => "F2",
            Font::Mono => "F3",
        }
    }
}

/// Widths of Helvetica's WinAnsi characters 32–255 in thousandths of the font size (Adobe's
/// published metrics of the standard fonts); 0 where the code has no character.
const HELVETICA: [u16; 224] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556,
    556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, 1015, 667, 667, 722, 722, 667,
    611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667,
    667, 611, 278, 278, 278, 469, 556, 333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500,
    222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
    0, 556, 0, 222, 556, 333, 1000, 556, 556, 333, 1000, 667, 333, 1000, 0, 611, 0, 0, 222, 222,
    333, 333, 350, 556, 1000, 333, 1000, 500, 333, 944, 0, 500, 667, 278, 333, 556, 556, 556, 556,
    260, 556, 333, 737, 370, 556, 584, 333, 737, 333, 400, 584, 333, 333, 333, 578, 537, 278, 333,
    333, 365, 556, 834, 834, 834, 611, 667, 667, 667, 667, 667, 667, 1000, 722, 667, 667, 667, 667,
    278, 278, 278, 278, 722, 722, 778, 778, 778, 778, 778, 584, 778, 722, 722, 722, 722, 667, 667,
    611, 556, 556, 556, 556, 556, 556, 889, 500, 556, 556, 556, 556, 278, 278, 278, 278, 556, 556,
    556, 556, 556, 556, 556, 584, 611, 556, 556, 556, 556, 500, 556, 500,
];

/// Widths of Helvetica-Bold's WinAnsi characters 32–255, as [`HELVETICA`].
const HELVETICA_BOLD: [u16; 224] = [
    278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556,
    556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611, 975, 722, 722, 722, 722, 667,
    611, 778, 722, 278, 556, 722, 611, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667,
    667, 611, 333, 278, 333, 584, 556, 333, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556,
    278, 889, 611, 611, 611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584,
    0, 556, 0, 278, 556, 500, 1000, 556, 556, 333, 1000, 667, 333, 1000, 0, 611, 0, 0, 278, 278,
    500, 500, 350, 556, 1000, 333, 1000, 556, 333, 944, 0, 500, 667, 278, 333, 556, 556, 556, 556,
    280, 556, 333, 737, 370, 556, 584, 333, 737, 333, 400, 584, 333, 333, 333, 611, 556, 278, 333,
    333, 365, 556, 834, 834, 834, 611, 722, 722, 722, 722, 722, 722, 1000, 722, 667, 667, 667, 667,
    278, 278, 278, 278, 722, 722, 778, 778, 778, 778, 778, 584, 778, 722, 722, 722, 722, 667, 667,
    611, 556, 556, 556, 556, 556, 556, 889, 556, 556, 556, 556, 556, 278, 278, 278, 278, 611, 611,
    611, 611, 611, 611, 611, 584, 611, 611, 611, 611, 611, 556, 611, 556,
];

/// The WinAnsi code of a character, if it has one.
fn win_ansi(c: char) -> Option<u8> {
    let code = u32::from(c);
    match code {
        0x20..=0x7e | 0xa0..=0xff => Some(code as u8),
        _ => Some(match c {
            '€' => 0x80,
            '‚' => 0x82,
            'ƒ' => 0x83,
            '„' => 0x84,
            '…' => 0x85,
            '†' => 0x86,
            '‡' => 0x87,
            'ˆ' => 0x88,
            '‰' => 0x89,
            'Š' => 0x8a,
            '‹' => 0x8b,
            'Œ' => 0x8c,
            'Ž' => 0x8e,
            '‘' => 0x91,
            '’' => 0x92,
            '“' => 0x93,
            '”' => 0x94,
            '•' => 0x95,
            '–' => 0x96,
            '—' => 0x97,
            '˜' => 0x98,
            '™' => 0x99,
            'š' => 0x9a,
            '›' => 0x9b,
            'œ' => 0x9c,
            'ž' => 0x9e,
            'Ÿ' => 0x9f,
            _ => return None,
        }),
    }
}

/// `s` in WinAnsi: control characters removed, characters outside WinAnsi replaced by `?`.
pub fn encode(s: &str) -> Vec<u8> {
    s.chars()
        .filter(|c| !c.is_control())
        .map(|c| win_ansi(c).unwrap_or(b'?'))
        .collect()
}

/// A PDF string literal of WinAnsi bytes: `(` … `)` with `\`, `(` and `)` escaped.
pub fn literal(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + 2);
    out.push(b'(');
    for &b in bytes {
        if matches!(b, b'\\' | b'(' | b')') {
            out.push(b'\\');
        }
        out.push(b);
    }
    out.push(b')');
    out
}

/// The width of `s` in `font` at `size` points.
pub fn text_width(s: &str, font: Font, size: f64) -> f64 {
    encoded_width(&encode(s), font, size)
}

fn encoded_width(bytes: &[u8], font: Font, size: f64) -> f64 {
    let table = match font {
        Font::Regular => &HELVETICA,
        Font::Bold => &HELVETICA_BOLD,
        Font::Mono => return bytes.len() as f64 * 0.6 * size,
    };
    let units: u32 = bytes
        .iter()
        .map(|&b| {
            u32::from(
                table
                    .get(usize::from(b).wrapping_sub(32))
                    .copied()
                    .unwrap_or(556),
            )
        })
        .sum();
    f64::from(units) / 1000.0 * size
}

/// `s` cut into lines no wider than `width`: at spaces where possible, inside a word too long
/// for a line otherwise. An empty text is one empty line.
pub fn wrap(s: &str, font: Font, size: f64, width: f64) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in s.split_whitespace() {
        let candidate = if line.is_empty() {
            word.to_owned()
        } else {
            format!("{line} {word}")
        };
        if text_width(&candidate, font, size) <= width {
            line = candidate;
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        // The word alone: cut it where it no longer fits.
        let mut piece = String::new();
        for c in word.chars() {
            piece.push(c);
            if text_width(&piece, font, size) > width && piece.chars().count() > 1 {
                piece.pop();
                lines.push(std::mem::take(&mut piece));
                piece.push(c);
            }
        }
        line = piece;
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// `s` cut to fit `width`, ending in `...` when cut.
pub fn fit(s: &str, font: Font, size: f64, width: f64) -> String {
    if text_width(s, font, size) <= width {
        return s.to_owned();
    }
    let mut out = String::new();
    for c in s.chars() {
        out.push(c);
        if text_width(&format!("{out}..."), font, size) > width {
            out.pop();
            break;
        }
    }
    format!("{}...", out.trim_end())
}

/// How a table column's text sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    /// Against the left edge; long text wraps.
    Left,
    /// Against the right edge (numbers); long text is cut.
    Right,
}

/// One column of [`PdfWriter::table`].
#[derive(Debug, Clone, Copy)]
pub struct Column<'a> {
    /// The header's text.
    pub header: &'a str,
    /// Its share of the text width (the shares of a table add up to 1).
    pub share: f64,
    /// How its cells sit.
    pub align: Align,
}

/// One bar of [`PdfWriter::bars`].
#[derive(Debug, Clone)]
pub struct Bar {
    /// Its name, at the left.
    pub label: String,
    /// Its length, against the largest bar.
    pub value: f64,
    /// A part of it drawn in the second colour (failures), 0 for none.
    pub part: f64,
    /// The value as written at the right of the bar.
    pub text: String,
}

/// An RGB colour, each part 0–1.
type Rgb = (f64, f64, f64);
/// The bars' colour (the pages' blue).
const BLUE: Rgb = (0.114, 0.373, 0.820);
/// The failures' colour (the pages' red).
const RED: Rgb = (0.706, 0.137, 0.094);
/// Gridlines and table rules.
const GREY: Rgb = (0.75, 0.77, 0.80);
/// The track of a progress bar and the shade of a table's header.
const LIGHT: Rgb = (0.93, 0.94, 0.95);
/// Notes and footers.
const MUTED: Rgb = (0.31, 0.34, 0.37);

/// A PDF document written top to bottom; pages break by themselves.
#[derive(Debug)]
pub struct PdfWriter {
    title: String,
    created: String,
    pages: Vec<Vec<u8>>,
    page: Vec<u8>,
    /// The top of the free space on the current page, in points from the bottom.
    y: f64,
}

/// A number as PDF writes it: two decimals at most, no exponent.
fn n(v: f64) -> String {
    let v = if v.is_finite() { v } else { 0.0 };
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".to_owned()
    } else {
        s.to_owned()
    }
}

impl PdfWriter {
    /// A new document named `title` (shown by readers), created at `created` (UTC).
    pub fn new(title: &str, created: time::OffsetDateTime) -> PdfWriter {
        let c = created.to_offset(time::UtcOffset::UTC);
        PdfWriter {
            title: title.to_owned(),
            created: format!(
                "D:{:04}{:02}{:02}{:02}{:02}{:02}Z",
                c.year(),
                u8::from(c.month()),
                c.day(),
                c.hour(),
                c.minute(),
                c.second()
            ),
            pages: Vec::new(),
            page: Vec::new(),
            y: PAGE_HEIGHT - MARGIN,
        }
    }

    /// How much room is left on the current page.
    fn room(&self) -> f64 {
        self.y - MARGIN
    }

    /// Starts a new page when less than `height` points are left.
    pub fn need(&mut self, height: f64) {
        if self.room() < height && !self.page.is_empty() {
            self.new_page();
        }
    }

    /// Ends the current page and starts another.
    pub fn new_page(&mut self) {
        self.pages.push(std::mem::take(&mut self.page));
        self.y = PAGE_HEIGHT - MARGIN;
    }

    /// Leaves `height` points of space (never across a page break).
    pub fn space(&mut self, height: f64) {
        self.y = (self.y - height).max(MARGIN);
    }

    fn fill(&mut self, c: Rgb) {
        let _ = writeln!(self.page, "{} {} {} rg", n(c.0), n(c.1), n(c.2));
    }

    fn stroke_colour(&mut self, c: Rgb) {
        let _ = writeln!(self.page, "{} {} {} RG", n(c.0), n(c.1), n(c.2));
    }

    /// A filled rectangle; `(x, y)` is its lower left corner.
    fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, c: Rgb) {
        if w <= 0.0 || h <= 0.0 {
            return;
        }
        self.fill(c);
        let _ = writeln!(self.page, "{} {} {} {} re f", n(x), n(y), n(w), n(h));
    }

    /// A line from `(x1, y1)` to `(x2, y2)`.
    fn line(&mut self, x1: f64, y1: f64, x2: f64, y2: f64, c: Rgb, width: f64) {
        self.stroke_colour(c);
        let _ = writeln!(
            self.page,
            "{} w {} {} m {} {} l S",
            n(width),
            n(x1),
            n(y1),
            n(x2),
            n(y2)
        );
    }

    /// Text with its baseline's left end at `(x, y)`.
    fn text_at(&mut self, x: f64, y: f64, font: Font, size: f64, colour: Rgb, s: &str) {
        let bytes = literal(&encode(s));
        self.fill(colour);
        let _ = write!(
            self.page,
            "BT /{} {} Tf {} {} Td ",
            font.resource(),
            n(size),
            n(x),
            n(y)
        );
        self.page.extend_from_slice(&bytes);
        self.page.extend_from_slice(b" Tj ET\n");
    }

    /// A heading: `size` points, bold, kept on one page with room for a few lines after it.
    pub fn heading(&mut self, s: &str, size: f64) {
        self.need(size * 1.6 + 60.0);
        if self.y < PAGE_HEIGHT - MARGIN {
            self.space(size * 0.6);
        }
        for l in wrap(s, Font::Bold, size, TEXT_WIDTH) {
            self.y -= size * 1.2;
            self.text_at(MARGIN, self.y, Font::Bold, size, (0.0, 0.0, 0.0), &l);
        }
        self.space(size * 0.4);
    }

    /// A paragraph wrapped to the text width.
    pub fn paragraph(&mut self, s: &str, font: Font, size: f64) {
        self.lines(s, font, size, MARGIN, TEXT_WIDTH, (0.0, 0.0, 0.0));
        self.space(size * 0.4);
    }

    /// A paragraph in the muted colour.
    pub fn note(&mut self, s: &str) {
        self.lines(s, Font::Regular, 8.5, MARGIN, TEXT_WIDTH, MUTED);
        self.space(4.0);
    }

    /// A list item: a bullet, then the text wrapped beside it.
    pub fn bullet(&mut self, s: &str, size: f64) {
        let lines = wrap(s, Font::Regular, size, TEXT_WIDTH - 12.0);
        self.need(size * 1.3);
        for (i, l) in lines.iter().enumerate() {
            self.need(size * 1.3);
            self.y -= size * 1.3;
            if i == 0 {
                self.text_at(MARGIN, self.y, Font::Regular, size, (0.0, 0.0, 0.0), "•");
            }
            self.text_at(
                MARGIN + 12.0,
                self.y,
                Font::Regular,
                size,
                (0.0, 0.0, 0.0),
                l,
            );
        }
        self.space(2.0);
    }

    fn lines(&mut self, s: &str, font: Font, size: f64, x: f64, width: f64, colour: Rgb) {
        for l in wrap(s, font, size, width) {
            self.need(size * 1.3);
            self.y -= size * 1.3;
            self.text_at(x, self.y, font, size, colour, &l);
        }
    }

    /// Figures as label / value pairs, in rows of up to four.
    pub fn figures(&mut self, pairs: &[(&str, String)]) {
        const PER_ROW: usize = 4;
        let w = TEXT_WIDTH / PER_ROW as f64;
        for row in pairs.chunks(PER_ROW) {
            self.need(34.0);
            let top = self.y;
            for (i, (label, value)) in row.iter().enumerate() {
                let x = MARGIN + i as f64 * w;
                self.text_at(
                    x,
                    top - 9.0,
                    Font::Regular,
                    8.0,
                    MUTED,
                    &fit(label, Font::Regular, 8.0, w - 6.0),
                );
                self.text_at(
                    x,
                    top - 24.0,
                    Font::Bold,
                    13.0,
                    (0.0, 0.0, 0.0),
                    &fit(value, Font::Bold, 13.0, w - 6.0),
                );
            }
            self.y = top - 32.0;
        }
        self.space(4.0);
    }

    /// A labelled progress bar for `percent` (0–100), the percentage written beside it.
    pub fn progress(&mut self, label: &str, percent: f64) {
        let p = if percent.is_finite() {
            percent.clamp(0.0, 100.0)
        } else {
            0.0
        };
        self.need(22.0);
        self.y -= 10.0;
        self.text_at(MARGIN, self.y, Font::Regular, 9.0, (0.0, 0.0, 0.0), label);
        let x = MARGIN + 150.0;
        let w = TEXT_WIDTH - 150.0 - 50.0;
        self.rect(x, self.y - 1.0, w, 9.0, LIGHT);
        self.rect(x, self.y - 1.0, w * p / 100.0, 9.0, BLUE);
        self.text_at(
            x + w + 6.0,
            self.y,
            Font::Bold,
            9.0,
            (0.0, 0.0, 0.0),
            &format!("{p:.1}%"),
        );
        self.space(8.0);
    }

    /// A table: a shaded header row repeated on each page, then the rows; a left-aligned cell
    /// wraps, a right-aligned one is cut to its column.
    pub fn table(&mut self, columns: &[Column<'_>], rows: &[Vec<String>]) {
        const SIZE: f64 = 8.5;
        const LINE: f64 = 11.0;
        const PAD: f64 = 3.0;
        let widths: Vec<f64> = columns.iter().map(|c| c.share * TEXT_WIDTH).collect();
        let header = |w: &mut PdfWriter| {
            let lines: Vec<Vec<String>> = columns
                .iter()
                .zip(&widths)
                .map(|(c, width)| wrap(c.header, Font::Bold, SIZE, width - 2.0 * PAD))
                .collect();
            let height = lines.iter().map(Vec::len).max().unwrap_or(1) as f64 * LINE + 2.0 * PAD;
            w.rect(MARGIN, w.y - height, TEXT_WIDTH, height, LIGHT);
            w.cells(columns, &widths, &lines, Font::Bold);
            w.y -= height;
        };
        self.need(60.0);
        header(self);
        for row in rows {
            let lines: Vec<Vec<String>> = columns
                .iter()
                .zip(&widths)
                .enumerate()
                .map(|(i, (c, width))| {
                    let text = row.get(i).map_or("", String::as_str);
                    match c.align {
                        Align::Left => wrap(text, Font::Regular, SIZE, width - 2.0 * PAD),
                        Align::Right => vec![fit(text, Font::Regular, SIZE, width - 2.0 * PAD)],
                    }
                })
                .collect();
            let height = lines.iter().map(Vec::len).max().unwrap_or(1) as f64 * LINE + 2.0 * PAD;
            if self.room() < height {
                self.new_page();
                header(self);
            }
            self.cells(columns, &widths, &lines, Font::Regular);
            self.y -= height;
            self.line(MARGIN, self.y, MARGIN + TEXT_WIDTH, self.y, GREY, 0.5);
        }
        self.space(8.0);
    }

    /// One row's cells, from the current `y` down.
    fn cells(&mut self, columns: &[Column<'_>], widths: &[f64], lines: &[Vec<String>], font: Font) {
        const SIZE: f64 = 8.5;
        const LINE: f64 = 11.0;
        const PAD: f64 = 3.0;
        let mut x = MARGIN;
        let top = self.y;
        for ((c, width), cell) in columns.iter().zip(widths).zip(lines) {
            for (i, l) in cell.iter().enumerate() {
                let y = top - PAD - (i as f64 + 1.0) * LINE + 2.5;
                let tx = match c.align {
                    Align::Left => x + PAD,
                    Align::Right => x + width - PAD - text_width(l, font, SIZE),
                };
                self.text_at(tx, y, font, SIZE, (0.0, 0.0, 0.0), l);
            }
            x += width;
        }
    }

    /// Horizontal bars, one a row: the label, the bar (its part in the second colour) scaled
    /// to `max` (the largest value when `None`), and its text.
    pub fn bars(&mut self, bars: &[Bar], max: Option<f64>) {
        const ROW: f64 = 14.0;
        let label_w = 150.0;
        let text_w = 90.0;
        let bar_w = TEXT_WIDTH - label_w - text_w;
        let max = max.unwrap_or_else(|| {
            bars.iter()
                .map(|b| b.value)
                .filter(|v| v.is_finite())
                .fold(0.0, f64::max)
        });
        for b in bars {
            self.need(ROW);
            self.y -= ROW;
            let base = self.y + 2.0;
            self.text_at(
                MARGIN,
                base + 1.0,
                Font::Regular,
                8.5,
                (0.0, 0.0, 0.0),
                &fit(&b.label, Font::Regular, 8.5, label_w - 6.0),
            );
            let scale = if max > 0.0 { bar_w / max } else { 0.0 };
            let v = if b.value.is_finite() {
                b.value.clamp(0.0, max)
            } else {
                0.0
            };
            let part = if b.part.is_finite() {
                b.part.clamp(0.0, v)
            } else {
                0.0
            };
            self.rect(MARGIN + label_w, base, (v - part) * scale, 9.0, BLUE);
            self.rect(
                MARGIN + label_w + (v - part) * scale,
                base,
                part * scale,
                9.0,
                RED,
            );
            self.text_at(
                MARGIN + label_w + v * scale + 4.0,
                base + 1.0,
                Font::Regular,
                8.5,
                (0.0, 0.0, 0.0),
                &b.text,
            );
        }
        self.space(8.0);
    }

    /// Vertical columns over time, `height` points tall: each column's part (failures) in the
    /// second colour on top, a y axis to a round top, the first, middle and last labels under
    /// the columns, and a legend naming both colours.
    pub fn columns(&mut self, columns: &[Bar], legend: (&str, &str), height: f64) {
        if columns.is_empty() {
            return;
        }
        let total = height + 34.0;
        self.need(total);
        let top = self.y;
        let bottom = top - height - 6.0;
        let left = MARGIN + 40.0;
        let width = TEXT_WIDTH - 40.0;
        let max = columns
            .iter()
            .map(|c| c.value)
            .filter(|v| v.is_finite())
            .fold(0.0, f64::max);
        let ceiling = crate::charts::nice_ceiling(max);
        let step = width / columns.len() as f64;
        let gap = if step > 4.0 { step * 0.2 } else { 0.0 };
        // Axis, top gridline and their numbers.
        self.line(left, bottom, left + width, bottom, MUTED, 0.5);
        self.line(
            left,
            bottom + height,
            left + width,
            bottom + height,
            GREY,
            0.5,
        );
        self.text_at(MARGIN, bottom - 3.0, Font::Regular, 7.5, MUTED, "0");
        self.text_at(
            MARGIN,
            bottom + height - 3.0,
            Font::Regular,
            7.5,
            MUTED,
            &crate::charts::num(ceiling),
        );
        for (i, c) in columns.iter().enumerate() {
            let v = if c.value.is_finite() {
                c.value.max(0.0)
            } else {
                0.0
            };
            let part = if c.part.is_finite() {
                c.part.clamp(0.0, v)
            } else {
                0.0
            };
            let x = left + i as f64 * step + gap / 2.0;
            let h = v / ceiling * height;
            let ph = part / ceiling * height;
            self.rect(x, bottom, step - gap, h - ph, BLUE);
            self.rect(x, bottom + h - ph, step - gap, ph, RED);
        }
        let last = columns.len() - 1;
        let mut labelled = vec![0, last / 2, last];
        labelled.dedup();
        for i in labelled {
            let label = &columns[i].label;
            let w = text_width(label, Font::Regular, 7.5);
            let centre = left + (i as f64 + 0.5) * step;
            let x = (centre - w / 2.0).clamp(left, left + width - w);
            self.text_at(x, bottom - 10.0, Font::Regular, 7.5, MUTED, label);
        }
        let ly = bottom - 22.0;
        self.rect(left, ly - 1.0, 8.0, 7.0, BLUE);
        self.text_at(left + 11.0, ly, Font::Regular, 7.5, MUTED, legend.0);
        let lx = left + 20.0 + text_width(legend.0, Font::Regular, 7.5);
        self.rect(lx, ly - 1.0, 8.0, 7.0, RED);
        self.text_at(lx + 11.0, ly, Font::Regular, 7.5, MUTED, legend.1);
        self.y = ly - 10.0;
    }

    /// The whole document: every page with its footer (the title and "Page N of M"), the
    /// fonts, the document information and the cross-reference table.
    pub fn finish(mut self) -> Vec<u8> {
        if !self.page.is_empty() || self.pages.is_empty() {
            self.pages.push(std::mem::take(&mut self.page));
        }
        let count = self.pages.len();
        // Objects: 1 catalog, 2 page tree, 3–5 fonts, 6 information, then per page its page
        // object and its content stream.
        let mut objects: Vec<Vec<u8>> = Vec::with_capacity(6 + 2 * count);
        let kids: Vec<String> = (0..count).map(|i| format!("{} 0 R", 7 + 2 * i)).collect();
        objects.push(b"<< /Type /Catalog /Pages 2 0 R >>".to_vec());
        objects.push(
            format!(
                "<< /Type /Pages /Kids [{}] /Count {count} >>",
                kids.join(" ")
            )
            .into_bytes(),
        );
        for name in ["Helvetica", "Helvetica-Bold", "Courier"] {
            objects.push(
                format!(
                    "<< /Type /Font /Subtype /Type1 /BaseFont /{name} /Encoding /WinAnsiEncoding >>"
                )
                .into_bytes(),
            );
        }
        // Document information strings are PDFDocEncoding: keep them to printable ASCII.
        let ascii: String = self
            .title
            .chars()
            .map(|c| match c {
                '–' | '—' => '-',
                c if c.is_ascii() && !c.is_ascii_control() => c,
                _ => '?',
            })
            .collect();
        let mut info = b"<< /Title ".to_vec();
        info.extend(literal(ascii.as_bytes()));
        info.extend(
            format!(
                " /Producer (mhd) /Creator (mhd report) /CreationDate ({}) >>",
                self.created
            )
            .into_bytes(),
        );
        objects.push(info);
        let title = self.title.clone();
        let pages = std::mem::take(&mut self.pages);
        for (i, content) in pages.into_iter().enumerate() {
            self.page = content;
            let footer = format!("Page {} of {count}", i + 1);
            let fw = text_width(&footer, Font::Regular, 8.0);
            self.line(
                MARGIN,
                FOOTER_Y + 10.0,
                PAGE_WIDTH - MARGIN,
                FOOTER_Y + 10.0,
                GREY,
                0.5,
            );
            let t = fit(&title, Font::Regular, 8.0, TEXT_WIDTH - fw - 20.0);
            self.text_at(MARGIN, FOOTER_Y, Font::Regular, 8.0, MUTED, &t);
            self.text_at(
                PAGE_WIDTH - MARGIN - fw,
                FOOTER_Y,
                Font::Regular,
                8.0,
                MUTED,
                &footer,
            );
            let stream = std::mem::take(&mut self.page);
            objects.push(
                format!(
                    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {} {}] /Resources << /Font << /F1 3 0 R /F2 4 0 R /F3 5 0 R >> >> /Contents {} 0 R >>",
                    n(PAGE_WIDTH),
                    n(PAGE_HEIGHT),
                    8 + 2 * i
                )
                .into_bytes(),
            );
            let mut obj = format!("<< /Length {} >>\nstream\n", stream.len()).into_bytes();
            obj.extend(stream);
            obj.extend(b"\nendstream");
            objects.push(obj);
        }
        let mut out: Vec<u8> = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
        let mut offsets = Vec::with_capacity(objects.len());
        for (i, body) in objects.iter().enumerate() {
            offsets.push(out.len());
            out.extend(format!("{} 0 obj\n", i + 1).into_bytes());
            out.extend(body);
            out.extend(b"\nendobj\n");
        }
        let xref = out.len();
        out.extend(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).into_bytes());
        for o in offsets {
            out.extend(format!("{o:010} 00000 n \n").into_bytes());
        }
        out.extend(
            format!(
                "trailer\n<< /Size {} /Root 1 0 R /Info 6 0 R >>\nstartxref\n{xref}\n%%EOF\n",
                objects.len() + 1
            )
            .into_bytes(),
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn strings_are_escaped_and_encoded() {
        assert_eq!(encode("a(b)\\c"), b"a(b)\\c");
        assert_eq!(literal(&encode("a(b)\\c")), b"(a\\(b\\)\\\\c)");
        assert_eq!(encode("café — 5 €"), b"caf\xe9 \x97 5 \x80");
        assert_eq!(
            encode("✓ ok\u{0}\n\t"),
            b"? ok",
            "control characters removed"
        );
        assert_eq!(encode("日本"), b"??");
    }

    #[test]
    fn widths_follow_the_fonts() {
        // "Hello" in Helvetica: H 722 e 556 l 222 l 222 o 556 = 2278.
        assert!((text_width("Hello", Font::Regular, 10.0) - 22.78).abs() < 1e-9);
        assert!(text_width("Hello", Font::Bold, 10.0) > text_width("Hello", Font::Regular, 10.0));
        assert!((text_width("abc", Font::Mono, 10.0) - 18.0).abs() < 1e-9);
    }

    #[test]
    fn wrapping_keeps_words_and_cuts_long_ones() {
        let lines = wrap("one two three four", Font::Regular, 10.0, 50.0);
        assert!(lines.len() > 1);
        assert_eq!(lines.join(" "), "one two three four");
        for l in &lines {
            assert!(text_width(l, Font::Regular, 10.0) <= 50.0, "{l}");
        }
        let long = "x".repeat(100);
        let cut = wrap(&long, Font::Regular, 10.0, 50.0);
        assert_eq!(cut.concat(), long);
        assert_eq!(wrap("", Font::Regular, 10.0, 50.0), vec![String::new()]);
        assert_eq!(
            fit("abcdefghijklmnop", Font::Regular, 10.0, 40.0)
                .chars()
                .last(),
            Some('.')
        );
    }

    #[test]
    fn the_cross_reference_table_points_at_every_object() {
        let mut w = PdfWriter::new("T (1)", datetime!(2025-03-01 12:00 UTC));
        w.heading("Heading", 14.0);
        for i in 0..200 {
            w.paragraph(
                &format!("line {i} with (parentheses) and a backslash \\"),
                Font::Regular,
                10.0,
            );
        }
        let pdf = w.finish();
        let text = String::from_utf8_lossy(&pdf);
        assert!(text.starts_with("%PDF-1.4\n"));
        assert!(text.ends_with("%%EOF\n"));
        let startxref: usize = text
            .rsplit("startxref\n")
            .next()
            .and_then(|t| t.lines().next())
            .and_then(|l| l.parse().ok())
            .unwrap();
        assert!(pdf[startxref..].starts_with(b"xref\n"));
        let xref = String::from_utf8_lossy(&pdf[startxref..]);
        let entries: Vec<&str> = xref
            .lines()
            .skip(2)
            .take_while(|l| !l.starts_with("trailer"))
            .collect();
        assert!(entries.len() > 8, "several pages: {}", entries.len());
        for (i, e) in entries.iter().enumerate().skip(1) {
            assert_eq!(e.len(), 19, "an entry is 20 bytes with its newline: {e:?}");
            let offset: usize = e[..10].parse().unwrap();
            assert!(
                pdf[offset..].starts_with(format!("{i} 0 obj\n").as_bytes()),
                "object {i}"
            );
        }
        assert!(text.contains("(Page 1 of "), "page numbers");
        assert!(text.contains("/Title (T \\(1\\))"));
    }
}
