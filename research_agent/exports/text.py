"""Untrusted text made safe to put in a PDF or a Word file, and bounded.

Reports, titles and passages come from models and web pages. Word's XML refuses control characters, lone
surrogates and the noncharacters U+FFFE/U+FFFF (lxml raises on them), and a PDF font has no glyph for
them, so they go; newlines and tabs stay (a tab as spaces). Lengths are capped so that a runaway model
output makes a long file, not a stuck export.
"""

from __future__ import annotations

import re

from ..schema import shortened, without_controls

MAX_REPORT_CHARS = 200_000
"""Longest report body exported (a long real report is 20-40 thousand characters)."""
MAX_TITLE_CHARS = 500
MAX_PASSAGE_CHARS = 800
MAX_PASSAGES = 3
"""Passages quoted per source."""
MAX_SOURCES = 500

_NOT_XML = re.compile("[\ud800-\udfff\ufffe\uffff]")


def clean_text(text: str) -> str:
    """`text` without the characters no document format can hold; tabs become four spaces."""
    return _NOT_XML.sub("", without_controls(text)).replace("\t", "    ")


def one_line(text: str, limit: int) -> str:
    """`text` cleaned, on one line, cut at a word before `limit` characters (with " …")."""
    return shortened(clean_text(text), limit)


def bounded_report(body: str) -> str:
    """The report body cleaned and, past `MAX_REPORT_CHARS`, cut with a note saying so."""
    text = clean_text(body)
    if len(text) <= MAX_REPORT_CHARS:
        return text
    cut = text.rfind("\n", 0, MAX_REPORT_CHARS)
    kept = text[: cut if cut > MAX_REPORT_CHARS // 2 else MAX_REPORT_CHARS]
    return (
        kept
        + f"\n\n*[The report is cut here: it has {len(text):,} characters, exports keep {len(kept):,}.]*\n"
    )
