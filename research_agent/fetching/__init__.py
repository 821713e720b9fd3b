"""Reading the web pages a search found: safely, within limits, down to the passages that answer a query.

`read_page(url, query, policy)` is the one call the engine makes (from a DBOS step): it checks the URL
against SSRF rules (`guard`), downloads the page within the `FetchPolicy`'s time and size limits
(`fetch`), takes its main text (`extract`) and keeps the passages that best match the query
(`passages`). It returns a `PageRead` whatever happens, refused or failed pages included, with the reason.
"""

from ..schema import PageRead, PageStatus
from ._types import FetchedPage, FetchPolicy, PageError, PageFailed, PageRefused
from .extract import PageText, extract_text
from .fetch import fetch_page
from .guard import CheckedUrl, UrlRefused, check_url, forbidden_reason
from .passages import best_passages, split_passages
from .read import read_page

__all__ = [
    "CheckedUrl",
    "FetchPolicy",
    "FetchedPage",
    "PageError",
    "PageFailed",
    "PageRead",
    "PageRefused",
    "PageStatus",
    "PageText",
    "UrlRefused",
    "best_passages",
    "check_url",
    "extract_text",
    "fetch_page",
    "forbidden_reason",
    "read_page",
    "split_passages",
]
