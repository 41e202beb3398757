//! The report's text: the fonts shipped in the binary (`crates/web/fonts`, see its README),
//! which of them draws each character, and the measuring, wrapping and fitting of text to a
//! width; and the options the charts' SVG is parsed with (the same fonts, and the charts'
//! stylesheet made printable).
//!
//! DejaVu Sans draws Latin, Greek and Cyrillic, Noto Sans CJK Chinese, Japanese and Korean,
//! Noto Emoji emoji: each character takes the first of those fonts that has it, so a name in
//! any of those scripts prints as written.

use std::sync::{Arc, LazyLock};

use skrifa::MetadataProvider as _;

/// DejaVu Sans, subset (Latin, Greek, Cyrillic, punctuation, symbols).
static REGULAR_DATA: &[u8] = include_bytes!("../../fonts/DejaVuSans-subset.ttf");
/// DejaVu Sans Bold, the same characters.
static BOLD_DATA: &[u8] = include_bytes!("../../fonts/DejaVuSans-Bold-subset.ttf");
/// Noto Sans CJK SC, subset (the common Chinese, Japanese and Korean characters).
static CJK_DATA: &[u8] = include_bytes!("../../fonts/NotoSansCJKsc-Regular-subset.otf");
/// Noto Emoji (monochrome outlines).
static EMOJI_DATA: &[u8] = include_bytes!("../../fonts/NotoEmoji-Regular-subset.ttf");

/// The family name charts ask for first; the others are found by fallback.
const CHART_FAMILY: &str = "DejaVu Sans";

/// A shipped font: what krilla embeds and what measures and maps characters.
pub(super) struct Face {
    pub(super) font: krilla::text::Font,
    data: &'static [u8],
    units_per_em: f32,
}

impl Face {
    fn new(data: &'static [u8]) -> Face {
        let font = krilla::text::Font::new(data.into(), 0).expect("a shipped font parses");
        let units_per_em = font.units_per_em();
        Face {
            font,
            data,
            units_per_em,
        }
    }

    fn skrifa(&self) -> skrifa::FontRef<'static> {
        skrifa::FontRef::new(self.data).expect("a shipped font parses")
    }

    /// Whether it has a glyph for `c`.
    fn has(&self, c: char) -> bool {
        self.skrifa()
            .charmap()
            .map(c)
            .is_some_and(|g| g.to_u32() != 0)
    }

    /// The advance of `s` at `size` points (no kerning: a little generous for wrapping).
    pub(super) fn advance(&self, s: &str, size: f64) -> f64 {
        let f = self.skrifa();
        let charmap = f.charmap();
        let metrics = f.glyph_metrics(
            skrifa::instance::Size::unscaled(),
            skrifa::instance::LocationRef::default(),
        );
        let units: f32 = s
            .chars()
            .map(|c| {
                charmap
                    .map(c)
                    .and_then(|g| metrics.advance_width(g))
                    .unwrap_or(0.0)
            })
            .sum();
        f64::from(units / self.units_per_em) * size
    }
}

/// The four shipped fonts, parsed once.
struct Faces {
    regular: Face,
    bold: Face,
    cjk: Face,
    emoji: Face,
}

static FACES: LazyLock<Faces> = LazyLock::new(|| Faces {
    regular: Face::new(REGULAR_DATA),
    bold: Face::new(BOLD_DATA),
    cjk: Face::new(CJK_DATA),
    emoji: Face::new(EMOJI_DATA),
});

/// The options usvg parses the charts with: the shipped fonts, and the charts' stylesheet
/// with each colour variable replaced by its fallback.
pub(super) static SVG_OPTIONS: LazyLock<usvg::Options<'static>> = LazyLock::new(|| {
    let mut db = usvg::fontdb::Database::new();
    for data in [REGULAR_DATA, BOLD_DATA, CJK_DATA, EMOJI_DATA] {
        db.load_font_data(data.to_vec());
    }
    db.set_sans_serif_family(CHART_FAMILY);
    usvg::Options {
        font_family: CHART_FAMILY.to_owned(),
        fontdb: Arc::new(db),
        style_sheet: Some(print_css(crate::charts::CSS)),
        ..usvg::Options::default()
    }
});

