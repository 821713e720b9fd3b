"""Per-step cost of a no-op DBOS step: SQLite (rollback journal and WAL) and Postgres.

A workflow runs N no-op steps in sequence; the cost per step is the workflow's time divided by N. Each step
writes its checkpoint before the next starts, so this is the price durability puts on every model request
and search.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from _common import Figure, bench_settings, launched, postgres_database, quick, report, timed
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


def main() -> None:
    trials = 3 if quick() else 7
    figures = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        figures.append(
            Figure(
                "SQLite, rollback journal",
                "ms/step",
                per_step_ms(f"sqlite:///{root / 'journal.sqlite'}", root, wal=False, trials=trials),
            )
        )
        figures.append(
            Figure(
                "SQLite, WAL",
                "ms/step",
                per_step_ms(f"sqlite:///{root / 'wal.sqlite'}", root, wal=True, trials=trials),
                target="≤1.0 ms",
            )
        )
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
