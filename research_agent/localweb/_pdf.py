"""A minimal PDF writer: plain text in Helvetica, wrapped onto as many US-letter pages as it needs.

Enough for the local web's PDF pages (a text layer that PDF readers and text extractors understand), and
small enough to read in one go: one catalog, one page tree, one font, an info dictionary, then a page
object and an uncompressed content stream per page, and the cross-reference table of their offsets.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

_FONT_SIZE = 10
_LEADING = 13
_TOP = 720
_LEFT = 72
_COLUMNS = 88  # Helvetica at 10 pt averages about 5 pt a character: 88 fill the 468 pt between margins
_LINES_PER_PAGE = 50


def _pdf_string(text: str) -> bytes:
    """`text` as a PDF literal string in WinAnsiEncoding (cp1252), characters it lacks as '?'."""
    raw = text.encode("cp1252", errors="replace")
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def _lines(paragraphs: Sequence[str]) -> list[str]:
    lines: list[str] = []
    for paragraph in paragraphs:
        lines.extend(textwrap.wrap(" ".join(paragraph.split()), _COLUMNS) or [""])
        lines.append("")
    return lines[:-1]


def text_pdf(title: str, paragraphs: Sequence[str], author: str = "") -> bytes:
    """A PDF document titled `title` whose pages show `paragraphs`, a blank line between each two."""
    lines = _lines(paragraphs)
    pages = [lines[i : i + _LINES_PER_PAGE] for i in range(0, len(lines), _LINES_PER_PAGE)] or [[]]
    first_page = 5  # objects 1-4: catalog, page tree, font, info; then a page and its contents per page
    kids = b" ".join(b"%d 0 R" % (first_page + 2 * i) for i in range(len(pages)))
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % len(pages),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Title " + _pdf_string(title) + b" /Author " + _pdf_string(author) + b" /Producer "
        b"(deep-research localweb) >>",
    ]
    for number, page_lines in enumerate(pages):
        contents = first_page + 2 * number + 1
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> "
            b"/Contents %d 0 R >>" % contents
        )
        text = b"".join(_pdf_string(line) + b" Tj T*\n" for line in page_lines)
        stream = b"BT /F1 %d Tf %d TL %d %d Td\n" % (_FONT_SIZE, _LEADING, _LEFT, _TOP) + text + b"ET"
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")

    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets: list[int] = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info 4 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)
