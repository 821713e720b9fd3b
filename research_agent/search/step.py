"""The DBOS step through which every search runs, so a finished search is never run again."""

from __future__ import annotations

import logfire
from dbos import DBOS

from .. import engine_settings
from .._audit import record_execution
from ..domains import domain_allowed
from ..faults import with_faults
from ..retries import STEP_RETRIES
from ..settings import Settings
from .backends import CorpusBackend, SearchBackend, SearchHit, TavilyBackend
from .duckduckgo import DuckDuckGoBackend
from .errors import SearchError, search_failure
from .searxng import SearxngBackend


def backend_for(name: str, collection: str, settings: Settings) -> SearchBackend:
    """The backend called `name`; `collection` is the corpus collection for the corpus backend."""
    if name == "corpus":
        return CorpusBackend(collection, settings.indexes)
    if name == "duckduckgo":
        return DuckDuckGoBackend(settings.duckduckgo_url)
    if name == "tavily":
        key = settings.secret("tavily_api_key")
        if key is None:
            raise SearchError(
                "the tavily search backend needs TAVILY_API_KEY; set it or choose another backend"
            )
        # Tavily's own text of each page saves reading it again (when it reads pages at all).
        return TavilyBackend(key, base_url=settings.tavily_url, include_raw_content=settings.read_pages > 0)
    if name == "searxng":
        if not settings.searxng_url:
            raise SearchError(
                "the searxng backend needs RESEARCH_SEARXNG_URL (your SearXNG instance's address, e.g. "
                "http://localhost:8080); set it or choose another backend"
            )
        return SearxngBackend(settings.searxng_url)
    raise SearchError(f"unknown search backend {name!r}; choose corpus, duckduckgo, tavily or searxng")


@DBOS.step(name="search", **STEP_RETRIES)
async def search_step(
    backend: str,
    collection: str,
    query: str,
    max_results: int,
    allow_domains: list[str] | None = None,
    deny_domains: list[str] | None = None,
) -> list[SearchHit]:
    """Run one search with `backend`; retried with backoff (retries.py), checkpointed once it succeeds.

    Results outside the domain lists, or whose link is not a plain http(s) address, are dropped here, so no
    later step, prompt or report ever sees them.
    """
    settings = engine_settings.current()
    search_backend = with_faults(backend_for(backend, collection, settings), settings)
    record_execution("search", "start", backend=backend, query=query)
    try:
        hits = await search_backend.search(query, max_results)
    except Exception as error:
        # Recorded (pickled) with the step by DBOS: our own error types, which unpickle on replay.
        failure = search_failure(error)
        logfire.warn("search failed: {error}", backend=backend, query=query, error=str(failure))
        raise failure from error
    # With or without lists: a link that is not a plain http(s) address (javascript:, file:, a user name
    # or password in it) is no source, and would be one click away in the UI.
    hits = [h for h in hits if domain_allowed(h.url, allow_domains or [], deny_domains or [])]
    logfire.info("search found {hits} results", backend=backend, query=query, hits=len(hits))
    record_execution("search", "end", backend=backend, query=query, hits=len(hits))
    return hits
