"""Pieces the pages are built from: banner, worker panel, phase stepper, search cards, report, timeline."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

import altair as alt
import pandas as pd
import streamlit as st
from sqlalchemy.engine import make_url

from research_agent.doctor import Check, configuration_problems
from research_agent.naming import trace_url
from research_agent.options import InputError, resolve_options
from research_agent.pricing import estimate_cost
from research_agent.schema import (
    CITATION_PATTERN,
    CitationCheck,
    NumberedSource,
    PageRead,
    Phase,
    ResearchReport,
    ResearchStatus,
    RoundProgress,
    SearchProgress,
    SearchState,
    Source,
    TimelineBar,
    citation_number,
    citation_summary,
    format_usd,
    shortened,
)
from research_agent.settings import Settings
from research_agent.supervisor import WorkerEvent, WorkerState, crash_worker
from ui import backend, live_updates
from ui.markdown_safety import code, link_address, plain, safe_markdown, web_link


def database_label(settings: Settings) -> str:
    return make_url(settings.database_url).render_as_string(hide_password=True)


def trace_line(status: ResearchStatus, project_url: str | None) -> str | None:
    """Markdown naming the run's trace, with a "view in Logfire" link when a project URL is configured."""
    if not status.trace_id:
        return None
    url = trace_url(project_url, status.trace_id)
    return f"trace {code(status.trace_id)}" + (f" · {web_link('view in Logfire', url)}" if url else "")


# --- banner and worker ---------------------------------------------------------------------------------


def banner(settings: Settings) -> None:
    """Which mode new runs use, where runs are stored, and what `deep-research doctor` finds broken."""
    for problem in _configuration_problems(settings.model_dump_json(), settings):
        fix = f" · fix: {plain(problem.fix)}" if problem.fix else ""
        st.error(
            f"**{plain(problem.area)}: {plain(problem.name)}** {plain(problem.detail)}{fix}",
            icon=":material/error:",
        )
    where = f"database {code(database_label(settings))}"
    try:
        options, reason = resolve_options(settings)
    except InputError as error:
        st.warning(f"**Settings need attention:** {plain(str(error))} · {where}", icon=":material/warning:")
        return
    if options.offline:
        corpus = f" over the '{plain(options.corpus)}' corpus" if options.search_backend == "corpus" else ""
        st.info(
            f"**Offline mode** ({plain(reason or '')}): built-in models, {plain(options.search_backend)} "
            f"search{corpus} · {where}",
            icon=":material/cloud_off:",
        )
    else:
        st.success(
            f"**Online mode**: planner {code(options.planner_model)}, search {code(options.search_model)} "
            f"({plain(options.search_backend)}), analyst {code(options.analyst_model)} · {where}",
            icon=":material/cloud:",
        )


@st.cache_data(ttl=30, show_spinner=False)
def _configuration_problems(settings_key: str, _settings: Settings) -> list[Check]:
    """doctor's offline checks, at most every 30 s per configuration (`settings_key`, secrets masked): the
    banner is drawn on every rerun of every page, and a Postgres server that does not answer would hold
    each one up for its connect timeout."""
    return configuration_problems(_settings)


# Material icons ship with Streamlit, so they render wherever the page does (emoji need system fonts).
_WORKER_BADGES = {
    WorkerState.STARTING: (":orange[:material/pending:]", "starting"),
    WorkerState.RUNNING: (":green[:material/check_circle:]", "running"),
    WorkerState.DOWN: (":red[:material/error:]", "down"),
    WorkerState.RECOVERING: (":orange[:material/autorenew:]", "recovering"),
    WorkerState.STOPPED: (":gray[:material/radio_button_unchecked:]", "not running"),
}


WORKER_POLL_SECONDS = 1.0
"""How often the worker panel reruns where the server cannot push (AppTest, another Streamlit release)."""


def _worker_shown(settings: Settings) -> tuple[WorkerState, bool, str]:
    """What the worker panel draws: the panel reruns when this changes."""
    status = backend.worker_status(settings)
    return status.state, status.supervised, status.detail


def worker_panel(settings: Settings) -> None:
    """The worker's state, and the crash-demo button when the UI supervises it. It reruns when the state
    changes (one shared poll for every tab, ui/live_updates.py), else polls every second."""
    run_every = None if live_updates.push_available(settings) else WORKER_POLL_SECONDS
    st.fragment(_worker_panel, run_every=run_every)(settings)


