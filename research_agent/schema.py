"""Data shared by the engine, the client, the CLI and the UI.

Every workflow and step takes and returns these models, so DBOS checkpoints decode after a restart, and the
`status` event a run publishes is a `ResearchStatus` dumped to JSON. Fields are only ever added, with
defaults, so events written by an older version stay readable.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

CITATION_PATTERN = re.compile(r"\[(\d+)\]")
NOT_A_SOURCE_NUMBER = 0
"""What a citation too long to be any source's number counts as: no source has it (they count from 1)."""
_CITATION_DIGITS = 9
STATUS_EVENT = "status"
"""Name of the DBOS event under which a run publishes its `ResearchStatus`."""
ReportLength = Literal["standard", "long"]
"""How a report is written: in one answer, or outlined and then written section by section."""
OutputMode = Literal["tool", "native", "prompted"]
"""How an agent gives its structured answer: a tool call, the provider's JSON-schema mode, or JSON asked for
in the instructions and read from its text (for models weak at tool calling)."""


class Phase(StrEnum):
    """Where a run is. `QUEUED` is only ever shown by clients, for a run no worker has started yet."""

    QUEUED = "QUEUED"
    PLANNING = "PLANNING"
    AWAITING_APPROVAL = "AWAITING_APPROVAL"
    SEARCHING = "SEARCHING"
    ANALYZING = "ANALYZING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"

    @property
    def finished(self) -> bool:
        return self in (Phase.COMPLETED, Phase.FAILED, Phase.CANCELLED)


