"""The deterministic check of a report's citations against what the searches really returned and read.

A model writes the report and a model picks each search's sources, so neither is trusted: a citation `[n]`
stands only if `n` is a source of the report, that source is one a search really returned (same url or
corpus location), and the text shown for it is in what was read: each passage shown for a web page occurs
in the page's text as fetched, or (for a source shown by its snippet) the snippet occurs in what the search
returned. A source with nothing to check (no passage, no snippet) does not stand either. Anything else is
removed from the report and named in the `CitationCheck`, so a report with a fabricated citation can never
be shown as clean. What stands is then numbered 1..n in the order the report first cites it.
"""

from __future__ import annotations

import re

from .schema import (
    CITATION_PATTERN,
    CitationCheck,
    NumberedSource,
    PageRead,
    ResearchReport,
    SearchFindings,
    SearchOutcome,
    Source,
    citation_number,
)

_SPACE = re.compile(r"\s+")
_CITATION_WITH_SPACE = re.compile(r" ?\[(\d+)\]")


def _normal(text: str) -> str:
    return _SPACE.sub(" ", text).strip().casefold()


def _returned_texts(outcomes: list[SearchOutcome]) -> dict[str, list[str]]:
    texts: dict[str, list[str]] = {}
    for outcome in outcomes:
        for hit in outcome.returned:
            texts.setdefault(hit.key, []).append(_normal(f"{hit.title} {hit.snippet}"))
    return texts


def _page_texts(outcomes: list[SearchOutcome]) -> dict[str, list[str]]:
    """The text of every page read, under the url it was asked for and the one it ended at."""
    texts: dict[str, list[str]] = {}
    for outcome in outcomes:
        for page in outcome.pages:
            if page.status != "fetched":
                continue
            text = _normal(" ".join([page.text, *page.passages]))
            for url in {page.url, page.final_url} - {""}:
                texts.setdefault(url, []).append(text)
    return texts


def _problem(
    source: Source | None, returned: dict[str, list[str]], pages: dict[str, list[str]]
) -> str | None:
    """Why a citation of `source` does not stand, or None when it does."""
    if source is None:
        return "no such source in the report"
    texts = returned.get(source.key)
    if texts is None:
        return "no search returned this source"
    if source.passages:
        read = pages.get(source.url or "", [])
        if not read:
            return "the page was never read, so its passages cannot be checked"
        for passage in source.passages:
            shown = _normal(passage)
            if not shown or not any(shown in text for text in read):
                return "a quoted passage is not in the page as it was read"
        return None
    snippet = _normal(source.snippet)
    if not snippet:
        return "nothing is quoted for this source to check"
    if not any(snippet in text for text in texts):
        return "the quoted snippet is not in what the search returned"
    return None


def grounded(findings: SearchFindings, returned: list[Source], pages: list[PageRead]) -> SearchFindings:
    """The findings with each source as the search returned it and its page was read: title, snippet and
    passages come from those records, never from the model's copy. Sources the search never returned are
    left out (the caller counts them)."""
    by_key = {source.key: source for source in returned}
    read = {page.url: page for page in pages if page.status == "fetched"}
    sources = []
    for named in findings.sources:
        raw = by_key.get(named.key)
        if raw is None:
            continue
        page = read.get(raw.url or "")
        if page is not None and page.passages:
            raw = raw.model_copy(update={"title": page.title or raw.title, "passages": list(page.passages)})
        sources.append(raw)
    return findings.model_copy(update={"sources": sources})


def renumbered(report: ResearchReport) -> ResearchReport:
    """The report with its citations numbered 1..n in the order it first cites them, and its source list
    in that order (sources it never cites dropped)."""
    order: dict[int, int] = {}
    for match in CITATION_PATTERN.finditer(report.body):
        order.setdefault(citation_number(match.group(1)), len(order) + 1)
    by_number = {source.number: source for source in report.sources}
    body = CITATION_PATTERN.sub(lambda m: f"[{order[citation_number(m.group(1))]}]", report.body)
    sources = [
        NumberedSource(**{**by_number[old].model_dump(), "number": new})
        for old, new in order.items()
        if old in by_number
    ]
    return ResearchReport(title=report.title, body=body, sources=sources)


def check_citations(
    report: ResearchReport, outcomes: list[SearchOutcome]
) -> tuple[ResearchReport, CitationCheck]:
    """The report with unresolved citations removed and the rest numbered 1..n, and what the check found.

    `removed` and `reasons` name citations by the numbers the report was written with. Without raw search
    results to compare against, nothing is removed and the check says it could not verify.
    """
    numbers = report.cited_numbers()
    returned = _returned_texts(outcomes)
    unreturned = sum(outcome.unreturned for outcome in outcomes)
    if not returned:
        return renumbered(report), CitationCheck(cited=len(numbers), verifiable=False, unreturned=unreturned)
    pages = _page_texts(outcomes)
    by_number = {source.number: source for source in report.sources}
    reasons = {n: why for n in numbers if (why := _problem(by_number.get(n), returned, pages)) is not None}
    body = _CITATION_WITH_SPACE.sub(
        lambda m: "" if citation_number(m.group(1)) in reasons else m.group(0), report.body
    )
    kept = [source for source in report.sources if source.number not in reasons]
    checked = renumbered(ResearchReport(title=report.title, body=body, sources=kept))
    check = CitationCheck(
        cited=len(numbers),
        verified=len(numbers) - len(reasons),
        removed=sorted(reasons),
        reasons=reasons,
        against_pages=sum(1 for n in numbers if n not in reasons and by_number[n].passages),
        unreturned=unreturned,
    )
    return checked, check
