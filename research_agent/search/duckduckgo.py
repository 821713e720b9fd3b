"""Web search through DuckDuckGo's HTML page (`POST https://html.duckduckgo.com/html/`), read by `ddgs`.

`ddgs` (the library behind DuckDuckGo search in most Python tools) is a metasearch library: `DDGS().text`
asks a shuffled mix of engines (Wikipedia, Bing, Google, Yandex, ... and DuckDuckGo) and, whenever an
engine answers anything but 200, quietly reports "No results found." So a backend named `duckduckgo` built
on it would send queries to engines the person did not choose, and would read DuckDuckGo's rate limit (an
HTTP 202 with a bot check, or a 403) as an empty search, which a research run then reports as "nothing
found". Here only ddgs's DuckDuckGo engine is used, for what it does well (a browser-like client, the
form DuckDuckGo expects, its parsing of the results page, dropping ads), and the answer is classified
before it is parsed: results, no results, a refusal worth waiting out, or a page that is not a results
page at all.
"""

from __future__ import annotations

import asyncio

from .backends import SearchHit, _snippet
from .errors import SearchError, TransientSearchError

DUCKDUCKGO_BASE_URL = "https://html.duckduckgo.com"
SEARCH_PATH = "/html/"
TIMEOUT_SECONDS = 10
REGION = "us-en"
"""ddgs's own default region (DuckDuckGo's `l` field)."""

_CHALLENGE_MARKERS = ("anomaly-modal", "challenge-form", "bots use duckduckgo too", "/anomaly.js")
"""What DuckDuckGo's bot check page holds; it comes with HTTP 202, 403 or even 200."""
_REFUSAL_STATUS = frozenset({202, 403, 429})
_RESULTS_PAGE_MARKERS = ('class="no-results"', "result__body", 'id="links"', "serp__results")
"""What a results page holds even when nothing was found (its `no-results` notice, its results list)."""
RATE_LIMITED = (
    "DuckDuckGo refused the search as automated traffic (HTTP {status}, its bot check); it lifts after a "
    "few minutes without searches: wait, lower RESEARCH_SEARCH_RATE_LIMIT, or set RESEARCH_SEARCH_BACKEND to "
    "searxng or tavily"
)


def _is_challenge(page: str) -> bool:
    lowered = page[:200_000].lower()
    return any(marker in lowered for marker in _CHALLENGE_MARKERS)


class DuckDuckGoBackend:
    """Web search through DuckDuckGo's HTML results page (no key needed)."""

    name = "duckduckgo"

    def __init__(self, base_url: str = DUCKDUCKGO_BASE_URL, *, timeout: int = TIMEOUT_SECONDS) -> None:
        self.url = base_url.rstrip("/") + SEARCH_PATH
        self.timeout = timeout

    async def search(self, query: str, max_results: int) -> list[SearchHit]:
        rows = await asyncio.to_thread(self._search, query)
        return [
            SearchHit(title=row["title"], url=row["href"], snippet=_snippet(row["body"]))
            for row in rows[:max_results]
        ]

    def _search(self, query: str) -> list[dict[str, str]]:
        from ddgs.engines.duckduckgo import Duckduckgo  # imports lxml and primp: only when searching
        from ddgs.exceptions import DDGSException, TimeoutException

        engine = Duckduckgo(timeout=self.timeout)
        form = engine.build_payload(query=query, region=REGION, safesearch="moderate", timelimit=None)
        try:
            response = engine.http_client.request("POST", self.url, data=form)
        except TimeoutException as error:
            raise TransientSearchError(f"DuckDuckGo did not answer within {self.timeout} s") from error
        except DDGSException as error:  # refused or dropped connections, a body cut off
            raise TransientSearchError(f"DuckDuckGo is unreachable: {error}") from error
        status, page = response.status_code, response.text or ""
        if status in _REFUSAL_STATUS:
            raise TransientSearchError(RATE_LIMITED.format(status=status))
        if status >= 500:
            raise TransientSearchError(f"DuckDuckGo answered HTTP {status}; it is having trouble, try later")
        if status != 200:
            raise SearchError(f"DuckDuckGo answered HTTP {status} to the search form at {self.url}")
        results = engine.post_extract_results(engine.extract_results(page)) if page.strip() else []
        rows = [
            {"title": result.title, "href": result.href, "body": result.body}
            for result in results
            if result.href and (result.title or result.body)
        ]
        if rows:
            return rows
        # Only a page without results is read as the bot check: a result may well quote its words.
        if _is_challenge(page):
            raise TransientSearchError(RATE_LIMITED.format(status=status))
        if not any(marker in page for marker in _RESULTS_PAGE_MARKERS):
            raise SearchError(
                f"DuckDuckGo answered a page that is not a results page ({len(page)} characters, no results "
                "list or no-results notice): its page format may have changed; upgrade ddgs "
                "(pip install -U ddgs) or set RESEARCH_SEARCH_BACKEND to searxng or tavily"
            )
        return rows
