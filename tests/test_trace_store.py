"""The local trace store: a run's spans kept with no tracing service, capped, expired, scrubbed, and read
back as a tree in the terminal and as a waterfall on the run page.

The processor is tested on its own with OpenTelemetry's SDK (fast); one offline run in a worker in this
process, with keys pasted into its question, feeds the read-side tests (store, CLI, UI). A crash test
kills a worker subprocess mid-run and reads one trace made by both workers.
"""

from __future__ import annotations

import base64
import json
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format  # type: ignore[import-untyped]  # protobuf ships no stubs for it
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from streamlit.testing.v1 import AppTest
from typer.testing import CliRunner

from research_agent.client import ResearchClient
from research_agent.local_spans import LocalSpanStore
from research_agent.observability import REDACTED, configure_observability, secret_pattern
from research_agent.options import resolve_options
from research_agent.runtime import worker
from research_agent.schema import Phase, ResearchStatus
from research_agent.settings import Settings, get_settings
from research_agent.trace_store import RunSpans, StoredSpan, TraceStore, store_file
from research_agent.trace_tree import build_trace, otlp_json
from ui.trace_view import waterfall_frame

from ._process import cli, kill, kill_all, make_settings, poll, settings_from_env, start_worker

QUESTION = "Compare the economies of Chile and Peru"
KEYS = {
    "ANTHROPIC_API_KEY": "sk-ant-api03-" + "Hy4Tr" * 8,
    "OPENAI_API_KEY": "local-" + "Qm7Wz" * 6,  # no known format: only its configured value catches it
    "api_token": "api-token-" + "Rt5Lx" * 4,  # the HTTP API's and the MCP server's bearer tokens
    "mcp_token": "mcp-token-" + "Vb8Kc" * 4,
}
BEARER = "Bearer " + "eyJhbGciOi" + "Kd2Pn" * 6
APP = str(Path(__file__).parents[1] / "ui" / "app.py")


# --- the processor alone --------------------------------------------------------------------------------


@pytest.fixture
def store_settings(tmp_path: Path) -> Settings:
    return make_settings(database_url=f"sqlite:///{tmp_path / 'r.sqlite'}", data_dir=tmp_path)


@pytest.fixture
def processor(store_settings: Settings) -> Iterator[tuple[LocalSpanStore, TracerProvider]]:
    """A span store of its own on an SDK tracer provider (no Logfire, no DBOS), pointed at `store_settings`."""
    spans = LocalSpanStore()
    spans.use(store_settings, secret_pattern(store_settings))
    provider = TracerProvider(resource=Resource.create({"service.name": "test", "process.pid": 7}))
    provider.add_span_processor(spans)
    yield spans, provider
    spans.use(None)


def _span(provider: TracerProvider, name: str, run_id: str, **attributes: Any) -> None:
    with provider.get_tracer("test").start_as_current_span(
        name, attributes={"research.run_id": run_id, **attributes}
    ):
        pass


def test_spans_of_runs_are_kept_and_others_not(
    processor: tuple[LocalSpanStore, TracerProvider], store_settings: Settings
):
    spans, provider = processor
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span(
        "deep_research", attributes={"research.run_id": "r1", "dbos.operation.type": "workflow"}
    ):
        _span(
            provider,
            "chat offline-planner",
            "r1",
            **{"gen_ai.operation.name": "chat", "gen_ai.usage.input_tokens": 5},
        )
        with tracer.start_as_current_span("outside a run"):
            pass
    spans.flush()

    stored = TraceStore(store_settings).read("r1")
    assert [span.name for span in stored.spans] == ["deep_research", "chat offline-planner"]
    root, chat = stored.spans
    assert (
        chat.parent_span_id == root.span_id and chat.trace_id == root.trace_id and root.parent_span_id is None
    )
    assert chat.attributes["gen_ai.usage.input_tokens"] == 5 and chat.end_ns is not None
    assert chat.resource == {"service.name": "test", "process.pid": 7}
    assert store_file(store_settings) == store_settings.data_dir / "r.traces.sqlite"
    assert (store_file(store_settings).stat().st_mode & 0o777) == 0o600  # type: ignore[union-attr]