class SearchState(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"
    """Not run, or stopped before it finished: the run was told to finish, or reached its deadline."""


class ModelPrice(BaseModel):
    """What a model charges, in US dollars per million tokens."""

    input_per_mtok: float = Field(ge=0, description="US dollars per million input tokens (cached ones too).")
    output_per_mtok: float = Field(ge=0, description="US dollars per million output tokens.")

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        return (input_tokens * self.input_per_mtok + output_tokens * self.output_per_mtok) / 1_000_000


MAX_DEPTH = 5
"""Most rounds of searching a run may have."""
MAX_BREADTH = 10
"""Most follow-up searches one round may run."""


class ResearchOptions(BaseModel):
    """How one run is carried out. Never holds a secret: it is stored as the workflow's input."""

    offline: bool = True
    planner_model: str = "offline"
    search_model: str = "offline"
    analyst_model: str = "offline"
    search_backend: str = "corpus"
    corpus: str = "auto"
    """Collection the corpus backend searches; `auto`: the one the question (or each query) fits best."""
    max_searches: int = 5
    max_results: int = 5
    max_extra_searches: int = 2
    read_pages: int = 4
    """Web pages read after each web search (0: snippets only); corpus searches read no pages."""
    allow_domains: list[str] = Field(default_factory=list, description="Web results kept only from these.")
    deny_domains: list[str] = Field(default_factory=list, description="Web results dropped from these.")
    review_plan: bool = False
    """Stop after planning in phase AWAITING_APPROVAL until a person approves, edits or rejects the plan."""
    review_timeout: float | None = None
    """Seconds to wait for that decision; None waits for as long as it takes."""
    review_timeout_action: Literal["approve", "cancel"] = "cancel"
    """What happens to the plan when `review_timeout` passes without a decision."""
    max_requests: int | None = None
    """Most model requests the whole run may make (planner, searches and analyst); None: no cap."""
    max_tokens: int | None = None
    """Most tokens (input and output) the whole run may use; None: no cap."""
    max_cost: float | None = None
    """Most US dollars the whole run's model requests may cost, at `model_prices`; None: no cap."""
    model_prices: dict[str, ModelPrice] = Field(default_factory=dict)
    """The price of each model the run uses, fixed when it is submitted (a setting's override, else
    genai-prices), so a recovered run counts its spending as the first worker did. A model missing here has
    no known price: its usage costs nothing in the totals, and a run with `max_cost` cannot use it."""
    deadline: float | None = None
    """Seconds the run may take once a worker starts it; None: no deadline."""
    finish_grace: float = 10.0
    """Seconds searches already running may still take after the run is told to finish."""
    planner_output_mode: OutputMode = "tool"
    search_output_mode: OutputMode = "tool"
    analyst_output_mode: OutputMode = "tool"
    """How each role's model gives its structured answer; recorded so a recovered run asks the same way."""
    analyst_context_tokens: int | None = None
    """The analyst model's context window in tokens: its material is trimmed to fit; None: never trimmed."""
    depth: int = Field(default=1, ge=1, le=MAX_DEPTH)
    """Rounds of searching: 1 searches the plan once; each further round searches for the gaps a reflection
    on the findings so far names, and the run stops early when none is left."""
    breadth: int = Field(default=4, ge=1, le=MAX_BREADTH)
    """Most follow-up searches one round after the first may run."""
    report: ReportLength = "standard"
    """`long`: the analyst outlines the report, then each section is written in its own recorded child
    workflow from only the sources the outline gives it (`workflows.write_long_report`)."""
    stream_report: bool = True
    """The analyst's model streams and the report's text is published as written (`report_stream.py`);
    the recorded steps are the same either way."""


class Budget(BaseModel):
    """What a run, or one part of it, may still spend on model calls; None: no cap."""

    requests: int | None = None
    tokens: int | None = None
    cost: float | None = None
    """US dollars."""

    @classmethod
    def of(cls, options: ResearchOptions) -> Budget | None:
        """The run's whole budget, or None when it has no cap."""
        if options.max_requests is None and options.max_tokens is None and options.max_cost is None:
            return None
        return cls(requests=options.max_requests, tokens=options.max_tokens, cost=options.max_cost)

    def after(self, used: Usage) -> Budget:
        """What is left of this budget once `used` is spent (never below zero)."""
        return Budget(
            requests=None if self.requests is None else max(self.requests - used.requests, 0),
            tokens=None if self.tokens is None else max(self.tokens - used.total_tokens, 0),
            cost=None if self.cost is None else max(self.cost - used.cost, 0.0),
        )

    def share(self, parts: int) -> Budget:
        """One of `parts` equal shares (rounded down), so that parts spent in parallel stay in budget."""
        return Budget(
            requests=None if self.requests is None else self.requests // parts,
            tokens=None if self.tokens is None else self.tokens // parts,
            cost=None if self.cost is None else self.cost / parts,
        )

    def less(self, other: Budget, times: int = 1) -> Budget:
        """This budget with `times` × `other` set aside."""
        return Budget(
            requests=None if self.requests is None else max(self.requests - times * (other.requests or 0), 0),
            tokens=None if self.tokens is None else max(self.tokens - times * (other.tokens or 0), 0),
            cost=None if self.cost is None else max(self.cost - times * (other.cost or 0.0), 0.0),
        )

    @property
    def exhausted(self) -> bool:
        return self.requests == 0 or self.tokens == 0 or (self.cost is not None and self.cost <= _NO_MONEY)

    def describe(self) -> str:
        parts = []
        if self.requests is not None:
            parts.append(f"{self.requests} model requests")
        if self.tokens is not None:
            parts.append(f"{self.tokens:,} tokens")
        if self.cost is not None:
            parts.append(format_usd(self.cost))
        return " and ".join(parts) or "no limit"


_NO_MONEY = 1e-9
"""Dollars below which a cost budget counts as spent (shares of a float budget are never exactly 0)."""


def format_usd(amount: float) -> str:
    """Dollars as a person reads a bill: cents, or four decimals below a cent ($0.0042)."""
    return f"${amount:,.2f}" if amount >= 0.01 or amount == 0 else f"${amount:.4f}"


class FinishRequest(BaseModel):
    """Sent to a searching run (`deep-research finish`): keep what is found, skip the rest, write the report."""

    reason: str = "finish requested"


class SearchStep(BaseModel):
    """One search the planner wants run."""

    query: str = Field(description="The search query, as it would be typed into a search engine.")
    rationale: str = Field(description="Why this search helps answer the question.")
    corpus: str | None = Field(
        default=None,
        description="Optional: the local document collection to search (used when the run's corpus is "
        "'auto'); leave empty to let the search choose by its query.",
    )


class ResearchPlan(BaseModel):
    """The planner's output."""

    search_steps: list[SearchStep] = Field(description="The searches to run, most important first.")
    analysis_instructions: str = Field(
        description="What the analyst should focus on when writing the report."
    )


class PlanDecision(BaseModel):
    """A person's answer to a plan awaiting approval, sent to the run as a DBOS message."""

    approved: bool
    plan: ResearchPlan | None = Field(
        default=None, description="The edited plan to run instead of the planner's; None keeps it."
    )


def source_key(title: str, url: str | None, location: str | None) -> str:
    """Identity of a search result: the same document returned by several searches has one key."""
    return url or location or title


PageStatus = Literal["fetched", "refused", "failed"]


class PageRead(BaseModel):
    """One web page a search returned, read for the search's query: the passages that answer it, or why
    there are none. Recorded by the `read_page` step, carried in `SearchOutcome.pages` and shown to people
    (without its text) in the status."""

    model_config = ConfigDict(frozen=True)

    url: str
    """As requested."""
    final_url: str = ""
    """After redirects; empty when nothing was fetched."""
    status: PageStatus
    reason: str = ""
    """Why it was refused or failed, one short line; empty when fetched."""
    title: str = ""
    content_type: str = ""
    bytes_read: int = 0
    truncated: bool = False
    passages: list[str] = Field(default_factory=list)
    """The passages that best match the query, best first."""
    text: str = ""
    """The page's whole extracted text (bounded); what citations of it are checked against."""
    source: Literal["fetched", "search service"] = "fetched"
    """Where the text came from: read from the page, or the page content a search service returned."""

    def shown(self) -> PageRead:
        """This record without its text: what the status shows of it."""
        return self.model_copy(update={"text": ""})


class Source(BaseModel):
    """A document a search returned."""

    title: str
    url: str | None = None
    location: str | None = Field(
        default=None, description="Corpus location, e.g. factbook:ci/Economy/Exports."
    )
    snippet: str = ""
    passages: list[str] = Field(
        default_factory=list,
        description="What the page says on the query, read from the page itself (web sources only).",
    )

    @property
    def key(self) -> str:
        return source_key(self.title, self.url, self.location)

    @property
    def link(self) -> str:
        return self.url or self.location or ""


class SearchFindings(BaseModel):
    """What one search found: a summary and the sources it rests on."""

    query: str
    summary: str = Field(description="What the sources say about the query, in a few sentences.")
    sources: list[Source] = Field(default_factory=list)


class NumberedSource(Source):
    """A source with the number reports cite it by."""

    number: int


def cite(numbered: dict[str, NumberedSource], source: Source) -> NumberedSource:
    """The citable form of `source`: its existing number, or the next free one."""
    if source.key not in numbered:
        numbered[source.key] = NumberedSource(number=len(numbered) + 1, **source.model_dump())
    return numbered[source.key]


class OutlineSection(BaseModel):
    """One section of a long report as the analyst's outline plans it."""

    heading: str = Field(description="The section's heading, a few words.")
    focus: str = Field(default="", description="What the section must say, in one sentence.")
    sources: list[int] = Field(
        default_factory=list, description="The numbers of the sources this section is written from."
    )


class ReportOutline(BaseModel):
    """The analyst's plan of a long report: its title and its sections, each with its own sources."""

    title: str
    sections: list[OutlineSection] = Field(
        default_factory=list,
        description="The sections in reading order; none when the sources do not answer the question.",
    )


class SectionDraft(BaseModel):
    """One section of a long report (or its summary): Markdown without the heading, citing sources as [n]."""

    body: str = Field(description="Markdown text; every factual sentence ends with citations like [1].")


class SectionOutcome(BaseModel):
    """Result of one `write_section` child workflow."""

    index: int
    heading: str
    body: str
    sources: list[int] = Field(default_factory=list, description="The source numbers its writer was shown.")
    usage: Usage = Field(default_factory=lambda: Usage())


class ReportDraft(BaseModel):
    """The analyst's output: a Markdown report citing sources as [n]."""

    title: str
    body: str = Field(
        description="Markdown report; every factual sentence ends with citations like [1] or [2][3]."
    )


class ReportTextChunk(BaseModel):
    """A piece of the report's text as the analyst writes it (`report_stream.py`, read by the HTTP API).

    The text so far is `text_before[:at] + text`, where `text_before` is what the same `attempt` gave
    until now; a chunk of another attempt starts the text again (the request was sent again)."""

    attempt: str = Field(max_length=64)
    at: int = Field(ge=0)
    text: str


def report_text_so_far(chunks: Iterable[ReportTextChunk]) -> str:
    """The report's text as a reader puts it together from the pieces it received, in order."""
    text, attempt = "", None
    for chunk in chunks:
        if chunk.attempt != attempt:
            text, attempt = "", chunk.attempt
        text = text[: chunk.at] + chunk.text
    return text


_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
"""Control characters (Unicode category Cc) but the newline and the tab."""


def without_controls(text: str) -> str:
    """`text` without control characters other than newlines and tabs.

    Documents, web pages and model output are shown in terminals: an escape sequence in them would be run
    by the terminal (recolouring, moving the cursor, OSC 52 writing the clipboard), and a carriage return
    or backspace could hide what precedes it."""
    return _CONTROLS.sub("", text)


def byte_size(size: int) -> str:
    """A number of bytes for people: "2,400 bytes", "5 MB", "12.5 MB"."""
    if size < 1_000_000:
        return f"{size:,} bytes"
    return f"{size / 1_000_000:.1f}".removesuffix(".0") + " MB"


def shortened(text: str, limit: int = 300) -> str:
    """`text` on one line, cut at a word before `limit` characters (with " …") when longer."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: flat.rfind(" ", 0, limit)] + " …"


def citation_number(digits: str) -> int:
    """The source number a citation's digits name; `NOT_A_SOURCE_NUMBER` for more digits than any report
    has sources (a model may write thousands, which `int` refuses to read)."""
    significant = digits.lstrip("0")
    return int(significant or "0") if len(significant) <= _CITATION_DIGITS else NOT_A_SOURCE_NUMBER


def citation_numbers(text: str) -> list[int]:
    """The source number of every `[n]` in `text`, in order (see `citation_number`)."""
    return [citation_number(digits) for digits in CITATION_PATTERN.findall(text)]


class ResearchReport(BaseModel):
    """The finished report with the sources it cites."""

    title: str
    body: str
    sources: list[NumberedSource] = Field(default_factory=list)

    def cited_numbers(self) -> list[int]:
        return sorted(set(citation_numbers(self.body)))

    def to_markdown(self) -> str:
        lines = [f"# {self.title}", "", self.body.strip(), ""]
        if self.sources:
            lines += ["## Sources", ""]
            for source in self.sources:
                where = f" <{source.link}>" if source.link else ""
                lines.append(f"[{source.number}] {source.title}{where}")
                for passage in source.passages[:1]:
                    lines.append(f"    > {shortened(passage)}")
        return "\n".join(lines) + "\n"


class Usage(BaseModel):
    """Model usage, summed over every agent run of a research."""

    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    tool_calls: int = 0
    cost: float = 0.0
    """US dollars, at the run's `model_prices` (models without a price count nothing)."""

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            requests=self.requests + other.requests,
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            tool_calls=self.tool_calls + other.tool_calls,
            cost=self.cost + other.cost,
        )

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


