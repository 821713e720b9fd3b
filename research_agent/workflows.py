"""The durable research: `deep_research` and its child workflows.

    deep_research(question, options)            run id R (chosen by the client)
      ├─ plan_research        R-plan            planner agent → ResearchPlan
      ├─ (review_plan)        DBOS.recv         waits in AWAITING_APPROVAL for a PlanDecision
      ├─ run_search × N       R-search-1..N     searcher agent → SearchFindings (started together)
      └─ analyze_findings     R-analyze         analyst agent → ResearchReport
             └─ run_search    R-extra-1..K      one per `extra_search` tool call

After every change `deep_research` publishes the run's `ResearchStatus` as event `status`. Workflow code
does nothing non-deterministic itself: time comes from the `clock` step, I/O from model and search steps.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dbos import DBOS, PropagateOtelContext, SetWorkflowID
from dbos._error import DBOSException, DBOSMaxStepRetriesExceeded  # not re-exported by dbos
from pydantic_ai.usage import RunUsage

from . import agents
from .agents import AnalystDeps, PlannerDeps, SearchDeps
from .citations import check_citations
from .controls import PLAN_REVIEW_TOPIC, REVIEW_WAIT_SECONDS
from .observability import annotate_status, keep_trace_for_recovery
from .prompts import analyst_prompt, planner_prompt, search_prompt
from .retries import describe_failure
from .runtime import SEARCH_QUEUE
from .schema import (
    STATUS_EVENT,
    AnalysisOutcome,
    CitationCheck,
    NumberedSource,
    Phase,
    PlanDecision,
    PlanOutcome,
    ResearchOptions,
    ResearchPlan,
    ResearchReport,
    ResearchStatus,
    SearchOutcome,
    SearchProgress,
    SearchState,
    SearchStep,
    Source,
    Usage,
    cite,
)
from .search.domains import domain_allowed

RESULT_POLL_INTERVAL = 0.05
"""Seconds between checks for a queued child's result (DBOS's default, 1 s, would idle a run that long)."""


def plan_workflow_id(run_id: str) -> str:
    return f"{run_id}-plan"


def search_workflow_id(run_id: str, index: int) -> str:
    return f"{run_id}-search-{index}"


def analyze_workflow_id(run_id: str) -> str:
    return f"{run_id}-analyze"


def extra_workflow_id(run_id: str, index: int) -> str:
    return f"{run_id}-extra-{index}"


@DBOS.step(name="clock")
async def clock() -> datetime:
    """The current time, recorded so that a replayed workflow sees the same value."""
    return datetime.now(UTC)


def _usage(run_usage: RunUsage) -> Usage:
    return Usage(
        requests=run_usage.requests,
        input_tokens=run_usage.input_tokens,
        output_tokens=run_usage.output_tokens,
        tool_calls=run_usage.tool_calls,
    )


def _model(model_id: str, options: ResearchOptions) -> str | None:
    """The model to pass to `agent.run`: None selects the agent's built-in offline model."""
    return None if options.offline else model_id


@DBOS.workflow(name="plan_research")
async def plan_research(question: str, options: ResearchOptions) -> PlanOutcome:
    """Ask the planner for a research plan."""
    result = await agents.planner.run(
        planner_prompt(question, options.max_searches, options.corpus),
        model=_model(options.planner_model, options),
        deps=PlannerDeps(max_searches=options.max_searches),
    )
    return PlanOutcome(plan=result.output, usage=_usage(result.usage))


