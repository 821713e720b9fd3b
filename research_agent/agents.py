"""The planner, searcher and analyst agents, made durable with `DBOSDurability`.

Each agent's default model is the built-in offline model of its role; a run that uses real models passes
its `provider:model` string to `agent.run(model=...)`, and `ResolveModelId` builds it inside the model step.
Agents are module-level with stable names because DBOS registers their steps by name before launch.

Each role has one agent per output mode (tool, native, prompted: output_modes.py), built by the same
function with the same tools and output validators; the workflows pick the one the run's options name.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic_ai import Agent, ModelRetry, RunContext
from pydantic_ai.capabilities import AbstractCapability, NativeTool, ResolveModelId
from pydantic_ai.durable_exec.dbos import DBOSDurability, DBOSParallelExecutionMode, StepConfig
from pydantic_ai.models import Model
from pydantic_ai.native_tools import WebSearchTool

from . import _offline, engine_settings
from .catalog import corpus_choices
from .context_window import LeftOut, fit_sources
from .models import resolve_model_id
from .output_modes import OUTPUT_MODES, NamesOutputFailure, Role, agent_name, output_spec
from .prompts import (
    ANALYST_INSTRUCTIONS,
    OUTLINER_INSTRUCTIONS,
    PLANNER_INSTRUCTIONS,
    REFLECTOR_INSTRUCTIONS,
    SEARCHER_INSTRUCTIONS,
    SECTION_INSTRUCTIONS,
    WEB_SEARCHER_INSTRUCTIONS,
    repeats_instructions,
)
from .report_stream import PublishingModel, resolve_analyst_model
from .retries import STEP_RETRIES
from .schema import (
    NOT_A_SOURCE_NUMBER,
    Budget,
    Gap,
    NumberedSource,
    OutputMode,
    PageRead,
    Reflection,
    ReportDraft,
    ReportOutline,
    ResearchOptions,
    ResearchPlan,
    SearchFindings,
    SearchOutcome,
    SectionDraft,
    citation_numbers,
    cite,
    source_key,
)
from .search import SearchHit, search_step
from .search.pages import read_pages, with_passages

# One retry layer: the SDKs' own retries are off (models.py), DBOS retries a failed request (retries.py).
# pydantic-ai's StepConfig omits `should_retry`, but hands the whole dict to `DBOS.step`, which takes it.
MODEL_STEP_CONFIG: StepConfig = STEP_RETRIES  # type: ignore[assignment]


def _durability(
    parallel_execution_mode: DBOSParallelExecutionMode = "parallel_ordered_events",
    resolve: Callable[[Any, str], Model | None] = resolve_model_id,
) -> list[AbstractCapability[Any]]:
    """Durable model steps with our retry policy, and real models built from our settings."""
    return [
        DBOSDurability(model_step_config=MODEL_STEP_CONFIG, parallel_execution_mode=parallel_execution_mode),
        ResolveModelId(resolve),
    ]


DepsT = TypeVar("DepsT")
OutputT = TypeVar("OutputT")


def _role_agent(
    model: Model | str,
    name: str,
    mode: OutputMode,
    output_type: type[OutputT],
    deps_type: type[DepsT],
    instructions: str,
    *,
    fails_as: Role,
    capabilities: Sequence[AbstractCapability[Any]] = (),
    durability: Sequence[AbstractCapability[Any]] | None = None,
) -> Agent[DepsT, OutputT]:
    """One agent of a role in one output mode, built the same way for every role: our retry counts, durable
    model steps (`durability`, default `_durability()`), and a structure failure that names `fails_as`."""
    return Agent(
        model,
        name=agent_name(name, mode),
        output_type=output_spec(output_type, mode),
        deps_type=deps_type,
        instructions=instructions,
        retries={"tools": 1, "output": 2},
        capabilities=[
            *(_durability() if durability is None else durability),
            *capabilities,
            NamesOutputFailure(fails_as, mode),
        ],
    )


@dataclass
class PlannerDeps:
    max_searches: int


MAX_SEARCH_CALLS = 2
"""Searches one search step may make: its query and one refinement (search results can ask for more)."""


@dataclass
class SearchDeps:
    backend: str
    corpus: str
    max_results: int
    allow_domains: list[str] = field(default_factory=list)
    deny_domains: list[str] = field(default_factory=list)
    read_pages: int = 0
    """Web pages to read after each search (its best results); corpus results are never read."""
    hits: list[SearchHit] = field(default_factory=list)
    """Every hit the `search` tool returned in this run: the only sources findings may list."""
    pages: list[PageRead] = field(default_factory=list)
    """Every page read after a search, fetched, refused or failed."""
    unreturned: int = 0
    """Sources the model listed that the tool never returned (left out of the findings)."""
    searches: int = 0
    """Calls of the `search` tool so far, held to MAX_SEARCH_CALLS."""


ExtraSearch = Callable[["AnalystDeps", str], Awaitable[SearchOutcome]]
"""Runs one extra search for the analyst (workflows.start_extra_search: a child workflow)."""


@dataclass
class AnalystDeps:
    run_id: str
    options: ResearchOptions
    """The run's options, passed on to extra searches."""
    sources: dict[str, NumberedSource]
    """Citable sources by key; extra searches add to it."""
    start_search: ExtraSearch
    """How an extra search is run; the workflow that runs the analyst provides it."""
    extra_searches: list[SearchOutcome] = field(default_factory=list)
    extra_budget: Budget | None = None
    """What each extra search may spend (None: no cap)."""
    extra_result_tokens: int | None = None
    """The most tokens an extra search's results may take in a small context window (None: no limit)."""
    left_out: LeftOut = field(default_factory=LeftOut)
    """What was cut from the extra searches' results to fit that limit."""


