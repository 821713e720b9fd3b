"""Scale-out on Postgres: several workers, one rate-limited `search` queue, dead-worker recovery, batches.

Every test gets its own fresh Postgres database and real `deep-research worker` subprocesses with their own
executor ids. Limits are checked from DBOS's own records of when each search workflow was dequeued and
when it finished; "nothing ran twice" from the execution log, where every real model request and search
writes a line when it starts and one when it ends.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from research_agent.client import ResearchClient
from research_agent.schema import Phase

from ._process import (
    QUESTIONS,
    cli,
    kill,
    kill_all,
    poll,
    read_executions,
    repeated_executions,
    settings_from_env,
    start_worker,
)

pytestmark = [pytest.mark.postgres, pytest.mark.crash]
ARTIFACTS = Path(__file__).parent / "artifacts"
SEARCH_CONCURRENCY = 3
SEARCH_RATE = 5  # starts per SEARCH_PERIOD seconds
SEARCH_PERIOD = 1.0


@pytest.fixture
def scale_env(isolated_env: dict[str, str], tmp_path: Path, postgres_url: str) -> dict[str, str]:
    return {
        **isolated_env,
        "RESEARCH_DATABASE_URL": postgres_url,
        "RESEARCH_OFFLINE": "true",
        "RESEARCH_OFFLINE_DELAY": "0.15",
        "RESEARCH_MAX_SEARCHES": "3",
        "RESEARCH_WORKER_CONCURRENCY": "2",
        "RESEARCH_SEARCH_CONCURRENCY": str(SEARCH_CONCURRENCY),
        "RESEARCH_SEARCH_RATE_LIMIT": str(SEARCH_RATE),
        "RESEARCH_SEARCH_RATE_PERIOD": str(SEARCH_PERIOD),
        "RESEARCH_EXECUTION_LOG": str(tmp_path / "executions.jsonl"),
    }


@pytest.fixture
def workers() -> Iterator[dict[str, subprocess.Popen[str]]]:
    """Worker subprocesses by name (a restarted one replaces its name's); any still alive are killed afterwards."""
    started: dict[str, subprocess.Popen[str]] = {}
    yield started
    kill_all(started.values())


def _assert_nothing_ran_twice(executions: list[dict[str, object]]) -> None:
    repeated = repeated_executions(executions)
    assert not repeated, f"executed more than once: {repeated}"


def _search_starts(client: ResearchClient) -> list[float]:
    """When each search workflow was dequeued (DBOS's stamp, the clock its rate limiter counts with)."""
    rows = client._client.list_workflows(name="run_search", load_input=False, load_output=False)
    assert rows and all(row.status == "SUCCESS" and row.queue_name == "search" for row in rows)
    return [row.dequeued_at / 1000 for row in rows]  # type: ignore[operator]


def _search_intervals(executions: list[dict[str, object]]) -> list[tuple[float, float]]:
    """From the first real call of each search workflow to the end of its last one.

    Real work only: DBOS's own dequeue stamp is the database's transaction start time, which can fall a
    few milliseconds before the claim commits, so intervals built from it overlap where no work did.
    """
    spans: dict[str, list[float]] = {}
    for e in executions:
        if "-search-" in str(e["workflow_id"]) or "-extra-" in str(e["workflow_id"]):
            spans.setdefault(str(e["workflow_id"]), []).append(float(e["at"]))  # type: ignore[arg-type]
    return [(min(times), max(times)) for times in spans.values()]


def _peak_concurrency(intervals: list[tuple[float, float]]) -> int:
    edges = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    running = peak = 0
    for _, change in edges:  # an end sorts before a start at the same instant
        running += change
        peak = max(peak, running)
    return peak


def _peak_rate(starts: list[float], period: float) -> int:
    starts = sorted(starts)
    return max(sum(1 for s in starts[i:] if s < start + period) for i, start in enumerate(starts))


def _record(name: str, figures: dict[str, object]) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"scale-{name}.json").write_text(json.dumps(figures, indent=2))
    print(name, figures)


def test_three_workers_share_the_search_limits(scale_env, tmp_path, workers):
    for name in ("w1", "w2", "w3"):
        workers[name] = start_worker(scale_env, tmp_path, executor_id=name)
    batch = tmp_path / "questions.txt"
    batch.write_text("\n".join(QUESTIONS) + "\n")

    started = time.monotonic()
    queued = cli(["submit", "--file", str(batch), "--no-wait"], scale_env, tmp_path)
    assert queued.returncode == 0, queued.stderr
    assert "10 queued, 0 already submitted" in queued.stderr
    # The same file again starts nothing, and waits (with a progress bar) until the first batch is done.
    again = cli(["submit", "--file", str(batch)], scale_env, tmp_path)
    elapsed = time.monotonic() - started
    assert again.returncode == 0, again.stderr
    assert "0 queued, 10 already submitted" in again.stderr and "10 of 10 runs completed" in again.stderr
    run_ids = queued.stdout.split()

    with ResearchClient(settings_from_env(scale_env)) as client:
        assert {s.run_id for s in client.list_runs(limit=50)} == set(run_ids)
        assert all(client.status(r).phase == Phase.COMPLETED for r in run_ids)
        runs = client._client.list_workflows(workflow_ids=run_ids, load_input=False, load_output=False)
        starts = _search_starts(client)
    executions = read_executions(scale_env)
    intervals = _search_intervals(executions)
    by_executor = Counter(row.executor_id for row in runs)
    assert len(by_executor) >= 2, f"the runs should be spread over the workers: {by_executor}"
    assert len(intervals) == len(starts)
    peak = _peak_concurrency(intervals)
    rate = _peak_rate(starts, SEARCH_PERIOD)
    assert peak <= SEARCH_CONCURRENCY, f"{peak} searches ran at once; the limit is {SEARCH_CONCURRENCY}"
    assert rate <= SEARCH_RATE, (
        f"{rate} searches started within {SEARCH_PERIOD} s; the limit is {SEARCH_RATE}"
    )
    _assert_nothing_ran_twice(executions)
    _record(
        "three-workers",
        {
            "runs_completed": len(run_ids),
            "searches": len(intervals),
            "runs_per_executor": dict(by_executor),
            "peak_concurrent_searches": peak,
            "search_concurrency_limit": SEARCH_CONCURRENCY,
            "peak_search_starts_per_period": rate,
            "search_rate_limit": f"{SEARCH_RATE} per {SEARCH_PERIOD} s",
            "wall_seconds": round(elapsed, 1),
        },
    )


