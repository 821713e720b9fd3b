"""One run, live: phase, plan, a card per search, the report with linked citations, usage, timeline, actions.

The run id lives in the URL (`?run=ID`), so the page can be bookmarked and survives a refresh. While the run
is unfinished its fragments rerun when its status changes (one shared poll for every tab, at most once a
second per tab: ui/live_updates.py), and every `SAFETY_SECONDS` besides, for the elapsed time; where the
server cannot push they poll every second as before. When it finishes, the page renders once more in full
and stops watching.
"""

from __future__ import annotations

from datetime import UTC, datetime

import streamlit as st

from research_agent.client import ForkPoint, ResearchClient
from research_agent.controls import PlanEditError, plan_from_text, plan_to_text
from research_agent.options import InputError, validate_run_id
from research_agent.schema import Phase, ResearchStatus
from research_agent.settings import Settings
from research_agent.supervisor import read_snapshot
from ui import backend, components, downloads, live_updates, trace_view
from ui.markdown_safety import code, plain

# (Comments, not docstrings: Streamlit draws a page script's bare strings.) How often a live run's
# fragments poll where the server cannot push (the timeline: twice that), and how often its status
# fragment reruns anyway when the server pushes (so the elapsed time ticks). Pushed, the charts (timeline,
# trace) follow the run's changes at most every CHARTS_SECONDS: each costs a tab ~0.1-0.2 s of server CPU.
REFRESH_SECONDS = 1.0
SAFETY_SECONDS = 5.0
CHARTS_SECONDS = 10.0
FORK_POINTS: dict[str, ForkPoint] = {
    "the plan (plan again)": "plan",
    "the searches (reuse the plan)": "search",
    "the analysis (reuse plan and searches)": "analyze",
}

settings = backend.settings()
client = backend.client()
run_id = st.query_params.get("run", "")

if not run_id:
    st.title("Run", anchor=False)
    st.info("No run chosen. Start one, or open one from the history.")
    st.page_link("views/new_research.py", label="New research", icon=":material/edit:")
    st.page_link("views/history.py", label="History", icon=":material/history:")
    st.stop()

try:
    validate_run_id(run_id)
    with backend.database_errors():
        first = client.status(run_id)
except InputError as error:
    st.title("No such run", anchor=False)
    st.error(plain(str(error).replace("`deep-research list` shows the runs", "the history lists every run")))
    st.page_link("views/history.py", label="Open the history", icon=":material/history:")
    st.stop()

st.title(plain(first.question), anchor=False)
st.caption(f"run {code(run_id)}")


def _open(new_id: str) -> None:
    st.switch_page("views/run.py", query_params={"run": new_id})


def _lineage(status: ResearchStatus) -> None:
    """Links between a run and the runs forked, retried or rewritten from it."""
    if status.rewrite is not None:
        changed = [f"analyst {code(status.rewrite.analyst_model)}"] if status.rewrite.analyst_model else []
        changed += ["new instructions"] if status.rewrite.instructions else []
        what = f" ({', '.join(changed)})" if changed else ""
        st.page_link(
            "views/run.py",
            label=f"Rewrite of run {plain(status.rewrite.original_run_id)}{what}: same searches, new report",
            query_params={"run": status.rewrite.original_run_id},
            icon=":material/history_edu:",
        )
    elif status.forked_from:
        st.page_link(
            "views/run.py",
            label=f"Forked from run {plain(status.forked_from)}",
            query_params={"run": status.forked_from},
            icon=":material/call_split:",
        )
    for fork in status.forks:
        st.page_link(
            "views/run.py",
            label=f"Run {plain(fork)} was made from this one",
            query_params={"run": fork},
            icon=":material/arrow_forward:",
        )


def _finish(client: ResearchClient, status: ResearchStatus) -> None:
    if status.phase is not Phase.SEARCHING:
        return
    if st.button(
        "Finish now",
        key="finish",
        icon=":material/stop_circle:",
        help=f"Keep the searches done, skip those not started (running ones get {status.options.finish_grace:g} s), "
        "and write the report from what exists.",
    ):
        try:
            with backend.database_errors():
                client.finish(status.run_id)
        except InputError as error:
            st.toast(plain(str(error)))
        else:
            st.toast("Finishing: the report is written from the searches done.")


