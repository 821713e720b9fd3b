"""Each control of a running run survives a real SIGKILL of the worker that runs it.

Same method as test_crash.py: a worker subprocess runs an offline research with paced model requests, the
test kills it at a point read from the run's status or the execution log, starts a new worker, and counts
the `end` lines of the execution log to show that no finished model request or search ran twice.
"""

from __future__ import annotations

import subprocess
from datetime import timedelta
from pathlib import Path

import pytest

from research_agent.client import ResearchClient
from research_agent.options import resolve_options
from research_agent.schema import Phase, ResearchPlan, SearchState, SearchStep
from research_agent.settings import Settings

from ._process import (
    WEB_STUB_COMMAND,
    finished_executions,
    kill,
    poll,
    read_executions,
    settings_from_env,
    start_worker,
)
from .test_controls import awaiting, wait_until
from .test_crash import assert_nothing_ran_twice

pytestmark = pytest.mark.crash
QUESTION = "Compare the economies of Chile and Peru"


@pytest.fixture
def crash_settings(crash_env: dict[str, str]) -> Settings:
    return settings_from_env(crash_env)


def test_a_plan_awaiting_approval_survives_a_kill_and_takes_a_decision_sent_while_no_worker_runs(
    crash_env: dict[str, str], crash_settings: Settings, tmp_path: Path, workers: list[subprocess.Popen[str]]
):
    workers.append(start_worker(crash_env, tmp_path))
    with ResearchClient(crash_settings) as client:
        options, _ = resolve_options(crash_settings, review_plan=True)
        run_id = client.submit(QUESTION, options, run_id="crash-review")
        waiting = wait_until(client, run_id, awaiting)
        kill(workers[0])
        assert waiting.plan is not None
        edited = ResearchPlan(
            search_steps=[*waiting.plan.search_steps[:1], SearchStep(query="Peru exports", rationale="")],
            analysis_instructions=waiting.plan.analysis_instructions,
        )
        client.approve(run_id, edited)  # no worker is alive: the decision waits in the database
        workers.append(start_worker(crash_env, tmp_path))
        final = client.wait(run_id, timeout=120)
    assert final.phase is Phase.COMPLETED, final.error
    assert final.plan == edited and final.plan_review == "edited"
    executions = read_executions(crash_env)
    assert_nothing_ran_twice(executions, workers[0].pid)
    finished = finished_executions(executions)
    planner = [e for e in finished if e.get("role") == "planner"]
    assert [e["pid"] for e in planner] == [workers[0].pid]  # planned once, before the kill
    searches = [e for e in finished if e["kind"] == "search"]
    assert sorted(str(e["workflow_id"]) for e in searches) == [f"{run_id}-search-1", f"{run_id}-search-2"]
    assert {e["pid"] for e in searches} == {workers[1].pid}


def _started(executions: list[dict[str, object]], **match: object) -> bool:
    return any(e["stage"] == "start" and all(e.get(k) == v for k, v in match.items()) for e in executions)


def test_finish_sent_while_the_worker_is_dead_is_obeyed_after_the_restart(
    crash_env: dict[str, str], tmp_path: Path, workers: list[subprocess.Popen[str]]
):
    env = {**crash_env, "RESEARCH_SEARCH_CONCURRENCY": "1", "RESEARCH_FINISH_GRACE": "0.5"}
    settings = settings_from_env(env)
    workers.append(start_worker(env, tmp_path))
    with ResearchClient(settings) as client:
        options, _ = resolve_options(settings)
        run_id = client.submit(QUESTION, options, run_id="crash-finish")
        wait_until(client, run_id, lambda s: any(x.state is SearchState.DONE for x in s.searches))
        kill(workers[0])
        client.finish(run_id)  # read by the run's control workflow once it is recovered
        workers.append(start_worker(env, tmp_path))
        final = client.wait(run_id, timeout=120)
    assert final.phase is Phase.COMPLETED, final.error
    assert final.stopped_early == "finish requested"
    states = [s.state for s in final.searches if not s.extra]
    assert SearchState.DONE in states and SearchState.SKIPPED in states
    assert final.report is not None and "**Gaps:**" in final.report.body
    assert final.citations is not None and final.citations.clean
    executions = read_executions(env)
    assert_nothing_ran_twice(executions, workers[0].pid)
    searched = {e["workflow_id"] for e in finished_executions(executions) if e["kind"] == "search"}
    skipped = {f"{run_id}-search-{s.index}" for s in final.searches if s.state is SearchState.SKIPPED}
    assert not searched & skipped  # a skipped search never finished a search


