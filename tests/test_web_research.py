"""Grounded web research end to end, offline: search the local web, read the pages, cite their passages,
check every citation against the pages as read.

The local web (research_agent/localweb) puts each fact only deep in a page's article, never in a title or a
search snippet, so a report that states it must have read the page.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from research_agent.client import ResearchClient
from research_agent.localweb import LocalWeb
from research_agent.options import resolve_options
from research_agent.runtime import worker
from research_agent.schema import Phase, ResearchStatus
from research_agent.settings import Settings

LIGHTHOUSE = "When was the Skerrow Point lighthouse first lit?"
BOILERPLATE = ("cookie", "privacy policy", "all rights reserved", "skip to content")


@pytest.fixture
def web() -> Iterator[LocalWeb]:
    with LocalWeb() as local:
        yield local


def _web_settings(settings: Settings, web: LocalWeb, **extra: object) -> Settings:
    return settings.model_copy(
        update={"search_backend": "searxng", "searxng_url": web.url, "allow_private_urls": True, **extra}
    )


def _research(settings: Settings, question: str) -> ResearchStatus:
    with worker(settings), ResearchClient(settings) as client:
        options, _ = resolve_options(settings, offline=True)
        run_id = client.submit(question, options)
        return client.wait(run_id, timeout=120)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_fact_only_in_a_page_body_is_found_cited_and_verified(settings: Settings, web: LocalWeb) -> None:
    status = _research(_web_settings(settings, web), LIGHTHOUSE)
    assert status.phase is Phase.COMPLETED and status.report is not None
    assert "1841" in status.report.body
    # Every page read is listed on its search with its passages; none of them boilerplate.
    pages = [page for search in status.searches for page in search.pages]
    assert pages and all(page.status == "fetched" for page in pages)
    assert all(page.text == "" for page in pages), "the status carries no page text"
    passages = [p for page in pages for p in page.passages]
    assert passages and not [p for p in passages if any(b in p.lower() for b in BOILERPLATE)]
    # The report's sources carry the passages they are cited for, and the check verified them against the
    # pages as read, numbered 1..n in the order first cited.
    assert status.citations is not None and status.citations.clean
    assert status.citations.against_pages == status.citations.verified >= 1
    numbers = [s.number for s in status.report.sources]
    assert numbers == list(range(1, len(numbers) + 1))
    assert all(source.passages for source in status.report.sources)
    assert any("1841" in p for source in status.report.sources for p in source.passages)
    # Each page was fetched once.
    for page in pages:
        assert web.requests_to(page.url.removeprefix(web.url)) == 1


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_private_addresses_are_refused_and_the_run_goes_on_with_snippets(
    settings: Settings, web: LocalWeb
) -> None:
    status = _research(_web_settings(settings, web, allow_private_urls=False), LIGHTHOUSE)
    assert status.phase is Phase.COMPLETED and status.report is not None
    pages = [page for search in status.searches for page in search.pages]
    assert pages and all(page.status == "refused" and "loopback" in page.reason for page in pages)
    assert sum(web.request_counts().get(page.url.removeprefix(web.url), 0) for page in pages) == 0
    assert "1841" not in status.report.body  # the fact is only in the page body
    assert status.citations is not None and status.citations.against_pages == 0


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_hostile_pages_are_bounded_and_recorded_with_their_reason(settings: Settings) -> None:
    with LocalWeb(hostile_in_results=True, drip_interval=0.5, huge_bytes=3_000_000) as web:
        hostile = _web_settings(
            settings, web, max_results=16, read_pages=10, page_timeout=3.0, page_max_bytes=200_000
        )
        status = _research(hostile, "Skerrow Point lighthouse lens range")
        base = web.url
    assert status.phase is Phase.COMPLETED and status.report is not None
    pages = {page.url.removeprefix(base): page for search in status.searches for page in search.pages}
    bad = {path: page for path, page in pages.items() if path.startswith("/hostile/")}
    assert bad, "the hostile pages were among the results read"
    for path, page in bad.items():
        if path in ("/hostile/huge.html", "/hostile/endless.html"):
            assert page.truncated or page.status != "fetched", path
            assert page.bytes_read <= 200_000, path
        elif path != "/hostile/injection.html":
            assert page.status in ("refused", "failed") and page.reason, (path, page)
    assert "evil.example" not in status.report.body
    assert status.citations is not None and not status.citations.removed


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_tavilys_own_page_content_is_used_instead_of_fetching(settings: Settings, web: LocalWeb) -> None:
    tavily = settings.model_copy(
        update={
            "search_backend": "tavily",
            "tavily_api_key": SecretStr("tvly-test"),
            "tavily_url": web.tavily_url,
            "allow_private_urls": False,  # no page may be fetched: Tavily's content is what is read
        }
    )
    status = _research(tavily, LIGHTHOUSE)
    assert status.phase is Phase.COMPLETED and status.report is not None
    pages = [page for search in status.searches for page in search.pages]
    assert pages and all(p.status == "fetched" and p.source == "search service" for p in pages)
    assert not [path for path in web.request_counts() if path.startswith("/skerrow-light")]
    assert "1841" in status.report.body
    assert status.citations is not None and status.citations.clean and status.citations.against_pages