def _planner(mode: OutputMode) -> Agent[PlannerDeps, ResearchPlan]:
    agent = _role_agent(
        _offline.PLANNER_MODEL,
        "planner",
        mode,
        ResearchPlan,
        PlannerDeps,
        PLANNER_INSTRUCTIONS,
        fails_as="planner",
    )
    agent.output_validator(_plan_fits)
    return agent


def _plan_fits(ctx: RunContext[PlannerDeps], plan: ResearchPlan) -> ResearchPlan:
    steps = [step for step in plan.search_steps if step.query.strip()]
    if not steps:
        raise ModelRetry("The plan has no search steps; write at least one search with a non-empty query.")
    # A collection the planner named that does not exist (a model may write "web") is left to the search.
    known = corpus_choices(engine_settings.current().indexes)
    steps = [step if step.corpus in known else step.model_copy(update={"corpus": None}) for step in steps]
    return plan.model_copy(update={"search_steps": steps[: ctx.deps.max_searches]})


def _searcher(mode: OutputMode) -> Agent[SearchDeps, SearchFindings]:
    agent = _role_agent(
        _offline.SEARCHER_MODEL,
        "searcher",
        mode,
        SearchFindings,
        SearchDeps,
        SEARCHER_INSTRUCTIONS,
        fails_as="search",
    )
    agent.tool(search)
    agent.output_validator(_findings_cite_real_hits)
    return agent


async def search(ctx: RunContext[SearchDeps], query: str) -> list[SearchHit] | str:
    """Search for `query` and return the best results with title, url or location, and snippet; web results
    whose page was read also carry the passages of the page that answer the query."""
    deps = ctx.deps
    # Counted before the first await, so parallel calls in one response see each other.
    deps.searches += 1
    if deps.searches > MAX_SEARCH_CALLS:
        return f"No more searches in this step ({MAX_SEARCH_CALLS}); summarise the results you have."
    hits = await search_step(
        deps.backend, deps.corpus, query, deps.max_results, deps.allow_domains, deps.deny_domains
    )
    if deps.read_pages and deps.backend != "corpus":
        pages = await read_pages(hits, query, deps.read_pages)
        deps.pages.extend(pages)
        hits = with_passages(hits, pages)
    ctx.deps.hits.extend(hits)
    return hits


