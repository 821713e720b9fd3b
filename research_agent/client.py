"""Everything a CLI or UI does to runs, through `DBOSClient` (this module never launches DBOS).

A client enqueues runs on the `research` queue, reads their `status` event, lists, cancels, resumes and
forks them. It can be restarted at any time: all state lives in the database.
"""

from __future__ import annotations

import hashlib
import re
import time
import unicodedata
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal

import sqlalchemy as sa
from dbos import DBOSClient, EnqueueOptions, SetWorkflowID, StepInfo, WorkflowStatus
from dbos._utils import INTERNAL_QUEUE_NAME

from . import __version__
from .controls import (
    CONTROL_TOPIC,
    DEADLINE_MARGIN,
    FINISH_KEY,
    PLAN_REVIEW_KEY,
    PLAN_REVIEW_TOPIC,
    PlanEditError,
    checked_plan,
)
from .corpus import corpus_choices
from .models import OFFLINE, ModelConfigError, check_online_models, offline_reason, supports_native_web_search
from .naming import CHILD_SUFFIX, WorkflowRef, analyze_workflow_id, control_workflow_id, search_workflow_id
from .runtime import (
    RESEARCH_QUEUE,
    SEARCH_QUEUE,
    ExecutorBusyError,
    check_database,
    executor_is_busy,
    executor_lock,
    hand_back,
    normalized_database_url,
    validate_executor_id,
)
from .schema import (
    STATUS_EVENT,
    AnalysisOutcome,
    BatchEntry,
    ExecutorInfo,
    FinishRequest,
    Phase,
    PlanDecision,
    RecoveryResult,
    ResearchOptions,
    ResearchPlan,
    ResearchStatus,
    RewriteRequest,
    RunSummary,
    SearchState,
    TimelineBar,
)
from .search.domains import normalize_domains
from .settings import SearchBackendName, Settings

RESEARCH_WORKFLOW = "deep_research"
INTERACTIVE_PRIORITY = 1
"""Queue priority of runs a person waits for (UI, `run`); lower numbers are dequeued first."""
BATCH_PRIORITY = 10
"""Queue priority of `submit --file` runs, so interactive runs overtake a long batch."""
ForkPoint = Literal["plan", "search", "analyze"]
_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$")
_RETRYABLE = (SearchState.FAILED, SearchState.SKIPPED)
_CHILD_NAMES: dict[ForkPoint, str] = {
    "plan": "plan_research",
    "search": "run_search",
    "analyze": "analyze_findings",
}


class InputError(Exception):
    """Bad input from the user (question, id, option); the message says what to change."""


class RunNotFoundError(InputError):
    """No run has this id."""


def validate_question(question: str, settings: Settings) -> str:
    """The question with control characters removed and whitespace tidied, or `InputError`."""
    cleaned = "".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in question)
    cleaned = " ".join(cleaned.split())
    if len(cleaned) < settings.min_question_chars:
        raise InputError(
            'the question is empty; ask something, e.g. deep-research run "Compare the economies of Chile and Peru"'
            if not cleaned
            else f"the question is too short ({len(cleaned)} characters); write at least {settings.min_question_chars}"
        )
    if len(cleaned) > settings.max_question_chars:
        raise InputError(
            f"the question is {len(cleaned)} characters long, over the limit of {settings.max_question_chars}; "
            "shorten it or raise RESEARCH_MAX_QUESTION_CHARS"
        )
    return cleaned


def validate_run_id(run_id: str) -> str:
    if not _RUN_ID.match(run_id) or CHILD_SUFFIX.search(run_id):
        raise InputError(
            f"invalid run id {run_id!r}: use up to 100 letters, digits, '-', '_', '.' or ':' "
            "(and no child suffix such as -plan)"
        )
    return run_id


def _hard_timeout(options: ResearchOptions) -> float | None:
    """The DBOS workflow timeout of a run with a deadline: the deadline plus time for a partial report."""
    return None if options.deadline is None else options.deadline + DEADLINE_MARGIN


