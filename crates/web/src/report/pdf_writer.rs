//! The report's page writer: A4 pages laid out top to bottom (headings, wrapped paragraphs,
//! bullets, figures, tables whose header repeats on each page, and the pages' own SVG charts),
//! written as PDF by krilla.
//!
//! Text is set in the fonts shipped in the binary, each character in the first that has it
//! ([`super::pdf_text`]); krilla shapes the text, embeds only the glyphs used and maps them back
//! to Unicode, so the text can be searched and copied (`pdftotext` reads it).
//!
//! Charts are the SVG the pages show ([`crate::charts`]), parsed by usvg with the same fonts and
//! drawn by krilla-svg as vector paths and text, not as images. The charts' stylesheet gives
//! their colours as CSS variables with a fallback; the print stylesheet keeps the fallbacks.
//!
//! Pages are recorded as lists of drawing operations and drawn when the document is finished,
//! so every page's footer can say "Page N of M".

use krilla::Document;
use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect, Size, Transform};
use krilla::metadata::{DateTime, Metadata};
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::surface::Surface;
use krilla::text::TextDirection;
use krilla_svg::{SurfaceExt as _, SvgSettings};

use super::pdf_text::{Font, SVG_OPTIONS, fit, resolve_vars, runs, text_width, wrap};

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

/// An RGB colour, each part 0–255.
type Rgb = (u8, u8, u8);
const BLACK: Rgb = (27, 31, 36);
/// Gridlines and table rules.
const GREY: Rgb = (191, 196, 204);
/// The shade of a table's header and of a call-out.
const LIGHT: Rgb = (237, 240, 242);
/// Notes and footers.
const MUTED: Rgb = (80, 87, 95);
/// The status colours of the pages.
pub const GREEN: Rgb = (23, 103, 46);
/// At risk.
pub const AMBER: Rgb = (154, 103, 0);
/// Critical.
pub const RED: Rgb = (180, 35, 24);

/// One drawing operation, in points from the page's top left corner.
enum Op {
    Rect {
        x: f64,
        y: f64,
        w: f64,
        h: f64,
        colour: Rgb,
    },
    Line {
        x1: f64,
        y1: f64,
        x2: f64,
        y2: f64,
        colour: Rgb,
        width: f64,
    },
    /// Text with its baseline's left end at `(x, y)`.
    Text {
        x: f64,
        y: f64,
        font: Font,
        size: f64,
        colour: Rgb,
        text: String,
    },
    /// A chart scaled to `w` × `h` with its top left corner at `(x, y)`.
    Svg {
        x: f64,
        y: f64,
        w: f64,
        h: f64,
        tree: Box<usvg::Tree>,
    },
}

/// A PDF document written top to bottom; pages break by themselves.
pub struct PdfWriter {
    title: String,
    created: time::OffsetDateTime,
    pages: Vec<Vec<Op>>,
    page: Vec<Op>,
    /// The top of the free space on the current page, in points from the page's top.
    y: f64,
}

impl std::fmt::Debug for PdfWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PdfWriter")
            .field("title", &self.title)
            .field("pages", &(self.pages.len() + 1))
            .finish()
    }
}

impl PdfWriter {
    /// A new document named `title` (shown by readers), created at `created`.
    pub fn new(title: &str, created: time::OffsetDateTime) -> PdfWriter {
        PdfWriter {
            title: title.to_owned(),
            created,
            pages: Vec::new(),
            page: Vec::new(),
            y: MARGIN,
        }
    }

    /// How much room is left on the current page.
    fn room(&self) -> f64 {
        PAGE_HEIGHT - MARGIN - self.y
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
        self.y = MARGIN;
    }

    /// Leaves `height` points of space (never across a page break).
    pub fn space(&mut self, height: f64) {
        self.y = (self.y + height).min(PAGE_HEIGHT - MARGIN);
    }

    fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, colour: Rgb) {
        if w > 0.0 && h > 0.0 && w.is_finite() && h.is_finite() {
            self.page.push(Op::Rect { x, y, w, h, colour });
        }
    }

    fn line(&mut self, x1: f64, y1: f64, x2: f64, y2: f64, colour: Rgb, width: f64) {
        self.page.push(Op::Line {
            x1,
            y1,
            x2,
            y2,
            colour,
            width,
        });
    }

    fn text_at(&mut self, x: f64, y: f64, font: Font, size: f64, colour: Rgb, s: &str) {
        if !s.trim().is_empty() {
            self.page.push(Op::Text {
                x,
                y,
                font,
                size,
                colour,
                text: s.to_owned(),
            });
        }
    }

    /// A heading: `size` points, bold, kept on one page with room for a few lines after it.
    pub fn heading(&mut self, s: &str, size: f64) {
        self.need(size * 1.6 + 60.0);
        if self.y > MARGIN {
            self.space(size * 0.6);
        }
        for l in wrap(s, Font::Bold, size, TEXT_WIDTH) {
            self.y += size * 1.2;
            self.text_at(MARGIN, self.y, Font::Bold, size, BLACK, &l);
        }
        self.space(size * 0.4);
    }

    /// A paragraph wrapped to the text width.
    pub fn paragraph(&mut self, s: &str, font: Font, size: f64) {
        self.lines(s, font, size, MARGIN, TEXT_WIDTH, BLACK);
        self.space(size * 0.4);
    }

    /// A paragraph in a colour (a status line).
    pub fn coloured(&mut self, s: &str, font: Font, size: f64, colour: Rgb) {
        self.lines(s, font, size, MARGIN, TEXT_WIDTH, colour);
        self.space(size * 0.4);
    }

    /// A paragraph in the muted colour.
    pub fn note(&mut self, s: &str) {
        self.lines(s, Font::Regular, 8.5, MARGIN, TEXT_WIDTH, MUTED);
        self.space(4.0);
    }

    /// A list item: a bullet (or `marker`), then the text wrapped beside it.
    pub fn bullet(&mut self, s: &str, size: f64) {
        self.item("•", s, size);
    }

    /// A list item with its own marker ("1.", "•").
    pub fn item(&mut self, marker: &str, s: &str, size: f64) {
        let lines = wrap(s, Font::Regular, size, TEXT_WIDTH - 14.0);
        for (i, l) in lines.iter().enumerate() {
            self.need(size * 1.3);
            self.y += size * 1.3;
            if i == 0 {
                self.text_at(MARGIN, self.y, Font::Regular, size, BLACK, marker);
            }
            self.text_at(MARGIN + 14.0, self.y, Font::Regular, size, BLACK, l);
        }
        self.space(2.0);
    }

    fn lines(&mut self, s: &str, font: Font, size: f64, x: f64, width: f64, colour: Rgb) {
        for l in wrap(s, font, size, width) {
            self.need(size * 1.3);
            self.y += size * 1.3;
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
                let label = fit(label, Font::Regular, 8.0, w - 6.0);
                self.text_at(x, top + 9.0, Font::Regular, 8.0, MUTED, &label);
                let value = fit(value, Font::Bold, 13.0, w - 6.0);
                self.text_at(x, top + 24.0, Font::Bold, 13.0, BLACK, &value);
            }
            self.y = top + 32.0;
        }
        self.space(4.0);
    }

    /// A chart: the SVG `svg` scaled to the text width (or its own width in points when
    /// narrower than `max_width`), on a new page when it does not fit. An SVG that does not
    /// parse is replaced by a note saying so.
    pub fn svg(&mut self, svg: &str, max_width: f64) {
        // A chart comes with what the page shows beside it (its table for screen readers):
        // only the `<svg>` element is drawn.
        let svg = match (svg.find("<svg"), svg.find("</svg>")) {
            (Some(start), Some(end)) if start < end => &svg[start..end + "</svg>".len()],
            _ => svg,
        };
        let tree = match usvg::Tree::from_str(&resolve_vars(svg), &SVG_OPTIONS) {
            Ok(t) => t,
            Err(e) => {
                self.note(&format!("(This chart could not be drawn: {e}.)"));
                return;
            }
        };
        let size = tree.size();
        let (sw, sh) = (f64::from(size.width()), f64::from(size.height()));
        if sw <= 0.0 || sh <= 0.0 {
            return;
        }
        let w = max_width.min(TEXT_WIDTH);
        let h = w * sh / sw;
        self.need(h + 4.0);
        let y = self.y + 2.0;
        self.page.push(Op::Svg {
            x: MARGIN,
            y,
            w,
            h,
            tree: Box::new(tree),
        });
        self.y = y + h;
        self.space(8.0);
    }

    /// A box shaded light with a coloured bar at its left, holding `lines` of text.
    pub fn callout(&mut self, lines: &[(String, Font, f64)], colour: Rgb) {
        let wrapped: Vec<(Vec<String>, Font, f64)> = lines
            .iter()
            .map(|(s, f, size)| (wrap(s, *f, *size, TEXT_WIDTH - 24.0), *f, *size))
            .collect();
        let height: f64 = wrapped
            .iter()
            .map(|(l, _, size)| l.len() as f64 * size * 1.3)
            .sum::<f64>()
            + 14.0;
        self.need(height.min(PAGE_HEIGHT - 2.0 * MARGIN));
        let top = self.y;
        self.rect(MARGIN, top, TEXT_WIDTH, height, LIGHT);
        self.rect(MARGIN, top, 4.0, height, colour);
        let mut y = top + 6.0;
        for (ls, font, size) in wrapped {
            for l in ls {
                y += size * 1.3;
                self.text_at(MARGIN + 14.0, y - size * 0.25, font, size, BLACK, &l);
            }
        }
        self.y = top + height;
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
            w.rect(MARGIN, w.y, TEXT_WIDTH, height, LIGHT);
            w.cells(columns, &widths, &lines, Font::Bold);
            w.y += height;
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
            self.y += height;
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
                let y = top + PAD + (i as f64 + 1.0) * LINE - 2.5;
                let tx = match c.align {
                    Align::Left => x + PAD,
                    Align::Right => x + width - PAD - text_width(l, font, SIZE),
                };
                self.text_at(tx, y, font, SIZE, BLACK, l);
            }
            x += width;
        }
    }

    /// The whole document: every page with its footer (the title and "Page N of M") and the
    /// document's information (title, creation date).
    pub fn finish(mut self) -> Vec<u8> {
        if !self.page.is_empty() || self.pages.is_empty() {
            self.pages.push(std::mem::take(&mut self.page));
        }
        let count = self.pages.len();
        let footer_title = fit(&self.title, Font::Regular, 7.5, TEXT_WIDTH - 80.0);
        let mut doc = Document::new();
        let c = self.created.to_offset(time::UtcOffset::UTC);
        doc.set_metadata(
            Metadata::new()
                .title(self.title.clone())
                .creator("mhd".to_owned())
                .creation_date(
                    DateTime::new(u16::try_from(c.year().clamp(0, 9999)).unwrap_or(0))
                        .month(u8::from(c.month()))
                        .day(c.day())
                        .hour(c.hour())
                        .minute(c.minute())
                        .second(c.second())
                        .utc_offset_hour(0)
                        .utc_offset_minute(0),
                ),
        );
        for (i, mut ops) in self.pages.into_iter().enumerate() {
            let label = format!("Page {} of {count}", i + 1);
            let y = PAGE_HEIGHT - FOOTER_Y;
            ops.push(Op::Text {
                x: MARGIN,
                y,
                font: Font::Regular,
                size: 7.5,
                colour: MUTED,
                text: footer_title.clone(),
            });
            ops.push(Op::Text {
                x: PAGE_WIDTH - MARGIN - text_width(&label, Font::Regular, 7.5),
                y,
                font: Font::Regular,
                size: 7.5,
                colour: MUTED,
                text: label,
            });
            let settings = PageSettings::from_wh(PAGE_WIDTH as f32, PAGE_HEIGHT as f32)
                .expect("A4 is a valid page size");
            let mut page = doc.start_page_with(settings);
            let mut surface = page.surface();
            for op in &ops {
                draw(&mut surface, op);
            }
            surface.finish();
            page.finish();
        }
        doc.finish().unwrap_or_else(|e| {
            // Every input is made safe above; a failure here is a bug, told in a minimal PDF
            // rather than a panic of the server.
            tracing::error!(error = ?e, "the PDF report could not be written");
            Vec::new()
        })
    }
}

