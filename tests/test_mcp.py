"""The MCP server (`deep-research mcp`), driven by the MCP SDK's own client as an assistant drives it.

Over stdio the client spawns the command; over streamable HTTP it talks to a live server on 127.0.0.1.
Runs are offline. The stdio tests share one worker subprocess; the disconnect and crash tests bring their
own, because what they prove is what happens to a run while no worker, or a dead one, runs it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.server.mcpserver import MCPServer
from mcp_types import CallToolResult, TextContent
from sqlalchemy.exc import OperationalError
from typer.testing import CliRunner

from research_agent._mcp_http import http_token
from research_agent._mcp_progress import ProgressTracker, progress_line
from research_agent.cli import app
from research_agent.client import ResearchClient
from research_agent.mcp_server import build_server, with_depth
from research_agent.options import InputError
from research_agent.schema import Phase, ResearchOptions, ResearchStatus, SearchProgress, SearchState
from research_agent.settings import get_settings
from research_agent.supervisor import WorkerState, crash_worker, read_snapshot, state_file, wait_for_state
from research_agent.weburls import is_loopback

from ._process import (
    COMMAND,
    REPO,
    kill_all,
    make_settings,
    poll,
    settings_from_env,
    spawn,
    start_worker,
    stop,
)
from ._ui_server import free_port

QUESTION = "Compare the economies of Chile and Peru"
TOKEN = "mcp-test-token-0123456789abcdef"
TOOLS = {"deep_research", "run_status", "read_report", "list_runs"}


# --- helpers -----------------------------------------------------------------------------------------------


@dataclass
class Progress:
    """The progress notifications one tool call received: (progress, total, message)."""

    seen: list[tuple[float, float | None, str]] = field(default_factory=list)
    arrived: anyio.Event = field(default_factory=anyio.Event)

    async def __call__(self, progress: float, total: float | None, message: str | None) -> None:
        self.seen.append((progress, total, message or ""))
        self.arrived.set()

    @property
    def messages(self) -> list[str]:
        return [message for _, _, message in self.seen]


def text(result: CallToolResult) -> str:
    assert result.content and isinstance(result.content[0], TextContent), result
    return result.content[0].text


def ok(result: CallToolResult) -> str:
    assert not result.is_error, text(result)
    return text(result)


def error(result: CallToolResult) -> str:
    assert result.is_error, text(result)
    return text(result)


@asynccontextmanager
async def stdio_session(env: dict[str, str], cwd: Path, *flags: str) -> AsyncIterator[Client]:
    """An MCP session with `deep-research mcp FLAGS`, spawned by the SDK's stdio client; its stderr goes
    to cwd/mcp.log."""
    server = StdioServerParameters(
        command=sys.executable,
        args=["-m", "research_agent", "mcp", *flags],
        env={**os.environ, "PYTHONPATH": str(REPO), **env},
        cwd=str(cwd),
    )
    with (cwd / "mcp.log").open("a") as log:
        async with Client(stdio_client(server, errlog=log), read_timeout_seconds=120) as client:
            yield client


def report_numbers(report: str) -> tuple[set[int], set[int]]:
    """The [n] cited in a report's body and the numbers its Sources section lists."""
    body, _, sources = report.partition("## Sources")
    cited = {int(n) for n in re.findall(r"\[(\d+)\]", body)}
    listed = {int(m) for m in re.findall(r"^\[(\d+)\] ", sources, re.MULTILINE)}
    return cited, listed


def assert_cited_report(report: str, run_id: str) -> None:
    assert report.startswith(f"# {QUESTION}\n"), report
    cited, listed = report_numbers(report)
    assert cited and cited == listed, report
    assert f"run {run_id} · citations: all {len(cited)} verified" in report


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory, index_dir: Path) -> Iterator[dict[str, str]]:
    """Variables of one database with a worker running on it (offline, requests paced at 0.2 s)."""
    root = tmp_path_factory.mktemp("mcp")
    env = {
        "RESEARCH_ENV_FILE": os.devnull,
        "RESEARCH_DATA_DIR": str(root / "data"),
        "RESEARCH_INDEX_DIR": str(index_dir),
        "RESEARCH_DATABASE_URL": f"sqlite:///{root / 'mcp.sqlite'}",
        "RESEARCH_QUEUE_POLL_INTERVAL": "0.05",
        "RESEARCH_OFFLINE": "true",
        "RESEARCH_OFFLINE_DELAY": "0.2",
    }
    worker = start_worker(env, root)
    yield env
    kill_all([worker])


