"""Steering a run while it works: the message topics a run listens on and the plan a person edits.

A client sends a run a DBOS message on one of these topics; the run receives it with `DBOS.recv`, so a
message sent while no worker is alive waits in the database and is read when the run resumes. This module
also turns the plan a person edits (a JSON file, or lines of text in the UI) into a checked `ResearchPlan`.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ValidationError

from .catalog import CorpusError, check_collection_name
from .options import MAX_INSTRUCTIONS_CHARS, read_user_file
from .schema import ResearchPlan, SearchStep, without_controls

PLAN_REVIEW_TOPIC = "plan-review"
"""Topic of the `PlanDecision` that approves, edits or rejects a plan awaiting approval."""
PLAN_REVIEW_KEY = "plan-review"
"""Idempotency key of that message: a run takes one decision, later ones are dropped."""
REVIEW_WAIT_SECONDS = 3600.0
"""Longest single wait for a decision when the run waits without a timeout (it then waits again)."""
CONTROL_TOPIC = "control"
"""Topic of a `FinishRequest`, sent to the run's control workflow (`{run}-control`) while it searches."""
FINISH_KEY = "finish"
"""Idempotency key of the finish request: sending it twice is sending it once."""
DEADLINE_MARGIN = 30.0
"""Seconds DBOS lets a run go on past its deadline (to write the partial report) before cancelling it."""
MAX_PLAN_STEPS = 20
"""Most searches an edited plan may hold (the same bound as RESEARCH_MAX_SEARCHES)."""
MAX_QUERY_CHARS = 500
"""Longest search query of an edited plan: a query is typed into a search engine, not pasted."""
MAX_RATIONALE_CHARS = 2000
MAX_PLAN_FILE_BYTES = 2_000_000
"""Largest plan file read: room for a whole `show --json` status, whose plan is a small part of it."""
_SEPARATOR = " | "


class SearchPhaseOver(BaseModel):
    """The run's own note to its control workflow that every search has ended: stop waiting."""


class PlanEditError(ValueError):
    """An edited plan that cannot be run; the message says what to fix."""


def _bounded(text: str, limit: int, subject: str, shorten: str) -> str:
    """`text` without control characters or surrounding space, or `PlanEditError` when over `limit`."""
    cleaned = without_controls(text).strip()
    if len(cleaned) > limit:
        raise PlanEditError(f"{subject} {len(cleaned)} characters long, over the limit of {limit}; {shorten}")
    return cleaned


def _checked_step(number: int, step: SearchStep) -> SearchStep:
    if step.corpus is not None:
        try:
            check_collection_name(step.corpus)
        except CorpusError as error:
            raise PlanEditError(f"search {number}: {error}") from None
    query = _bounded(step.query, MAX_QUERY_CHARS, f"search {number}'s query is", "shorten it")
    rationale = _bounded(step.rationale, MAX_RATIONALE_CHARS, f"search {number}'s rationale is", "shorten it")
    return step.model_copy(update={"query": " ".join(query.split()), "rationale": rationale})


def checked_plan(plan: ResearchPlan) -> ResearchPlan:
    """`plan` with blank steps dropped and control characters removed, or `PlanEditError` when nothing
    runnable is left, too much is, or a query, a rationale or the instructions are too long to be meant."""
    steps = [_checked_step(number, step) for number, step in enumerate(plan.search_steps, start=1)]
    steps = [step for step in steps if step.query]
    if not steps:
        raise PlanEditError("the edited plan has no search steps; keep or add at least one search")
    if len(steps) > MAX_PLAN_STEPS:
        raise PlanEditError(f"the edited plan has {len(steps)} searches; at most {MAX_PLAN_STEPS} may run")
    instructions = _bounded(
        plan.analysis_instructions, MAX_INSTRUCTIONS_CHARS, "the analysis instructions are", "shorten them"
    )
    return ResearchPlan(search_steps=steps, analysis_instructions=instructions)


def read_plan_file(path: Path) -> ResearchPlan:
    """The plan in a JSON file (the `plan` of `deep-research show ID --json`, or that whole status)."""
    text = read_user_file(path, "the edited plan as a JSON file", PlanEditError, MAX_PLAN_FILE_BYTES)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise PlanEditError(f"{path} is not valid JSON (line {error.lineno}: {error.msg})") from None
    except RecursionError:
        raise PlanEditError(
            f"{path} is nested too deeply to be a plan; give the plan of `deep-research show ID --json`"
        ) from None
    if isinstance(data, dict) and isinstance(data.get("plan"), dict):
        data = data["plan"]  # a whole status, as `show --json` prints it
    try:
        plan = ResearchPlan.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "the plan"
        raise PlanEditError(
            f"{path} is not a research plan: {where}: {first['msg']} "
            '(expected {"search_steps": [{"query": ..., "rationale": ...}], "analysis_instructions": ...})'
        ) from None
    return checked_plan(plan)


def plan_to_text(plan: ResearchPlan) -> str:
    """The plan's searches as lines of `query | rationale`, for editing as text."""
    return "\n".join(f"{step.query}{_SEPARATOR}{step.rationale}" for step in plan.search_steps)


def plan_from_text(text: str, analysis_instructions: str) -> ResearchPlan:
    """The plan written as lines of `query | rationale` (the rationale is optional), checked."""
    steps = []
    for line in text.splitlines():
        query, _, rationale = line.partition("|")
        if query.strip():
            steps.append(SearchStep(query=query.strip(), rationale=rationale.strip()))
    return checked_plan(ResearchPlan(search_steps=steps, analysis_instructions=analysis_instructions))
