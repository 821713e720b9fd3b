"""From `DBOS.set_event` in a worker to a client that polls for it, as the CLI and the UI do (p50, p95).

A workflow publishes a numbered event every 50 ms, stamped with the time it was written; a
`ResearchClient`-style poller (DBOSClient.get_event, timeout 0) reads it at the CLI's interval (0.2 s) and
at the UI's (1 s). Latency is the time between the stamp and the first read that sees the new value.
"""

from __future__ import annotations

import asyncio
import tempfile
import threading
import time
from pathlib import Path

from _common import Figure, bench_settings, quick, report
from dbos import DBOS, DBOSClient, SetWorkflowID

from research_agent.database import normalized_database_url
from research_agent.runtime import worker

EVENT = "tick"


@DBOS.step()
async def now() -> float:
    return time.time()


@DBOS.workflow()
async def ticker(count: int, gap: float) -> int:
    for i in range(count):
        await DBOS.set_event_async(EVENT, {"n": i, "at": await now()})
        await DBOS.sleep_async(gap)
    return count


def poll(client: DBOSClient, workflow_id: str, interval: float, count: int) -> list[float]:
    latencies: list[float] = []
    last = -1
    while last < count - 1:
        value = client.get_event(workflow_id, EVENT, timeout_seconds=0)
        if value is not None and value["n"] != last:
            latencies.append(time.time() - value["at"])
            last = value["n"]
        time.sleep(interval)
    return latencies


def main() -> None:
    count = 20 if quick() else 60
    figures = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        settings = bench_settings(root, f"sqlite:///{root / 'events.sqlite'}")
        with worker(settings):
            client = DBOSClient(system_database_url=normalized_database_url(settings))
            for who, interval, gap in (("CLI", 0.2, 0.25), ("UI", 1.0, 1.05)):
                n = count if who == "CLI" else max(5, count // 4)
                workflow_id = f"ticker-{who}"

                def publish(n: int = n, gap: float = gap, workflow_id: str = workflow_id) -> None:
                    with SetWorkflowID(workflow_id):
                        asyncio.run(ticker(n, gap))

                publisher = threading.Thread(target=publish)
                publisher.start()
                latencies = poll(client, workflow_id, interval, n)
                publisher.join()
                f = Figure(f"{who} poller, every {interval:g} s: p50", "s", latencies)
                figures.append(f)
                figures.append(
                    Figure(
                        f"{who} poller, every {interval:g} s: p95",
                        "s",
                        [f.quantile(0.95)],
                        target="≤1.2 s" if who == "UI" else "",
                    )
                )
            client.destroy()
    report("event_latency", figures)


if __name__ == "__main__":
    main()
