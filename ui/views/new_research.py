"""New research: a question, a few options, submit; the run page opens at once."""

from __future__ import annotations

import streamlit as st

from research_agent.catalog import corpus_choices
from research_agent.options import InputError, resolve_options, validate_question
from research_agent.providers import ModelConfigError, offline_reason
from research_agent.schema import MAX_BREADTH, MAX_DEPTH, ResearchOptions, format_usd
from ui import backend
from ui.markdown_safety import code, plain

BACKENDS = ["corpus", "searxng", "duckduckgo", "tavily", "builtin"]
OFFLINE_CHOICE = "Offline (built-in models)"
ONLINE_CHOICE = "Configured models"

settings = backend.settings()
client = backend.client()

st.title("New research", anchor=False)
st.caption(
    "Ask a question: a planner writes a research plan, searches run in parallel, an analyst writes a cited report."
)

try:
    missing = offline_reason(settings)
except ModelConfigError as error:  # the banner names it too; the form still opens, offline by default
    missing = str(error)
collections = corpus_choices(settings.indexes)

with st.form("new-research"):
    question = st.text_area(
        "Question",
        placeholder="Compare the economies of Chile and Peru",
        height=100,
        help=f"{settings.min_question_chars} to {settings.max_question_chars} characters.",
    )
    left, middle, right = st.columns(3)
    depth = left.slider("Searches in the plan", 1, 10, value=min(max(settings.max_searches, 1), 10))
    models = middle.radio(
        "Models",
        [OFFLINE_CHOICE, ONLINE_CHOICE],
        index=0 if (settings.offline or missing) else 1,
        help="Configured models: "
        + ", ".join(dict.fromkeys([settings.planner_model, settings.search_model, settings.analyst_model])),
    )
    if missing:
        middle.caption(f"Configured models unavailable: {plain(missing)}.")
    default_backend = settings.search_backend if settings.search_backend in BACKENDS else "corpus"
    backend_name = right.selectbox("Search backend", BACKENDS, index=BACKENDS.index(default_backend))
    corpus = right.selectbox(
        "Corpus (for corpus search)",
        collections,
        index=collections.index(settings.corpus) if settings.corpus in collections else 0,
    )
    domains_left, domains_right = st.columns(2)
    allow = domains_left.text_input(
        "Only these web domains",
        value=", ".join(settings.search_allow_domains),
        placeholder="example.org, who.int",
        help="Web search results from other domains are dropped (comma-separated; subdomains included).",
    )
    deny = domains_right.text_input(
        "Never these web domains",
        value=", ".join(settings.search_deny_domains),
        placeholder="example.com",
        help="Web search results from these domains are dropped.",
    )
    requests_box, tokens_box, cost_box, deadline_box = st.columns(4)
    max_requests = requests_box.number_input(
        "Most model requests (0: no cap)",
        min_value=0,
        value=settings.max_requests or 0,
        help="The run's whole budget; when it runs out the report is written from what was found.",
    )
    max_tokens = tokens_box.number_input(
        "Most tokens (0: no cap)", min_value=0, value=settings.max_tokens or 0, step=1000
    )
    max_cost = cost_box.number_input(
        "Most cost in US$ (0: no cap)",
        min_value=0.0,
        value=float(settings.max_cost or 0),
        step=0.05,
        format="%.2f",
        help="At the models' prices (genai-prices, or RESEARCH_MODEL_PRICES for local models); when it is "
        "spent the report is written from what was found.",
    )
    deadline = deadline_box.number_input(
        "Deadline in seconds (0: none)",
        min_value=0.0,
        value=float(settings.deadline or 0),
        help="At the deadline the searches stop and the run ends with a partial report.",
    )
    rounds_box, breadth_box = st.columns(2)
    rounds = rounds_box.slider(
        "Rounds of searching (depth)",
        1,
        MAX_DEPTH,
        value=settings.depth,
        help="After the first round a reflection names what the findings still lack and the run searches "
        "for it, round after round, stopping early when nothing is missing.",
    )
    breadth = breadth_box.slider(
        "Follow-up searches per round (breadth)", 1, MAX_BREADTH, value=settings.breadth
    )
    review_plan = st.checkbox(
        "Review the plan before searching",
        help="The run stops after planning until you approve, edit or reject its plan on the run page.",
    )
    long_report = st.checkbox(
        "Long report, written section by section",
        value=settings.report == "long",
        help="The analyst outlines the report, then writes each section from only the sources relevant to "
        "it, each in its own recorded step; a crash resumes at the next unwritten section.",
    )
    submitted = st.form_submit_button("Start research", type="primary")

ONLINE_PENDING = "online-run-pending"
"""Session key of an online run waiting for its confirmation: (question, options)."""


def _start(question: str, options: ResearchOptions) -> None:
    with backend.database_errors():
        run_id = client.submit(question, options)
    st.switch_page("views/run.py", query_params={"run": run_id})


def _budget(options: ResearchOptions) -> str:
    caps = [
        f"{options.max_requests} model requests" if options.max_requests else "",
        f"{options.max_tokens:,} tokens" if options.max_tokens else "",
        format_usd(options.max_cost) if options.max_cost else "",
        f"{options.deadline:g} s" if options.deadline else "",
    ]
    shown = ", ".join(cap for cap in caps if cap)
    return f"at most {shown}" if shown else "no cap on requests, tokens, cost or time"


if submitted:
    st.session_state.pop(ONLINE_PENDING, None)
    try:
        cleaned = validate_question(question, settings)
        chosen = settings.model_copy(update={"max_searches": depth, "corpus": corpus})
        chosen = chosen.model_copy(update={"report": "long" if long_report else "standard"})
        options, _ = resolve_options(
            chosen,
            offline=models == OFFLINE_CHOICE,
            search_backend=backend_name,  # type: ignore[arg-type]
            allow_domains=[d for d in allow.split(",") if d.strip()],
            deny_domains=[d for d in deny.split(",") if d.strip()],
            review_plan=review_plan,
            max_requests=int(max_requests) or None,
            max_tokens=int(max_tokens) or None,
            max_cost=float(max_cost) or None,
            deadline=float(deadline) or None,
            depth=rounds,
            breadth=breadth,
        )
        if options.offline:  # free: starts at once
            _start(cleaned, options)
        else:
            st.session_state[ONLINE_PENDING] = (cleaned, options)
    except InputError as error:
        st.error(plain(str(error)), icon=":material/edit_note:")

# Online models cost money, so a run on them starts only after a second, deliberate click: a form submitted
# by a page elsewhere (or a slip) spends nothing.
if pending := st.session_state.get(ONLINE_PENDING):
    pending_question, pending_options = pending
    models_used = ", ".join(
        code(m)
        for m in dict.fromkeys(
            [pending_options.planner_model, pending_options.search_model, pending_options.analyst_model]
        )
    )
    st.warning(
        f"**This run uses the configured models and may cost money**: {models_used}, "
        f"{plain(pending_options.search_backend)} search, {_budget(pending_options)}.\n\n"
        f"Question: {plain(pending_question)}",
        icon=":material/payments:",
    )
    confirm, cancel = st.columns(2)
    cancel.button(
        "Cancel",
        key="online-cancel",
        width="stretch",
        on_click=lambda: st.session_state.pop(ONLINE_PENDING, None),
    )
    if confirm.button("Start the run", key="online-confirm", type="primary", width="stretch"):
        st.session_state.pop(ONLINE_PENDING, None)
        try:
            _start(pending_question, pending_options)
        except InputError as error:
            st.error(plain(str(error)), icon=":material/edit_note:")
