"""What the tests share besides fixtures: the one place that starts, stops and kills `deep-research`
subprocesses, the one wait-until helper (`poll`, and `wait_until` for a run's status), the settings a test
or a subprocess runs with, and the execution log those subprocesses write.
"""

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
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar

from research_agent.schema import Phase, ResearchStatus
from research_agent.settings import Settings

if TYPE_CHECKING:
    from research_agent.client import ResearchClient

T = TypeVar("T")

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
    """Run `deep-research ARGS` to its end."""
    return subprocess.run(
        [*COMMAND, *args], env={**os.environ, **env}, cwd=cwd, capture_output=True, text=True, timeout=timeout
    )


def uninterrupted_run(
    root: Path, index_dir: Path, *args: str, env: dict[str, str] | None = None
) -> ResearchStatus:
    """An offline `run` of `args` (question first) to its end in a fresh database under `root`: the reference
    a crashed and recovered run is compared with."""
    full_env = {
        "RESEARCH_DATA_DIR": str(root),
        "RESEARCH_INDEX_DIR": str(index_dir),
        "RESEARCH_DATABASE_URL": f"sqlite:///{root / 'reference.sqlite'}",
        **(env or {}),
    }
    done = cli(["run", *args, "--offline", "--json"], full_env, root)
    assert done.returncode == 0, done.stderr
    return ResearchStatus.model_validate_json(done.stdout)


def spawn(
    args: list[str],
    env: dict[str, str],
    cwd: Path,
    *,
    command: list[str] = COMMAND,
    stdout: int | IO[str] | None = subprocess.PIPE,
    stderr: int | IO[str] | None = subprocess.PIPE,
) -> subprocess.Popen[str]:
    """Start `deep-research ARGS` (or `command ARGS`) in the background, with `env` over this environment."""
    return subprocess.Popen(
        [*command, *args],
        env={**os.environ, "PYTHONPATH": str(REPO), **env},
        cwd=cwd,
        stdout=stdout,
        stderr=stderr,
        text=True,
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
    process = spawn(
        ["worker", *(["--executor-id", executor_id] if executor_id else [])],
        env,
        cwd,
        command=command,
        stdout=subprocess.DEVNULL,
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


def poll(
    read: Callable[[], T],
    timeout: float,
    what: str,
    *,
    holds: Callable[[T], object] = bool,
    interval: float = 0.05,
) -> T:
    """Call `read` until `holds` is true of what it returns (by default: until that is true), and return it.

    Fails after `timeout` seconds, saying `what` was awaited (and, with `holds`, what was read last). An
    assertion raised by `read` or `holds` ends the wait at once: the way to fail early.
    """
    deadline = time.monotonic() + timeout
    while not holds(value := read()):
        if time.monotonic() > deadline:
            last = "" if holds is bool else f"; last read: {_shortened(repr(value))}"
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}{last}")
        time.sleep(interval)
    return value


def _shortened(text: str, limit: int = 500) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def wait_until(
    client: ResearchClient, run_id: str, condition: Callable[[ResearchStatus], bool], timeout: float = 120
) -> ResearchStatus:
    """Poll the run's status until `condition` holds, and return that status; fail if the run finishes first."""

    def reached(status: ResearchStatus) -> bool:
        if condition(status):
            return True
        assert not status.phase.finished, f"run finished first: {status.phase} {status.error}"
        return False

    return poll(
        lambda: client.status(run_id), timeout, f"a condition on run {run_id}", holds=reached, interval=0.02
    )


def awaiting(status: ResearchStatus) -> bool:
    """Whether the run's plan awaits a person's review."""
    return status.phase is Phase.AWAITING_APPROVAL


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


def stop(process: subprocess.Popen[str], timeout: float = 60) -> int:
    """SIGTERM `process` (a worker hands its runs back and exits), wait for it and return its exit code;
    SIGKILL it if it has not ended after `timeout` seconds."""
    process.terminate()
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait(timeout=30)


def kill_all(processes: Iterable[subprocess.Popen[str]]) -> None:
    """Kill whichever of a test's `processes` still run, and reap them all."""
    for process in processes:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)