@DBOS.workflow(name="run_search")
async def run_search(index: int, step: SearchStep, options: ResearchOptions) -> SearchOutcome:
    """Run one search step with the search agent; a failure becomes an outcome with an error, not a crash."""
    started_at = await clock()
    returned: list[Source] = []
    try:
        if options.search_backend == "builtin":
            result = await agents.web_searcher.run(
                search_prompt(step.query, step.rationale, options.corpus), model=options.search_model
            )
        else:
            deps = SearchDeps(
                backend=options.search_backend,
                corpus=options.corpus,
                max_results=options.max_results,
                allow_domains=options.allow_domains,
                deny_domains=options.deny_domains,
            )
            result = await agents.searcher.run(
                search_prompt(step.query, step.rationale, options.corpus),
                model=_model(options.search_model, options),
                deps=deps,
            )
            returned = [
                Source(**hit.model_dump(include={"title", "url", "location", "snippet"})) for hit in deps.hits
            ]
    except Exception as error:
        # DBOS's own errors (non-determinism, cancelled children) are not a failed search; a step that
        # used up its retries is.
        if isinstance(error, DBOSException) and not isinstance(error, DBOSMaxStepRetriesExceeded):
            raise
        return SearchOutcome(
            index=index,
            query=step.query,
            error=describe_failure(error),
            started_at=started_at,
            finished_at=await clock(),
        )
    findings = result.output
    if options.allow_domains or options.deny_domains:
        # A provider's built-in web search returns no raw results to filter: its findings are held to the lists.
        kept = [
            s for s in findings.sources if domain_allowed(s.url, options.allow_domains, options.deny_domains)
        ]
        findings = findings.model_copy(update={"sources": kept})
    return SearchOutcome(
        index=index,
        query=step.query,
        findings=findings,
        returned=returned,
        usage=_usage(result.usage),
        started_at=started_at,
        finished_at=await clock(),
    )


def number_sources(outcomes: list[SearchOutcome]) -> dict[str, NumberedSource]:
    """Give every distinct source one citation number, in the order the searches list them."""
    numbered: dict[str, NumberedSource] = {}
    for outcome in outcomes:
        for source in outcome.findings.sources if outcome.findings else []:
            cite(numbered, source)
    return numbered


async def start_extra_search(deps: AnalystDeps, query: str) -> SearchOutcome:
    """Run the analyst's extra search as child workflow `{run}-extra-{k}`, through the `search` queue."""
    index = len(deps.extra_searches) + 1
    step = SearchStep(query=query, rationale="Extra search requested by the analyst.")
    with SetWorkflowID(extra_workflow_id(deps.run_id, index)), PropagateOtelContext():
        handle = await DBOS.enqueue_workflow_async(SEARCH_QUEUE, run_search, index, step, deps.options)
    return await handle.get_result(polling_interval_sec=RESULT_POLL_INTERVAL)


@DBOS.workflow(name="analyze_findings")
async def analyze_findings(
    run_id: str, question: str, plan: ResearchPlan, outcomes: list[SearchOutcome], options: ResearchOptions
) -> AnalysisOutcome:
    """Have the analyst write the report; its citations are resolved against the numbered sources."""
    numbered = number_sources(outcomes)
    deps = AnalystDeps(run_id=run_id, options=options, sources=numbered)
    result = await agents.analyst.run(
        analyst_prompt(question, plan, outcomes, numbered),
        model=_model(options.analyst_model, options),
        deps=deps,
    )
    draft = result.output
    report = ResearchReport(title=draft.title, body=draft.body)
    cited = set(report.cited_numbers())
    report.sources = [source for source in deps.sources.values() if source.number in cited]
    # The extra searches' own usage is counted with each of them, under the search model.
    return AnalysisOutcome(report=report, usage=_usage(result.usage), extra_searches=deps.extra_searches)


@DBOS.step(name="check_citations")
async def verify_citations(
    report: ResearchReport, outcomes: list[SearchOutcome]
) -> tuple[ResearchReport, CitationCheck]:
    """Remove citations that do not resolve to what a search returned (recorded, shown on the timeline)."""
    return check_citations(report, outcomes)


async def _publish(status: ResearchStatus, updated_at: datetime | None = None) -> None:
    status.sequence += 1
    status.updated_at = updated_at or status.updated_at
    annotate_status(status)
    await DBOS.set_event_async(STATUS_EVENT, status.to_event())


def _record_search(status: ResearchStatus, outcome: SearchOutcome, progress: SearchProgress) -> None:
    progress.state = SearchState.DONE if outcome.findings is not None else SearchState.FAILED
    progress.sources = list(outcome.findings.sources) if outcome.findings else []
    progress.source_count = len(progress.sources)
    progress.error = outcome.error
    progress.started_at = outcome.started_at
    progress.finished_at = outcome.finished_at
    status.add_usage(status.options.search_model, outcome.usage)


async def _receive_decision(timeout: float) -> PlanDecision | None:
    message = await DBOS.recv_async(PLAN_REVIEW_TOPIC, timeout_seconds=timeout)
    return message if isinstance(message, PlanDecision) else None


