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
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from research_agent.client import ResearchClient
from research_agent.options import batch_run_id
from research_agent.settings import get_settings

from .._process import COMMAND, poll, read_executions, repeated_executions, settings_from_env, start_worker
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
        """Peak and the start/end of the working set, per process, in MiB."""
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
            }
        return figures


def submit_from_clients(env: dict[str, str], root: Path, batch: list[str]) -> float:
    """8 client processes at once, each submitting its share and its neighbour's; seconds until all ran."""
    shares = [batch[i::CLIENTS] for i in range(CLIENTS)]
    files = []
    for i in range(CLIENTS):
        path = root / f"client-{i}.txt"
        path.write_text("\n".join(shares[i] + shares[(i + 1) % CLIENTS]) + "\n")
        files.append(path)
    started = time.monotonic()
    clients = [
        subprocess.Popen(
            [*COMMAND, "submit", "--file", str(path), "--no-wait"],
            env={**__import__("os").environ, **env},
            cwd=root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for path in files
    ]
    for client in clients:
        _, stderr = client.communicate(timeout=300)
        assert client.returncode == 0, stderr
    return time.monotonic() - started


def _finish(env: dict[str, str], batch: list[str], workers: list) -> tuple[list[str], dict[str, Any], float]:
    run_ids = [batch_run_id(q) for q in batch]
    probe = MemoryProbe([w.pid for w in workers])
    started = time.monotonic()
    with ResearchClient(settings_from_env(env)) as client:
        poll(
            lambda: not unfinished(client, run_ids), timeout=120 + 3 * len(batch), what="every run to finish"
        )
        phases = client.finished(run_ids)
        rows = client._client.list_workflows(workflow_ids=run_ids, load_input=False, load_output=False)
    elapsed = time.monotonic() - started
    memory = probe.stop()
    assert {p.value for p in phases.values()} == {"COMPLETED"}, phases
    assert len(rows) == len(set(run_ids)) == len(batch) and all(r.recovery_attempts == 1 for r in rows)
    assert not repeated_executions(read_executions(env))
    for (
        figures
    ) in memory.values():  # flat: the working set at the end is no bigger than early on, give or take
        assert figures["last_quarter_mean_rss_mib"] <= 1.5 * figures["first_quarter_mean_rss_mib"] + 50, (
            memory
        )
    return run_ids, memory, elapsed


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
    chaos_env: dict[str, str], tmp_path: Path, workers: list, monkeypatch: pytest.MonkeyPatch
):
    workers.append(start_worker(chaos_env, tmp_path))
    batch = questions(RUNS)
    submit_seconds = submit_from_clients(chaos_env, tmp_path, batch)
    run_ids, memory, elapsed = _finish(chaos_env, batch, workers)
    if STORED > RUNS:  # fill the history with smaller runs (one search each), to STORED in all
        small = {**chaos_env, "RESEARCH_MAX_SEARCHES": "1", "RESEARCH_MAX_EXTRA_SEARCHES": "0"}
        extra = questions(STORED - RUNS, offset=RUNS)
        submit_from_clients(small, tmp_path, extra)
        _finish(small, extra, workers)
    history = _history_seconds(chaos_env["RESEARCH_DATABASE_URL"], monkeypatch)
    record_figures(
        "load-sqlite",
        {
            "runs": RUNS,
            "client_processes": CLIENTS,
            "submissions": 2 * RUNS,
            "completed": len(run_ids),
            "repeated_executions": 0,
            "seconds_to_submit": round(submit_seconds, 1),
            "seconds_to_complete": round(elapsed, 1),
            "runs_per_second": round(RUNS / elapsed, 2),
            "worker_memory": next(iter(memory.values())),
            "runs_stored": STORED,
            **history,
        },
    )


@pytest.mark.postgres
def test_load_on_three_postgres_workers(isolated_env: dict[str, str], tmp_path: Path, workers: list):
    from ..conftest import _postgres_database

    for url in _postgres_database():
        env = {
            **isolated_env,
            "RESEARCH_DATABASE_URL": url,
            "RESEARCH_OFFLINE": "true",
            "RESEARCH_EXECUTION_LOG": str(tmp_path / "executions.jsonl"),
        }
        for name in ("w1", "w2", "w3"):
            workers.append(start_worker(env, tmp_path, executor_id=name))
        batch = questions(RUNS)
        submit_seconds = submit_from_clients(env, tmp_path, batch)
        run_ids, memory, elapsed = _finish(env, batch, workers)
        with ResearchClient(settings_from_env(env)) as client:
            rows = client._client.list_workflows(workflow_ids=run_ids, load_input=False, load_output=False)
        spread = {executor: sum(r.executor_id == executor for r in rows) for executor in ("w1", "w2", "w3")}
        record_figures(
            "load-postgres",
            {
                "runs": RUNS,
                "client_processes": CLIENTS,
                "workers": 3,
                "submissions": 2 * RUNS,
                "completed": len(run_ids),
                "runs_per_worker": spread,
                "repeated_executions": 0,
                "seconds_to_submit": round(submit_seconds, 1),
                "seconds_to_complete": round(elapsed, 1),
                "runs_per_second": round(RUNS / elapsed, 2),
                "worker_memory": dict(zip(("w1", "w2", "w3"), memory.values(), strict=True)),
            },
        )
