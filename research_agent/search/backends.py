"""The search backend protocol and its implementations."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import httpx
from pydantic import BaseModel, Field

from ..corpus import open_collection, resolve_collection
from ..tls import shared_tls_context
from .errors import SearchError

SNIPPET_CHARS = 600
CONTENT_CHARS = 100_000
"""Most characters of page text a hit keeps (`SearchHit.content`): one page cannot flood a step's record."""
TAVILY_BASE_URL = "https://api.tavily.com"


class SearchHit(BaseModel):
    """One result of one search."""

    title: str
    url: str | None = None
    location: str | None = None
    snippet: str
    score: float | None = None
    content: str | None = None
    """The page's full text, when the backend returned it (Tavily with `include_raw_content`)."""
    passages: list[str] = Field(default_factory=list)
    """What the page says on the query, read from the page itself once its search has returned."""


class SearchBackend(Protocol):
    """Anything that turns a query into ranked hits."""

    name: str

    async def search(self, query: str, max_results: int) -> list[SearchHit]: ...


def _snippet(text: str) -> str:
    text = " ".join(text.split())
    if len(text) <= SNIPPET_CHARS:
        return text
    cut = text.rfind(" ", 0, SNIPPET_CHARS)
    return text[: cut if cut > 0 else SNIPPET_CHARS] + " …"


def _content(text: object) -> str | None:
    return text[:CONTENT_CHARS] if isinstance(text, str) and text.strip() else None


class CorpusBackend:
    """BM25 over a local collection (a bundled one or a folder indexed by the user; `auto`: the collection
    each query fits best)."""

    name = "corpus"

    def __init__(self, collection: str, index_dir: Path) -> None:
        self.collection = collection
        self.index_dir = index_dir

    async def search(self, query: str, max_results: int) -> list[SearchHit]:
        name = resolve_collection(self.collection, query, self.index_dir)
        collection = open_collection(name, self.index_dir)
        return [
            SearchHit(title=p.title, location=p.location, snippet=_snippet(p.text), score=round(score, 4))
            for p, score in collection.search(query, max_results)
        ]


class TavilyBackend:
    """Web search through Tavily's HTTP API (needs TAVILY_API_KEY)."""

    name = "tavily"

    def __init__(
        self,
        api_key: str,
        transport: httpx.AsyncBaseTransport | None = None,
        *,
        base_url: str = TAVILY_BASE_URL,
        include_raw_content: bool = False,
    ) -> None:
        self._api_key = api_key
        self._transport = transport
        self.base_url = base_url.rstrip("/")
        self.include_raw_content = include_raw_content
        """Ask Tavily for each page's text too (`SearchHit.content`)."""

    async def search(self, query: str, max_results: int) -> list[SearchHit]:
        request = {"query": query, "max_results": max_results, "search_depth": "basic"}
        if self.include_raw_content:
            request["include_raw_content"] = True
        async with httpx.AsyncClient(
            transport=self._transport, timeout=30, verify=shared_tls_context()
        ) as client:
            response = await client.post(
                f"{self.base_url}/search", json=request, headers={"Authorization": f"Bearer {self._api_key}"}
            )
        if response.status_code in (401, 403):
            raise SearchError("Tavily rejected the API key; check TAVILY_API_KEY")
        response.raise_for_status()
        try:
            answer = response.json()
        except ValueError as error:
            # A proxy's or captive portal's page answering for Tavily: without this the search's error,
            # shown with the run, was only "JSONDecodeError: Expecting value", naming no service.
            raise SearchError(
                f"Tavily answered HTTP {response.status_code} with a body that is not JSON "
                f"({response.headers.get('content-type', 'no content type')}, {len(response.content)} bytes) "
                f"from {self.base_url}: a proxy may be answering for it; check the network and "
                "RESEARCH_TAVILY_URL"
            ) from error
        return [
            SearchHit(
                title=row.get("title", ""),
                url=row.get("url"),
                snippet=_snippet(row.get("content", "")),
                score=row.get("score"),
                content=_content(row.get("raw_content")) if self.include_raw_content else None,
            )
            for row in answer.get("results", [])[:max_results]
        ]
