"""Per-step cost of a no-op DBOS step: SQLite (rollback journal and WAL) and Postgres.

A workflow runs N no-op steps in sequence; the cost per step is the workflow's time divided by N. Each step
writes its checkpoint before the next starts, so this is the price durability puts on every model request
and search.

Beside ours on SQLite WAL, the same workflow on raw DBOS 3.4 in a process of its own (`--raw`): DBOS's
defaults on the same storage (WAL, synchronous=NORMAL), no configuration of ours; the ratio is what our
configuration adds to a step.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import (
    Figure,
    bench_settings,
    launched,
    postgres_database,
    quick,
    raw_dbos_launched,
    report,
    timed,
)
from dbos import DBOS

STEPS = 200


@DBOS.step()
def noop_step(i: int) -> int:
    return i


@DBOS.workflow()
def many_steps(n: int) -> int:
    for i in range(n):
        noop_step(i)
    return n


def per_step_ms(database_url: str, root: Path, *, wal: bool, trials: int) -> list[float]:
    with launched(bench_settings(root, database_url), wal=wal):
        many_steps(10)  # warm-up: tables, pools, caches
        return [timed(lambda: many_steps(STEPS)) / STEPS * 1000 for _ in range(trials)]


def raw_dbos(root: Path, trials: int) -> None:
    """The WAL measurement on raw DBOS, printed as JSON for the parent process."""
    with raw_dbos_launched(root, "raw-dbos"):
        many_steps(10)
        samples = [timed(lambda: many_steps(STEPS)) / STEPS * 1000 for _ in range(trials)]
    print(json.dumps(samples))


def main() -> None:
    trials = 3 if quick() else 7
    figures = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        if "--raw" in sys.argv:
            raw_dbos(root, trials)
            return
        figures.append(
            Figure(
                "SQLite, rollback journal",
                "ms/step",
                per_step_ms(f"sqlite:///{root / 'journal.sqlite'}", root, wal=False, trials=trials),
            )
        )
        ours = per_step_ms(f"sqlite:///{root / 'wal.sqlite'}", root, wal=True, trials=trials)
        figures.append(Figure("SQLite, WAL", "ms/step", ours, target="≤1.0 ms"))
        done = subprocess.run(
            [sys.executable, __file__, "--raw", *sys.argv[1:]], capture_output=True, text=True, check=True
        )
        raw: list[float] = json.loads(done.stdout.strip().splitlines()[-1])
        figures.append(Figure("SQLite, WAL, raw DBOS", "ms/step", raw, target="baseline"))
        ratios = [a / b for a, b in zip(sorted(ours), sorted(raw), strict=False)]
        figures.append(Figure("SQLite, WAL, ours / raw DBOS", "×", ratios))
        with postgres_database() as url:
            if url:
                figures.append(
                    Figure(
                        "Postgres",
                        "ms/step",
                        per_step_ms(url, root, wal=True, trials=trials),
                        target="≤2.5 ms",
                    )
                )
    report("step_overhead", figures)


if __name__ == "__main__":
    main()