fn colour(c: Rgb) -> rgb::Color {
    rgb::Color::new(c.0, c.1, c.2)
}

fn fill(c: Rgb) -> Fill {
    Fill {
        paint: colour(c).into(),
        opacity: NormalizedF32::ONE,
        rule: Default::default(),
    }
}

fn draw(surface: &mut Surface<'_>, op: &Op) {
    match op {
        Op::Rect { x, y, w, h, colour } => {
            let Some(r) = Rect::from_xywh(*x as f32, *y as f32, *w as f32, *h as f32) else {
                return;
            };
            let mut pb = PathBuilder::new();
            pb.push_rect(r);
            if let Some(path) = pb.finish() {
                surface.set_stroke(None);
                surface.set_fill(Some(fill(*colour)));
                surface.draw_path(&path);
            }
        }
        Op::Line {
            x1,
            y1,
            x2,
            y2,
            colour: c,
            width,
        } => {
            let mut pb = PathBuilder::new();
            pb.move_to(*x1 as f32, *y1 as f32);
            pb.line_to(*x2 as f32, *y2 as f32);
            if let Some(path) = pb.finish() {
                surface.set_fill(None);
                surface.set_stroke(Some(Stroke {
                    paint: colour(*c).into(),
                    width: *width as f32,
                    ..Default::default()
                }));
                surface.draw_path(&path);
            }
        }
        Op::Text {
            x,
            y,
            font,
            size,
            colour: c,
            text,
        } => {
            surface.set_stroke(None);
            surface.set_fill(Some(fill(*c)));
            let mut at = *x;
            for (slot, run) in runs(text, *font) {
                let face = slot.face();
                surface.draw_text(
                    Point::from_xy(at as f32, *y as f32),
                    face.font.clone(),
                    *size as f32,
                    &run,
                    false,
                    TextDirection::Auto,
                );
                at += face.advance(&run, *size);
            }
        }
        Op::Svg { x, y, w, h, tree } => {
            let Some(size) = Size::from_wh(*w as f32, *h as f32) else {
                return;
            };
            surface.push_transform(&Transform::from_translate(*x as f32, *y as f32));
            surface.draw_svg(tree, size, SvgSettings::default());
            surface.pop();
        }
    }
}
