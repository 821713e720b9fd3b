"""Helpers to run the real `deep-research` command in subprocesses."""

from __future__ import annotations

import os
import selectors
import subprocess
import sys
import time
from pathlib import Path

COMMAND = [sys.executable, "-m", "research_agent"]
WEB_STUB_COMMAND = [sys.executable, "-m", "tests._web_stub"]
REPO = Path(__file__).parents[1]


def cli(
    args: list[str], env: dict[str, str], cwd: Path, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*COMMAND, *args], env={**os.environ, **env}, cwd=cwd, capture_output=True, text=True, timeout=timeout
    )


def start_worker(
    env: dict[str, str],
    cwd: Path,
    timeout: float = 60,
    executor_id: str | None = None,
    command: list[str] = COMMAND,
) -> subprocess.Popen[str]:
    """Start `deep-research worker [--executor-id ID]` and return once it says it is ready.

    `command` is how the CLI is run: `WEB_STUB_COMMAND` runs it with the stand-in web search backend.
    """
    process = subprocess.Popen(
        [*command, "worker", *(["--executor-id", executor_id] if executor_id else [])],
        env={**os.environ, "PYTHONPATH": str(REPO), **env},
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stderr, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    lines = []
    while time.monotonic() < deadline:
        if not selector.select(timeout=deadline - time.monotonic()):
            break
        line = process.stderr.readline()
        if not line:
            break
        lines.append(line)
        if "Ctrl-C to stop" in line:
            return process
    process.kill()
    raise RuntimeError("worker did not start:\n" + "".join(lines))