class PlanOutcome(BaseModel):
    plan: ResearchPlan
    usage: Usage


class SearchOutcome(BaseModel):
    """Result of one `run_search` child workflow; a failed search is an outcome too, not an exception."""

    index: int
    query: str
    findings: SearchFindings | None = None
    returned: list[Source] = Field(
        default_factory=list,
        description="What the search really returned: the search tool's results, or the results a "
        "provider's built-in web search reported.",
    )
    pages: list[PageRead] = Field(
        default_factory=list, description="The web pages read for this search (fetched, refused or failed)."
    )
    unreturned: int = Field(
        default=0, description="Sources the search model named that the search never returned (removed)."
    )
    error: str | None = None
    skipped: bool = Field(default=False, description="Not run, or stopped unfinished (see `error` for why).")
    usage: Usage = Field(default_factory=Usage)
    started_at: datetime | None = None
    finished_at: datetime | None = None


class Gap(BaseModel):
    """Something the question asks that the findings so far lack, and the search that should find it."""

    missing: str = Field(description="What is missing, in a few words (e.g. 'Peru: inflation rate').")
    query: str = Field(description="The follow-up search query that should find it.")


class Reflection(BaseModel):
    """The reflecting agent's output: what the findings still lack, most important first (none: done)."""

    gaps: list[Gap] = Field(
        default_factory=list,
        description="The gaps left, most important first; empty when the findings answer the question.",
    )