def _in_flight(executions: list[dict[str, object]], pid: int) -> bool:
    """Whether the worker `pid` is inside a real model request or search right now (started, not ended)."""
    open_calls: Counter[tuple[object, object]] = Counter()
    for e in executions:
        if e["pid"] == pid:
            open_calls[(e["workflow_id"], e["step_id"])] += 1 if e["stage"] == "start" else -1
    return any(n > 0 for n in open_calls.values())


@pytest.mark.parametrize("how", ["recover", "restart"])
def test_a_dead_workers_runs_complete(scale_env, tmp_path, workers, how):
    settings = settings_from_env(scale_env)
    workers["doomed"] = start_worker(scale_env, tmp_path, executor_id="doomed")
    workers["survivor"] = start_worker(scale_env, tmp_path, executor_id="survivor")
    doomed = workers["doomed"]
    with ResearchClient(settings) as client:
        from research_agent.options import resolve_options

        options, _ = resolve_options(settings)
        run_ids = [client.submit(q, options, run_id=f"run-{i}") for i, q in enumerate(QUESTIONS[:4])]
        # Kill the worker while it holds runs and is inside a real call, never between a call and its
        # checkpoint (a step cut off there is unfinished and rightly runs again).
        held = poll(
            lambda: client._client.list_workflows(
                executor_id="doomed", status="PENDING", name="deep_research", load_input=False
            ),
            timeout=120,
            what="the doomed worker to hold a run and be inside a real call",
            holds=lambda rows: bool(rows) and _in_flight(read_executions(scale_env), doomed.pid),
            interval=0.02,
        )
        kill(doomed)
        held_ids = {row.workflow_id for row in held}

        # The id of a live worker can be neither recovered nor started twice.
        refused = cli(["recover", "survivor"], scale_env, tmp_path)
        assert refused.returncode == 2 and "is alive" in refused.stderr, refused.stderr
        twin = cli(["worker", "--executor-id", "survivor"], scale_env, tmp_path, timeout=60)
        assert twin.returncode == 2 and "already running" in twin.stderr, twin.stderr

        before = time.time()
        if how == "recover":
            # What `deep-research recover doomed` does, timed without the command's start-up.
            result = client.recover("doomed")
            recover_seconds = time.time() - before
            assert held_ids <= set(result.runs) and result.workflows >= len(held_ids)
            again = cli(["recover", "doomed"], scale_env, tmp_path)
            assert again.returncode == 0 and "no unfinished workflows" in again.stderr, again.stderr
        else:
            workers["doomed"] = start_worker(scale_env, tmp_path, executor_id="doomed")
            recover_seconds = time.time() - before
        finals = [client.wait(run_id, timeout=180) for run_id in run_ids]
        assert [f.phase for f in finals] == [Phase.COMPLETED] * len(run_ids)
        listed = {e.executor_id: e for e in client.executors()}
        redequeued = client._client.list_workflows(workflow_ids=list(held_ids), load_input=False)
    # Recovered workflows now belong to the worker that resumed them.
    assert ("doomed" not in listed or not listed["doomed"].pending_workflows) and listed["survivor"].alive
    executions = read_executions(scale_env)
    _assert_nothing_ran_twice(executions)
    resumed = [
        e["at"]
        for e in executions
        if e["at"] > before and any(str(e["workflow_id"]).startswith(run_id) for run_id in held_ids)
    ]
    _record(
        f"dead-worker-{how}",
        {
            "runs_completed": len(finals),
            "runs_held_by_dead_worker": len(held_ids),
            "seconds_to_recover" if how == "recover" else "seconds_to_restart": round(recover_seconds, 2),
            "seconds_to_runs_resumed": round(min(r.dequeued_at or 0 for r in redequeued) / 1000 - before, 2),
            "seconds_to_first_resumed_call": round(min(resumed) - before, 2) if resumed else None,
        },
    )


def test_a_user_without_create_rights_gets_the_grant_to_ask_for(postgres_url, isolated_env, tmp_path):
    import uuid

    import psycopg

    role = f"research_reader_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f'CREATE ROLE "{role}" LOGIN')
    try:
        url = postgres_url.replace("postgres@", f"{role}:hunter2@", 1)
        result = cli(["worker"], {**isolated_env, "RESEARCH_DATABASE_URL": url}, tmp_path)
        assert result.returncode == 2 and "Traceback" not in result.stderr
        assert f"user '{role}' cannot create DBOS's tables" in result.stderr
        assert "GRANT CREATE ON DATABASE" in result.stderr and "hunter2" not in result.stderr
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute(f'DROP ROLE "{role}"')
