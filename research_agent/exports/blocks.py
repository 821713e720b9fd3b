"""A report's Markdown read into a few kinds of block (heading, paragraph, list item, quote, code, table,
rule) made of styled spans, which the PDF and the Word writer both lay out.

The report is model output, so it is read as text that may hold Markdown, never as HTML: markdown-it-py
runs with raw HTML off (a `<script>` stays the literal text `<script>`), a link survives only when its
address is http(s) (`weburls`, as a browser reads it; `javascript:` and relative links become plain text),
and an image is its alt text, never fetched. `[n]` citing a listed source becomes a span that points at it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace

from markdown_it import MarkdownIt
from markdown_it.token import Token

from ..schema import CITATION_PATTERN, citation_number
from ..weburls import UnsafeUrl, web_url
from .text import clean_text

MAX_DEPTH = 6
"""Deepest list or quote nesting shown as indentation; deeper levels are drawn at this depth."""


@dataclass(frozen=True)
class Span:
    """A run of text with one style."""

    text: str
    bold: bool = False
    italic: bool = False
    code: bool = False
    href: str | None = None
    """An http(s) address (already checked) the span links to."""
    cites: int | None = None
    """The number of the listed source this `[n]` cites."""


Spans = tuple[Span, ...]


@dataclass(frozen=True)
class Heading:
    level: int
    spans: Spans


@dataclass(frozen=True)
class Paragraph:
    spans: Spans
    depth: int = 0
    """List and quote nesting: how far it is indented."""
    marker: str = ""
    """"•" or "3." on a list item's first paragraph; empty otherwise."""
    quote: bool = False


@dataclass(frozen=True)
class CodeBlock:
    text: str
    depth: int = 0


@dataclass(frozen=True)
class Table:
    header: tuple[Spans, ...]
    rows: tuple[tuple[Spans, ...], ...]
    """Every row has as many cells as the header (short rows are padded, long ones cut, as GFM does)."""


@dataclass(frozen=True)
class Rule:
    pass


Block = Heading | Paragraph | CodeBlock | Table | Rule


def safe_link(address: str | None) -> str | None:
    """`address` as a browser would open it when it is http(s) with a host and no credentials; else None."""
    if not address:
        return None
    try:
        return web_url(address.strip()).url
    except UnsafeUrl:
        return None


def spans_text(spans: Sequence[Span]) -> str:
    return "".join(span.text for span in spans)


def _parser() -> MarkdownIt:
    # commonmark with GFM tables and strikethrough; raw HTML off: it is shown as the text it is.
    return MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])


@dataclass
class _Style:
    bold: int = 0
    italic: int = 0
    href: list[str | None] = field(default_factory=list)

    def span(self, text: str, code: bool = False) -> Span:
        href = self.href[-1] if self.href else None
        return Span(text, bold=self.bold > 0, italic=self.italic > 0, code=code, href=href)


def _inline(tokens: Sequence[Token] | None, cited: frozenset[int]) -> Spans:
    style = _Style()
    spans: list[Span] = []
    for token in tokens or ():
        match token.type:
            case "text" | "html_inline":
                spans.extend(_citations(style.span(token.content), cited))
            case "code_inline":
                spans.append(style.span(token.content, code=True))
            case "softbreak":
                spans.append(style.span(" "))
            case "hardbreak":
                spans.append(style.span("\n"))
            case "strong_open":
                style.bold += 1
            case "strong_close":
                style.bold = max(style.bold - 1, 0)
            case "em_open":
                style.italic += 1
            case "em_close":
                style.italic = max(style.italic - 1, 0)
            case "link_open":
                style.href.append(safe_link(str(token.attrs.get("href", ""))))
            case "link_close":
                if style.href:
                    style.href.pop()
            case "image":
                alt = token.content or "image"
                spans.append(style.span(f"[{alt}]"))
            case _:  # s_open/s_close and anything newer: their text still comes through as text tokens
                pass
    return _merged(spans)


def _citations(span: Span, cited: frozenset[int]) -> Iterator[Span]:
    """`span` cut around each `[n]` that names a listed source, that piece pointing at the source."""
    if span.href is not None or "[" not in span.text:
        yield span
        return
    start = 0
    for match in CITATION_PATTERN.finditer(span.text):
        number = citation_number(match.group(1))
        if number not in cited:
            continue
        if match.start() > start:
            yield replace(span, text=span.text[start : match.start()])
        yield replace(span, text=match.group(0), cites=number)
        start = match.end()
    if start < len(span.text):
        yield replace(span, text=span.text[start:])


