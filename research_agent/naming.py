"""The names clients and workers agree on: workflows, queues, and a run's workflow ids.

A run's id is chosen by its client; its children are `{run}-plan`, `{run}-search-2`, `{run}-analyze`, ...
These names are a data contract: clients enqueue workflows and find a run's children by them, telemetry
tags spans with them, and the run id of any child can be read back from its id (`WorkflowRef.parse`).
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass

from .schema import Phase

RESEARCH_QUEUE = "research"
"""The queue runs are enqueued on; each worker takes up to `worker_concurrency` of them."""
SEARCH_QUEUE = "search"
"""The queue every search goes through, with a global concurrency and rate limit across workers."""

RESEARCH_WORKFLOW = "deep_research"
PLAN_WORKFLOW = "plan_research"
SEARCH_WORKFLOW = "run_search"
ANALYZE_WORKFLOW = "analyze_findings"
CONTROL_WORKFLOW = "await_control"
SECTION_WORKFLOW = "write_section"
REPORT_TEXT_STREAM = "report_text"
"""The DBOS stream of the analysis workflow (`analyze_workflow_id`) carrying the report's text as written."""

REFLECT_WORKFLOW = "reflect_on_findings"

CHILD_SUFFIX = re.compile(
    r"-(plan|analyze|control|grace|section-\d+|search-(\d+)|extra-(\d+)"
    r"|r(\d+)-(?:search-(\d+)|(reflect)))$"
)
_CHILD_PHASES = {"plan": Phase.PLANNING, "analyze": Phase.ANALYZING}
_SECTION = "section-"


def plan_workflow_id(run_id: str) -> str:
    return f"{run_id}-plan"


def search_workflow_id(run_id: str, index: int) -> str:
    return f"{run_id}-search-{index}"


def round_search_workflow_id(run_id: str, round_number: int, index: int) -> str:
    """Search `index` (from 1) of round `round_number` (from 2): `{run}-r2-search-1`. Round 1's searches
    keep their ids (`search_workflow_id`), so a run of one round looks as it always did."""
    return f"{run_id}-r{round_number}-search-{index}"


def reflect_workflow_id(run_id: str, round_number: int) -> str:
    """The reflection on the findings that chooses the searches of round `round_number` (from 2)."""
    return f"{run_id}-r{round_number}-reflect"


def analyze_workflow_id(run_id: str) -> str:
    return f"{run_id}-analyze"


def extra_workflow_id(run_id: str, index: int) -> str:
    return f"{run_id}-extra-{index}"


def section_workflow_id(run_id: str, index: int) -> str:
    """The child workflow that writes section `index` (from 1) of a long report."""
    return f"{run_id}-section-{index}"


def control_workflow_id(run_id: str) -> str:
    """The workflow a `FinishRequest` is sent to while the run searches."""
    return f"{run_id}-control"


def grace_workflow_id(run_id: str) -> str:
    """The timer of the grace period searches still running after a finish request get."""
    return f"{run_id}-grace"


def is_child_workflow(workflow_id: str) -> bool:
    """Whether `workflow_id` names a run's plan, search, analysis or extra search rather than a run."""
    return CHILD_SUFFIX.search(workflow_id) is not None


@dataclass(frozen=True)
class WorkflowRef:
    """What a workflow id says about its place in a run: `{run}`, `{run}-plan`, `{run}-search-2`, ..."""

    workflow_id: str
    run_id: str
    phase: Phase | None = None
    search_index: int | None = None
    extra: bool = False
    kind: str = "run"
    """run, plan, search, extra, analyze, section (of a long report), control, grace or reflect."""
    round: int | None = None
    """The round of searches a search or reflection belongs to (1 for the plan's searches)."""

    @classmethod
    def parse(cls, workflow_id: str) -> WorkflowRef:
        """Read the run id and the child's role from a workflow id."""
        match = CHILD_SUFFIX.search(workflow_id)
        if match is None:
            return cls(workflow_id=workflow_id, run_id=workflow_id)
        kind, search, extra, round_number, round_search, reflect = match.groups()
        index = search or extra or round_search
        if round_number is not None:
            kind = "reflect" if reflect else "search"
        return cls(
            workflow_id=workflow_id,
            run_id=workflow_id[: match.start()],
            phase=Phase.ANALYZING if kind.startswith(_SECTION) else _CHILD_PHASES.get(kind, Phase.SEARCHING),
            search_index=int(index) if index else None,
            extra=extra is not None,
            kind="search" if search else "extra" if extra else kind.split("-")[0],
            round=int(round_number) if round_number else 1 if search else None,
        )


def trace_url(project_url: str | None, trace_id: str | None) -> str | None:
    """A link that opens the run's trace in the Logfire project at `project_url`."""
    if not project_url or not trace_id:
        return None
    query = urllib.parse.urlencode({"q": f"trace_id='{trace_id}'"})
    return f"{project_url.rstrip('/')}?{query}"
