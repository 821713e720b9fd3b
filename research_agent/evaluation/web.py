"""The web slice of the evaluation: grounded web research over the local web, scored against its pages.

Every fact of the local web (research_agent/localweb/site/facts.json) is stated only in the body of its
page, never in a title or a search snippet, so a report can state it only by having read the page. Each
fact's question runs as a real run searching the local web's SearXNG stand-in and reading its pages; the
figures are measured against the site's own article text, independently of the run's citation check:

- fact recall: share of questions whose report contains every word of the answer;
- citation precision: share of the reports' citations whose passage occurs in the cited page's article;
- boilerplate passages: passages read that are not article text (navigation, cookie banners, footers).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pydantic import BaseModel

from ..client import ResearchClient
from ..localweb import LocalWeb, Site, default_site, load_facts
from ..options import resolve_options
from ..runtime import worker
from ..schema import NumberedSource, ResearchStatus
from ..settings import Settings
from .runner import CASE_TIMEOUT, EVAL_EXECUTOR

TARGETS = {"fact recall": 0.9, "citation precision": 1.0, "boilerplate passages": 0}
"""What the slice must reach (issue 18): recall at least, precision exactly, no boilerplate at all."""
_WORD = re.compile(r"[^\W_]+")


def _words(text: str) -> list[str]:
    return _WORD.findall(text.casefold())


def _flat(text: str) -> str:
    return " ".join(_words(text))


class WebCase(BaseModel):
    """One fact's run and what it scored."""

    fact: str
    question: str
    run_id: str
    answered: bool
    citations: int
    precise_citations: int
    passages: int
    boilerplate_passages: int
    pages_read: int


@dataclass
class WebFigures:
    cases: list[WebCase] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def fact_recall(self) -> float:
        return sum(c.answered for c in self.cases) / len(self.cases) if self.cases else 0.0

    @property
    def citation_precision(self) -> float:
        cited = sum(c.citations for c in self.cases)
        return sum(c.precise_citations for c in self.cases) / cited if cited else 0.0

    @property
    def boilerplate(self) -> int:
        return sum(c.boilerplate_passages for c in self.cases)

    def rows(self) -> list[tuple[str, str, str, bool]]:
        """(figure, value, target, met) for the table."""
        return [
            (
                "fact recall",
                f"{self.fact_recall:.3f}",
                f"≥ {TARGETS['fact recall']}",
                self.fact_recall >= 0.9,
            ),
            (
                "citation precision (vs page text)",
                f"{self.citation_precision:.3f}",
                "1.0",
                self.citation_precision == 1.0,
            ),
            ("boilerplate passages", str(self.boilerplate), "0", self.boilerplate == 0),
            ("passages read", str(sum(c.passages for c in self.cases)), "", True),
            ("pages read", str(sum(c.pages_read for c in self.cases)), "", True),
            ("cases", str(len(self.cases)), "", True),
        ]


def _article(site: Site, url: str, base: str) -> str:
    page = site.page(url.removeprefix(base))
    return _flat(f"{page.title} {page.text}") if page else ""


def _is_article(passage: str, article: str) -> bool:
    """Whether a passage is the page's article text: nearly all of its words are the article's."""
    words = _words(passage)
    known = set(article.split())
    return bool(words) and sum(w in known for w in words) >= 0.9 * len(words)


def _precise(source: NumberedSource, site: Site, base: str) -> bool:
    article = _article(site, source.url or "", base)
    return bool(source.passages) and all(_flat(p) in article for p in source.passages)


def score(
    fact_id: str, question: str, answer_words: tuple[str, ...], status: ResearchStatus, site: Site, base: str
) -> WebCase:
    """What one run scored against the site's own pages."""
    body = status.report.body if status.report else ""
    sources = status.report.sources if status.report else []
    pages = [page for search in status.searches for page in search.pages if page.status == "fetched"]
    passages = [(page, p) for page in pages for p in page.passages]
    return WebCase(
        fact=fact_id,
        question=question,
        run_id=status.run_id,
        answered=all(word.casefold() in body.casefold() for word in answer_words),
        citations=len(sources),
        precise_citations=sum(_precise(source, site, base) for source in sources),
        passages=len(passages),
        boilerplate_passages=sum(not _is_article(p, _article(site, page.url, base)) for page, p in passages),
        pages_read=len(pages),
    )


def run_web_slice(
    settings: Settings, on_case: Callable[[WebCase], None] | None = None, only: set[str] | None = None
) -> WebFigures:
    """Run every fact's question (or those whose id is in `only`) over the local web offline and score
    the reports."""
    site = default_site()
    facts = [fact for fact in load_facts() if only is None or fact.id in only]
    started = time.monotonic()
    figures = WebFigures()
    with LocalWeb(site=site) as web:
        web_settings = settings.model_copy(
            update={"search_backend": "searxng", "searxng_url": web.url, "allow_private_urls": True}
        )
        options, _ = resolve_options(web_settings, offline=True)
        with worker(web_settings, EVAL_EXECUTOR), ResearchClient(web_settings) as client:
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
            ids = [client.submit(fact.question, options, f"web-{stamp}-{fact.id}") for fact in facts]
            for fact, run_id in zip(facts, ids, strict=True):
                status = client.wait(run_id, timeout=CASE_TIMEOUT)
                case = score(fact.id, fact.question, fact.answer_words, status, site, web.url)
                figures.cases.append(case)
                if on_case:
                    on_case(case)
    figures.seconds = time.monotonic() - started
    return figures
