"""`deep-research trace ID`: a run's stored spans as a tree in the terminal, or as JSON for programs.

The tree shows each span's name, duration, tokens of model requests, errors, and, when more than one
worker took part (a crash and its recovery), which worker made it; spans a dead worker left open are
marked cut off. `--json` prints the stored spans, `--otlp` the same as OTLP/JSON for any OTLP tool.
Span names and attribute values come from models and web pages as much as from us: they are printed as
text (never Rich markup) and without control characters.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict

from rich.console import Group
from rich.text import Text
from rich.tree import Tree

from .database import redacted_url
from .naming import trace_url
from .options import InputError
from .schema import ResearchStatus, without_controls
from .settings import Settings
from .trace_store import RunSpans, TraceStore, store_enabled
from .trace_tree import RunTrace, TraceNode, build_trace, duration_text, otlp_json

_STYLES = {
    "workflow": "bold",
    "agent": "cyan",
    "model request": "magenta",
    "tool": "green",
    "search": "green",
}


def load_trace(settings: Settings, status: ResearchStatus) -> tuple[RunSpans, RunTrace]:
    """The stored spans of the run `status` describes, and their tree; `InputError` when none are stored."""
    store = TraceStore(settings)
    try:
        stored = store.read(status.run_id)
    finally:
        store.close()
    if not stored.spans:
        why = (
            "the trace store is off (RESEARCH_TRACE_STORE=false or RESEARCH_TRACING=false); turn it on for "
            "the worker and later runs are kept"
            if not store_enabled(settings)
            else "it ran before the trace store existed, its spans expired (RESEARCH_TRACE_STORE_MAX_AGE_DAYS, "
            "_MAX_RUNS), or its worker ran with RESEARCH_TRACING=false"
        )
        raise InputError(f"no spans stored for run {status.run_id}: {why}")
    return stored, build_trace(stored, run_finished=status.phase.finished, now_ns=time.time_ns())


def trace_json(stored: RunSpans, *, otlp: bool) -> str:
    """The run's spans as JSON: OTLP/JSON with `otlp`, else the store's own rows."""
    if otlp:
        return json.dumps(otlp_json(stored.spans), indent=2, ensure_ascii=False)
    spans = [asdict(span) for span in stored.spans]
    return json.dumps({"run_id": stored.run_id, "dropped": stored.dropped, "spans": spans}, indent=2)


def _label(node: TraceNode, several_workers: bool) -> Text:
    label = Text(without_controls(node.title), style=_STYLES.get(node.kind, ""))
    if node.kind != "log":
        label.append(f"  {duration_text(node.duration_ns)}", style="dim")
    if (tokens := node.tokens) is not None and node.kind == "model request":
        label.append(f"  {tokens[0]:,} in / {tokens[1]:,} out tokens", style="magenta")
    if several_workers:
        label.append(f"  w{node.worker.number}", style="blue")
    if node.state == "cut off":
        label.append(f"  ✗ cut off: worker {node.worker.number} stopped", style="bold red")
    elif node.state == "running":
        label.append("  running", style="yellow")
    if (error := node.error) is not None:
        label.append(f"  ✗ {without_controls(error)[:300]}", style="red")
    return label


def trace_tree(trace: RunTrace, status: ResearchStatus, project_url: str | None) -> Group:
    """The header (trace id, span count, workers, Logfire link) and the span tree."""
    several = len(trace.workers) > 1
    header = Text(f"run {without_controls(trace.run_id)} · ", style="bold")
    header.append(f"{trace.span_count} spans", style="bold")
    if trace.dropped:
        header.append(f" (+{trace.dropped:,} over the per-run cap, not kept)", style="yellow")
    header.append(f" · trace {', '.join(trace.trace_ids)}")
    lines: list[Text | Tree] = [header]
    if link := trace_url(project_url, status.trace_id):
        lines.append(Text(f"in Logfire: {without_controls(redacted_url(link))}", style="dim"))
    for worker in trace.workers if several else []:
        lines.append(Text(f"w{worker.number}: {without_controls(worker.label)}", style="blue"))
    for root in trace.roots:
        tree = Tree(_label(root, several), guide_style="dim")
        stack = [(tree, child) for child in reversed(root.children)]
        while stack:
            parent, node = stack.pop()
            branch = parent.add(_label(node, several))
            stack.extend((branch, child) for child in reversed(node.children))
        lines.append(tree)
    return Group(*lines)
