"""The one retry layer: what is retried, how long it waits, and what a search that never succeeds becomes."""

from __future__ import annotations

import asyncio
import pickle
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from dbos._error import DBOSMaxStepRetriesExceeded
from pydantic_ai.exceptions import (
    ModelAuthenticationError,
    ModelHTTPError,
    ModelRateLimitError,
    ModelServerError,
    ModelTimeoutError,
    UnexpectedModelBehavior,
)

from research_agent import agents, faults
from research_agent._retry_after import retry_after_seconds
from research_agent.client import ResearchClient
from research_agent.options import resolve_options
from research_agent.retries import (
    MAX_RETRY_AFTER,
    describe_failure,
    is_transient,
    retry_after,
    should_retry,
)
from research_agent.runtime import worker
from research_agent.schema import Phase, SearchState
from research_agent.search import SearchError, SearchHit, TransientSearchError
from research_agent.search import step as search_step_module
from research_agent.search.errors import search_failure
from research_agent.settings import Settings

from ._process import settings_from_env

QUESTION = "Compare the economies of Chile and Peru"


def _status_error(status: int, headers: dict[str, str] | None = None) -> httpx.HTTPStatusError:
    request = httpx.Request("POST", "https://search.invalid/")
    response = httpx.Response(status, headers=headers, request=request)
    return httpx.HTTPStatusError(f"HTTP {status}", request=request, response=response)


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (ModelHTTPError.for_category(ModelRateLimitError, status_code=429, model_name="m"), True),
        (ModelHTTPError.for_category(ModelServerError, status_code=500, model_name="m"), True),
        (ModelHTTPError(503, "m"), True),
        (ModelHTTPError(400, "m"), False),
        (ModelHTTPError.for_category(ModelAuthenticationError, status_code=401, model_name="m"), False),
        (ModelTimeoutError("m", "timed out"), True),
        (UnexpectedModelBehavior("the response was empty"), True),
        (search_failure(_status_error(429)), True),
        (search_failure(_status_error(502)), True),
        (search_failure(_status_error(403)), False),
        (search_failure(httpx.ReadTimeout("slow")), True),
        (search_failure(httpx.ConnectError("refused")), True),
        (search_failure(ValueError("a bug")), False),
        (SearchError("the tavily search backend needs TAVILY_API_KEY"), False),
        (ConnectionResetError(), True),
        (KeyError("a bug"), False),
    ],
)
def test_only_what_waiting_can_fix_is_retried(error: BaseException, transient: bool):
    assert is_transient(error) is transient


