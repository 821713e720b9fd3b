"""Finish now, retry what failed, rewrite without re-searching, budgets and deadlines, through a real
in-process worker. That each survives a SIGKILL is in test_crash_controls.py."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from research_agent.client import ResearchClient
from research_agent.options import InputError, resolve_options
from research_agent.runtime import worker
from research_agent.schema import Phase, ResearchStatus, SearchState
from research_agent.search.backends import CorpusBackend, SearchHit
from research_agent.search.errors import SearchError
from research_agent.settings import Settings

from ._process import wait_until
from .test_controls import QUESTION


def _executions(path: Path, **match: object) -> list[dict[str, object]]:
    """Finished real executions (model requests and searches) in the execution log."""
    if not path.exists():
        return []
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    return [r for r in rows if r["stage"] == "end" and all(r.get(k) == v for k, v in match.items())]


@pytest.fixture
def log(tmp_path: Path) -> Path:
    return tmp_path / "executions.jsonl"


@pytest.fixture
def paced(settings: Settings, log: Path) -> Iterator[ResearchClient]:
    """A worker whose searches run one at a time, each model request taking 0.3 s: a run can be caught mid-search."""
    paced = settings.model_copy(
        update={"search_concurrency": 1, "offline_delay": 0.3, "finish_grace": 0.5, "execution_log": log}
    )
    with worker(paced), ResearchClient(paced) as client:
        yield client


@pytest.fixture
def quick(settings: Settings, log: Path) -> Iterator[ResearchClient]:
    quick = settings.model_copy(update={"execution_log": log})
    with worker(quick), ResearchClient(quick) as client:
        yield client


def _searching(status: ResearchStatus) -> bool:
    return status.phase is Phase.SEARCHING and any(s.state is SearchState.DONE for s in status.searches)


class SearchGate:
    """Holds one corpus search back: the first `passing` go through, the next waits until `opened`, and
    any after it (an analyst's extra searches) go through again.

    A run can then be told to finish while a known search is still running, however slow the machine.
    """

    def __init__(self) -> None:
        self.passing = 0
        self.calls = 0
        self.waiting = threading.Event()
        """Set once a search waits at the gate."""
        self.opened = threading.Event()


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> Iterator[SearchGate]:
    real_search = CorpusBackend.search
    gate = SearchGate()

    async def gated(self: CorpusBackend, query: str, max_results: int) -> list[SearchHit]:
        gate.calls += 1  # every search runs on the worker's one event loop: no lock needed
        if gate.calls == gate.passing + 1:
            gate.waiting.set()
            await asyncio.to_thread(gate.opened.wait, 120)
        return await real_search(self, query, max_results)

    monkeypatch.setattr(CorpusBackend, "search", gated)
    yield gate
    gate.opened.set()  # before the worker stops: a held search ends, then finds its workflow cancelled


# --- finish now -------------------------------------------------------------------------------------------


def test_finish_keeps_done_searches_skips_the_rest_and_writes_the_report(
    paced: ResearchClient, gate: SearchGate
):
    # The first search finishes; the second is held at the gate, running, while the run is told to finish.
    gate.passing = 1
    options, _ = resolve_options(paced.settings, offline=True)
    run_id = paced.submit(QUESTION, options, run_id="finish-me")
    wait_until(paced, run_id, _searching)
    assert gate.waiting.wait(120), "the second search never called its backend"
    paced.finish(run_id)
    paced.finish(run_id)  # the same request twice is one request
    final = paced.wait(run_id, timeout=120)

    assert final.phase is Phase.COMPLETED, final.error
    assert final.stopped_early == "finish requested"
    planned = [s for s in final.searches if not s.extra]
    assert [(s.state, s.error) for s in planned] == [
        (SearchState.DONE, None),
        (SearchState.SKIPPED, "skipped: still running 0.5 s after finish requested"),
        (SearchState.SKIPPED, "skipped: finish requested before it started"),
        (SearchState.SKIPPED, "skipped: finish requested before it started"),
    ]
    report = final.report
    assert report is not None and final.citations is not None and final.citations.clean
    assert f"**Gaps:** 3 of {len(planned)} planned searches are missing" in report.body
    for search in planned[1:]:
        assert f"“{search.query}”: skipped" in report.body
    with pytest.raises(InputError, match="is COMPLETED, not searching; `retry` reruns"):
        paced.finish(run_id)


def test_finish_gives_a_running_search_its_grace_period(settings: Settings, log: Path, gate: SearchGate):
    # The first search is held at the gate, running, for longer than the grace period of 0.2 s: it is stopped.
    held = settings.model_copy(update={"search_concurrency": 1, "finish_grace": 0.2, "execution_log": log})
    with worker(held), ResearchClient(held) as client:
        options, _ = resolve_options(held, offline=True)
        run_id = client.submit(QUESTION, options, run_id="grace")
        assert gate.waiting.wait(120), "the first search never called its backend"
        client.finish(run_id)
        final = client.wait(run_id, timeout=120)
        gate.opened.set()
    assert final.phase is Phase.COMPLETED, final.error
    assert [(s.state, s.error) for s in final.searches if not s.extra] == [
        (SearchState.SKIPPED, "skipped: still running 0.2 s after finish requested"),
        *[(SearchState.SKIPPED, "skipped: finish requested before it started")] * 3,
    ]
    assert final.report is not None and final.report.title  # written from nothing, saying so


def test_only_a_searching_run_can_be_finished(quick: ResearchClient):
    options, _ = resolve_options(quick.settings, offline=True, review_plan=True)
    run_id = quick.submit(QUESTION, options, run_id="not-yet")
    wait_until(quick, run_id, lambda s: s.phase is Phase.AWAITING_APPROVAL)
    with pytest.raises(InputError, match="is AWAITING_APPROVAL, not searching; `cancel` stops"):
        quick.finish(run_id)
    quick.reject(run_id)


# --- retry ------------------------------------------------------------------------------------------------


def test_retry_reruns_only_the_failed_searches_then_the_analysis(
    quick: ResearchClient, monkeypatch: pytest.MonkeyPatch, log: Path
):
    real_search = CorpusBackend.search

    async def peru_is_down(self: CorpusBackend, query: str, max_results: int) -> list[SearchHit]:
        if "Peru" in query:
            raise SearchError("the Peru index is unreachable")
        return await real_search(self, query, max_results)

    monkeypatch.setattr(CorpusBackend, "search", peru_is_down)
    options, _ = resolve_options(quick.settings, offline=True)
    first = quick.wait(quick.submit(QUESTION, options, run_id="flaky"), timeout=180)
    assert first.phase is Phase.COMPLETED, first.error  # a failed search does not fail the run
    failed = [s for s in first.searches if not s.extra and s.state is SearchState.FAILED]
    assert failed and all("unreachable" in (s.error or "") for s in failed)
    assert first.report is not None and f"“{failed[0].query}”: failed" in first.report.body

    monkeypatch.setattr(CorpusBackend, "search", real_search)  # the index is back
    before = _executions(log, kind="search")
    retried = quick.retry("flaky")
    second = quick.wait(retried, timeout=180)
    searched = [str(e["query"]) for e in _executions(log, kind="search")[len(before) :]]

    assert second.phase is Phase.COMPLETED, second.error
    assert second.forked_from == "flaky" and retried in quick.status("flaky").forks
    assert [s.state for s in second.searches if not s.extra] == [SearchState.DONE] * 4
    assert sorted(searched) == sorted(s.query for s in failed)  # the others were reused, not run again
    assert second.report is not None and "**Gaps:**" not in second.report.body
    with pytest.raises(InputError, match="no failed or skipped search to retry"):
        quick.retry(retried)


# --- rewrite ----------------------------------------------------------------------------------------------


def test_rewrite_writes_a_new_report_from_the_same_results(quick: ResearchClient, log: Path):
    options, _ = resolve_options(quick.settings, offline=True)
    options.max_searches = 2  # a plan for two of the three countries: the analyst searches for the third
    original = quick.wait(
        quick.submit("Compare the economies of Chile, Peru and Bolivia", options), timeout=120
    )
    assert original.phase is Phase.COMPLETED and any(s.extra for s in original.searches)
    before = _executions(log)

    rewritten = quick.rewrite(original.run_id, instructions="Focus on exports.")
    second = quick.wait(rewritten, timeout=120)
    after = _executions(log)[len(before) :]

    assert second.phase is Phase.COMPLETED, second.error
    assert [e["kind"] for e in after] == ["model"]  # one analyst request; no search ran again
    assert after[0]["workflow_id"] == f"{rewritten}-analyze"
    assert second.rewrite is not None and second.rewrite.original_run_id == original.run_id
    assert second.rewrite.instructions == "Focus on exports."
    assert second.forked_from == original.run_id
    assert [s.query for s in second.searches] == [s.query for s in original.searches]  # extras reused too
    assert second.citations is not None and second.citations.clean
    assert quick.status(original.run_id).report == original.report  # the original stays as it was
    assert quick.status(original.run_id).forks == [rewritten]


def test_rewrite_refuses_what_it_cannot_do(quick: ResearchClient):
    options, _ = resolve_options(quick.settings, offline=True)
    run_id = quick.submit(QUESTION, options, run_id="to-rewrite")
    quick.wait(run_id, timeout=120)
    with pytest.raises(InputError, match="--instructions is empty"):
        quick.rewrite(run_id, instructions="  ")
    with pytest.raises(InputError, match="--instructions are 4001 characters long, over the limit of 4000"):
        quick.rewrite(run_id, instructions="x" * 4001)
    with pytest.raises(InputError, match="--analyst-model must be provider:model in at most 200 characters"):
        quick.rewrite(run_id, analyst_model="openai:" + "x" * 300)
    with pytest.raises(InputError, match="ANTHROPIC_API_KEY"):
        quick.rewrite(run_id, analyst_model="anthropic:claude-sonnet-4-5")


# --- budgets and deadlines --------------------------------------------------------------------------------


def test_a_request_budget_is_shared_out_and_never_exceeded(quick: ResearchClient):
    # 1 planner request leaves 9: each of 4 searches may spend 9 // 5 = 1, too few for its 2 requests; the
    # failed ones' requests count, so the analyst's extra searches get too little to find anything either.
    options, _ = resolve_options(quick.settings, offline=True, max_requests=10)
    final = quick.wait(quick.submit(QUESTION, options, run_id="budget"), timeout=120)
    assert final.phase is Phase.COMPLETED, final.error
    assert final.usage.requests <= 10
    assert final.stopped_early == "the budget (9 model requests after planning) ran out during the searches"
    planned = [s for s in final.searches if not s.extra]
    assert all(s.state is SearchState.FAILED and "UsageLimitExceeded" in (s.error or "") for s in planned)
    assert final.report is not None and "**Gaps:** 4 of 4 planned searches" in final.report.body
    assert all(s.state is SearchState.FAILED for s in final.searches)
    assert final.citations is not None and final.citations.cited == 0  # nothing cited, nothing invented

    # Twice the budget pays for every search (2 requests each) and the report.
    options, _ = resolve_options(quick.settings, offline=True, max_requests=20)
    final = quick.wait(quick.submit(QUESTION, options, run_id="enough"), timeout=120)
    assert final.phase is Phase.COMPLETED and final.stopped_early is None
    assert final.usage.requests <= 20 and final.citations is not None and final.citations.clean


def test_a_budget_too_small_for_the_planner_is_reported_not_raised(quick: ResearchClient):
    options, _ = resolve_options(quick.settings, offline=True, max_tokens=10)
    final = quick.wait(quick.submit(QUESTION, options, run_id="tiny"), timeout=120)
    assert final.phase is Phase.COMPLETED, final.error
    assert final.stopped_early is not None and "exceeded the budget" in final.stopped_early
    assert final.report is not None and final.report.title.startswith("Partial report")


def test_a_deadline_stops_the_searches_and_reports_what_was_found(settings: Settings, log: Path):
    # Requests of 2 s, one search at a time: the run needs some 20 s, and its deadline is 3 s.
    slow = settings.model_copy(update={"search_concurrency": 1, "offline_delay": 2.0, "execution_log": log})
    with worker(slow), ResearchClient(slow) as client:
        options, _ = resolve_options(slow, offline=True, deadline=3)
        final = client.wait(client.submit(QUESTION, options, run_id="late"), timeout=120)
    assert final.phase is Phase.COMPLETED, final.error
    assert final.stopped_early is not None and "deadline" in final.stopped_early
    assert final.deadline_at is not None and final.updated_at is not None
    # Stopped at the deadline, not when the searches would have ended (15 s later at the earliest).
    assert (final.updated_at - final.deadline_at).total_seconds() < 10
    skipped = [s for s in final.searches if s.state is SearchState.SKIPPED]
    assert skipped and {s.error for s in skipped} == {"skipped: the deadline passed before it ended"}
    assert SearchState.DONE not in {s.state for s in final.searches}
    assert final.report is not None and final.report.title.startswith("Partial report")


@pytest.mark.parametrize("flag", ["max_requests", "max_tokens", "deadline"])
def test_limits_must_be_positive(settings: Settings, flag: str):
    limit: dict[str, Any] = {flag: 0}
    with pytest.raises(InputError, match="must be above 0"):
        resolve_options(settings, offline=True, **limit)
