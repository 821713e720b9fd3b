"""The durable research: `deep_research` and its child workflows.

    deep_research(question, options)            run id R (chosen by the client)
      ├─ plan_research        R-plan            planner agent → ResearchPlan
      ├─ (review_plan)        DBOS.recv         waits in AWAITING_APPROVAL for a PlanDecision
      ├─ run_search × N       R-search-1..N     searcher agent → SearchFindings (queued together)
      ├─ await_control        R-control         waits for `finish` (or the deadline) while searches run
      ├─ (await_control)      R-grace           the grace period of searches still running after `finish`
      └─ analyze_findings     R-analyze         analyst agent → ResearchReport
             └─ run_search    R-extra-1..K      one per `extra_search` tool call

Budgets (model requests, tokens) are shared out before each part runs, from the usage recorded so far, so a
recovered run never gets a fresh budget. A deadline stops the searches at the deadline and bounds the analysis
with a DBOS workflow timeout; when the analyst cannot write the report, the run ends with a partial report
built from the findings, saying why.

After every change `deep_research` publishes the run's `ResearchStatus` as event `status`. Workflow code
does nothing non-deterministic that steers it: time comes from the `clock` step, I/O from model and search
steps (a search's own start and end times, only shown, are read from the wall clock).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from dbos import (
    DBOS,
    PropagateOtelContext,
    SetWorkflowID,
    SetWorkflowTimeout,
    WorkflowHandleAsync,
    WorkflowStatus,
    WorkflowStatusString,
)
from dbos import error as dbos_error
from pydantic_ai.exceptions import UsageLimitExceeded
from pydantic_ai.models.openai import OpenAIResponsesModelSettings
from pydantic_ai.usage import RunUsage, UsageLimits

from . import agents
from ._dbos import wake_queue_threads, workflow_deadline_epoch_ms
from .agents import AnalystDeps, PlannerDeps, ReflectorDeps, SearchDeps, SectionDeps
from .catalog import AUTO, WEB
from .citations import check_citations, grounded
from .context_window import AnalystMaterial, fit_analyst_material, fit_sources
from .controls import CONTROL_TOPIC, DEADLINE_MARGIN, PLAN_REVIEW_TOPIC, REVIEW_WAIT_SECONDS, SearchPhaseOver
from .domains import domain_allowed
from .naming import (
    ANALYZE_WORKFLOW,
    CONTROL_WORKFLOW,
    PLAN_WORKFLOW,
    REFLECT_WORKFLOW,
    RESEARCH_WORKFLOW,
    SEARCH_QUEUE,
    SEARCH_WORKFLOW,
    SECTION_WORKFLOW,
    analyze_workflow_id,
    control_workflow_id,
    extra_workflow_id,
    grace_workflow_id,
    plan_workflow_id,
    reflect_workflow_id,
    round_search_workflow_id,
    search_workflow_id,
    section_workflow_id,
)
from .observability import annotate_status, keep_trace_for_recovery
from .prompts import planner_prompt, reflection_prompt, search_prompt, section_prompt, summary_prompt
from .providers import OFFLINE
from .report_stream import publishing
from .retries import describe_failure
from .schema import (
    CITATION_PATTERN,
    STATUS_EVENT,
    AnalysisOutcome,
    Budget,
    CitationCheck,
    FinishRequest,
    ModelPrice,
    NumberedSource,
    OutlineSection,
    PageRead,
    Phase,
    PlanDecision,
    PlanOutcome,
    ReflectionOutcome,
    ReportOutline,
    ResearchOptions,
    ResearchPlan,
    ResearchReport,
    ResearchStatus,
    RewriteRequest,
    RoundProgress,
    RoundState,
    SearchFindings,
    SearchOutcome,
    SearchProgress,
    SearchState,
    SearchStep,
    SectionOutcome,
    Source,
    Usage,
    citation_numbers,
    cite,
)
from .search import SearchHit
from .search.native import grounded_in_results, native_results
from .search.pages import read_pages, resolve_redirects_step
from .spending import usage_limits, usage_of

RESULT_POLL_INTERVAL = 0.05
"""Seconds between checks for a queued child's result (DBOS's default, 1 s, would idle a run that long)."""


@DBOS.step(name="clock")
async def clock() -> datetime:
    """The current time, recorded so that a replayed workflow sees the same value."""
    return datetime.now(UTC)


def _model(model_id: str, options: ResearchOptions) -> str | None:
    """The model to pass to `agent.run`: None selects the agent's built-in offline model."""
    return None if options.offline or model_id == OFFLINE else model_id


def _price(model_id: str, options: ResearchOptions) -> ModelPrice | None:
    """The price the run recorded for `model_id` (None: unpriced, so its usage costs nothing here)."""
    return options.model_prices.get(model_id)


@DBOS.workflow(name=PLAN_WORKFLOW)
async def plan_research(question: str, options: ResearchOptions, budget: Budget | None = None) -> PlanOutcome:
    """Ask the planner for a research plan."""
    result = await agents.PLANNERS[options.planner_output_mode].run(
        planner_prompt(question, options.max_searches, searched(options)),
        model=_model(options.planner_model, options),
        deps=PlannerDeps(max_searches=options.max_searches),
        usage_limits=usage_limits(budget, _price(options.planner_model, options)),
    )
    return PlanOutcome(
        plan=result.output, usage=usage_of(result.usage, _price(options.planner_model, options))
    )


