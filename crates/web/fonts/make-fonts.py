#!/usr/bin/env python3
"""Writes the report's fonts (this folder's *.ttf / *.otf) from the upstream fonts, subset with
fontTools' pyftsubset. See README.md beside this file for the sources and the character sets.

Usage: make-fonts.py DEJAVU_DIR NOTO_SANS_CJK_REGULAR_TTC NOTO_EMOJI_REGULAR_TTF
"""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

# Latin (with extensions and combining marks), Greek, Cyrillic, general punctuation, currency,
# letterlike symbols, arrows, mathematical operators, box drawing, shapes, symbols, dingbats.
LATIN_GREEK_CYRILLIC = ",".join([
    "U+0020-024F", "U+0250-02FF", "U+0300-036F", "U+0370-03FF", "U+0400-052F", "U+1E00-1EFF",
    "U+1F00-1FFF", "U+2000-206F", "U+2070-209F", "U+20A0-20CF", "U+2100-214F", "U+2150-218F",
    "U+2190-21FF", "U+2200-22FF", "U+2300-23FF", "U+2460-24FF", "U+2500-259F", "U+25A0-25FF",
    "U+2600-26FF", "U+2700-27BF", "U+FB00-FB06", "U+FFFD",
])


def legacy(encoding, rows, cells=range(0xA1, 0xFF)):
    """The characters of a double-byte legacy character set's rows (lead bytes)."""
    out = set()
    for lead in rows:
        for trail in cells:
            try:
                out.add(bytes([lead, trail]).decode(encoding))
            except UnicodeDecodeError:
                pass
    return out


def cjk_text():
    chars = set()
    # GB 2312 level 1: the 3,755 most used simplified Chinese characters (rows 16-55).
    chars |= legacy("gb2312", range(0xB0, 0xD8))
    # JIS X 0208 level 1: the 2,965 most used Japanese kanji (rows 16-47).
    chars |= legacy("euc_jp", range(0xB0, 0xD0))
    # KS X 1001: the 2,350 Hangul syllables of modern Korean (rows 16-40).
    chars |= legacy("euc_kr", range(0xB0, 0xC9))
    return "".join(sorted(c for c in chars if ord(c) > 0x2E7F))


# CJK punctuation, kana, Hangul compatibility jamo, Bopomofo, half- and full-width forms.
CJK_RANGES = "U+3000-303F,U+3040-30FF,U+3100-312F,U+3130-318F,U+31F0-31FF,U+FF00-FFEF"

# Emoji (Noto Emoji, the monochrome outlines: a tenth of the colour bitmaps' size): the emoticons, the pictographs, transport and map symbols, the supplemental symbols,
# the regional indicators (flags are pairs of them), and the common symbols and dingbats that
# have an emoji form; the keycap and variation selectors and the zero-width joiner.
EMOJI = ",".join([
    "U+1F300-1F5FF", "U+1F600-1F64F", "U+1F680-1F6FF", "U+1F900-1F9FF", "U+1FA70-1FAFF",
    "U+1F1E6-1F1FF", "U+2600-26FF", "U+2700-27BF", "U+2B50", "U+2B55", "U+2705", "U+203C",
    "U+2049", "U+FE0F", "U+200D", "U+20E3",
])


def subset(src, out, unicodes=None, text=None, extra=()):
    args = ["pyftsubset", src, f"--output-file={os.path.join(HERE, out)}",
            "--layout-features=*", "--no-hinting", "--desubroutinize", "--name-IDs=*",
            "--name-legacy", "--name-languages=*", "--notdef-outline"]
    if unicodes:
        args.append(f"--unicodes={unicodes}")
    if text:
        args.append(f"--text={text}")
    args.extend(extra)
    subprocess.run(args, check=True)


def main():
    dejavu, cjk, emoji = sys.argv[1:4]
    subset(os.path.join(dejavu, "DejaVuSans.ttf"), "DejaVuSans-subset.ttf", LATIN_GREEK_CYRILLIC)
    subset(os.path.join(dejavu, "DejaVuSans-Bold.ttf"), "DejaVuSans-Bold-subset.ttf",
           LATIN_GREEK_CYRILLIC)
    # Font number 2 of the collection is Noto Sans CJK SC (simplified Chinese forms; it has the
    # kana and Hangul too).
    subset(cjk, "NotoSansCJKsc-Regular-subset.otf", CJK_RANGES, cjk_text(), ["--font-number=2"])
    subset(emoji, "NotoEmoji-Regular-subset.ttf", EMOJI)


if __name__ == "__main__":
    main()
