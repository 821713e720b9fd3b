"""Each control of a running run survives a real SIGKILL of the worker that runs it.

Same method as test_crash.py: a worker subprocess runs an offline research with paced model requests, the
test kills it at a point read from the run's status or the execution log, starts a new worker, and counts
the `end` lines of the execution log to show that no finished model request or search ran twice.
"""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from research_agent.client import ResearchClient
from research_agent.options import resolve_options
from research_agent.schema import Phase, ResearchPlan, SearchState, SearchStep
from research_agent.settings import Settings

from ._process import (
    WEB_STUB_COMMAND,
    awaiting,
    finished_executions,
    kill,
    poll,
    read_executions,
    repeated_executions,
    settings_from_env,
    start_worker,
    wait_until,
)
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
    planned = sorted(str(e["workflow_id"]) for e in searches if "-extra-" not in str(e["workflow_id"]))
    assert planned == [f"{run_id}-search-1", f"{run_id}-search-2"]  # the edited plan's (and any extra)
    assert {e["pid"] for e in searches} == {workers[1].pid}  # all after the restart


def _started(executions: list[dict[str, object]], **match: object) -> bool:
    return any(e["stage"] == "start" and all(e.get(k) == v for k, v in match.items()) for e in executions)


def test_finish_sent_while_the_worker_is_dead_is_obeyed_after_the_restart(
    crash_env: dict[str, str], tmp_path: Path, workers: list[subprocess.Popen[str]]
):
    # Requests of 1 s, one search at a time: the searches not started at the kill are still waiting when
    # the restarted run reads the finish, however slowly the machine brings it back.
    env = {
        **crash_env,
        "RESEARCH_SEARCH_CONCURRENCY": "1",
        "RESEARCH_FINISH_GRACE": "0.5",
        "RESEARCH_OFFLINE_DELAY": "1",
    }
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
    not_started = {
        f"{run_id}-search-{s.index}"
        for s in final.searches
        if s.error == "skipped: finish requested before it started"
    }
    assert not_started and not searched & not_started  # a search skipped before it started never searched


def test_retry_killed_midway_reruns_each_missing_search_once(
    crash_env: dict[str, str], tmp_path: Path, workers: list[subprocess.Popen[str]]
):
    # Requests of 1 s: the finish comes well before the other searches end, and the kill well before the
    # retried search's first request does.
    env = {
        **crash_env,
        "RESEARCH_SEARCH_CONCURRENCY": "1",
        "RESEARCH_FINISH_GRACE": "0",
        "RESEARCH_OFFLINE_DELAY": "1",
    }
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
    assert first.plan is not None
    assert [s.state for s in final.searches if not s.extra] == [SearchState.DONE] * len(
        first.plan.search_steps
    )
    executions = read_executions(env)
    assert_nothing_ran_twice(executions, workers[0].pid)
    searched = [str(e["workflow_id"]) for e in finished_executions(executions) if e["kind"] == "search"]
    assert sorted(w for w in searched if w.startswith(retried)) == sorted(
        f"{retried}-search-{i}" for i in missing
    )


def test_rewrite_killed_during_the_analysis_finishes_without_searching(
    crash_env: dict[str, str], tmp_path: Path, workers: list[subprocess.Popen[str]]
):
    env = {**crash_env, "RESEARCH_OFFLINE_DELAY": "1"}  # the kill comes well within the analyst's request
    settings = settings_from_env(env)
    workers.append(start_worker(env, tmp_path))
    with ResearchClient(settings) as client:
        options, _ = resolve_options(settings)
        original = client.wait(client.submit(QUESTION, options, run_id="crash-rewrite"), timeout=120)
        searches_before = [e for e in finished_executions(read_executions(env)) if e["kind"] == "search"]
        rewritten = client.rewrite(original.run_id, instructions="Only growth rates.")
        poll(
            lambda: _started(read_executions(env), kind="model", workflow_id=f"{rewritten}-analyze"),
            timeout=120,
            what="the rewrite's analyst request",
            interval=0.02,
        )
        kill(workers[0])
        workers.append(start_worker(env, tmp_path))
        final = client.wait(rewritten, timeout=120)
    assert final.phase is Phase.COMPLETED, final.error
    assert final.rewrite is not None and final.rewrite.original_run_id == original.run_id
    executions = read_executions(env)
    assert_nothing_ran_twice(executions, workers[0].pid)
    finished = finished_executions(executions)
    assert [e for e in finished if e["kind"] == "search"] == searches_before  # no search ran again
    rewrite_requests = [e for e in finished if e["workflow_id"] == f"{rewritten}-analyze"]
    assert [e["pid"] for e in rewrite_requests] == [workers[1].pid]


