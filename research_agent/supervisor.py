"""Keeps one `deep-research worker` process alive for `deep-research ui`, and tells the UI how it is.

The supervisor starts the worker as a child process, restarts it a short while after it dies (whoever
killed it: the UI's "Crash the worker" button, `kill -9` in a terminal, an out-of-memory kill), and writes
its state to a small JSON file beside the database. The UI reads that file to show the worker's state and
to find the process to kill; it never starts or stops DBOS itself.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from .database import executor_id_of, normalized_database_url
from .settings import Settings

READY_LINE = "Ctrl-C to stop"
"""What `deep-research worker` prints on stderr once it has launched and listens to its queue."""
WORKER_ARGUMENTS = ["-m", "research_agent", "worker"]
"""How the supervisor runs the worker, after the Python interpreter: what its command line ends with."""
MAX_EVENTS = 50


class WorkerState(StrEnum):
    STARTING = "starting"
    RUNNING = "running"
    DOWN = "down"
    RECOVERING = "recovering"
    STOPPED = "stopped"


class WorkerEvent(BaseModel):
    at: datetime
    event: str = Field(description="started, died or restarted.")
    detail: str = ""


class SupervisorSnapshot(BaseModel):
    """What the state file holds."""

    supervisor_pid: int
    executor_id: str
    worker_pid: int | None = None
    state: WorkerState = WorkerState.STARTING
    restarts: int = 0
    last_error: str | None = None
    events: list[WorkerEvent] = Field(default_factory=list)


def state_file(settings: Settings) -> Path:
    """Where the supervisor of this database and executor keeps its state."""
    digest = hashlib.sha256(normalized_database_url(settings).encode()).hexdigest()[:10]
    return settings.data_dir / f"supervisor-{executor_id_of(settings)}-{digest}.json"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_snapshot(settings: Settings) -> SupervisorSnapshot | None:
    """The live supervisor's state, or None when no supervisor runs for this database and executor."""
    path = state_file(settings)
    try:
        snapshot = SupervisorSnapshot.model_validate_json(path.read_bytes())
    except (OSError, ValidationError):
        return None
    return snapshot if _alive(snapshot.supervisor_pid) else None


