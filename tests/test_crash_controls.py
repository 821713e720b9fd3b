"""Each control of a running run survives a real SIGKILL of the worker that runs it.

Same method as test_crash.py: a worker subprocess runs an offline research with paced model requests, the
test kills it at a point read from the run's status or the execution log, starts a new worker, and counts
the `end` lines of the execution log to show that no finished model request or search ran twice.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from research_agent.client import ResearchClient, resolve_options
from research_agent.schema import Phase, ResearchPlan, SearchStep
from research_agent.settings import Settings

from ._process import finished_executions, kill, read_executions, settings_from_env, start_worker
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