def test_a_budget_is_not_renewed_by_a_restart(
    crash_env: dict[str, str], tmp_path: Path, workers: list[subprocess.Popen[str]]
):
    # 10 requests: 1 to plan leaves 9, a share of 9 // 5 = 1 for each of the 4 searches, too little for their
    # 2 requests each, so the budget stops every one. The worker is killed once the first has failed so.
    env = {**crash_env, "RESEARCH_SEARCH_CONCURRENCY": "1", "RESEARCH_OFFLINE_DELAY": "0.5"}
    settings = settings_from_env(env)
    workers.append(start_worker(env, tmp_path))
    with ResearchClient(settings) as client:
        options, _ = resolve_options(settings, max_requests=10)
        run_id = client.submit(QUESTION, options, run_id="crash-budget")
        wait_until(client, run_id, lambda s: any(x.state is SearchState.FAILED for x in s.searches))
        kill(workers[0])
        workers.append(start_worker(env, tmp_path))
        final = client.wait(run_id, timeout=120)
    assert final.phase is Phase.COMPLETED, final.error
    assert final.stopped_early == "the budget (9 model requests after planning) ran out during the searches"
    # Every search failed for want of budget, the analyst's extra ones too: what the restarted worker ran
    # was held to what was left, not to a fresh budget (which would pay for the extra searches).
    assert final.searches and all(
        s.state is SearchState.FAILED and "UsageLimitExceeded" in (s.error or "") for s in final.searches
    )
    executions = read_executions(env)
    assert_nothing_ran_twice(executions, workers[0].pid)
    requests = [e for e in finished_executions(executions) if e["kind"] == "model"]
    assert len(requests) <= 10  # what really ran, both workers together
    assert final.usage.requests <= 10


def test_a_deadline_is_not_renewed_by_a_restart(
    crash_env: dict[str, str], tmp_path: Path, workers: list[subprocess.Popen[str]]
):
    # Requests of 1 s, one search at a time: the searches need 8 s, the deadline is 6 s. The worker is killed
    # during the first search, and the deadline passes while no worker runs.
    env = {**crash_env, "RESEARCH_SEARCH_CONCURRENCY": "1", "RESEARCH_OFFLINE_DELAY": "1"}
    settings = settings_from_env(env)
    workers.append(start_worker(env, tmp_path))
    with ResearchClient(settings) as client:
        options, _ = resolve_options(settings, deadline=6)
        run_id = client.submit(QUESTION, options, run_id="crash-deadline")
        started = wait_until(
            client,
            run_id,
            lambda s: s.phase is Phase.SEARCHING and _started(read_executions(env), role="searcher"),
        )
        kill(workers[0])
        deadline_at = started.deadline_at
        assert deadline_at is not None
        poll(lambda: datetime.now(UTC) > deadline_at, timeout=60, what="the run's deadline to pass")
        workers.append(start_worker(env, tmp_path))
        final = client.wait(run_id, timeout=120)
    assert final.phase is Phase.COMPLETED, final.error
    # The deadline counts from the first start: the restart did not give the run six more seconds.
    assert final.deadline_at == deadline_at
    assert final.stopped_early == "the deadline passed before the analysis"
    planned = [s for s in final.searches if not s.extra]
    assert [(s.state, s.error) for s in planned] == [
        (SearchState.SKIPPED, "skipped: the deadline passed before it ended")
    ] * 4
    assert final.report is not None and final.report.title.startswith("Partial report")
    assert not repeated_executions(read_executions(env))


def test_domain_lists_hold_across_a_kill(
    crash_env: dict[str, str], tmp_path: Path, workers: list[subprocess.Popen[str]]
):
    env = {**crash_env, "RESEARCH_OFFLINE_DELAY": "1"}  # the kill comes well within the analyst's request
    settings = settings_from_env(env)
    workers.append(start_worker(env, tmp_path, command=WEB_STUB_COMMAND))
    with ResearchClient(settings) as client:
        options, _ = resolve_options(
            settings, search_backend="duckduckgo", allow_domains=["who.int"], deny_domains=["example.com"]
        )
        run_id = client.submit(QUESTION, options, run_id="crash-domains")
        poll(
            lambda: _started(read_executions(env), kind="model", role="analyst"),
            timeout=120,
            what="the analyst's request",
            interval=0.02,
        )
        kill(workers[0])
        workers.append(start_worker(env, tmp_path, command=WEB_STUB_COMMAND))
        final = client.wait(run_id, timeout=120)
    assert final.phase is Phase.COMPLETED, final.error
    urls = {source.url for search in final.searches for source in search.sources}
    assert urls == {"https://www.who.int/facts"}
    assert final.report is not None and {s.url for s in final.report.sources} <= urls
    assert_nothing_ran_twice(read_executions(env), workers[0].pid)
