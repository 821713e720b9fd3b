"""A fetched page's readable text and title: the article of an HTML page, the pages of a PDF, plain text as is.

Text is data here. HTML is parsed (lxml, through trafilatura), never rendered: scripts and styles are
dropped, not run, and navigation, cookie banners, sidebars and footers are left out so that what is ranked
is what the page says. A PDF is read for at most `max_pdf_pages` pages. Whatever the type, the text
returned is cut at `max_chars` and stripped of control characters, so one page cannot flood a run.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

import pypdf
import trafilatura
from lxml.html import HtmlElement

from ._types import HTML_TYPES, PDF_TYPE, FetchedPage, PageFailed, PageRefused

_TITLE_CHARS = 300
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff]")
"""Control and invisible formatting characters (zero-width, bidi overrides): nothing a reader should get."""
_SPACES = re.compile(r"[ \t\u00a0]+")
_BLANK_LINES = re.compile(r"\n{3,}")


@dataclass(frozen=True)
class PageText:
    """What a page says: its title (may be empty) and its main text."""

    title: str
    text: str


def _clean(text: str, limit: int) -> str:
    text = _CONTROLS.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()[:limit]


def _html_title(tree: HtmlElement) -> str:
    for path in ("//title", "//meta[@property='og:title']/@content", "//h1"):
        found = tree.xpath(path)
        if found:
            first = found[0]
            value = first if isinstance(first, str) else first.text_content()
            if value.strip():
                return _clean(value, _TITLE_CHARS)
    return ""


def _from_html(html: str, url: str, max_chars: int) -> PageText:
    # trafilatura and lxml are parsers fed hostile input: any exception they raise is a broken page.
    try:
        tree = trafilatura.load_html(html)
        if tree is None:
            raise PageFailed("the HTML could not be parsed")
        title = _html_title(tree)  # before extraction, which prunes the tree in place
        text = trafilatura.extract(tree, url=url or None, include_comments=False, include_tables=True)
    except PageFailed:
        raise
    except Exception as error:
        raise PageFailed(f"the HTML could not be parsed ({type(error).__name__})") from None
    return PageText(title=title, text=_clean(text or "", max_chars))


def _from_pdf(body: bytes, max_chars: int, max_pages: int) -> PageText:
    # pypdf is a parser fed hostile input: any exception it raises is a broken file, not our bug.
    try:
        reader = pypdf.PdfReader(io.BytesIO(body))
        if reader.is_encrypted and not reader.decrypt(""):
            raise PageRefused("the PDF is encrypted")
        texts: list[str] = []
        size = 0
        for page in reader.pages[:max_pages]:
            texts.append(page.extract_text())
            size += len(texts[-1])
            if size >= max_chars:
                break
        title = (reader.metadata.title or "") if reader.metadata else ""
    except PageRefused:
        raise
    except Exception as error:
        raise PageFailed(f"the PDF could not be read ({type(error).__name__})") from None
    return PageText(title=_clean(str(title), _TITLE_CHARS), text=_clean("\n\n".join(texts), max_chars))


def extract_text(page: FetchedPage, *, max_chars: int, max_pdf_pages: int) -> PageText:
    """The page's title and main text, or `PageFailed` when it has none."""
    if page.content_type == PDF_TYPE:
        result = _from_pdf(page.body, max_chars, max_pdf_pages)
    elif page.content_type in HTML_TYPES:
        result = _from_html(page.text or "", page.final_url, max_chars)
    else:
        result = PageText(title="", text=_clean(page.text or "", max_chars))
    if not result.text:
        raise PageFailed("no readable text on the page")
    return result
