"""Start and join N child workflows that each run one instant "search" step (N = 10 and 100).

Two ways, as the engine could do it: children started directly (`DBOS.start_workflow_async`), and children
enqueued on the `search` queue (what `deep_research` does, so limits hold across workers; its limits are
raised here so the queue's mechanics, not its rate limit, are measured).
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from _common import Figure, bench_settings, quick, report
from dbos import DBOS, SetWorkflowID

from research_agent.naming import SEARCH_QUEUE
from research_agent.runtime import worker
from research_agent.workflows import RESULT_POLL_INTERVAL


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
    return sum([await handle.get_result(polling_interval_sec=RESULT_POLL_INTERVAL) for handle in handles])


async def _measure(n: int, queued: bool, trials: int) -> list[float]:
    loop = asyncio.get_running_loop()
    samples = []
    for _ in range(trials):
        start = loop.time()
        assert await fan_out(n, queued) == n
        samples.append(loop.time() - start)
    return samples


def main() -> None:
    trials = 3 if quick() else 7
    figures = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        settings = bench_settings(
            root, f"sqlite:///{root / 'fanout.sqlite'}", search_concurrency=1000, search_rate_limit=100000
        )
        with worker(settings):
            asyncio.run(_measure(5, False, 1))  # warm-up
            for n in (10, 100):
                target = "≤0.5 s" if n == 100 else ""
                figures.append(
                    Figure(f"N={n}, started directly", "s", asyncio.run(_measure(n, False, trials)), target)
                )
                figures.append(
                    Figure(
                        f"N={n}, via the search queue", "s", asyncio.run(_measure(n, True, trials)), target
                    )
                )
    report("fanout", figures)


if __name__ == "__main__":
    main()
