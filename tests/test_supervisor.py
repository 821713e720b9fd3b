"""The worker supervisor of `deep-research ui`: a real worker process, killed and restarted."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from research_agent.client import ResearchClient
from research_agent.database import executor_id_of
from research_agent.options import resolve_options
from research_agent.schema import Phase
from research_agent.settings import Settings
from research_agent.supervisor import (
    SupervisorSnapshot,
    WorkerState,
    WorkerSupervisor,
    crash_worker,
    read_snapshot,
    state_file,
    wait_for_state,
)

from ._process import wait_until

pytestmark = pytest.mark.slow  # a supervised worker subprocess: left out of `make test-fast`


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'supervised.sqlite'}"


@pytest.mark.crash
def test_a_killed_worker_is_restarted_and_finishes_the_run(settings: Settings, isolated_env: dict[str, str]):
    env = {**isolated_env, "RESEARCH_DATABASE_URL": settings.database_url, "RESEARCH_OFFLINE_DELAY": "0.3"}
    supervisor = WorkerSupervisor(settings, restart_delay=0.2, env=env)
    supervisor.start()
    try:
        first = wait_for_state(settings, WorkerState.RUNNING, timeout=90)
        with ResearchClient(settings) as client:
            options, _ = resolve_options(settings, offline=True)
            run_id = client.submit("Compare the economies of Chile and Peru", options)
            wait_until(client, run_id, lambda status: status.phase is Phase.SEARCHING, timeout=60)
            # The crash demo's button...
            assert crash_worker(settings) == first.worker_pid
            wait_for_state(settings, WorkerState.RUNNING, min_restarts=1, timeout=90)
            # ...and a kill from a terminal are handled the same way.
            second = read_snapshot(settings)
            assert second is not None and second.worker_pid not in (None, first.worker_pid)
            assert second.worker_pid is not None
            os.kill(second.worker_pid, signal.SIGKILL)
            wait_for_state(settings, WorkerState.RUNNING, min_restarts=2, timeout=90)
            final = client.wait(run_id, timeout=120)
        assert final.phase is Phase.COMPLETED, final.error
        snapshot = read_snapshot(settings)
        assert snapshot is not None
        died = [e for e in snapshot.events if e.event == "died"]
        assert [e.detail for e in died] == ["killed by SIGKILL", "killed by SIGKILL"]
        assert [e.event for e in snapshot.events].count("restarted") == 2
    finally:
        supervisor.stop()
    assert not state_file(settings).exists()
    assert read_snapshot(settings) is None


def test_no_supervisor_means_nothing_to_crash(settings: Settings):
    assert read_snapshot(settings) is None
    with pytest.raises(ProcessLookupError, match="no supervised worker"):
        crash_worker(settings)


WORKER_LOOKALIKE = [sys.executable, "-c", "import time; time.sleep(60)", "-m", "research_agent", "worker"]
"""A process whose command line ends as the supervisor's worker's does (`python -m research_agent worker`)."""


def _point_the_state_file_at(settings: Settings, worker_pid: int) -> None:
    path = state_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    snapshot = SupervisorSnapshot(
        supervisor_pid=os.getpid(),
        executor_id=executor_id_of(settings),
        worker_pid=worker_pid,
        state=WorkerState.RUNNING,
    )
    path.write_text(snapshot.model_dump_json())


def test_the_crash_button_kills_only_the_worker_the_supervisor_started(settings: Settings):
    # The state file is read from disk: a pid in it may be stale (reused by another process since) or
    # written by someone else. This test process plays the supervisor.
    unrelated = subprocess.Popen(["sleep", "60"])  # its child, but not a worker
    middle = subprocess.Popen(  # a worker lookalike that is not its child
        [sys.executable, "-c", f"import subprocess; p = subprocess.Popen({WORKER_LOOKALIKE!r}); "
         "print(p.pid, flush=True); p.wait()"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert middle.stdout is not None
    grandchild = int(middle.stdout.readline())
    worker = subprocess.Popen(WORKER_LOOKALIKE)
    try:
        for pid in (unrelated.pid, grandchild, 2**22 + 1):
            _point_the_state_file_at(settings, pid)
            with pytest.raises(ProcessLookupError, match=f"process {pid} is not"):
                crash_worker(settings)
        assert unrelated.poll() is None and middle.poll() is None
        os.kill(grandchild, 0)  # still alive
        _point_the_state_file_at(settings, worker.pid)
        assert crash_worker(settings) == worker.pid
        assert worker.wait(10) == -signal.SIGKILL
    finally:
        for process in (unrelated, middle, worker):
            process.kill()
            process.wait()
        with contextlib.suppress(ProcessLookupError):
            os.kill(grandchild, signal.SIGKILL)
        state_file(settings).unlink(missing_ok=True)
