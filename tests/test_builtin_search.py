"""Built-in web search end to end (issue 18): a question researched over the local web by a real in-process
worker, the search role using the provider's own web search through the real pydantic-ai model and SDK.

The provider is a local stand-in (tests/_provider_standins.py) answering in its wire format: Gemini 2.5's
`generateContent` with Google Search grounding (the answer the prompted `SearchFindings` JSON, the grounding
chunks redirect links titled with the pages' domain), Anthropic's streamed Messages with a
`web_search_tool_result` and `cited_text`. The redirect links point at a local redirector that answers 302
to pages of the local web (research_agent/localweb). The planner and the analyst are the offline models,
which plan for and write from the web. Every model answer names the pages the search returned and one
source it never returned (`MADE_UP`); the run must drop and count that one, read the others' pages, and
write a report whose citations are checked against the pages as read. The fact asked for (1841) is only in
the page's body, never in anything a stand-in says, so a report stating it has read the page.

Gemini's redirect links are told from pages' URLs by their prefix (`native_results(redirect_prefixes=...)`);
the engine knows only Google's, so these tests point the workflow's call at the local redirector's. Where a
test needs the pages on a domain name (matching an unresolved link by the domain its chunk names), a
resolver stand-in answers `SITE` with 127.0.0.1.
"""

from __future__ import annotations

import functools
import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from research_agent import workflows
from research_agent.client import ResearchClient
from research_agent.localweb import LocalWeb
from research_agent.naming import search_workflow_id
from research_agent.runtime import worker
from research_agent.schema import Phase, ResearchOptions, ResearchStatus, citation_summary
from research_agent.search.native import native_results
from research_agent.settings import Settings
from tests._provider_standins import (
    Canned,
    RecordedRequest,
    StandIn,
    anthropic_cited_text,
    anthropic_message,
    anthropic_reply,
    anthropic_web_search,
    gemini_grounding,
    gemini_reply,
    gemini_response,
    json_reply,
    redirect_reply,
)

LIGHTHOUSE = "When was the Skerrow Point lighthouse first lit?"
FACT = "1841"
MADE_UP = "https://made-up.example/report"
PAGES = {"story": "/skerrow-light/", "keepers": "/skerrow-light/keepers.html"}
"""The pages the search returns, by the key of their redirect link."""
LINK_PATH = "/grounding-api-redirect/"
GEMINI_PATH = "/v1beta/models/gemini-2.5-flash:"
"""`generateContent`, or `streamGenerateContent?alt=sse`: both count as the model's one request."""
SITE = "skerrow-light.test"
"""A domain name for the local web (the local resolver knows no name but `localhost`), answered by the
test's resolver stand-in with 127.0.0.1."""
SUMMARY = "The lighthouse on Skerrow Point was first lit in the nineteenth century, after a shipwreck."
"""The model's own words: no date in them."""


@pytest.fixture
def web() -> Iterator[LocalWeb]:
    with LocalWeb() as local:
        yield local


@pytest.fixture
def gemini(monkeypatch: pytest.MonkeyPatch) -> Iterator[StandIn]:
    """Gemini's API: google-genai's own base URL override (build_model passes no base URL of its own)."""
    with StandIn() as standin:
        monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", standin.url)
        yield standin


@pytest.fixture
def anthropic(monkeypatch: pytest.MonkeyPatch) -> Iterator[StandIn]:
    with StandIn() as standin:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", standin.url)
        yield standin