def is_child_workflow(workflow_id: str) -> bool:
    """Whether `workflow_id` names a run's plan, search, analysis or extra search rather than a run."""
    return CHILD_SUFFIX.search(workflow_id) is not None


def batch_run_id(question: str) -> str:
    """The deterministic run id of a batch question, so submitting a file twice starts nothing twice."""
    return "q-" + hashlib.sha256(question.encode()).hexdigest()[:16]


def _domains(given: list[str] | None, default: list[str]) -> list[str]:
    """A run's domain list: the one given (validated), else the setting's."""
    if given is None:
        return default
    try:
        return normalize_domains(given)
    except ValueError as error:
        raise InputError(f"{error}; give domains like example.org") from None


def resolve_options(
    settings: Settings,
    *,
    offline: bool | None = None,
    search_backend: SearchBackendName | None = None,
    allow_domains: list[str] | None = None,
    deny_domains: list[str] | None = None,
    review_plan: bool = False,
    max_requests: int | None = None,
    max_tokens: int | None = None,
    deadline: float | None = None,
) -> tuple[ResearchOptions, str | None]:
    """The options of a new run and, when offline was chosen automatically, why.

    Offline is used when asked for, or (unset) when a key the configured models need is missing.
    `review_plan` makes the run wait for approval of its plan (RESEARCH_REVIEW_TIMEOUT bounds the wait).
    The budget (`max_requests`, `max_tokens`) and `deadline` default to the settings of the same names.
    """
    for name, value in (
        ("--max-requests", max_requests),
        ("--max-tokens", max_tokens),
        ("--deadline", deadline),
    ):
        if value is not None and value <= 0:
            raise InputError(f"{name} must be above 0 (got {value:g}); leave it out for no limit")
    wanted = offline if offline is not None else settings.offline
    reason = None
    if wanted is None:
        reason = offline_reason(settings)
        wanted = reason is not None
    elif wanted:
        reason = "asked for"
    backend = search_backend or settings.search_backend
    if backend == "auto":
        backend = "builtin" if not wanted and supports_native_web_search(settings.search_model) else "corpus"
    if backend == "builtin" and wanted:
        raise InputError(
            "the builtin search backend needs a real search model; use --search-backend corpus offline"
        )
    if backend == "corpus" and settings.corpus not in corpus_choices(settings.indexes):
        raise InputError(
            f"no collection named {settings.corpus!r}; create it with: deep-research index PATH --name {settings.corpus}"
        )
    if backend == "tavily" and not settings.secret("tavily_api_key"):
        raise InputError("the tavily search backend needs TAVILY_API_KEY; set it or choose another backend")
    if not wanted:
        try:
            check_online_models(
                settings, [settings.planner_model, settings.search_model, settings.analyst_model]
            )
        except ModelConfigError as error:
            raise InputError(str(error)) from error
    options = ResearchOptions(
        offline=wanted,
        planner_model=OFFLINE if wanted else settings.planner_model,
        search_model=OFFLINE if wanted else settings.search_model,
        analyst_model=OFFLINE if wanted else settings.analyst_model,
        search_backend=backend,
        corpus=settings.corpus,
        max_searches=settings.max_searches,
        max_results=settings.max_results,
        max_extra_searches=settings.max_extra_searches,
        allow_domains=_domains(allow_domains, settings.search_allow_domains),
        deny_domains=_domains(deny_domains, settings.search_deny_domains),
        review_plan=review_plan,
        review_timeout=settings.review_timeout,
        review_timeout_action=settings.review_timeout_action,
        max_requests=max_requests if max_requests is not None else settings.max_requests,
        max_tokens=max_tokens if max_tokens is not None else settings.max_tokens,
        deadline=deadline if deadline is not None else settings.deadline,
        finish_grace=settings.finish_grace,
    )
    return options, reason


