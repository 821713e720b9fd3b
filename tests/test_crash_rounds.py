"""Rounds of searching survive a real SIGKILL: a worker killed inside round 2, or between rounds (while the
reflection runs), is restarted; the run ends with the report of an uninterrupted run, and no finished model
request or search ran twice (same method as test_crash.py)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from research_agent.schema import Phase, ResearchReport, ResearchStatus

from ._process import finished_executions, uninterrupted_run
from .test_crash import QUESTION, _crash_and_recover, assert_nothing_ran_twice

pytestmark = pytest.mark.crash
DEPTH = {"RESEARCH_DEPTH": "2"}


@pytest.fixture(scope="module")
def reference_report(tmp_path_factory: pytest.TempPathFactory, index_dir: Path) -> ResearchReport:
    """The report of the same two-round research run without interruption."""
    status = uninterrupted_run(tmp_path_factory.mktemp("reference-rounds"), index_dir, QUESTION, env=DEPTH)
    assert [len(r.queries) for r in status.rounds] == [4, 4]
    return status.report  # type: ignore[return-value]


Executions = list[dict[str, object]]


def _run_killed_at(
    crash_env: dict[str, str],
    tmp_path: Path,
    workers: list[subprocess.Popen[str]],
    crash_point: Callable[[ResearchStatus, Executions], bool],
    reference: ResearchReport,
) -> tuple[Executions, int]:
    final, executions, before = _crash_and_recover({**crash_env, **DEPTH}, tmp_path, workers, crash_point)
    assert final.phase is Phase.COMPLETED, final.error
    assert [len(r.queries) for r in final.rounds] == [4, 4]
    assert final.report == reference
    assert final.citations is not None and final.citations.clean
    assert_nothing_ran_twice(executions, workers[0].pid)
    finished = finished_executions(executions)
    assert sum(e["kind"] == "search" for e in finished) == 8  # four a round, none repeated
    assert [e["workflow_id"] for e in finished if e.get("role") == "reflector"] == ["crash-r2-reflect"]
    return executions, before


def test_kill_inside_round_two(crash_env, tmp_path, workers, reference_report):
    def round_two_writing_its_findings(status: ResearchStatus, executions: Executions) -> bool:
        # Each round-2 search has run its search step and started its last model request.
        started = {
            e["workflow_id"]
            for e in executions
            if e.get("role") == "searcher"
            and e["stage"] == "start"
            and e["step_id"] == 3
            and "-r2-search-" in str(e["workflow_id"])
        }
        return len(started) == 4

    executions, before = _run_killed_at(
        crash_env, tmp_path, workers, round_two_writing_its_findings, reference_report
    )
    # Nothing of round 1 or of the reflection ran again.
    again = {str(e["workflow_id"]) for e in finished_executions(executions[before:]) if e["kind"] == "search"}
    assert again == set()  # the search steps had ended before the kill
    # The kill cut off round 2's searches still writing (those that ended first are not run again).
    resumed = {
        str(e["workflow_id"]) for e in finished_executions(executions[before:]) if e.get("role") == "searcher"
    }
    assert resumed and resumed <= {f"crash-r2-search-{i}" for i in range(1, 5)}


def test_kill_between_rounds_while_reflecting(crash_env, tmp_path, workers, reference_report):
    def reflecting(status: ResearchStatus, executions: Executions) -> bool:
        return any(e.get("role") == "reflector" and e["stage"] == "start" for e in executions)

    executions, before = _run_killed_at(crash_env, tmp_path, workers, reflecting, reference_report)
    after = finished_executions(executions[before:])
    # The reflection was cut off and ran again; round 1's searches did not, round 2's ran once, after it.
    assert [e["workflow_id"] for e in after if e.get("role") == "reflector"] == ["crash-r2-reflect"]
    assert not [e for e in after if e["kind"] == "search" and "-r2-" not in str(e["workflow_id"])]
    assert sum(e["kind"] == "search" and "-r2-" in str(e["workflow_id"]) for e in after) == 4
