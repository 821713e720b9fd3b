"""The planner, searcher and analyst agents, made durable with `DBOSDurability`.

Each agent's default model is the built-in offline model of its role; a run that uses real models passes
its `provider:model` string to `agent.run(model=...)`, and `ResolveModelId` builds it inside the model step.
Agents are module-level with stable names because DBOS registers their steps by name before launch.

Each role has one agent per output mode (tool, native, prompted: output_modes.py), built by the same
function with the same tools and output validators; the workflows pick the one the run's options name.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic_ai import Agent, ModelRetry, RunContext
from pydantic_ai.capabilities import AbstractCapability, NativeTool, ResolveModelId
from pydantic_ai.durable_exec.dbos import DBOSDurability, DBOSParallelExecutionMode, StepConfig
from pydantic_ai.models import Model
from pydantic_ai.native_tools import WebSearchTool

from . import _offline, engine_settings
from .catalog import corpus_choices
from .context_window import LeftOut, fit_sources
from .models import resolve_model_id
from .output_modes import OUTPUT_MODES, NamesOutputFailure, agent_name, output_spec
from .prompts import (
    ANALYST_INSTRUCTIONS,
    PLANNER_INSTRUCTIONS,
    SEARCHER_INSTRUCTIONS,
    WEB_SEARCHER_INSTRUCTIONS,
    repeats_instructions,
)
from .report_stream import PublishingModel, resolve_analyst_model
from .retries import STEP_RETRIES
from .schema import (
    NOT_A_SOURCE_NUMBER,
    Budget,
    NumberedSource,
    OutputMode,
    PageRead,
    ReportDraft,
    ResearchOptions,
    ResearchPlan,
    SearchFindings,
    SearchOutcome,
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
    agent = Agent(
        _offline.PLANNER_MODEL,
        name=agent_name("planner", mode),
        output_type=output_spec(ResearchPlan, mode),
        deps_type=PlannerDeps,
        instructions=PLANNER_INSTRUCTIONS,
        retries={"tools": 1, "output": 2},
        capabilities=[*_durability(), NamesOutputFailure("planner", mode)],
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
    agent = Agent(
        _offline.SEARCHER_MODEL,
        name=agent_name("searcher", mode),
        output_type=output_spec(SearchFindings, mode),
        deps_type=SearchDeps,
        instructions=SEARCHER_INSTRUCTIONS,
        retries={"tools": 1, "output": 2},
        capabilities=[*_durability(), NamesOutputFailure("search", mode)],
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
    return Agent(
        # Only used with real models (the `builtin` backend); the string is resolved inside the model step.
        "google-gla:gemini-2.5-flash",
        name=agent_name("web_searcher", mode),
        output_type=output_spec(SearchFindings, mode),
        instructions=WEB_SEARCHER_INSTRUCTIONS,
        retries={"tools": 1, "output": 2},
        capabilities=[*_durability(), NativeTool(WebSearchTool()), NamesOutputFailure("search", mode)],
    )


def _analyst(mode: OutputMode) -> Agent[AnalystDeps, ReportDraft]:
    agent = Agent(
        # The model publishes the report's text as it writes it, when the run asks (report_stream.py).
        PublishingModel(_offline.ANALYST_MODEL),
        name=agent_name("analyst", mode),
        output_type=output_spec(ReportDraft, mode),
        deps_type=AnalystDeps,
        instructions=ANALYST_INSTRUCTIONS,
        retries={"tools": 1, "output": 2},
        # `extra_search` starts a child workflow: sequential tool calls replay in the same order after recovery.
        capabilities=[
            *_durability(parallel_execution_mode="sequential", resolve=resolve_analyst_model),
            NamesOutputFailure("analyst", mode),
        ],
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


# One agent per role and output mode (output_modes.py); each is registered with DBOS under its own name.
PLANNERS = {mode: _planner(mode) for mode in OUTPUT_MODES}
SEARCHERS = {mode: _searcher(mode) for mode in OUTPUT_MODES}
WEB_SEARCHERS = {mode: _web_searcher(mode) for mode in OUTPUT_MODES}
ANALYSTS = {mode: _analyst(mode) for mode in OUTPUT_MODES}
planner, searcher, web_searcher, analyst = (
    PLANNERS["tool"],
    SEARCHERS["tool"],
    WEB_SEARCHERS["tool"],
    ANALYSTS["tool"],
)
