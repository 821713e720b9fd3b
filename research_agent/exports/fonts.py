"""The PDF's fonts: DejaVu Sans shipped in `fonts/` (see its README), the system's fonts for what it lacks,
and U+FFFD for what no font has.

fpdf2 leaves out a character its font has no glyph for, with only a log line; a report in Chinese would
then export as blank lines. So before anything is drawn, every character the document uses is checked
against the fonts: a system font that has some of the missing ones is added as a fallback (loaded only
then, since CJK fonts are large), and what is still missing is replaced, visibly, and counted.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from fpdf import FPDF

FONT_DIR = Path(__file__).parent / "fonts"
FAMILY = "DejaVu"
BUNDLED = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf", "I": "DejaVuSans-Oblique.ttf"}
"""Style → file. Bold italic is drawn bold (the oblique bold face is not shipped, to keep the package small)."""
REPLACEMENT = "\ufffd"

SYSTEM_FALLBACK_FONTS: tuple[Path, ...] = (
    # Linux (Debian and Ubuntu package paths, then Fedora's)
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    Path("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"),
    Path("/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf"),
    Path("/usr/share/fonts/truetype/noto/NotoSansSymbols2-Regular.ttf"),
    # macOS
    Path("/System/Library/Fonts/Supplemental/Arial Unicode.ttf"),
    Path("/Library/Fonts/Arial Unicode.ttf"),
    # Windows
    Path("C:/Windows/Fonts/msyh.ttc"),
    Path("C:/Windows/Fonts/seguisym.ttf"),
)
"""Fonts looked for, in this order, when the document has characters DejaVu Sans (as shipped) lacks."""
_MAX_FALLBACKS = 4


@dataclass(frozen=True)
class FontPlan:
    """How the document's text is drawn: fallback fonts added, and what each missing character becomes."""

    fallbacks: tuple[str, ...]
    replacements: dict[str, str]
    """Characters no font has: format characters (zero-width joiners, marks) map to "", the rest to U+FFFD."""

    @property
    def replaced(self) -> int:
        """Distinct visible characters printed as U+FFFD."""
        return sum(1 for value in self.replacements.values() if value)

    def apply(self, text: str) -> str:
        if not self.replacements:
            return text
        return "".join(self.replacements.get(char, char) for char in text)


def add_fonts(pdf: FPDF, texts: Iterable[str], candidates: Iterable[Path] | None = None) -> FontPlan:
    """Register the shipped family on `pdf`, plus the system fonts needed for the characters of `texts`."""
    for style, name in BUNDLED.items():
        pdf.add_font(FAMILY, style, FONT_DIR / name)
    pdf.add_font(FAMILY, "BI", FONT_DIR / BUNDLED["B"])
    cmap = _cmap(pdf, FAMILY.lower())
    missing = {char for text in texts for char in text if char not in "\n" and ord(char) not in cmap}
    fallbacks: list[str] = []
    for path in SYSTEM_FALLBACK_FONTS if candidates is None else candidates:
        if not missing or len(fallbacks) >= _MAX_FALLBACKS:
            break
        name = f"fallback{len(fallbacks)}"
        try:
            if not path.is_file():
                continue
            pdf.add_font(name, "", path)
        except Exception:  # an unreadable or unsupported font file is skipped, never fatal
            continue
        covered = {char for char in missing if ord(char) in _cmap(pdf, name)}
        if covered:
            fallbacks.append(name)
            missing -= covered
    if fallbacks:
        pdf.set_fallback_fonts(fallbacks, exact_match=False)
    return FontPlan(tuple(fallbacks), {char: _replacement(char) for char in missing})


def _cmap(pdf: FPDF, key: str) -> set[int]:
    font = pdf.fonts.get(key)
    return set(getattr(font, "cmap", {}) or {})


def _replacement(char: str) -> str:
    # Invisible characters (ZWJ, ZWSP, BOM, variation selectors, combining marks) lose nothing when left out.
    return "" if unicodedata.category(char) in ("Cf", "Mn", "Me") else REPLACEMENT
