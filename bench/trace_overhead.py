"""What keeping a run's spans costs: the warm offline run with the local trace store on and off.

Three set-ups, each in a worker process of its own (tracing is configured once per process): `off` (no
destination: no spans are made at all, the default before the trace store), `spans` (spans made and
scrubbed but kept nowhere, as with a Logfire token whose exporter costs nothing) and `store` (the default:
spans kept in the local store). Each measures the 4-search question of end_to_end.py from submit to
completed, and the worker process's CPU time per run (client polling included, the same in all three);
the set-ups take turns over several rounds so the machine's drift falls on all of them. The
store's figures per run: spans kept and the bytes their text takes.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import Figure, bench_settings, quick, report

QUESTION = "Compare the economies of Chile and Peru"
MODES = {
    "off": {"trace_store": False},
    "spans": {"trace_store": False, "tracing": True},
    "store": {},
}


def child(mode: str, trials: int, root: Path) -> None:
    """Run `trials` warm runs in a worker set up as `mode`; print one JSON line of figures."""
    from research_agent.client import ResearchClient
    from research_agent.options import resolve_options
    from research_agent.runtime import worker
    from research_agent.schema import Phase
    from research_agent.trace_store import TraceStore

    settings = bench_settings(root, f"sqlite:///{root / f'{mode}.sqlite'}", **MODES[mode])
    seconds: list[float] = []
    run_ids: list[str] = []
    with worker(settings), ResearchClient(settings) as client:
        options, _ = resolve_options(settings)
        for _ in range(2):  # warm-up: index, agents, pools
            client.wait(client.submit(QUESTION, options), poll_interval=0.01)
        cpu = time.process_time()
        for _ in range(trials):
            start = time.perf_counter()
            run_id = client.submit(QUESTION, options)
            final = client.wait(run_id, poll_interval=0.005)
            seconds.append(time.perf_counter() - start)
            assert final.phase is Phase.COMPLETED, final
            run_ids.append(run_id)
        cpu_per_run = (time.process_time() - cpu) / trials
    store = TraceStore(settings)
    spans = [store.span_count(run_id) for run_id in run_ids]
    sizes = [store.run_bytes(run_id) for run_id in run_ids]
    print(json.dumps({"seconds": seconds, "cpu": cpu_per_run, "spans": spans, "bytes": sizes}))


def main() -> None:
    rounds, trials = (1, 5) if quick() else (3, 12)
    samples: dict[str, list[float]] = {mode: [] for mode in MODES}
    cpu: dict[str, list[float]] = {mode: [] for mode in MODES}
    spans: list[float] = []
    sizes: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        for round_number in range(rounds):
            order = list(MODES) if round_number % 2 == 0 else list(reversed(MODES))
            for mode in order:
                root = Path(tmp) / f"{mode}-{round_number}"
                root.mkdir()
                done = subprocess.run(
                    [sys.executable, __file__, "--child", mode, str(trials), str(root)],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                figures = json.loads(done.stdout.strip().splitlines()[-1])
                samples[mode] += figures["seconds"]
                cpu[mode].append(figures["cpu"])
                if mode == "store":
                    spans += figures["spans"]
                    sizes += figures["bytes"]
    off, store = Figure("", "s", samples["off"]), Figure("", "s", samples["store"])
    report(
        "trace_overhead",
        [
            Figure("warm run, no spans (store off, no destination)", "s", samples["off"]),
            Figure("warm run, spans made, kept nowhere", "s", samples["spans"]),
            Figure("warm run, spans kept in the local store", "s", samples["store"], target="≤5 % over off"),
            Figure(
                "store / off (medians)",
                "%",
                [100 * (store.median / off.median - 1)],
                target="≤5 %",
            ),
            Figure("CPU per run, no spans", "s", cpu["off"]),
            Figure("CPU per run, spans kept nowhere", "s", cpu["spans"]),
            Figure("CPU per run, spans in the store", "s", cpu["store"]),
            Figure("spans kept per run", "", spans),
            Figure("bytes kept per run", "B", sizes),
        ],
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2], int(sys.argv[3]), Path(sys.argv[4]))
    else:
        main()
