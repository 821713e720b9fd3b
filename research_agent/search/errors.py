"""What a failed search raises: whether trying again can help, and how long the service asked us to wait.

Errors recorded with a DBOS step are pickled, and unpickled when a workflow is replayed, so these carry
only a message and a number (httpx's own errors need a request and a response to be rebuilt, and cannot
be). `search_failure` turns whatever a backend raised into one of them.
"""

from __future__ import annotations

import httpx

from .._retry_after import retry_after_seconds


class SearchError(Exception):
    """A search could not be carried out and trying again will not help; the message says why."""


class TransientSearchError(SearchError):
    """A search failed in a way that waiting can fix (rate limit, outage, timeout); DBOS retries it.

    Plain message and number only, so DBOS can pickle it with the step's record and unpickle it on replay
    (httpx's own errors need a request and a response to be rebuilt, and cannot be).
    """

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        """Seconds the service asked us to wait (its Retry-After), if it said."""

    def __reduce__(self) -> tuple[object, ...]:
        return type(self), (str(self), self.retry_after)


def search_failure(error: Exception) -> SearchError:
    """`error`, raised by a backend, as a picklable `SearchError` saying whether a retry can help."""
    if isinstance(error, SearchError):
        return error
    if isinstance(error, httpx.HTTPStatusError):
        status = error.response.status_code
        message = f"the search service answered HTTP {status} {error.response.reason_phrase}".rstrip()
        if status in (408, 409, 425, 429) or status >= 500:
            return TransientSearchError(message, retry_after_seconds(error.response.headers))
        return SearchError(message)
    if isinstance(error, httpx.TimeoutException):
        return TransientSearchError(f"the search service timed out ({type(error).__name__})")
    if isinstance(error, httpx.TransportError | OSError):
        return TransientSearchError(f"the search service is unreachable: {type(error).__name__}: {error}")
    return SearchError(f"{type(error).__name__}: {error}")
