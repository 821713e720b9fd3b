"""Which workers serve a database's queues right now, from the heartbeats they write.

A worker (`deep-research worker`, the UI's supervised one) keeps one row in a small table of the
application's database, rewritten every few seconds and deleted when it stops. A client (`run`, `submit`,
`workers`) reads the fresh rows to tell whether queued work will be picked up, whatever executor id each
worker runs under and whichever host it runs on. A row is fresh for a few beats, so a worker killed without
warning counts as alive that long; callers that must know sooner also probe the executor's lock
(`database.executor_is_busy`). A command that runs its own research in-process writes no heartbeat: it
does not serve the shared queue.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from contextlib import suppress
from functools import cache

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import SQLAlchemyError

from .database import normalized_database_url, sqlite_path
from .settings import Settings

HEARTBEAT_SECONDS = 5.0
"""How often a worker rewrites its row: one tiny write, so an idle fleet costs next to nothing."""
FRESH_SECONDS = 3 * HEARTBEAT_SECONDS
"""How old a row may be and its worker still count as alive (three beats: one late beat is not death)."""
POSTGRES_SCHEMA = "dbos"
"""Postgres schema of the table: DBOS's own, where `check_database` made sure a worker may create tables."""

_log = logging.getLogger(__name__)


@cache
def _table(schema: str | None) -> sa.Table:
    return sa.Table(
        "research_worker_heartbeats",
        sa.MetaData(),
        sa.Column("executor_id", sa.String(64), primary_key=True),
        sa.Column("beat_ms", sa.BigInteger, nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        schema=schema,
    )


def table_for(engine: Engine) -> sa.Table:
    """The heartbeat table in `engine`'s database (DBOS's schema on Postgres)."""
    return _table(POSTGRES_SCHEMA if engine.dialect.name == "postgresql" else None)


def heartbeat_engine(settings: Settings) -> Engine:
    """A small engine of its own for a worker's heartbeats (DBOS's engine is private to DBOS)."""
    url = normalized_database_url(settings)
    if sqlite_path(url) is not None:
        return sa.create_engine(url, poolclass=sa.NullPool, connect_args={"timeout": 5})
    return sa.create_engine(make_url(url).set(drivername="postgresql+psycopg"), pool_size=1, max_overflow=0)


def record_beat(engine: Engine, executor_id: str, now_ms: int | None = None) -> None:
    """Write (or rewrite) `executor_id`'s row with the time now."""
    table = table_for(engine)
    beat = int(time.time() * 1000) if now_ms is None else now_ms
    with engine.begin() as connection:
        connection.execute(table.delete().where(table.c.executor_id == executor_id))
        connection.execute(
            table.insert().values(
                executor_id=executor_id, beat_ms=beat, host=socket.gethostname()[:255], pid=os.getpid()
            )
        )


def forget(engine: Engine, executor_id: str) -> None:
    """Delete `executor_id`'s row: a worker stopping cleanly is gone at once, not a few beats later."""
    table = table_for(engine)
    with engine.begin() as connection:
        connection.execute(table.delete().where(table.c.executor_id == executor_id))


def fresh_executors(engine: Engine, now_ms: int | None = None) -> list[str]:
    """The executor ids whose last beat is fresh, sorted; empty when no worker ever beat here."""
    table = table_for(engine)
    now = int(time.time() * 1000) if now_ms is None else now_ms
    query = sa.select(table.c.executor_id).where(table.c.beat_ms >= now - int(FRESH_SECONDS * 1000))
    try:
        with engine.connect() as connection:
            return sorted(str(row[0]) for row in connection.execute(query))
    except SQLAlchemyError:  # no table yet: no worker of this release has ever started on this database
        return []


class Heartbeat:
    """A thread that keeps `executor_id`'s row fresh until `stop()`, which deletes it."""

    def __init__(self, settings: Settings, executor_id: str) -> None:
        self.executor_id = executor_id
        self._engine = heartbeat_engine(settings)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="worker-heartbeat", daemon=True)

    def start(self) -> None:
        """Create the table if needed and write the first beat before returning, so a client that
        checks right after the worker said it is ready finds it."""
        table_for(self._engine).create(self._engine, checkfirst=True)
        record_beat(self._engine, self.executor_id)
        self._thread.start()

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            try:
                record_beat(self._engine, self.executor_id)
            except SQLAlchemyError as error:  # the database is away: the worker's own log says so
                _log.debug("heartbeat not written: %s", error)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=HEARTBEAT_SECONDS)
        with suppress(SQLAlchemyError):  # the database is away: the row goes stale by itself
            forget(self._engine, self.executor_id)
        self._engine.dispose()
