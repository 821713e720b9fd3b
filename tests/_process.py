"""Helpers to run the real `deep-research` command in subprocesses, kill them and read what they executed."""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from research_agent.settings import Settings

COMMAND = [sys.executable, "-m", "research_agent"]
WEB_STUB_COMMAND = [sys.executable, "-m", "tests._web_stub"]
REPO = Path(__file__).parents[1]
QUESTIONS = [  # offline questions the Factbook answers, each a little different
    "Compare the economies of Chile and Peru",
    "What languages are spoken in Switzerland",
    "How large is the population of Japan",
    "Compare the climates of Norway and Egypt",
    "What are the main exports of Brazil",
    "Describe the government of Canada",
    "What is the geography of Kenya like",
    "Compare the militaries of France and Germany",
    "What natural resources does Australia have",
    "How is India's economy structured",
]


def cli(
    args: list[str], env: dict[str, str], cwd: Path, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*COMMAND, *args], env={**os.environ, **env}, cwd=cwd, capture_output=True, text=True, timeout=timeout
    )


_OUTPUT: dict[int, list[str]] = {}


def worker_output(process: subprocess.Popen[str]) -> str:
    """Everything the worker `process` has written on stderr so far."""
    return "".join(_OUTPUT.get(process.pid, []))


def _drain(process: subprocess.Popen[str], lines: list[str]) -> None:
    # A worker whose stderr pipe fills up (64 KiB of warnings during a database outage) blocks on its
    # next log line, so its output is read for as long as it runs.
    assert process.stderr is not None
    for line in process.stderr:
        lines.append(line)


def start_worker(
    env: dict[str, str],
    cwd: Path,
    timeout: float = 60,
    executor_id: str | None = None,
    command: list[str] = COMMAND,
) -> subprocess.Popen[str]:
    """Start `deep-research worker [--executor-id ID]` and return once it says it is ready.

    `command` is how the CLI is run: `WEB_STUB_COMMAND` runs it with the stand-in web search backend.
    Its stderr keeps being read in the background; `worker_output(process)` returns it.
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
            _OUTPUT[process.pid] = lines
            threading.Thread(target=_drain, args=(process, lines), daemon=True).start()
            return process
    process.kill()
    raise RuntimeError("worker did not start:\n" + "".join(lines))


def poll(condition: Callable[[], bool], timeout: float, what: str, interval: float = 0.05) -> None:
    """Return once `condition()` holds; fail after `timeout` seconds, saying `what` was awaited."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


def make_settings(**fields: Any) -> Settings:
    """Settings from `fields` (by field name, or a key's variable such as ANTHROPIC_API_KEY), validated as
    the environment's strings would be; no .env file is read."""
    return Settings(_env_file=None, **fields)  # type: ignore[call-arg]  # pydantic-settings' own argument


def settings_from_env(env: dict[str, str]) -> Settings:
    """The settings a subprocess given `env` would read (RESEARCH_* variables only, no .env file)."""
    return make_settings(
        **{k.removeprefix("RESEARCH_").lower(): v for k, v in env.items() if k.startswith("RESEARCH_")}
    )


def read_executions(env: dict[str, str]) -> list[dict[str, Any]]:
    """The lines of the execution log named by `env` (RESEARCH_EXECUTION_LOG), oldest first."""
    path = Path(env["RESEARCH_EXECUTION_LOG"])
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def finished_executions(executions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Model requests and searches that ran to their end (not cut off, not failed)."""
    return [e for e in executions if e["kind"] in ("model", "search") and e["stage"] == "end"]


def repeated_executions(executions: list[dict[str, Any]]) -> dict[tuple[Any, ...], int]:
    """(kind, workflow, step) of every call that ran to its end more than once, with how often."""
    counts = Counter((e["kind"], e["workflow_id"], e["step_id"]) for e in finished_executions(executions))
    return {key: n for key, n in counts.items() if n > 1}


def kill(process: subprocess.Popen[str]) -> None:
    """SIGKILL `process` and reap it."""
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