def _epoch_ms(value: int | None) -> datetime | None:
    return datetime.fromtimestamp(value / 1000, UTC) if value else None


def _lane(workflow: WorkflowStatus, run_id: str) -> str:
    """The row a workflow gets in the timeline: run, plan, search 2, analysis, extra search 1."""
    if workflow.workflow_id == run_id:
        return "run"
    ref = WorkflowRef.parse(workflow.workflow_id)
    if ref.kind == "run":
        return workflow.name
    if ref.kind == "search":
        return f"search {ref.search_index}"
    if ref.kind == "extra":
        return f"extra search {ref.search_index}"
    return {"analyze": "analysis", "grace": "finish grace"}.get(ref.kind, ref.kind)


def _timeline_bars(workflow: WorkflowStatus, lane: str, steps: list[StepInfo]) -> list[TimelineBar]:
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
        started = _epoch_ms(step["started_at_epoch_ms"])
        if started is None:
            continue
        bars.append(
            TimelineBar(
                workflow_id=workflow.workflow_id,
                lane=lane,
                kind=kind,
                label=label,
                started_at=started,
                finished_at=_epoch_ms(step["completed_at_epoch_ms"]),
                failed=step["error"] is not None,
                recovered=recovered,
            )
        )
    # The workflow itself spans its recorded steps (DBOS keeps its start time only to the second on SQLite).
    times = [t for s in steps for t in (s["started_at_epoch_ms"], s["completed_at_epoch_ms"]) if t]
    started = _epoch_ms(min(times)) if times else _epoch_ms(workflow.created_at)
    if started is not None:
        finished = workflow.status not in ("PENDING", "ENQUEUED")
        bars.insert(
            0,
            TimelineBar(
                workflow_id=workflow.workflow_id,
                lane=lane,
                kind="workflow",
                label=f"{workflow.name} ({workflow.status.lower()})",
                started_at=started,
                finished_at=_epoch_ms(max(times)) if finished and times else None,
                failed=workflow.status in ("ERROR", "MAX_RECOVERY_ATTEMPTS_EXCEEDED"),
                recovered=recovered,
            ),
        )
    return bars