def _findings_cite_real_hits(ctx: RunContext[SearchDeps], findings: SearchFindings) -> SearchFindings:
    returned = {source_key(hit.title, hit.url, hit.location) for hit in ctx.deps.hits}
    kept = [source for source in findings.sources if source.key in returned]
    if findings.sources and not kept:
        raise ModelRetry(
            "List as sources only results the search tool returned, with their exact url or location."
        )
    ctx.deps.unreturned = len(findings.sources) - len(kept)
    return findings.model_copy(update={"sources": kept})


def _web_searcher(mode: OutputMode) -> Agent[None, SearchFindings]:
    return _role_agent(
        # Only used with real models (the `builtin` backend); the string is resolved inside the model step,
        # and each run passes its own search model: this is the default search model's name, for show.
        "google-gla:gemini-3.8-flash",
        "web_searcher",
        mode,
        SearchFindings,
        type(None),
        WEB_SEARCHER_INSTRUCTIONS,
        fails_as="search",
        capabilities=[NativeTool(WebSearchTool())],
    )


def _analyst(mode: OutputMode) -> Agent[AnalystDeps, ReportDraft]:
    agent = _role_agent(
        # The model publishes the report's text as it writes it, when the run asks (report_stream.py).
        PublishingModel(_offline.ANALYST_MODEL),
        "analyst",
        mode,
        ReportDraft,
        AnalystDeps,
        ANALYST_INSTRUCTIONS,
        fails_as="analyst",
        # `extra_search` starts a child workflow: sequential tool calls replay in the same order after recovery.
        durability=_durability(parallel_execution_mode="sequential", resolve=resolve_analyst_model),
    )
    agent.tool(extra_search)
    agent.output_validator(_only_the_report)
    agent.output_validator(_citations_resolve)
    return agent


async def extra_search(ctx: RunContext[AnalystDeps], query: str) -> list[NumberedSource] | str:
    """Run one more search for `query`; returns new sources with the numbers to cite them by."""
    allowed = ctx.deps.options.max_extra_searches
    if len(ctx.deps.extra_searches) >= allowed:
        return f"No more extra searches allowed ({allowed}); write the report now."
    outcome = await ctx.deps.start_search(ctx.deps, query)
    ctx.deps.extra_searches.append(outcome)
    if outcome.findings is None:
        return f"The extra search failed: {outcome.error}"
    found = [cite(ctx.deps.sources, source) for source in outcome.findings.sources]
    if ctx.deps.extra_result_tokens is None:
        return found
    # A small context window: the results are cut to their share of it, as the material was.
    fitted = fit_sources(found, ctx.deps.extra_result_tokens)
    ctx.deps.left_out = ctx.deps.left_out + fitted.left_out
    return fitted.sources


def _only_the_report(ctx: RunContext[AnalystDeps], draft: ReportDraft) -> ReportDraft:
    # Search results are data: one that tells the model to reveal its instructions must not get them
    # into the report (they are not secret, but nothing but the report belongs there).
    if repeats_instructions(draft.body):
        raise ModelRetry("The report repeats your instructions; write only the report, from the sources.")
    return draft


def _citations_resolve(ctx: RunContext[AnalystDeps], draft: ReportDraft) -> ReportDraft:
    known = {source.number for source in ctx.deps.sources.values()}
    unknown = sorted(set(citation_numbers(draft.body)) - known)
    if unknown:
        listed = ", ".join(
            f"[{n}]" if n != NOT_A_SOURCE_NUMBER else "[0] or [n] with more digits than any source number"
            for n in unknown
        )
        raise ModelRetry(
            f"Citations {listed} match no source; cite only the numbers given in the research data."
        )
    return draft


def _outliner(mode: OutputMode) -> Agent[AnalystDeps, ReportOutline]:
    """The analyst planning a long report: the same material and extra searches, an outline as answer."""
    agent = _role_agent(
        _offline.ANALYST_MODEL,
        "outliner",
        mode,
        ReportOutline,
        AnalystDeps,
        OUTLINER_INSTRUCTIONS,
        fails_as="analyst",
        durability=_durability(parallel_execution_mode="sequential"),
    )
    agent.tool(extra_search)
    agent.output_validator(_outline_sources_exist)
    return agent


