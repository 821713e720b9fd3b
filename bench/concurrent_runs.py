"""N research runs at once on one worker, against a local OpenAI-compatible model that answers after a set
latency: makespan beside the ideal, the worker's CPU and memory, and the lag of its event loop.

Each run plans 3 searches and writes a report through pydantic-ai's OpenAI chat model (the real SDK, over
HTTP to bench/_model_standin.py in its own process) with Tavily-shaped search answered at once: 8 model
requests a run, 4 of them one after another (plan, the searcher's tool call, its findings, the report),
so a run can take no less than 4 × the latency. The ideal makespan of N runs submitted together is that
times the waves the worker's concurrency makes of them (one wave when every run fits); the target is ≤1.5×
it. The worker runs in this process with
RESEARCH_WORKER_CONCURRENCY at its default (or `--concurrency`) and the `search` queue's limits lifted
above what N runs need (they protect a provider's rate limits, not the worker); `--defaults` keeps the
shipped search limits too. The event loop's lag is the overshoot of a 10 ms sleep on DBOS's loop, where
every workflow and agent runs, sampled all through the runs. CPU is this process's (worker and the one
thread that waits for the runs), RSS its peak.

The default (`make bench`): N=32 and 200, at 1 s and 10 s (about 8 minutes, most of it the 200 runs at
10 s, 7 waves of 32 at the default concurrency). `--quick`: N=32 at 1 s. `--case N,LATENCY` one case;
`--concurrency C` another RESEARCH_WORKER_CONCURRENCY (figures of bench/README.md's first round used 200:
every run at once).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from _common import Figure, console, quick, report
from pydantic import SecretStr

from research_agent.client import ResearchClient
from research_agent.runtime import worker
from research_agent.schema import Phase, ResearchOptions
from research_agent.settings import Settings, default_data_dir
from tests._ui_server import free_port

MODEL = "openai:standin-model"
SEARCHES = 3
SEQUENTIAL_CALLS = 4
"""Model requests one after another in a run: plan, the searcher's two, the report."""
TICKS = os.sysconf("SC_CLK_TCK")


@contextmanager
def model_standin(latency: float) -> Iterator[str]:
    """bench/_model_standin.py on a free port; yields its address."""
    port = free_port()
    process = subprocess.Popen(
        [
            *(sys.executable, str(Path(__file__).with_name("_model_standin.py")), "--port", str(port)),
            *("--latency", str(latency), "--searches", str(SEARCHES)),
        ],
        stdout=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.post(f"{url}/search", json={"query": "up?"}, timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the model stand-in did not start") from None
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def run_settings(root: Path, standin: str, runs: int, concurrency: int | None, defaults: bool) -> Settings:
    limits: dict[str, Any] = {}
    if not defaults:  # every search of every run may run at once
        limits = {"search_concurrency": runs * SEARCHES, "search_rate_limit": runs * SEARCHES * 10}
    if concurrency is not None:
        limits["worker_concurrency"] = concurrency
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        data_dir=root,
        index_dir=Path(os.environ.get("RESEARCH_INDEX_DIR", default_data_dir() / "indexes")),
        database_url=f"sqlite:///{root / 'runs.sqlite'}",
        openai_base_url=f"{standin}/v1",
        tavily_api_key=SecretStr("tvly-bench"),
        tavily_url=standin,
        log_level="ERROR",
        **limits,
    )


def options() -> ResearchOptions:
    return ResearchOptions(
        offline=False,
        planner_model=MODEL,
        search_model=MODEL,
        analyst_model=MODEL,
        search_backend="tavily",
        max_searches=SEARCHES,
        max_extra_searches=0,
        read_pages=0,
    )


def cpu_seconds() -> float:
    fields = Path("/proc/self/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def loop_lag(stop: threading.Event, samples: list[float]) -> None:
    """Sample the lag of DBOS's event loop (where workflows and agents run) until `stop` is set."""
    from dbos import _dbos

    instance = _dbos._dbos_global_instance
    assert instance is not None
    loop = instance._background_event_loop._loop
    assert loop is not None

    async def probe() -> None:
        while not stop.is_set():
            start = loop.time()
            await asyncio.sleep(0.01)
            samples.append(loop.time() - start - 0.01)

    asyncio.run_coroutine_threadsafe(probe(), loop)


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


def one_case(runs: int, latency: float, concurrency: int | None, defaults: bool) -> list[Figure]:
    """`runs` runs submitted together, the model answering after `latency` s: their figures."""
    with tempfile.TemporaryDirectory() as tmp, model_standin(latency) as standin:
        settings = run_settings(Path(tmp), standin, runs, concurrency, defaults)
        label = f"N={runs}, {latency:g} s, {settings.worker_concurrency} at once" + (
            ", shipped search limits" if defaults else ""
        )
        with worker(settings), ResearchClient(settings) as client:
            warm = client.submit("A warm-up question", options())  # imports, connections, queues
            assert client.wait(warm, timeout=120).phase is Phase.COMPLETED
            stop, lags = threading.Event(), list[float]()
            loop_lag(stop, lags)
            # Runs beyond the worker's concurrency wait for a slot: waves of `worker_concurrency` runs.
            ideal = -(-runs // settings.worker_concurrency) * SEQUENTIAL_CALLS * latency
            console.print(f"{label}: {runs} runs submitted (ideal makespan {ideal:g} s)…")
            cpu, start = cpu_seconds(), time.monotonic()
            run_ids = [client.submit(f"Question {n} for the load bench", options()) for n in range(runs)]
            pending = set(run_ids)
            while pending:  # one query for all the runs every 0.2 s, not a poll per run
                time.sleep(0.2)
                finished = {r.run_id for r in client.list_runs(limit=runs + 10) if r.phase.finished}
                pending -= finished
            makespan = time.monotonic() - start
            cpu = cpu_seconds() - cpu
            console.print(f"{label}: all ended after {makespan:.1f} s")
            stop.set()
            phases = [client.status(run_id).phase for run_id in run_ids]
        failed = sum(phase is not Phase.COMPLETED for phase in phases)
        if failed:
            console.print(f"[red]{label}: {failed} of {runs} runs did not complete[/]")
        return [
            Figure(
                f"{label}: makespan / ideal ({ideal:g} s)",
                "×",
                [makespan / ideal],
                target="≤1.5×",
                extra={"makespan": makespan, "runs": runs, "latency": latency, "failed": failed},
            ),
            Figure(f"{label}: worker CPU a run", "s", [cpu / runs]),
            Figure(f"{label}: worker CPU share over the makespan", "% of a core", [100 * cpu / makespan]),
            Figure(f"{label}: worker peak RSS", "MB", [peak_rss_mb()]),
            Figure(f"{label}: event-loop lag p99", "ms", [1000 * quantile(lags, 0.99)], target="≤100 ms"),
        ]


def main() -> None:
    concurrency = int(sys.argv[sys.argv.index("--concurrency") + 1]) if "--concurrency" in sys.argv else None
    cases = [(32, 1.0)] if quick() else [(32, 1.0), (32, 10.0), (200, 1.0), (200, 10.0)]
    if "--case" in sys.argv:  # --case N,LATENCY
        count, seconds = sys.argv[sys.argv.index("--case") + 1].split(",")
        cases = [(int(count), float(seconds))]
    figures: list[Figure] = []
    for runs, latency in cases:
        figures += one_case(runs, latency, concurrency, defaults="--defaults" in sys.argv)
    report("concurrent_runs", figures)


if __name__ == "__main__":
    main()