/// A stylesheet made printable: `var(--name,fallback)` becomes its fallback (black when there
/// is none), and `@media` blocks are dropped (print has no screen width or forced colours).
pub fn print_css(css: &str) -> String {
    let css = resolve_vars(css);
    let mut out = String::with_capacity(css.len());
    let mut rest = css.as_str();
    while let Some(at) = rest.find("@media") {
        out.push_str(&rest[..at]);
        // Skip to the brace that closes the block.
        let after = &rest[at..];
        let mut depth = 0usize;
        let mut end = after.len();
        for (i, c) in after.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        end = i + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// Every `var(--name,fallback)` in `s` replaced by its fallback (`#000` when there is none).
pub fn resolve_vars(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find("var(") {
        out.push_str(&rest[..at]);
        let inner = &rest[at + 4..];
        let Some(close) = inner.find(')') else {
            out.push_str(&rest[at..]);
            return out;
        };
        let args = &inner[..close];
        match args.split_once(',') {
            Some((_, fallback)) => out.push_str(fallback.trim()),
            None => out.push_str("#000"),
        }
        rest = &inner[close + 1..];
    }
    out.push_str(rest);
    out
}

/// The weight of a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Font {
    /// DejaVu Sans.
    Regular,
    /// DejaVu Sans Bold.
    Bold,
}

/// Which shipped font draws a character.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Slot {
    Regular,
    Bold,
    Cjk,
    Emoji,
}

impl Slot {
    pub(super) fn face(self) -> &'static Face {
        let f = &*FACES;
        match self {
            Slot::Regular => &f.regular,
            Slot::Bold => &f.bold,
            Slot::Cjk => &f.cjk,
            Slot::Emoji => &f.emoji,
        }
    }
}

/// Whether `c` joins the character before it (combining marks, variation selectors, the
/// zero-width joiner, skin tones), so it stays in that character's font.
fn joins(c: char) -> bool {
    matches!(c as u32,
        0x0300..=0x036F | 0x200C | 0x200D | 0x20D0..=0x20FF | 0xFE00..=0xFE0F
        | 0x1F3FB..=0x1F3FF | 0xE0020..=0xE007F)
}

/// Whether `c` is an emoji best drawn by the emoji font even when the text font has it.
fn emoji_first(c: char) -> bool {
    matches!(c as u32, 0x1F000..=0x1FAFF)
}

/// `s` split into runs, each drawn by one font: the first of the weight's own font, the CJK
/// font and the emoji font that has the character (the weight's font when none has it).
pub(super) fn runs(s: &str, font: Font) -> Vec<(Slot, String)> {
    let base = match font {
        Font::Regular => Slot::Regular,
        Font::Bold => Slot::Bold,
    };
    let mut out: Vec<(Slot, String)> = Vec::new();
    for c in s.chars() {
        if c.is_control() {
            continue;
        }
        let slot = match out.last() {
            Some((slot, _)) if joins(c) => *slot,
            _ => {
                let order: [Slot; 3] = if emoji_first(c) {
                    [Slot::Emoji, base, Slot::Cjk]
                } else {
                    [base, Slot::Cjk, Slot::Emoji]
                };
                order.into_iter().find(|s| s.face().has(c)).unwrap_or(base)
            }
        };
        match out.last_mut() {
            Some((last, text)) if *last == slot => text.push(c),
            _ => out.push((slot, c.to_string())),
        }
    }
    out
}

/// The width of `s` in `font` at `size` points.
pub fn text_width(s: &str, font: Font, size: f64) -> f64 {
    runs(s, font)
        .iter()
        .map(|(slot, t)| slot.face().advance(t, size))
        .sum()
}

/// Where a line may break: after spaces, and between two CJK characters (which have no
/// spaces between words).
fn breakable_cjk(c: char) -> bool {
    matches!(c as u32, 0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xAC00..=0xD7AF | 0xF900..=0xFAFF)
}