@pytest.fixture
def own_env(isolated_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """Variables of a fresh database no worker runs on yet."""
    return {
        **isolated_env,
        "RESEARCH_DATABASE_URL": f"sqlite:///{tmp_path / 'own.sqlite'}",
        "RESEARCH_OFFLINE": "true",
        "RESEARCH_OFFLINE_DELAY": "0.2",
    }


# --- over stdio ----------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_deep_research_returns_the_cited_report_with_progress_and_the_other_tools_find_it(
    shared: dict[str, str], tmp_path: Path
) -> None:
    async def scenario() -> None:
        async with stdio_session(shared, tmp_path) as client:
            tools = {tool.name: tool for tool in (await client.list_tools()).tools}
            assert set(tools) == TOOLS
            properties = tools["deep_research"].input_schema["properties"]
            assert properties["depth"]["enum"] == ["quick", "standard", "deep"]
            assert tools["deep_research"].input_schema["required"] == ["question"]

            progress = Progress()
            arguments = {"question": QUESTION, "run_id": "mcp-1"}
            report = ok(await client.call_tool("deep_research", arguments, progress_callback=progress))
            assert_cited_report(report, "mcp-1")
            # The first message gives the run id and how to come back for the report.
            assert "run mcp-1: submitted" in progress.messages[0]
            assert "read_report with run_id 'mcp-1'" in progress.messages[0]
            assert any("searching, " in m and " of 4 searches done" in m for m in progress.messages)
            values = [value for value, _, _ in progress.seen]
            assert values == sorted(set(values)), "progress must grow with every notification"
            assert progress.seen[-1] == (100.0, 100.0, progress.messages[-1])
            assert progress.messages[-1].startswith("run mcp-1: completed; citations: all")

            assert ok(await client.call_tool("read_report", {"run_id": "mcp-1"})) == report
            status = (await client.call_tool("run_status", {"run_id": "mcp-1"})).structured_content
            assert status is not None
            assert status["phase"] == "COMPLETED" and status["report_ready"] is True
            assert status["searches_done"] == status["searches_total"] == 4
            listed = (await client.call_tool("list_runs", {})).structured_content
            assert listed is not None
            assert {"run_id": "mcp-1", "phase": "COMPLETED", "question": QUESTION}.items() <= listed[
                "result"
            ][0].items()

            # The same id again attaches to the finished run: the same report, no second run.
            again = ok(await client.call_tool("deep_research", arguments))
            assert again == report
            listed = (await client.call_tool("list_runs", {})).structured_content
            assert listed is not None and [r["run_id"] for r in listed["result"]] == ["mcp-1"]

    anyio.run(scenario)
    assert "already running; the MCP server uses it" in (tmp_path / "mcp.log").read_text()


@pytest.mark.slow
def test_bad_input_gets_one_clear_tool_error_and_starts_nothing(
    shared: dict[str, str], tmp_path: Path
) -> None:
    cases: list[tuple[str, dict[str, Any], str]] = [
        ("deep_research", {"question": "   "}, "the question is empty"),
        ("deep_research", {"question": "x" * 5000}, "over the limit of 2000"),
        ("deep_research", {"question": QUESTION, "depth": "huge"}, "'quick', 'standard' or 'deep'"),
        ("deep_research", {"question": QUESTION, "run_id": "bad id!"}, "invalid run id 'bad id!'"),
        ("deep_research", {"question": QUESTION, "run_id": "x-plan"}, "no child suffix"),
        ("deep_research", {"question": QUESTION, "corpus": "nope"}, "no collection named 'nope'"),
        ("deep_research", {"question": QUESTION, "max_requests": 0}, "greater than or equal to 1"),
        ("deep_research", {"question": QUESTION, "search_backend": "tavily"}, "needs TAVILY_API_KEY"),
        ("deep_research", {"question": QUESTION, "allow_domains": ["not a domain"]}, "give domains like"),
        ("deep_research", {"question": QUESTION, "wait_seconds": -1}, "greater than or equal to 0"),
        ("deep_research", {}, "question\n  Field required"),
        ("read_report", {"run_id": "missing"}, "no run with id 'missing'; list_runs shows the runs"),
        ("read_report", {"run_id": "bad id!"}, "invalid run id"),
        ("run_status", {"run_id": "missing"}, "no run with id 'missing'"),
        ("list_runs", {"limit": 0}, "greater than or equal to 1"),
        ("list_runs", {"phase": "DONE"}, "'QUEUED', 'PLANNING'"),
    ]

    async def scenario() -> None:
        async with stdio_session(shared, tmp_path) as client:
            before = (await client.call_tool("list_runs", {"limit": 200})).structured_content
            for tool, arguments, message in cases:
                said = error(await client.call_tool(tool, arguments))
                assert message in said, (tool, arguments, said)
                assert len(said) < 1000, said
            after = (await client.call_tool("list_runs", {"limit": 200})).structured_content
            assert after == before

    anyio.run(scenario)


