"""`deep-research serve` for tests and benchmarks, and a client that follows a run's progress stream as a
program would: server-sent events read with httpx2's SSE client, reconnecting with `Last-Event-ID`.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import httpx2

from research_agent.schema import ReportTextChunk, report_text_so_far

from ._process import poll, spawn, stop
from ._ui_server import free_port

TOKEN = "test-token-0123456789abcdef"


@dataclass
class ApiServer:
    url: str
    port: int
    process: subprocess.Popen[str]
    log: Path

    def output(self) -> str:
        return self.log.read_text()


def start_api(env: dict[str, str], cwd: Path, *flags: str, port: int | None = None) -> ApiServer:
    """Start `deep-research serve --no-worker FLAGS` and return once `/health` answers."""
    port = port or free_port()
    log = cwd / f"api-{port}-{time.monotonic_ns()}.log"
    with log.open("w") as out:
        process = spawn(
            ["serve", "--no-worker", "--port", str(port), *flags],
            env,
            cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = ApiServer(f"http://127.0.0.1:{port}", port, process, log)

    def healthy() -> bool:
        assert process.poll() is None, server.output()
        try:
            return httpx.get(f"{server.url}/health", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    try:
        poll(healthy, timeout=60, what="the API to come up", interval=0.05)
    except AssertionError:
        process.kill()
        raise
    return server


@contextmanager
def served_api(env: dict[str, str], cwd: Path, *flags: str) -> Iterator[ApiServer]:
    """`deep-research serve --no-worker FLAGS` on a free port until the block ends."""
    server = start_api(env, cwd, *flags)
    try:
        yield server
    finally:
        stop(server.process, timeout=30)


def auth(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Followed:
    """What a client following a run received: each status event (number, status), each piece of report
    text (its number, its chunk), the `end` event's status, and the last event id, sent on reconnecting."""

    statuses: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    texts: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    end: dict[str, Any] | None = None
    connections: int = 0
    last_id: str | None = None
    events_before_text: int | None = None
    """How many status events had arrived when the first piece of text did."""
    no_content: bool = False
    """The last connection was answered 204: the run had ended and nothing was left to send."""

    @property
    def ids(self) -> list[int]:
        """The status numbers received, in order."""
        return [number for number, _ in self.statuses]

    @property
    def report_text(self) -> str:
        """The report's text put together from the pieces, as a client shows it while it is written."""
        return report_text_so_far(ReportTextChunk.model_validate(chunk) for _, chunk in self.texts)


def read_events(
    url: str,
    run_id: str,
    followed: Followed,
    *,
    headers: dict[str, str] | None = None,
    limit: int | None = None,
    timeout: float = 60,
) -> Followed:
    """Open the run's stream once (sending `Last-Event-ID` when `followed` has events) and add what arrives
    to `followed`, until the stream ends or `limit` status events have arrived on this connection."""
    sent = {**auth(), **(headers or {})}
    if followed.last_id is None and followed.statuses:  # made from another client's statuses
        followed.last_id = str(followed.statuses[-1][0])
    if followed.last_id is not None:
        sent["Last-Event-ID"] = followed.last_id
    followed.connections += 1
    received = 0
    with (
        httpx2.Client(base_url=url, timeout=httpx2.Timeout(timeout, connect=5)) as client,
        client.sse(f"/runs/{run_id}/events", headers=sent) as source,
    ):
        if source.response.status_code == 204:
            followed.no_content = True
            return followed
        assert source.response.status_code == 200, source.response.read()
        for event in source:
            status, _, text = event.id.partition(".")
            if event.event == "status":
                followed.last_id = event.id
                followed.statuses.append((int(status), json.loads(event.data)))
                received += 1
                if limit is not None and received >= limit:
                    return followed
            elif event.event == "report_text":
                if followed.events_before_text is None:
                    followed.events_before_text = len(followed.statuses)
                followed.last_id = event.id
                followed.texts.append((int(text), json.loads(event.data)))
            elif event.event == "end":
                followed.end = json.loads(event.data)
                return followed
    return followed


def follow_to_end(url: str, run_id: str, timeout: float = 120, followed: Followed | None = None) -> Followed:
    """Follow the run until its `end` event (or a 204), reconnecting with the last id after any drop."""
    followed = followed or Followed()
    deadline = time.monotonic() + timeout
    while followed.end is None and not followed.no_content:
        if time.monotonic() > deadline:
            raise AssertionError(f"run {run_id} did not end within {timeout:g} s; got ids {followed.ids}")
        try:
            read_events(url, run_id, followed, timeout=max(1.0, deadline - time.monotonic()))
        except (httpx2.TransportError, httpx2.HTTPStatusError):
            time.sleep(0.1)  # the server is down for a moment (restarting): connect again shortly
    return followed