class ReflectionOutcome(BaseModel):
    """Result of one `reflect_on_findings` child workflow: the reflection and what it cost."""

    reflection: Reflection
    usage: Usage = Field(default_factory=Usage)


class RoundState(StrEnum):
    SEARCHING = "searching"
    REFLECTING = "reflecting"
    """Its searches have ended; the reflection on the findings so far is running."""
    DONE = "done"
    STOPPED = "stopped"
    """Cut short: the run was told to finish, or reached its deadline."""


class RoundProgress(BaseModel):
    """One round of searches as the status shows it: round 1 searches the plan, each later one the gaps
    the reflection after the round before found."""

    number: int
    state: RoundState = RoundState.SEARCHING
    queries: list[str] = Field(default_factory=list)
    gaps: list[str] = Field(
        default_factory=list, description="What this round searches for (empty for round 1: the plan)."
    )
    gaps_left: list[str] = Field(
        default_factory=list, description="What the reflection after this round still found missing."
    )


class RewriteRequest(BaseModel):
    """A new report over a finished run's search results (`deep-research rewrite`)."""

    original_run_id: str
    analyst_model: str | None = Field(default=None, description="None keeps the original analyst model.")
    instructions: str | None = Field(default=None, description="None keeps the plan's analysis instructions.")


class CitationCheck(BaseModel):
    """What the deterministic check of a report's `[n]` citations found (see `citations.py`)."""

    cited: int = Field(default=0, description="Distinct citation numbers in the report as written.")
    verified: int = Field(
        default=0, description="Those resolving to a returned source containing their snippet."
    )
    removed: list[int] = Field(
        default_factory=list, description="Numbers removed from the report, unresolved."
    )
    reasons: dict[int, str] = Field(default_factory=dict, description="Why each removed number was removed.")
    verifiable: bool = Field(
        default=True,
        description="False when no search returned raw results to check against.",
    )
    against_pages: int = Field(
        default=0, description="Verified citations whose passages were checked against the page as read."
    )
    unreturned: int = Field(
        default=0,
        description="Sources the search models named that no search returned: removed before the report.",
    )

    @property
    def clean(self) -> bool:
        """Every citation was verified against what a search returned."""
        return self.verifiable and not self.removed and self.verified == self.cited


