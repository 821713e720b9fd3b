"""DBOS configuration and launch, the run queue, and the one-worker-per-executor lock.

This is the only module that builds a DBOS configuration. A worker is a process that has called
`DBOS.launch()`: it recovers this executor's unfinished runs, then executes runs from the `research`
queue. Two processes recovering the same executor's runs would run them twice, so a worker first takes
an exclusive lock for its executor id: a file lock beside a SQLite database, a Postgres advisory lock
otherwise, and a second worker with the same id refuses to start.
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
import secrets
import socket
import sqlite3
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dbos import DBOS, DBOSConfig
from dbos._utils import INTERNAL_QUEUE_NAME
from filelock import FileLock, Timeout
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from . import __version__, _logging
from ._advisory_lock import AdvisoryLock
from .observability import configure_observability, tracing_enabled
from .settings import EXECUTOR_ID_PATTERN, Settings

if TYPE_CHECKING:
    from dbos._sys_db import SystemDatabase  # a type only: clients never open one themselves

APP_NAME = "deep-research"
RESEARCH_QUEUE = "research"
SEARCH_QUEUE = "search"


class RuntimeConfigError(Exception):
    """The database URL or the worker set-up is unusable; the message names the fix."""


class ExecutorBusyError(RuntimeConfigError):
    """Another live worker already holds this executor id."""


def sqlite_path(database_url: str) -> Path | None:
    """The file of a SQLite URL, None for other databases; raises `RuntimeConfigError` if malformed."""
    try:
        url = make_url(database_url)
    except ArgumentError as error:
        raise RuntimeConfigError(
            f"RESEARCH_DATABASE_URL {database_url!r} is not a database URL; "
            "use sqlite:////absolute/path.sqlite or postgresql://user@host:5432/dbname"
        ) from error
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:":
            raise RuntimeConfigError(
                "RESEARCH_DATABASE_URL must name a SQLite file, e.g. sqlite:////abs/research.sqlite"
            )
        return Path(url.database).expanduser().resolve()
    if url.get_backend_name() != "postgresql":
        raise RuntimeConfigError(
            f"unsupported database {url.get_backend_name()!r} in RESEARCH_DATABASE_URL; use sqlite or postgresql"
        )
    return None


def normalized_database_url(settings: Settings) -> str:
    """The database URL with SQLite paths made absolute (DBOS resolves relative ones against the cwd)."""
    path = sqlite_path(settings.database_url)
    return f"sqlite:///{path}" if path is not None else settings.database_url


def check_database(settings: Settings) -> None:
    """Fail fast, with a clear message, when the database cannot be reached or created."""
    path = sqlite_path(settings.database_url)
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with sqlite3.connect(path, timeout=5) as connection:
                # WAL lets readers (UI, CLI) see runs while a worker writes; the mode persists in the file.
                connection.execute("PRAGMA journal_mode=WAL")
        except (OSError, sqlite3.Error) as error:
            raise RuntimeConfigError(f"cannot open the SQLite database {path}: {error}") from error
        return
    import psycopg

    where = redacted_url(settings.database_url)
    try:
        with psycopg.connect(_libpq_url(settings.database_url), connect_timeout=5) as connection:
            row = connection.execute(
                "SELECT current_user, current_database(),"
                " has_database_privilege(current_database(), 'CREATE'),"
                " (SELECT has_schema_privilege('dbos', 'CREATE')"
                "  FROM pg_namespace WHERE nspname = 'dbos')"
            ).fetchone()
    except psycopg.Error as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise RuntimeConfigError(
            f"cannot connect to {where}: {first_line}; check RESEARCH_DATABASE_URL (host, port, user, "
            "password, database name) and that the server is up"
        ) from error
    assert row is not None
    user, database, can_create_schema, can_use_schema = row
    # DBOS keeps its tables in schema `dbos`: creating it needs CREATE on the database, using it CREATE on it.
    if not (can_use_schema if can_use_schema is not None else can_create_schema):
        raise RuntimeConfigError(
            f"user {user!r} cannot create DBOS's tables in database {database!r} ({where}); "
            f'grant it with: GRANT CREATE ON DATABASE "{database}" TO "{user}" '
            "(or GRANT ALL ON SCHEMA dbos), or use a database that user owns"
        )


def redacted_url(database_url: str) -> str:
    """The URL with its password masked, for messages and logs."""
    try:
        return make_url(database_url).render_as_string(hide_password=True)
    except ArgumentError:
        return "an unparsable URL"


def _libpq_url(database_url: str) -> str:
    url = make_url(database_url)
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def validate_executor_id(executor_id: str) -> str:
    """`executor_id` if it is a valid id, else `RuntimeConfigError` saying what one looks like."""
    if not re.fullmatch(EXECUTOR_ID_PATTERN, executor_id):
        raise RuntimeConfigError(
            f"invalid executor id {executor_id!r}: use up to 64 letters, digits, '-', '_' or '.', "
            "starting with a letter or digit (e.g. worker-1)"
        )
    return executor_id


def executor_id_of(settings: Settings) -> str:
    """This install's executor id: RESEARCH_EXECUTOR_ID, else the host name and a name kept in the data dir.

    The kept name makes the id stable across restarts (so a restarted worker recovers its own runs) and
    different for two installs on one host.
    """
    if settings.executor_id:
        return settings.executor_id
    path = settings.data_dir / "executor-name"
    try:
        name = path.read_text().strip()
    except FileNotFoundError:
        name = ""
    if not re.fullmatch(r"[a-z0-9]{6}", name):
        name = secrets.token_hex(3)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(name + "\n")
    host = re.sub(r"[^A-Za-z0-9_.-]", "-", socket.gethostname().split(".")[0])[:40].strip("-") or "host"
    return f"{host}-{name}"


class _NormalSyncConnection(sqlite3.Connection):
    """A SQLite connection with `synchronous=NORMAL`: in WAL mode a commit is durable against a crash of
    the process without an fsync of its own (see `Settings.sqlite_synchronous`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.execute("PRAGMA synchronous=NORMAL")


def dbos_config(settings: Settings, executor_id: str | None = None) -> DBOSConfig:
    """The DBOS configuration of a worker (the only place one is built)."""
    config: DBOSConfig = {
        "name": APP_NAME,
        "system_database_url": normalized_database_url(settings),
        # Pinned, so restarting the same release recovers its runs whatever files changed around it.
        "application_version": __version__,
        "executor_id": executor_id or executor_id_of(settings),
        "log_level": settings.log_level.upper(),
        "notification_listener_polling_interval_sec": 0.1,
        # Workflow and step spans, into the tracer provider `configure_observability` set up, when traced.
        "enable_otlp": tracing_enabled(),
        "otel_attribute_format": "semconv",
    }
    if sqlite_path(settings.database_url) is not None:
        # A local file needs no liveness ping before each use; DBOS's engine keeps its own settings
        # (immediate transactions, busy timeout), the connection factory only adds the sync level.
        engine: dict[str, Any] = {"pool_pre_ping": False}
        if settings.sqlite_synchronous == "NORMAL":
            engine["connect_args"] = {"factory": _NormalSyncConnection}
        config["db_engine_kwargs"] = engine
    return config


@contextmanager
def executor_lock(settings: Settings, executor_id: str, wait: float = 0) -> Iterator[None]:
    """Hold the exclusive lock of `executor_id` on this database, or raise `ExecutorBusyError`.

    `wait` seconds are allowed for a holder to let go: a probe (`executor_is_busy`) holds the lock for
    an instant, and a worker starting in that instant should not take it for a live one.
    """
    path = sqlite_path(settings.database_url)
    busy = (
        f"another worker with executor id {executor_id!r} is already running on this database; "
        "stop it first, or start this one with a different RESEARCH_EXECUTOR_ID"
    )
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(f"{path}.{executor_id}.lock")
        try:
            lock.acquire(timeout=wait, poll_interval=0.05)
        except Timeout as error:
            raise ExecutorBusyError(busy) from error
        try:
            yield
        finally:
            lock.release()
        return
    key = int.from_bytes(
        hashlib.sha256(f"deep-research:{executor_id}".encode()).digest()[:8], "big", signed=True
    )
    advisory = AdvisoryLock(_libpq_url(settings.database_url), key, executor_id)
    if not advisory.acquire(wait):
        raise ExecutorBusyError(busy)
    try:
        yield
    finally:
        advisory.release()


def executor_is_busy(settings: Settings, executor_id: str | None = None) -> bool:
    """Whether a live worker holds `executor_id` right now."""
    try:
        with executor_lock(settings, executor_id or executor_id_of(settings)):
            return False
    except ExecutorBusyError:
        return True


def _quiet_libraries(settings: Settings) -> None:
    level = getattr(logging, settings.log_level.upper(), logging.WARNING)
    for name in ("dbos", "httpx", "bm25s"):
        logging.getLogger(name).setLevel(level)
    _logging.install(logging.getLogger("dbos"))


def hand_back(sys_db: SystemDatabase, executor_id: str) -> list[str]:
    """Put `executor_id`'s unfinished workflows of this release back on their queues; their ids.

    The caller holds that executor's lock, so no live worker is running them. Each goes back where it was
    queued before (runs, searches), others to DBOS's internal queue; every worker listens to both and
    resumes each from its last completed step. Idempotent: only PENDING rows of this executor change.
    """
    pending = sys_db.get_pending_workflows(executor_id, __version__)
    return [
        workflow.workflow_id
        for workflow in pending
        if sys_db.reenqueue_for_recovery(workflow.workflow_id, [executor_id], INTERNAL_QUEUE_NAME)
    ]


def _stop(settings: Settings, executor_id: str, drain_seconds: float) -> list[str]:
    """Stop DBOS: no new work, `drain_seconds` for running work to finish, the rest back to the queues.

    Returns the ids of the workflows handed back. Raises what the database raises while handing back.
    """
    # Work still running when the drain ends is abandoned: each of its tasks would log a warning and leave
    # an unawaited coroutine behind. The caller reports what was handed back instead, in one line.
    logging.getLogger("dbos").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message="coroutine .* was never awaited", category=RuntimeWarning)
    # Stops dequeuing at once, then waits (in whole seconds) while workflows are still running here.
    DBOS.destroy(workflow_completion_timeout_sec=math.ceil(drain_seconds))
    from dbos import DBOSClient

    client = DBOSClient(system_database_url=normalized_database_url(settings), retry_connection_errors=False)
    try:
        return hand_back(client._sys_db, executor_id)  # pyright: ignore[reportPrivateUsage]
    finally:
        client.destroy()