def _worker_panel(settings: Settings) -> None:
    shown = _worker_shown(settings)
    state, supervised, detail = shown
    icon, label = _WORKER_BADGES[state]
    st.markdown(f"**Worker** {icon} {label}")
    st.caption(detail)
    if supervised:
        _crash_control(settings, state is WorkerState.RUNNING)
    live_updates.watch(("worker", settings.database_url), lambda: _worker_shown(settings), shown)


_CRASH_ASKED = "crash-worker-asked"


def _crash_control(settings: Settings, running: bool) -> None:
    """The crash-demo button, which asks before it kills: one click, perhaps one a page elsewhere made the
    browser send, must not take the worker down."""
    if not st.session_state.get(_CRASH_ASKED):
        st.button(
            "Crash the worker",
            icon=":material/bolt:",
            disabled=not running,
            help="Send the worker SIGKILL mid-run. The supervisor restarts it and DBOS resumes every "
            "unfinished run from its last recorded step.",
            key="crash-worker",
            on_click=lambda: st.session_state.update({_CRASH_ASKED: True}),
        )
        return
    st.warning("Send the worker SIGKILL? Its runs stop mid-step, then resume when it is restarted.")
    confirm, keep = st.columns(2)
    keep.button("Keep it", key="crash-worker-keep", on_click=lambda: st.session_state.pop(_CRASH_ASKED, None))
    if confirm.button("Crash it", key="crash-worker-confirm", type="primary", disabled=not running):
        st.session_state.pop(_CRASH_ASKED, None)
        try:
            pid = crash_worker(settings)
        except ProcessLookupError as error:
            st.toast(plain(str(error)))
        else:
            st.toast(f"Sent SIGKILL to worker process {pid}")


# --- run page pieces -----------------------------------------------------------------------------------

_STEPS = (Phase.PLANNING, Phase.SEARCHING, Phase.ANALYZING)


def _failed_at(status: ResearchStatus) -> Phase:
    if status.plan is None or not status.searches:
        return Phase.PLANNING
    if any(s.state in (SearchState.PENDING, SearchState.RUNNING) for s in status.searches):
        return Phase.SEARCHING
    return Phase.ANALYZING


def phase_stepper(status: ResearchStatus) -> str:
    """Planning → Searching → Analyzing → outcome, marking what is done, under way or stopped."""
    phase = status.phase
    if phase in (Phase.FAILED, Phase.CANCELLED):
        current = _failed_at(status)
    elif phase is Phase.AWAITING_APPROVAL:
        current = Phase.PLANNING
    else:
        current = phase
    order = {p: i for i, p in enumerate((Phase.QUEUED, *_STEPS, Phase.COMPLETED))}
    parts = []
    for step in _STEPS:
        if order[step] < order.get(current, 0) or phase is Phase.COMPLETED:
            parts.append(f":green[:material/check_circle:] {step.value.title()}")
        elif step == current and phase is Phase.FAILED:
            parts.append(f":red[:material/cancel:] **{step.value.title()}**")
        elif step == current and phase is Phase.CANCELLED:
            parts.append(f":orange[:material/block:] **{step.value.title()}**")
        elif step == current:
            parts.append(f":blue[:material/autorenew:] **{step.value.title()}**")
        else:
            parts.append(f":gray[:material/radio_button_unchecked:] {step.value.title()}")
    outcome = {
        Phase.COMPLETED: ":green[:material/flag:] **Completed**",
        Phase.FAILED: ":red[:material/error:] **Failed**",
        Phase.CANCELLED: ":orange[:material/block:] **Cancelled**",
    }.get(phase, ":gray[:material/radio_button_unchecked:] Completed")
    prefix = ":gray[:material/hourglass_empty:] **Queued** → " if phase is Phase.QUEUED else ""
    return prefix + " → ".join([*parts, outcome])


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    return (end - start).total_seconds() if start and end else None


def source_line(source: Source) -> str:
    """A source as Markdown: a link for web pages, the corpus location otherwise (an address that is not
    http(s) is shown, never linked)."""
    if source.url and link_address(source.url):
        return web_link(source.title, source.url)
    where = source.url or source.location
    return f"{plain(source.title)} — {code(where)}" if where else plain(source.title)