def test_a_run_is_capped_but_keeps_its_workflows(tmp_path: Path):
    settings = make_settings(
        database_url=f"sqlite:///{tmp_path / 'cap.sqlite'}", data_dir=tmp_path, trace_store_max_spans=10
    )
    spans = LocalSpanStore()
    spans.use(settings)
    provider = TracerProvider()
    provider.add_span_processor(spans)
    for i in range(25):
        _span(provider, f"step {i}", "big")
    _span(provider, "analyze_findings", "big", **{"dbos.operation.type": "workflow"})
    spans.flush()
    _span(provider, "late step", "big")  # a later flush (or another worker) counts what is stored
    spans.flush()
    spans.use(None)

    stored = TraceStore(settings).read("big")
    assert [span.name for span in stored.spans] == [f"step {i}" for i in range(10)] + ["analyze_findings"]
    assert stored.dropped == 16


def test_an_open_span_is_stored_open_without_content_then_completed(
    processor: tuple[LocalSpanStore, TracerProvider], store_settings: Settings
):
    spans, provider = processor
    store = TraceStore(store_settings)
    pasted = KEYS["ANTHROPIC_API_KEY"]
    open_span = provider.get_tracer("test").start_span(
        f"chat about {pasted}",
        start_time=1,  # long ago: its open row is due at the next flush
        attributes={
            "research.run_id": "r2",
            "gen_ai.request.model": "m",
            "gen_ai.input.messages": "a prompt",
        },
    )
    spans.flush()
    [row] = store.read("r2").spans
    assert row.end_ns is None and row.name == f"chat about {REDACTED}"
    assert row.attributes == {"research.run_id": "r2", "gen_ai.request.model": "m"}  # no content yet

    open_span.end()
    spans.flush()
    [row] = store.read("r2").spans
    assert row.end_ns is not None and row.attributes["gen_ai.input.messages"] == "a prompt"


def test_content_is_left_out_when_settings_say_so(tmp_path: Path):
    settings = make_settings(
        database_url=f"sqlite:///{tmp_path / 'c.sqlite'}", data_dir=tmp_path, trace_content=False
    )
    spans = LocalSpanStore()
    spans.use(settings)
    provider = TracerProvider()
    provider.add_span_processor(spans)
    _span(
        provider, "chat m", "r3", **{"gen_ai.input.messages": "secret plans", "gen_ai.usage.input_tokens": 3}
    )
    spans.flush()
    spans.use(None)
    [row] = TraceStore(settings).read("r3").spans
    assert "gen_ai.input.messages" not in row.attributes and row.attributes["gen_ai.usage.input_tokens"] == 3


def test_retention_deletes_old_runs_and_all_but_the_newest(tmp_path: Path):
    settings = make_settings(
        database_url=f"sqlite:///{tmp_path / 'p.sqlite'}", data_dir=tmp_path, trace_store_max_runs=2
    )
    store = TraceStore(settings)
    for i, run_id in enumerate(["a", "b", "c", "d"]):
        store.write(
            [StoredSpan("t" * 32, f"{i:016x}", None, run_id, "deep_research", i * 1000, i * 1000 + 5)]
        )
    assert store.prune(max_runs=10, max_age_seconds=3600) == []
    assert store.prune(max_runs=3, max_age_seconds=3600) == ["a"]
    assert store.prune(max_runs=3, max_age_seconds=3600, now=10**10) == ["b", "c", "d"]  # all too old now
    assert store.size().runs == 0 and store.read("d").spans == []

    # A worker applies the retention when it first writes.
    spans = LocalSpanStore()
    spans.use(settings)
    provider = TracerProvider()
    provider.add_span_processor(spans)
    for run_id in ("e", "f", "g"):
        _span(provider, "deep_research", run_id)
    spans.flush()
    spans.use(None)
    assert store.run_ids() == ["g", "f"]


@pytest.mark.postgres
def test_the_store_lives_in_postgres_too(postgres_url: str, tmp_path: Path):
    settings = make_settings(database_url=postgres_url, data_dir=tmp_path)
    store = TraceStore(settings)
    assert store.read("r").spans == [] and store_file(settings) is None
    span = StoredSpan("a" * 32, "b" * 16, None, "r", "deep_research", 1, None, attributes={"x": "ü"})
    store.write([span])
    store.write([StoredSpan("a" * 32, "b" * 16, None, "r", "deep_research", 1, 9, attributes={"x": "ü"})])
    store.write([span])  # a late open row never replaces the finished one
    assert store.read("r").spans[0].end_ns == 9 and store.run_bytes("r") > 0
    assert store.size().spans == 1 and "dbos.research_spans" in store.where
    assert store.prune(max_runs=1, max_age_seconds=1, now=10**11) == ["r"]
    store.close()


