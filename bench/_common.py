"""What every benchmark script shares: databases to run on, timing statistics, the table and the log.

Each script measures with repeated trials, prints a small table (median, min, max), and appends one JSON
line per figure to `bench/results.jsonl` (git-ignored) with the machine it ran on, so runs can be compared.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

# A script here (run as `python bench/x.py`) finds `tests` on sys.path through the editable install.
from tests._postgres import PostgresUnavailable, throwaway_database

if TYPE_CHECKING:  # research_agent is imported inside the functions that use it, as below
    from research_agent.settings import Settings

BENCH_DIR = Path(__file__).resolve().parent
RESULTS = BENCH_DIR / "results.jsonl"
POSTGRES_ADMIN_URL = os.environ.get(
    "RESEARCH_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
console = Console(highlight=False)


@dataclass
class Figure:
    """One measured quantity over repeated trials, with the target it is held to (if any)."""

    name: str
    unit: str
    samples: list[float]
    target: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    def quantile(self, q: float) -> float:
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(terse=True),
        "load_1m": round(os.getloadavg()[0], 2),
    }


def report(script: str, figures: list[Figure]) -> None:
    """Print the figures as a table and append them to bench/results.jsonl."""
    table = Table(title=script, title_justify="left")
    for column in ("figure", "median", "min", "max", "trials", "target"):
        table.add_column(column, justify="left" if column in ("figure", "target") else "right")
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    with RESULTS.open("a") as log:
        for f in figures:
            table.add_row(
                f.name,
                f"{f.median:.3g} {f.unit}",
                f"{min(f.samples):.3g}",
                f"{max(f.samples):.3g}",
                str(len(f.samples)),
                f.target,
            )
            line = {
                "at": stamp,
                "script": script,
                "figure": f.name,
                "unit": f.unit,
                "median": f.median,
                "min": min(f.samples),
                "max": max(f.samples),
                "trials": len(f.samples),
                "target": f.target,
                "machine": machine(),
                **f.extra,
            }
            log.write(json.dumps(line) + "\n")
    console.print(table)


def timed(action: Callable[[], object]) -> float:
    """Seconds `action` takes."""
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


@contextmanager
def postgres_database() -> Iterator[str | None]:
    """A fresh Postgres database for one measurement (tests/_postgres.py, dropped afterwards), or None when
    none can be made."""
    unavailable: PostgresUnavailable | None = None
    try:
        with throwaway_database(POSTGRES_ADMIN_URL, "research_bench", "RESEARCH_BENCH_POSTGRES_URL") as url:
            yield url
    except PostgresUnavailable as error:
        unavailable = error
    if unavailable is not None:
        console.print(f"[yellow]{unavailable}; skipping its figures[/]")
        yield None


def bench_settings(root: Path, database_url: str, **overrides: Any) -> Settings:
    """Settings for a benchmark: private data dir, offline, no pacing, no .env."""
    from research_agent.settings import Settings, default_data_dir

    # One Factbook index for every benchmark (built once, a few seconds), in the user's usual place.
    overrides.setdefault(
        "index_dir", Path(os.environ.get("RESEARCH_INDEX_DIR", default_data_dir() / "indexes"))
    )
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        data_dir=root,
        database_url=database_url,
        offline=True,
        offline_delay=0,
        log_level="ERROR",
        **overrides,
    )


def quick() -> bool:
    """`--quick`: fewer trials (for a smoke run of every script)."""
    return "--quick" in sys.argv


@contextmanager
def launched(settings: Settings, *, wal: bool = True) -> Iterator[None]:
    """DBOS launched in this process on `settings`' database, with our configuration.

    `wal=False` leaves a fresh SQLite file in SQLite's default rollback-journal mode (the worker always
    switches to WAL), to measure what WAL buys.
    """
    from dbos import DBOS

    from research_agent.database import check_database
    from research_agent.runtime import dbos_config

    if wal:
        check_database(settings)
    DBOS(config=dbos_config(settings))
    try:
        DBOS.launch()
        yield
    finally:
        DBOS.destroy(workflow_completion_timeout_sec=0)


@contextmanager
def raw_dbos_launched(root: Path, name: str) -> Iterator[None]:
    """Raw DBOS launched in this process with its defaults, on a SQLite file in `root` set up as ours is
    (WAL, synchronous=NORMAL): the baseline every `--raw` measurement runs on."""
    from dbos import DBOS

    from research_agent.database import check_database
    from research_agent.runtime import _NormalSyncConnection

    url = f"sqlite:///{root / f'{name}.sqlite'}"
    check_database(bench_settings(root, url))  # WAL mode, as ours
    DBOS(
        config={
            "name": name,
            "system_database_url": url,
            "db_engine_kwargs": {"connect_args": {"factory": _NormalSyncConnection}},
        }
    )
    try:
        DBOS.launch()
        yield
    finally:
        DBOS.destroy(workflow_completion_timeout_sec=0)