def _rewrite(client: ResearchClient, status: ResearchStatus) -> None:
    """A form to write a new report from this run's search results."""
    if status.phase is not Phase.COMPLETED or status.report is None:
        return
    with st.expander("Rewrite report"), st.form("rewrite"):
        st.caption("A new run writes the report again from these search results; no search runs again.")
        model = st.text_input(
            "Analyst model",
            value="" if status.options.analyst_model == "offline" else status.options.analyst_model,
            placeholder="offline, or e.g. anthropic:claude-sonnet-5-5",
        )
        instructions = st.text_area(
            "Analysis instructions",
            value=status.plan.analysis_instructions if status.plan else "",
        )
        if not st.form_submit_button("Rewrite report", type="primary"):
            return
    try:
        with backend.database_errors():
            new_id = client.rewrite(
                status.run_id,
                analyst_model=model.strip() or None,
                instructions=None
                if status.plan and instructions == status.plan.analysis_instructions
                else instructions,
            )
    except InputError as error:
        st.error(plain(str(error)), icon=":material/edit_note:")
    else:
        _open(new_id)


def _retry(client: ResearchClient, status: ResearchStatus) -> None:
    try:
        with backend.database_errors():
            new_id = client.retry(status.run_id)
    except InputError as error:
        st.toast(plain(str(error)))
    else:
        _open(new_id)


def _actions(client: ResearchClient, status: ResearchStatus) -> None:
    cancel, resume, fork_point, fork, download, pdf, word = st.columns(
        [1, 1, 2, 1, 1.6, 0.8, 0.8], vertical_alignment="bottom"
    )
    if cancel.button("Cancel", disabled=status.phase.finished, key="cancel", width="stretch"):
        with backend.database_errors():
            client.cancel(status.run_id)
        st.toast("Run cancelled; resume it any time.")
        st.rerun(scope="app")
    if resume.button(
        "Resume",
        disabled=status.phase not in (Phase.CANCELLED, Phase.FAILED),
        key="resume",
        width="stretch",
    ):
        with backend.database_errors():
            client.resume(status.run_id)
        st.toast("Run resumed from its last completed step.")
        st.rerun(scope="app")
    point = fork_point.selectbox("Fork: redo from", list(FORK_POINTS), index=2, key="fork-point")
    if fork.button("Fork", key="fork", width="stretch", disabled=status.phase is Phase.QUEUED):
        try:
            with backend.database_errors():
                new_id = client.fork(status.run_id, FORK_POINTS[point])
        except InputError as error:
            st.toast(plain(str(error)))
        else:
            _open(new_id)
    if status.report is not None:
        downloads.download_buttons(status, {"md": download, "pdf": pdf, "docx": word})


def _queued_hint(settings: Settings, status: ResearchStatus) -> None:
    if status.phase is not Phase.QUEUED:
        return
    worker = backend.worker_status(settings)
    if worker.running:
        st.info("Queued: the worker picks it up in a moment.", icon=":material/hourglass_empty:")
    else:
        st.warning(
            "Queued, but no worker is running, so nothing will pick it up yet. Start one with "
            "`deep-research worker` (or `deep-research ui`, which supervises one); the run starts then.",
            icon=":material/hourglass_empty:",
        )