def searched(options: ResearchOptions) -> str:
    """What the run's agents are told they search: the run's corpus, or `web` for a web search backend."""
    return options.corpus if options.search_backend == "corpus" else WEB


def step_corpus(step: SearchStep, options: ResearchOptions) -> str:
    """The collection a search step uses: the planner's choice for it when the run lets each question
    choose (`auto`), else the run's (`web` for web search)."""
    if options.search_backend != "corpus":
        return WEB
    return step.corpus if options.corpus == AUTO and step.corpus else options.corpus


def plan_corpus(plan: ResearchPlan, options: ResearchOptions) -> str:
    """The one collection a plan's searches use, or the run's corpus when they differ."""
    chosen = {step_corpus(step, options) for step in plan.search_steps}
    return chosen.pop() if len(chosen) == 1 else searched(options)


@dataclass
class _Found:
    """What one search found, as its outcome records it."""

    findings: SearchFindings
    returned: list[Source]
    pages: list[PageRead]
    unreturned: int
    usage: RunUsage


async def _search_with_tool(
    step: SearchStep, options: ResearchOptions, limits: UsageLimits | None, spent: RunUsage
) -> _Found:
    """The searcher agent calling our `search` tool (corpus or a web backend, whose pages it reads)."""
    corpus = step_corpus(step, options)
    deps = SearchDeps(
        backend=options.search_backend,
        corpus=corpus,
        max_results=options.max_results,
        allow_domains=options.allow_domains,
        deny_domains=options.deny_domains,
        read_pages=options.read_pages,
    )
    result = await agents.SEARCHERS[options.search_output_mode].run(
        search_prompt(step.query, step.rationale, corpus),
        model=_model(options.search_model, options),
        deps=deps,
        usage_limits=limits,
        usage=spent,
    )
    returned = [
        Source(**hit.model_dump(include={"title", "url", "location", "snippet"})) for hit in deps.hits
    ]
    findings = grounded(result.output, returned, deps.pages) if returned else result.output
    return _Found(findings, returned, deps.pages, deps.unreturned, result.usage)


async def _search_with_builtin(
    step: SearchStep, options: ResearchOptions, limits: UsageLimits | None, spent: RunUsage
) -> _Found:
    """A provider's built-in web search, made checkable: what it returned (read from the run's messages,
    redirect links resolved in a recorded step), held to the domain lists; the findings' sources matched
    to it (the rest dropped and counted); the pages of those sources read."""
    result = await agents.WEB_SEARCHERS[options.search_output_mode].run(
        search_prompt(step.query, step.rationale, step_corpus(step, options)),
        model=options.search_model,
        usage_limits=limits,
        usage=spent,
        # OpenAI's Responses API lists every page its search returned only when asked to.
        model_settings=OpenAIResponsesModelSettings(openai_include_web_search_sources=True),
    )
    results = native_results(result.all_messages())
    if any(r.redirect and not r.resolved_url for r in results):
        results = await resolve_redirects_step(results)
    allow, deny = options.allow_domains, options.deny_domains
    # An unresolved redirect link stands for its domain, not for the redirector's host.
    results = [
        r
        for r in results
        if domain_allowed(
            f"https://{r.domain}/" if r.redirect and not r.resolved_url else r.page_url, allow, deny
        )
    ]
    findings, returned, unreturned = grounded_in_results(result.output, results)
    # A source matched by domain only keeps the model's own address: it is held to the lists too.
    findings = findings.model_copy(
        update={"sources": [s for s in findings.sources if domain_allowed(s.url, allow, deny)]}
    )
    returned = [source for source in returned if domain_allowed(source.url, allow, deny)]
    hits = [SearchHit(title=s.title, url=s.url, snippet=s.snippet) for s in returned]
    pages = await read_pages(hits, step.query, options.read_pages)
    return _Found(grounded(findings, returned, pages), returned, pages, unreturned, result.usage)


@DBOS.workflow(name=SEARCH_WORKFLOW)
async def run_search(
    index: int, step: SearchStep, options: ResearchOptions, budget: Budget | None = None
) -> SearchOutcome:
    """Run one search step with the search agent; a failure becomes an outcome with an error, not a crash.

    Its start and end times are read from the wall clock, not a recorded step: they are shown, never
    acted on, so a replay that sees other values changes nothing (a search resumed after a crash shows
    when it resumed). DBOS's own timestamps are whole seconds on SQLite, too coarse for a search.
    """
    started_at = datetime.now(UTC)
    spent = RunUsage()  # filled in as the agent runs, so a failed search's requests still count
    price = _price(options.search_model, options)
    search = _search_with_builtin if options.search_backend == "builtin" else _search_with_tool
    try:
        found = await search(step, options, usage_limits(budget, price), spent)
    except Exception as error:
        # DBOS's own errors (non-determinism, cancelled children) are not a failed search; a step that
        # used up its retries is.
        if isinstance(error, dbos_error.DBOSException) and not isinstance(
            error, dbos_error.DBOSMaxStepRetriesExceeded
        ):
            raise
        return SearchOutcome(
            index=index,
            query=step.query,
            error=describe_failure(error),
            usage=usage_of(spent, price),
            started_at=started_at,
            finished_at=datetime.now(UTC),
        )
    return SearchOutcome(
        index=index,
        query=step.query,
        findings=found.findings,
        returned=found.returned,
        pages=found.pages,
        unreturned=found.unreturned,
        usage=usage_of(found.usage, price),
        started_at=started_at,
        finished_at=datetime.now(UTC),
    )


