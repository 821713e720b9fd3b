"""The local trace store: every run's spans, kept where the runs are, for people with no tracing service.

A worker's span processor (`local_spans.py`, engine) writes here; the CLI (`deep-research trace`) and the
run page read here. So that reading needs no engine, the table, its rows and every query live in this
base module. Where the spans go follows the application's database: beside a SQLite file, in a file of
its own (`research.traces.sqlite` next to `research.sqlite`, so span writes never wait on DBOS's writer
lock), and in a Postgres database, two tables in DBOS's `dbos` schema (the schema a worker is known to be
allowed to create tables in). It is bounded: a span cap per run (enforced by the writer), and retention
by age and by run count (`prune`).

A span is written twice when it lives long: once while it is open (no end, only its name and run
attributes), then whole when it ends. A span that never ends keeps its first row, which is how the spans
of a worker killed mid-run stay visible: started, never finished.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import SQLAlchemyError

from .database import redacted_url, sqlite_path
from .private_files import create_private_file
from .schema import byte_size
from .settings import Settings

_T = TypeVar("_T")

POSTGRES_SCHEMA = "dbos"
"""Postgres schema of the store's tables: DBOS's own, where `check_database` made sure we may create."""

_metadata = sa.MetaData()
SPANS = sa.Table(
    "research_spans",
    _metadata,
    sa.Column("trace_id", sa.String(32), primary_key=True),
    sa.Column("span_id", sa.String(16), primary_key=True),
    sa.Column("parent_span_id", sa.String(16)),
    sa.Column("run_id", sa.Text, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("kind", sa.Integer, nullable=False),  # OTLP's SpanKind: 1 internal, 2 server, 3 client, ...
    sa.Column("scope", sa.Text, nullable=False),  # the instrumentation: dbos-tracer, pydantic-ai, logfire
    sa.Column("start_ns", sa.BigInteger, nullable=False),
    sa.Column("end_ns", sa.BigInteger),  # none: open when written (running, or its worker died)
    sa.Column("status", sa.String(5), nullable=False),  # UNSET, OK or ERROR
    sa.Column("status_message", sa.Text),
    sa.Column("attributes", sa.Text, nullable=False),  # JSON object
    sa.Column("events", sa.Text, nullable=False),  # JSON list of {name, time_ns, attributes}
    sa.Column("resource", sa.Text, nullable=False),  # JSON object: service, version, host, pid
    sa.Index("research_spans_run", "run_id", "start_ns"),
)
RUNS = sa.Table(
    "research_span_runs",
    _metadata,
    sa.Column("run_id", sa.Text, primary_key=True),
    sa.Column("trace_id", sa.String(32), nullable=False),
    sa.Column("first_ns", sa.BigInteger, nullable=False),
    sa.Column("last_ns", sa.BigInteger, nullable=False),
    sa.Column("dropped", sa.Integer, nullable=False),  # spans left out over the per-run cap
    sa.Column("written_at", sa.Float, nullable=False),  # wall-clock seconds of the last write: the age
)
_PAYLOAD = (SPANS.c.name, SPANS.c.attributes, SPANS.c.events, SPANS.c.resource)


@dataclass(frozen=True)
class StoredSpan:
    """One span as the store keeps it: ids in hex, times in nanoseconds since the epoch."""

    trace_id: str
    span_id: str
    parent_span_id: str | None
    run_id: str
    name: str
    start_ns: int
    end_ns: int | None
    kind: int = 1
    scope: str = ""
    status: str = "UNSET"
    status_message: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    resource: dict[str, Any] = field(default_factory=dict)

    @property
    def process(self) -> tuple[str, int]:
        """(host, pid) of the process that made the span."""
        pid = self.resource.get("process.pid")
        return str(self.resource.get("host.name", "")), pid if isinstance(pid, int) else 0

    def row(self) -> dict[str, Any]:
        return {
            "trace_id": self.trace_id,
            "span_id": self.span_id,
            "parent_span_id": self.parent_span_id,
            "run_id": self.run_id,
            "name": self.name,
            "kind": self.kind,
            "scope": self.scope,
            "start_ns": self.start_ns,
            "end_ns": self.end_ns,
            "status": self.status,
            "status_message": self.status_message,
            "attributes": _json(self.attributes),
            "events": _json(self.events),
            "resource": _json(self.resource),
        }

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> StoredSpan:
        return cls(
            trace_id=row["trace_id"],
            span_id=row["span_id"],
            parent_span_id=row["parent_span_id"],
            run_id=row["run_id"],
            name=row["name"],
            kind=row["kind"],
            scope=row["scope"],
            start_ns=row["start_ns"],
            end_ns=row["end_ns"],
            status=row["status"],
            status_message=row["status_message"],
            attributes=_loaded(row["attributes"], dict),
            events=_loaded(row["events"], list),
            resource=_loaded(row["resource"], dict),
        )

    def payload_bytes(self) -> int:
        """What the span's text takes in the store (UTF-8), without the fixed-size columns."""
        row = self.row()
        return sum(len(str(row[name]).encode()) for name in ("name", "attributes", "events", "resource"))