def _plan_review(client: ResearchClient, status: ResearchStatus) -> None:
    """The plan awaiting approval, editable: one search a line (`query | rationale`), and the instructions."""
    assert status.plan is not None
    deadline = ""
    if status.review_deadline:
        action = "approved" if status.options.review_timeout_action == "approve" else "cancelled"
        deadline = f" Undecided, it is {action} at {status.review_deadline.astimezone():%H:%M:%S}."
    st.warning(
        "The plan awaits your approval: edit it if you like, then approve or reject it." + deadline,
        icon=":material/rule:",
    )
    with st.form("plan-review"):
        searches = st.text_area(
            "Searches, one a line: query | rationale",
            plan_to_text(status.plan),
            height=200,
            help="Change, remove or add lines; at least one search must remain.",
        )
        instructions = st.text_area("Analysis instructions", status.plan.analysis_instructions)
        approve, reject = st.columns(2)
        approved = approve.form_submit_button("Approve", type="primary", width="stretch")
        rejected = reject.form_submit_button("Reject", width="stretch")
    if not (approved or rejected):
        return
    try:
        with backend.database_errors():
            if rejected:
                client.reject(status.run_id)
            else:
                edited = plan_from_text(searches, instructions)
                client.approve(status.run_id, None if edited == status.plan else edited)
    except (InputError, PlanEditError) as error:
        st.error(plain(str(error)), icon=":material/edit_note:")
        return
    st.toast("Plan rejected: the run ends without searching." if rejected else "Plan approved.")
    st.rerun(scope="app")


def _render(status: ResearchStatus) -> None:
    st.markdown(components.phase_stepper(status))
    _queued_hint(settings, status)
    if status.error:
        st.error(plain(status.error))
    if status.stopped_early:
        st.warning(f"Partial report: {plain(status.stopped_early)}.", icon=":material/timer_off:")
    _lineage(status)
    components.usage_metrics(status)
    if trace := components.trace_line(status, settings.logfire_project_url):
        st.caption(trace)
    _actions(client, status)
    _finish(client, status)
    if status.phase is Phase.AWAITING_APPROVAL and status.plan is not None:
        _plan_review(client, status)
    elif status.plan is not None:
        with st.expander(f"Plan · {len(status.plan.search_steps)} searches", expanded=status.report is None):
            for i, step in enumerate(status.plan.search_steps, start=1):
                st.markdown(f"{i}. **{plain(step.query)}** — {plain(step.rationale)}")
            st.caption(f"Analysis instructions: {plain(status.plan.analysis_instructions)}")
            if status.plan_review:
                st.caption(f"Plan {plain(status.plan_review)} before searching.")
    if status.searches:
        st.subheader("Searches", anchor=False)
        if components.searches_by_round(status, retryable=status.phase is Phase.COMPLETED):
            _retry(client, status)
    if status.report is not None:
        st.divider()
        components.report_view(status.report, status.question)
        if status.citations is not None:
            components.citation_check(status.citations)
        _rewrite(client, status)


live = not first.phase.finished
pushed = live_updates.push_available(settings)
topic = ("run", settings.database_url, run_id)


def _watch(status: ResearchStatus, min_gap: float) -> None:
    """Rerun the calling fragment when the run's status changes, while the run is live."""
    if live and not status.phase.finished:
        live_updates.watch(topic, lambda: client.status(run_id), status, min_gap)
    else:
        live_updates.stop_watching(topic)


@st.fragment(run_every=(SAFETY_SECONDS if pushed else REFRESH_SECONDS) if live else None)
def run_view() -> None:
    with backend.database_errors():
        status = client.status(run_id)
    _render(status)
    _watch(status, REFRESH_SECONDS)
    if live and status.phase.finished:
        st.rerun(scope="app")  # render the finished run in full once, then stop polling


@st.fragment(run_every=2 * REFRESH_SECONDS if live and not pushed else None)
def timeline_view() -> None:
    with backend.database_errors():
        status = client.status(run_id)
        bars = client.timeline(run_id)
    _watch(status, CHARTS_SECONDS)
    snapshot = read_snapshot(settings)
    chart = components.timeline_chart(bars, snapshot.events if snapshot else [], datetime.now(UTC))
    if chart is None:
        st.caption("Nothing recorded yet.")
    else:
        st.altair_chart(chart, width="stretch")
        st.caption(
            "From DBOS's own step records: one row per workflow (↻ = resumed after a crash), with its model "
            "requests and searches; red dashed lines mark the worker dying and restarting."
        )


run_view()
with st.expander("Timeline", expanded=True):
    timeline_view()
with st.expander("Trace", expanded=False):
    trace_view.trace_view(
        settings, run_id, live, (lambda: _watch(client.status(run_id), CHARTS_SECONDS)) if pushed else None
    )
