"""A run's timeline: bars for a Gantt chart, from DBOS's own records of its workflows and steps.

Each workflow of the run is a lane; inside it, each model request, search and wait is a bar with its start
and end. Bookkeeping steps (clock, events, starting children) take no visible time and are left out.
"""

from __future__ import annotations

from datetime import UTC, datetime

from dbos import StepInfo, WorkflowStatus, WorkflowStatusString

from .naming import WorkflowRef
from .schema import TimelineBar

_UNFINISHED = (WorkflowStatusString.PENDING.value, WorkflowStatusString.ENQUEUED.value)
_FAILED = (WorkflowStatusString.ERROR.value, WorkflowStatusString.MAX_RECOVERY_ATTEMPTS_EXCEEDED.value)


def epoch_ms(value: int | None) -> datetime | None:
    return datetime.fromtimestamp(value / 1000, UTC) if value else None


def lane_of(workflow: WorkflowStatus, run_id: str) -> str:
    """The row a workflow gets in the timeline: run, plan, search 2, round 2 reflection, round 2 search 1,
    analysis, extra search 1."""
    if workflow.workflow_id == run_id:
        return "run"
    ref = WorkflowRef.parse(workflow.workflow_id)
    if ref.kind == "run":
        return workflow.name
    if ref.kind == "search" and ref.round and ref.round > 1:
        return f"round {ref.round} search {ref.search_index}"
    if ref.kind == "search":
        return f"search {ref.search_index}"
    if ref.kind == "reflect":
        return f"round {ref.round} reflection"
    if ref.kind == "extra":
        return f"extra search {ref.search_index}"
    if ref.kind == "section":
        return f"section {workflow.workflow_id.rsplit('-', 1)[-1]}"
    return {"analyze": "analysis", "grace": "finish grace"}.get(ref.kind, ref.kind)


def workflow_bars(workflow: WorkflowStatus, lane: str, steps: list[StepInfo]) -> list[TimelineBar]:
    recovered = (workflow.recovery_attempts or 0) > 1
    bars = []
    for step in steps:
        name = step["function_name"]
        if name.endswith("__model.request"):
            kind, label = "model request", f"{name.split('__')[0]} model request"
        elif name == "search":
            kind, label = "search", "search"
        elif name in ("DBOS.getResult", "DBOS.waitFirst"):
            kind, label = "waiting", "waiting for " + (step["child_workflow_id"] or "the first search")
        else:
            continue  # bookkeeping steps (clock, events, starting children) take no visible time
        started = epoch_ms(step["started_at_epoch_ms"])
        if started is None:
            continue
        bars.append(
            TimelineBar(
                workflow_id=workflow.workflow_id,
                lane=lane,
                kind=kind,
                label=label,
                started_at=started,
                finished_at=epoch_ms(step["completed_at_epoch_ms"]),
                failed=step["error"] is not None,
                recovered=recovered,
            )
        )
    # The workflow itself spans its recorded steps (DBOS keeps its start time only to the second on SQLite).
    times = [t for s in steps for t in (s["started_at_epoch_ms"], s["completed_at_epoch_ms"]) if t]
    started = epoch_ms(min(times)) if times else epoch_ms(workflow.created_at)
    if started is not None:
        finished = workflow.status not in _UNFINISHED
        bars.insert(
            0,
            TimelineBar(
                workflow_id=workflow.workflow_id,
                lane=lane,
                kind="workflow",
                label=f"{workflow.name} ({workflow.status.lower()})",
                started_at=started,
                finished_at=epoch_ms(max(times)) if finished and times else None,
                failed=workflow.status in _FAILED,
                recovered=recovered,
            ),
        )
    return bars
