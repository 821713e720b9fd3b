"""The span processor that keeps a worker's run spans in the local trace store (trace_store.py).

It sits on the same OpenTelemetry pipeline as Logfire's and OTLP's exporters, after the scrubbers, so it
stores the very spans they export, with the same keys cut out. Spans outside a run (no `research.run_id`)
are not kept. Writing never happens on the thread that ends a span: `on_end` only appends the span to a
buffer, and a writer thread turns the buffer into rows and writes them in one transaction every half
second, so a run does not wait for the store (bench/trace_overhead.py).

A span still open half a second after it started is also written, without its attributes beyond the run
ones and with no end; when it ends its row is completed. When a worker dies, its open spans (the run's
root, the agent run it was in) keep that first row, and the trace shows them cut off where it died.

Bounds: a per-run cap (beyond it, only workflow spans are kept, so the tree keeps its skeleton; the rest
are counted), a cap on the buffer should the database stop answering, strings cut at 64 KB, and the
store's retention applied when a worker starts writing and every ten minutes.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import deque
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.trace import format_span_id, format_trace_id

from .settings import Settings
from .trace_store import StoredSpan, TraceStore, store_enabled

RUN_ID = "research.run_id"
FLUSH_SECONDS = 0.5
"""How often the writer writes; also how long a span must be open before its open row is written."""
PRUNE_SECONDS = 600.0
MAX_BUFFERED = 50_000
"""Spans kept in memory while the store cannot be written; more are dropped (and counted)."""
MAX_VALUE_CHARS = 64_000
OPEN_SPAN_ATTRIBUTES = (
    "research.",
    "dbos.",
    "gen_ai.operation.name",
    "gen_ai.agent.name",
    "gen_ai.request.model",
)
"""What an open span's row keeps: names of things, never content (its attributes are not scrubbed yet)."""
CONTENT_ATTRIBUTES = frozenset(
    {
        "gen_ai.input.messages",
        "gen_ai.output.messages",
        "gen_ai.system_instructions",
        "gen_ai.tool.call.arguments",
        "gen_ai.tool.call.result",
        "pydantic_ai.all_messages",
        "final_result",
        "tool_arguments",
        "tool_response",
    }
)
"""Prompts, completions and tool arguments: kept only when `Settings.trace_content` allows."""
_RESOURCE = ("service.name", "service.version", "host.name", "process.pid")
_STATUS = {0: "UNSET", 1: "OK", 2: "ERROR"}

log = logging.getLogger(__name__)


def _cut(value: Any) -> Any:
    if isinstance(value, str) and len(value) > MAX_VALUE_CHARS:
        return value[:MAX_VALUE_CHARS] + f"… [{len(value) - MAX_VALUE_CHARS:,} more characters not kept]"
    if isinstance(value, tuple | list):
        return [_cut(item) for item in value]
    return value


def _is_workflow(span: ReadableSpan) -> bool:
    return (span.attributes or {}).get("dbos.operation.type") == "workflow"


