"""Passages from a folder of the user's own `.md`, `.txt` and `.html` files.

Markdown is split at headings, text at blank lines, HTML is reduced to its text first; long pieces are cut
into passages of about `_TARGET_CHARS` characters at paragraph boundaries.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

from ._types import Passage

SUFFIXES = (".md", ".markdown", ".txt", ".html", ".htm")
_TARGET_CHARS = 1200
_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")


class _TextExtractor(HTMLParser):
    _SKIP = frozenset({"script", "style", "head", "nav"})
    _BLOCK = frozenset(
        {"p", "div", "br", "li", "section", "article", "tr", "h1", "h2", "h3", "h4", "h5", "h6"}
    )

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.title = ""
        self._skipping = 0
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skipping += 1
        if tag == "title":
            self._in_title = True
        if tag in self._BLOCK:
            self.parts.append("\n\n")
        if tag in ("h1", "h2", "h3"):
            self.parts.append("# ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP and self._skipping:
            self._skipping -= 1
        if tag == "title":
            self._in_title = False
        if tag in self._BLOCK:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        elif not self._skipping:
            self.parts.append(data)


def _html_to_markdownish(source: str) -> tuple[str, str]:
    parser = _TextExtractor()
    parser.feed(source)
    return parser.title.strip(), "".join(parser.parts)


def _sections(text: str, default_heading: str) -> Iterator[tuple[str, str]]:
    heading, lines = default_heading, list[str]()
    for line in text.splitlines():
        match = _HEADING.match(line.strip())
        if match:
            if any(part.strip() for part in lines):
                yield heading, "\n".join(lines)
            heading, lines = match.group(2).strip(), []
        else:
            lines.append(line)
    if any(part.strip() for part in lines):
        yield heading, "\n".join(lines)


def split_paragraphs(body: str) -> Iterator[str]:
    """`body` in pieces of about `_TARGET_CHARS` characters, cut at blank lines, whitespace tidied."""
    paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", body) if p.strip()]
    current = ""
    for paragraph in paragraphs:
        if current and len(current) + len(paragraph) > _TARGET_CHARS:
            yield current
            current = ""
        current = f"{current}\n\n{paragraph}" if current else paragraph
    if current:
        yield current


def read_document(path: Path, root: Path) -> list[Passage]:
    """Passages of one file; raises `UnicodeDecodeError`/`OSError` for unreadable files."""
    raw = path.read_text(encoding="utf-8")
    title = path.stem.replace("_", " ").replace("-", " ").strip() or path.name
    if path.suffix.lower() in (".html", ".htm"):
        html_title, raw = _html_to_markdownish(raw)
        title = html_title or title
    else:
        first = _HEADING.match(raw.lstrip().splitlines()[0]) if raw.strip() else None
        if first:
            title = first.group(2).strip()
    relative = path.relative_to(root).as_posix()
    passages = []
    for heading, body in _sections(raw, title):
        for part, chunk in enumerate(split_paragraphs(body)):
            section = heading if heading != title else ""
            passages.append(
                Passage(
                    title=f"{title} — {section}" if section else title,
                    entity=title,
                    section=section,
                    location=f"{relative}#{heading}" + (f" ({part + 1})" if part else ""),
                    text=chunk,
                )
            )
    return passages


def folder_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)
