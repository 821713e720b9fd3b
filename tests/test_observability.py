"""Traces of runs, captured offline: one trace per run, the span tree, run attributes, usage, no secrets.

In-process runs are captured with OpenTelemetry's in-memory exporters, installed through
`configure_observability`; subprocess runs export over OTLP/HTTP to a receiver the test serves.
"""

from __future__ import annotations

import logging
import subprocess
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import logfire
import pytest
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pydantic import SecretStr

from research_agent.client import ResearchClient
from research_agent.naming import WorkflowRef, trace_url
from research_agent.observability import (
    REDACTED,
    configure_observability,
    redact_secrets,
    secret_pattern,
)
from research_agent.options import resolve_options
from research_agent.runtime import worker
from research_agent.schema import Phase, ResearchStatus
from research_agent.settings import Settings

from ._otlp import ReceivedSpan, otlp_receiver
from ._process import cli, kill, kill_all, make_settings, settings_from_env, start_worker

# workers in subprocesses exporting to a local collector: left out of `make test-fast`
pytestmark = pytest.mark.slow

QUESTION = "Compare the economies of Chile and Peru"
# One offline run of QUESTION: plan, four searches (and the control workflow a finish request would go to),
# analysis, citation check (DBOS workflows and steps, pydantic-ai agent
# runs, model requests and tool calls, and the search step's log line).
FIXED_SPANS = 52  # every span of SPAN_TREE but the status events
SPAN_TREE = """\
deep_research
  clock ×3
  set_event ×{events}
  plan_research
    invoke_agent planner
      chat offline-planner
        planner__model.request
  await_control
    recv
  run_search ×4
    invoke_agent searcher
      chat offline-searcher ×2
        searcher__model.request
      execute_tool search
        search
          search found {hits} results
  send
  analyze_findings
    invoke_agent analyst
      chat offline-analyst
        analyst__model.request
  check_citations"""


@dataclass
class Captured:
    spans: InMemorySpanExporter
    logs: InMemoryLogRecordExporter

    def finished(self) -> list[ReadableSpan]:
        logfire.force_flush()
        return list(self.spans.get_finished_spans())


@contextmanager
def capture(settings: Settings) -> Iterator[Captured]:
    """Every span and log record this process exports in the block (telemetry configured from `settings`)."""
    spans, logs = InMemorySpanExporter(), InMemoryLogRecordExporter()
    configure_observability(
        settings,
        span_processors=[SimpleSpanProcessor(spans)],
        log_processors=[SimpleLogRecordProcessor(logs)],
    )
    try:
        yield Captured(spans, logs)
    finally:
        spans.shutdown()  # later tests' spans are not kept
        logs.shutdown()


@pytest.fixture
def captured(settings: Settings) -> Iterator[Captured]:
    with capture(settings) as spans_and_logs:
        yield spans_and_logs


def _run(settings: Settings, question: str = QUESTION, run_id: str = "obs") -> ResearchStatus:
    with worker(settings), ResearchClient(settings) as client:
        options, _ = resolve_options(settings, offline=True)
        final = client.wait(client.submit(question, options, run_id=run_id), timeout=120)
        client._client.retrieve_workflow(run_id).get_result()  # the root span ends with the workflow
    assert final.phase is Phase.COMPLETED, final.error
    return final


def _number(span: ReadableSpan, name: str) -> int:
    """The whole-number attribute `name` of `span`, which must have it."""
    value = (span.attributes or {}).get(name)
    assert isinstance(value, int), f"{span.name}: {name} = {value!r}"
    return value


def _tree(spans: list[ReadableSpan]) -> str:
    """The span names as an indented tree, children in the order they started, identical siblings counted."""
    by_id = {span.context.span_id: span for span in spans}
    children: dict[int | None, list[ReadableSpan]] = defaultdict(list)
    for span in sorted(spans, key=lambda span: span.start_time or 0):
        parent = span.parent.span_id if span.parent and span.parent.span_id in by_id else None
        children[parent].append(span)

    def render(span: ReadableSpan, depth: int) -> list[str]:
        lines = ["  " * depth + span.name]
        for line, count in Counter(
            "\n".join(render(child, depth + 1)) for child in children[span.context.span_id]
        ).items():
            head, *rest = line.split("\n")
            lines.append(head + (f" ×{count}" if count > 1 else ""))
            lines.extend(rest)
        return lines

    return "\n".join(line for root in children[None] for line in render(root, 0))


