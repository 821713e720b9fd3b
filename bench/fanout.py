"""Start and join N child workflows that each run one instant "search" step (N = 10 and 100).

Two ways, as the engine could do it: children started directly (`DBOS.start_workflow_async`), and children
enqueued on the `search` queue (what `deep_research` does, so limits hold across workers; its limits are
raised here so the queue's mechanics, not its rate limit, are measured).

Beside each, the same workflows on raw DBOS 3.4 in a process of its own (`--raw`): DBOS's defaults on the
same SQLite set-up (WAL, synchronous=NORMAL), the queue polled every 50 ms like ours, results awaited with
DBOS's default `get_result`.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import Figure, bench_settings, quick, raw_dbos_launched, report
from dbos import DBOS, SetWorkflowID

from research_agent.naming import SEARCH_QUEUE

RAW = "--raw" in sys.argv
RESULT_POLL_INTERVAL: float | None = None  # DBOS's default for raw DBOS; ours is set in main()


@DBOS.step()
async def instant_search(query: str) -> list[str]:
    return [f"result for {query}"]


@DBOS.workflow()
async def child_search(query: str) -> int:
    return len(await instant_search(query))


@DBOS.workflow()
async def fan_out(n: int, queued: bool) -> int:
    handles = []
    parent = DBOS.workflow_id
    for i in range(n):
        with SetWorkflowID(f"{parent}-search-{i}"):
            if queued:
                handles.append(await DBOS.enqueue_workflow_async(SEARCH_QUEUE, child_search, f"q{i}"))
            else:
                handles.append(await DBOS.start_workflow_async(child_search, f"q{i}"))
    if RESULT_POLL_INTERVAL is None:
        return sum([await handle.get_result() for handle in handles])
    return sum([await handle.get_result(polling_interval_sec=RESULT_POLL_INTERVAL) for handle in handles])


async def _measure(n: int, queued: bool, trials: int) -> list[float]:
    loop = asyncio.get_running_loop()
    samples = []
    for _ in range(trials):
        start = loop.time()
        assert await fan_out(n, queued) == n
        samples.append(loop.time() - start)
    return samples


def raw_dbos(root: Path, trials: int) -> None:
    """The measurement on raw DBOS, printed as JSON for the parent process."""
    from dbos import DBOS

    with raw_dbos_launched(root, "raw-dbos"):
        DBOS.register_queue(SEARCH_QUEUE, global_concurrency=1000, polling_interval_sec=0.05)
        samples = _run_all(trials)
    print(json.dumps(samples))


def _run_all(trials: int) -> dict[str, list[float]]:
    asyncio.run(_measure(5, False, 1))  # warm-up
    samples = {}
    for n in (10, 100):
        samples[f"{n} direct"] = asyncio.run(_measure(n, False, trials))
        samples[f"{n} queued"] = asyncio.run(_measure(n, True, trials))
    return samples


def main() -> None:
    global RESULT_POLL_INTERVAL
    trials = 3 if quick() else 7
    figures = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        if RAW:
            raw_dbos(root, trials)
            return
        from research_agent.runtime import worker
        from research_agent.workflows import RESULT_POLL_INTERVAL as ours

        RESULT_POLL_INTERVAL = ours
        settings = bench_settings(
            root, f"sqlite:///{root / 'fanout.sqlite'}", search_concurrency=1000, search_rate_limit=100000
        )
        with worker(settings):
            samples = _run_all(trials)
        # The local trace store is on by default, so DBOS makes a span per workflow and step; raw DBOS
        # makes none. The same again without them shows what tracing costs here.
        with worker(settings.model_copy(update={"trace_store": False})):
            plain = {
                f"100 {way}": asyncio.run(_measure(100, way == "queued", trials))
                for way in ("direct", "queued")
            }
        done = subprocess.run(
            [sys.executable, __file__, "--raw", *sys.argv[1:]], capture_output=True, text=True, check=True
        )
        raw: dict[str, list[float]] = json.loads(done.stdout.strip().splitlines()[-1])
    for n in (10, 100):
        for way, label in (("direct", "started directly"), ("queued", "via the search queue")):
            key = f"{n} {way}"
            target = "≤1.2× raw DBOS" if n == 100 else ""
            figures.append(Figure(f"N={n}, {label}", "s", samples[key], target))
            figures.append(Figure(f"N={n}, {label}, raw DBOS", "s", raw[key], "baseline"))
            ratios = [a / b for a, b in zip(sorted(samples[key]), sorted(raw[key]), strict=False)]
            figures.append(Figure(f"N={n}, {label}, ours / raw", "×", ratios, target and "≤1.2×"))
            if key in plain:
                ratios = [a / b for a, b in zip(sorted(plain[key]), sorted(raw[key]), strict=False)]
                figures.append(Figure(f"N={n}, {label}, no spans, ours / raw", "×", ratios, "≤1.2×"))
    report("fanout", figures)


if __name__ == "__main__":
    main()
