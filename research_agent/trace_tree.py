"""A run's stored spans read as a trace: the span tree, what each span is, which worker made it, and
whether it ended, still runs or was cut off by its worker's death; and the spans as OTLP/JSON.

The terminal tree (`deep-research trace`) and the run page's waterfall are both drawn from `RunTrace`, so
they agree on what a span is. No engine here: it reads only what the trace store returns.

A span with no end is running while its worker may still be alive; it was cut off when the run has
finished, or when another worker has since made spans of the run (it took over after a crash). A cut-off
span is drawn up to the last moment its worker was seen doing anything in the run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from .trace_store import RunSpans, StoredSpan

SpanKind = Literal["workflow", "agent", "model request", "tool", "search", "step", "log", "span"]
SpanState = Literal["ended", "running", "cut off"]


def span_kind(span: StoredSpan) -> SpanKind:
    """What a span is in a run, from the attributes DBOS, pydantic-ai and Logfire give it."""
    attributes = span.attributes
    operation = attributes.get("gen_ai.operation.name")
    if attributes.get("dbos.operation.type") == "workflow":
        return "workflow"
    if operation == "invoke_agent":
        return "agent"
    if operation == "chat":
        return "model request"
    if operation == "execute_tool":
        return "tool"
    if span.name == "search" or span.name.endswith("read_page"):
        return "search"
    if attributes.get("dbos.operation.type") == "step" or span.scope == "dbos-tracer":
        return "step"
    if attributes.get("logfire.span_type") == "log":
        return "log"
    return "span"


@dataclass(frozen=True)
class WorkerProcess:
    """A process that made spans of the run: 1 for the first, 2 for the one that resumed it, ..."""

    number: int
    host: str
    pid: int
    executor: str | None
    first_ns: int
    last_ns: int
    """The last moment it was seen: the latest start or end among its spans."""

    @property
    def label(self) -> str:
        who = f"executor {self.executor}, " if self.executor else ""
        return f"worker {self.number} ({who}pid {self.pid})"


@dataclass
class TraceNode:
    span: StoredSpan
    depth: int
    kind: SpanKind
    state: SpanState
    worker: WorkerProcess
    drawn_end_ns: int
    """Where its bar ends: its end, or now while running, or its worker's last sign of life if cut off."""
    children: list[TraceNode] = field(default_factory=list)

    @property
    def title(self) -> str:
        """The span's name (with its round for a later round's workflow), or for a log line the line itself
        ("search found 5 results")."""
        message = self.span.attributes.get("logfire.msg")
        if self.kind == "log" and isinstance(message, str) and message:
            return message
        round_number = self.span.attributes.get("research.round")
        if self.kind == "workflow" and isinstance(round_number, int) and round_number > 1:
            return f"{self.span.name} · round {round_number}"  # a later round's search or reflection
        return self.span.name

    @property
    def duration_ns(self) -> int:
        return max(0, self.drawn_end_ns - self.span.start_ns)

    @property
    def tokens(self) -> tuple[int, int] | None:
        """(input, output) tokens of a model request, or of an agent run in all."""
        attributes = self.span.attributes
        for prefix in ("gen_ai.usage.", "gen_ai.aggregated_usage."):
            tokens_in, tokens_out = (
                attributes.get(prefix + "input_tokens"),
                attributes.get(prefix + "output_tokens"),
            )
            if isinstance(tokens_in, int) and isinstance(tokens_out, int):
                return tokens_in, tokens_out
        return None

    @property
    def error(self) -> str | None:
        """The error the span ended with (its status message, else its exception's), or None."""
        if self.span.status != "ERROR":
            return None
        for event in self.span.events:
            if event.get("name") == "exception":
                attributes = event.get("attributes") or {}
                kind, message = attributes.get("exception.type", ""), attributes.get("exception.message", "")
                return f"{kind}: {message}".strip(": ") or "error"
        return self.span.status_message or "error"


@dataclass
class RunTrace:
    run_id: str
    trace_ids: list[str]
    roots: list[TraceNode]
    workers: list[WorkerProcess]
    dropped: int = 0

    def nodes(self) -> list[TraceNode]:
        """Every node, depth first, children by start time: the rows of a waterfall."""
        found: list[TraceNode] = []
        stack = list(reversed(self.roots))
        while stack:
            node = stack.pop()
            found.append(node)
            stack.extend(reversed(node.children))
        return found

    @property
    def start_ns(self) -> int:
        return min((root.span.start_ns for root in self.roots), default=0)

    @property
    def end_ns(self) -> int:
        return max((node.drawn_end_ns for node in self.nodes()), default=0)

    @property
    def span_count(self) -> int:
        return len(self.nodes())


def _workers(spans: list[StoredSpan]) -> dict[tuple[str, int], WorkerProcess]:
    seen: dict[tuple[str, int], list[StoredSpan]] = {}
    for span in spans:
        seen.setdefault(span.process, []).append(span)
    ordered = sorted(seen.items(), key=lambda item: min(s.start_ns for s in item[1]))
    workers = {}
    for number, ((host, pid), made) in enumerate(ordered, start=1):
        executors = {s.attributes.get("dbos.executor.id") for s in made} - {None}
        workers[(host, pid)] = WorkerProcess(
            number=number,
            host=host,
            pid=pid,
            executor=str(sorted(map(str, executors))[0]) if executors else None,
            first_ns=min(s.start_ns for s in made),
            last_ns=max(max(s.start_ns, s.end_ns or 0) for s in made),
        )
    return workers


