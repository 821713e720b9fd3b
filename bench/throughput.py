"""Completed offline runs per second on one worker, with 1, 4 and 16 concurrent submitters.

One worker runs in this process with the default settings a user gets (RESEARCH_WORKER_CONCURRENCY runs at
once, searches through the `search` queue), offline models with no pacing. Each submitter thread submits
runs and waits for each to complete; throughput is completed runs over wall time.
"""

from __future__ import annotations

import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from _common import Figure, bench_settings, quick, report

from research_agent.client import ResearchClient
from research_agent.options import resolve_options
from research_agent.runtime import worker
from research_agent.schema import Phase

QUESTIONS = [
    "Describe the economy of Japan",
    "Compare the economies of Chile and Peru",
    "What languages are spoken in Switzerland",
]


def main() -> None:
    runs_per_submitter_total = 16 if quick() else 48
    trials = 1 if quick() else 3
    figures = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        settings = bench_settings(root, f"sqlite:///{root / 'throughput.sqlite'}")
        with worker(settings), ResearchClient(settings) as client:
            options, _ = resolve_options(settings)
            client.wait(client.submit(QUESTIONS[0], options), poll_interval=0.01)  # warm-up

            def submit_and_wait(i: int) -> Phase:
                run_id = client.submit(QUESTIONS[i % len(QUESTIONS)], options)
                return client.wait(run_id).phase  # polled every 0.2 s, as the CLI does

            for submitters in (1, 4, 16):
                samples = []
                for _ in range(trials):
                    total = (
                        max(runs_per_submitter_total // 4, submitters * 2)
                        if submitters == 1
                        else runs_per_submitter_total
                    )
                    start = time.perf_counter()
                    with ThreadPoolExecutor(submitters) as pool:
                        phases = list(pool.map(submit_and_wait, range(total)))
                    samples.append(total / (time.perf_counter() - start))
                    assert phases == [Phase.COMPLETED] * total
                figures.append(
                    Figure(
                        f"{submitters} submitter{'s' if submitters > 1 else ''}",
                        "runs/s",
                        samples,
                        target="≥20 runs/s",
                    )
                )
    report("throughput", figures)


if __name__ == "__main__":
    main()
