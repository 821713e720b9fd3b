"""Crash recovery with a real SIGKILL: the run finishes with the same report and no finished work repeats.

A worker subprocess runs an offline research with paced model requests; the test kills it (a) while the
searches are in flight and (b) during analysis, starts it again, and checks the report against an
uninterrupted run. Every real model request and search logs a line when it starts and one when it ends,
so a finished step executed twice would show two `end` lines for one (workflow, step) pair. The kill is
triggered by `start` lines, so it lands inside a paced request, never between a step's end and its
checkpoint (a step cut off there is not finished and is rightly run again).
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from research_agent.client import ResearchClient
from research_agent.options import resolve_options
from research_agent.schema import Phase, ResearchReport, ResearchStatus

from ._process import (
    finished_executions,
    kill,
    poll,
    read_executions,
    repeated_executions,
    settings_from_env,
    start_worker,
    uninterrupted_run,
)

pytestmark = pytest.mark.crash
QUESTION = "Compare the economies of Chile and Peru"


@pytest.fixture(scope="module")
def reference_report(tmp_path_factory: pytest.TempPathFactory, index_dir: Path) -> ResearchReport:
    """The report of the same research run without interruption."""
    status = uninterrupted_run(tmp_path_factory.mktemp("reference"), index_dir, QUESTION)
    return status.report  # type: ignore[return-value]


def _crash_and_recover(
    crash_env: dict[str, str],
    tmp_path: Path,
    workers: list[subprocess.Popen[str]],
    crash_point: Callable[[ResearchStatus, list[dict[str, object]]], bool],
) -> tuple[ResearchStatus, list[dict[str, object]], int]:
    def reached(status: ResearchStatus) -> bool:
        assert not status.phase.finished, f"run finished before the crash point: {status.phase}"
        return crash_point(status, read_executions(crash_env))

    settings = settings_from_env(crash_env)
    first = start_worker(crash_env, tmp_path)
    workers.append(first)
    with ResearchClient(settings) as client:
        options, _ = resolve_options(settings)
        run_id = client.submit(QUESTION, options, run_id="crash")
        poll(lambda: client.status(run_id), 120, "the crash point", holds=reached, interval=0.02)
        kill(first)
        before_restart = len(read_executions(crash_env))
        workers.append(start_worker(crash_env, tmp_path))
        final = client.wait(run_id, timeout=120)
    return final, read_executions(crash_env), before_restart


def assert_nothing_ran_twice(executions: list[dict[str, object]], killed_pid: int) -> None:
    """No call ran to its end twice, and the killed worker and one restarted worker shared the work."""
    repeated = repeated_executions(executions)
    assert not repeated, f"executed more than once: {repeated}\n" + "\n".join(map(str, executions))
    pids = {e["pid"] for e in executions}
    assert killed_pid in pids and len(pids) == 2, (
        "work must be split between the killed and the restarted worker"
    )


def test_kill_while_searches_are_in_flight(crash_env, tmp_path, workers, reference_report):
    def every_search_writing_its_findings(
        status: ResearchStatus, executions: list[dict[str, object]]
    ) -> bool:
        # Each search has run its search step and started its last model request: work done, work in flight.
        started = {
            e["workflow_id"]
            for e in executions
            if e.get("role") == "searcher" and e["stage"] == "start" and e["step_id"] == 3
        }
        return len(started) == 4

    final, executions, before = _crash_and_recover(
        crash_env, tmp_path, workers, every_search_writing_its_findings
    )
    assert final.phase is Phase.COMPLETED, final.error
    assert_nothing_ran_twice(executions, workers[0].pid)
    assert final.report == reference_report
    assert final.citations is not None and final.citations.clean  # checked after the crash too
    finished = finished_executions(executions)
    # The searches' last requests were cut off and ran again after the restart; nothing else of theirs did.
    assert sorted(
        e["workflow_id"] for e in finished_executions(executions[before:]) if e.get("role") == "searcher"
    ) == [f"crash-search-{i}" for i in range(1, 5)]
    assert sum(e["kind"] == "search" for e in finished) == 4
    assert sum(e["kind"] == "model" for e in finished) == 1 + 4 * 2 + 1


def test_kill_during_analysis(crash_env, tmp_path, workers, reference_report):
    def analyzing(status: ResearchStatus, executions: list[dict[str, object]]) -> bool:
        return status.phase is Phase.ANALYZING

    final, executions, before = _crash_and_recover(crash_env, tmp_path, workers, analyzing)
    assert final.phase is Phase.COMPLETED, final.error
    assert final.report == reference_report
    assert final.citations is not None and final.citations.clean  # checked after the crash too
    after = executions[before:]
    assert [(e["kind"], e["stage"], e.get("role")) for e in after] == [
        ("model", "start", "analyst"),
        ("model", "end", "analyst"),
    ]
    assert sum(e["kind"] == "search" for e in finished_executions(executions)) == 4
    assert_nothing_ran_twice(executions, workers[0].pid)