_CARD_ICONS = {
    SearchState.PENDING: ":gray[:material/hourglass_empty:]",
    SearchState.RUNNING: ":blue[:material/autorenew:]",
    SearchState.DONE: ":green[:material/check_circle:]",
    SearchState.FAILED: ":red[:material/error:]",
    SearchState.SKIPPED: ":orange[:material/skip_next:]",
}


def search_card(search: SearchProgress, retryable: bool = False) -> bool:
    """One search as a card; with `retryable`, a failed or skipped one has a Retry button. True: clicked."""
    clicked = False
    kind = "Extra search" if search.extra else "Search"
    with st.container(border=True):
        facts = [search.state.value]
        if search.state is SearchState.DONE:
            facts.append(f"{search.source_count} source{'s' if search.source_count != 1 else ''}")
        took = _seconds(search.started_at, search.finished_at)
        if took is not None:
            facts.append(f"{took:.1f} s")
        st.markdown(f"{_CARD_ICONS[search.state]} **{kind} {search.index}** · {' · '.join(facts)}")
        st.markdown(plain(search.query))
        if search.rationale:
            st.caption(plain(search.rationale))
        if search.error and search.state is SearchState.SKIPPED:
            st.warning(plain(search.error))
        elif search.error:
            st.error(plain(search.error))
        if retryable and search.state in (SearchState.FAILED, SearchState.SKIPPED) and not search.extra:
            clicked = st.button(
                "Retry failed searches",
                key=f"retry-{search.index}",
                help="A new run reruns this run's failed and skipped searches, reuses the rest, then writes "
                "the report again.",
            )
        if search.sources:
            with st.expander(f"Sources ({len(search.sources)})"):
                st.markdown("\n".join(f"- {source_line(s)}" for s in search.sources))
        if search.pages:
            read = sum(page.status == "fetched" for page in search.pages)
            with st.expander(f"Pages read ({read} of {len(search.pages)})"):
                st.markdown("\n".join(page_lines(page) for page in search.pages))
        if search.unreturned:
            st.caption(
                f"{search.unreturned} source(s) the model named were never returned by the search: dropped"
            )
    return clicked


_PAGE_ICONS = {
    "fetched": ":material/description:",
    "refused": ":material/block:",
    "failed": ":material/error:",
}


def page_lines(page: PageRead) -> str:
    """A page read for a search, as Markdown: its status, title and address, why it was not read, and the
    passages kept (all escaped: page text is data)."""
    name = plain(page.title or page.url)
    line = f"- {_PAGE_ICONS[page.status]} **{page.status}** {name} · {code(page.url)}"
    if page.reason:
        line += f" · {plain(page.reason)}"
    if page.truncated:
        line += " · cut at the size limit"
    quoted = [f"  - “{plain(shortened(passage, 280))}”" for passage in page.passages]
    return "\n".join([line, *quoted])


def search_cards(searches: list[SearchProgress], per_row: int = 3, retryable: bool = False) -> bool:
    """The searches as cards, `per_row` a row; True when a failed card's Retry button was clicked."""
    clicked = False
    for start in range(0, len(searches), per_row):
        columns = st.columns(per_row)
        for column, search in zip(columns, searches[start : start + per_row], strict=False):
            with column:
                clicked = search_card(search, retryable) or clicked
    return clicked


def round_caption(round_: RoundProgress) -> str:
    """A round's heading: its number and state, and the gaps it searches for (Markdown, escaped)."""
    count = len(round_.queries)
    line = f"**Round {round_.number}** · {round_.state.value} · {count} search{'es' if count != 1 else ''}"
    if round_.gaps:
        line += " for: " + "; ".join(plain(gap) for gap in round_.gaps)
    elif round_.number == 1:
        line += " of the plan"
    return line