async def review_plan(status: ResearchStatus, plan: ResearchPlan) -> ResearchPlan | None:
    """Wait in AWAITING_APPROVAL for a person's decision: the plan to run, or None when it is rejected.

    The wait is a durable `DBOS.recv`, so it outlasts worker restarts, and a decision sent while no worker
    runs is read when the run resumes. Without a review timeout it waits in hour-long slices, for ever.
    """
    options = status.options
    status.phase = Phase.AWAITING_APPROVAL
    now = await clock()
    if options.review_timeout is not None:
        status.review_deadline = now + timedelta(seconds=options.review_timeout)
    await _publish(status, now)
    if options.review_timeout is not None:
        decision = await _receive_decision(options.review_timeout)
    else:
        decision = None
        while decision is None:
            decision = await _receive_decision(REVIEW_WAIT_SECONDS)
    status.review_deadline = None
    if decision is None:
        approved = options.review_timeout_action == "approve"
        status.plan_review = f"{'approved' if approved else 'cancelled'} after the review timeout"
        return plan if approved else None
    if not decision.approved:
        status.plan_review = "rejected"
        return None
    if decision.plan is not None and decision.plan != plan:
        status.plan_review = "edited"
        return decision.plan
    status.plan_review = "approved"
    return plan


@DBOS.workflow(name="deep_research")
async def deep_research(question: str, options: ResearchOptions) -> ResearchReport | None:
    """Plan, search in parallel, analyse; the workflow id is the run id. None: the plan was rejected."""
    run_id = DBOS.workflow_id
    assert run_id is not None
    await keep_trace_for_recovery(run_id)
    created_at = await clock()
    status = ResearchStatus(run_id=run_id, question=question, options=options, created_at=created_at)
    await _publish(status, created_at)
    try:
        # Children carry the trace context too, so one recovered on its own stays in the run's trace.
        with SetWorkflowID(plan_workflow_id(run_id)), PropagateOtelContext():
            planned = await plan_research(question, options)
        plan = planned.plan
        status.plan = plan
        status.add_usage(options.planner_model, planned.usage)
        if options.review_plan:
            reviewed = await review_plan(status, plan)
            if reviewed is None:
                status.phase = Phase.CANCELLED
                status.error = f"The plan was {status.plan_review}; nothing was searched."
                await _publish(status, await clock())
                return None
            plan = status.plan = reviewed
        status.phase = Phase.SEARCHING
        status.searches = [
            SearchProgress(index=i, query=step.query, rationale=step.rationale, state=SearchState.RUNNING)
            for i, step in enumerate(plan.search_steps, start=1)
        ]
        await _publish(status, await clock())

        handles = []
        for i, step in enumerate(plan.search_steps, start=1):
            with SetWorkflowID(search_workflow_id(run_id, i)), PropagateOtelContext():
                # Queued, not started: the `search` queue holds every worker to global limits.
                handles.append(await DBOS.enqueue_workflow_async(SEARCH_QUEUE, run_search, i, step, options))
        outcomes: list[SearchOutcome] = []
        # Publish each search as it finishes. `wait_first` is itself a recorded step, so a recovered run
        # sees the searches finish in the order it saw before the crash and replays step for step.
        pending = list(handles)
        while pending:
            finished = await DBOS.wait_first_async(pending, polling_interval_sec=RESULT_POLL_INTERVAL)
            pending.remove(finished)
            outcome = await finished.get_result()
            outcomes.append(outcome)
            _record_search(status, outcome, status.searches[outcome.index - 1])
            await _publish(status, outcome.finished_at)
        outcomes.sort(key=lambda o: o.index)

        status.phase = Phase.ANALYZING
        await _publish(status)
        with SetWorkflowID(analyze_workflow_id(run_id)), PropagateOtelContext():
            analysis = await analyze_findings(run_id, question, plan, outcomes, options)
        for extra in analysis.extra_searches:
            progress = SearchProgress(index=len(status.searches) + 1, query=extra.query, extra=True)
            _record_search(status, extra, progress)
            status.searches.append(progress)
        status.add_usage(options.analyst_model, analysis.usage)
        status.report, status.citations = await verify_citations(
            analysis.report, outcomes + analysis.extra_searches
        )
        status.phase = Phase.COMPLETED
        await _publish(status, await clock())
        return status.report
    except Exception as error:
        status.phase = Phase.FAILED
        status.error = describe_failure(error)
        await _publish(status, await clock())
        raise
