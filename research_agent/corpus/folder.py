"""Passages from a folder of the user's own `.md`, `.txt` and `.html` files.

Markdown is split at headings, text at blank lines, HTML is reduced to its text first; long pieces are cut
into passages of about `_TARGET_CHARS` characters at paragraph boundaries.

Only the folder's own regular files are read: links are followed only as far as they stay inside the
folder (a link to `/proc/self/environ` or `~/.ssh` must not end up in an index, which anyone who can
search it reads back), fifos and devices are never opened for reading, and every file is read up to a
size limit. Each file left out gets a note saying why; control characters are dropped from what is kept.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

from ..schema import byte_size, without_controls
from ._types import Passage

SUFFIXES = (".md", ".markdown", ".txt", ".html", ".htm")
MAX_FILE_BYTES = 5_000_000
"""Default largest document indexed (RESEARCH_INDEX_MAX_FILE_MB): indexing takes about 20 times a file's
size in memory, so one stray log or dump must not take gigabytes."""
MAX_TOTAL_BYTES = 25_000_000
"""Default most bytes of documents one collection is built from (RESEARCH_INDEX_MAX_TOTAL_MB)."""
_NO_FOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NON_BLOCKING = getattr(os, "O_NONBLOCK", 0)


class Skipped(Exception):
    """A file left out of the index; the message says why, in a few words."""


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


def _relative(path: Path, root: Path) -> str:
    return without_controls(path.relative_to(root).as_posix())


def _target(path: Path, root: Path) -> Path:
    """Where `path` leads with every link in it followed, or `Skipped` when that is outside `root` or
    nowhere (links in a loop)."""
    try:
        target = path.resolve()
    except (OSError, RuntimeError):  # RuntimeError: Python 3.11's word for a loop of links
        raise Skipped("a link that leads round in a loop") from None
    if not target.is_relative_to(root):
        raise Skipped("a link to outside the folder")
    return target


def folder_files(root: Path) -> tuple[list[Path], list[str]]:
    """The documents under folder `root` (resolved), and a note for each link that leads out of it.

    Linked folders are not entered (a link inside the folder to another part of it adds nothing)."""
    files: list[Path] = []
    notes: list[str] = []
    for directory, subdirectories, names in os.walk(root):  # links to folders are listed, never entered
        here = Path(directory)
        subdirectories.sort()
        for name in subdirectories:
            path = here / name
            try:
                if path.is_symlink():
                    _target(path, root)
            except Skipped as why:
                notes.append(f"{_relative(path, root)}: {why}")
        for name in sorted(names):
            path = here / name
            if path.suffix.lower() not in SUFFIXES:
                continue
            try:
                _target(path, root)
            except Skipped as why:
                notes.append(f"{_relative(path, root)}: {why}")
            else:
                files.append(path)
    return sorted(files), notes


def read_text(path: Path, root: Path, limit: int) -> str:
    """The UTF-8 text of document `path` under folder `root`, at most `limit` bytes of it, or `Skipped`.

    The file is opened once, where its links lead, and checked as opened: a link swapped in after the
    folder was listed, a fifo (whose opening would wait for a writer) or a device is refused, and a file
    that grows, or says it is empty while it is not (as `/proc` files do), is read no further than `limit`.
    """
    target = _target(path, root)
    try:
        descriptor = os.open(target, os.O_RDONLY | _NON_BLOCKING | _NO_FOLLOW)
    except OSError as error:
        raise Skipped(f"cannot be read ({error.strerror or error})") from None
    with os.fdopen(descriptor, "rb") as file:
        info = os.fstat(file.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise Skipped("not a regular file")
        if info.st_size > limit:
            raise Skipped(
                f"{byte_size(info.st_size)}, over the limit of {byte_size(limit)} a file (RESEARCH_INDEX_MAX_FILE_MB)"
            )
        data = file.read(limit + 1)
    if len(data) > limit:
        raise Skipped(
            f"more than {byte_size(limit)}, over the limit of {byte_size(limit)} a file (RESEARCH_INDEX_MAX_FILE_MB)"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise Skipped("not UTF-8 text") from None
    return without_controls(text.replace("\r\n", "\n").replace("\r", "\n"))


def read_document(path: Path, root: Path, limit: int = MAX_FILE_BYTES) -> list[Passage]:
    """Passages of one file under folder `root` (see `read_text`), or `Skipped` saying why there are none."""
    raw = read_text(path, root, limit)
    title = without_controls(path.stem.replace("_", " ").replace("-", " ").strip()) or _relative(path, root)
    if path.suffix.lower() in (".html", ".htm"):
        html_title, raw = _html_to_markdownish(raw)  # character references may spell control characters
        raw, title = without_controls(raw), without_controls(html_title) or title
    else:
        first = _HEADING.match(raw.lstrip().splitlines()[0]) if raw.strip() else None
        if first:
            title = first.group(2).strip()
    relative = _relative(path, root)
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
