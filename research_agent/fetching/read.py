"""Read one page for a query: guard, fetch, extract, rank, and a record of it whatever happened.

This is what the engine's DBOS step calls. A bad page (refused by the guard, the wrong type, a dead
server, a broken PDF) is an ordinary outcome of web research, so it comes back as a `PageRead` with its
status and reason, never as an exception; only a bug in this package propagates. Extraction and ranking
are CPU work (milliseconds to tens of milliseconds), so they run in a thread, leaving the event loop
to the run's other searches and pages.
"""

from __future__ import annotations

import asyncio

import httpx

from ..corpus._collection import tokenize
from ..schema import PageRead
from ._types import FetchedPage, FetchPolicy, PageError
from .extract import extract_text
from .fetch import fetch_page
from .passages import best_passages, split_passages


def focused(query: str, title: str) -> str:
    """`query` without the words the page's title already has: on a page about its subject, the subject's
    name is in every passage, and what singles out the answer is the rest of the query ("cost", "first
    lit"). The whole query when the title holds all of it."""
    named = set(tokenize([title])[0])
    rest = [word for word in query.split() if not set(tokenize([word])[0]) <= named]
    return " ".join(rest) if any(tokenize([" ".join(rest)])[0]) else query


def digest(page: FetchedPage, query: str, policy: FetchPolicy, k: int) -> PageRead:
    """A fetched page's record: its text, and the `k` passages that best match `query`."""
    content = extract_text(page, max_chars=policy.max_text_chars, max_pdf_pages=policy.max_pdf_pages)
    return PageRead(
        url=page.url,
        final_url=page.final_url,
        status="fetched",
        title=content.title,
        content_type=page.content_type,
        bytes_read=len(page.body),
        truncated=page.truncated,
        passages=best_passages(split_passages(content.text), focused(query, content.title), k),
        text=content.text,
    )


async def read_page(
    url: str,
    query: str,
    policy: FetchPolicy,
    k: int = 3,
    transport: httpx.AsyncBaseTransport | None = None,
) -> PageRead:
    """The page at `url` read for `query`: fetched with its best `k` passages, or refused/failed with a reason."""
    page: FetchedPage | None = None
    try:
        page = await fetch_page(url, policy=policy, transport=transport)
        return await asyncio.to_thread(digest, page, query, policy, k)
    except PageError as error:
        return PageRead(
            url=url,
            final_url=page.final_url if page else error.final_url,
            status=error.status,
            reason=error.reason,
            content_type=page.content_type if page else "",
            bytes_read=len(page.body) if page else 0,
            truncated=page.truncated if page else False,
        )