# --- a run in a worker: stored, scrubbed, drawn ----------------------------------------------------------


class _Run:
    def __init__(self, settings: Settings, status: ResearchStatus, database_url: str) -> None:
        self.settings, self.status, self.database_url = settings, status, database_url


@pytest.fixture(scope="module")
def stored_run(tmp_path_factory: pytest.TempPathFactory, index_dir: Path) -> Iterator[_Run]:
    """One offline run by an in-process worker with keys configured and pasted into its question."""
    root = tmp_path_factory.mktemp("traced")
    url = f"sqlite:///{root / 'runs.sqlite'}"
    settings = make_settings(database_url=url, data_dir=root, index_dir=index_dir, **KEYS)
    question = f"{QUESTION} (pasted: {' '.join(KEYS.values())} {BEARER})"
    exported = InMemorySpanExporter()
    # This test's settings (its keys) for the whole pipeline, as a worker starting fresh would have them.
    configure_observability(settings, span_processors=[SimpleSpanProcessor(exported)])
    with worker(settings), ResearchClient(settings) as client:
        options, _ = resolve_options(settings, offline=True)
        final = client.wait(client.submit(question, options, run_id="traced"), timeout=120)
        client._client.retrieve_workflow("traced").get_result()  # the root span ends with the workflow
    exported.shutdown()
    assert final.phase is Phase.COMPLETED, final.error
    yield _Run(settings, final, url)


@pytest.mark.slow
def test_a_run_s_spans_are_kept_as_one_trace(stored_run: _Run):
    stored = TraceStore(stored_run.settings).read("traced")
    trace = build_trace(stored, run_finished=True, now_ns=0)
    events = sum(span.name == "set_event" for span in stored.spans)
    assert len(stored.spans) == 52 + events  # every span test_observability's SPAN_TREE names
    assert trace.trace_ids == [stored_run.status.trace_id]
    assert [root.span.name for root in trace.roots] == ["deep_research"]
    assert all(node.state == "ended" for node in trace.nodes()) and len(trace.workers) == 1
    requests = [node for node in trace.nodes() if node.kind == "model request"]
    assert len(requests) == stored_run.status.usage.requests
    assert sum(node.tokens[0] for node in requests if node.tokens) == stored_run.status.usage.input_tokens


@pytest.mark.slow
def test_no_key_reaches_the_store(stored_run: _Run):
    path = store_file(stored_run.settings)
    assert path is not None
    with sqlite3.connect(path) as connection:
        dumped = "\n".join(connection.iterdump())  # every row, as the file holds it
    for secret in [*KEYS.values(), BEARER]:
        for fragment in (secret, secret[-16:]):
            assert fragment not in dumped
    # The keys are cut out of the prompts, not the prompts dropped.
    assert f"{QUESTION} (pasted: {REDACTED}" in dumped and "gen_ai.input.messages" in dumped


