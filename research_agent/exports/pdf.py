"""The PDF export, laid out with fpdf2: the title, the report, the numbered sources with their links and
quoted passages, and a table of facts about the run. Headings become the PDF's outline (bookmarks), and
each `[n]` in the report is a link to source n.

Fonts and characters no font has: see `fonts.py`. A table fpdf2 cannot fit on a page (a hostile report can
write one) makes the whole document be drawn again with its tables as lines of text, never a failed export.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from fpdf import FPDF, FontFace, FPDFException

from .blocks import Block, CodeBlock, Heading, Paragraph, Rule, Span, Table, spans_text
from .content import GENERATOR, ExportContent
from .fonts import FAMILY, REPLACEMENT, FontPlan, add_fonts

_MARGIN = 20.0
_INDENT = 6.0
_BODY_SIZE = 10.5
_LINE = 5.4
_HEADING_SIZES = {1: 16.0, 2: 14.0, 3: 12.5}
_MAX_TABLE_COLUMNS = 8
_TEXT = (33, 33, 33)
_MUTED = (102, 102, 102)
_LINK = (20, 84, 170)
_CODE = (150, 40, 20)
_SHADE = (244, 244, 244)


class _Document(FPDF):
    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FAMILY, "", 8)
        self.set_text_color(*_MUTED)
        self.cell(0, 5, f"{self.page_no()} / {{nb}}", align="C")


def render_pdf(content: ExportContent) -> bytes:
    """`content` as a PDF file."""
    try:
        return _Writer(content, plain_tables=False).render()
    except (FPDFException, ValueError):  # fpdf2 raises ValueError for a table row taller than a page
        return _Writer(content, plain_tables=True).render()


class _Writer:
    def __init__(self, content: ExportContent, plain_tables: bool) -> None:
        self.content = content
        self.plain_tables = plain_tables
        self.pdf = _Document(format="A4", unit="mm")
        self.pdf.set_margins(_MARGIN, 18, _MARGIN)
        self.pdf.set_auto_page_break(True, margin=18)
        self.fonts: FontPlan = add_fonts(self.pdf, _texts(content))

    def render(self) -> bytes:
        content, pdf = self.content, self.pdf
        pdf.set_title(content.title)
        pdf.set_author("deep-research")
        pdf.set_creator(GENERATOR)
        pdf.set_subject("Research report")
        if content.created is not None:
            pdf.set_creation_date(content.created)
        pdf.add_page()
        pdf.start_section(content.title, 0, strict=False)
        self._text(content.title, size=18, style="B", line=8.5)
        pdf.ln(1)
        self._text(content.subtitle, size=8.5, color=_MUTED, line=4.5)
        pdf.ln(4)
        if content.report_title:
            self._heading(Heading(1, (Span(content.report_title),)))
        for block in content.blocks:
            self._block(block)
        self._sources()
        self._about()
        return bytes(pdf.output())

    # --- text -------------------------------------------------------------------------------------------

    def _font(self, span: Span, size: float) -> None:
        style = ("B" if span.bold else "") + ("I" if span.italic else "") + ("U" if span.href else "")
        self.pdf.set_font(FAMILY, style, size)
        if span.href or span.cites is not None:
            self.pdf.set_text_color(*_LINK)
        elif span.code:
            self.pdf.set_text_color(*_CODE)

    def _spans(
        self, spans: Sequence[Span], size: float = _BODY_SIZE, color: tuple[int, int, int] = _TEXT
    ) -> None:
        for span in spans:
            self.pdf.set_text_color(*color)
            self._font(span, size)
            link = span.href or (_destination(span.cites) if span.cites is not None else "")
            self.pdf.write(_LINE, self.fonts.apply(span.text), link)
        self.pdf.set_text_color(*_TEXT)

    def _text(
        self,
        text: str,
        size: float = _BODY_SIZE,
        style: str = "",
        color: tuple[int, int, int] = _TEXT,
        line: float = _LINE,
        link: str | int = "",
    ) -> None:
        self.pdf.set_font(FAMILY, style, size)
        self.pdf.set_text_color(*color)
        self.pdf.multi_cell(
            0, line, self.fonts.apply(text), link=link, align="L", new_x="LMARGIN", new_y="NEXT"
        )
        self.pdf.set_text_color(*_TEXT)

    # --- blocks -----------------------------------------------------------------------------------------

    def _block(self, block: Block) -> None:
        match block:
            case Heading():
                self._heading(block)
            case Paragraph():
                self._paragraph(block)
            case CodeBlock():
                self._indented(block.depth)
                self.pdf.set_fill_color(*_SHADE)
                self.pdf.set_font(FAMILY, "", 9)
                self.pdf.multi_cell(
                    0, 4.6, self.fonts.apply(block.text), fill=True, new_x="LMARGIN", new_y="NEXT"
                )
                self._indented(0)
                self.pdf.ln(2.5)
            case Table():
                self._table(block)
            case Rule():
                y = self.pdf.get_y() + 2
                self.pdf.set_draw_color(190, 190, 190)
                self.pdf.line(_MARGIN, y, self.pdf.w - _MARGIN, y)
                self.pdf.ln(5)

    def _heading(self, heading: Heading) -> None:
        pdf = self.pdf
        if pdf.will_page_break(18):
            pdf.add_page()
        pdf.ln(2)
        text = spans_text(heading.spans)
        pdf.start_section(text[:200], min(heading.level, 3), strict=False)
        size = _HEADING_SIZES.get(heading.level, 11.5)
        self._text(text, size=size, style="B", line=size * 0.5)
        pdf.ln(1.5)

    def _indented(self, depth: int, extra: float = 0.0) -> None:
        self.pdf.set_left_margin(_MARGIN + depth * _INDENT + extra)
        self.pdf.set_x(self.pdf.l_margin)

    def _paragraph(self, paragraph: Paragraph) -> None:
        pdf = self.pdf
        color = _MUTED if paragraph.quote else _TEXT
        top, page = pdf.get_y(), pdf.page_no()
        self._indented(paragraph.depth)
        if paragraph.marker:
            pdf.set_font(FAMILY, "", _BODY_SIZE)
            marker_width = max(pdf.get_string_width(paragraph.marker) + 1.5, 5.0)
            self._indented(paragraph.depth, marker_width)
            pdf.set_x(pdf.l_margin - marker_width)
            pdf.set_text_color(*color)
            pdf.write(_LINE, paragraph.marker)
            pdf.set_x(pdf.l_margin)
        self._spans(paragraph.spans, color=color)
        pdf.ln(_LINE)
        if paragraph.quote and pdf.page_no() == page:
            x = _MARGIN + paragraph.depth * _INDENT - 3
            pdf.set_draw_color(200, 200, 200)
            pdf.set_line_width(0.6)
            pdf.line(x, top + 0.5, x, pdf.get_y() - 0.5)
            pdf.set_line_width(0.2)
        self._indented(0)
        pdf.ln(1.2 if paragraph.marker else 2.5)

    def _table(self, table: Table) -> None:
        columns = len(table.header)
        if self.plain_tables or not 0 < columns <= _MAX_TABLE_COLUMNS:
            for line in (table.header, *table.rows):
                self._text(" | ".join(self.fonts.apply(spans_text(cell)) for cell in line), size=9.5)
            self.pdf.ln(2.5)
            return
        self._table_style()
        with self.pdf.table(
            text_align="LEFT", line_height=4.8, headings_style=FontFace(emphasis="BOLD", fill_color=_SHADE)
        ) as grid:
            for cells in (table.header, *table.rows):
                row = grid.row()
                for cell in cells:
                    row.cell(self.fonts.apply(spans_text(cell)))
        self.pdf.ln(3)

    def _table_style(self) -> None:
        self.pdf.set_font(FAMILY, "", 9)
        self.pdf.set_draw_color(200, 200, 200)
        self.pdf.set_fill_color(255, 255, 255)  # fpdf2 fills table cells with the fill colour in force

    # --- sources and facts ------------------------------------------------------------------------------

    def _sources(self) -> None:
        if not self.content.sources:
            return
        self._heading(Heading(1, (Span("Sources"),)))
        for source in self.content.sources:
            pdf = self.pdf
            if pdf.will_page_break(14):
                pdf.add_page()
            pdf.add_link(y=pdf.get_y(), page=pdf.page_no(), name=_destination(source.number)[1:])
            self._spans([Span(f"[{source.number}] ", bold=True), Span(source.title, bold=True)])
            pdf.ln(_LINE)
            if source.where:
                self._text(
                    source.where,
                    size=9,
                    color=_LINK if source.link else _MUTED,
                    line=4.6,
                    link=source.link or "",
                )
            self._indented(0, _INDENT)
            for passage in source.passages:
                self._text(f"“{passage}”", size=9, style="I", color=_MUTED, line=4.6)
            self._indented(0)
            pdf.ln(2.5)

    def _about(self) -> None:
        self._heading(Heading(1, (Span("About this run"),)))
        rows = list(self.content.about)
        if self.fonts.replaced:
            rows.append(
                (
                    "Characters",
                    f"{self.fonts.replaced} kinds of character no available font can draw are shown as "
                    f"{REPLACEMENT}; the Word and Markdown exports keep them (for Chinese, Japanese or "
                    "Korean, install a CJK font such as Debian's fonts-noto-cjk)",
                )
            )
        self._table_style()
        with self.pdf.table(
            text_align="LEFT", line_height=4.8, col_widths=(28, 142), first_row_as_headings=False
        ) as grid:
            for label, value in rows:
                row = grid.row()
                row.cell(label)
                row.cell(self.fonts.apply(value))


def _destination(number: int) -> str:
    """The named destination a `[n]` links to (fpdf2 resolves it once the source is drawn)."""
    return f"#source-{number}"


def _texts(content: ExportContent) -> Iterator[str]:
    """Every piece of text the document draws, for the font check."""
    yield content.title
    yield content.subtitle
    yield content.report_title or ""
    for block in content.blocks:
        match block:
            case Heading(spans=spans) | Paragraph(spans=spans):
                yield spans_text(spans)
            case CodeBlock(text=text):
                yield text
            case Table():
                for row in (block.header, *block.rows):
                    yield from (spans_text(cell) for cell in row)
            case Rule():
                pass
    for source in content.sources:
        yield source.title
        yield source.where
        yield from source.passages
    for label, value in content.about:
        yield label + value