def citation_summary(check: CitationCheck) -> str:
    """One line for people: what was checked against what, and which citations were removed and why."""
    plural = "s" if check.unreturned != 1 else ""
    dropped = (
        f"; {check.unreturned} source{plural} the search never returned dropped" if check.unreturned else ""
    )
    if not check.verifiable:
        why = (
            "no source the models named was among the search's results"
            if check.unreturned
            else "the search returned no raw results to check against"
        )
        return f"citations: {check.cited} not verifiable ({why})" + dropped
    if not check.cited:
        return "citations: none in the report" + dropped
    if not check.against_pages:
        checked = "checked against what the searches returned"
    elif check.against_pages == check.verified:
        checked = "checked against the pages as read"
    else:
        checked = (
            f"{check.against_pages} checked against the pages as read, "
            f"{check.verified - check.against_pages} against the search results"
        )
    if not check.removed:
        return f"citations: all {check.verified} verified, {checked}{dropped}"
    removed = "; ".join(f"[{n}] {check.reasons.get(n, 'unresolved')}" for n in check.removed)
    return f"citations: {check.verified} of {check.cited} verified ({checked}); removed {removed}{dropped}"


class AnalysisOutcome(BaseModel):
    """The report, the analyst's own usage, and the extra searches it ran (each with its own usage)."""

    report: ResearchReport
    usage: Usage
    extra_searches: list[SearchOutcome] = Field(default_factory=list)
    analyst_model: str | None = Field(default=None, description="The model that wrote it; None: the run's.")
    rewrite: RewriteRequest | None = Field(default=None, description="Set when this is a rewrite's report.")
    outline: ReportOutline | None = Field(
        default=None, description="A long report's outline (None: written in one answer)."
    )


class SearchProgress(BaseModel):
    """One search as the status event shows it."""

    index: int
    query: str
    rationale: str = ""
    state: SearchState = SearchState.PENDING
    source_count: int = 0
    sources: list[Source] = Field(default_factory=list)
    pages: list[PageRead] = Field(
        default_factory=list, description="The web pages read (without their text), with why any was not."
    )
    unreturned: int = Field(default=0, description="Sources named by the model but never returned (removed).")
    error: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    extra: bool = False
    round: int = Field(default=1, description="The round of searches it belongs to (1: the plan's).")


