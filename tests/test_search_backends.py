"""Each search backend; web backends talk to mocked HTTP, never the network."""

import asyncio
import json
from dataclasses import replace
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import pytest

from research_agent.search import SearchError, TransientSearchError
from research_agent.search.backends import CorpusBackend, TavilyBackend
from research_agent.search.duckduckgo import DuckDuckGoBackend
from research_agent.search.step import backend_for
from research_agent.settings import Settings
from tests._provider_standins import (
    DUCKDUCKGO_CHALLENGE_PAGE,
    Canned,
    StandIn,
    duckduckgo_no_results_page,
    duckduckgo_results_page,
    html_reply,
)


def test_corpus_backend_returns_located_hits(index_dir: Path):
    hits = asyncio.run(CorpusBackend("factbook", index_dir).search("Peru exports partners", 3))
    assert len(hits) == 3
    assert hits[0].location == "factbook:pe/Economy/Exports - partners"
    assert all(h.url is None and h.snippet for h in hits)


def test_tavily_backend_posts_the_query_with_the_key_in_a_header():
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        body = {
            "results": [
                {"title": "Lima", "url": "https://ex.org/lima", "content": "Capital of Peru.", "score": 0.9}
            ]
        }
        return httpx.Response(200, json=body)

    hits = asyncio.run(
        TavilyBackend("tvly-secret", transport=httpx.MockTransport(handler)).search("Peru capital", 4)
    )
    assert [(h.title, h.url, h.snippet) for h in hits] == [
        ("Lima", "https://ex.org/lima", "Capital of Peru.")
    ]
    payload = json.loads(seen[0].content)
    assert payload["query"] == "Peru capital" and payload["max_results"] == 4
    assert "tvly-secret" not in seen[0].content.decode()
    assert seen[0].headers["authorization"] == "Bearer tvly-secret"


def test_tavily_backend_explains_a_rejected_key():
    transport = httpx.MockTransport(lambda request: httpx.Response(401, json={"detail": "bad key"}))
    with pytest.raises(SearchError, match="TAVILY_API_KEY"):
        asyncio.run(TavilyBackend("bad", transport=transport).search("x", 1))


@pytest.mark.parametrize("body", [b"<html><body>502 Bad Gateway</body></html>", b'{"results": ['])
def test_tavily_answering_no_json_is_an_error_naming_tavily(body: bytes) -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, content=body))
    with pytest.raises(SearchError, match="Tavily answered HTTP 200 with a body that is not JSON") as raised:
        asyncio.run(TavilyBackend("k", transport=transport).search("x", 1))
    assert not isinstance(raised.value, TransientSearchError)


# --- DuckDuckGo, through ddgs's DuckDuckGo engine, against a stand-in of its HTML page ---------------------

DDG_RESULTS = [
    (
        "https://skerrow-light.example/history?lang=en&print=1",
        "Skerrow Point's light, 1841-1987",
        "First lit in 1841 & kept to 1987.",
    ),
    ("https://keepers.example/skerrow", "Keepers of Skerrow Point", "Keepers   served\n to 1987."),
]


def _ddg(standin: StandIn) -> DuckDuckGoBackend:
    return DuckDuckGoBackend(standin.url, timeout=5)


def test_duckduckgo_posts_its_form_and_reads_the_results_without_the_ads() -> None:
    with StandIn() as ddg:
        ddg.queue(html_reply(duckduckgo_results_page("Skerrow Point", DDG_RESULTS)), path="/html/")
        hits = asyncio.run(_ddg(ddg).search("Skerrow Point", 5))
        [request] = ddg.requests

    assert [(h.title, h.url, h.snippet) for h in hits] == [
        (
            "Skerrow Point's light, 1841-1987",
            "https://skerrow-light.example/history?lang=en&print=1",
            "First lit in 1841 & kept to 1987.",
        ),
        ("Keepers of Skerrow Point", "https://keepers.example/skerrow", "Keepers served to 1987."),
    ]
    assert (request.method, request.path) == ("POST", "/html/")
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert parse_qs(request.body.decode()) == {"q": ["Skerrow Point"], "l": ["us-en"]}


def test_duckduckgo_keeps_at_most_max_results() -> None:
    with StandIn() as ddg:
        ddg.queue(html_reply(duckduckgo_results_page("Skerrow Point", DDG_RESULTS)))
        hits = asyncio.run(_ddg(ddg).search("Skerrow Point", 1))
    assert [h.url for h in hits] == [DDG_RESULTS[0][0]]


def test_duckduckgo_finding_nothing_is_no_hits_not_an_error() -> None:
    with StandIn() as ddg:
        ddg.queue(html_reply(duckduckgo_no_results_page("qwxzv lighthouse")))
        assert asyncio.run(_ddg(ddg).search("qwxzv lighthouse", 5)) == []


