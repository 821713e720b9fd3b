"""Throughput of one worker against three on one Postgres database, with a model that answers after a set
latency (bench/_model_standin.py, as in concurrent_runs.py).

Each worker is a `deep-research worker --executor-id wN` process with RESEARCH_WORKER_CONCURRENCY set low
(`CONCURRENCY` runs at once), so one worker is the bottleneck, as a fleet's workers are when each is sized
to its provider limits or its machine. The same batch of runs is submitted to one worker, then to three
on a fresh database; throughput is completed runs over the time from the first submit to the last
completion, and the figure is the ratio (target ≥2.5×; 3× is perfect). The `search` queue's global limits
are lifted above what the batch needs. On this 2-core machine the three workers share two cores with the
stand-in and the bench, so the load is chosen to stay latency-bound (about half a core in all).
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from _common import Figure, console, postgres_database, report
from concurrent_runs import SEARCHES, SEQUENTIAL_CALLS, model_standin, options

from research_agent.client import ResearchClient
from research_agent.database import check_database
from research_agent.settings import default_data_dir
from tests._process import poll, settings_from_env, start_worker, stop, worker_output

CONCURRENCY = 2
LATENCY = 4.0


def batch_seconds(database_url: str, standin: str, workers: int, runs: int, root: Path) -> float:
    """Seconds `workers` workers take to complete `runs` runs submitted together."""
    env = {
        "RESEARCH_ENV_FILE": os.devnull,
        "RESEARCH_DATA_DIR": str(root / "data"),
        "RESEARCH_INDEX_DIR": os.environ.get("RESEARCH_INDEX_DIR", str(default_data_dir() / "indexes")),
        "RESEARCH_DATABASE_URL": database_url,
        "RESEARCH_WORKER_CONCURRENCY": str(CONCURRENCY),
        "RESEARCH_SEARCH_CONCURRENCY": str(runs * SEARCHES),
        "RESEARCH_SEARCH_RATE_LIMIT": str(runs * SEARCHES * 10),
        "RESEARCH_TAVILY_URL": standin,
        "TAVILY_API_KEY": "tvly-bench",
        "OPENAI_BASE_URL": f"{standin}/v1",
        "RESEARCH_LOG_LEVEL": "ERROR",
    }
    root.mkdir(parents=True, exist_ok=True)
    settings = settings_from_env(env)
    check_database(settings)
    processes = [start_worker(env, root, timeout=120, executor_id=f"w{n + 1}") for n in range(workers)]
    try:
        # Steady state: a new worker loads the search indexes first (seconds of CPU each, three at once).
        poll(lambda: all("search indexes ready" in worker_output(p) for p in processes), 120, "the indexes")
        with ResearchClient(settings) as client:
            start = time.monotonic()
            run_ids = [client.submit(f"Question {n} for the fleet bench", options()) for n in range(runs)]
            pending = set(run_ids)
            while pending:
                time.sleep(0.2)
                pending -= {r.run_id for r in client.list_runs(limit=runs + 10) if r.phase.finished}
            elapsed = time.monotonic() - start
            failed = [run_id for run_id in run_ids if client.status(run_id).phase.value != "COMPLETED"]
            if failed:
                console.print(f"[red]{len(failed)} of {runs} runs did not complete[/]")
            return elapsed
    finally:
        for process in processes:
            stop(process, timeout=30)


def main() -> None:
    runs = 6 * CONCURRENCY  # two waves on three workers, six on one
    rates: dict[int, float] = {}
    with tempfile.TemporaryDirectory() as tmp, model_standin(LATENCY) as standin:
        for workers in (1, 3):
            with postgres_database() as url:
                if url is None:
                    return
                seconds = batch_seconds(url, standin, workers, runs, Path(tmp) / f"w{workers}")
                rates[workers] = runs / seconds
    ideal = CONCURRENCY / (SEQUENTIAL_CALLS * LATENCY)
    report(
        "fleet_scaling",
        [
            Figure(
                f"1 worker: runs/s ({runs} runs, {CONCURRENCY} at once a worker, model {LATENCY:g} s)",
                "runs/s",
                [rates[1]],
                target=f"ideal {ideal:.2g}",
            ),
            Figure("3 workers: runs/s", "runs/s", [rates[3]], target=f"ideal {3 * ideal:.2g}"),
            Figure("throughput 3 workers / 1 worker", "×", [rates[3] / rates[1]], target="≥2.5×"),
        ],
    )


if __name__ == "__main__":
    main()