class LocalSpanStore(SpanProcessor):
    """Buffers the spans of runs and writes them to the trace store of the worker's database.

    One per process, installed once on the pipeline and pointed at a store by `use` each time a worker
    starts (tests start many workers on different databases in one process); inert while it has none.
    """

    def __init__(self) -> None:
        self._store: TraceStore | None = None
        self._settings: Settings | None = None
        self._secrets: re.Pattern[str] | None = None
        self._ended: deque[ReadableSpan] = deque()
        self._open: dict[int, Span] = {}
        self._written_open: set[int] = set()
        self._counts: dict[str, int] = {}
        self._overflow: dict[str, int] = {}
        self._next_prune = 0.0
        self._failing = False
        self._flushing = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    # --- set-up -----------------------------------------------------------------------------------------

    def use(self, settings: Settings | None, secrets: re.Pattern[str] | None = None) -> None:
        """Keep spans in `settings`' store from now on (None: keep none). What was buffered for the
        previous store is written there first."""
        self.flush()
        with self._flushing:
            if self._store is not None:
                self._store.close()
            enabled = settings is not None and store_enabled(settings)
            self._store = TraceStore(settings) if settings is not None and enabled else None
            self._settings = settings if enabled else None
            self._secrets = secrets
            self._counts.clear()
            self._written_open.clear()
            self._next_prune = 0.0  # retention is applied with the first write
        if self._store is not None and (self._thread is None or not self._thread.is_alive()):
            self._thread = threading.Thread(target=self._write_forever, name="trace-store", daemon=True)
            self._thread.start()

    @property
    def active(self) -> bool:
        return self._store is not None

    # --- the pipeline's calls (hot path: no I/O, no conversion) ----------------------------------------

    def on_start(self, span: Span, parent_context: otel_context.Context | None = None) -> None:
        if self._store is not None and span.attributes and RUN_ID in span.attributes:
            self._open[span.context.span_id] = span

    def on_end(self, span: ReadableSpan) -> None:
        if span.context is None:
            return
        self._open.pop(span.context.span_id, None)
        if self._store is None or not span.attributes or RUN_ID not in span.attributes:
            return
        if len(self._ended) >= MAX_BUFFERED:
            run_id = str(span.attributes[RUN_ID])
            self._overflow[run_id] = self._overflow.get(run_id, 0) + 1
            return
        self._ended.append(span)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        self.flush()
        return True

    def shutdown(self) -> None:
        # Logfire shuts the old pipeline down when it is reconfigured, and this processor goes on in the
        # new one: write what is buffered, keep the writer.
        self.flush()

    # --- the writer -------------------------------------------------------------------------------------

    def _write_forever(self) -> None:
        while True:
            self._wake.wait(FLUSH_SECONDS)
            self._wake.clear()
            self.flush()

    def flush(self) -> None:
        """Write the ended spans buffered so far, and open rows of spans open for over FLUSH_SECONDS."""
        with self._flushing:
            store, settings = self._store, self._settings
            if store is None or settings is None:
                self._ended.clear()
                return
            ended = [self._ended.popleft() for _ in range(len(self._ended))]
            overflow, self._overflow = self._overflow, {}
            try:
                spans, dropped = self._capped(store, settings, ended, overflow)
                store.write(spans, dropped)
                if time.monotonic() >= self._next_prune and spans:
                    self._next_prune = time.monotonic() + PRUNE_SECONDS
                    store.prune(
                        max_runs=settings.trace_store_max_runs,
                        max_age_seconds=settings.trace_store_max_age_days * 86400,
                    )
            except Exception as error:  # a store that fails must never fail a run: say so once, go on
                if not self._failing:
                    log.warning(
                        "the trace store at %s cannot be written (%s); spans are not kept", store.where, error
                    )
                self._failing = True
            else:
                self._failing = False

    def _capped(
        self, store: TraceStore, settings: Settings, ended: list[ReadableSpan], overflow: dict[str, int]
    ) -> tuple[list[StoredSpan], dict[str, int]]:
        """The rows to write (ended spans whole, long-open ones open), within each run's cap."""
        cap = settings.trace_store_max_spans
        dropped = dict(overflow)
        rows: list[StoredSpan] = []
        for span, whole in [*((s, True) for s in ended), *((s, False) for s in self._long_open())]:
            span_id = span.context.span_id if span.context else 0
            run_id = str((span.attributes or {})[RUN_ID])
            if run_id not in self._counts:
                self._counts[run_id] = store.span_count(run_id)  # a resumed run's spans count too
            counted = span_id in self._written_open  # its open row was counted already
            if not counted and self._counts[run_id] >= cap and not _is_workflow(span):
                dropped[run_id] = dropped.get(run_id, 0) + 1
                continue
            if not counted:
                self._counts[run_id] += 1
            if whole:
                self._written_open.discard(span_id)
            else:
                self._written_open.add(span_id)
            rows.append(self._stored(span, whole, settings))
        return rows, dropped

    def _long_open(self) -> list[Span]:
        """Spans open for over FLUSH_SECONDS whose open row is not written yet."""
        started_before = time.time_ns() - int(FLUSH_SECONDS * 1e9)
        return [
            span
            for span_id, span in self._open.copy().items()
            if span_id not in self._written_open and (span.start_time or 0) < started_before
        ]

    def _stored(self, span: ReadableSpan, whole: bool, settings: Settings) -> StoredSpan:
        context = span.context
        assert context is not None
        attributes = dict(span.attributes or {})
        name = span.name
        if whole:
            if not settings.trace_content:
                attributes = {k: v for k, v in attributes.items() if k not in CONTENT_ATTRIBUTES}
            attributes = {k: _cut(v) for k, v in attributes.items()}
        else:
            # Not scrubbed yet (that happens as it ends): names of things only, keys cut out all the same.
            attributes = {k: v for k, v in attributes.items() if k.startswith(OPEN_SPAN_ATTRIBUTES)}
            if self._secrets is not None:
                name = self._secrets.sub("[REDACTED]", name)
                attributes = {
                    k: self._secrets.sub("[REDACTED]", v) if isinstance(v, str) else v
                    for k, v in attributes.items()
                }
        parent = span.parent.span_id if span.parent is not None else None
        return StoredSpan(
            trace_id=format_trace_id(context.trace_id),
            span_id=format_span_id(context.span_id),
            parent_span_id=format_span_id(parent) if parent else None,
            run_id=str(attributes.get(RUN_ID, (span.attributes or {}).get(RUN_ID))),
            name=name,
            kind=span.kind.value + 1,
            scope=span.instrumentation_scope.name if span.instrumentation_scope else "",
            start_ns=span.start_time or 0,
            end_ns=span.end_time if whole else None,
            status=_STATUS.get(span.status.status_code.value, "UNSET") if whole else "UNSET",
            status_message=span.status.description if whole else None,
            attributes=attributes,
            events=[
                {
                    "name": event.name,
                    "time_ns": event.timestamp,
                    "attributes": {k: _cut(v) for k, v in (event.attributes or {}).items()},
                }
                for event in span.events
            ]
            if whole
            else [],
            resource={k: span.resource.attributes[k] for k in _RESOURCE if k in span.resource.attributes},
        )


LOCAL_SPANS = LocalSpanStore()
"""The process's one local span processor (see `observability.configure_observability`)."""
