"""Each search backend; web backends talk to mocked HTTP, never the network."""

import asyncio
import json
from pathlib import Path

import httpx
import pytest

from research_agent.search import SearchError
from research_agent.search.backends import CorpusBackend, DuckDuckGoBackend, TavilyBackend
from research_agent.search.step import backend_for
from research_agent.settings import Settings


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


def test_duckduckgo_backend_maps_ddgs_results(monkeypatch: pytest.MonkeyPatch):
    import ddgs

    class FakeDDGS:
        def text(self, query: str, max_results: int) -> list[dict[str, str]]:
            assert query == "Andes" and max_results == 2
            return [{"title": "Andes", "href": "https://ex.org/andes", "body": "A mountain range."}]

    monkeypatch.setattr(ddgs, "DDGS", FakeDDGS)
    hits = asyncio.run(DuckDuckGoBackend().search("Andes", 2))
    assert [(h.title, h.url) for h in hits] == [("Andes", "https://ex.org/andes")]


def test_backend_choice_checks_keys_and_names():
    settings = Settings()
    assert backend_for("corpus", "factbook", settings).name == "corpus"
    with pytest.raises(SearchError, match="TAVILY_API_KEY"):
        backend_for("tavily", "factbook", settings)
    with pytest.raises(SearchError, match="unknown search backend"):
        backend_for("bing", "factbook", settings)