@pytest.fixture
def cli_env(stored_run: _Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESEARCH_DATABASE_URL", stored_run.database_url)
    get_settings.cache_clear()


@pytest.mark.slow
@pytest.mark.usefixtures("cli_env")
def test_the_trace_command_prints_the_tree_and_exports_otlp(stored_run: _Run):
    from research_agent.cli import app

    shown = CliRunner().invoke(app, ["trace", "traced"])
    assert shown.exit_code == 0, shown.stderr
    lines = shown.stdout.splitlines()
    count = len(TraceStore(stored_run.settings).read("traced").spans)
    assert lines[0].startswith(f"run traced · {count} spans · trace {stored_run.status.trace_id}")
    assert lines[1].startswith("deep_research  ") and len(lines) == count + 1
    assert any("chat offline-analyst" in line and " in / " in line and "tokens" in line for line in lines)
    assert any("search found 5 results" in line for line in lines)  # a log line, as written

    otlp = CliRunner().invoke(app, ["trace", "traced", "--otlp"])
    request = _otlp_request(otlp.stdout)
    spans = [span for rs in request.resource_spans for ss in rs.scope_spans for span in ss.spans]
    assert len(spans) == count and {span.trace_id.hex() for span in spans} == {stored_run.status.trace_id}
    assert (
        json.loads(CliRunner().invoke(app, ["trace", "traced", "--json"]).stdout)["spans"][0]["run_id"]
        == "traced"
    )

    missing = CliRunner().invoke(app, ["trace", "no-such-run"])
    assert missing.exit_code == 2 and len(missing.stderr.strip().splitlines()) == 1


def _otlp_request(text: str) -> ExportTraceServiceRequest:
    """OTLP/JSON parsed by the protobuf schema (OTLP/JSON writes ids in hex where protobuf's JSON expects
    base64, so those are turned over first)."""
    document = json.loads(text)
    for resource_spans in document["resourceSpans"]:
        for scope_spans in resource_spans["scopeSpans"]:
            for span in scope_spans["spans"]:
                for name in ("traceId", "spanId", "parentSpanId"):
                    if name in span:
                        span[name] = base64.b64encode(bytes.fromhex(span[name])).decode()
    request = ExportTraceServiceRequest()
    json_format.ParseDict(document, request)
    return request


@pytest.mark.slow
@pytest.mark.usefixtures("cli_env")
def test_the_run_page_draws_the_waterfall_and_a_span_s_attributes(stored_run: _Run):
    test = AppTest.from_file(APP, default_timeout=60)
    test.run()
    test.query_params["run"] = "traced"
    test.switch_page("views/run.py").run()
    assert not test.exception
    picker = next(box for box in test.selectbox if box.label == "Span")
    assert picker.format_func(0).startswith("deep_research · ")  # the root comes first
    timeline, waterfall = test.get("vega_lite_chart")
    assert '"field": "lane"' in timeline.proto.spec and '"field": "row"' in waterfall.proto.spec
    chat = next(i for i in range(len(picker.options)) if "chat offline-analyst" in picker.format_func(i))
    picker.set_value(chat).run()
    table = test.dataframe[-1].value
    values = dict(zip(table["attribute"], table["value"], strict=True))
    assert values["kind"] == "model request" and int(values["gen_ai.usage.input_tokens"]) > 0
    prompts = [block.value for block in test.code]
    assert any(f"{QUESTION} (pasted: {REDACTED}" in block for block in prompts)


# --- a crash mid-run -------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.crash
def test_a_crash_shows_both_workers_in_one_trace(isolated_env: dict[str, str], tmp_path: Path):
    env = {
        **isolated_env,
        "RESEARCH_DATABASE_URL": f"sqlite:///{tmp_path / 'crash.sqlite'}",
        "RESEARCH_OFFLINE": "true",
        "RESEARCH_OFFLINE_DELAY": "1",  # the analyst's request takes 1 s: time to kill the worker in it
    }
    settings = settings_from_env(env)
    store = TraceStore(settings)
    workers: list[subprocess.Popen[str]] = []

    def searched(spans: list[StoredSpan]) -> bool:
        return sum(s.name == "run_search" and s.end_ns is not None for s in spans) == 4 and any(
            s.name == "analyze_findings" for s in spans
        )

    with ResearchClient(settings) as client:
        try:
            workers.append(start_worker(env, tmp_path))
            options, _ = resolve_options(settings, offline=True)
            client.submit(QUESTION, options, run_id="crashed")
            # Kill once the searches are stored and the analysis's open row is: mid-analysis.
            poll(lambda: store.read("crashed").spans, 90, "the searches in the store", holds=searched)
            assert not client.status("crashed").phase.finished
            kill(workers[0])
            workers.append(start_worker(env, tmp_path))
            final = client.wait("crashed", timeout=120)
            poll(lambda: store.read("crashed").spans, 30, "the resumed root span", holds=_resumed_root_ended)
        finally:
            kill_all(workers)
    assert final.phase is Phase.COMPLETED, final.error

    stored = store.read("crashed")
    trace = build_trace(stored, run_finished=True, now_ns=0)
    assert trace.trace_ids == [final.trace_id]
    assert [w.pid for w in trace.workers] == [workers[0].pid, workers[1].pid]
    # One tree: the first worker's root, never ended, holds the second worker's resumed root.
    [root] = trace.roots
    assert root.span.name == "deep_research" and root.state == "cut off" and root.worker.number == 1
    resumed = [n for n in root.children if n.span.name == "deep_research"]
    assert len(resumed) == 1 and resumed[0].worker.number == 2 and resumed[0].state == "ended"
    cut = [n for n in trace.nodes() if n.state == "cut off"]
    assert {n.span.name for n in cut} >= {"deep_research", "analyze_findings"}
    assert all(
        n.worker.number == 1 and n.drawn_end_ns == trace.workers[0].last_ns for n in cut if n is not root
    )
    assert sum(n.span.name == "run_search" and n.worker.number == 1 for n in trace.nodes()) == 4

    # The run page draws the same: the dead worker's open spans dashed, each row naming its worker.
    frame = waterfall_frame(trace)
    assert set(frame[frame["state"] == "cut off"]["worker"]) == {trace.workers[0].label}
    assert frame["row"].str.endswith(" · w2").sum() == sum(n.worker.number == 2 for n in trace.nodes())

    shown = cli(["trace", "crashed"], env, tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "✗ cut off: worker 1 stopped" in shown.stdout and "  w2" in shown.stdout
    print(shown.stdout)


def _resumed_root_ended(spans: list[StoredSpan]) -> bool:
    return any(s.name == "deep_research" and s.end_ns is not None for s in spans)


def test_otlp_json_and_the_state_of_unfinished_spans():
    first, second = {"host.name": "h", "process.pid": 1}, {"host.name": "h", "process.pid": 2}
    spans = [
        StoredSpan("c" * 32, "1" * 16, None, "r", "deep_research", 10, None, resource=first),
        StoredSpan(
            "c" * 32,
            "2" * 16,
            "1" * 16,
            "r",
            "chat m",
            11,
            20,
            attributes={"n": 3, "ok": True},
            resource=first,
        ),
    ]
    request = _otlp_request(json.dumps(otlp_json(spans)))
    root, chat = [span for rs in request.resource_spans for ss in rs.scope_spans for span in ss.spans]
    assert root.end_time_unix_nano == 10 and root.attributes[0].key == "research.unfinished"
    assert chat.parent_span_id.hex() == "1" * 16 and chat.attributes[0].value.int_value == 3
    assert chat.attributes[1].value.bool_value is True

    # Open, with its worker maybe alive: running until now. Once the run ended, or another worker took
    # over, it was cut off where its worker was last seen.
    assert build_trace(RunSpans("r", spans), run_finished=False, now_ns=50).roots[0].state == "running"
    [root] = build_trace(RunSpans("r", spans), run_finished=True, now_ns=50).roots
    assert (root.state, root.drawn_end_ns) == ("cut off", 20)
    resumed = StoredSpan("c" * 32, "3" * 16, "1" * 16, "r", "deep_research", 30, None, resource=second)
    [root] = build_trace(RunSpans("r", [*spans, resumed]), run_finished=False, now_ns=50).roots
    assert (root.state, root.drawn_end_ns) == ("cut off", 20)
    assert (root.children[1].state, root.children[1].worker.number) == ("running", 2)


# --- in a browser ------------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.browser
def test_the_waterfall_and_a_span_s_prompt_in_a_browser(
    stored_run: _Run, isolated_env: dict[str, str], tmp_path: Path
):
    from playwright.sync_api import sync_playwright

    from ._ui_server import served_ui
    from .conftest import cannot_run
    from .test_browser import ARTIFACTS, CHROMIUM

    if not CHROMIUM.exists():
        cannot_run("browser", f"no Chromium at {CHROMIUM}: apt-get install -y chromium")
    env = {**isolated_env, "RESEARCH_DATABASE_URL": stored_run.database_url}
    with served_ui(env, tmp_path, "--no-worker") as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 2600})
            page.goto(f"{url}/run?run=traced")
            page.get_by_text("Trace", exact=True).click()  # the expander
            charts = page.locator('[data-testid="stVegaLiteChart"]')
            charts.nth(1).locator("canvas, svg").first.wait_for(timeout=60_000)  # the waterfall, drawn
            page.get_by_text("spans · trace", exact=False).first.wait_for(timeout=10_000)
            page.get_by_role("combobox", name="Span").click()
            page.keyboard.type("chat offline-analyst")
            page.keyboard.press("Enter")
            # The analyst's prompt, as recorded (with the pasted key cut out), in a code block.
            page.get_by_text("gen_ai.input.messages", exact=True).click()
            page.locator("code").get_by_text("pasted:", exact=False).first.wait_for(timeout=30_000)
            shown = page.locator("code").all_inner_texts()
            assert any(REDACTED in text for text in shown)
            assert not any(KEYS["ANTHROPIC_API_KEY"] in text for text in shown)
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "browser-trace.png"), full_page=True)
        finally:
            browser.close()
