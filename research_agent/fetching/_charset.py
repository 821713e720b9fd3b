"""Bytes to text for an HTML or plain-text page, or a refusal: mojibake is worse than no page.

The charset comes from the byte-order mark, else the Content-Type header, else (HTML) a `<meta>` near the
top, else UTF-8. A page whose text is then full of NULs, control characters or replacement characters is
binary junk served under a text type (or a wrong charset) and is refused: passed on, it would waste the
model's context and could smuggle bytes into a report.
"""

from __future__ import annotations

import codecs
import re

from ._types import PageRefused

_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE: its BOM starts with UTF-16 LE's
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]{1,40})""", re.I)
_META_WINDOW = 4096
"""Browsers look for the meta charset in the first 1024 bytes; some pages put scripts before it."""
_LATIN1_LABELS = frozenset(
    {"latin1", "latin-1", "iso-8859-1", "iso8859-1", "iso_8859-1", "us-ascii", "ascii"}
)
_SAMPLE = 65_536
_JUNK_SHARE = 0.01
"""More than 1 % control or replacement characters: no human-written page looks like that."""
_JUNK = re.compile(r"[\x00-\x08\x0e-\x1f\x7f\ufffd]")
"""Control characters other than tab and line breaks, and the replacement character."""


def _codec(label: str) -> str | None:
    label = label.strip().lower()
    if label in _LATIN1_LABELS:
        # As browsers do (WHATWG Encoding): pages labelled Latin-1 are written in its superset cp1252.
        return "cp1252"
    try:
        name = codecs.lookup(label).name
        # The header is the server's to write: "base64", "zlib" or "rot13" name codecs too, but not of text
        # (they refuse to produce a str), and "idna" refuses to replace bad bytes.
        b"a".decode(name, errors="replace")
    except (LookupError, UnicodeError):
        return None
    return name


def _junk_share(text: str) -> float:
    sample = text[:_SAMPLE]
    return len(_JUNK.findall(sample)) / len(sample) if sample else 0.0


def _choose_codec(body: bytes, header_charset: str | None, *, html: bool) -> tuple[str, str, bytes]:
    """The codec to decode with, where it came from (for a refusal's reason), and the body without its BOM."""
    for bom, name in _BOMS:
        if body.startswith(bom):
            return name, "its byte-order mark", body[len(bom) :]
    if header_charset and (codec := _codec(header_charset)):
        return codec, f"its header's charset {header_charset}", body
    if html and (match := _META_CHARSET.search(body[:_META_WINDOW])):
        label = match.group(1).decode("ascii")
        if codec := _codec(label):
            return codec, f"its meta charset {label}", body
    return "utf-8", "UTF-8 (no charset declared)", body


def decode_text(body: bytes, header_charset: str | None, *, html: bool) -> str:
    """The page's text, or `PageRefused` when it is not text in any charset we can tell."""
    codec, source, body = _choose_codec(body, header_charset, html=html)
    # "replace": a truncated body may end inside a character, and a few bad bytes are not worth a refusal.
    try:
        text = body.decode(codec, errors="replace")
    except UnicodeError as error:
        raise PageRefused(f"not text: cannot be decoded as {source} ({error})") from None
    share = _junk_share(text)
    if share > _JUNK_SHARE:
        raise PageRefused(
            f"not text: decoded as {source}, {share:.0%} of it is control or invalid characters"
        )
    return text