@pytest.mark.slow
@pytest.mark.parametrize("ending", ["stdin closed", "SIGTERM"])
def test_stdout_carries_only_the_protocol(shared: dict[str, str], tmp_path: Path, ending: str) -> None:
    """A client speaking the 2025 protocol by hand: every stdout line is a JSON-RPC message; the server
    ends cleanly when the client closes stdin, or stops it with SIGTERM while stdin is still open."""
    messages: list[dict[str, Any]] = [
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "by-hand", "version": "1"},
            },
        },
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
        {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "list_runs", "arguments": {}}},
    ]
    log = tmp_path / "mcp.log"
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [*COMMAND, "mcp"],
            env={**os.environ, "PYTHONPATH": str(REPO), **shared},
            cwd=tmp_path,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
        try:
            lines = _talk(process, messages, replies=3, signal_end=ending == "SIGTERM")
        finally:
            kill_all([process])
    replies = [json.loads(line) for line in lines]  # fails on anything but JSON
    assert [reply["id"] for reply in replies] == [1, 2, 3], lines
    assert {tool["name"] for tool in replies[1]["result"]["tools"]} == TOOLS
    assert process.returncode == 0, log.read_text()


def _talk(
    process: subprocess.Popen[str], messages: list[dict[str, Any]], replies: int, signal_end: bool
) -> list[str]:
    """Send `messages` to the server's stdin; once it has written `replies` lines, close stdin (or, with
    `signal_end`, send SIGTERM) and return every line it wrote on stdout until it exited."""
    assert process.stdin is not None and process.stdout is not None
    stdout = process.stdout
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(stdout.readline, "")), daemon=True)
    reader.start()
    for message in messages:
        process.stdin.write(json.dumps(message) + "\n")
    process.stdin.flush()
    poll(lambda: len(lines) >= replies, 60, f"{replies} replies on stdout")
    if signal_end:
        process.terminate()
    else:
        process.stdin.close()
    process.wait(timeout=30)
    reader.join(timeout=10)
    return lines


# --- a client that goes away --------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_client_that_disconnects_mid_run_finds_the_run_finished_later(
    own_env: dict[str, str], tmp_path: Path
) -> None:
    async def first_session() -> list[str]:
        """Start a run while no worker runs, see that it is unfinished, and go away mid-call."""
        async with stdio_session(own_env, tmp_path, "--no-worker") as client:
            progress = Progress()
            async with anyio.create_task_group() as calls:

                async def research() -> None:
                    arguments = {"question": QUESTION, "run_id": "left"}
                    await client.call_tool("deep_research", arguments, progress_callback=progress)

                calls.start_soon(research)
                with anyio.fail_after(60):
                    await progress.arrived.wait()
                unfinished = error(await client.call_tool("read_report", {"run_id": "left"}))
                assert unfinished.endswith(
                    "run left: queued, waiting for a worker; it has no report yet: call read_report again "
                    "later (run_status shows its progress)"
                ), unfinished
                calls.cancel_scope.cancel()  # the assistant gives up on the call, then disconnects
            return progress.messages

    async def second_session() -> str:
        """A new session, whose server starts a worker: the run resumes, and its report is read."""
        async with stdio_session(own_env, tmp_path) as client:
            with anyio.fail_after(120):
                while (result := await client.call_tool("read_report", {"run_id": "left"})).is_error:
                    assert "no report yet" in text(result), text(result)
                    await anyio.sleep(0.1)
            return ok(result)

    messages = anyio.run(first_session)
    assert "run left: submitted" in messages[0] and "read_report with run_id 'left'" in messages[0]
    report = anyio.run(second_session)
    assert_cited_report(report, "left")
    log = (tmp_path / "mcp.log").read_text()
    # The second server started a worker and stopped it when its client closed the connection.
    assert "worker │ worker stopped" in log and not state_file(settings_from_env(own_env)).exists(), log