def build_trace(stored: RunSpans, *, run_finished: bool, now_ns: int) -> RunTrace:
    """The run's spans as a tree (children by start time), each with its kind, worker and state."""
    spans = sorted(stored.spans, key=lambda s: (s.start_ns, s.span_id))
    workers = _workers(spans)
    by_id = {span.span_id: span for span in spans}
    children: dict[str | None, list[StoredSpan]] = {}
    for span in spans:
        parent = span.parent_span_id if span.parent_span_id in by_id else None
        children.setdefault(parent, []).append(span)

    def state(span: StoredSpan, worker: WorkerProcess) -> tuple[SpanState, int]:
        if span.end_ns is not None:
            return "ended", span.end_ns
        taken_over = any(other.first_ns > span.start_ns and other != worker for other in workers.values())
        if run_finished or taken_over:
            return "cut off", max(worker.last_ns, span.start_ns)
        return "running", max(now_ns, span.start_ns)

    visited: set[str] = set()

    def node(span: StoredSpan, depth: int) -> TraceNode:
        visited.add(span.span_id)
        worker = workers[span.process]
        span_state, drawn_end = state(span, worker)
        made = TraceNode(span, depth, span_kind(span), span_state, worker, drawn_end)
        made.children = [
            node(child, depth + 1) for child in children.get(span.span_id, []) if child.span_id not in visited
        ]
        return made

    roots = [node(span, 0) for span in children.get(None, [])]
    return RunTrace(
        run_id=stored.run_id,
        trace_ids=sorted({span.trace_id for span in spans}),
        roots=roots,
        workers=sorted(workers.values(), key=lambda w: w.number),
        dropped=stored.dropped,
    )


def duration_text(nanoseconds: int) -> str:
    """A duration for people: 850 µs, 12.3 ms, 1.25 s, 2 min 5 s."""
    if nanoseconds < 1_000_000:
        return f"{nanoseconds / 1000:.0f} µs"
    if nanoseconds < 1_000_000_000:
        return f"{nanoseconds / 1e6:.3g} ms"
    seconds = nanoseconds / 1e9
    if seconds < 60:
        return f"{seconds:.3g} s"
    return f"{int(seconds // 60)} min {seconds % 60:.0f} s"


# --- OTLP/JSON ------------------------------------------------------------------------------------------


def _any_value(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}  # 64-bit integers are strings in OTLP/JSON
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, list | tuple):
        return {"arrayValue": {"values": [_any_value(item) for item in value]}}
    if isinstance(value, dict):
        return {"stringValue": json.dumps(value, ensure_ascii=False)}
    return {"stringValue": "" if value is None else str(value)}


def _key_values(attributes: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"key": key, "value": _any_value(value)} for key, value in attributes.items()]


_STATUS_CODES = {"UNSET": 0, "OK": 1, "ERROR": 2}


def otlp_json(spans: list[StoredSpan]) -> dict[str, Any]:
    """The spans as an OTLP/JSON `ExportTraceServiceRequest` (what an OTLP/HTTP collector accepts with
    `Content-Type: application/json`): grouped by process and instrumentation scope, ids in hex.

    A span stored with no end (cut off, or still running) gets its start as its end and the attribute
    `research.unfinished = true`, since OTLP has no open spans."""
    processes: dict[str, dict[str, list[dict[str, Any]]]] = {}
    resources: dict[str, dict[str, Any]] = {}
    for span in spans:
        resource_key = json.dumps(span.resource, sort_keys=True, default=str)
        resources[resource_key] = span.resource
        attributes = dict(span.attributes)
        if span.end_ns is None:
            attributes["research.unfinished"] = True
        exported: dict[str, Any] = {
            "traceId": span.trace_id,
            "spanId": span.span_id,
            "name": span.name,
            "kind": span.kind,
            "startTimeUnixNano": str(span.start_ns),
            "endTimeUnixNano": str(span.end_ns if span.end_ns is not None else span.start_ns),
            "attributes": _key_values(attributes),
            "events": [
                {
                    "timeUnixNano": str(event.get("time_ns") or span.start_ns),
                    "name": str(event.get("name", "")),
                    "attributes": _key_values(dict(event.get("attributes") or {})),
                }
                for event in span.events
            ],
            "status": {"code": _STATUS_CODES.get(span.status, 0), "message": span.status_message or ""},
        }
        if span.parent_span_id:
            exported["parentSpanId"] = span.parent_span_id
        processes.setdefault(resource_key, {}).setdefault(span.scope, []).append(exported)
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": _key_values(resources[key])},
                "scopeSpans": [
                    {"scope": {"name": scope}, "spans": scoped} for scope, scoped in by_scope.items()
                ],
            }
            for key, by_scope in processes.items()
        ]
    }