def _resolve_site_locally(monkeypatch: pytest.MonkeyPatch) -> None:
    """Resolver stand-in: `SITE` is 127.0.0.1 (the page guard and reader look names up with getaddrinfo)."""
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        return real("127.0.0.1" if host == SITE else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def _redirect_links_at(monkeypatch: pytest.MonkeyPatch, prefix: str) -> None:
    """The workflow tells `prefix`'s links for Gemini's redirect links (in-process worker: the same module)."""
    monkeypatch.setattr(
        workflows, "native_results", functools.partial(native_results, redirect_prefixes=[prefix])
    )


def _options(search_model: str) -> ResearchOptions:
    return ResearchOptions(
        offline=False,
        planner_model="offline",
        search_model=search_model,
        analyst_model="offline",
        search_backend="builtin",
        max_searches=1,
        read_pages=4,
    )


def _research(settings: Settings, options: ResearchOptions) -> tuple[ResearchStatus, list[str]]:
    """Run the question to its end; the finished status and the names of the search workflow's steps."""
    with worker(settings), ResearchClient(settings) as client:
        run_id = client.submit(LIGHTHOUSE, options)
        status = client.wait(run_id, timeout=120)
        steps = client._client.list_workflow_steps(search_workflow_id(run_id, 1))
    return status, [step["function_name"] for step in steps]


def _findings(urls: list[str]) -> dict[str, Any]:
    """The model's `SearchFindings`: the pages it names, then one the search never returned."""
    sources = [
        {"title": "Skerrow Point Lighthouse Trust", "url": url, "snippet": "History of the light."}
        for url in urls
    ]
    sources.append(
        {"title": "Coastal lights report", "url": MADE_UP, "snippet": "A survey of the coast's lights."}
    )
    return {"query": "Skerrow Point lighthouse first lit", "summary": SUMMARY, "sources": sources}


def _gemini_answer(links: str, page_urls: list[str], title: str) -> dict[str, Any]:
    """Gemini 2.5's answer with Google Search grounding: the prompted JSON, and one grounding chunk per page,
    its uri a redirect link under `links`, its title the page's domain."""
    text = json.dumps(_findings(page_urls), ensure_ascii=False)
    grounding = gemini_grounding(
        text,
        chunks=[(f"{links}{key}", title) for key in PAGES],
        supports=[(SUMMARY, [0, 1])],
        queries=["Skerrow Point lighthouse first lit"],
    )
    return gemini_response(text, grounding=grounding)


def _assert_gemini_asked_once(gemini: StandIn) -> None:
    assert gemini.count() == gemini.count(GEMINI_PATH) == 1, [r.path for r in gemini.requests]
    request = gemini.requests[0].json()
    assert request["tools"] == [{"googleSearch": {}}]
    assert "Skerrow Point lighthouse first lit" in json.dumps(request["contents"])  # the planned query
    assert gemini.pending == 0


def _assert_grounded_run(status: ResearchStatus, pages: list[str]) -> None:
    """Completed; the made-up source dropped and counted; the named pages read; the report answering from a
    page's body with every citation verified against the pages as read, numbered 1..n."""
    assert status.phase is Phase.COMPLETED, status.error
    assert status.report is not None and status.citations is not None
    [search] = status.searches
    assert search.state.value == "done" and search.error is None
    # The source the search never returned is gone from the search and the report, and counted.
    assert [source.url for source in search.sources] == pages
    assert search.unreturned == 1 and search.source_count == len(pages)
    assert MADE_UP not in status.report.body
    assert all(source.url != MADE_UP for source in status.report.sources)
    assert status.citations.unreturned == 1
    summary = citation_summary(status.citations)
    assert "1 source the search never returned dropped" in summary, summary
    # Each named page was read once, with passages, and those are what its source shows.
    assert [(page.url, page.status) for page in search.pages] == [(url, "fetched") for url in pages]
    assert all(page.passages for page in search.pages)
    assert all(source.passages for source in search.sources)
    assert search.sources[0].title == "The story of the lighthouse | Skerrow Point Lighthouse Trust"
    # The report answers from the page body, and stands the check against the pages as read.
    assert FACT in status.report.body, status.report.body
    assert status.citations.verifiable and status.citations.clean, status.citations
    assert status.citations.against_pages == status.citations.verified >= 1
    numbers = [source.number for source in status.report.sources]
    assert numbers == list(range(1, len(numbers) + 1))
    assert {source.url for source in status.report.sources} <= set(pages)
    assert any(FACT in passage for source in status.report.sources for passage in source.passages)
    assert "checked against the pages as read" in summary


# --- Gemini ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_gemini_grounded_search_resolves_its_links_reads_the_pages_and_drops_a_made_up_source(
    settings: Settings, web: LocalWeb, gemini: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The local web's host is an address, so each chunk's title (the page's domain) is that address, which
    names no domain to match by: the sources are matched only through the links' resolved targets."""
    targets = {key: web.page_url(path) for key, path in PAGES.items()}

    def redirect(request: RecordedRequest) -> Canned:
        key = request.path.removeprefix(LINK_PATH)
        return redirect_reply(targets[key]) if key in targets else json_reply({"error": "no such link"}, 404)

    with StandIn(default=redirect) as redirector:
        links = f"{redirector.url}{LINK_PATH}"
        _redirect_links_at(monkeypatch, links)
        answer = _gemini_answer(links, list(targets.values()), title="127.0.0.1")
        assert FACT not in json.dumps(answer)
        gemini.queue(gemini_reply(answer))
        status, steps = _research(
            settings.model_copy(update={"google_api_key": SecretStr("test-key"), "allow_private_urls": True}),
            _options("google-gla:gemini-2.5-flash"),
        )
        asked = sorted(request.path for request in redirector.requests)

    _assert_gemini_asked_once(gemini)
    # Each redirect link asked once, in one recorded step, before the pages were read.
    assert asked == sorted(LINK_PATH + key for key in PAGES)
    assert steps.count("resolve_redirects") == 1
    assert steps.count("read_page") == len(PAGES)
    assert steps.index("resolve_redirects") < steps.index("read_page")
    _assert_grounded_run(status, list(targets.values()))
    for path in PAGES.values():
        assert web.requests_to(path) == 1


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("failure", ["http-500", "closed-port"])
def test_gemini_links_that_cannot_be_resolved_match_by_domain_and_the_pages_are_still_read(
    settings: Settings, web: LocalWeb, gemini: StandIn, monkeypatch: pytest.MonkeyPatch, failure: str
) -> None:
    """The redirector answers 500, or nothing listens on its port: each link stays a link, its domain (the
    chunk's title) the only thing known of it, so a source on that domain is taken at the model's own URL
    and its page is read; the made-up one, on another domain, is still dropped."""
    _resolve_site_locally(monkeypatch)
    pages = [f"http://{SITE}:{web.url.rsplit(':', 1)[1]}{path}" for path in PAGES.values()]
    redirector = StandIn(default=json_reply({"error": "internal"}, status=500)).start()
    links = f"{redirector.url}{LINK_PATH}"
    if failure == "closed-port":
        redirector.stop()  # its port now refuses connections
    try:
        _redirect_links_at(monkeypatch, links)
        gemini.queue(gemini_reply(_gemini_answer(links, pages, title=SITE)))
        status, steps = _research(
            settings.model_copy(update={"google_api_key": SecretStr("test-key"), "allow_private_urls": True}),
            _options("google-gla:gemini-2.5-flash"),
        )
        asked = sorted(request.path for request in redirector.requests)
    finally:
        redirector.stop()

    _assert_gemini_asked_once(gemini)
    assert asked == ([] if failure == "closed-port" else sorted(LINK_PATH + key for key in PAGES))
    assert steps.count("resolve_redirects") == 1
    _assert_grounded_run(status, pages)
    # The sources keep the model's own addresses (a link says nothing a reader could open).
    assert status.report is not None
    assert all(source.url in pages for source in status.report.sources)
    for path in PAGES.values():
        assert web.requests_to(path) == 1


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_gemini_links_unresolved_and_titled_with_an_address_match_nothing_and_the_report_says_not_found(
    settings: Settings, web: LocalWeb, gemini: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A chunk titled with an address rather than a domain name, whose link cannot be resolved, names no
    domain: nothing the model names can be matched to it, so every source is dropped, no page is read, and
    the report says it found nothing rather than answering from the model's word."""
    with StandIn(default=json_reply({"error": "internal"}, status=500)) as redirector:
        links = f"{redirector.url}{LINK_PATH}"
        _redirect_links_at(monkeypatch, links)
        pages = [web.page_url(path) for path in PAGES.values()]
        gemini.queue(gemini_reply(_gemini_answer(links, pages, title="127.0.0.1")))
        status, steps = _research(
            settings.model_copy(update={"google_api_key": SecretStr("test-key"), "allow_private_urls": True}),
            _options("google-gla:gemini-2.5-flash"),
        )
        assert redirector.count(LINK_PATH) == len(PAGES)

    _assert_gemini_asked_once(gemini)
    assert status.phase is Phase.COMPLETED, status.error
    assert status.report is not None and status.citations is not None
    [search] = status.searches
    assert search.sources == [] and search.pages == [] and search.unreturned == len(PAGES) + 1
    assert "read_page" not in steps
    assert sum(web.requests_to(path) for path in PAGES.values()) == 0
    assert status.report.body.startswith("**Not found.**"), status.report.body
    assert FACT not in status.report.body and status.report.sources == []
    assert not status.citations.verifiable and status.citations.unreturned == len(PAGES) + 1
    assert "3 sources the search never returned dropped" in citation_summary(status.citations)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_denied_domain_stays_denied_when_its_links_cannot_be_resolved(
    settings: Settings, web: LocalWeb, gemini: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    _resolve_site_locally(monkeypatch)
    pages = [f"http://{SITE}:{web.url.rsplit(':', 1)[1]}{path}" for path in PAGES.values()]
    with StandIn(default=json_reply({"error": "internal"}, status=500)) as redirector:
        links = f"{redirector.url}{LINK_PATH}"
        _redirect_links_at(monkeypatch, links)
        gemini.queue(gemini_reply(_gemini_answer(links, pages, title=SITE)))
        options = _options("google-gla:gemini-2.5-flash").model_copy(update={"deny_domains": [SITE]})
        status, _ = _research(
            settings.model_copy(update={"google_api_key": SecretStr("test-key"), "allow_private_urls": True}),
            options,
        )

    assert status.phase is Phase.COMPLETED, status.error
    assert sum(web.requests_to(path) for path in PAGES.values()) == 0, "a denied domain's pages were read"
    assert status.searches[0].sources == [] and status.searches[0].pages == []


# --- Anthropic ------------------------------------------------------------------------------------------


def _anthropic_answer(pages: list[str]) -> dict[str, Any]:
    """Claude's answer with one web search: its results (the local pages), text citing the first with the
    page's own words (no date in them), then the output tool call naming the pages and the made-up source."""
    titles = [
        "The story of the lighthouse | Skerrow Point Lighthouse Trust",
        "The keepers | Skerrow Point Lighthouse Trust",
    ]
    results = [
        {"url": url, "title": title, "page_age": "2 months ago"}
        for url, title in zip(pages, titles, strict=True)
    ]
    cited = (
        "The reef below the point, known locally as the Teeth, claimed dozens of vessels in the age of sail."
    )
    return anthropic_message(
        [
            *anthropic_web_search("srvtoolu_01Skerrow", "Skerrow Point lighthouse first lit", results),
            anthropic_cited_text(SUMMARY, [{"url": pages[0], "title": titles[0], "cited_text": cited}]),
            {"id": "toolu_01Skerrow", "input": _findings(pages), "name": "final_result", "type": "tool_use"},
        ]
    )


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_anthropic_web_search_results_are_read_and_a_made_up_source_dropped(
    settings: Settings, web: LocalWeb, anthropic: StandIn
) -> None:
    pages = [web.page_url(path) for path in PAGES.values()]
    answer = _anthropic_answer(pages)
    assert FACT not in json.dumps(answer)
    anthropic.queue(anthropic_reply(answer), path="/v1/messages")

    status, steps = _research(
        settings.model_copy(update={"anthropic_api_key": SecretStr("test-key"), "allow_private_urls": True}),
        _options("anthropic:claude-sonnet-4-6"),
    )

    assert [request.path for request in anthropic.requests] == ["/v1/messages"]
    request = anthropic.requests[0]
    assert request.wants_stream, "the model's default max_tokens makes the SDK stream"
    assert any(tool.get("name") == "web_search" for tool in request.json()["tools"])
    assert anthropic.pending == 0
    assert "resolve_redirects" not in steps  # no redirect links: nothing to resolve
    assert steps.count("read_page") == len(PAGES)
    _assert_grounded_run(status, pages)
    for path in PAGES.values():
        assert web.requests_to(path) == 1
