"""Web search through a SearXNG instance's JSON API (`GET /search?q=...&format=json`).

SearXNG is a self-hosted metasearch engine: no key, and results from whichever engines the instance runs.
Its JSON output is off unless `json` is listed under `search.formats` in the instance's settings.yml (it
answers 403 otherwise), and an instance with its bot limiter on (`server.limiter`, meant for public
instances) may answer API clients 429.
"""

from __future__ import annotations

from typing import Any

import httpx

from ..tls import shared_tls_context
from .backends import SearchHit, _snippet
from .errors import SearchError, TransientSearchError


class SearxngBackend:
    """Web search through the SearXNG instance at `base_url` (RESEARCH_SEARXNG_URL)."""

    name = "searxng"

    def __init__(self, base_url: str, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._transport = transport

    async def search(self, query: str, max_results: int) -> list[SearchHit]:
        # HTTP errors other than 403 are left to `search_failure` (the search step), like Tavily's.
        async with httpx.AsyncClient(
            transport=self._transport, timeout=30, verify=shared_tls_context()
        ) as client:
            response = await client.get(
                f"{self.base_url}/search",
                params={"q": query, "format": "json"},
                headers={"Accept": "application/json"},
            )
        if response.status_code == 403:
            raise SearchError(
                f"the SearXNG instance at {self.base_url} refused JSON output (HTTP 403); enable it by adding "
                "`json` to `search.formats` in its settings.yml"
            )
        response.raise_for_status()
        try:
            document: Any = response.json()
        except ValueError as error:
            raise SearchError(
                f"the SearXNG instance at {self.base_url} answered with something that is not JSON "
                f"({response.headers.get('content-type', 'no content type')}); is RESEARCH_SEARXNG_URL the "
                "instance's address?"
            ) from error
        rows = document.get("results") if isinstance(document, dict) else None
        if not isinstance(rows, list):
            raise SearchError(f"the SearXNG instance at {self.base_url} answered JSON without a results list")
        hits = [
            SearchHit(
                title=str(row.get("title") or row["url"]),
                url=row["url"],
                snippet=_snippet(str(row.get("content") or "")),
                score=row["score"] if isinstance(row.get("score"), int | float) else None,
            )
            for row in rows
            if isinstance(row, dict) and isinstance(row.get("url"), str)
        ][:max_results]
        if not hits and (unresponsive := _unresponsive_engines(document)):
            # Nothing found because the engines failed, not because nothing matched: worth trying again.
            raise TransientSearchError(f"the SearXNG instance's engines did not answer: {unresponsive}")
        return hits


def _unresponsive_engines(document: dict[str, Any]) -> str:
    """SearXNG's `unresponsive_engines` ([engine, error] pairs) as 'google (timeout), ...'; '' if none."""
    entries = document.get("unresponsive_engines")
    if not isinstance(entries, list):
        return ""
    return ", ".join(
        f"{entry[0]} ({entry[1]})" if isinstance(entry, list) and len(entry) == 2 else str(entry)
        for entry in entries
    )