def test_retry_killed_midway_reruns_each_missing_search_once(
    crash_env: dict[str, str], tmp_path: Path, workers: list[subprocess.Popen[str]]
):
    env = {**crash_env, "RESEARCH_SEARCH_CONCURRENCY": "1", "RESEARCH_FINISH_GRACE": "0"}
    settings = settings_from_env(env)
    workers.append(start_worker(env, tmp_path))
    with ResearchClient(settings) as client:
        options, _ = resolve_options(settings)
        run_id = client.submit(QUESTION, options, run_id="crash-retry")
        wait_until(client, run_id, lambda s: any(x.state is SearchState.DONE for x in s.searches))
        client.finish(run_id)  # leaves searches skipped: the ones a retry runs
        first = client.wait(run_id, timeout=120)
        missing = [s.index for s in first.searches if s.state is SearchState.SKIPPED]
        assert missing
        retried = client.retry(run_id)
        poll(
            lambda: _started(
                read_executions(env), kind="model", workflow_id=f"{retried}-search-{missing[0]}"
            ),
            timeout=120,
            what="the retried search's first request",
            interval=0.02,
        )
        kill(workers[0])
        workers.append(start_worker(env, tmp_path))
        final = client.wait(retried, timeout=120)
    assert final.phase is Phase.COMPLETED, final.error
    assert [s.state for s in final.searches if not s.extra] == [SearchState.DONE] * len(
        first.plan.search_steps
    )  # type: ignore[union-attr]
    executions = read_executions(env)
    assert_nothing_ran_twice(executions, workers[0].pid)
    searched = [str(e["workflow_id"]) for e in finished_executions(executions) if e["kind"] == "search"]
    assert sorted(w for w in searched if w.startswith(retried)) == sorted(
        f"{retried}-search-{i}" for i in missing
    )


def test_rewrite_killed_during_the_analysis_finishes_without_searching(
    crash_env: dict[str, str], tmp_path: Path, workers: list[subprocess.Popen[str]]
):
    settings = settings_from_env(crash_env)
    workers.append(start_worker(crash_env, tmp_path))
    with ResearchClient(settings) as client:
        options, _ = resolve_options(settings)
        original = client.wait(client.submit(QUESTION, options, run_id="crash-rewrite"), timeout=120)
        searches_before = [
            e for e in finished_executions(read_executions(crash_env)) if e["kind"] == "search"
        ]
        rewritten = client.rewrite(original.run_id, instructions="Only growth rates.")
        poll(
            lambda: _started(read_executions(crash_env), kind="model", workflow_id=f"{rewritten}-analyze"),
            timeout=120,
            what="the rewrite's analyst request",
            interval=0.02,
        )
        kill(workers[0])
        workers.append(start_worker(crash_env, tmp_path))
        final = client.wait(rewritten, timeout=120)
    assert final.phase is Phase.COMPLETED, final.error
    assert final.rewrite is not None and final.rewrite.original_run_id == original.run_id
    executions = read_executions(crash_env)
    assert_nothing_ran_twice(executions, workers[0].pid)
    finished = finished_executions(executions)
    assert [e for e in finished if e["kind"] == "search"] == searches_before  # no search ran again
    rewrite_requests = [e for e in finished if e["workflow_id"] == f"{rewritten}-analyze"]
    assert [e["pid"] for e in rewrite_requests] == [workers[1].pid]


def test_budget_and_deadline_are_not_renewed_by_a_restart(
    crash_env: dict[str, str], tmp_path: Path, workers: list[subprocess.Popen[str]]
):
    env = {**crash_env, "RESEARCH_SEARCH_CONCURRENCY": "1", "RESEARCH_OFFLINE_DELAY": "0.5"}
    settings = settings_from_env(env)
    workers.append(start_worker(env, tmp_path))
    with ResearchClient(settings) as client:
        # 16 requests: 1 to plan leaves 15, a share of 3 for each search and the analyst.
        options, _ = resolve_options(settings, max_requests=16, deadline=5)
        run_id = client.submit(QUESTION, options, run_id="crash-budget")
        started = wait_until(client, run_id, lambda s: any(x.state is SearchState.DONE for x in s.searches))
        kill(workers[0])
        workers.append(start_worker(env, tmp_path))
        final = client.wait(run_id, timeout=120)
    assert final.phase is Phase.COMPLETED, final.error
    assert final.usage.requests <= 16
    executions = read_executions(env)
    assert_nothing_ran_twice(executions, workers[0].pid)
    requests = [e for e in finished_executions(executions) if e["kind"] == "model"]
    assert len(requests) <= 16  # what really ran, both workers together
    # The deadline counts from the first start: the restart did not give the run five more seconds.
    assert final.deadline_at == started.deadline_at and final.deadline_at is not None
    assert final.stopped_early is not None and "deadline" in final.stopped_early
    assert final.updated_at is not None and final.updated_at <= final.deadline_at + timedelta(seconds=5)


def test_domain_lists_hold_across_a_kill(
    crash_env: dict[str, str], tmp_path: Path, workers: list[subprocess.Popen[str]]
):
    settings = settings_from_env(crash_env)
    workers.append(start_worker(crash_env, tmp_path, command=WEB_STUB_COMMAND))
    with ResearchClient(settings) as client:
        options, _ = resolve_options(
            settings, search_backend="duckduckgo", allow_domains=["who.int"], deny_domains=["example.com"]
        )
        run_id = client.submit(QUESTION, options, run_id="crash-domains")
        poll(
            lambda: _started(read_executions(crash_env), kind="model", role="analyst"),
            timeout=120,
            what="the analyst's request",
            interval=0.02,
        )
        kill(workers[0])
        workers.append(start_worker(crash_env, tmp_path, command=WEB_STUB_COMMAND))
        final = client.wait(run_id, timeout=120)
    assert final.phase is Phase.COMPLETED, final.error
    urls = {source.url for search in final.searches for source in search.sources}
    assert urls == {"https://www.who.int/facts"}
    assert final.report is not None and {s.url for s in final.report.sources} <= urls
    assert_nothing_ran_twice(read_executions(crash_env), workers[0].pid)
