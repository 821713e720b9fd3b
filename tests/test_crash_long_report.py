"""A worker SIGKILLed inside a long report, between sections: the restarted worker resumes at the next
unwritten section, never writing a finished one again, and the report is the uninterrupted run's."""

from __future__ import annotations

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
    settings_from_env,
    start_worker,
    uninterrupted_run,
)
from .test_crash import QUESTION, assert_nothing_ran_twice

pytestmark = pytest.mark.crash


@pytest.fixture(scope="module")
def long_reference(tmp_path_factory: pytest.TempPathFactory, index_dir: Path) -> ResearchReport:
    """The long report of the same research run without interruption."""
    status = uninterrupted_run(
        tmp_path_factory.mktemp("long-reference"), index_dir, QUESTION, "--report", "long"
    )
    return status.report  # type: ignore[return-value]


def test_kill_between_sections_resumes_at_the_next_unwritten_one(
    crash_env, tmp_path, workers, long_reference
):
    env = {**crash_env, "RESEARCH_REPORT": "long"}
    settings = settings_from_env(env)
    first = start_worker(env, tmp_path)
    workers.append(first)

    def second_section_started(status: ResearchStatus) -> bool:
        assert not status.phase.finished, f"run finished before the crash point: {status.phase}"
        return any(
            e.get("role") == "section" and e["stage"] == "start" and e["workflow_id"] == "crash-section-2"
            for e in read_executions(env)
        )

    with ResearchClient(settings) as client:
        options, _ = resolve_options(settings)
        assert options.report == "long"
        run_id = client.submit(QUESTION, options, run_id="crash")
        poll(
            lambda: client.status(run_id),
            120,
            "the second section",
            holds=second_section_started,
            interval=0.02,
        )
        kill(first)
        before = len(read_executions(env))
        workers.append(start_worker(env, tmp_path))
        final = client.wait(run_id, timeout=120)

    executions = read_executions(env)
    assert final.phase is Phase.COMPLETED, final.error
    assert final.report == long_reference
    assert final.citations is not None and final.citations.clean
    assert_nothing_ran_twice(executions, workers[0].pid)
    # Section 1 was written before the kill and never again; the restarted worker wrote section 2 (cut off)
    # onwards, then the summary, and ran no search, plan or outline again.
    written_before = {
        e["workflow_id"] for e in finished_executions(executions[:before]) if e.get("role") == "section"
    }
    assert written_before == {"crash-section-1"}
    after = [(e["workflow_id"], e.get("role")) for e in finished_executions(executions[before:])]
    sections = sum(
        1 for e in finished_executions(executions) if str(e["workflow_id"]).startswith("crash-section-")
    )
    assert after == [(f"crash-section-{i}", "section") for i in range(2, sections + 1)] + [
        ("crash-analyze", "section")
    ]