class ResearchStatus(BaseModel):
    """Everything a client shows about a run; published as the `status` event after every change."""

    run_id: str
    question: str
    phase: Phase = Phase.PLANNING
    options: ResearchOptions = Field(default_factory=ResearchOptions)
    plan: ResearchPlan | None = None
    searches: list[SearchProgress] = Field(default_factory=list)
    report: ResearchReport | None = None
    citations: CitationCheck | None = Field(
        default=None, description="The check of the report's citations, once the report is written."
    )
    usage: Usage = Field(default_factory=Usage)
    usage_by_model: dict[str, Usage] = Field(
        default_factory=dict, description="The same usage split by model id, for cost estimates."
    )
    error: str | None = None
    sequence: int = 0
    created_at: datetime | None = None
    updated_at: datetime | None = None
    trace_id: str | None = Field(
        default=None, description="OpenTelemetry trace id of the run (32 hex digits); None if not traced."
    )
    plan_review: str | None = Field(
        default=None,
        description="How a reviewed plan was decided: approved, edited, rejected, or approved/cancelled "
        "after the review timeout; None when the plan was not reviewed.",
    )
    review_deadline: datetime | None = Field(
        default=None, description="When a plan awaiting approval is decided by the review timeout."
    )
    stopped_early: str | None = Field(
        default=None,
        description="Why the run stopped short of its plan (finish requested, deadline, budget); the report "
        "is then partial and says what is missing.",
    )
    deadline_at: datetime | None = Field(default=None, description="When the run's deadline passes.")
    rounds: list[RoundProgress] = Field(
        default_factory=list, description="The rounds of searches so far (one unless options.depth > 1)."
    )
    rounds_ended: str | None = Field(
        default=None, description="Why no further round of searches ran (no gap left, depth reached, ...)."
    )
    rewrite: RewriteRequest | None = Field(
        default=None, description="Set on a rewrite: the run whose searches it reused, and what changed."
    )
    forked_from: str | None = Field(
        default=None, description="The run this one was forked, retried or rewritten from (set by clients)."
    )
    forks: list[str] = Field(
        default_factory=list, description="Runs forked, retried or rewritten from this one (set by clients)."
    )

    def add_usage(self, model: str, usage: Usage) -> None:
        """Count `usage` of `model` in the totals."""
        self.usage = self.usage + usage
        self.usage_by_model[model] = self.usage_by_model.get(model, Usage()) + usage

    def to_event(self) -> dict[str, object]:
        return self.model_dump(mode="json")


class RunSummary(BaseModel):
    """One line of `deep-research list`."""

    run_id: str
    question: str
    phase: Phase
    created_at: datetime | None = None
    updated_at: datetime | None = None


class TimelineBar(BaseModel):
    """One bar of a run's timeline: a workflow, or a model request, search or wait recorded in one."""

    workflow_id: str
    lane: str = Field(description="The row: run, plan, search 2, analysis, extra search 1.")
    kind: str = Field(description="workflow, model request, search or waiting.")
    label: str
    started_at: datetime
    finished_at: datetime | None = Field(default=None, description="None while it is still running.")
    failed: bool = False
    recovered: bool = Field(default=False, description="The workflow was resumed after a crash.")


class ExecutorInfo(BaseModel):
    """One worker identity seen in the database, for `deep-research workers`."""

    executor_id: str
    alive: bool = Field(description="A live worker holds this executor's lock right now.")
    pending_runs: list[str] = Field(default_factory=list, description="Runs it started and has not finished.")
    pending_workflows: int = Field(default=0, description="Unfinished workflows of any kind it holds.")
    completed_workflows: int = 0
    last_seen: datetime | None = None


class RecoveryResult(BaseModel):
    """What `deep-research recover` handed back to the queues."""

    executor_id: str
    runs: list[str] = Field(default_factory=list, description="Top-level runs re-enqueued.")
    workflows: int = Field(default=0, description="Workflows re-enqueued, runs and their children.")
    other_versions: dict[str, int] = Field(
        default_factory=dict, description="Pending workflows of other releases, which only they can resume."
    )


class BatchEntry(BaseModel):
    """One question of a batch and the run it maps to."""

    question: str
    run_id: str
    new: bool = Field(description="False when this question's run was already submitted.")