def _outline_sources_exist(ctx: RunContext[AnalystDeps], outline: ReportOutline) -> ReportOutline:
    """Each section keeps only numbers of real sources; a section left with none is dropped (it could
    only be written from nothing)."""
    known = {source.number for source in ctx.deps.sources.values()}
    sections = []
    for section in outline.sections:
        numbers = [n for n in dict.fromkeys(section.sources) if n in known]
        if numbers and section.heading.strip():
            sections.append(section.model_copy(update={"sources": numbers}))
    return outline.model_copy(update={"sections": sections})


@dataclass
class SectionDeps:
    allowed: frozenset[int]
    """The source numbers the section (or summary) was given: the only ones it may cite."""


def _section_writer(mode: OutputMode) -> Agent[SectionDeps, SectionDraft]:
    """Writes one section of a long report from its own sources (or the summary from the sections)."""
    agent = _role_agent(
        _offline.SECTION_MODEL,
        "section_writer",
        mode,
        SectionDraft,
        SectionDeps,
        SECTION_INSTRUCTIONS,
        fails_as="analyst",
    )
    agent.output_validator(_only_the_section)
    agent.output_validator(_section_cites_its_sources)
    return agent


def _only_the_section(ctx: RunContext[SectionDeps], draft: SectionDraft) -> SectionDraft:
    if repeats_instructions(draft.body):
        raise ModelRetry("The section repeats your instructions; write only the section, from the sources.")
    return draft


def _section_cites_its_sources(ctx: RunContext[SectionDeps], draft: SectionDraft) -> SectionDraft:
    unknown = sorted(set(citation_numbers(draft.body)) - ctx.deps.allowed)
    if unknown:
        listed = ", ".join(f"[{n}]" for n in unknown)
        raise ModelRetry(f"Citations {listed} are not among this section's sources; cite only those given.")
    return draft


@dataclass
class ReflectorDeps:
    max_gaps: int
    """Follow-up searches the next round may run (the run's breadth)."""
    searched: frozenset[str]
    """Queries already searched in this run: a gap asking one again is dropped."""


MAX_GAP_CHARS = 300
"""Longest gap description or follow-up query kept from a model's reflection."""


def _reflector(mode: OutputMode) -> Agent[ReflectorDeps, Reflection]:
    """Reads the findings so far against the question and plan and names the gaps (runs on the planner's
    model: it plans the next round's searches)."""
    agent = _role_agent(
        _offline.REFLECTOR_MODEL,
        "reflector",
        mode,
        Reflection,
        ReflectorDeps,
        REFLECTOR_INSTRUCTIONS,
        fails_as="planner",
    )
    agent.output_validator(_new_gaps_only)
    return agent


def _new_gaps_only(ctx: RunContext[ReflectorDeps], reflection: Reflection) -> Reflection:
    """Model output is held to the run's limits in code: at most `max_gaps` gaps, each with a non-empty
    query not searched before (and not twice), each bounded in length."""
    kept: dict[str, Gap] = {}
    for gap in reflection.gaps:
        query = " ".join(gap.query.split())[:MAX_GAP_CHARS]
        if query and query not in ctx.deps.searched and query not in kept:
            missing = " ".join(gap.missing.split())[:MAX_GAP_CHARS] or query
            kept[query] = Gap(missing=missing, query=query)
    return Reflection(gaps=list(kept.values())[: ctx.deps.max_gaps])


# One agent per role and output mode (output_modes.py); each is registered with DBOS under its own name.
PLANNERS = {mode: _planner(mode) for mode in OUTPUT_MODES}
SEARCHERS = {mode: _searcher(mode) for mode in OUTPUT_MODES}
WEB_SEARCHERS = {mode: _web_searcher(mode) for mode in OUTPUT_MODES}
ANALYSTS = {mode: _analyst(mode) for mode in OUTPUT_MODES}
REFLECTORS = {mode: _reflector(mode) for mode in OUTPUT_MODES}
OUTLINERS = {mode: _outliner(mode) for mode in OUTPUT_MODES}
SECTION_WRITERS = {mode: _section_writer(mode) for mode in OUTPUT_MODES}
planner, searcher, web_searcher, analyst = (
    PLANNERS["tool"],
    SEARCHERS["tool"],
    WEB_SEARCHERS["tool"],
    ANALYSTS["tool"],
)