def _merged(spans: list[Span]) -> Spans:
    """Neighbouring spans of one style joined, so writers lay out fewer, longer runs."""
    merged: list[Span] = []
    for span in spans:
        text = clean_text(span.text)
        if not text:
            continue
        span = replace(span, text=text)
        if merged and merged[-1].cites is None and span.cites is None and _same_style(merged[-1], span):
            merged[-1] = replace(merged[-1], text=merged[-1].text + span.text)
        else:
            merged.append(span)
    return tuple(merged)


def _same_style(a: Span, b: Span) -> bool:
    return (a.bold, a.italic, a.code, a.href) == (b.bold, b.italic, b.code, b.href)


_BLANK_LINES = re.compile(r"\n{3,}")


def parse_report(markdown: str, cited: frozenset[int] = frozenset()) -> list[Block]:
    """The blocks of `markdown`; `cited`: the source numbers a `[n]` may point at.

    markdown-it stops reading a container nested deeper than its `maxNesting` and leaves the rest of it
    out. A report that deep (only a hostile one is) is shown as plain paragraphs instead, whole."""
    parser = _parser()
    tokens = parser.parse(markdown)
    if any(token.level >= parser.options["maxNesting"] - 1 for token in tokens):
        return _plain(markdown, cited)
    blocks: list[Block] = []
    lists: list[list[int | None]] = []
    """Open lists, innermost last: [next number] for an ordered list, [None] for a bulleted one."""
    quotes = 0
    marker = ""
    table: list[list[Spans]] | None = None
    header_cells = 0
    for index, token in enumerate(tokens):
        depth = min(len(lists) + quotes, MAX_DEPTH)
        match token.type:
            case "heading_open":
                level = int(token.tag[1:]) if token.tag[1:].isdigit() else 1
                blocks.append(Heading(level, _inline(tokens[index + 1].children, cited)))
            case "bullet_list_open":
                lists.append([None])
            case "ordered_list_open":
                start = token.attrs.get("start", 1)
                lists.append([int(start) if isinstance(start, int | str) and str(start).isdigit() else 1])
            case "bullet_list_close" | "ordered_list_close":
                if lists:
                    lists.pop()
            case "list_item_open":
                number = lists[-1][0] if lists else None
                marker = "•" if number is None else f"{number}."
                if lists and number is not None:
                    lists[-1][0] = number + 1
            case "blockquote_open":
                quotes += 1
            case "blockquote_close":
                quotes = max(quotes - 1, 0)
            case "paragraph_open" if table is None:
                spans = _inline(tokens[index + 1].children, cited)
                if spans or marker:
                    blocks.append(Paragraph(spans, depth=depth, marker=marker, quote=quotes > 0))
                marker = ""
            case "fence" | "code_block":
                text = _BLANK_LINES.sub("\n\n", clean_text(token.content).rstrip("\n"))
                if marker:
                    blocks.append(Paragraph((), depth=depth, marker=marker, quote=quotes > 0))
                    marker = ""
                blocks.append(CodeBlock(text, depth=depth))
            case "hr":
                blocks.append(Rule())
            case "table_open":
                table, header_cells = [], 0
            case "tr_open" if table is not None:
                table.append([])
            case "th_open" | "td_open" if table is not None and table:
                table[-1].append(_inline(tokens[index + 1].children, cited))
            case "thead_close" if table:
                header_cells = len(table[0])
            case "table_close" if table is not None:
                blocks.append(_table(table, header_cells))
                table = None
            case _:
                pass
    return blocks


def _plain(markdown: str, cited: frozenset[int]) -> list[Block]:
    """Each run of lines between blank lines as one paragraph of text, Markdown marks and all."""
    chunks = (chunk.strip("\n") for chunk in re.split(r"\n\s*\n", markdown))
    return [Paragraph(_merged(list(_citations(Span(chunk), cited)))) for chunk in chunks if chunk.strip()]


def _table(rows: list[list[Spans]], header_cells: int) -> Table:
    width = header_cells or max((len(row) for row in rows), default=0)
    fitted = [tuple((row + [()] * width)[:width]) for row in rows]
    return Table(header=fitted[0] if fitted else (), rows=tuple(fitted[1:]))