@contextmanager
def worker(
    settings: Settings, executor_id: str | None = None, drain_seconds: float = 0
) -> Iterator[dict[str, Any]]:
    """Run a DBOS worker in this process for the duration of the block.

    Takes the executor lock, launches DBOS (which recovers this executor's unfinished runs) and listens to
    the `research` queue. Yields a description of the worker (executor id, database). On the way out it
    stops taking work, gives running work `drain_seconds` to finish, and hands what is left back to the
    queues (listed under `handed_back` in the description) before letting go of the lock.
    """
    from . import workflows  # noqa: F401  # registers the workflows before launch

    executor = validate_executor_id(executor_id) if executor_id else executor_id_of(settings)
    check_database(settings)
    with executor_lock(settings, executor, wait=2):
        _quiet_libraries(settings)
        configure_observability(settings)  # before DBOS, so its spans and pydantic-ai's share one trace
        DBOS(config=dbos_config(settings, executor))
        info: dict[str, Any] = {
            "executor_id": executor,
            "database": normalized_database_url(settings),
            "version": __version__,
        }
        try:
            DBOS.launch()
            DBOS.register_queue(
                RESEARCH_QUEUE,
                worker_concurrency=settings.worker_concurrency,
                polling_interval_sec=settings.queue_poll_interval,
                on_conflict="always_update",
            )
            # Every search of every run goes through this queue, so provider limits hold across workers.
            DBOS.register_queue(
                SEARCH_QUEUE,
                global_concurrency=settings.search_concurrency,
                limiter={"limit": settings.search_rate_limit, "period": settings.search_rate_period},
                polling_interval_sec=settings.queue_poll_interval,
                on_conflict="always_update",
            )
            yield info
        finally:
            try:
                info["handed_back"] = _stop(settings, executor, drain_seconds)
            except Exception as error:  # the worker is stopping anyway: report it, don't mask why
                info["hand_back_error"] = (
                    str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
                )