def test_a_run_is_one_trace_rooted_at_deep_research(captured: Captured, settings: Settings):
    final = _run(settings)
    spans = captured.finished()

    assert final.trace_id is not None and len(final.trace_id) == 32
    assert {f"{span.context.trace_id:032x}" for span in spans} == {final.trace_id}
    roots = [span for span in spans if span.parent is None]
    assert [root.name for root in roots] == ["deep_research"]
    # One status event per change; searches that end together are published as one, so 5 to 8 events.
    events = sum(span.name == "set_event" for span in spans)
    assert 5 <= events <= 8
    assert _tree(spans) == SPAN_TREE.replace("{events}", str(events))
    assert len(spans) == FIXED_SPANS + events


def test_spans_name_the_run_phase_and_search(captured: Captured, settings: Settings):
    final = _run(settings, run_id="tagged")
    spans = captured.finished()

    assert all(span.attributes and span.attributes["research.run_id"] == "tagged" for span in spans)
    searches = [span for span in spans if span.name == "search"]
    assert sorted(_number(span, "research.search_index") for span in searches) == [1, 2, 3, 4]
    assert {span.attributes["research.phase"] for span in searches if span.attributes} == {"SEARCHING"}
    phases = {span.name: span.attributes.get("research.phase") for span in spans if span.attributes}
    assert phases["plan_research"] == "PLANNING" and phases["analyze_findings"] == "ANALYZING"
    assert phases["deep_research"] == "COMPLETED"

    # Model-request spans carry the token usage, and it adds up to what the run reports.
    requests = [span for span in spans if span.name.startswith("chat ")]
    assert len(requests) == final.usage.requests
    assert all(_number(span, "gen_ai.usage.input_tokens") > 0 for span in requests)
    input_tokens = sum(_number(span, "gen_ai.usage.input_tokens") for span in requests)
    output_tokens = sum(_number(span, "gen_ai.usage.output_tokens") for span in requests)
    assert (input_tokens, output_tokens) == (final.usage.input_tokens, final.usage.output_tokens)


# --- secrets --------------------------------------------------------------------------------------------

ENV_KEYS = {
    "ANTHROPIC_API_KEY": "sk-ant-api03-" + "Zq7Lm" * 8,
    "GOOGLE_API_KEY": "AIza" + "Wv9Kp" * 7,
    "TAVILY_API_KEY": "tvly-dev-" + "Ut2Hs" * 6,
    # A key in no format we know (a self-hosted server's): only its configured value can catch it.
    "OPENAI_API_KEY": "local-" + "Np8Gd" * 6,
}
BEARER = "Bearer " + "eyJhbGciOi" + "Rt5Vb" * 6
LOGFIRE_TOKEN = "pylf_v1_us_" + "Qc3Jf" * 8


def _dump(captured: Captured) -> str:
    spans = [span.to_json() for span in captured.finished()]
    logs = [record.to_json() for record in captured.logs.get_finished_logs()]
    return "\n".join(spans + logs)