# --- over HTTP, with a supervised worker that is killed ------------------------------------------------------


@pytest.mark.slow
@pytest.mark.crash
def test_over_http_a_run_survives_its_worker_being_killed_while_the_client_waits(
    own_env: dict[str, str], tmp_path: Path
) -> None:
    env = {**own_env, "RESEARCH_OFFLINE_DELAY": "0.4", "RESEARCH_MCP_TOKEN": TOKEN}
    settings = settings_from_env(env)
    port = free_port()
    url = f"http://127.0.0.1:{port}/mcp"
    log = (tmp_path / "mcp-http.log").open("w")
    process = spawn(
        ["mcp", "--transport", "http", "--port", str(port)],
        env,
        tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    killed: list[int] = []

    def refused(token: str | None) -> int:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        try:
            return httpx.post(url, json={}, headers=headers, timeout=5).status_code
        except httpx.TransportError:
            assert process.poll() is None, (tmp_path / "mcp-http.log").read_text()
            return 0

    async def research() -> tuple[str, Progress]:
        recorded = Progress()

        async def kill_once_started(progress: float, total: float | None, message: str | None) -> None:
            await recorded(progress, total, message)
            if not killed and message and ("planning" in message or "searching" in message):
                killed.append(crash_worker(settings))  # SIGKILL; the supervisor starts a new worker

        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with (
            httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30, read=300)) as http,
            Client(streamable_http_client(url, http_client=http)) as client,
        ):
            arguments = {"question": QUESTION, "run_id": "crashed"}
            result = await client.call_tool("deep_research", arguments, progress_callback=kill_once_started)
        return ok(result), recorded

    try:
        assert poll(lambda: refused(None), 60, "the server to answer", holds=lambda code: code != 0) == 401
        assert refused("wrong-token-wrong-token") == 401
        wait_for_state(settings, WorkerState.RUNNING, timeout=90)
        report, progress = anyio.run(research)
        snapshot = read_snapshot(settings)
        assert snapshot is not None and snapshot.restarts == 1 and snapshot.worker_pid not in killed
        assert snapshot.events[1].detail == "killed by SIGKILL"
    finally:
        code = stop(process, timeout=60)
        log.close()
    assert killed, progress.messages
    assert_cited_report(report, "crashed")
    assert progress.messages[-1].startswith("run crashed: completed")
    assert code == 0, (tmp_path / "mcp-http.log").read_text()
    assert not state_file(settings).exists()  # the worker was stopped with the server


@pytest.mark.parametrize(
    ("host", "token", "message"),
    [
        ("0.0.0.0", None, "--host 0.0.0.0 lets other machines call the MCP server: set RESEARCH_MCP_TOKEN"),
        ("127.0.0.1", "short", "RESEARCH_MCP_TOKEN is 5 characters long; use at least 16"),
    ],
)
def test_the_command_refuses_an_unprotected_http_server(
    monkeypatch: pytest.MonkeyPatch, host: str, token: str | None, message: str
) -> None:
    """In process, as the console script runs it: one line on stderr, exit code 2, nothing served."""
    if token is not None:
        monkeypatch.setenv("RESEARCH_MCP_TOKEN", token)
    get_settings.cache_clear()
    args = ["mcp", "--transport", "http", "--host", host, "--port", str(free_port())]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and result.stdout == "", result.stderr
    assert result.stderr.startswith(f"error: {message}") and len(result.stderr.splitlines()) == 1


# --- the parts, in process ----------------------------------------------------------------------------------


