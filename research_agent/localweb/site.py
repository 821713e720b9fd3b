"""The local web's pages, read from `site/`, searched by keyword, and the facts they hold.

Each topic is a folder of `site/` (trams, a lighthouse, heat pumps, a software library). An `.html` file is
served as written (in the charset its `<meta charset>` names); a `NAME.pdf.txt` file is the text of the PDF
served at `NAME.pdf`, made at load time by a small PDF writer. Only the `<article>` of an HTML page counts as
its text: navigation, cookie banner, sidebar and footer are what a reader (or an extractor) must skip.
A page's snippet (what a search API shows) is its meta description, which, like its title and first
paragraph, holds none of the facts listed in `site/facts.json`: a report that states one has read the page.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from functools import cache
from html.parser import HTMLParser
from pathlib import Path

from ._pdf import text_pdf

SITE_DIR = Path(__file__).parent / "site"
FACTS_FILE = SITE_DIR / "facts.json"

_STOPWORD_TEXT = (
    "a an and are as at be by did do does for from has have how in is it its of on or the to was were what "
    "when where which who why with"
)
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())
_META_CHARSET = re.compile(rb"""<meta\s+charset=["']?([\w-]+)""", re.IGNORECASE)
_BLOCKS = frozenset({"p", "h1", "h2", "h3", "h4", "li", "tr", "pre", "div", "table", "ul", "ol", "br"})
_VOID = frozenset({"br", "img", "input", "meta", "link", "hr", "wbr", "source", "area", "col", "embed"})


@dataclass(frozen=True)
class Page:
    """One page of the local web, as served and as a search engine indexes it."""

    path: str
    """Its URL path, e.g. `/heatwise/grants.html` (a folder's `index.html` is served at `/folder/`)."""
    title: str
    description: str
    """Its meta description: the snippet search results show."""
    first_paragraph: str
    text: str = field(repr=False)
    """The article's text, one block a line: what reading the page yields."""
    body: bytes = field(repr=False)
    """What the server sends."""
    content_type: str

    @property
    def snippet(self) -> str:
        return self.description or self.first_paragraph


@dataclass(frozen=True)
class Fact:
    """A fact stated on exactly one page, and the question that asks for it (for evaluations)."""

    id: str
    question: str
    answer: str
    answer_words: tuple[str, ...]
    """Words an answer must contain, all of them (compared case-insensitively)."""
    page: str
    """The URL path of the page that states it."""

    def answered_by(self, text: str) -> bool:
        """Whether `text` contains every one of the answer words."""
        folded = text.casefold()
        return all(word.casefold() in folded for word in self.answer_words)