def test_no_key_or_token_leaves_the_process(monkeypatch: pytest.MonkeyPatch, settings: Settings):
    for name, value in ENV_KEYS.items():
        monkeypatch.setenv(name, value)  # where a user's keys are: every library in the process can read them
    settings = settings.model_copy(
        update={
            **{name.lower(): SecretStr(value) for name, value in ENV_KEYS.items()},  # and configured
            "log_level": "INFO",  # DBOS's own log records are exported too
        }
    )
    pasted = f"{ENV_KEYS['ANTHROPIC_API_KEY']} {ENV_KEYS['OPENAI_API_KEY']} Authorization: {BEARER} {LOGFIRE_TOKEN}"
    question = f"{QUESTION} (pasted by mistake: {pasted})"

    with capture(settings) as captured:
        final = _run(settings, question=question, run_id="keys")
        # What libraries record: a log line quoting the prompt, HTTP headers, an error message.
        logging.getLogger("dbos").warning("request failed for prompt %s", question)
        headers: dict[str, Any] = {"http.request.header.authorization": BEARER, "api_key": "x"}
        with logfire.span("POST /v1/messages", **headers):
            logfire.info("retrying", prompt=question)
        exported = _dump(captured)
        log_count = len(captured.logs.get_finished_logs())

    assert final.report is not None
    for secret in [*ENV_KEYS.values(), BEARER, LOGFIRE_TOKEN]:
        for fragment in (secret, secret[-16:]):
            assert fragment not in exported
    # The keys are cut out of the prompts, not the prompts dropped: the question is still readable.
    assert f"{QUESTION} (pasted by mistake: {REDACTED}" in exported
    assert "gen_ai.input.messages" in exported and log_count > 0

    # Workflow inputs and checkpoints never hold a configured key (only what the user typed).
    with ResearchClient(settings) as client:
        rows = client._client.list_workflows(workflow_id_prefix="keys")
        stored = [repr((row.input, row.output)) for row in rows]
        stored += [
            repr(step["output"])
            for row in rows
            for step in client._client.list_workflow_steps(row.workflow_id)
        ]
    assert len(rows) == 8  # the run, plan, control, analysis and four searches
    for name in ("GOOGLE_API_KEY", "TAVILY_API_KEY"):
        assert not any(ENV_KEYS[name] in text for text in stored)


def test_secret_patterns_cut_keys_and_keep_the_text():
    pattern = secret_pattern(make_settings(OPENAI_API_KEY=ENV_KEYS["OPENAI_API_KEY"]))
    text = (
        f"a {ENV_KEYS['ANTHROPIC_API_KEY']} b {ENV_KEYS['GOOGLE_API_KEY']} c {ENV_KEYS['TAVILY_API_KEY']} "
        f"d {ENV_KEYS['OPENAI_API_KEY']} e sk-proj-{'Ab1' * 8} f Authorization: {BEARER} g {LOGFIRE_TOKEN}"
    )
    assert redact_secrets(text, pattern) == (
        f"a {REDACTED} b {REDACTED} c {REDACTED} d {REDACTED} e {REDACTED} f Authorization: {REDACTED} g {REDACTED}"
    )
    # Words that merely look like the start of a key stay.
    ordinary = "sk-learn, AIza, tvly-, task-management-frameworks-for-teams, basic infrastructure services"
    assert redact_secrets(ordinary, pattern) == ordinary


# --- configuration, ids and links -----------------------------------------------------------------------


def test_configuring_twice_keeps_the_first_configuration(settings: Settings):
    with capture(settings):
        assert configure_observability(settings) is False


def test_workflow_ids_name_their_run_phase_and_search():
    assert WorkflowRef.parse("r1") == WorkflowRef("r1", "r1")
    assert WorkflowRef.parse("r1-plan") == WorkflowRef("r1-plan", "r1", Phase.PLANNING, kind="plan")
    assert WorkflowRef.parse("r-1-search-12") == WorkflowRef(
        "r-1-search-12", "r-1", Phase.SEARCHING, 12, kind="search", round=1
    )
    assert WorkflowRef.parse("r1-r2-search-3") == WorkflowRef(
        "r1-r2-search-3", "r1", Phase.SEARCHING, 3, kind="search", round=2
    )
    assert WorkflowRef.parse("r1-extra-2") == WorkflowRef(
        "r1-extra-2", "r1", Phase.SEARCHING, 2, extra=True, kind="extra"
    )
    assert WorkflowRef.parse("r1-analyze") == WorkflowRef("r1-analyze", "r1", Phase.ANALYZING, kind="analyze")
    assert WorkflowRef.parse("r1-control") == WorkflowRef("r1-control", "r1", Phase.SEARCHING, kind="control")


def test_trace_links_need_a_project_and_a_trace():
    trace_id = "0af7651916cd43dd8448eb211c80319c"
    assert trace_url("https://logfire-us.pydantic.dev/acme/research/", trace_id) == (
        "https://logfire-us.pydantic.dev/acme/research?q=trace_id%3D%270af7651916cd43dd8448eb211c80319c%27"
    )
    assert trace_url(None, trace_id) is None
    assert trace_url("https://logfire-us.pydantic.dev/acme/research", None) is None


# --- export over OTLP, from real processes --------------------------------------------------------------


