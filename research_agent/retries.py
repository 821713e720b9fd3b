"""The one retry layer: DBOS step retries for model requests and searches, honouring Retry-After.

Provider SDKs never retry (models.py switches their retries off). A model request or a search that fails
is retried by DBOS, as a step, with exponential backoff. Before each retry `should_retry` decides whether
waiting can help at all (a rate limit, a server error, a timeout, a dropped connection: yes; a rejected
key, a bad request, a bug: no, so those fail at once), and when the provider said how long to wait
(`Retry-After`, `retry-after-ms`) it waits that long first, so the next attempt never comes sooner than
asked. Only a step that succeeds is checkpointed, so a retried request is never recorded twice.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from dbos import error as dbos_error
from pydantic_ai.exceptions import UsageLimitExceeded

from ._retry_after import retry_after_seconds
from .search.errors import SearchError, TransientSearchError

MAX_ATTEMPTS = 8
"""Attempts per step: at a 22% failure rate on every call, one step in ~200,000 still fails."""
INTERVAL_SECONDS = 0.5
BACKOFF_RATE = 2.0
"""DBOS waits 0.5, 1, 2, ... 32 s between attempts: about a minute in all before a step gives up."""
MAX_RETRY_AFTER = 300.0
"""The longest `Retry-After` obeyed; a provider asking for longer gets the step's own backoff."""

_TRANSIENT_STATUS = frozenset({408, 409, 425, 429})


def _transient_status(status: int) -> bool:
    return status in _TRANSIENT_STATUS or status >= 500


def retry_after(error: BaseException) -> float | None:
    """How long the service that raised `error` asked us to wait, if it said."""
    from pydantic_ai.exceptions import (
        ModelAPIError,  # pydantic-ai takes a second to import; clients never need it
    )

    if isinstance(error, ModelAPIError):
        return error.retry_after
    if isinstance(error, TransientSearchError):
        return error.retry_after
    if isinstance(error, httpx.HTTPStatusError):
        return retry_after_seconds(error.response.headers)
    return None


def is_transient(error: BaseException) -> bool:
    """Whether trying the same call again later can succeed."""
    from pydantic_ai.exceptions import (
        ContentFilterError,
        ModelAPIError,
        ModelHTTPError,
        ModelQuotaExceededError,
        ModelRequestRejectedError,
        UnexpectedModelBehavior,
    )

    if isinstance(error, ModelQuotaExceededError | ModelRequestRejectedError | ContentFilterError):
        return False  # a rejected key, a bad request, exhausted credit: the same request fails again
    if isinstance(error, ModelHTTPError):
        return _transient_status(error.status_code)
    if isinstance(error, ModelAPIError | UnexpectedModelBehavior):
        return True  # rate limits, outages, timeouts, dropped connections, garbled responses
    if isinstance(error, TransientSearchError):
        return True
    if isinstance(error, SearchError):
        return False
    if isinstance(error, httpx.HTTPStatusError):
        return _transient_status(error.response.status_code)
    # A hung call cut off by a step timeout, or the network failing under a client library.
    return isinstance(error, dbos_error.DBOSStepTimeoutError | httpx.TransportError | OSError)


async def should_retry(error: BaseException) -> bool:
    """DBOS's `should_retry`: give up on permanent errors; wait out a `Retry-After` before retrying."""
    if not is_transient(error):
        return False
    delay = retry_after(error)
    if delay:
        # DBOS sleeps its own backoff after this returns, so the next attempt comes no sooner than asked.
        await asyncio.sleep(min(delay, MAX_RETRY_AFTER))
    return True


STEP_RETRIES: dict[str, Any] = {
    "retries_allowed": True,
    "max_attempts": MAX_ATTEMPTS,
    "interval_seconds": INTERVAL_SECONDS,
    "backoff_rate": BACKOFF_RATE,
    "should_retry": should_retry,
}
"""`DBOS.step` options of every model request and search step."""


def describe_failure(error: BaseException) -> str:
    """One line for a run's or a search's error: what failed, and after how many attempts."""
    if isinstance(error, dbos_error.DBOSMaxStepRetriesExceeded) and error.errors:
        last = error.errors[-1]
        return f"gave up after {error.max_retries} attempts: {type(last).__name__}: {last}"
    if isinstance(error, UsageLimitExceeded):  # pydantic-ai's message goes on with advice and a link
        return f"{type(error).__name__}: {str(error).split('. ')[0]}"
    return f"{type(error).__name__}: {error}"
