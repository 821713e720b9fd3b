"""Reading the pages a web search found, one recorded DBOS step per page.

A search's best results are read after it returns: each page in its own `read_page` step, so a worker
killed mid-way never reads a page twice once its step is recorded, and a replay reuses what was read. The
step never fails for a bad page (refused, unreachable, junk): that is an ordinary outcome, recorded with
its reason, and the research goes on with the result's snippet. Pages are read one after another within a
search; how many searches (and so pages) are read at once is the `search` queue's limit.

When the search service already returned the page's text (Tavily's raw content), that text is used and the
page is not fetched again.
"""

from __future__ import annotations

import asyncio

from dbos import DBOS

from .. import engine_settings
from .._audit import record_execution
from ..fetching import FetchPolicy, read_page
from ..fetching.passages import best_passages, split_passages
from ..fetching.read import focused
from ..schema import PageRead
from ..settings import Settings
from .backends import SearchHit
from .native import NativeResult, resolve_redirects


def fetch_policy(settings: Settings) -> FetchPolicy:
    """The limits pages are read under, from the settings.

    No host is trusted here: the endpoints a user configures (a SearXNG instance, a model server) are
    called directly by their backends, never through the page reader, so a search result pointing into
    the same machine or network is refused like any other unless RESEARCH_ALLOW_PRIVATE_URLS is set.
    """
    return FetchPolicy(
        deadline=settings.page_timeout,
        read_timeout=min(10.0, settings.page_timeout),
        max_bytes=settings.page_max_bytes,
        allow_private=settings.allow_private_urls,
    )


def _from_content(hit: SearchHit, query: str, policy: FetchPolicy, k: int) -> PageRead:
    text = hit.content or ""
    return PageRead(
        url=hit.url or "",
        final_url=hit.url or "",
        status="fetched",
        title=hit.title,
        content_type="text/plain",
        bytes_read=len(text.encode()),
        passages=best_passages(split_passages(text), focused(query, hit.title), k),
        text=text[: policy.max_text_chars],
        source="search service",
    )


@DBOS.step(name="read_page")
async def read_page_step(hit: SearchHit, query: str) -> PageRead:
    """Read `hit`'s page for `query` (or digest the text the search service gave), recorded once."""
    settings = engine_settings.current()
    policy = fetch_policy(settings)
    record_execution("page", "start", url=hit.url)
    if hit.content:
        page = await asyncio.to_thread(_from_content, hit, query, policy, settings.passages_per_page)
    else:
        page = await read_page(hit.url or "", query, policy, k=settings.passages_per_page)
    record_execution("page", "end", url=hit.url, status=page.status)
    return page


async def read_pages(hits: list[SearchHit], query: str, count: int) -> list[PageRead]:
    """The first `count` web results of a search, each read in its own step, in result order."""
    pages = []
    for hit in [hit for hit in hits if hit.url][:count]:
        pages.append(await read_page_step(hit, query))
    return pages


def with_passages(hits: list[SearchHit], pages: list[PageRead]) -> list[SearchHit]:
    """The hits as the search model sees them: a page read gives its result the page's own title and the
    passages that answer the query."""
    read = {page.url: page for page in pages if page.status == "fetched" and page.passages}
    return [
        hit.model_copy(update={"title": read[hit.url].title or hit.title, "passages": read[hit.url].passages})
        if hit.url in read
        else hit
        for hit in hits
    ]


@DBOS.step(name="resolve_redirects")
async def resolve_redirects_step(results: list[NativeResult]) -> list[NativeResult]:
    """Resolve the redirect links a provider's web search returned (Gemini's), recorded once; a link that
    cannot be resolved safely stays as it was, matched by its domain."""
    return await resolve_redirects(results, fetch_policy(engine_settings.current()))
