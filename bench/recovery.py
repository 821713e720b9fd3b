"""How fast a killed worker gets back to work: SIGKILL mid-run, restart, first resumed call.

A real `deep-research worker` subprocess runs an offline research paced at 0.3 s per model request. When
its searches are in flight it is killed with SIGKILL and started again. Figures: the worker's start-up
(spawn to "ready"), and the time from the restart to the first real model request or search the new process
makes for the run (from the execution log every real call writes to).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import Figure, bench_settings, quick, report

from research_agent.client import ResearchClient
from research_agent.options import resolve_options
from research_agent.schema import Phase

READY = "Ctrl-C to stop"


def start_worker(env: dict[str, str]) -> tuple[subprocess.Popen[str], float]:
    """Spawn a worker and wait until it says it is ready; returns it and the seconds that took."""
    start = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "research_agent", "worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    for line in process.stderr:
        if READY in line:
            return process, time.monotonic() - start
    raise RuntimeError(f"the worker exited with {process.wait()} before it was ready")


def calls(log: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def one_trial(root: Path) -> tuple[float, float, float]:
    log = root / "executions.jsonl"
    database = f"sqlite:///{root / 'recovery.sqlite'}"
    env = {
        **os.environ,
        "RESEARCH_DATA_DIR": str(root),
        "RESEARCH_DATABASE_URL": database,
        "RESEARCH_OFFLINE": "true",
        "RESEARCH_OFFLINE_DELAY": "0.3",
        "RESEARCH_EXECUTION_LOG": str(log),
    }
    settings = bench_settings(root, database)
    env["RESEARCH_INDEX_DIR"] = str(settings.indexes)  # the shared, built index: no build in the trial
    first, first_startup = start_worker(env)
    with ResearchClient(settings) as client:
        options, _ = resolve_options(settings)
        run_id = client.submit("Compare the economies of Chile and Peru", options)
        while sum(1 for c in calls(log) if c["kind"] == "search") < 2:  # searches under way
            time.sleep(0.01)
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
        restarted_at = time.time()
        second, startup = start_worker(env)
        try:
            while not any(c["pid"] == second.pid for c in calls(log)):
                time.sleep(0.005)
            resumed = min(float(c["at"]) for c in calls(log) if c["pid"] == second.pid)  # type: ignore[arg-type]
            assert client.wait(run_id, poll_interval=0.05, timeout=120).phase is Phase.COMPLETED
        finally:
            second.terminate()
            second.wait()
    return startup, resumed - restarted_at, first_startup


def main() -> None:
    trials = 2 if quick() else 5
    startups, resumes = [], []
    for _ in range(trials):
        with tempfile.TemporaryDirectory() as tmp:
            startup, resumed, _ = one_trial(Path(tmp))
            startups.append(startup)
            resumes.append(resumed)
    report(
        "recovery",
        [
            Figure("worker start-up (spawn → ready)", "s", startups),
            Figure("restart → first resumed call", "s", resumes, target="≤2 s"),
        ],
    )


if __name__ == "__main__":
    main()
