"""The deterministic check of a report's citations against what the searches really returned.

A model writes the report and a model picks each search's sources, so neither is trusted: a citation `[n]`
stands only if `n` is a source of the report, that source is one a search tool returned (same url or
corpus location), and the snippet shown for it occurs in what the search returned for it. Anything else is
removed from the report and named in the `CitationCheck`, so a report with a fabricated citation can never
be shown as clean.
"""

from __future__ import annotations

import re

from .schema import CitationCheck, ResearchReport, SearchOutcome, Source

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


def _problem(source: Source | None, returned: dict[str, list[str]]) -> str | None:
    """Why a citation of `source` does not stand, or None when it does."""
    if source is None:
        return "no such source in the report"
    texts = returned.get(source.key)
    if texts is None:
        return "no search returned this source"
    snippet = _normal(source.snippet)
    if snippet and not any(snippet in text for text in texts):
        return "the quoted snippet is not in what the search returned"
    return None


def check_citations(
    report: ResearchReport, outcomes: list[SearchOutcome]
) -> tuple[ResearchReport, CitationCheck]:
    """The report with unresolved citations removed, and what the check found.

    Without raw search results to compare against (a provider's built-in web search returns none), nothing
    is removed and the check says it could not verify.
    """
    numbers = report.cited_numbers()
    returned = _returned_texts(outcomes)
    if not returned:
        return report, CitationCheck(cited=len(numbers), verifiable=False)
    by_number = {source.number: source for source in report.sources}
    reasons = {n: why for n in numbers if (why := _problem(by_number.get(n), returned)) is not None}
    if not reasons:
        return report, CitationCheck(cited=len(numbers), verified=len(numbers))
    body = _CITATION_WITH_SPACE.sub(lambda m: "" if int(m.group(1)) in reasons else m.group(0), report.body)
    checked = ResearchReport(
        title=report.title,
        body=body,
        sources=[source for source in report.sources if source.number not in reasons],
    )
    check = CitationCheck(
        cited=len(numbers), verified=len(numbers) - len(reasons), removed=sorted(reasons), reasons=reasons
    )
    return checked, check
