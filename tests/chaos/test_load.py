"""Load: many runs from 8 client processes at once, to one worker on SQLite and three on Postgres.

Offline models, no pacing. Eight `deep-research submit --file` processes start together; each submits
its own share of the questions and its neighbour's too, so every run is submitted twice at the same
moment and must still run once. Every run completes, no model request or search runs twice, and the
workers' memory is sampled from /proc while they work. Then the history page is opened (Streamlit's
AppTest) on the SQLite database with every run stored: 1,000 of them under `make chaos`.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from research_agent.client import ResearchClient
from research_agent.options import batch_run_id
from research_agent.schema import Phase
from research_agent.settings import get_settings

from .._process import (
    finished_executions,
    poll,
    read_executions,
    repeated_executions,
    settings_from_env,
    spawn,
    start_worker,
)
from ..conftest import postgres_database
from ._harness import record_figures, scale, unfinished

pytestmark = pytest.mark.chaos
CLIENTS = 8
RUNS = scale(ci=30, full=200)
STORED = scale(ci=RUNS, full=1000)
"""Runs in the SQLite database when its history page is timed."""
APP = str(Path(__file__).parents[2] / "ui" / "app.py")
COUNTRIES = [
    "Argentina", "Australia", "Austria", "Bangladesh", "Belgium", "Bolivia", "Brazil", "Bulgaria", "Canada",
    "Chile", "Colombia", "Croatia", "Cuba", "Denmark", "Ecuador", "Egypt", "Estonia", "Ethiopia", "Finland",
    "France", "Germany", "Ghana", "Greece", "Hungary", "Iceland", "India", "Indonesia", "Ireland", "Italy",
    "Jamaica", "Japan", "Kenya", "Latvia", "Malaysia", "Mexico", "Morocco", "Nepal", "Nigeria", "Norway",
    "Pakistan", "Paraguay", "Peru", "Poland", "Portugal", "Romania", "Senegal", "Spain", "Sweden", "Uruguay",
    "Vietnam",
]  # fmt: skip
TOPICS = [
    "What are the main exports of {}",
    "How large is the population of {}",
    "Describe the government of {}",
    "What is the climate of {}",
    "What languages are spoken in {}",
]


def questions(count: int, offset: int = 0) -> list[str]:
    every = [topic.format(country) for topic in TOPICS for country in COUNTRIES]
    every += [f"{q} today" for q in every] + [f"{q} and why" for q in every]
    every += [f"Tell me briefly: {q}" for q in every]
    return every[offset : offset + count]


class MemoryProbe:
    """Samples the resident memory of some processes from /proc until stopped."""

    def __init__(self, pids: list[int]) -> None:
        self.pids = pids
        self.samples: dict[int, list[int]] = {pid: [] for pid in pids}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    @staticmethod
    def _status_kib(pid: int, field: str) -> int:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
        return 0

    def _run(self) -> None:
        while not self._stop.wait(0.25):
            for pid in self.pids:
                self.samples[pid].append(self._status_kib(pid, "VmRSS"))

    def stop(self) -> dict[str, Any]:
        """Peak and the start/end of the working set, per process, in MiB, and how often it was sampled."""
        peaks = {pid: self._status_kib(pid, "VmHWM") for pid in self.pids}
        self._stop.set()
        self._thread.join()
        figures = {}
        for pid, samples in self.samples.items():
            quarter = max(1, len(samples) // 4)
            figures[str(pid)] = {
                "peak_rss_mib": round(peaks[pid] / 1024, 1),
                "first_quarter_mean_rss_mib": round(sum(samples[:quarter]) / quarter / 1024, 1),
                "last_quarter_mean_rss_mib": round(sum(samples[-quarter:]) / quarter / 1024, 1),
                "samples": len(samples),
            }
        return figures


def submit_from_clients(env: dict[str, str], root: Path, batch: list[str]) -> tuple[float, list[str]]:
    """8 client processes at once, each submitting its share and its neighbour's: seconds until all had
    submitted, and the run ids they printed, one per question each submitted."""
    shares = [batch[i::CLIENTS] for i in range(CLIENTS)]
    files = []
    for i in range(CLIENTS):
        path = root / f"client-{i}.txt"
        path.write_text("\n".join(shares[i] + shares[(i + 1) % CLIENTS]) + "\n")
        files.append(path)
    started = time.monotonic()
    clients = [spawn(["submit", "--file", str(path), "--no-wait"], env, root) for path in files]
    printed = []
    for client in clients:
        stdout, stderr = client.communicate(timeout=300)
        assert client.returncode == 0, stderr
        printed += stdout.split()
    return time.monotonic() - started, printed


def load(
    env: dict[str, str], root: Path, batch: list[str], workers: list[subprocess.Popen[str]]
) -> dict[str, Any]:
    """Submit `batch` from the clients, wait for every run, and return the figures of what happened."""
    run_ids = [batch_run_id(q) for q in batch]
    probe = MemoryProbe([w.pid for w in workers])  # from the start: the workers work during the submitting
    submit_seconds, printed = submit_from_clients(env, root, batch)
    started = time.monotonic()
    with ResearchClient(settings_from_env(env)) as client:
        poll(
            lambda: not unfinished(client, run_ids), timeout=120 + 3 * len(batch), what="every run to finish"
        )
        phases = client.finished(run_ids)
        rows = client._client.list_workflows(workflow_ids=run_ids, load_input=False, load_output=False)
    elapsed = time.monotonic() - started
    memory = probe.stop()
    executions = read_executions(env)
    planned = Counter(e["workflow_id"] for e in finished_executions(executions) if e.get("role") == "planner")
    return {
        "runs": len(batch),
        "client_processes": CLIENTS,
        "submissions": len(printed),
        "runs_submitted": len(set(printed) & set(run_ids)),
        "workflows": len(rows),
        "completed": sum(phase is Phase.COMPLETED for phase in phases.values()),
        "started_once": sum(row.recovery_attempts == 1 for row in rows),
        "runs_planned": sum(planned[f"{run_id}-plan"] >= 1 for run_id in run_ids),
        "repeated_executions": len(repeated_executions(executions)),
        "seconds_to_submit": round(submit_seconds, 1),
        "seconds_to_complete": round(elapsed, 1),
        "runs_per_second": round(len(batch) / elapsed, 2),
        "worker_memory": memory,
        "executors": {row.workflow_id: row.executor_id for row in rows},
    }


def assert_figures_hold(figures: dict[str, Any]) -> None:
    """What a load run's figures must say on any machine, however loaded: every run submitted twice and
    run once to completion, nothing executed twice, the workers' memory sampled, bounded and flat."""
    runs = figures["runs"]
    assert figures["submissions"] == 2 * runs and figures["runs_submitted"] == runs, figures
    assert figures["workflows"] == figures["completed"] == runs, figures
    assert figures["started_once"] == figures["runs_planned"] == runs, figures  # each run ran, and once
    assert figures["repeated_executions"] == 0, figures
    assert figures["seconds_to_submit"] > 0 and figures["seconds_to_complete"] >= 0, figures
    for memory in figures["worker_memory"].values():
        assert memory["samples"] >= 4, figures  # a second of sampling at least: the submitting takes longer
        assert 0 < memory["peak_rss_mib"] < 2048, figures
        # Flat: the working set at the end is no bigger than early on, give or take.
        assert memory["last_quarter_mean_rss_mib"] <= 1.5 * memory["first_quarter_mean_rss_mib"] + 50, figures


