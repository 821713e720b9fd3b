"""What the chaos tests share: their scale, reference reports, worker lives, and the figures they record.

`CHAOS_SCALE=full` (what `make chaos` sets) runs the counts the hardening figures come from; by default
the suite runs at the smaller counts CI can afford. Every test writes its figures to
`tests/artifacts/chaos-NAME.json`; `make chaos` gathers them into one table.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from research_agent.client import ResearchClient
from research_agent.schema import Phase, ResearchStatus

from .._process import QUESTIONS as ALL_QUESTIONS
from .._process import read_executions

FULL = os.environ.get("CHAOS_SCALE", "ci") == "full"
ARTIFACTS = Path(__file__).parent.parent / "artifacts"
QUESTIONS = ALL_QUESTIONS[:5]


def scale(ci: int, full: int) -> int:
    """`full` under `make chaos`, else `ci`."""
    return full if FULL else ci


def question_of(index: int) -> str:
    return QUESTIONS[index % len(QUESTIONS)]


def record_figures(name: str, figures: dict[str, Any]) -> None:
    """Write a test's figures where `make chaos` collects them, and print them with -s."""
    ARTIFACTS.mkdir(exist_ok=True)
    figures = {"scale": "full" if FULL else "ci", **figures}
    (ARTIFACTS / f"chaos-{name}.json").write_text(json.dumps(figures, indent=2, default=str) + "\n")
    print(name, json.dumps(figures, default=str))


def unfinished(client: ResearchClient, run_ids: list[str]) -> list[str]:
    done = client.finished(run_ids)
    return [run_id for run_id in run_ids if run_id not in done]


def made_progress(env: dict[str, str], worker: subprocess.Popen[str]) -> bool:
    """Whether `worker` has finished at least one real model request or search."""
    return any(e["pid"] == worker.pid and e["stage"] == "end" for e in read_executions(env))


def checkpoint_reruns(client: ResearchClient, executions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Executions that started after DBOS had checkpointed their step: finished work done again.

    A call cut off by a kill, even one killed after it returned but before DBOS recorded it, is not
    finished and rightly runs again; one that starts after its step's checkpoint was written is a bug.
    """
    completed: dict[tuple[str, int], float] = {}
    for workflow_id in {str(e["workflow_id"]) for e in executions if e["kind"] in ("model", "search")}:
        for step in client._client.list_workflow_steps(workflow_id):
            if step["completed_at_epoch_ms"] is not None:
                completed[(workflow_id, step["function_id"])] = step["completed_at_epoch_ms"] / 1000
    return [
        e
        for e in executions
        if e["kind"] in ("model", "search")
        and e["stage"] == "start"
        and e["at"] > completed.get((str(e["workflow_id"]), int(e["step_id"])), float("inf"))
    ]


def final_statuses(client: ResearchClient, run_ids: list[str]) -> dict[str, ResearchStatus]:
    return {run_id: client.status(run_id) for run_id in run_ids}


def assert_reports_match(statuses: dict[str, ResearchStatus], references: dict[str, Any]) -> None:
    """Every run completed with the report an uninterrupted run of its question wrote."""
    failed = {r: (s.phase, s.error) for r, s in statuses.items() if s.phase is not Phase.COMPLETED}
    assert not failed, f"runs that did not complete: {failed}"
    different = [r for r, s in statuses.items() if s.report != references[s.question]]
    assert not different, f"reports that differ from an uninterrupted run's: {different}"