def searches_by_round(status: ResearchStatus, retryable: bool = False) -> bool:
    """The run's search cards, under one heading a round when it had more than one (then the analyst's
    extra searches on their own); True when a failed card's Retry button was clicked."""
    if len(status.rounds) < 2:
        return search_cards(status.searches, retryable=retryable)
    clicked = False
    for round_ in status.rounds:
        st.markdown(round_caption(round_))
        cards = [s for s in status.searches if s.round == round_.number and not s.extra]
        clicked = search_cards(cards, retryable=retryable) or clicked
    extras = [s for s in status.searches if s.extra]
    if extras:
        st.markdown("**The analyst's extra searches**")
        clicked = search_cards(extras, retryable=retryable) or clicked
    if status.rounds_ended:
        st.caption(f"Rounds ended: {plain(status.rounds_ended)}.")
    return clicked


def linked_citations(body: str, numbers: set[int]) -> str:
    """The report body with each [n] that names a listed source turned into a link to it."""

    def link(match: re.Match[str]) -> str:
        number = citation_number(match.group(1))  # never int(): a model may write 5,000 digits
        return f"[\\[{number}\\]](#source-{number})" if number in numbers else match.group(0)

    return CITATION_PATTERN.sub(link, body)


def report_markdown(body: str, numbers: set[int]) -> str:
    """A report's Markdown as shown: citations linked to their sources, then no image, raw HTML or link
    other than http(s) and those citations (a report is written by a model that read untrusted pages)."""
    return safe_markdown(linked_citations(body, numbers), anchors=True)


def _source_anchor(source: NumberedSource) -> str:
    # Only a web address is a link: a source's url comes from a search result or a model.
    address = link_address(source.url) if source.url else None
    where = (
        f'<a href="{html.escape(address)}" target="_blank" rel="noopener noreferrer">'
        f"{html.escape(source.url or '')}</a>"
        if address
        else f"<code>{html.escape(source.url or source.location or '')}</code>"
    )
    passage = (
        f'<blockquote class="research-passage">{html.escape(" ".join(source.passages[0].split())[:600])}</blockquote>'
        if source.passages
        else ""
    )
    return (
        f'<div id="source-{source.number}" class="research-source">'
        f"<b>[{source.number}]</b> {html.escape(source.title)} — {where}{passage}</div>"
    )


def citation_check(check: CitationCheck) -> None:
    """Whether every citation was verified against what the searches returned, and what was removed."""
    line = plain(citation_summary(check))
    if check.clean:
        st.success(line, icon=":material/verified:")
    else:
        st.warning(line, icon=":material/report:")


_NOT_LEAD = re.compile(r"^(?:#|\||>|[-*+] |\d+[.)] )")


def report_parts(body: str) -> tuple[str, str]:
    """(lead answer, rest) of a report body: its first paragraph when that comes before any heading, list
    or table and cites a source (the answer a report opens with), else ("", body)."""
    first, _, rest = body.strip().partition("\n\n")
    if not first or _NOT_LEAD.match(first) or not CITATION_PATTERN.search(first):
        return "", body
    return first, rest.strip()


def report_view(report: ResearchReport, question: str) -> None:
    # The page title is already the question; a report titled the same gets a plain heading instead.
    st.header("Report" if report.title.strip() == question.strip() else plain(report.title), anchor=False)
    numbers = {s.number for s in report.sources}
    lead, rest = report_parts(report.body)
    if lead:  # the answer first, set apart; comparison tables and the detail follow as Markdown
        with st.container(border=True):
            st.caption(":material/lightbulb: Answer")
            st.markdown(report_markdown(lead, numbers))
    if rest:
        st.markdown(report_markdown(rest, numbers))
    if report.sources:
        st.subheader("Sources", anchor=False)
        st.html("\n".join(_source_anchor(s) for s in report.sources))


def cost_metric(status: ResearchStatus) -> tuple[str, str, str]:
    """The cost tile: spent against the run's cap, at the prices it recorded when it was submitted (runs
    from before prices were recorded are estimated from genai-prices' tables)."""
    options = status.options
    if options.max_cost is not None:
        return (
            "Cost",
            f"{format_usd(status.usage.cost)} of {format_usd(options.max_cost)}",
            "The run's cost budget, at the prices recorded with it; when it is spent the report is written "
            "from what was found.",
        )
    if options.offline:
        return "Cost", "free", "The built-in offline models cost nothing."
    if options.model_prices:
        unpriced = [model for model in status.usage_by_model if model not in options.model_prices]
        value = format_usd(status.usage.cost) + (f" + unpriced: {', '.join(unpriced)}" if unpriced else "")
        return "Cost", value, "At the prices recorded with the run (genai-prices, or RESEARCH_MODEL_PRICES)."
    estimate = estimate_cost(status.usage_by_model)
    return (
        "Estimated cost",
        estimate.describe(),
        "From the genai-prices tables shipped with pydantic-ai; models without a known price are listed.",
    )