@DBOS.workflow(name=REFLECT_WORKFLOW)
async def reflect_on_findings(
    question: str,
    plan: ResearchPlan,
    outcomes: list[SearchOutcome],
    options: ResearchOptions,
    budget: Budget | None = None,
) -> ReflectionOutcome:
    """Have the reflector (on the planner's model) read the findings so far against the question and plan
    and name the gaps left, each with a follow-up query: at most `options.breadth`, none searched before."""
    price = _price(options.planner_model, options)
    result = await agents.REFLECTORS[options.planner_output_mode].run(
        reflection_prompt(question, plan, outcomes, options.breadth, plan_corpus(plan, options)),
        model=_model(options.planner_model, options),
        deps=ReflectorDeps(max_gaps=options.breadth, searched=frozenset(o.query for o in outcomes)),
        usage_limits=usage_limits(budget, price),
    )
    return ReflectionOutcome(reflection=result.output, usage=usage_of(result.usage, price))


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
        handle = await DBOS.enqueue_workflow_async(
            SEARCH_QUEUE, run_search, index, step, deps.options, deps.extra_budget
        )
    return await handle.get_result(polling_interval_sec=RESULT_POLL_INTERVAL)


@DBOS.workflow(name=ANALYZE_WORKFLOW)
async def analyze_findings(
    run_id: str,
    question: str,
    plan: ResearchPlan,
    outcomes: list[SearchOutcome],
    options: ResearchOptions,
    budget: Budget | None = None,
    rewrite: RewriteRequest | None = None,
    reused_extras: list[SearchOutcome] | None = None,
) -> AnalysisOutcome:
    """Have the analyst write the report; its citations are resolved against the numbered sources.

    A rewrite (`rewrite` set) passes the original's extra searches as `reused_extras`: they are cited like
    the analyst's own and no new search runs.
    """
    reused = reused_extras or []
    numbered = number_sources(outcomes + reused)
    extra_budget = None
    if budget is not None:
        # Each possible extra search gets a share; the analyst keeps the rest, so together they stay in budget.
        extra_budget = budget.share(options.max_extra_searches + 2)
        budget = budget.less(extra_budget, options.max_extra_searches)
    # Cut to the analyst's context window when one is set (deterministic: a replay builds the same prompt).
    long = writes_long_report(options)
    material = fit_analyst_material(
        question,
        plan,
        outcomes + reused,
        numbered,
        plan_corpus(plan, options),
        options,
        task="outline" if long else "report",
    )
    deps = AnalystDeps(
        run_id=run_id,
        options=options,
        sources=numbered,
        start_search=start_extra_search,
        extra_searches=list(reused),
        extra_budget=extra_budget,
        extra_result_tokens=material.extra_result_tokens,
    )
    outlined = Usage()
    if long:
        outline, outlined = await outline_report(material, deps, budget)
        if outline.sections:
            return await write_long_report(question, plan, outline, outlined, material, deps, budget, rewrite)
        # No section the sources support: the one-answer report says what they lack.
        budget = None if budget is None else budget.after(outlined)
        material = fit_analyst_material(
            question, plan, outcomes + reused, numbered, plan_corpus(plan, options), options
        )
    # The report's text is published as the model writes it when the run asks (report_stream.py).
    with publishing(options.stream_report):
        result = await agents.ANALYSTS[options.analyst_output_mode].run(
            material.prompt,
            model=_model(options.analyst_model, options),
            deps=deps,
            usage_limits=usage_limits(budget, _price(options.analyst_model, options)),
        )
    draft = result.output
    left_out = material.note(deps.left_out)
    body = draft.body if left_out is None else f"{draft.body.rstrip()}\n\n---\n\n{left_out}"
    report = ResearchReport(title=draft.title, body=body)
    cited = set(report.cited_numbers())
    report.sources = [source for source in deps.sources.values() if source.number in cited]
    # The extra searches' own usage is counted with each of them, under the search model.
    return AnalysisOutcome(
        report=report,
        usage=outlined + usage_of(result.usage, _price(options.analyst_model, options)),
        extra_searches=deps.extra_searches,
        analyst_model=options.analyst_model,
        rewrite=rewrite,
    )


def writes_long_report(options: ResearchOptions) -> bool:
    """Whether the run's report is outlined and written section by section: asked for, or implied by a
    research of three rounds or more (`depth`, where the options have it)."""
    depth = getattr(options, "depth", None)
    return options.report == "long" or (isinstance(depth, int) and depth >= LONG_REPORT_DEPTH)


LONG_REPORT_DEPTH = 3
"""The depth from which a run writes a long report whatever its `report` option says."""
SECTION_HEADING_CHARS = 120


async def outline_report(
    material: AnalystMaterial, deps: AnalystDeps, budget: Budget | None
) -> tuple[ReportOutline, Usage]:
    """The analyst's outline of a long report, from the same material as a one-answer report (it may run
    the same extra searches), with half the analysis budget: the sections and summary share the rest."""
    options = deps.options
    price = _price(options.analyst_model, options)
    result = await agents.OUTLINERS[options.analyst_output_mode].run(
        material.prompt,
        model=_model(options.analyst_model, options),
        deps=deps,
        usage_limits=usage_limits(None if budget is None else budget.share(2), price),
    )
    return result.output, usage_of(result.usage, price)


