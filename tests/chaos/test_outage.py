"""The database goes away mid-run, and comes back.

Postgres: the worker reaches the shared server through a TCP proxy that the test cuts (every connection
reset, new ones refused) for several seconds while runs are searching, then restores; the server itself
is never touched. The worker must say so in a line or two, keep retrying, take its executor lock again
(the lock died with its session), and finish every run with nothing lost or done twice.

SQLite: the test holds the database's write lock for a few seconds mid-run; the worker waits it out.
"""

from __future__ import annotations

import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from research_agent.client import ResearchClient
from research_agent.options import resolve_options
from research_agent.schema import Phase, ResearchReport

from .._process import cli, poll, read_executions, settings_from_env, start_worker, worker_output
from ..conftest import POSTGRES_ADMIN_URL, postgres_database
from ._harness import (
    assert_reports_match,
    checkpoint_reruns,
    final_statuses,
    question_of,
    record_figures,
    scale,
    unfinished,
)
from ._proxy import TcpProxy

pytestmark = pytest.mark.chaos
RUNS = scale(ci=3, full=12)
OUTAGES = scale(ci=1, full=3)
OUTAGE_SECONDS = scale(ci=5, full=15)


@pytest.fixture
def proxied_postgres() -> Iterator[tuple[str, str, TcpProxy]]:
    """A fresh database: its URL through a proxy the test can cut, and its direct URL."""
    with postgres_database() as direct:
        host, port = POSTGRES_ADMIN_URL.split("@", 1)[1].split("/", 1)[0].split(":")
        proxy = TcpProxy((host, int(port)))
        try:
            yield direct.replace(f"{host}:{port}", f"127.0.0.1:{proxy.port}", 1), direct, proxy
        finally:
            proxy.close()


def _submit(client: ResearchClient, env: dict[str, str], prefix: str) -> list[str]:
    options, _ = resolve_options(settings_from_env(env))
    return [client.submit(question_of(i), options, run_id=f"{prefix}-{i}") for i in range(RUNS)]


def _searching(client: ResearchClient, run_ids: list[str]) -> bool:
    return any(client.status(r).phase is Phase.SEARCHING for r in run_ids)


@pytest.mark.postgres
def test_postgres_going_away_mid_run(
    chaos_env: dict[str, str],
    tmp_path: Path,
    workers: list[subprocess.Popen[str]],
    proxied_postgres: tuple[str, str, TcpProxy],
    reference_reports: dict[str, ResearchReport],
):
    through_proxy, direct, proxy = proxied_postgres
    env = {**chaos_env, "RESEARCH_DATABASE_URL": through_proxy, "RESEARCH_OFFLINE_DELAY": "0.3"}
    watcher = {**env, "RESEARCH_DATABASE_URL": direct}  # the test's own view is never cut
    worker = start_worker(env, tmp_path, executor_id="outage-1")
    workers.append(worker)
    with ResearchClient(settings_from_env(watcher)) as client:
        run_ids = _submit(client, env, "outage")
        started = time.monotonic()
        for _ in range(OUTAGES):
            poll(lambda: _searching(client, run_ids) or not unfinished(client, run_ids), 60, "a search")
            proxy.cut()
            # The runs' records stay readable meanwhile (from anywhere the database still is).
            assert {s.run_id for s in client.list_runs(limit=100)} == set(run_ids)
            time.sleep(OUTAGE_SECONDS)  # the outage itself, not a wait for anything
            proxy.restore()
        poll(lambda: not unfinished(client, run_ids), timeout=180, what="the runs to finish after the outage")
        elapsed = time.monotonic() - started
        statuses = final_statuses(client, run_ids)
        reruns = checkpoint_reruns(client, read_executions(env))
        poll(lambda: "is held again" in worker_output(worker), 30, "the worker to take its lock again")
        twin = cli(["worker", "--executor-id", "outage-1"], env, tmp_path, timeout=60)
    said = worker_output(worker)
    assert_reports_match(statuses, reference_reports)
    assert not reruns
    assert "database unreachable, retrying" in said and "Traceback" not in said, said
    assert twin.returncode == 2 and "already running" in twin.stderr, twin.stderr
    assert worker.poll() is None, "the worker must ride the outage out, not exit"
    record_figures(
        "outage-postgres",
        {
            "runs": RUNS,
            "outages": OUTAGES,
            "outage_seconds": OUTAGE_SECONDS,
            "completed": sum(s.phase is Phase.COMPLETED for s in statuses.values()),
            "repeated_executions": len(reruns),
            "worker_log_lines": len(said.splitlines()),
            "seconds_from_first_cut_to_all_done": round(elapsed, 1),
        },
    )


def test_sqlite_locked_mid_run(
    chaos_env: dict[str, str],
    tmp_path: Path,
    workers: list[subprocess.Popen[str]],
    reference_reports: dict[str, ResearchReport],
):
    env = {**chaos_env, "RESEARCH_OFFLINE_DELAY": "0.3"}
    workers.append(start_worker(env, tmp_path))
    path = settings_from_env(env).database_url.removeprefix("sqlite:///")
    with ResearchClient(settings_from_env(env)) as client:
        run_ids = _submit(client, env, "locked")
        poll(lambda: _searching(client, run_ids), 60, "a search")
        blocker = sqlite3.connect(path, isolation_level=None)
        blocker.execute("BEGIN EXCLUSIVE")  # no one else writes until it ends
        time.sleep(OUTAGE_SECONDS)  # the outage itself, not a wait for anything
        blocker.execute("COMMIT")
        blocker.close()
        poll(lambda: not unfinished(client, run_ids), timeout=180, what="the runs to finish after the lock")
        statuses = final_statuses(client, run_ids)
        reruns = checkpoint_reruns(client, read_executions(env))
    assert_reports_match(statuses, reference_reports)
    assert not reruns
    record_figures(
        "outage-sqlite",
        {"runs": RUNS, "locked_seconds": OUTAGE_SECONDS, "repeated_executions": len(reruns)},
    )
