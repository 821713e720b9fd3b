"""Traces and logs of research runs: Logfire / OpenTelemetry set-up, run attributes, secret scrubbing.

`configure_observability` runs once per process, before DBOS is configured. It sends spans and logs to
Logfire when a token is set, to any OpenTelemetry collector named by `OTEL_EXPORTER_OTLP_ENDPOINT`, and
to the local trace store beside the database (local_spans.py) unless `RESEARCH_TRACE_STORE=false`; with
none of these no spans are made. pydantic-ai is instrumented and DBOS traces its workflows and steps, so
one run is one trace: the `deep_research` workflow span is its root and child workflows, agent runs, model
requests and searches nest below it. Every span started inside a run's workflows is tagged with the run id, the phase
and the search index (`research.*` attributes). The root's trace context is stored in the run's workflow
attributes, so work resumed after a crash joins the same trace, and the trace id is published with the
run's status. API keys, tokens and authorization headers are scrubbed before anything is exported.
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from typing import Any

import logfire
from dbos import DBOS
from logfire._internal.scrubbing import DEFAULT_PATTERNS
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk._logs import LogRecordProcessor, ReadWriteLogRecord
from opentelemetry.sdk.trace import Event, ReadableSpan, Span, SpanProcessor
from opentelemetry.trace import Status, format_trace_id
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from . import __version__
from ._dbos import OTEL_CARRIER_ATTRIBUTE
from .local_spans import LOCAL_SPANS
from .naming import WorkflowRef
from .schema import Phase, ResearchStatus
from .settings import Settings
from .trace_store import store_enabled

SERVICE_NAME = "deep-research"

RUN_ID = "research.run_id"
WORKFLOW_ID = "research.workflow_id"
PHASE = "research.phase"
SEARCH_INDEX = "research.search_index"
EXTRA_SEARCH = "research.extra_search"
ROUND = "research.round"

REDACTED = "[REDACTED]"

# Key formats of the providers we use; whatever a key looks like, the configured values are added too.
PROVIDER_KEY_PATTERNS: tuple[str, ...] = (
    r"\bsk-ant-[A-Za-z0-9_-]{8,}",  # Anthropic
    r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{16,}",  # OpenAI
    r"\bAIza[0-9A-Za-z_-]{30,}",  # Google (Gemini API keys)
    r"\btvly-(?:dev-|prod-)?[A-Za-z0-9_-]{8,}",  # Tavily
    r"\bpylf_v\d+_[A-Za-z0-9_-]+",  # Logfire write tokens
    # Authorization header values; a digit and 16 characters, so "basic infrastructure" stays.
    r"\b[Bb](?:earer|asic)\s+(?=[A-Za-z0-9._~+/=-]*\d)[A-Za-z0-9._~+/=-]{16,}",
)
_SECRET_GROUP = "research_secret"
_SENSITIVE_HINT = re.compile("|".join(DEFAULT_PATTERNS), re.IGNORECASE)


# The run's current phase, for spans of the top-level workflow; children know theirs from their ids.
_run_phase: ContextVar[Phase | None] = ContextVar("research_run_phase", default=None)
_configured = False
_tracing = False
_OTLP_ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")


# --- which run a span belongs to ------------------------------------------------------------------------


class RunAttributesProcessor(SpanProcessor):
    """Tags every span started inside a run's workflows with the run id, the phase and the search index.

    It works from the DBOS context of the code that starts the span, so spans made by DBOS, pydantic-ai
    and httpx are tagged too, and "all searches of run X" is one filter on `research.run_id`.
    """

    def on_start(self, span: Span, parent_context: otel_context.Context | None = None) -> None:
        workflow_id = DBOS.workflow_id
        if workflow_id is None:
            return
        ref = WorkflowRef.parse(workflow_id)
        span.set_attribute(RUN_ID, ref.run_id)
        span.set_attribute(WORKFLOW_ID, workflow_id)
        phase = ref.phase or _run_phase.get()
        if phase is not None:
            span.set_attribute(PHASE, phase.value)
        if ref.search_index is not None:
            span.set_attribute(SEARCH_INDEX, ref.search_index)
            span.set_attribute(EXTRA_SEARCH, ref.extra)
        if ref.round is not None:
            span.set_attribute(ROUND, ref.round)

    def on_end(self, span: ReadableSpan) -> None:
        pass


# --- secrets --------------------------------------------------------------------------------------------


def secret_pattern(settings: Settings) -> re.Pattern[str]:
    """Matches API keys and tokens: the provider formats and the exact values configured in `settings`."""
    literal = [
        re.escape(value)
        for name in (
            "anthropic_api_key",
            "google_api_key",
            "openai_api_key",
            "tavily_api_key",
            "logfire_token",
            "api_token",
            "mcp_token",
        )
        if (value := settings.secret(name)) and len(value) >= 8
    ]
    return re.compile("|".join([*literal, *PROVIDER_KEY_PATTERNS]))


def redact_secrets(text: str, pattern: re.Pattern[str]) -> str:
    """`text` with every match of `pattern` replaced by `[REDACTED]`."""
    return pattern.sub(REDACTED, text)


def scrubbing_options(settings: Settings) -> logfire.ScrubbingOptions:
    """Logfire's scrubbing plus our key patterns.

    Logfire replaces a value that matches a pattern with a note quoting the matched text, and keeps a
    value that matches as a whole; both would leak a key. So our pattern only looks ahead (it matches the
    empty string in front of a key) and the callback cuts the keys out, leaving the rest of the text.
    """
    secrets = secret_pattern(settings)
    lookahead = f"(?=(?P<{_SECRET_GROUP}>{secrets.pattern}))"

    def cut_secrets(match: logfire.ScrubMatch) -> Any:
        if match.pattern_match.group(_SECRET_GROUP) is None or not isinstance(match.value, str):
            return None  # Logfire's own redaction: the whole value goes
        redacted = redact_secrets(match.value, secrets)
        # What is left may hold something Logfire's patterns would have caught after the key.
        return None if _SENSITIVE_HINT.search(redacted) else redacted

    return logfire.ScrubbingOptions(extra_patterns=[lookahead], callback=cut_secrets)


def _redact_value(value: Any, pattern: re.Pattern[str]) -> Any:
    if isinstance(value, str):
        return redact_secrets(value, pattern)
    if isinstance(value, Mapping):
        return {key: _redact_value(item, pattern) for key, item in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, bytes):
        return type(value)(_redact_value(item, pattern) for item in value)  # type: ignore[call-arg]
    return value


def _redact_attributes(
    attributes: Mapping[str, Any] | None, pattern: re.Pattern[str]
) -> dict[str, Any] | None:
    """The attributes with keys cut out, or None when none holds one (the common case, kept cheap)."""
    if not attributes or not any(pattern.search(str(value)) for value in attributes.values()):
        return None
    return {key: _redact_value(value, pattern) for key, value in attributes.items()}


class SecretGuardProcessor(SpanProcessor):
    """Cuts keys out of everything Logfire's scrubber leaves alone: span names, status descriptions and
    the attributes it deems safe (prompts and completions of model requests, URLs, exception messages).

    Installed first among the processors after the scrubber, so every exporter sees the cleaned span. The
    span handed to it is the scrubber's own copy, which it may rewrite before passing it on.
    """

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.pattern = pattern

    def on_end(self, span: ReadableSpan) -> None:
        if self.pattern.search(span.name):
            span._name = redact_secrets(span.name, self.pattern)
        description = span.status.description
        if description and self.pattern.search(description):
            span._status = Status(span.status.status_code, redact_secrets(description, self.pattern))
        if (attributes := _redact_attributes(span.attributes, self.pattern)) is not None:
            span._attributes = attributes
        events = []
        for event in span.events:
            cleaned = _redact_attributes(event.attributes, self.pattern)
            events.append(event if cleaned is None else Event(event.name, cleaned, event.timestamp))
        span._events = tuple(events)


class SecretGuardLogProcessor(LogRecordProcessor):
    """The same for log records: cuts keys out of their body and attributes before any exporter."""

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.pattern = pattern

    def on_emit(self, log_record: ReadWriteLogRecord) -> None:
        record = log_record.log_record
        attributes = _redact_attributes(record.attributes, self.pattern)
        body = _redact_value(record.body, self.pattern)
        if attributes is None and body == record.body:
            return
        cleaned = copy.copy(record)
        cleaned.body = body
        if attributes is not None:
            cleaned.attributes = attributes
        log_record.log_record = cleaned

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


# --- set-up ---------------------------------------------------------------------------------------------


def configure_observability(
    settings: Settings,
    *,
    span_processors: Sequence[SpanProcessor] = (),
    log_processors: Sequence[LogRecordProcessor] = (),
) -> bool:
    """Set up Logfire / OpenTelemetry for this process; call it before DBOS is configured.

    The first call configures; later calls return False and change nothing, unless they bring their own
    `span_processors` or `log_processors` (tests capturing spans), which reconfigures. Sends to Logfire only
    with a token (`LOGFIRE_TOKEN`), to an OTLP collector only with `OTEL_EXPORTER_OTLP_ENDPOINT`.
    """
    global _configured, _tracing
    secrets = secret_pattern(settings)
    if _configured and not span_processors and not log_processors:
        LOCAL_SPANS.use(settings if _tracing else None, secrets)  # this worker's database, this time
        return False
    tracing = wants_tracing(settings) or bool(span_processors or log_processors)
    logfire.configure(
        service_name=SERVICE_NAME,
        service_version=__version__,
        send_to_logfire="if-token-present",
        token=settings.secret("logfire_token"),
        console=False,  # stdout belongs to the CLI's output
        inspect_arguments=False,
        scrubbing=scrubbing_options(settings),
        additional_span_processors=[
            SecretGuardProcessor(secrets),
            RunAttributesProcessor(),
            LOCAL_SPANS,  # after the scrubbers: it keeps what an exporter would send
            *span_processors,
        ],
        advanced=logfire.AdvancedOptions(
            log_record_processors=[SecretGuardLogProcessor(secrets), *log_processors]
        ),
    )
    if tracing:
        logfire.instrument_pydantic_ai(include_content=settings.trace_content)
    _configured, _tracing = True, tracing
    LOCAL_SPANS.use(settings if tracing else None, secrets)
    return True


def flush_local_spans() -> None:
    """Write the spans the local trace store still buffers (a worker stopping, a test reading them)."""
    LOCAL_SPANS.flush()


def wants_tracing(settings: Settings) -> bool:
    """RESEARCH_TRACING if set, else whether spans have a destination (the local trace store, a Logfire
    token, an OTLP endpoint).

    Spans nobody collects cost a worker about as much as the checkpoints themselves (bench/step_overhead.py),
    so without a destination none are made.
    """
    if settings.tracing is not None:
        return settings.tracing
    return bool(
        store_enabled(settings)
        or settings.secret("logfire_token")
        or any(os.environ.get(name) for name in _OTLP_ENDPOINT_VARIABLES)
    )


def tracing_enabled() -> bool:
    """Whether this process traces runs (decided by `configure_observability`)."""
    return _tracing


# --- inside the workflow --------------------------------------------------------------------------------


def current_trace_id() -> str | None:
    """The trace id (32 hex digits) of the current span, or None when nothing is being traced."""
    span_context = trace.get_current_span().get_span_context()
    return format_trace_id(span_context.trace_id) if span_context.is_valid else None


async def keep_trace_for_recovery(run_id: str) -> None:
    """Store the run's trace context in its workflow attributes (a recorded step).

    DBOS starts a recovered or resumed workflow's span under the context stored there, so work done after
    a crash lands in the trace the run started. Called once, first thing, by `deep_research`; a replay
    skips the step and keeps the first context.
    """
    carrier: dict[str, str] = {}
    TraceContextTextMapPropagator().inject(carrier)
    await DBOS.update_workflow_attributes_async(run_id, {OTEL_CARRIER_ATTRIBUTE: carrier or None}, merge=True)


def annotate_status(status: ResearchStatus) -> None:
    """Note the status being published on the run's span, and the trace id on the status."""
    _run_phase.set(status.phase)
    span = trace.get_current_span()
    if not span.get_span_context().is_valid:
        return
    span.set_attribute(PHASE, status.phase.value)
    status.trace_id = status.trace_id or current_trace_id()
