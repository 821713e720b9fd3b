"""The JSON answers of the web search APIs the local web stands in for, shaped like the real ones.

SearXNG: the shape of `searx.webutils.get_json_response` (github.com/searxng/searxng, read at commit
9fea412, August 2026): `query`, `results`, `answers`, `corrections`, `infoboxes`, `suggestions`,
`unresponsive_engines`. Each result is a legacy result's `as_dict()` (`searx/result_types/_base.py`): `url`,
`title`, `content`, `engine`, `engines`, `template`, `parsed_url` (the six parts of `urlparse`),
`img_src`, `thumbnail`, `priority`, `positions`, `score`, `category`, `publishedDate`. `number_of_results`
is kept, as releases before May 2026 send it (searxng commit dd27fce dropped it); clients must not need it.

Tavily: `POST /search` with `query`, `max_results`, `search_depth`, `include_answer`,
`include_raw_content`, answered with `query`, `follow_up_questions`, `answer`, `images`, `results`
(`title`, `url`, `content`, `score` from 0 to 1, `raw_content`: null unless asked for) and `response_time`
(Tavily's API reference and its Python client; `request_id` as newer responses carry it).
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlparse

from .site import Page

ENGINE = "localweb"
SEARXNG_PAGE_SIZE = 10
"""Results on one SearXNG page (`pageno`); the real number depends on the instance's engines."""
TAVILY_DEPTHS = ("basic", "advanced", "fast", "ultra-fast")

Hit = tuple[str, Page, float]
"""A search hit: the page's URL on the server, the page, its score."""


def searxng_answer(query: str, hits: Sequence[Hit], total: int) -> dict[str, object]:
    """SearXNG's JSON answer with `hits` (one page of them); `total` is how many matched in all."""
    results = [
        {
            "url": url,
            "title": page.title,
            "content": page.snippet,
            "engine": ENGINE,
            "template": "default.html",
            "parsed_url": list(urlparse(url)),
            "img_src": "",
            "thumbnail": "",
            "priority": "",
            "engines": [ENGINE],
            "positions": [position],
            "score": score,
            "category": "general",
            "publishedDate": None,
        }
        for position, (url, page, score) in enumerate(hits, start=1)
    ]
    return {
        "query": query,
        "number_of_results": total,
        "results": results,
        "answers": [],
        "corrections": [],
        "infoboxes": [],
        "suggestions": [],
        "unresponsive_engines": [],
    }


def tavily_answer(
    query: str,
    hits: Sequence[Hit],
    *,
    include_answer: bool,
    include_raw_content: bool,
    response_time: float,
    request_id: str,
) -> dict[str, object]:
    """Tavily's JSON answer with `hits`; scores scaled to 0-1, raw content (the page's text) if asked."""
    best = max((score for _, _, score in hits), default=1.0) or 1.0
    results = [
        {
            "title": page.title,
            "url": url,
            "content": page.snippet,
            "score": round(score / best, 4),
            "raw_content": (page.text or None) if include_raw_content else None,
        }
        for url, page, score in hits
    ]
    return {
        "query": query,
        "follow_up_questions": None,
        # Tavily writes an answer with a model; the stand-in offers the best hit's snippet.
        "answer": hits[0][1].snippet if include_answer and hits else None,
        "images": [],
        "results": results,
        "response_time": round(response_time, 3),
        "request_id": request_id,
    }
