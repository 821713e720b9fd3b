"""The run page's trace: a waterfall of the run's stored spans, and the attributes of the span picked.

Read from the local trace store (research_agent/trace_store.py) through the same tree the terminal
draws (`trace_tree.build_trace`): workflow → agent → model request / tool / search, one row per span,
bars by start and duration, token counts on model requests, errors outlined in red. After a crash the
dead worker's open spans end, dashed, where it was last seen, and a rule marks where the next worker
took over. Span names and attribute values were written by models and web pages as much as by us: the
chart and the table show them as text, and the JSON of prompts and completions goes to code blocks.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from research_agent.naming import trace_url
from research_agent.schema import without_controls
from research_agent.settings import Settings
from research_agent.trace_store import RunSpans, TraceStore, store_enabled
from research_agent.trace_tree import RunTrace, TraceNode, build_trace, duration_text
from ui import backend
from ui.markdown_safety import code, plain, web_link

ROW_PIXELS = 18
LABEL_PIXELS = 280
MAX_ROWS = 400
"""Spans drawn in the waterfall; a run with more lists the rest only in the picker."""
TEXT_LIMIT = 200_000
"""Characters of one attribute shown (the store keeps at most 64 KB of a string, JSON can add escapes)."""
_KIND_COLOURS = {
    "workflow": "#c7d2fe",
    "agent": "#93c5fd",
    "model request": "#6366f1",
    "tool": "#fbbf24",
    "search": "#10b981",
    "step": "#cbd5e1",
    "log": "#94a3b8",
    "span": "#e5e7eb",
}
_LONG_TEXT = ("gen_ai.", "pydantic_ai.", "final_result", "model_request_parameters", "tool_")


@st.cache_resource(show_spinner=False)
def _store(database_url: str, _settings: Settings) -> TraceStore:
    return TraceStore(_settings)


def _shown(text: str, limit: int = 300) -> str:
    flat = without_controls(text)
    return flat if len(flat) <= limit else flat[:limit] + " …"


def waterfall_frame(trace: RunTrace) -> pd.DataFrame:
    """One row per span, in tree order: its place, its bar (ms from the trace's start) and its tooltip."""
    start = trace.start_ns
    several = len(trace.workers) > 1
    rows = []
    for index, node in enumerate(trace.nodes()[:MAX_ROWS]):
        tokens = node.tokens if node.kind in ("model request", "agent") else None
        label = "·\u2002" * node.depth + _shown(node.title, 80)  # Vega drops leading spaces
        if several:
            label += f" · w{node.worker.number}"
        rows.append(
            {
                "row": f"{index:04d}{label}",
                "span": _shown(node.title),
                "kind": node.kind,
                "start": (node.span.start_ns - start) / 1e6,
                "end": max((node.drawn_end_ns - start) / 1e6, (node.span.start_ns - start) / 1e6 + 0.3),
                "duration": duration_text(node.duration_ns),
                "tokens": f"{tokens[0]:,} in / {tokens[1]:,} out" if tokens else "",
                "worker": _shown(node.worker.label),
                "state": node.state,
                "error": _shown(node.error or ""),
            }
        )
    return pd.DataFrame(rows)


def waterfall_chart(trace: RunTrace) -> alt.LayerChart | None:
    frame = waterfall_frame(trace)
    if frame.empty:
        return None
    colour = alt.Color(
        "kind:N",
        scale=alt.Scale(domain=list(_KIND_COLOURS), range=list(_KIND_COLOURS.values())),
        legend=alt.Legend(orient="bottom", title=None, symbolStrokeWidth=0),
    )
    flagged = (alt.datum.error != "") | (alt.datum.state == "cut off")
    bars = (
        alt.Chart(frame)
        .mark_bar(cornerRadius=2, height=12)
        .encode(
            x=alt.X("start:Q", title="ms from the run's first span"),
            x2="end:Q",
            y=alt.Y(
                "row:N",
                sort=list(frame["row"]),
                title=None,
                # The row key starts with its 4-digit position (rows must be unique); the axis shows the rest.
                axis=alt.Axis(
                    labelExpr="substring(datum.label, 4)",
                    labelFontSize=11,
                    labelOverlap=False,
                    # Left-aligned, so the indentation of a span below its parent shows.
                    labelAlign="left",
                    labelPadding=LABEL_PIXELS,
                    labelLimit=LABEL_PIXELS - 10,
                ),
            ),
            color=colour,
            stroke=alt.condition(flagged, alt.value("#dc2626"), alt.value(None)),
            strokeWidth=alt.condition(flagged, alt.value(2), alt.value(0)),
            strokeDash=alt.condition(alt.datum.state == "cut off", alt.value([4, 2]), alt.value([1, 0])),
            tooltip=["span", "kind", "duration", "tokens", "worker", "state", "error"],
        )
    )
    layers: list[alt.Chart] = [bars]
    if len(trace.workers) > 1:
        start = trace.start_ns
        marks = [
            {"at": (w.last_ns - start) / 1e6, "event": f"{w.label}: last span"} for w in trace.workers[:-1]
        ] + [{"at": (w.first_ns - start) / 1e6, "event": f"{w.label}: first span"} for w in trace.workers[1:]]
        layers.append(
            alt.Chart(pd.DataFrame(marks))
            .mark_rule(color="#dc2626", strokeDash=[4, 3], size=2)
            .encode(x="at:Q", tooltip=["event", alt.Tooltip("at:Q", title="ms", format=".1f")])
        )
    return alt.LayerChart(layer=layers, height=ROW_PIXELS * len(frame) + 60)


def _attribute_table(node: TraceNode) -> pd.DataFrame:
    """The span's short attributes as text, and its identity (ids, times, status, worker)."""
    span = node.span
    rows: list[tuple[str, str]] = [
        ("name", span.name),
        ("kind", node.kind),
        ("duration", duration_text(node.duration_ns) + ("" if node.state == "ended" else f" ({node.state})")),
        ("worker", node.worker.label),
        ("status", span.status + (f": {span.status_message}" if span.status_message else "")),
        ("span id", span.span_id),
        ("parent span id", span.parent_span_id or ""),
        ("trace id", span.trace_id),
    ]
    rows += [
        (key, _text(value)) for key, value in sorted(span.attributes.items()) if not _is_long(key, value)
    ]
    return pd.DataFrame(
        [{"attribute": _shown(k, 200), "value": _shown(v, 2000)} for k, v in rows], dtype="string"
    )


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _is_long(key: str, value: Any) -> bool:
    return isinstance(value, str) and len(value) > 200 and key.startswith(_LONG_TEXT)


def _long_attributes(node: TraceNode) -> None:
    """Prompts, completions, tool definitions and results: pretty-printed JSON in code blocks (verbatim)."""
    for key, value in sorted(node.span.attributes.items()):
        if not _is_long(key, value):
            continue
        try:
            text = json.dumps(json.loads(value), indent=2, ensure_ascii=False)
            language: str | None = "json"
        except ValueError:
            text, language = value, None
        with st.expander(plain(_shown(key, 200))):  # an expander's label is Markdown
            st.code(without_controls(text[:TEXT_LIMIT]), language=language, wrap_lines=True)
    for event in node.span.events:
        with st.expander(f"event: {plain(_shown(str(event.get('name', '')), 200))}"):
            st.code(
                without_controls(json.dumps(event, indent=2, ensure_ascii=False)[:TEXT_LIMIT]),
                wrap_lines=True,
            )


def _picker_label(trace: RunTrace, index: int) -> str:
    node = trace.nodes()[index]
    flags = " ✗" if node.error or node.state == "cut off" else ""
    return (
        "\u00a0\u00a0" * node.depth + f"{_shown(node.title, 80)} · {duration_text(node.duration_ns)}{flags}"
    )


def _draw(settings: Settings, run_id: str, finished: bool) -> None:
    with backend.database_errors():
        stored: RunSpans = _store(settings.database_url, settings).read(run_id)
    if not stored.spans:
        if store_enabled(settings):
            st.caption(
                "No spans stored for this run yet: the worker writes them every half second. Runs from "
                "before the trace store, or older than its retention, have none."
            )
        else:
            st.caption("The trace store is off (RESEARCH_TRACE_STORE=false or RESEARCH_TRACING=false).")
        return
    trace = build_trace(stored, run_finished=finished, now_ns=time.time_ns())
    summary = f"{trace.span_count} spans · trace {code(', '.join(trace.trace_ids))}"
    if trace.dropped:
        summary += f" · {trace.dropped:,} more over the per-run cap, not kept"
    if len(trace.workers) > 1:
        summary += " · " + ", ".join(f"w{w.number}: {code(w.label)}" for w in trace.workers)
    if link := trace_url(settings.logfire_project_url, trace.trace_ids[0]):
        summary += f" · {web_link('the same trace in Logfire', link)}"
    st.caption(summary)
    chart = waterfall_chart(trace)
    if chart is not None:
        st.altair_chart(chart, width="stretch")
    nodes = trace.nodes()
    picked = st.selectbox(
        "Span",
        range(len(nodes)),
        format_func=lambda index: _picker_label(trace, index),
        key="trace-span",
        help="Its attributes as recorded (prompts and completions only when RESEARCH_TRACE_CONTENT allows).",
    )
    node = nodes[picked if picked is not None and picked < len(nodes) else 0]
    st.dataframe(_attribute_table(node), hide_index=True, width="stretch")
    _long_attributes(node)


def trace_view(settings: Settings, run_id: str, live: bool, watch: Callable[[], None] | None = None) -> None:
    """The trace panel of run `run_id`; while the run is `live` it reads the store again every 2 s, or, with
    `watch` (which subscribes the running fragment to the run's changes, ui/live_updates.py), when the
    run's status changes, as often as `watch` allows."""

    def draw() -> None:
        _draw(settings, run_id, not live)
        if watch is not None:
            watch()

    st.fragment(draw, run_every=2.0 if live and watch is None else None)()