/// `s` wrapped into lines no wider than `width`; a word longer than a line is cut.
pub fn wrap(s: &str, font: Font, size: f64, width: f64) -> Vec<String> {
    // Words: split at spaces; CJK characters are words of their own.
    let mut words: Vec<String> = Vec::new();
    for w in s.split_whitespace() {
        let mut cur = String::new();
        for c in w.chars() {
            if breakable_cjk(c) {
                if !cur.is_empty() {
                    words.push(std::mem::take(&mut cur));
                }
                words.push(format!("\u{0}{c}"));
            } else {
                cur.push(c);
            }
        }
        if !cur.is_empty() {
            words.push(cur);
        }
        words.push(" ".to_owned());
    }
    words.pop();
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    let mut pending_space = false;
    for w in words {
        if w == " " {
            pending_space = true;
            continue;
        }
        // A CJK character is marked by a leading NUL: it joins the line without a space.
        let word = w.strip_prefix('\u{0}').map_or(w.clone(), str::to_owned);
        let sep = if pending_space && !line.is_empty() {
            " "
        } else {
            ""
        };
        pending_space = false;
        let candidate = format!("{line}{sep}{word}");
        if text_width(&candidate, font, size) <= width || line.is_empty() {
            line = candidate;
        } else {
            lines.push(std::mem::take(&mut line));
            line = word;
        }
        // A single word wider than the line is cut into pieces that fit.
        while text_width(&line, font, size) > width && line.chars().count() > 1 {
            let mut piece = String::new();
            for c in line.chars() {
                piece.push(c);
                if text_width(&piece, font, size) > width {
                    piece.pop();
                    break;
                }
            }
            if piece.is_empty() {
                break;
            }
            let tail = line[piece.len()..].to_owned();
            lines.push(piece);
            line = tail;
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// `s` cut to fit `width`, ending in `…` when cut.
pub fn fit(s: &str, font: Font, size: f64, width: f64) -> String {
    if text_width(s, font, size) <= width {
        return s.to_owned();
    }
    let mut out = String::new();
    for c in s.chars() {
        out.push(c);
        if text_width(&format!("{out}…"), font, size) > width {
            out.pop();
            break;
        }
    }
    format!("{}…", out.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_script_finds_a_font() {
        let r = runs("Σταθμός Москва 東京 서울 🚀 ok", Font::Regular);
        let slots: Vec<Slot> = r.iter().map(|(s, _)| *s).collect();
        assert!(slots.contains(&Slot::Regular));
        assert!(slots.contains(&Slot::Cjk));
        assert!(slots.contains(&Slot::Emoji));
        for c in "Σταθμός Москва 東京 서울 🚀"
            .chars()
            .filter(|c| !c.is_whitespace())
        {
            assert!(
                [Slot::Regular, Slot::Cjk, Slot::Emoji]
                    .iter()
                    .any(|s| s.face().has(c)),
                "no font has {c:?}"
            );
        }
    }

    #[test]
    fn wrapping_keeps_words_and_breaks_cjk() {
        let lines = wrap("one two three four five six", Font::Regular, 10.0, 60.0);
        assert!(lines.len() > 1);
        assert!(
            lines
                .iter()
                .all(|l| text_width(l, Font::Regular, 10.0) <= 60.0)
        );
        assert_eq!(lines.join(" "), "one two three four five six");
        let cjk = wrap(
            "数据迁移数据迁移数据迁移数据迁移",
            Font::Regular,
            10.0,
            50.0,
        );
        assert!(cjk.len() > 1, "{cjk:?}");
        assert_eq!(cjk.concat(), "数据迁移数据迁移数据迁移数据迁移");
        let long = wrap(&"x".repeat(200), Font::Regular, 10.0, 50.0);
        assert!(long.len() > 1);
        assert!(
            long.iter()
                .all(|l| text_width(l, Font::Regular, 10.0) <= 50.0)
        );
    }

    #[test]
    fn css_variables_become_their_fallbacks() {
        assert_eq!(
            print_css("a{fill:var(--bar,#1d5fd1)}@media print{b{c:d}}e{stroke:var(--x)}"),
            "a{fill:#1d5fd1}e{stroke:#000}"
        );
    }

    #[test]
    fn fit_cuts_with_an_ellipsis() {
        let s = fit("a rather long name of a dataset", Font::Regular, 10.0, 60.0);
        assert!(s.ends_with('…'));
        assert!(text_width(&s, Font::Regular, 10.0) <= 60.0);
        assert_eq!(fit("short", Font::Regular, 10.0, 60.0), "short");
    }
}