class ResearchClient:
    """Submit and manage runs stored in the database of `settings`."""

    def __init__(self, settings: Settings) -> None:
        check_database(settings)
        self.settings = settings
        self._client = DBOSClient(
            system_database_url=normalized_database_url(settings), retry_connection_errors=False
        )
        # A client may be first to touch a fresh database; create DBOS's tables so enqueueing works.
        self._client._sys_db.run_migrations()  # pyright: ignore[reportPrivateUsage]

    def close(self) -> None:
        self._client.destroy()

    def __enter__(self) -> ResearchClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- submitting -------------------------------------------------------------------------------------

    def submit(
        self,
        question: str,
        options: ResearchOptions,
        run_id: str | None = None,
        priority: int = INTERACTIVE_PRIORITY,
    ) -> str:
        """Enqueue a run and return its id; submitting an id that exists returns it without a second run."""
        question = validate_question(question, self.settings)
        run_id = validate_run_id(run_id) if run_id else uuid.uuid4().hex[:12]
        self._start(run_id, RESEARCH_WORKFLOW, RESEARCH_QUEUE, options, question, options, priority=priority)
        return run_id

    def submit_batch(self, questions: list[str], options: ResearchOptions) -> list[BatchEntry]:
        """Enqueue one run per distinct question at batch priority, under ids derived from the question.

        A question whose run exists already (from an earlier submission of the same file) is reported
        with `new=False` and not started again.
        """
        cleaned = list(dict.fromkeys(validate_question(q, self.settings) for q in questions))
        ids = [batch_run_id(question) for question in cleaned]
        existing = {
            row.workflow_id
            for row in self._client.list_workflows(workflow_ids=ids, load_input=False, load_output=False)
        }
        entries = []
        for question, run_id in zip(cleaned, ids, strict=True):
            if run_id not in existing:
                self.submit(question, options, run_id, priority=BATCH_PRIORITY)
            entries.append(BatchEntry(question=question, run_id=run_id, new=run_id not in existing))
        return entries

    # --- reading ----------------------------------------------------------------------------------------

    def _workflow(self, run_id: str) -> WorkflowStatus:
        rows = self._client.list_workflows(workflow_ids=[run_id], load_output=False)
        if not rows or rows[0].name != RESEARCH_WORKFLOW:
            raise RunNotFoundError(f"no run with id {run_id!r}; `deep-research list` shows the runs")
        return rows[0]

    def status(self, run_id: str) -> ResearchStatus:
        """The run's last published status, reconciled with what DBOS knows about the workflow."""
        workflow = self._workflow(run_id)
        event = self._client.get_event(run_id, STATUS_EVENT, timeout_seconds=0)
        return self._reconcile(workflow, event)

    def _reconcile(self, workflow: WorkflowStatus, event: dict[str, Any] | None) -> ResearchStatus:
        if event is not None:
            status = ResearchStatus.model_validate(event)
        else:
            args = workflow.input["args"] if workflow.input else ("", ResearchOptions())
            status = ResearchStatus(
                run_id=workflow.workflow_id,
                question=str(args[0]),
                options=args[1] if isinstance(args[1], ResearchOptions) else ResearchOptions(),
                phase=Phase.QUEUED,
                created_at=_epoch_ms(workflow.created_at),
            )
        if workflow.status == "CANCELLED" and not status.phase.finished:
            status.phase = Phase.CANCELLED
        elif workflow.status in ("ERROR", "MAX_RECOVERY_ATTEMPTS_EXCEEDED") and status.phase != Phase.FAILED:
            status.phase = Phase.FAILED
            status.error = status.error or str(workflow.error or workflow.status)
        status.updated_at = status.updated_at or _epoch_ms(workflow.updated_at)
        status.run_id = workflow.workflow_id  # a fork's copied events name the run it was forked from
        status.forked_from = workflow.forked_from
        if workflow.was_forked_from:
            forks = self._client.list_workflows(forked_from=workflow.workflow_id, load_input=False)
            status.forks = [fork.workflow_id for fork in forks]
        return status

    def wait(
        self,
        run_id: str,
        on_update: Callable[[ResearchStatus], None] | None = None,
        poll_interval: float = 0.2,
        timeout: float | None = None,
    ) -> ResearchStatus:
        """Poll the run until it finishes, calling `on_update` with every new status."""
        deadline = None if timeout is None else time.monotonic() + timeout
        last: tuple[int, Phase] | None = None
        while True:
            status = self.status(run_id)
            if (status.sequence, status.phase) != last:
                last = (status.sequence, status.phase)
                if on_update:
                    on_update(status)
            if status.phase.finished:
                return status
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"run {run_id} did not finish within {timeout} s")
            time.sleep(poll_interval)

    def finished(self, run_ids: list[str]) -> dict[str, Phase]:
        """The phase of each of `run_ids` that has finished (one query, for progress over a batch)."""
        rows = self._client.list_workflows(
            workflow_ids=run_ids,
            status=["SUCCESS", "ERROR", "CANCELLED", "MAX_RECOVERY_ATTEMPTS_EXCEEDED"],
            load_input=False,
            load_output=False,
        )
        return {row.workflow_id: self._reconcile_phase(row) for row in rows}

    def _reconcile_phase(self, workflow: WorkflowStatus) -> Phase:
        event = self._client.get_event(workflow.workflow_id, STATUS_EVENT, timeout_seconds=0)
        return self._reconcile(workflow, event).phase

    def _status_events(self, run_ids: list[str]) -> dict[str, Any]:
        """The last `status` event of each of `run_ids` that has one, in one query (not one per run)."""
        from dbos._serialization import deserialize_value

        sys_db = self._client._sys_db  # pyright: ignore[reportPrivateUsage]
        events = sys_db.tables.workflow_events
        query = sa.select(events.c.workflow_uuid, events.c.value, events.c.serialization).where(
            events.c.key == STATUS_EVENT, events.c.workflow_uuid.in_(run_ids)
        )
        with sys_db.engine.connect() as connection:
            rows = connection.execute(query).fetchall()
        return {row[0]: deserialize_value(row[1], row[2], sys_db.serializer) for row in rows}

    def list_runs(self, limit: int = 20, phase: Phase | None = None) -> list[RunSummary]:
        rows = self._client.list_workflows(
            name=RESEARCH_WORKFLOW, sort_desc=True, limit=limit, load_output=False, has_parent=False
        )
        # The history page lists up to 1,000 runs: their events in one query keep it under a second.
        events = self._status_events([workflow.workflow_id for workflow in rows])
        summaries = []
        for workflow in rows:
            status = self._reconcile(workflow, events.get(workflow.workflow_id))
            if phase is None or status.phase == phase:
                summaries.append(
                    RunSummary(
                        run_id=status.run_id,
                        question=status.question,
                        phase=status.phase,
                        created_at=status.created_at or _epoch_ms(workflow.created_at),
                        updated_at=status.updated_at,
                    )
                )
        return summaries

    # --- control ----------------------------------------------------------------------------------------

    def _descendants(self, run_id: str) -> list[WorkflowStatus]:
        """The run's child workflows and theirs, found through the steps that started them.

        A forked run's children can belong to the run it was forked from, so ids alone don't find them.
        """
        found: dict[str, None] = {}
        frontier = [run_id]
        while frontier:
            parent = frontier.pop()
            for step in self._client.list_workflow_steps(parent):
                child = step["child_workflow_id"]
                if child and child not in found and child != run_id:
                    found[child] = None
                    frontier.append(child)
        if not found:
            return []
        return self._client.list_workflows(workflow_ids=list(found), load_input=False, load_output=False)

    def timeline(self, run_id: str) -> list[TimelineBar]:
        """Bars for a Gantt chart of the run: each workflow, and the model requests, searches and waits
        recorded in it, from DBOS's own step records."""
        root = self._workflow(run_id)
        bars: list[TimelineBar] = []
        for workflow in [root, *self._descendants(run_id)]:
            steps = self._client.list_workflow_steps(workflow.workflow_id)
            bars.extend(_timeline_bars(workflow, _lane(workflow, run_id), steps))
        return bars

    def cancel(self, run_id: str) -> ResearchStatus:
        """Cancel the run and its unfinished child workflows."""
        self._workflow(run_id)
        self._client.cancel_workflow(run_id, cancel_children=True)
        return self.status(run_id)

    def resume(self, run_id: str) -> ResearchStatus:
        """Resume a cancelled or failed run from its last completed step (children first)."""
        workflow = self._workflow(run_id)
        if workflow.status == "SUCCESS":
            raise InputError(
                f"run {run_id} already completed; use `deep-research fork` to run part of it again"
            )
        for child in self._descendants(run_id):
            if child.status in ("CANCELLED", "MAX_RECOVERY_ATTEMPTS_EXCEEDED"):
                self._client.resume_workflow(child.workflow_id)
        self._client.resume_workflow(run_id)
        return self.status(run_id)

    def _awaiting_approval(self, run_id: str) -> ResearchStatus:
        status = self.status(run_id)
        if status.phase is not Phase.AWAITING_APPROVAL:
            hint = (
                "start a run with --review-plan to review its plan"
                if status.plan_review is None
                else f"its plan was already {status.plan_review}"
            )
            raise InputError(f"run {run_id} is {status.phase.value}, not awaiting approval; {hint}")
        return status

    def approve(self, run_id: str, plan: ResearchPlan | None = None) -> ResearchStatus:
        """Approve the plan of a run awaiting approval, or run `plan` (an edited one) instead.

        The decision is a message the run reads when it next runs, so it counts even while no worker is
        alive; only a run's first decision counts.
        """
        status = self._awaiting_approval(run_id)
        if plan is not None:
            try:
                plan = checked_plan(plan)
            except PlanEditError as error:
                raise InputError(str(error)) from None
        decision = PlanDecision(approved=True, plan=plan)
        self._client.send(run_id, decision, PLAN_REVIEW_TOPIC, idempotency_key=PLAN_REVIEW_KEY)
        return status

    def reject(self, run_id: str) -> ResearchStatus:
        """Reject the plan of a run awaiting approval: the run ends CANCELLED without searching."""
        status = self._awaiting_approval(run_id)
        decision = PlanDecision(approved=False)
        self._client.send(run_id, decision, PLAN_REVIEW_TOPIC, idempotency_key=PLAN_REVIEW_KEY)
        return status

    def fork(self, run_id: str, start: ForkPoint) -> str:
        """Start a new run that reuses `run_id`'s recorded steps before `start` and re-executes the rest."""
        self._workflow(run_id)
        steps = self._client.list_workflow_steps(run_id)
        wanted = _CHILD_NAMES[start]
        step_id = next((s["function_id"] for s in steps if s["function_name"] == wanted), None)
        if step_id is None:
            raise InputError(
                f"run {run_id} never reached its {start} step, so it cannot be forked from there"
            )
        return self._fork(run_id, steps, step_id, {})

    def _fork(
        self,
        run_id: str,
        steps: list[StepInfo],
        start_step: int,
        replacements: dict[str, str],
        new_id: str | None = None,
    ) -> str:
        """Fork `run_id` at `start_step` under a new id, its children in `replacements` swapped for new ones.

        When the fork waits for searches again, the control workflow its copied steps started is swapped for
        a fresh one too, so the fork can be told to finish; the fork gets the run's deadline afresh from
        when a worker starts it.
        """
        new_id = new_id or uuid.uuid4().hex[:12]
        options = self.status(run_id).options
        control = control_workflow_id(run_id)
        copied = any(s["child_workflow_id"] == control and s["function_id"] < start_step for s in steps)
        waits = any(s["function_name"] == "DBOS.waitFirst" and s["function_id"] >= start_step for s in steps)
        if copied and waits:  # the fork waits for searches again: it needs a control workflow of its own
            fresh = control_workflow_id(new_id)
            self._start(fresh, "await_control", INTERNAL_QUEUE_NAME, options, options.deadline)
            replacements = {**replacements, control: fresh}
        with SetWorkflowID(new_id):
            handle = self._client.fork_workflow(
                run_id,
                start_step,
                application_version=__version__,
                replacement_children=replacements or None,
                timeout_seconds=_hard_timeout(options),
            )
        return handle.get_workflow_id()

    def _start(
        self,
        workflow_id: str,
        name: str,
        queue: str,
        options: ResearchOptions,
        *args: Any,
        priority: int | None = None,
    ) -> None:
        """Enqueue workflow `name` of this release under `workflow_id`, bounded by the run's deadline.

        The deadline is counted from when a worker starts the workflow, not from now.
        """
        enqueue: EnqueueOptions = {
            "workflow_name": name,
            "queue_name": queue,
            "workflow_id": workflow_id,
            "app_version": __version__,
        }
        if priority is not None:
            enqueue["priority"] = priority
        timeout = _hard_timeout(options)
        if timeout is not None:
            enqueue["workflow_timeout"] = timeout
        self._client.enqueue(enqueue, *args)

    def finish(self, run_id: str) -> ResearchStatus:
        """Tell a searching run to stop: searches done are kept, those not started are skipped, those running
        get `finish_grace` seconds, and the analyst writes the report from what exists.

        Like every control it is a message, read by the run even if it resumes only after a restart.
        """
        status = self.status(run_id)
        if status.phase is not Phase.SEARCHING:
            hint = (
                "`cancel` stops a run outright"
                if not status.phase.finished
                else "`retry` reruns its failed or skipped searches"
            )
            raise InputError(f"run {run_id} is {status.phase.value}, not searching; {hint}")
        self._client.send(
            control_workflow_id(run_id), FinishRequest(), CONTROL_TOPIC, idempotency_key=FINISH_KEY
        )
        return status

    def _completed(self, run_id: str, action: str) -> tuple[ResearchStatus, list[StepInfo]]:
        status = self.status(run_id)
        if status.phase is not Phase.COMPLETED:
            raise InputError(
                f"run {run_id} is {status.phase.value}; only a completed run can be {action} "
                "(`resume` continues a failed or cancelled one)"
            )
        return status, self._client.list_workflow_steps(run_id)

    def retry(self, run_id: str) -> str:
        """A new run that reruns only `run_id`'s failed and skipped searches, then the analysis.

        It is a fork at the run's first wait for its searches: the searches that succeeded are reused as
        they are (their children are shared), the others are replaced by new children run afresh.
        """
        status, steps = self._completed(run_id, "retried")
        missing = [s.index for s in status.searches if not s.extra and s.state in _RETRYABLE]
        if not missing:
            raise InputError(
                f"run {run_id} has no failed or skipped search to retry; `rewrite` writes a new report"
            )
        first_wait = next((s["function_id"] for s in steps if s["function_name"] == "DBOS.waitFirst"), None)
        if first_wait is None:
            raise InputError(f"run {run_id} never waited for its searches, so there is nothing to retry")
        new_id_searches = {search_workflow_id(run_id, i): i for i in missing}
        originals = self._client.list_workflows(workflow_ids=list(new_id_searches), load_output=False)
        fork_id = uuid.uuid4().hex[:12]
        replacements = {}
        for row in originals:
            fresh = search_workflow_id(fork_id, new_id_searches[row.workflow_id])
            args = row.input["args"] if row.input else ()
            self._start(fresh, "run_search", SEARCH_QUEUE, status.options, *args)
            replacements[row.workflow_id] = fresh
        return self._fork(run_id, steps, first_wait, replacements, new_id=fork_id)

    def rewrite(self, run_id: str, analyst_model: str | None = None, instructions: str | None = None) -> str:
        """A new run with a new report written from `run_id`'s search results, no search run again.

        It forks the run just after it started its analysis, with that analysis swapped for a new one
        (another analyst model, other instructions) over the same results, extra searches included.
        """
        status, steps = self._completed(run_id, "rewritten")
        analysis_id = analyze_workflow_id(run_id)
        start = next((s["function_id"] for s in steps if s["child_workflow_id"] == analysis_id), None)
        rows = self._client.list_workflows(workflow_ids=[analysis_id])
        if start is None or not rows or rows[0].status != "SUCCESS" or rows[0].input is None:
            raise InputError(f"run {run_id} has no finished analysis to rewrite (its report is partial)")
        if instructions is not None and not instructions.strip():
            raise InputError("--instructions is empty; give the analyst something to do, or leave it out")
        model = analyst_model or status.options.analyst_model
        if model != OFFLINE:
            try:
                check_online_models(self.settings, [model])
            except ModelConfigError as error:
                raise InputError(str(error)) from None
        _, question, plan, outcomes, options, budget, *_ = rows[0].input["args"]
        earlier = rows[0].output
        assert isinstance(earlier, AnalysisOutcome)
        request = RewriteRequest(
            original_run_id=run_id, analyst_model=analyst_model, instructions=instructions
        )
        options = options.model_copy(
            update={
                "analyst_model": model,
                "offline": options.offline and model == OFFLINE,
                "max_extra_searches": len(earlier.extra_searches),  # no new searches
            }
        )
        if instructions is not None:
            plan = plan.model_copy(update={"analysis_instructions": instructions.strip()})
        fork_id = uuid.uuid4().hex[:12]
        fresh = analyze_workflow_id(fork_id)
        args = (fork_id, question, plan, outcomes, options, budget, request, earlier.extra_searches)
        self._start(fresh, "analyze_findings", INTERNAL_QUEUE_NAME, options, *args)
        return self._fork(run_id, steps, start + 1, {analysis_id: fresh}, new_id=fork_id)

    # --- workers ----------------------------------------------------------------------------------------

    def executors(self) -> list[ExecutorInfo]:
        """Every executor id that has run a workflow here, whether a live worker holds it, and its backlog."""
        # DBOSClient has no aggregate query, so this reads DBOS's workflow table directly (read-only).
        sys_db = self._client._sys_db  # pyright: ignore[reportPrivateUsage]
        table = sys_db.tables.workflow_status
        counts = (
            sa.select(
                table.c.executor_id,
                table.c.status,
                sa.func.count().label("n"),
                sa.func.max(table.c.updated_at).label("last"),
            )
            .where(table.c.executor_id.is_not(None))
            .group_by(table.c.executor_id, table.c.status)
        )
        pending_runs = sa.select(table.c.executor_id, table.c.workflow_uuid).where(
            table.c.status == "PENDING",
            table.c.name == RESEARCH_WORKFLOW,
            table.c.parent_workflow_id.is_(None),
        )
        with sys_db.engine.connect() as connection:
            count_rows = connection.execute(counts).fetchall()
            run_rows = connection.execute(pending_runs).fetchall()
        found: dict[str, ExecutorInfo] = {}
        for executor_id, state, n, last in count_rows:
            info = found.setdefault(executor_id, ExecutorInfo(executor_id=executor_id, alive=False))
            if state == "PENDING":
                info.pending_workflows += n
            elif state == "SUCCESS":
                info.completed_workflows += n
            seen = _epoch_ms(last)
            if seen and (info.last_seen is None or seen > info.last_seen):
                info.last_seen = seen
        for executor_id, run_id in run_rows:  # a run can start between the two reads: no count row yet
            info = found.setdefault(executor_id, ExecutorInfo(executor_id=executor_id, alive=False))
            info.pending_runs.append(run_id)
        for info in found.values():
            info.alive = executor_is_busy(self.settings, info.executor_id)
        return sorted(found.values(), key=lambda info: info.executor_id)

    def any_worker_alive(self) -> bool:
        """Whether some worker (this install's or another sharing the database) will pick up queued work."""
        return executor_is_busy(self.settings) or any(e.alive for e in self.executors())

    def recover(self, executor_id: str) -> RecoveryResult:
        """Hand a dead executor's unfinished workflows back to the queues, for any live worker to resume.

        Refuses (`InputError`) while a live worker holds `executor_id`: that worker is still running them.
        The executor's lock is held while recovering, so the dead worker cannot come back half-way.
        """
        executor_id = validate_executor_id(executor_id)
        sys_db = self._client._sys_db  # pyright: ignore[reportPrivateUsage]
        try:
            with executor_lock(self.settings, executor_id):
                recovered = hand_back(sys_db, executor_id)  # a second `recover` finds nothing
                others = self._client.list_workflows(
                    status="PENDING", executor_id=executor_id, load_input=False, load_output=False
                )
        except ExecutorBusyError as error:
            raise InputError(
                f"executor {executor_id!r} is alive (a worker holds its lock); it resumes its own runs. "
                "Stop that worker first if it is stuck."
            ) from error
        rows = (
            self._client.list_workflows(workflow_ids=recovered, load_input=False, load_output=False)
            if recovered
            else []
        )
        other_versions: dict[str, int] = {}
        for row in others:
            version = row.app_version or "unknown"
            other_versions[version] = other_versions.get(version, 0) + 1
        return RecoveryResult(
            executor_id=executor_id,
            runs=[
                row.workflow_id
                for row in rows
                if row.name == RESEARCH_WORKFLOW and not row.parent_workflow_id
            ],
            workflows=len(recovered),
            other_versions=other_versions,
        )
