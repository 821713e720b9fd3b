"""The one retry layer: what is retried, how long it waits, and what a search that never succeeds becomes."""

from __future__ import annotations

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

from research_agent import agents
from research_agent.client import ResearchClient, resolve_options
from research_agent.retries import describe_failure, is_transient, retry_after, retry_after_seconds
from research_agent.runtime import worker
from research_agent.schema import Phase, SearchState
from research_agent.search import SearchError, SearchHit, TransientSearchError
from research_agent.search import step as search_step_module
from research_agent.search.backends import search_failure
from research_agent.settings import Settings, get_settings

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
def sqlite_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("RESEARCH_DATABASE_URL", f"sqlite:///{tmp_path / 'retries.sqlite'}")
    monkeypatch.setenv("RESEARCH_MAX_SEARCHES", "1")
    monkeypatch.setenv("RESEARCH_MAX_EXTRA_SEARCHES", "0")
    get_settings.cache_clear()
    return get_settings()


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