@DBOS.workflow(name=SECTION_WORKFLOW)
async def write_section(
    index: int,
    question: str,
    instructions: str,
    section: OutlineSection,
    sources: list[NumberedSource],
    corpus: str,
    options: ResearchOptions,
    budget: Budget | None = None,
) -> SectionOutcome:
    """Write one section of a long report from only `sources` (the outline's for it): the writer's
    context holds them and nothing else of the research, however much was found."""
    price = _price(options.analyst_model, options)
    result = await agents.SECTION_WRITERS[options.analyst_output_mode].run(
        section_prompt(question, instructions, section, sources, corpus),
        model=_model(options.analyst_model, options),
        deps=SectionDeps(allowed=frozenset(source.number for source in sources)),
        usage_limits=usage_limits(budget, price),
    )
    return SectionOutcome(
        index=index,
        heading=section.heading,
        body=result.output.body,
        sources=[source.number for source in sources],
        usage=usage_of(result.usage, price),
    )


def _section_sources(section: OutlineSection, deps: AnalystDeps) -> list[NumberedSource]:
    """The sources the outline gives `section`, cut (as the analyst's material is) to half the analyst's
    context window when one is set."""
    by_number = {source.number: source for source in deps.sources.values()}
    sources = [by_number[n] for n in section.sources if n in by_number]
    context = deps.options.analyst_context_tokens
    return sources if context is None else fit_sources(sources, context // 2).sources


def _heading(text: str) -> str:
    """A model's section heading on one line, bounded, never a citation."""
    flat = CITATION_PATTERN.sub("", " ".join(text.split())).strip(" #")
    return flat[:SECTION_HEADING_CHARS] or "Section"


async def write_long_report(
    question: str,
    plan: ResearchPlan,
    outline: ReportOutline,
    spent: Usage,
    material: AnalystMaterial,
    deps: AnalystDeps,
    budget: Budget | None,
    rewrite: RewriteRequest | None,
) -> AnalysisOutcome:
    """Each section of `outline` in its own child workflow `{run}-section-{i}`, one after the other (a
    recovered run resumes at the first unwritten one: the written ones are recorded), then the summary
    from the sections, joined under the outline's title. Sections cite the run's source numbers, so the
    joined report has one numbering, which the citation check then renumbers 1..n over the whole report.
    """
    options = deps.options
    price = _price(options.analyst_model, options)
    corpus = plan_corpus(plan, options)
    left = None if budget is None else budget.after(spent)
    share = None if left is None else left.share(len(outline.sections) + 1)  # the last share: the summary
    written: list[SectionOutcome] = []
    for index, section in enumerate(outline.sections, start=1):
        with SetWorkflowID(section_workflow_id(deps.run_id, index)), PropagateOtelContext():
            outcome = await write_section(
                index,
                question,
                plan.analysis_instructions,
                section,
                _section_sources(section, deps),
                corpus,
                options,
                share,
            )
        written.append(outcome)
        spent = spent + outcome.usage
    bodies = [(_heading(s.heading), s.body.strip()) for s in written]
    summary = await agents.SECTION_WRITERS[options.analyst_output_mode].run(
        summary_prompt(question, outline.title, bodies, corpus),
        model=_model(options.analyst_model, options),
        deps=SectionDeps(allowed=frozenset(n for _, body in bodies for n in citation_numbers(body))),
        usage_limits=usage_limits(None if budget is None else budget.after(spent), price),
    )
    spent = spent + usage_of(summary.usage, price)
    parts = [summary.output.body.strip(), *(f"## {heading}\n\n{body}" for heading, body in bodies)]
    left_out = material.note(deps.left_out)
    body = "\n\n".join(part for part in [*parts, "---" if left_out else "", left_out or ""] if part)
    report = ResearchReport(title=" ".join(outline.title.split())[:200] or question, body=body)
    cited = set(report.cited_numbers())
    report.sources = [source for source in deps.sources.values() if source.number in cited]
    return AnalysisOutcome(
        report=report,
        usage=spent,
        extra_searches=deps.extra_searches,
        analyst_model=options.analyst_model,
        rewrite=rewrite,
        outline=outline,
    )


@DBOS.workflow(name=CONTROL_WORKFLOW)
async def await_control(timeout: float | None) -> FinishRequest | SearchPhaseOver | None:
    """Wait for a message on the control topic: a `FinishRequest` from a person, or the run's note that
    the wait is over. None when `timeout` seconds pass first (the deadline, or the end of a grace period).

    The run waits on this workflow next to its searches (`DBOS.wait_first`), so a request wakes it at once.
    """
    if timeout is not None:
        message = await DBOS.recv_async(CONTROL_TOPIC, timeout_seconds=max(timeout, 0.001))
    else:
        message = None
        while message is None:
            message = await DBOS.recv_async(CONTROL_TOPIC, timeout_seconds=REVIEW_WAIT_SECONDS)
    return message if isinstance(message, FinishRequest | SearchPhaseOver) else None


def partial_report(question: str, outcomes: list[SearchOutcome], reason: str) -> ResearchReport:
    """A report written without the analyst: each search's own summary with the sources it found."""
    numbered = number_sources(outcomes)
    sections = [f"_The analysis was not written: {reason}. These are the searches' own findings._"]
    for outcome in outcomes:
        if outcome.findings is None:
            continue
        summary = CITATION_PATTERN.sub("", outcome.findings.summary).strip()
        marks = "".join(f"[{numbered[source.key].number}]" for source in outcome.findings.sources)
        sections.append(f"## {outcome.query}\n\n{summary} {marks}".rstrip())
    if len(sections) == 1:
        sections.append("No search found anything before the run stopped.")
    report = ResearchReport(title=f"Partial report: {question}", body="\n\n".join(sections))
    cited = set(report.cited_numbers())
    report.sources = [source for source in numbered.values() if source.number in cited]
    return report


def note_gaps(report: ResearchReport, outcomes: list[SearchOutcome]) -> ResearchReport:
    """The report with a closing note naming each planned search that failed or was skipped."""
    missing = [outcome for outcome in outcomes if outcome.findings is None]
    if not missing:
        return report
    lines = [f"**Gaps:** {len(missing)} of {len(outcomes)} planned searches are missing from this report."]
    for outcome in missing:
        what = "skipped" if outcome.skipped else "failed"
        lines.append(f"- “{outcome.query}”: {what} ({outcome.error or 'no result'})")
    return report.model_copy(update={"body": report.body.rstrip() + "\n\n---\n\n" + "\n".join(lines)})


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
    if outcome.findings is not None:
        progress.state = SearchState.DONE
    else:
        progress.state = SearchState.SKIPPED if outcome.skipped else SearchState.FAILED
    progress.sources = list(outcome.findings.sources) if outcome.findings else []
    progress.pages = [page.shown() for page in outcome.pages]
    progress.unreturned = outcome.unreturned
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


def _seconds_until(moment: datetime | None, now: datetime) -> float | None:
    return None if moment is None else (moment - now).total_seconds()


def _skipped(index: int, step: SearchStep, reason: str, now: datetime) -> SearchOutcome:
    return SearchOutcome(index=index, query=step.query, error=reason, skipped=True, finished_at=now)


async def _stop_searches(
    status: ResearchStatus,
    pending: dict[str, tuple[int, WorkflowHandleAsync[Any]]],
    steps: list[SearchStep],
    reason: str,
    *,
    running_too: bool,
) -> list[SearchOutcome]:
    """Cancel the searches that have not started (and, with `running_too`, those running); they are skipped."""
    states = {
        row.workflow_id: row.status
        for row in await DBOS.list_workflows_async(
            workflow_ids=list(pending), load_input=False, load_output=False
        )
    }
    now = await clock()
    skipped = []
    for workflow_id, (index, _) in list(pending.items()):
        if running_too or states.get(workflow_id) == WorkflowStatusString.ENQUEUED.value:
            await DBOS.cancel_workflow_async(workflow_id)
            del pending[workflow_id]
            outcome = _skipped(index, steps[index - 1], reason, now)
            _record_search(status, outcome, status.searches[index - 1])
            skipped.append(outcome)
    return skipped


_ENDED = [
    WorkflowStatusString.SUCCESS.value,
    WorkflowStatusString.ERROR.value,
    WorkflowStatusString.CANCELLED.value,
    WorkflowStatusString.MAX_RECOVERY_ATTEMPTS_EXCEEDED.value,
]


async def _ended(workflow_ids: list[str]) -> list[WorkflowStatus]:
    """Those of `workflow_ids` that have ended, with their results (one recorded step)."""
    return await DBOS.list_workflows_async(
        workflow_ids=workflow_ids, status=_ENDED, load_input=False, load_output=True
    )


def _outcome(row: WorkflowStatus) -> SearchOutcome:
    outcome = row.output
    assert isinstance(outcome, SearchOutcome)
    return outcome


SEARCH_REQUESTS = 2
"""The fewest model requests a search makes (its search tool's call, then its findings): a round after the
first runs no more searches than its request budget gives this many each."""


@dataclass
class _Waiters:
    """What the run waits on beside every round's searches: its control workflow (a finish request, the
    deadline), then, after a finish request, the grace timer of the searches still running."""

    control: WorkflowHandleAsync[Any] | None
    grace: WorkflowHandleAsync[Any] | None = None


async def search_phase(
    status: ResearchStatus, plan: ResearchPlan, budget: Budget | None
) -> tuple[list[SearchOutcome], list[WorkflowHandleAsync[Any]]]:
    """Run the plan's searches through the `search` queue and collect every outcome, in plan order; then,
    up to `options.depth` rounds in all, search for the gaps a reflection on the findings names. Also
    returns the waiters told that the phase is over, for the run to see them end (`_see_ended`).

    While they run the run also waits on its control workflow: a `FinishRequest` skips the searches not yet
    started and gives running ones `finish_grace` seconds (ending the round, and the rounds); the deadline
    stops them all at once.
    """
    run_id, options, steps = status.run_id, status.options, plan.search_steps
    outcomes: list[SearchOutcome] = []
    status.phase = Phase.SEARCHING
    status.searches = [
        SearchProgress(index=i, query=step.query, rationale=step.rationale, state=SearchState.RUNNING)
        for i, step in enumerate(steps, start=1)
    ]
    status.rounds = [RoundProgress(number=1, queries=[step.query for step in steps])]
    now = await clock()
    share = None if budget is None else budget.share(len(steps) + 1)  # the last share is the analyst's
    if share is not None and share.exhausted:
        status.stopped_early = f"the budget ({budget.describe() if budget else ''}) ran out before any search"
        status.rounds[0].state = RoundState.STOPPED
        outcomes = [
            _skipped(i, step, "skipped: no budget left", now) for i, step in enumerate(steps, start=1)
        ]
        for outcome in outcomes:
            _record_search(status, outcome, status.searches[outcome.index - 1])
        await _publish(status, now)
        return outcomes, []

    # The control workflow exists before the run shows SEARCHING, so a finish request always finds it.
    # It serves every round: a finish request sent between rounds is read before the next one starts.
    with SetWorkflowID(control_workflow_id(run_id)), PropagateOtelContext():
        waiters = _Waiters(
            control=await DBOS.start_workflow_async(await_control, _seconds_until(status.deadline_at, now))
        )
    await _publish(status, now)
    pending: dict[str, tuple[int, WorkflowHandleAsync[Any]]] = {}
    for i, step in enumerate(steps, start=1):
        with SetWorkflowID(search_workflow_id(run_id, i)), PropagateOtelContext():
            # Queued, not started: the `search` queue holds every worker to global limits.
            handle = await DBOS.enqueue_workflow_async(SEARCH_QUEUE, run_search, i, step, options, share)
        pending[handle.workflow_id] = (i, handle)
    wake_queue_threads()  # this worker takes them up now, not at its queue's next poll
    all_steps = list(steps)
    outcomes += await _await_searches(status, pending, all_steps, waiters)
    # Later rounds spend at most half of what the first left: the analysis keeps the other half.
    whole = Budget.of(options)
    left = None if whole is None else whole.after(status.usage)
    reserve = None if left is None else left.less(left.share(2))
    while len(status.rounds) < options.depth:
        next_round = await _plan_round(status, plan, outcomes, whole, reserve, waiters)
        if next_round is None:
            break
        round_steps, round_share = next_round
        number = len(status.rounds)
        for i, step in enumerate(round_steps, start=1):
            index = len(all_steps) + 1
            all_steps.append(step)
            status.searches.append(
                SearchProgress(
                    index=index,
                    query=step.query,
                    rationale=step.rationale,
                    state=SearchState.RUNNING,
                    round=number,
                )
            )
            with SetWorkflowID(round_search_workflow_id(run_id, number, i)), PropagateOtelContext():
                handle = await DBOS.enqueue_workflow_async(
                    SEARCH_QUEUE, run_search, index, step, options, round_share
                )
            pending[handle.workflow_id] = (index, handle)
        wake_queue_threads()
        await _publish(status, await clock())
        outcomes += await _await_searches(status, pending, all_steps, waiters)
    if status.rounds_ended is None and options.depth > 1:
        status.rounds_ended = f"the depth ({options.depth} rounds) was reached"
    out_of_budget = any((o.error or "").startswith(UsageLimitExceeded.__name__) for o in outcomes)
    if budget is not None and status.stopped_early is None and out_of_budget:
        status.stopped_early = f"the budget ({budget.describe()} after planning) ran out during the searches"
    released = await _release_waiters(waiters.control, waiters.grace)
    return sorted(outcomes, key=lambda o: o.index), released


async def _await_searches(
    status: ResearchStatus,
    pending: dict[str, tuple[int, WorkflowHandleAsync[Any]]],
    steps: list[SearchStep],
    waiters: _Waiters,
) -> list[SearchOutcome]:
    """Wait for one round's searches (`pending`, by workflow id: their index in `steps`) beside the control
    and grace workflows, publishing each as it ends; the round's outcomes, as they ended."""
    run_id, options = status.run_id, status.options
    outcomes: list[SearchOutcome] = []
    while pending:
        # `wait_first` is a recorded step, so a recovered run sees the same order and replays step for step.
        waiting = [handle for _, handle in pending.values()]
        waiting += [h for h in (waiters.control, waiters.grace) if h is not None]
        finished = await DBOS.wait_first_async(waiting, polling_interval_sec=RESULT_POLL_INTERVAL)
        if waiters.control is not None and finished.workflow_id == waiters.control.workflow_id:
            message = await finished.get_result()
            waiters.control = None
            if isinstance(message, SearchPhaseOver):
                continue  # the original's wait, in a fork that copied it: nothing to stop
            deadline = message is None
            reason = "the deadline passed" if deadline else message.reason
            status.stopped_early = reason
            status.rounds[-1].state = RoundState.STOPPED
            # A deadline stops running searches too; a finish request only those not started.
            cut_short = f"skipped: {reason} before it {'ended' if deadline else 'started'}"
            outcomes += await _stop_searches(status, pending, steps, cut_short, running_too=deadline)
            if pending:
                with SetWorkflowID(grace_workflow_id(run_id)), PropagateOtelContext():
                    waiters.grace = await DBOS.start_workflow_async(await_control, options.finish_grace)
            await _publish(status, await clock())
            continue
        if waiters.grace is not None and finished.workflow_id == waiters.grace.workflow_id:
            await finished.get_result()
            waiters.grace = None
            reason = f"skipped: still running {options.finish_grace:g} s after {status.stopped_early}"
            outcomes += await _stop_searches(status, pending, steps, reason, running_too=True)
            await _publish(status, await clock())
            continue
        outcomes += await _collect_ended(status, pending)
        await _publish(status, max(o.finished_at for o in outcomes if o.finished_at))
    if status.rounds[-1].state is RoundState.SEARCHING:
        status.rounds[-1].state = RoundState.DONE
    return outcomes


async def _told_to_stop(status: ResearchStatus, waiters: _Waiters) -> bool:
    """Whether the run was told to finish, or reached its deadline, between rounds (one recorded step:
    the control workflow's state); the reason is then the run's `stopped_early`."""
    if status.stopped_early is not None:
        return True
    if waiters.control is None:
        return False
    if not await _ended([waiters.control.workflow_id]):
        return False
    message = await waiters.control.get_result()
    waiters.control = None
    if isinstance(message, SearchPhaseOver):
        return False
    status.stopped_early = "the deadline passed" if message is None else message.reason
    return True


async def _plan_round(
    status: ResearchStatus,
    plan: ResearchPlan,
    outcomes: list[SearchOutcome],
    whole: Budget | None,
    reserve: Budget | None,
    waiters: _Waiters,
) -> tuple[list[SearchStep], Budget | None] | None:
    """The next round's searches and each one's budget, from a reflection on the findings so far (child
    workflow `{run}-r{n}-reflect`); None, with `rounds_ended` saying why, when no round follows: no gap
    left, a finish request, the deadline, or a budget with no room beyond the analyst's `reserve`."""
    options, previous = status.options, status.rounds[-1]
    number = previous.number + 1

    def room() -> Budget | None:
        return None if whole is None else whole.after(status.usage).less(reserve or Budget())

    def ended(reason: str) -> tuple[list[SearchStep], Budget | None] | None:
        """No round follows, for `reason`."""
        status.rounds_ended = reason
        previous.state = RoundState.STOPPED if status.stopped_early else RoundState.DONE
        return None

    if await _told_to_stop(status, waiters):
        return ended(f"{status.stopped_early} (after round {previous.number})")
    available = room()
    reflecting = None if available is None else available.share(2)  # the rest for the round's searches
    if whole is not None and reflecting is not None and reflecting.exhausted:
        return ended(f"the budget ({whole.describe()}) left no room for round {number}")
    now = await clock()
    time_left = _seconds_until(status.deadline_at, now)
    previous.state = RoundState.REFLECTING
    await _publish(status, now)
    with (
        SetWorkflowID(reflect_workflow_id(status.run_id, number)),
        SetWorkflowTimeout(time_left),  # the deadline bounds the reflection as it bounds the analysis
        PropagateOtelContext(),
    ):
        handle = await DBOS.start_workflow_async(
            reflect_on_findings,
            status.question,
            plan,
            sorted(outcomes, key=lambda o: o.index),
            options,
            reflecting,
        )
    try:
        reflected: ReflectionOutcome = await handle.get_result(polling_interval_sec=RESULT_POLL_INTERVAL)
    except dbos_error.DBOSAwaitedWorkflowCancelledError:
        status.stopped_early = "the deadline passed"
        return ended(f"the deadline passed during the reflection after round {previous.number}")
    except Exception as error:
        if isinstance(error, dbos_error.DBOSException) and not isinstance(
            error, dbos_error.DBOSMaxStepRetriesExceeded
        ):
            raise
        return ended(f"the reflection after round {previous.number} failed ({describe_failure(error)})")
    status.add_usage(options.planner_model, reflected.usage)
    gaps = reflected.reflection.gaps[: options.breadth]
    previous.gaps_left = [gap.missing for gap in reflected.reflection.gaps]
    if not gaps:
        return ended(f"no gap was left after round {previous.number}")
    if await _told_to_stop(status, waiters):
        return ended(f"{status.stopped_early} (after round {previous.number})")
    available = room()
    if available is not None and available.requests is not None:
        gaps = gaps[: available.requests // SEARCH_REQUESTS]  # as many searches as can run to their end
    share = None if available is None else available.share(max(len(gaps), 1))
    if not gaps or (share is not None and share.exhausted):
        return ended(f"the budget ({whole.describe() if whole else ''}) left no room for round {number}")
    previous.state = RoundState.DONE
    corpora = {step.corpus for step in plan.search_steps}
    corpus = corpora.pop() if len(corpora) == 1 else None  # the plan's collection, when it chose one
    steps = [
        SearchStep(query=gap.query, rationale=f"Round {number}: finds {gap.missing}.", corpus=corpus)
        for gap in gaps
    ]
    status.rounds.append(
        RoundProgress(number=number, queries=[s.query for s in steps], gaps=[g.missing for g in gaps])
    )
    return steps, share


async def _collect_ended(
    status: ResearchStatus, pending: dict[str, tuple[int, WorkflowHandleAsync[Any]]]
) -> list[SearchOutcome]:
    """Every search that has ended by now, with its outcome, in one recorded step (searches that finish
    together are collected and published together); they leave `pending`."""
    collected = []
    for row in await _ended(list(pending)):
        _, handle = pending.pop(row.workflow_id)
        succeeded = row.status == WorkflowStatusString.SUCCESS.value
        outcome = _outcome(row) if succeeded else await handle.get_result()  # raises
        collected.append(outcome)
        _record_search(status, outcome, status.searches[outcome.index - 1])
    return collected


async def _release_waiters(*waiters: WorkflowHandleAsync[Any] | None) -> list[WorkflowHandleAsync[Any]]:
    """Tell the control and grace workflows still waiting that the search phase is over; their handles."""
    released = []
    for waiter in waiters:
        if waiter is not None:
            await DBOS.send_async(waiter.workflow_id, SearchPhaseOver(), CONTROL_TOPIC)
            released.append(waiter)
    return released


async def _see_ended(waiters: list[WorkflowHandleAsync[Any]]) -> None:
    """Wait until the released waiters have ended: one left waiting would outlive a short-lived worker
    (`deep-research run`) and be recovered by the next one. The run waits for them after its analysis,
    not before: a waiter notices its message only at the database's next notification poll (tens of
    milliseconds on SQLite), which the analysis now hides instead of waiting it out."""
    for waiter in waiters:
        await waiter.get_result(polling_interval_sec=RESULT_POLL_INTERVAL)


async def analysis_phase(
    status: ResearchStatus,
    question: str,
    plan: ResearchPlan,
    outcomes: list[SearchOutcome],
    budget: Budget | None,
) -> AnalysisOutcome:
    """The analyst's report, or a partial one built from the findings when the deadline or budget stops it."""
    run_id, options = status.run_id, status.options
    remaining = None if budget is None else budget.after(status.usage)
    # The time is only needed against a deadline (a recorded step costs a write).
    time_left = None if status.deadline_at is None else _seconds_until(status.deadline_at, await clock())
    stopped = None
    if time_left is not None and time_left <= 0:
        stopped = "the deadline passed before the analysis"
    elif remaining is not None and remaining.exhausted:
        stopped = f"the budget ({budget.describe() if budget else ''}) ran out before the analysis"
    else:
        # A DBOS timeout bounds the analysis by the deadline: the analyst is cancelled, the run goes on.
        with (
            SetWorkflowID(analyze_workflow_id(run_id)),
            SetWorkflowTimeout(time_left),
            PropagateOtelContext(),
        ):
            handle = await DBOS.start_workflow_async(
                analyze_findings, run_id, question, plan, outcomes, options, remaining
            )
        try:
            return await handle.get_result(polling_interval_sec=RESULT_POLL_INTERVAL)
        except dbos_error.DBOSAwaitedWorkflowCancelledError:
            stopped = "the deadline passed during the analysis"
        except UsageLimitExceeded as error:
            stopped = f"the analyst exceeded the budget ({describe_failure(error)})"
    status.stopped_early = stopped
    return AnalysisOutcome(report=partial_report(question, outcomes, stopped), usage=Usage())


def _deadline_at(options: ResearchOptions, created_at: datetime) -> datetime | None:
    """When the run must stop: its DBOS deadline less the margin for the partial report.

    DBOS sets that deadline when a worker dequeues the run (or a fork of it) and restores it on recovery,
    so it is the same in every replay, and a fork gets a fresh one. A run enqueued without a DBOS timeout
    counts from its start.
    """
    if options.deadline is None:
        return None
    deadline_ms = workflow_deadline_epoch_ms()
    if deadline_ms is None:
        return created_at + timedelta(seconds=options.deadline)
    return datetime.fromtimestamp(deadline_ms / 1000, UTC) - timedelta(seconds=DEADLINE_MARGIN)


@DBOS.workflow(name=RESEARCH_WORKFLOW)
async def deep_research(question: str, options: ResearchOptions) -> ResearchReport | None:
    """Plan, search in parallel, analyse; the workflow id is the run id. None: the plan was rejected."""
    run_id = DBOS.workflow_id
    assert run_id is not None
    await keep_trace_for_recovery(run_id)
    created_at = await clock()
    status = ResearchStatus(
        run_id=run_id,
        question=question,
        options=options,
        created_at=created_at,
        deadline_at=_deadline_at(options, created_at),
    )
    budget = Budget.of(options)
    await _publish(status, created_at)
    try:
        # Children carry the trace context too, so one recovered on its own stays in the run's trace.
        with SetWorkflowID(plan_workflow_id(run_id)), PropagateOtelContext():
            planned = await plan_research(question, options, budget)
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
        remaining = None if budget is None else budget.after(status.usage)
        outcomes, released = await search_phase(status, plan, remaining)

        status.phase = Phase.ANALYZING
        await _publish(status)
        analysis = await analysis_phase(status, question, plan, outcomes, budget)
        await _see_ended(released)
        for extra in analysis.extra_searches:
            progress = SearchProgress(index=len(status.searches) + 1, query=extra.query, extra=True)
            _record_search(status, extra, progress)
            status.searches.append(progress)
        status.add_usage(analysis.analyst_model or options.analyst_model, analysis.usage)
        status.rewrite = analysis.rewrite
        report = note_gaps(analysis.report, outcomes)
        status.report, status.citations = await verify_citations(report, outcomes + analysis.extra_searches)
        status.phase = Phase.COMPLETED
        await _publish(status, await clock())
        return status.report
    except UsageLimitExceeded as error:  # the planner ran out of budget: nothing to report on
        status.stopped_early = f"the planner exceeded the budget ({describe_failure(error)})"
        status.report = partial_report(question, [], status.stopped_early)
        status.phase = Phase.COMPLETED
        await _publish(status, await clock())
        return status.report
    except Exception as error:
        status.phase = Phase.FAILED
        status.error = describe_failure(error)
        await _publish(status, await clock())
        raise