def test_retry_after_is_read_from_every_form_a_service_sends():
    assert retry_after_seconds({"Retry-After": "3"}) == 3
    assert retry_after_seconds({"retry-after": "0.25"}) == 0.25
    assert retry_after_seconds({"retry-after-ms": "1500", "Retry-After": "9"}) == 1.5
    assert retry_after_seconds({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0  # in the past
    assert retry_after_seconds({"Retry-After": "soon"}) is None
    assert retry_after_seconds({"Retry-After": "nan"}) is None
    assert retry_after_seconds({}) is None
    assert retry_after(search_failure(_status_error(429, {"Retry-After": "2"}))) == 2
    model_error = ModelHTTPError.for_category(
        ModelRateLimitError, status_code=429, model_name="m", headers={"retry-after-ms": "200"}
    )
    assert retry_after(model_error) == 0.2


A_DAY = 86400
"""Seconds of a Retry-After far beyond MAX_RETRY_AFTER: obeying it would stall a run for a day."""


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The delays the retry layer asked `asyncio.sleep` for; nothing really sleeps."""
    asked: list[float] = []

    async def sleep(delay: float, result: object = None) -> object:
        asked.append(delay)
        return result

    monkeypatch.setattr(asyncio, "sleep", sleep)
    return asked


def _rate_limited(headers: dict[str, str]) -> ModelHTTPError:
    # What pydantic-ai makes of a provider SDK's RateLimitError: a 429 with the response's headers.
    return ModelHTTPError.for_category(ModelRateLimitError, status_code=429, model_name="m", headers=headers)


@pytest.mark.parametrize(
    ("error", "waited"),
    [
        (_rate_limited({"retry-after": "7"}), 7),
        (_rate_limited({"retry-after-ms": "1500"}), 1.5),
        (ModelHTTPError(503, "m", headers={"Retry-After": "7"}), 7),
        (TransientSearchError("HTTP 429", retry_after=7), 7),
        (search_failure(_status_error(429, {"Retry-After": "7"})), 7),
        (_status_error(503, {"Retry-After": "7"}), 7),
    ],
)
def test_a_retry_after_is_waited_out_before_retrying(error: BaseException, waited: float, waits: list[float]):
    assert asyncio.run(should_retry(error)) is True
    assert waits == [waited]


@pytest.mark.parametrize(
    "error",
    [
        _rate_limited({"retry-after": str(A_DAY)}),
        _rate_limited({"retry-after-ms": str(A_DAY * 1000)}),
        TransientSearchError("HTTP 429", retry_after=A_DAY),
        search_failure(_status_error(429, {"Retry-After": str(A_DAY)})),
    ],
)
def test_a_retry_after_beyond_the_cap_waits_only_the_cap(error: BaseException, waits: list[float]):
    assert asyncio.run(should_retry(error)) is True
    assert waits == [MAX_RETRY_AFTER]


@pytest.mark.parametrize(
    ("error", "retried"),
    [
        (_rate_limited({}), True),  # no Retry-After: DBOS's own backoff is the wait
        (TransientSearchError("HTTP 503"), True),
        (ModelHTTPError(400, "m", headers={"Retry-After": "7"}), False),  # permanent: never waited on
        (SearchError("HTTP 403"), False),
    ],
)
def test_without_a_retry_after_or_a_chance_nothing_is_waited(
    error: BaseException, retried: bool, waits: list[float]
):
    assert asyncio.run(should_retry(error)) is retried
    assert waits == []


def test_a_search_failure_survives_the_round_trip_through_dbos_records():
    # DBOS pickles a failed step's error (inside DBOSMaxStepRetriesExceeded) and unpickles it on replay.
    failure = search_failure(_status_error(429, {"Retry-After": "2"}))
    exhausted = DBOSMaxStepRetriesExceeded("search", 8, [failure])
    again = pickle.loads(pickle.dumps(exhausted))
    (last,) = again.errors
    assert isinstance(last, TransientSearchError) and last.retry_after == 2
    assert str(last) == "the search service answered HTTP 429 Too Many Requests"
    assert describe_failure(again) == (
        "gave up after 8 attempts: TransientSearchError: the search service answered HTTP 429 Too Many Requests"
    )


class _FlakySearch:
    """A web search backend that fails its first `failures` calls with `error`, then answers."""

    name = "duckduckgo"

    def __init__(self, failures: int, error: Exception) -> None:
        self.failures = failures
        self.error = error
        self.calls = 0

    async def search(self, query: str, max_results: int) -> list[SearchHit]:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return [SearchHit(title=query, url="https://example.org/a", snippet=f"{query}: facts")]


@pytest.fixture
def sqlite_settings(tmp_path: Path, isolated_env: dict[str, str]) -> Settings:
    return settings_from_env(
        {
            **isolated_env,
            "RESEARCH_DATABASE_URL": f"sqlite:///{tmp_path / 'retries.sqlite'}",
            "RESEARCH_MAX_SEARCHES": "1",
            "RESEARCH_MAX_EXTRA_SEARCHES": "0",
        }
    )


@pytest.fixture
def client(sqlite_settings: Settings) -> Iterator[ResearchClient]:
    with worker(sqlite_settings), ResearchClient(sqlite_settings) as research_client:
        yield research_client


def _run_with(
    client: ResearchClient, settings: Settings, backend: _FlakySearch, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(search_step_module, "backend_for", lambda name, collection, settings: backend)
    options, _ = resolve_options(settings, offline=True, search_backend="duckduckgo")
    return client.wait(client.submit(QUESTION, options), timeout=120)


def test_a_server_error_is_retried_until_the_search_succeeds(
    client: ResearchClient, sqlite_settings: Settings, monkeypatch: pytest.MonkeyPatch
):
    backend = _FlakySearch(failures=2, error=_status_error(503))
    final = _run_with(client, sqlite_settings, backend, monkeypatch)
    assert final.phase is Phase.COMPLETED, final.error
    assert backend.calls == 3 and [s.state for s in final.searches] == [SearchState.DONE]


def test_a_rejected_request_is_tried_once_and_fails_the_search_not_the_run(
    client: ResearchClient, sqlite_settings: Settings, monkeypatch: pytest.MonkeyPatch
):
    backend = _FlakySearch(failures=99, error=_status_error(403))
    final = _run_with(client, sqlite_settings, backend, monkeypatch)
    assert backend.calls == 1
    assert final.phase is Phase.COMPLETED, final.error
    (search,) = final.searches
    assert search.state is SearchState.FAILED
    assert search.error == "SearchError: the search service answered HTTP 403 Forbidden"


def test_a_search_that_used_up_its_retries_is_a_failed_search_not_a_failed_run(
    client: ResearchClient, sqlite_settings: Settings, monkeypatch: pytest.MonkeyPatch
):
    async def exhausted(*args: object, **kwargs: object) -> list[SearchHit]:
        # What the `search` step raises once all its attempts failed (waiting them out takes a minute).
        raise DBOSMaxStepRetriesExceeded("search", 8, [TransientSearchError("HTTP 429", retry_after=1.0)])

    monkeypatch.setattr(agents, "search_step", exhausted)
    options, _ = resolve_options(sqlite_settings, offline=True)
    final = client.wait(client.submit(QUESTION, options), timeout=120)
    assert final.phase is Phase.COMPLETED, final.error
    (search,) = final.searches
    assert search.state is SearchState.FAILED
    assert search.error == "gave up after 8 attempts: TransientSearchError: HTTP 429"
    assert final.report is not None and final.report.sources == []
    assert "The sources found say nothing about Chile's and Peru's real GDP" in final.report.body


@pytest.fixture
def retry_waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Sleeps of 7 s, MAX_RETRY_AFTER or a day, which only a Retry-After asks for: recorded, not slept.

    Every other sleep (DBOS's backoff, its polling) is real, so the worker runs as it always does.
    """
    real_sleep = asyncio.sleep
    asked: list[float] = []

    async def sleep(delay: float, result: object = None) -> object:
        if delay in (7, MAX_RETRY_AFTER, A_DAY):
            asked.append(delay)
            return result
        return await real_sleep(delay, result)

    monkeypatch.setattr(asyncio, "sleep", sleep)
    return asked


class _RateLimitedSearch(_FlakySearch):
    """Answers HTTP 429 with each of `retry_afters` as its Retry-After in turn, then answers."""

    def __init__(self, *retry_afters: str) -> None:
        super().__init__(failures=len(retry_afters), error=_status_error(429))
        self.errors = [_status_error(429, {"Retry-After": value}) for value in retry_afters]

    async def search(self, query: str, max_results: int) -> list[SearchHit]:
        if self.calls < len(self.errors):
            self.calls += 1
            raise self.errors[self.calls - 1]
        return await super().search(query, max_results)


def test_the_search_step_waits_out_a_retry_after_up_to_the_cap(
    client: ResearchClient,
    sqlite_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    retry_waits: list[float],
):
    backend = _RateLimitedSearch(str(A_DAY), "7")
    final = _run_with(client, sqlite_settings, backend, monkeypatch)
    assert final.phase is Phase.COMPLETED, final.error
    assert backend.calls == 3 and [s.state for s in final.searches] == [SearchState.DONE]
    assert retry_waits == [MAX_RETRY_AFTER, 7]  # the day asked for is capped; the 7 s are waited


def test_a_model_request_waits_out_a_retry_after_up_to_the_cap(
    client: ResearchClient,
    sqlite_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    retry_waits: list[float],
):
    # The analyst's first two requests are refused as a provider's SDK refuses them: 429 with Retry-After.
    refusals = [_rate_limited({"retry-after": str(A_DAY)}), _rate_limited({"retry-after": "7"})]

    async def rate_limited(model_name: str, role: str) -> bool:
        if role == "analyst" and refusals:
            raise refusals.pop(0)
        return False

    monkeypatch.setattr(faults, "before_model_request", rate_limited)
    options, _ = resolve_options(sqlite_settings, offline=True)
    final = client.wait(client.submit(QUESTION, options), timeout=120)
    assert final.phase is Phase.COMPLETED, final.error
    assert refusals == [] and final.report is not None
    assert retry_waits == [MAX_RETRY_AFTER, 7]
