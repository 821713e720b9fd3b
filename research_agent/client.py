"""Everything a CLI or UI does to runs, through `DBOSClient` (this module never launches DBOS).

A client enqueues runs on the `research` queue, reads their `status` event, lists, cancels, resumes and
forks them. It can be restarted at any time: all state lives in the database.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any, Literal, TypeVar

from dbos import (
    DBOS,
    DBOSClient,
    EnqueueOptions,
    SetWorkflowID,
    StepInfo,
    WorkflowStatus,
    WorkflowStatusString,
)
from pydantic import BaseModel, ValidationError

from . import __version__
from ._dbos import (
    INTERNAL_QUEUE_NAME,
    event_history,
    events_of,
    executor_counts,
    hand_back,
    read_pickles_safely,
    refused_rows,
    stream_history,
    system_database,
)
from .controls import (
    CONTROL_TOPIC,
    DEADLINE_MARGIN,
    FINISH_KEY,
    PLAN_REVIEW_KEY,
    PLAN_REVIEW_TOPIC,
    PlanEditError,
    checked_plan,
)
from .database import (
    ExecutorBusyError,
    check_database,
    executor_is_busy,
    executor_lock,
    normalized_database_url,
    validate_executor_id,
)
from .heartbeats import fresh_executors
from .naming import (
    ANALYZE_WORKFLOW,
    CONTROL_WORKFLOW,
    PLAN_WORKFLOW,
    REPORT_TEXT_STREAM,
    RESEARCH_QUEUE,
    RESEARCH_WORKFLOW,
    SEARCH_QUEUE,
    SEARCH_WORKFLOW,
    analyze_workflow_id,
    control_workflow_id,
    search_workflow_id,
)
from .options import (
    InputError,
    RunNotFoundError,
    batch_run_id,
    validate_instructions,
    validate_model_name,
    validate_question,
    validate_run_id,
)
from .pricing import run_prices
from .providers import OFFLINE, ModelConfigError, check_online_models
from .schema import (
    STATUS_EVENT,
    AnalysisOutcome,
    BatchEntry,
    ExecutorInfo,
    FinishRequest,
    Phase,
    PlanDecision,
    RecoveryResult,
    ReportTextChunk,
    ResearchOptions,
    ResearchPlan,
    ResearchStatus,
    RewriteRequest,
    RunSummary,
    SearchState,
    TimelineBar,
)
from .settings import Settings
from .timeline import epoch_ms, lane_of, workflow_bars
from .unpickling import RefusedRecord

INTERACTIVE_PRIORITY = 1
"""Queue priority of runs a person waits for (UI, `run`); lower numbers are dequeued first."""
BATCH_PRIORITY = 10
"""Queue priority of `submit --file` runs, so interactive runs overtake a long batch."""
ForkPoint = Literal["plan", "search", "analyze"]
_RETRYABLE = (SearchState.FAILED, SearchState.SKIPPED)
_CHILD_NAMES: dict[ForkPoint, str] = {
    "plan": PLAN_WORKFLOW,
    "search": SEARCH_WORKFLOW,
    "analyze": ANALYZE_WORKFLOW,
}
_ENDED = [
    WorkflowStatusString.SUCCESS.value,
    WorkflowStatusString.ERROR.value,
    WorkflowStatusString.CANCELLED.value,
    WorkflowStatusString.MAX_RECOVERY_ATTEMPTS_EXCEEDED.value,
]
_FAILED = (WorkflowStatusString.ERROR.value, WorkflowStatusString.MAX_RECOVERY_ATTEMPTS_EXCEEDED.value)


_Stored = TypeVar("_Stored", bound=BaseModel)


class UnreadableRunError(InputError):
    """A run stores a value deep-research never writes (see `unpickling`): it is not handed to a worker."""


def new_run_id() -> str:
    """A fresh run id: 12 hex digits."""
    return uuid.uuid4().hex[:12]


_HANDED_BACK_AS_QUEUED = frozenset(
    phase for phase in Phase if not phase.finished and phase is not Phase.AWAITING_APPROVAL
)
"""The phases a run handed back to the queue shows as QUEUED (it is waiting for a worker, not working)."""


def _stored(model: type[_Stored], value: object) -> _Stored | None:
    """A value a run stored, read as `model`; None when it is not one (refused, or of another shape)."""
    try:
        return model.model_validate(value) if isinstance(value, dict) else None
    except ValidationError:
        return None


def _hard_timeout(options: ResearchOptions) -> float | None:
    """The DBOS workflow timeout of a run with a deadline: the deadline plus time for a partial report."""
    return None if options.deadline is None else options.deadline + DEADLINE_MARGIN


class ResearchClient:
    """Submit and manage runs stored in the database of `settings`."""

    def __init__(self, settings: Settings) -> None:
        check_database(settings)
        self.settings = settings
        read_pickles_safely()
        self._client = DBOSClient(
            system_database_url=normalized_database_url(settings), retry_connection_errors=False
        )
        # A client may be first to touch a fresh database; create DBOS's tables so enqueueing works.
        DBOS.migrate(normalized_database_url(settings))

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
        run_id = validate_run_id(run_id) if run_id else new_run_id()
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
        try:
            event = self._client.get_event(run_id, STATUS_EVENT, timeout_seconds=0)
        except RefusedRecord as refused:
            event = refused
        return self._reconcile(workflow, event)

    def _reconcile(
        self, workflow: WorkflowStatus, event: dict[str, Any] | RefusedRecord | None
    ) -> ResearchStatus:
        if isinstance(event, dict):
            status = ResearchStatus.model_validate(event)
        else:
            # DBOS hands back an input it could not read as the stored text: then nothing of it is used.
            readable = isinstance(workflow.input, dict)
            args = workflow.input["args"] if readable and workflow.input else ("", ResearchOptions())
            status = ResearchStatus(
                run_id=workflow.workflow_id,
                question=str(args[0]) if isinstance(args[0], str) else "",
                options=args[1] if isinstance(args[1], ResearchOptions) else ResearchOptions(),
                phase=Phase.QUEUED,
                created_at=epoch_ms(workflow.created_at),
            )
        if isinstance(event, RefusedRecord):
            status.phase = Phase.FAILED
            status.error = f"this run's stored status cannot be read safely: {event}"
        if workflow.status == WorkflowStatusString.CANCELLED.value and not status.phase.finished:
            status.phase = Phase.CANCELLED
        elif (
            workflow.status == WorkflowStatusString.ENQUEUED.value and status.phase in _HANDED_BACK_AS_QUEUED
        ):
            # Handed back to the queue by a stopping worker: its last status says where it had got to,
            # but it waits for a worker now, and resumes from its last completed step. A run awaiting its
            # plan's approval still says so: the person's answer is kept until a worker takes it up.
            status.phase = Phase.QUEUED
        elif workflow.status in _FAILED and status.phase != Phase.FAILED:
            status.phase = Phase.FAILED
            status.error = status.error or self._error_of(workflow)
        status.updated_at = status.updated_at or epoch_ms(workflow.updated_at)
        status.run_id = workflow.workflow_id  # a fork's copied events name the run it was forked from
        status.forked_from = workflow.forked_from
        if workflow.was_forked_from:
            forks = self._client.list_workflows(forked_from=workflow.workflow_id, load_input=False)
            status.forks = [fork.workflow_id for fork in forks]
        return status

    def _error_of(self, workflow: WorkflowStatus) -> str:
        """Why DBOS ended `workflow` in error (read only then: a status is read without outputs)."""
        error = workflow.error
        if error is None:
            rows = self._client.list_workflows(workflow_ids=[workflow.workflow_id], load_input=False)
            error = rows[0].error if rows else None
        return str(error or workflow.status)

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
            status=_ENDED,
            load_input=False,
            load_output=False,
        )
        return {row.workflow_id: self._reconcile_phase(row) for row in rows}

    def _reconcile_phase(self, workflow: WorkflowStatus) -> Phase:
        try:
            event = self._client.get_event(workflow.workflow_id, STATUS_EVENT, timeout_seconds=0)
        except RefusedRecord as refused:
            event = refused
        return self._reconcile(workflow, event).phase

    def _status_events(self, run_ids: list[str]) -> dict[str, Any]:
        """The last `status` event of each of `run_ids` that has one, in one query (not one per run)."""
        return events_of(self._client, STATUS_EVENT, run_ids)

    def published_statuses(self, after: dict[str, int]) -> list[tuple[str, int, ResearchStatus | None]]:
        """Every status each run of `after` published after its step `after[run_id]`, as (run id, step,
        status) in the order published; None for a stored status that cannot be read safely.

        One query for all the runs. Each status a run published is recorded once with the step that
        published it, so reading on from the last step seen misses nothing and repeats nothing, across
        worker crashes and recoveries (the HTTP API's progress stream reads this way).
        """
        found: list[tuple[str, int, ResearchStatus | None]] = []
        for run_id, step, value in event_history(self._client, STATUS_EVENT, after):
            status = _stored(ResearchStatus, value)
            if status is not None:
                status.run_id = run_id  # a fork's copied events name the run it was forked from
            found.append((run_id, step, status))
        return found

    def report_text(self, after: dict[str, int]) -> list[tuple[str, int, ReportTextChunk | None]]:
        """The pieces of report text each run of `after` published past offset `after[run_id]` (-1: from
        the start), as (run id, offset, chunk) in order; None for a piece that cannot be read safely.

        One query for all the runs: the analyst writes the text to its analysis workflow's stream as it
        goes (`ResearchOptions.stream_report`); see `ReportTextChunk` for putting the pieces together.
        """
        analyses = {analyze_workflow_id(run_id): run_id for run_id in after}
        found: list[tuple[str, int, ReportTextChunk | None]] = []
        offsets = {analysis: after[run_id] for analysis, run_id in analyses.items()}
        for workflow_id, offset, value in stream_history(self._client, REPORT_TEXT_STREAM, offsets):
            found.append((analyses[workflow_id], offset, _stored(ReportTextChunk, value)))
        return found

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
                        created_at=status.created_at or epoch_ms(workflow.created_at),
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
            bars.extend(workflow_bars(workflow, lane_of(workflow, run_id), steps))
        return bars

    def cancel(self, run_id: str) -> ResearchStatus:
        """Cancel the run and its unfinished child workflows."""
        self._workflow(run_id)
        self._client.cancel_workflow(run_id, cancel_children=True)
        return self.status(run_id)

    def resume(self, run_id: str) -> ResearchStatus:
        """Resume a cancelled or failed run from its last completed step (children first)."""
        workflow = self._workflow(run_id)
        if workflow.status == WorkflowStatusString.SUCCESS.value:
            raise InputError(
                f"run {run_id} already completed; use `deep-research fork` to run part of it again"
            )
        self._check_readable(run_id, "resumed")
        for child in self._descendants(run_id):
            if child.status in (
                WorkflowStatusString.CANCELLED.value,
                WorkflowStatusString.MAX_RECOVERY_ATTEMPTS_EXCEEDED.value,
            ):
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
        self._check_readable(run_id, "forked")
        steps = self._client.list_workflow_steps(run_id)
        wanted = _CHILD_NAMES[start]
        step_id = next((s["function_id"] for s in steps if s["function_name"] == wanted), None)
        if step_id is None:
            raise InputError(
                f"run {run_id} never reached its {start} step, so it cannot be forked from there"
            )
        return self._fork(run_id, steps, step_id, {})

    def _check_readable(self, run_id: str, action: str) -> None:
        """Refuse to hand a run to the workers when a value it stored would be refused in their replay."""
        workflow_ids = [run_id, *(child.workflow_id for child in self._descendants(run_id))]
        refused = refused_rows(self._client, workflow_ids)
        if refused:
            more = f" (and {len(refused) - 1} more rows)" if len(refused) > 1 else ""
            raise UnreadableRunError(
                f"run {run_id} was not {action}: it stores values deep-research never writes, so a "
                f"worker would refuse them; {refused[0]}{more}"
            )

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
        new_id = new_id or new_run_id()
        options = self.status(run_id).options
        control = control_workflow_id(run_id)
        copied = any(s["child_workflow_id"] == control and s["function_id"] < start_step for s in steps)
        waits = any(s["function_name"] == "DBOS.waitFirst" and s["function_id"] >= start_step for s in steps)
        if copied and waits:  # the fork waits for searches again: it needs a control workflow of its own
            fresh = control_workflow_id(new_id)
            self._start(fresh, CONTROL_WORKFLOW, INTERNAL_QUEUE_NAME, options, options.deadline)
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
        self._check_readable(run_id, action)
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
        fork_id = new_run_id()
        replacements = {}
        for row in originals:
            fresh = search_workflow_id(fork_id, new_id_searches[row.workflow_id])
            args = row.input["args"] if row.input else ()
            self._start(fresh, SEARCH_WORKFLOW, SEARCH_QUEUE, status.options, *args)
            replacements[row.workflow_id] = fresh
        return self._fork(run_id, steps, first_wait, replacements, new_id=fork_id)

    def rewrite(self, run_id: str, analyst_model: str | None = None, instructions: str | None = None) -> str:
        """A new run with a new report written from `run_id`'s search results, no search run again.

        It forks the run just after it started its analysis, with that analysis swapped for a new one
        (another analyst model, other instructions) over the same results, extra searches included.
        """
        if instructions is not None:
            instructions = validate_instructions(instructions)
        if analyst_model is not None:
            analyst_model = validate_model_name(analyst_model, "--analyst-model")
        status, steps = self._completed(run_id, "rewritten")
        analysis_id = analyze_workflow_id(run_id)
        start = next((s["function_id"] for s in steps if s["child_workflow_id"] == analysis_id), None)
        rows = self._client.list_workflows(workflow_ids=[analysis_id])
        if (
            start is None
            or not rows
            or rows[0].status != WorkflowStatusString.SUCCESS.value
            or rows[0].input is None
        ):
            raise InputError(f"run {run_id} has no finished analysis to rewrite (its report is partial)")
        model = analyst_model or status.options.analyst_model
        if model != OFFLINE:
            try:
                check_online_models(self.settings, [model])
            except ModelConfigError as error:
                raise InputError(str(error)) from None
        _, question, plan, outcomes, options, budget, *_ = rows[0].input["args"]
        prices = {**options.model_prices, **run_prices([model], self.settings.model_prices)}
        if budget is not None and budget.cost is not None and model not in prices:
            raise InputError(
                f"run {run_id} has a cost budget and {model} has no known price; set it in RESEARCH_MODEL_PRICES"
            )
        earlier = rows[0].output
        assert isinstance(earlier, AnalysisOutcome)
        request = RewriteRequest(
            original_run_id=run_id, analyst_model=analyst_model, instructions=instructions
        )
        options = options.model_copy(
            update={
                "analyst_model": model,
                "model_prices": prices,
                "offline": options.offline and model == OFFLINE,
                "max_extra_searches": len(earlier.extra_searches),  # no new searches
            }
        )
        if instructions is not None:
            plan = plan.model_copy(update={"analysis_instructions": instructions})
        fork_id = new_run_id()
        fresh = analyze_workflow_id(fork_id)
        args = (fork_id, question, plan, outcomes, options, budget, request, earlier.extra_searches)
        self._start(fresh, ANALYZE_WORKFLOW, INTERNAL_QUEUE_NAME, options, *args)
        return self._fork(run_id, steps, start + 1, {analysis_id: fresh}, new_id=fork_id)

    # --- workers ----------------------------------------------------------------------------------------

    def executors(self) -> list[ExecutorInfo]:
        """Every executor id that has run a workflow here, whether a live worker holds it, and its backlog."""
        # DBOSClient has no aggregate query, so this reads DBOS's workflow table directly (read-only).
        count_rows, run_rows = executor_counts(self._client, RESEARCH_WORKFLOW)
        found: dict[str, ExecutorInfo] = {}
        for executor_id, state, n, last in count_rows:
            info = found.setdefault(executor_id, ExecutorInfo(executor_id=executor_id, alive=False))
            if state == WorkflowStatusString.PENDING.value:
                info.pending_workflows += n
            elif state == WorkflowStatusString.SUCCESS.value:
                info.completed_workflows += n
            seen = epoch_ms(last)
            if seen and (info.last_seen is None or seen > info.last_seen):
                info.last_seen = seen
        for executor_id, run_id in run_rows:  # a run can start between the two reads: no count row yet
            info = found.setdefault(executor_id, ExecutorInfo(executor_id=executor_id, alive=False))
            info.pending_runs.append(run_id)
        for executor_id in fresh_executors(system_database(self._client).engine):  # none run yet
            found.setdefault(executor_id, ExecutorInfo(executor_id=executor_id, alive=False))
        for info in found.values():
            info.alive = executor_is_busy(self.settings, info.executor_id)
        return sorted(found.values(), key=lambda info: info.executor_id)

    def live_workers(self) -> list[str]:
        """The executor ids of the workers serving this database's queues now, whatever host they run on:
        a fresh heartbeat, confirmed by the executor's lock (a worker killed a moment ago still has a
        fresh row, never the lock). A command running its own research in-process is not one."""
        beating = fresh_executors(system_database(self._client).engine)
        return [executor_id for executor_id in beating if executor_is_busy(self.settings, executor_id)]

    def any_worker_alive(self) -> bool:
        """Whether some worker (this install's or another sharing the database) will pick up queued work."""
        return bool(self.live_workers())

    def recover(self, executor_id: str) -> RecoveryResult:
        """Hand a dead executor's unfinished workflows back to the queues, for any live worker to resume.

        Refuses (`InputError`) while a live worker holds `executor_id`: that worker is still running them.
        The executor's lock is held while recovering, so the dead worker cannot come back half-way.
        """
        executor_id = validate_executor_id(executor_id)
        try:
            with executor_lock(self.settings, executor_id):
                recovered = hand_back(
                    system_database(self._client), executor_id, __version__
                )  # a second `recover` finds nothing
                others = self._client.list_workflows(
                    status=WorkflowStatusString.PENDING.value,
                    executor_id=executor_id,
                    load_input=False,
                    load_output=False,
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