@pytest.mark.parametrize("status", [202, 403, 200], ids=lambda s: f"http-{s}")
def test_duckduckgos_bot_check_is_a_rate_limit_naming_the_fix(status: int) -> None:
    """DuckDuckGo rate-limits with its bot check page (HTTP 202, sometimes 403 or even 200): waiting can help,
    and the message says what else to do. ddgs alone reads it as "No results found"."""
    with StandIn() as ddg:
        ddg.queue(html_reply(DUCKDUCKGO_CHALLENGE_PAGE, status=status))
        with pytest.raises(TransientSearchError) as raised:
            asyncio.run(_ddg(ddg).search("Skerrow Point", 5))
    message = str(raised.value)
    assert f"HTTP {status}, its bot check" in message
    assert "RESEARCH_SEARCH_BACKEND" in message and "RESEARCH_SEARCH_RATE_LIMIT" in message


def test_a_result_quoting_the_bot_check_is_still_a_result() -> None:
    quoting = [
        (
            "https://blog.example/ddg",
            "Why DuckDuckGo asks",
            'It says "Unfortunately, bots use DuckDuckGo too."',
        )
    ]
    with StandIn() as ddg:
        ddg.queue(html_reply(duckduckgo_results_page("duckduckgo bot check", quoting)))
        hits = asyncio.run(_ddg(ddg).search("duckduckgo bot check", 5))
    assert [h.url for h in hits] == ["https://blog.example/ddg"]


@pytest.mark.parametrize(
    "body",
    [b"<html><body><h1>Welcome to nginx!</h1></body></html>", b'{"results": [', b""],
    ids=["another-page", "json-cut", "empty"],
)
def test_duckduckgo_answering_no_results_page_is_an_error_naming_the_fix(body: bytes) -> None:
    with StandIn() as ddg:
        ddg.queue(html_reply(body))
        with pytest.raises(SearchError, match=r"not a results page.*upgrade ddgs") as raised:
            asyncio.run(_ddg(ddg).search("Skerrow Point", 5))
    assert not isinstance(raised.value, TransientSearchError), "a page it cannot read is not retried"


def test_duckduckgo_cut_off_or_failing_is_worth_retrying() -> None:
    page = duckduckgo_results_page("Skerrow Point", DDG_RESULTS)
    with StandIn() as ddg:
        ddg.queue(replace(html_reply(page), cut_after=len(page) // 2), html_reply(b"busy", status=503))
        with pytest.raises(TransientSearchError, match="unreachable"):
            asyncio.run(_ddg(ddg).search("Skerrow Point", 5))
        with pytest.raises(TransientSearchError, match="HTTP 503"):
            asyncio.run(_ddg(ddg).search("Skerrow Point", 5))


def test_duckduckgos_plain_429_is_a_rate_limit_naming_the_fix() -> None:
    """A 429 with no bot check page (as a proxy in front of it, or DuckDuckGo itself, may send): still a
    rate limit, retried after the backoff."""
    with StandIn() as ddg:
        ddg.queue(Canned(status=429, body=b"Too Many Requests", headers={"content-type": "text/plain"}))
        with pytest.raises(TransientSearchError) as raised:
            asyncio.run(_ddg(ddg).search("Skerrow Point", 5))
    assert "HTTP 429" in str(raised.value) and "RESEARCH_SEARCH_BACKEND" in str(raised.value)


@pytest.mark.parametrize("status", [400, 404, 410])
def test_duckduckgo_refusing_the_form_otherwise_is_an_error_not_retried(status: int) -> None:
    with StandIn() as ddg:
        ddg.queue(html_reply(b"<html><body><h1>Not Found</h1></body></html>", status=status))
        with pytest.raises(
            SearchError, match=f"HTTP {status} to the search form at {ddg.url}/html/"
        ) as raised:
            asyncio.run(_ddg(ddg).search("Skerrow Point", 5))
    assert not isinstance(raised.value, TransientSearchError), "the same form is refused again"


def test_duckduckgo_backend_posts_to_the_configured_address() -> None:
    backend = backend_for("duckduckgo", "", Settings(duckduckgo_url="http://127.0.0.1:9/"))
    assert isinstance(backend, DuckDuckGoBackend) and backend.url == "http://127.0.0.1:9/html/"
    assert DuckDuckGoBackend().url == "https://html.duckduckgo.com/html/"


def test_backend_choice_checks_keys_and_names():
    settings = Settings()
    assert backend_for("corpus", "factbook", settings).name == "corpus"
    with pytest.raises(SearchError, match="TAVILY_API_KEY"):
        backend_for("tavily", "factbook", settings)
    with pytest.raises(SearchError, match="unknown search backend"):
        backend_for("bing", "factbook", settings)
