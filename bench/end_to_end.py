"""An offline research with 5 searches and no pacing, end to end: in a warm worker, and as a cold command.

Warm: a worker already running in this process; the wall time from submit to the completed status, split
by phase using the run's own step records (planning, searching, analysing). Cold: `deep-research run
--offline` as a user types it (interpreter start, imports, index load, launch, run, exit), and, separately,
how much of that is only importing the command.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

from _common import Figure, bench_settings, quick, report, timed

from research_agent.client import ResearchClient
from research_agent.options import resolve_options
from research_agent.runtime import worker
from research_agent.schema import Phase, TimelineBar

QUESTION = "Describe the economy of Japan"  # the offline planner gives it 5 searches
EXAMPLE_SHAPE = "Compare the economies of Chile and Peru"  # 4 searches, like DBOS's example app


def phase_seconds(bars: list[TimelineBar], lane_prefix: str) -> float:
    spans = [
        (b.started_at, b.finished_at)
        for b in bars
        if b.kind != "workflow" and b.lane.startswith(lane_prefix) and b.finished_at is not None
    ]
    return (max(end for _, end in spans) - min(start for start, _ in spans)).total_seconds()


def warm(root: Path, trials: int) -> dict[str, list[float]]:
    settings = bench_settings(root, f"sqlite:///{root / 'warm.sqlite'}")
    samples: dict[str, list[float]] = {
        "total": [], "plan": [], "search": [], "analysis": [], "four": [], "workflows": [], "steps": []
    }  # fmt: skip
    with worker(settings), ResearchClient(settings) as client:
        options, _ = resolve_options(settings)
        client.wait(client.submit(QUESTION, options), poll_interval=0.01)  # warm-up: index, agents, pools
        for _ in range(trials):
            start = time.perf_counter()
            run_id = client.submit(EXAMPLE_SHAPE, options)
            final = client.wait(run_id, poll_interval=0.005)
            samples["four"].append(time.perf_counter() - start)
            assert final.phase is Phase.COMPLETED and len(final.searches) == 4, final
            rows = client._client.list_workflows(workflow_id_prefix=run_id, load_input=False)
            samples["workflows"].append(len(rows))
            samples["steps"].append(sum(len(client._client.list_workflow_steps(r.workflow_id)) for r in rows))
        for _ in range(trials):
            start = time.perf_counter()
            run_id = client.submit(QUESTION, options)
            final = client.wait(run_id, poll_interval=0.005)
            samples["total"].append(time.perf_counter() - start)
            assert final.phase is Phase.COMPLETED and len(final.searches) == 5, final
            bars = client.timeline(run_id)
            for lane in ("plan", "search", "analysis"):
                samples[lane].append(phase_seconds(bars, lane))
    return samples


def cold(root: Path, trials: int) -> tuple[list[float], list[float]]:
    env = {
        **os.environ,
        "RESEARCH_DATA_DIR": str(root),
        "RESEARCH_INDEX_DIR": str(bench_settings(root, "sqlite://").indexes),  # built once, as for a user
        "RESEARCH_DATABASE_URL": f"sqlite:///{root / 'cold.sqlite'}",
    }
    runs: list[float] = []
    imports: list[float] = []
    for i in range(trials):
        command = [sys.executable, "-m", "research_agent", "run", QUESTION, "--offline", "--id", f"cold-{i}"]
        runs.append(timed(partial(subprocess.run, command, env=env, capture_output=True, check=True)))
        imports.append(
            timed(
                partial(
                    subprocess.run, [sys.executable, "-c", "import research_agent.cli"], env=env, check=True
                )
            )
        )
    return runs, imports


def main() -> None:
    trials = 3 if quick() else 10
    with tempfile.TemporaryDirectory() as tmp:
        samples = warm(Path(tmp), trials)
        runs, imports = cold(Path(tmp), 2 if quick() else 5)
    report(
        "end_to_end",
        [
            Figure("warm: submit → completed", "s", samples["total"], target="≤0.5 s"),
            Figure("warm: planning", "s", samples["plan"]),
            Figure("warm: 5 searches", "s", samples["search"]),
            Figure("warm: analysis", "s", samples["analysis"]),
            Figure("warm: 4 searches (the DBOS example's shape)", "s", samples["four"], target="≤0.27 s"),
            Figure("… its workflows", "", samples["workflows"]),
            Figure("… its recorded steps", "", samples["steps"]),
            Figure("cold: deep-research run --offline", "s", runs, target="≤3 s"),
            Figure("cold: of which importing the CLI", "s", imports),
        ],
    )


if __name__ == "__main__":
    main()
