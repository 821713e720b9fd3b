"""How a run's workflows are named: the run id, and `{run}-plan`, `{run}-search-2`, `{run}-analyze`, ...

The names are a data contract: clients find a run's children by them, telemetry tags spans with them, and
the run id of any child can be read back from its id (`WorkflowRef.parse`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .schema import Phase

CHILD_SUFFIX = re.compile(r"-(plan|analyze|control|grace|search-(\d+)|extra-(\d+))$")
_CHILD_PHASES = {"plan": Phase.PLANNING, "analyze": Phase.ANALYZING}


def plan_workflow_id(run_id: str) -> str:
    return f"{run_id}-plan"


def search_workflow_id(run_id: str, index: int) -> str:
    return f"{run_id}-search-{index}"


def analyze_workflow_id(run_id: str) -> str:
    return f"{run_id}-analyze"


def extra_workflow_id(run_id: str, index: int) -> str:
    return f"{run_id}-extra-{index}"


def control_workflow_id(run_id: str) -> str:
    """The workflow a `FinishRequest` is sent to while the run searches."""
    return f"{run_id}-control"


def grace_workflow_id(run_id: str) -> str:
    """The timer of the grace period searches still running after a finish request get."""
    return f"{run_id}-grace"


@dataclass(frozen=True)
class WorkflowRef:
    """What a workflow id says about its place in a run: `{run}`, `{run}-plan`, `{run}-search-2`, ..."""

    workflow_id: str
    run_id: str
    phase: Phase | None = None
    search_index: int | None = None
    extra: bool = False
    kind: str = "run"
    """run, plan, search, extra, analyze, control or grace."""

    @classmethod
    def parse(cls, workflow_id: str) -> WorkflowRef:
        """Read the run id and the child's role from a workflow id."""
        match = CHILD_SUFFIX.search(workflow_id)
        if match is None:
            return cls(workflow_id=workflow_id, run_id=workflow_id)
        kind, search, extra = match.groups()
        index = search or extra
        return cls(
            workflow_id=workflow_id,
            run_id=workflow_id[: match.start()],
            phase=_CHILD_PHASES.get(kind, Phase.SEARCHING),
            search_index=int(index) if index else None,
            extra=extra is not None,
            kind="search" if search else "extra" if extra else kind,
        )