def _parent_and_arguments(pid: int) -> tuple[int, list[str]] | None:
    """The parent pid and command line of process `pid`, or None when there is no such process."""
    proc = Path("/proc") / str(pid)
    if Path("/proc/self/stat").exists():
        try:
            stat = (proc / "stat").read_text()
            arguments = (proc / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except (FileNotFoundError, ProcessLookupError):
            return None
        # "pid (name) state ppid ...": the name may hold spaces and parentheses, so read after its last ")".
        return int(stat.rpartition(")")[2].split()[1]), [a for a in arguments if a]
    found = subprocess.run(
        ["ps", "-o", "ppid=", "-o", "args=", "-p", str(pid)], capture_output=True, text=True, check=False
    )
    if found.returncode != 0 or not found.stdout.strip():
        return None
    parent, _, command = found.stdout.strip().partition(" ")
    return int(parent), command.split()


def _why_not_the_worker(pid: int, supervisor_pid: int) -> str | None:
    """Why process `pid` is not the worker that supervisor `supervisor_pid` started, or None when it is."""
    found = _parent_and_arguments(pid)
    if found is None:
        return "running"
    parent, arguments = found
    if parent != supervisor_pid:
        return f"a child of the supervisor (process {supervisor_pid})"
    if arguments[-len(WORKER_ARGUMENTS) :] != WORKER_ARGUMENTS:
        return "a deep-research worker"
    return None


def crash_worker(settings: Settings) -> int:
    """SIGKILL the supervised worker (the crash demo) and return its pid; the supervisor restarts it.

    The pid comes from a file, so it may be stale (the worker died, another process got its pid) or
    written by someone else: the process is killed only if it is a child of the live supervisor whose
    command line is the worker's. On Linux it is held by a pidfd while checked, so a pid reused between
    the check and the kill cannot be hit.
    """
    snapshot = read_snapshot(settings)
    if snapshot is None or snapshot.worker_pid is None or snapshot.state != WorkerState.RUNNING:
        raise ProcessLookupError("no supervised worker is running right now")
    pid = snapshot.worker_pid
    handle = _hold(pid)
    try:
        why = _why_not_the_worker(pid, snapshot.supervisor_pid)
        if why is not None:
            raise ProcessLookupError(
                f"process {pid} is not {why}, so it is not the supervised worker: not killed "
                "(the supervisor's state file is stale or was not written by it)"
            )
        if handle is not None:
            signal.pidfd_send_signal(handle, signal.SIGKILL)
        else:
            os.kill(pid, signal.SIGKILL)
    finally:
        if handle is not None:
            os.close(handle)
    return pid


def _hold(pid: int) -> int | None:
    """A pidfd for `pid` (Linux), which keeps naming that process even if its pid is reused; None elsewhere."""
    if not hasattr(os, "pidfd_open"):
        return None
    try:
        return os.pidfd_open(pid)
    except ProcessLookupError:
        raise ProcessLookupError(
            f"process {pid} is not running, so it is not the supervised worker"
        ) from None
    except OSError:  # pidfds unsupported by this kernel
        return None


def _describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with code {code}"


class WorkerSupervisor:
    """Runs `deep-research worker` and restarts it after `restart_delay` seconds whenever it dies."""

    def __init__(
        self,
        settings: Settings,
        *,
        restart_delay: float = 2.0,
        env: dict[str, str] | None = None,
        echo: Callable[[str], None] | None = None,
    ) -> None:
        self.settings = settings
        self.restart_delay = restart_delay
        self.env = {**os.environ, **(env or {})}
        self.echo = echo or (lambda line: None)
        self.path = state_file(settings)
        self._snapshot = SupervisorSnapshot(supervisor_pid=os.getpid(), executor_id=executor_id_of(settings))
        self._process: subprocess.Popen[str] | None = None
        self._last_line: str | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._supervise, name="worker-supervisor", daemon=True)

    @property
    def snapshot(self) -> SupervisorSnapshot:
        with self._lock:
            return self._snapshot.model_copy(deep=True)

    def start(self) -> None:
        self._write()
        self._thread.start()

    def stop(self, timeout: float = 15) -> None:
        """Stop the worker gracefully (SIGTERM, then SIGKILL) and remove the state file."""
        self._stopping.set()
        with self._lock:
            process = self._process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._thread.join(timeout)
        self._update(state=WorkerState.STOPPED, worker_pid=None)
        self.path.unlink(missing_ok=True)

    # --- the supervising thread ------------------------------------------------------------------------

    def _supervise(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            restarting = self.snapshot.restarts > 0 or failures > 0
            process = subprocess.Popen(
                [sys.executable, *WORKER_ARGUMENTS],
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
                # Its own session, so a Ctrl-C meant for the UI doesn't kill it behind the supervisor's back.
                start_new_session=True,
            )
            with self._lock:
                self._process = process
            self._update(
                state=WorkerState.RECOVERING if restarting else WorkerState.STARTING,
                worker_pid=process.pid,
                event=WorkerEvent(at=_now(), event="restarted" if restarting else "started"),
            )
            ready = self._follow_output(process)
            code = process.wait()
            if self._stopping.is_set():
                return
            failures = 0 if ready else failures + 1
            detail = _describe_exit(code)
            self._update(
                state=WorkerState.DOWN,
                worker_pid=None,
                restarts=self.snapshot.restarts + 1,
                last_error=None if ready else self._last_line or detail,
                event=WorkerEvent(at=_now(), event="died", detail=detail),
            )
            # A worker that cannot even start (bad settings, executor id taken) is retried ever more slowly.
            delay = self.restart_delay if ready else min(30.0, self.restart_delay * 2**failures)
            self._stopping.wait(delay)

    def _follow_output(self, process: subprocess.Popen[str]) -> bool:
        """Echo the worker's stderr until it exits; mark it running when it says it is ready."""
        assert process.stderr is not None
        ready = False
        for line in process.stderr:
            line = line.rstrip()
            if not line:
                continue
            self._last_line = line
            self.echo(line)
            if not ready and READY_LINE in line:
                ready = True
                self._update(state=WorkerState.RUNNING)
        return ready

    # --- the state file --------------------------------------------------------------------------------

    def _update(self, event: WorkerEvent | None = None, **changes: object) -> None:
        with self._lock:
            if event is not None:
                changes["events"] = [*self._snapshot.events, event][-MAX_EVENTS:]
            self._snapshot = self._snapshot.model_copy(update=changes)
        self._write()

    def _write(self) -> None:
        with self._lock:
            data = self._snapshot.model_dump_json(indent=2)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(data)
        os.replace(temporary, self.path)  # readers never see a half-written file


def _now() -> datetime:
    return datetime.now(UTC)


def wait_for_state(
    settings: Settings, wanted: WorkerState, *, min_restarts: int = 0, timeout: float = 60
) -> SupervisorSnapshot:
    """Poll the state file until the supervised worker is in state `wanted` after at least `min_restarts`
    restarts (for tests and scripts)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        snapshot = read_snapshot(settings)
        if snapshot is not None and snapshot.state == wanted and snapshot.restarts >= min_restarts:
            return snapshot
        time.sleep(0.05)
    raise TimeoutError(
        f"the supervised worker did not reach state {wanted.value} (after {min_restarts} restarts) in {timeout} s"
    )
