"""What in a piece of Markdown a browser would load or follow: the tests' own reading, independent of the UI's.

The UI hands Streamlit Markdown built from documents, models and search results. A browser rendering it must
load no image and offer no link but http(s) and the page's own `#anchors`. This reads Markdown with
markdown-it-py's CommonMark parser (the grammar Streamlit's renderer follows) with its link filter switched
off, so a `javascript:` or `data:` link counts as the link a permissive renderer would make of it.
"""

from __future__ import annotations

import re

from markdown_it import MarkdownIt
from markdown_it.token import Token

_PARSER = MarkdownIt("commonmark").enable("table").enable("strikethrough")
_PARSER.validateLink = lambda url: True  # type: ignore[method-assign]  # see every link, however bad
_ALLOWED = re.compile(r"^(?:https?://|#)", re.IGNORECASE)


def _walk(tokens: list[Token]) -> list[Token]:
    found: list[Token] = []
    for token in tokens:
        found.append(token)
        found.extend(_walk(token.children or []))
    return found


def markdown_dangers(text: str) -> list[str]:
    """Each image, raw HTML and non-http(s) link in `text`, named; [] when rendering it loads and offers
    nothing but web links and in-page anchors."""
    dangers = []
    for token in _walk(_PARSER.parse(text)):
        if token.type == "image":
            dangers.append(f"image {token.attrGet('src')}")
        elif token.type in ("html_inline", "html_block"):
            dangers.append(f"raw HTML {token.content.strip()}")
        elif token.type == "link_open" and not _ALLOWED.match(str(token.attrGet("href"))):
            dangers.append(f"link {token.attrGet('href')}")
    return dangers