def test_only_loopback_is_served_without_a_token() -> None:
    assert all(is_loopback(host) for host in ("127.0.0.1", "localhost", "::1", "[::1]", "127.0.0.2"))
    assert not any(is_loopback(host) for host in ("0.0.0.0", "::", "192.168.1.2", "example.org", ""))
    assert http_token(make_settings(), "127.0.0.1") is None
    with pytest.raises(InputError, match=r"--host 0\.0\.0\.0 lets other machines"):
        http_token(make_settings(), "0.0.0.0")
    with pytest.raises(InputError, match="RESEARCH_MCP_TOKEN is 5 characters long"):
        http_token(make_settings(mcp_token="short"), "127.0.0.1")
    assert http_token(make_settings(mcp_token=TOKEN), "0.0.0.0") == TOKEN


def test_progress_grows_with_every_change_and_reaches_100_only_at_the_end() -> None:
    status = ResearchStatus(run_id="r", question=QUESTION, phase=Phase.QUEUED)
    searches = [SearchProgress(index=i, query=f"q{i}") for i in (1, 2, 3, 4)]
    tracker = ProgressTracker()
    sent = [tracker.update(status)]
    assert tracker.update(status) is None  # nothing new, nothing sent
    for phase, done in [
        (Phase.PLANNING, 0),
        (Phase.SEARCHING, 0),
        (Phase.SEARCHING, 2),
        (Phase.SEARCHING, 4),
        (Phase.ANALYZING, 4),
        (Phase.COMPLETED, 4),
    ]:
        states = [SearchState.DONE] * done + [SearchState.RUNNING] * (4 - done)
        status = status.model_copy(
            update={
                "phase": phase,
                "searches": [s.model_copy(update={"state": x}) for s, x in zip(searches, states, strict=True)]
                if phase is not Phase.PLANNING
                else [],
            }
        )
        sent.append(tracker.update(status))
    values = [update[0] for update in sent if update]
    messages = [update[1] for update in sent if update]
    assert len(values) == 7 and values == sorted(set(values)) and values[-1] == 100 and values[-2] < 100
    assert messages[3] == "run r: searching, 2 of 4 searches done"
    assert messages[-1] == "run r: completed"
    failed = status.model_copy(update={"phase": Phase.FAILED, "error": "boom\x1b[31m"})
    assert progress_line(failed) == "run r: failed: boom[31m"


def test_depth_sets_the_number_of_searches() -> None:
    options = ResearchOptions(max_searches=5, max_extra_searches=2)
    assert with_depth(options, "standard") == options
    assert (with_depth(options, "quick").max_searches, with_depth(options, "quick").max_extra_searches) == (
        2,
        0,
    )
    assert (with_depth(options, "deep").max_searches, with_depth(options, "deep").max_extra_searches) == (
        10,
        4,
    )


def test_the_readme_configuration_starts_this_server() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## MCP server\n", 1)[1].split("\n## ", 1)[0]
    found = re.search(r"```json\n(.*?)```", section, re.S)
    assert found is not None
    server = json.loads(found.group(1))["mcpServers"]["deep-research"]
    assert server["command"].endswith("/.venv/bin/deep-research") and server["args"] == ["mcp"]
    assert settings_from_env(server["env"]).offline is True


def test_a_status_that_cannot_be_read_ends_the_call_but_not_the_run(
    isolated_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In process (the SDK's client on the server object): the database failing while a call follows its
    run is one clear error that names the run; the run stays queued for the workers."""
    settings = settings_from_env(
        {**isolated_env, "RESEARCH_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}"}
    )

    def unreadable(run_id: str) -> ResearchStatus:
        raise OperationalError("SELECT ...", {}, Exception("database is locked"))

    async def scenario(server: MCPServer[Any]) -> CallToolResult:
        async with Client(server) as client:
            return await client.call_tool("deep_research", {"question": QUESTION, "run_id": "lost"})

    with ResearchClient(settings) as research:
        server = build_server(research, settings)
        with monkeypatch.context() as patched:
            patched.setattr(research, "status", unreadable)
            said = error(anyio.run(scenario, server))
        assert said == (
            "Error executing tool deep_research: run lost: its status could not be read (OperationalError); "
            "the run goes on where the workers are: read_report with run_id 'lost' returns its report later"
        )
        assert research.status("lost").phase is Phase.QUEUED