def _json(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def _loaded(text: str, kind: Callable[[], _T]) -> _T:
    """A JSON column read back; anything else (a row someone edited by hand) as an empty one."""
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        return kind()
    return value if isinstance(value, type(kind())) else kind()


@dataclass(frozen=True)
class RunSpans:
    """What the store holds of one run: its spans (by start) and how many the cap left out."""

    run_id: str
    spans: list[StoredSpan]
    dropped: int = 0


@dataclass(frozen=True)
class StoreSize:
    runs: int
    spans: int
    bytes: int
    """On disk: the SQLite file with its WAL, or the two Postgres tables with their indexes."""


def store_file(settings: Settings) -> Path | None:
    """The SQLite file of the store when the database is SQLite (`X.traces.sqlite` beside `X.sqlite`)."""
    path = sqlite_path(settings.database_url)
    return None if path is None else path.with_name(f"{path.stem}.traces{path.suffix or '.sqlite'}")


def store_enabled(settings: Settings) -> bool:
    """Whether workers keep spans locally: the trace store is on and tracing is not turned off."""
    return settings.trace_store and settings.tracing is not False


class TraceStore:
    """The store of one application database. Readers never create it; `ensure` (the writer) does."""

    def __init__(self, settings: Settings) -> None:
        self.file = store_file(settings)
        self._database_url = settings.database_url
        self._engine: Engine | None = None
        self._ready = False

    @property
    def where(self) -> str:
        """Where the spans are, for people: a file, or a table of the (password-masked) database."""
        if self.file is not None:
            return str(self.file)
        return f"{POSTGRES_SCHEMA}.{SPANS.name} in {redacted_url(self._database_url)}"

    # --- connections ------------------------------------------------------------------------------------

    def _connect(self) -> Engine:
        if self._engine is None:
            if self.file is not None:
                engine = sa.create_engine(f"sqlite:///{self.file}", connect_args={"timeout": 10})

                @sa.event.listens_for(engine, "connect")
                def _pragmas(connection: Any, _record: Any) -> None:
                    connection.execute("PRAGMA synchronous=NORMAL")

            else:
                url = make_url(self._database_url).set(drivername="postgresql+psycopg")
                engine = sa.create_engine(
                    url, pool_pre_ping=True, pool_size=2, max_overflow=2, connect_args={"connect_timeout": 5}
                ).execution_options(schema_translate_map={None: POSTGRES_SCHEMA})
            self._engine = engine
        return self._engine

    def _readable(self) -> Engine | None:
        """The engine when the store exists (a reader must not create a file or tables), else None."""
        if self._ready:
            return self._connect()
        if self.file is not None and not self.file.exists():
            return None
        engine = self._connect()
        try:
            exists = sa.inspect(engine).has_table(SPANS.name, schema=None if self.file else POSTGRES_SCHEMA)
        except SQLAlchemyError:
            return None
        self._ready = exists
        return engine if exists else None

    def ensure(self) -> None:
        """Create the store (file, tables) if it does not exist yet."""
        if self._ready:
            return
        if self.file is not None:
            create_private_file(self.file)  # owner-only before SQLite opens it: spans hold prompts
            with sa.create_engine(f"sqlite:///{self.file}").connect() as connection:
                connection.exec_driver_sql(
                    "PRAGMA journal_mode=WAL"
                )  # readers see spans while a worker writes
        engine = self._connect()
        if self.file is None:
            with engine.begin() as connection:
                connection.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {POSTGRES_SCHEMA}")
        _metadata.create_all(engine, checkfirst=True)
        self._ready = True

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
            self._ready = False

    # --- writing ----------------------------------------------------------------------------------------

    def write(self, spans: Sequence[StoredSpan], dropped: Mapping[str, int] | None = None) -> None:
        """Insert or complete `spans` and note per run how many more the cap left out, in one transaction.

        A row already written whole is never replaced by an open one.
        """
        dropped = dict(dropped or {})
        if not spans and not dropped:
            return
        self.ensure()
        engine = self._connect()
        runs: dict[str, dict[str, Any]] = {}
        for span in spans:
            run = runs.setdefault(
                span.run_id,
                {"run_id": span.run_id, "trace_id": span.trace_id, "first_ns": span.start_ns, "last_ns": 0},
            )
            run["first_ns"] = min(run["first_ns"], span.start_ns)
            run["last_ns"] = max(run["last_ns"], span.end_ns or span.start_ns)
        now = time.time()
        for run_id, run in runs.items():
            run.update(dropped=dropped.pop(run_id, 0), written_at=now)
        insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
        with engine.begin() as connection:
            if spans:
                statement = insert(SPANS)
                replaced = {
                    column.name: statement.excluded[column.name]
                    for column in SPANS.columns
                    if not column.primary_key
                }
                connection.execute(
                    statement.on_conflict_do_update(
                        index_elements=["trace_id", "span_id"], set_=replaced, where=SPANS.c.end_ns.is_(None)
                    ),
                    [span.row() for span in spans],
                )
            if runs:
                statement = insert(RUNS)
                new = statement.excluded
                connection.execute(
                    statement.on_conflict_do_update(
                        index_elements=["run_id"],
                        set_={
                            "first_ns": sa.case(
                                (new.first_ns < RUNS.c.first_ns, new.first_ns), else_=RUNS.c.first_ns
                            ),
                            "last_ns": sa.case(
                                (new.last_ns > RUNS.c.last_ns, new.last_ns), else_=RUNS.c.last_ns
                            ),
                            "dropped": RUNS.c.dropped + new.dropped,
                            "written_at": new.written_at,
                        },
                    ),
                    list(runs.values()),
                )
            for run_id, count in dropped.items():  # only dropped spans this time: the run row exists
                connection.execute(
                    sa.update(RUNS).where(RUNS.c.run_id == run_id).values(dropped=RUNS.c.dropped + count)
                )

    def prune(self, *, max_runs: int, max_age_seconds: float, now: float | None = None) -> list[str]:
        """Delete the spans of runs last written over `max_age_seconds` ago and of all but the newest
        `max_runs` runs; returns the run ids deleted."""
        engine = self._readable()
        if engine is None:
            return []
        cutoff = (time.time() if now is None else now) - max_age_seconds
        with engine.begin() as connection:
            old = connection.scalars(sa.select(RUNS.c.run_id).where(RUNS.c.written_at < cutoff)).all()
            beyond = connection.scalars(
                sa.select(RUNS.c.run_id).order_by(RUNS.c.first_ns.desc()).offset(max_runs)
            ).all()
            doomed = sorted({*old, *beyond})
            for start in range(0, len(doomed), 500):
                chunk = doomed[start : start + 500]
                connection.execute(sa.delete(SPANS).where(SPANS.c.run_id.in_(chunk)))
                connection.execute(sa.delete(RUNS).where(RUNS.c.run_id.in_(chunk)))
        return doomed

    # --- reading ----------------------------------------------------------------------------------------

    def read(self, run_id: str) -> RunSpans:
        """The spans of `run_id`, by start time (none when the store or the run has none)."""
        engine = self._readable()
        if engine is None:
            return RunSpans(run_id, [])
        with engine.connect() as connection:
            rows = connection.execute(
                sa.select(SPANS).where(SPANS.c.run_id == run_id).order_by(SPANS.c.start_ns, SPANS.c.span_id)
            ).mappings()
            spans = [StoredSpan.from_row(row) for row in rows]
            dropped = connection.scalar(sa.select(RUNS.c.dropped).where(RUNS.c.run_id == run_id))
        return RunSpans(run_id, spans, dropped or 0)

    def span_count(self, run_id: str) -> int:
        engine = self._readable()
        if engine is None:
            return 0
        with engine.connect() as connection:
            count = connection.scalar(
                sa.select(sa.func.count()).select_from(SPANS).where(SPANS.c.run_id == run_id)
            )
        return int(count or 0)

    def run_ids(self) -> list[str]:
        """The runs with spans in the store, newest first."""
        engine = self._readable()
        if engine is None:
            return []
        with engine.connect() as connection:
            return list(connection.scalars(sa.select(RUNS.c.run_id).order_by(RUNS.c.first_ns.desc())))

    def run_bytes(self, run_id: str) -> int:
        """The text `run_id`'s spans take (names and JSON columns, UTF-8 as SQLite counts it)."""
        engine = self._readable()
        if engine is None:
            return 0

        def octets(column: sa.Column[Any]) -> sa.ColumnElement[Any]:
            if engine.dialect.name == "postgresql":
                return sa.func.octet_length(column)
            return sa.func.length(
                sa.cast(column, sa.LargeBinary)
            )  # SQLite's length() of text counts characters

        sizes = [sa.func.coalesce(sa.func.sum(octets(column)), 0) for column in _PAYLOAD]
        with engine.connect() as connection:
            row = connection.execute(sa.select(*sizes).where(SPANS.c.run_id == run_id)).one()
        return int(sum(row))

    def size(self) -> StoreSize:
        engine = self._readable()
        if engine is None:
            return StoreSize(0, 0, 0)
        with engine.connect() as connection:
            runs = connection.scalar(sa.select(sa.func.count()).select_from(RUNS)) or 0
            spans = connection.scalar(sa.select(sa.func.count()).select_from(SPANS)) or 0
            if self.file is None:
                on_disk = sum(
                    connection.scalar(sa.text(f"SELECT pg_total_relation_size('{POSTGRES_SCHEMA}.{t.name}')"))
                    or 0
                    for t in (SPANS, RUNS)
                )
        if self.file is not None:
            on_disk = sum(p.stat().st_size for p in _sqlite_files(self.file))
        return StoreSize(int(runs), int(spans), int(on_disk))


def _sqlite_files(path: Path) -> Iterable[Path]:
    for candidate in (path, path.with_name(path.name + "-wal")):
        if candidate.exists():
            yield candidate


def describe(settings: Settings) -> str:
    """The trace store in one line for `deep-research config`: off, or its size and where it is."""
    if not store_enabled(settings):
        return "off (RESEARCH_TRACE_STORE=false or RESEARCH_TRACING=false)"
    store = TraceStore(settings)
    try:
        size = store.size()
    except SQLAlchemyError as error:
        reason = (str(getattr(error, "orig", None) or error).strip().splitlines() or ["unreadable"])[0]
        return f"unreadable ({reason}) at {store.where}"
    finally:
        store.close()
    if size.runs == 0:
        return f"empty · {store.where}"
    return (
        f"{size.runs:,} run{'s' if size.runs != 1 else ''}, {size.spans:,} spans, {byte_size(size.bytes)} · "
        f"{store.where} "
        f"(keeps {settings.trace_store_max_runs} runs, {settings.trace_store_max_age_days:g} days)"
    )