def usage_metrics(status: ResearchStatus) -> None:
    usage = status.usage
    done = sum(1 for s in status.searches if s.state is SearchState.DONE)
    elapsed = _seconds(status.created_at, status.updated_at if status.phase.finished else datetime.now(UTC))
    columns = st.columns(5)
    columns[0].metric("Searches done", f"{done} / {len(status.searches)}" if status.searches else "—")
    columns[1].metric("Model requests", usage.requests)
    columns[2].metric(
        "Tokens", f"{usage.total_tokens:,}", help=f"{usage.input_tokens:,} in · {usage.output_tokens:,} out"
    )
    label, value, help_text = cost_metric(status)
    columns[3].metric(label, value, help=help_text)
    columns[4].metric("Elapsed", f"{elapsed:.1f} s" if elapsed is not None else "—")


# --- timeline ------------------------------------------------------------------------------------------

_KIND_COLOURS = {
    "workflow": "#c7d2fe",
    "model request": "#6366f1",
    "search": "#10b981",
    "waiting": "#e5e7eb",
}


def timeline_frame(bars: list[TimelineBar], now: datetime) -> pd.DataFrame:
    rows = [
        {
            "lane": ("↻ " if bar.recovered else "") + bar.lane,
            "kind": bar.kind,
            "label": bar.label,
            "workflow": bar.workflow_id,
            "start": bar.started_at,
            "end": bar.finished_at or now,
            "ms": round(((bar.finished_at or now) - bar.started_at).total_seconds() * 1000),
            "state": "failed" if bar.failed else ("running" if bar.finished_at is None else "done"),
        }
        for bar in bars
    ]
    return pd.DataFrame(rows, columns=["lane", "kind", "label", "workflow", "start", "end", "ms", "state"])


def timeline_chart(
    bars: list[TimelineBar], events: list[WorkerEvent], now: datetime
) -> alt.LayerChart | None:
    """A Gantt chart: one row per workflow, its model requests and searches on top; worker deaths and
    restarts as vertical rules."""
    frame = timeline_frame(bars, now)
    if frame.empty:
        return None
    lanes = list(frame.sort_values("start")["lane"].drop_duplicates())
    # Short steps still get a visible sliver.
    frame["end"] = frame[["start", "end"]].apply(
        lambda row: max(row["end"], row["start"] + pd.Timedelta(milliseconds=15)), axis=1
    )
    colour = alt.Color(
        "kind:N",
        scale=alt.Scale(domain=list(_KIND_COLOURS), range=list(_KIND_COLOURS.values())),
        legend=alt.Legend(orient="bottom", title=None),
    )
    bars_chart = (
        alt.Chart(frame)
        .mark_bar(cornerRadius=2)
        .encode(
            x=alt.X("start:T", title=None, axis=alt.Axis(format="%H:%M:%S")),
            x2="end:T",
            y=alt.Y("lane:N", sort=lanes, title=None),
            color=colour,
            stroke=alt.condition(alt.datum.state == "failed", alt.value("#dc2626"), alt.value(None)),
            tooltip=[
                "lane",
                "label",
                "kind",
                "state",
                alt.Tooltip("ms:Q", title="duration (ms)"),
                "workflow",
            ],
        )
    )
    layers: list[alt.Chart] = [bars_chart]
    first, last = frame["start"].min(), frame["end"].max()
    shown = [e for e in events if first <= pd.Timestamp(e.at) <= last]
    if shown:
        rules = pd.DataFrame([{"at": e.at, "event": f"worker {e.event}", "detail": e.detail} for e in shown])
        layers.append(
            alt.Chart(rules)
            .mark_rule(color="#dc2626", strokeDash=[4, 3], size=2)
            .encode(x="at:T", tooltip=["event", "detail", alt.Tooltip("at:T", format="%H:%M:%S.%L")])
        )
    return alt.LayerChart(layer=layers, height=28 * len(lanes) + 60)