class _ArticleParser(HTMLParser):
    """Title, meta description, and the text and first paragraph of the `<article>`."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title = ""
        self.description = ""
        self.first_paragraph = ""
        self._chunks: list[str] = []
        self._in_title = False
        self._article_depth = 0
        self._skip_depth = 0  # open elements of a <script>, <style> or the byline
        self._paragraph: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "title":
            self._in_title = True
        elif tag == "meta" and values.get("name") == "description":
            self.description = " ".join((values.get("content") or "").split())
        elif tag == "article":
            self._article_depth += 1
        if not self._article_depth:
            return
        if self._skip_depth:
            self._skip_depth += tag not in _VOID
            return
        if tag in ("script", "style") or (tag == "div" and values.get("class") == "byline"):
            self._skip_depth = 1
            return
        if tag == "p" and not self.first_paragraph:
            self._paragraph = []
        if tag in _BLOCKS:
            self._chunks.append("\n")
        elif tag in ("td", "th"):
            self._chunks.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        if not self._article_depth:
            return
        if self._skip_depth:
            self._skip_depth -= 1
            return
        if tag == "p" and self._paragraph is not None:
            self.first_paragraph = " ".join("".join(self._paragraph).split())
            self._paragraph = None
        if tag == "article":
            self._article_depth -= 1
        if tag in _BLOCKS:
            self._chunks.append("\n")
        elif tag in ("td", "th"):
            self._chunks.append(" ")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        elif self._article_depth and not self._skip_depth:
            self._chunks.append(data.replace("\n", " "))
            if self._paragraph is not None:
                self._paragraph.append(data)

    @property
    def text(self) -> str:
        lines = (" ".join(line.split()) for line in "".join(self._chunks).splitlines())
        return "\n".join(line for line in lines if line)


def _html_page(path: str, raw: bytes) -> Page:
    match = _META_CHARSET.search(raw[:2048])
    charset = match.group(1).decode("ascii").lower() if match else "utf-8"
    parser = _ArticleParser()
    parser.feed(raw.decode(charset))
    parser.close()
    title = " ".join(parser.title.split())
    return Page(
        path=path,
        title=title,
        description=parser.description,
        first_paragraph=parser.first_paragraph,
        text=parser.text,
        body=raw,
        content_type=f"text/html; charset={charset}",
    )


def _pdf_page(path: str, source: str) -> Page:
    header, _, rest = source.partition("\n\n")
    fields = dict(line.split(": ", 1) for line in header.splitlines())
    paragraphs = [" ".join(block.split()) for block in rest.split("\n\n") if block.strip()]
    return Page(
        path=path,
        title=fields["Title"],
        description=fields.get("Description", ""),
        first_paragraph=paragraphs[1] if len(paragraphs) > 1 else paragraphs[0],  # [0] repeats the title
        text="\n".join(paragraphs),
        body=text_pdf(fields["Title"], paragraphs, author=fields.get("Author", "")),
        content_type="application/pdf",
    )


def _terms(text: str) -> list[str]:
    """The words of `text` a search compares, plurals made singular the naive way (`trams`: `tram`)."""
    words = (word for word in re.findall(r"\w+", text.casefold()) if word not in _STOPWORDS)
    return [
        word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word
        for word in words
    ]


class Site:
    """The pages of a site folder, by URL path, and a keyword search over them."""

    def __init__(self, directory: Path = SITE_DIR) -> None:
        self.directory = directory
        pages: list[Page] = []
        for file in sorted(directory.glob("*/*")):
            relative = "/" + file.relative_to(directory).as_posix()
            if file.suffix == ".html":
                pages.append(_html_page(relative.removesuffix("index.html"), file.read_bytes()))
            elif file.name.endswith(".pdf.txt"):
                pages.append(_pdf_page(relative.removesuffix(".txt"), file.read_text(encoding="utf-8")))
        self.pages: dict[str, Page] = {page.path: page for page in pages}
        self._index = {
            page.path: (set(_terms(page.title)), set(_terms(page.description)), _counts(_terms(page.text)))
            for page in pages
        }

    def page(self, path: str) -> Page | None:
        """The page served at `path` (`/folder/index.html` is `/folder/`)."""
        return self.pages.get(path.removesuffix("index.html") if path.endswith("/index.html") else path)

    def search(self, query: str) -> list[tuple[Page, float]]:
        """Pages matching any word of `query`, best first: a word counts 3 in the title, 2 in the
        description, and 1 + log(occurrences) in the text."""
        terms = set(_terms(query))
        scored: list[tuple[Page, float]] = []
        for path, (title, description, counts) in self._index.items():
            score = sum(
                3.0 * (term in title)
                + 2.0 * (term in description)
                + (1.0 + math.log(counts[term]) if term in counts else 0.0)
                for term in terms
            )
            if score > 0:
                scored.append((self.pages[path], round(score, 4)))
        return sorted(scored, key=lambda item: (-item[1], item[0].path))


def _counts(terms: list[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for term in terms:
        counts[term] = counts.get(term, 0) + 1
    return counts


@cache
def default_site() -> Site:
    """The bundled site, loaded once."""
    return Site()


def load_facts(path: Path = FACTS_FILE) -> list[Fact]:
    """The facts of the bundled site (`site/facts.json`)."""
    document = json.loads(path.read_text(encoding="utf-8"))
    return [
        Fact(
            id=item["id"],
            question=item["question"],
            answer=item["answer"],
            answer_words=tuple(item["answer_words"]),
            page=item["page"],
        )
        for item in document["facts"]
    ]