def _history_seconds(database_url: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, float]:
    """Seconds to open the history page (last 200 runs, the default) and to show the last 1,000."""
    monkeypatch.setenv("RESEARCH_DATABASE_URL", database_url)
    get_settings.cache_clear()
    test = AppTest.from_file(APP, default_timeout=120)
    test.run()
    started = time.monotonic()
    test.switch_page("views/history.py").run()
    default_view = time.monotonic() - started
    assert not test.exception and len(test.dataframe[0].value) == min(200, STORED)
    started = time.monotonic()
    test.selectbox[0].set_value(1000).run()
    full_view = time.monotonic() - started
    assert not test.exception and len(test.dataframe[0].value) == min(1000, STORED)
    return {"history_page_seconds": round(default_view, 2), "history_last_1000_seconds": round(full_view, 2)}


def test_load_on_one_sqlite_worker(
    chaos_env: dict[str, str],
    tmp_path: Path,
    workers: list[subprocess.Popen[str]],
    monkeypatch: pytest.MonkeyPatch,
):
    workers.append(start_worker(chaos_env, tmp_path))
    figures = load(chaos_env, tmp_path, questions(RUNS), workers)
    if STORED > RUNS:  # fill the history with smaller runs (one search each), to STORED in all
        small = {**chaos_env, "RESEARCH_MAX_SEARCHES": "1", "RESEARCH_MAX_EXTRA_SEARCHES": "0"}
        assert_figures_hold(load(small, tmp_path, questions(STORED - RUNS, offset=RUNS), workers))
    assert_figures_hold(figures)
    history = _history_seconds(chaos_env["RESEARCH_DATABASE_URL"], monkeypatch)
    figures.pop("executors")
    (figures["worker_memory"],) = figures["worker_memory"].values()
    record_figures("load-sqlite", {**figures, "runs_stored": STORED, **history})


@pytest.mark.postgres
def test_load_on_three_postgres_workers(
    isolated_env: dict[str, str], tmp_path: Path, workers: list[subprocess.Popen[str]]
):
    with postgres_database() as url:
        env = {
            **isolated_env,
            "RESEARCH_DATABASE_URL": url,
            "RESEARCH_OFFLINE": "true",
            "RESEARCH_EXECUTION_LOG": str(tmp_path / "executions.jsonl"),
        }
        names = ("w1", "w2", "w3")
        for name in names:
            workers.append(start_worker(env, tmp_path, executor_id=name))
        figures = load(env, tmp_path, questions(RUNS), workers)
        assert_figures_hold(figures)
        executors = Counter(figures.pop("executors").values())
        spread = {name: executors[name] for name in names}
        assert sum(spread.values()) == RUNS, executors  # every run was executed by one of the three workers
        figures["worker_memory"] = dict(zip(names, figures["worker_memory"].values(), strict=True))
        record_figures("load-postgres", {**figures, "workers": len(names), "runs_per_worker": spread})
