"""The Word (.docx) export, written with python-docx: the same content as the PDF, in Word's own styles
(Title, Heading n, Quote, Table Grid), so a reader can restyle or edit it. Links are real hyperlinks (only
http(s) ones reach here), each `[n]` links to a bookmark on source n, and the document's properties carry
the question, the run's date and the program that wrote it.

python-docx has no call for a hyperlink or a bookmark, so those two are written as their WordprocessingML
elements; everything else goes through its API.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.opc.constants import RELATIONSHIP_TYPE
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor
from docx.text.paragraph import Paragraph as DocxParagraph
from docx.text.run import Run

from .blocks import Block, CodeBlock, Heading, Paragraph, Rule, Span, Table, spans_text
from .content import GENERATOR, ExportContent

_LINK = RGBColor(0x14, 0x54, 0xAA)
_MUTED = RGBColor(0x66, 0x66, 0x66)
_INDENT = Mm(6)
_MAX_TABLE_COLUMNS = 40
"""Word's own limit is 63; a wider Markdown table is written as lines of text."""
_CODE_FONT = "Consolas"


def render_docx(content: ExportContent) -> bytes:
    """`content` as a Word document."""
    document = Document()
    properties = document.core_properties
    properties.title = content.title[:255]
    properties.subject = "Research report"
    properties.author = "deep-research"
    properties.comments = GENERATOR
    if content.created is not None:
        properties.created = content.created
        properties.modified = content.created
    document.add_paragraph(content.title, style="Title")
    document.add_paragraph(content.subtitle, style="Subtitle")
    if content.report_title:
        document.add_paragraph(content.report_title, style="Heading 1")
    for block in content.blocks:
        _block(document, block)
    _sources(document, content)
    _about(document, content)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _block(document: DocxDocument, block: Block) -> None:
    match block:
        case Heading():
            _spans(document.add_paragraph(style=f"Heading {min(block.level, 6)}"), block.spans)
        case Paragraph():
            paragraph = document.add_paragraph(style="Quote" if block.quote else None)
            indent = _INDENT * (block.depth + (1 if block.marker else 0))
            if indent:
                paragraph.paragraph_format.left_indent = indent
            if block.marker:
                paragraph.paragraph_format.first_line_indent = -_INDENT
                paragraph.paragraph_format.space_after = Pt(2)
                paragraph.add_run(f"{block.marker}\t")
                paragraph.paragraph_format.tab_stops.add_tab_stop(indent)
            _spans(paragraph, block.spans)
        case CodeBlock():
            paragraph = document.add_paragraph()
            paragraph.paragraph_format.left_indent = _INDENT * (block.depth + 1)
            run = paragraph.add_run(block.text)
            run.font.name = _CODE_FONT
            run.font.size = Pt(9)
        case Table():
            _table(document, block)
        case Rule():
            document.add_paragraph("⁂", style=None).alignment = WD_ALIGN_PARAGRAPH.CENTER


def _spans(paragraph: DocxParagraph, spans: Sequence[Span]) -> None:
    for span in spans:
        if span.href:
            run = _hyperlink(paragraph, span.text, url=span.href)
        elif span.cites is not None:
            run = _hyperlink(paragraph, span.text, anchor=_bookmark_name(span.cites))
        else:
            run = paragraph.add_run(span.text)
        run.bold = span.bold or None
        run.italic = span.italic or None
        if span.code:
            run.font.name = _CODE_FONT


def _hyperlink(paragraph: DocxParagraph, text: str, *, url: str = "", anchor: str = "") -> Run:
    """A run inside a `w:hyperlink` to `url` (an external relationship) or to the bookmark `anchor`."""
    link = OxmlElement("w:hyperlink")
    if anchor:
        link.set(qn("w:anchor"), anchor)
    else:
        link.set(qn("r:id"), paragraph.part.relate_to(url, RELATIONSHIP_TYPE.HYPERLINK, is_external=True))
    element = OxmlElement("w:r")
    link.append(element)
    paragraph._p.append(link)
    run = Run(element, paragraph)  # OxmlElement("w:r") makes the CT_R python-docx reads
    run.text = text
    run.font.color.rgb = _LINK
    run.font.underline = bool(url)
    return run


def _bookmark_name(number: int) -> str:
    return f"source_{number}"


def _bookmark(paragraph: DocxParagraph, name: str, bookmark_id: int) -> None:
    start = OxmlElement("w:bookmarkStart")
    start.set(qn("w:id"), str(bookmark_id))
    start.set(qn("w:name"), name)
    end = OxmlElement("w:bookmarkEnd")
    end.set(qn("w:id"), str(bookmark_id))
    paragraph._p.insert(0, start)
    paragraph._p.append(end)


def _table(document: DocxDocument, table: Table) -> None:
    columns = len(table.header)
    if not 0 < columns <= _MAX_TABLE_COLUMNS:
        for row in (table.header, *table.rows):
            document.add_paragraph(" | ".join(spans_text(cell) for cell in row))
        return
    grid = document.add_table(rows=0, cols=columns)
    grid.style = "Table Grid"
    for index, cells in enumerate((table.header, *table.rows)):
        row = grid.add_row()
        for cell, spans in zip(row.cells, cells, strict=True):
            paragraph = cell.paragraphs[0]
            _spans(paragraph, spans)
            if index == 0:
                for run in paragraph.runs:
                    run.bold = True
    document.add_paragraph()


def _sources(document: DocxDocument, content: ExportContent) -> None:
    if not content.sources:
        return
    document.add_paragraph("Sources", style="Heading 1")
    for source in content.sources:
        title = document.add_paragraph()
        title.paragraph_format.space_after = Pt(0)
        title.paragraph_format.keep_with_next = True
        title.add_run(f"[{source.number}] ").bold = True
        title.add_run(source.title).bold = True
        _bookmark(title, _bookmark_name(source.number), source.number)
        if source.where:
            where = document.add_paragraph()
            where.paragraph_format.space_after = Pt(2)
            if source.link:
                _hyperlink(where, source.where, url=source.link)
            else:
                where.add_run(source.where).font.color.rgb = _MUTED
        for passage in source.passages:
            quoted = document.add_paragraph(style="Quote")
            quoted.add_run(f"“{passage}”").italic = True


def _about(document: DocxDocument, content: ExportContent) -> None:
    document.add_paragraph("About this run", style="Heading 1")
    grid = document.add_table(rows=0, cols=2)
    grid.style = "Table Grid"
    for label, value in content.about:
        row = grid.add_row()
        row.cells[0].paragraphs[0].add_run(label).bold = True
        row.cells[1].paragraphs[0].add_run(value)