def _run_spans(spans: list[ReceivedSpan], run_id: str) -> list[ReceivedSpan]:
    return [span for span in spans if span.attributes.get("research.run_id") == run_id]


def _has_root(run_id: str):
    return lambda spans: any(span.name == "deep_research" for span in _run_spans(spans, run_id))


def test_the_cli_exports_one_trace_per_run_to_an_otlp_collector(isolated_env: dict[str, str], tmp_path: Path):
    env = {**isolated_env, "RESEARCH_DATABASE_URL": f"sqlite:///{tmp_path / 'otlp.sqlite'}"}
    quiet = cli(["run", QUESTION, "--offline", "--id", "no-collector"], env, tmp_path)
    assert quiet.returncode == 0, quiet.stderr
    assert not any(word in quiet.stderr for word in ("Traceback", "logfire", "OTLP", "Exception"))

    with otlp_receiver() as receiver:
        env["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.endpoint
        for run_id in ("otlp-1", "otlp-2"):
            done = cli(["run", QUESTION, "--offline", "--id", run_id], env, tmp_path)
            assert done.returncode == 0, done.stderr
            receiver.wait_for(_has_root(run_id))  # the process flushed its spans before exiting
        spans = list(receiver.spans)

    project = "https://logfire.example/acme/research"
    for run_id in ("otlp-1", "otlp-2"):
        shown = cli(["show", run_id], {**env, "RESEARCH_LOGFIRE_PROJECT_URL": project}, tmp_path)
        status = ResearchStatus.model_validate_json(cli(["show", run_id, "--json"], env, tmp_path).stdout)
        assert status.trace_id is not None
        assert f"trace {status.trace_id} · {project}?q=trace_id%3D%27{status.trace_id}%27" in shown.stderr
        run_spans = _run_spans(spans, run_id)
        assert {span.trace_id for span in run_spans} == {status.trace_id}
        assert [span.name for span in run_spans if not span.parent_span_id] == ["deep_research"]
        assert len(run_spans) == FIXED_SPANS + sum(span.name == "set_event" for span in run_spans)
        assert {span.resource["service.name"] for span in run_spans} == {"deep-research"}
    assert not _run_spans(spans, "no-collector")


@pytest.mark.crash
def test_work_resumed_after_a_crash_joins_the_run_trace(isolated_env: dict[str, str], tmp_path: Path):
    database = {**isolated_env, "RESEARCH_DATABASE_URL": f"sqlite:///{tmp_path / 'crash.sqlite'}"}
    settings = settings_from_env(database)
    workers: list[subprocess.Popen[str]] = []
    with otlp_receiver() as receiver, ResearchClient(settings) as client:
        env = {
            **database,
            "RESEARCH_OFFLINE_DELAY": "1",
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
            "OTEL_BSP_SCHEDULE_DELAY": "50",  # export finished spans within 50 ms, before the kill
        }
        try:
            workers.append(start_worker(env, tmp_path))
            options, _ = resolve_options(settings, offline=True)
            client.submit(QUESTION, options, run_id="crashed")
            # Kill the worker once all four searches are exported, while the analyst's 1 s request runs.
            receiver.wait_for(
                lambda spans: [s.name for s in _run_spans(spans, "crashed")].count("run_search") == 4
            )
            assert not client.status("crashed").phase.finished
            kill(workers[0])
            workers.append(start_worker(env, tmp_path))
            final = client.wait("crashed", timeout=120)
            receiver.wait_for(_has_root("crashed"))
        finally:
            kill_all(workers)

    assert final.phase is Phase.COMPLETED, final.error
    spans = receiver.of_run("crashed")
    assert {span.trace_id for span in spans} == {final.trace_id}
    by_process: dict[int, list[str]] = defaultdict(list)
    for span in spans:
        by_process[span.resource["process.pid"]].append(span.name)
    before, after = by_process[workers[0].pid], by_process[workers[1].pid]
    assert len(by_process) == 2 and before.count("run_search") == 4 and "analyze_findings" in after
    # The recovered root hangs under the run's first root span, which died unfinished with the first worker.
    [resumed] = [span for span in spans if span.name == "deep_research"]
    assert resumed.parent_span_id and resumed.parent_span_id not in {span.span_id for span in spans}
