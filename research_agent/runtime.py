"""DBOS configuration, the worker, and how it stops.

This is the only module that builds a DBOS configuration and the only one that calls `DBOS.launch()`. A
worker recovers this executor's unfinished runs, then executes runs from the `research` queue and
searches from the `search` queue, holding its executor id's lock (database.py) the whole time. Told to
stop, it drains for a while and hands what is left back to the queues for other workers.
"""

from __future__ import annotations

import gc
import logging
import math
import sqlite3
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from dbos import DBOS, DBOSClient, DBOSConfig, SetWorkflowID, SetWorkflowTimeout
from pydantic import BaseModel, Field

from . import __version__, _logging, engine_settings
from ._completion_wakeups import Completions
from ._dbos import (
    hand_back,
    read_pickles_safely,
    remove_queue_waker,
    system_database,
    wake_waiters_here,
    workflows_running_here,
)
from ._queue_wakeups import IDLE_POLL_SECONDS, queue_wakeups
from .controls import DEADLINE_MARGIN
from .database import (
    check_database,
    executor_id_of,
    executor_lock,
    normalized_database_url,
    sqlite_path,
    validate_executor_id,
)
from .heartbeats import Heartbeat
from .naming import RESEARCH_QUEUE, SEARCH_QUEUE
from .observability import configure_observability, flush_local_spans, tracing_enabled
from .schema import ResearchOptions
from .settings import APP_NAME, Settings


class WorkerInfo(BaseModel):
    """What a running worker is: its executor id, its database and release; once stopped, what it handed
    back to the queues (or why it could not)."""

    executor_id: str
    database: str
    version: str = __version__
    handed_back: list[str] = Field(default_factory=list)
    hand_back_error: str | None = None


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


def _quiet_libraries(settings: Settings) -> None:
    level = getattr(logging, settings.log_level.upper(), logging.WARNING)
    for name in ("dbos", "httpx", "bm25s", "trafilatura"):
        logging.getLogger(name).setLevel(level)
    _logging.install(logging.getLogger("dbos"))


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
    client = DBOSClient(system_database_url=normalized_database_url(settings), retry_connection_errors=False)
    try:
        return hand_back(system_database(client), executor_id, __version__)
    finally:
        client.destroy()


@contextmanager
def worker(
    settings: Settings, executor_id: str | None = None, drain_seconds: float = 0, *, shared: bool = True
) -> Iterator[WorkerInfo]:
    """Run a DBOS worker in this process for the duration of the block.

    Takes the executor lock, launches DBOS (which recovers this executor's unfinished runs) and listens to
    the `research` and `search` queues. Yields the worker's `WorkerInfo`. On the way out it stops taking
    work, gives running work `drain_seconds` to finish, and hands what is left back to the queues (listed
    in the info's `handed_back`) before letting go of the lock.

    `shared=False` is a command running its own research in-process (`run` with no worker alive): it
    does not take runs from the `research` queue (its own starts with `start_here`) and writes no
    heartbeat, so clients do not count it as a worker. It still takes searches from the `search` queue,
    where its run's searches wait, and DBOS's internal queue, which every DBOS process listens to.
    """
    from . import workflows  # noqa: F401  # registers the workflows before launch

    executor = validate_executor_id(executor_id) if executor_id else executor_id_of(settings)
    check_database(settings)
    database = sqlite_path(settings.database_url)
    with executor_lock(settings, executor, wait=2), engine_settings.use(settings):
        _quiet_libraries(settings)
        configure_observability(settings)  # before DBOS, so its spans and pydantic-ai's share one trace
        read_pickles_safely()  # before DBOS reads a row: recovery reads inputs and step results at once
        DBOS(config=dbos_config(settings, executor))
        if not shared:
            DBOS.listen_queues([SEARCH_QUEUE])
        watcher = queue_wakeups(database, settings.queue_poll_interval, workflows_running_here)
        # A run sees a child end, a message sent, here at once. On SQLite the workers are on this machine
        # and one of them is nearly always this one: result polls back off to the idle interval. On
        # Postgres a search may end on another worker: its result is polled at the fast interval as before.
        wake_waiters_here(Completions(), longest_poll=IDLE_POLL_SECONDS if watcher is not None else None)
        # With wake-ups (SQLite) the queues are polled slowly while idle; on Postgres at the fast interval.
        poll = IDLE_POLL_SECONDS if watcher is not None else settings.queue_poll_interval
        info = WorkerInfo(executor_id=executor, database=normalized_database_url(settings))
        heartbeat = Heartbeat(settings, executor) if shared else None
        try:
            DBOS.launch()
            DBOS.register_queue(
                RESEARCH_QUEUE,
                worker_concurrency=settings.worker_concurrency,
                polling_interval_sec=poll,
                on_conflict="always_update",
            )
            # Every search of every run goes through this queue, so provider limits hold across workers.
            DBOS.register_queue(
                SEARCH_QUEUE,
                global_concurrency=settings.search_concurrency,
                limiter={"limit": settings.search_rate_limit, "period": settings.search_rate_period},
                polling_interval_sec=poll,
                on_conflict="always_update",
            )
            if watcher is not None:
                watcher.start()
            if heartbeat is not None:
                heartbeat.start()  # last: a client that sees the beat finds the queues listened to
            # What exists now (modules, DBOS, the SDKs: most of the process's objects) lives as long as the
            # worker: out of the collector's sight, a full collection no longer scans it, a pause of ~0.1 s
            # on every thread (bench/README.md, issue 21). Given back on the way out.
            gc.freeze()
            yield info
        finally:
            gc.unfreeze()
            if heartbeat is not None:
                heartbeat.stop()
            if watcher is not None:
                watcher.stop()
            try:
                info.handed_back = _stop(settings, executor, drain_seconds)
            except Exception as error:  # the worker is stopping anyway: report it, don't mask why
                info.hand_back_error = (
                    str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
                )
            finally:
                remove_queue_waker()
            flush_local_spans()  # the last spans of this worker's runs, before the next worker's database


def start_here(run_id: str, question: str, options: ResearchOptions) -> None:
    """Start run `run_id` in this process's DBOS, not through the `research` queue (a `shared=False`
    worker). Bounded by the run's deadline like a queued run; a run that exists already is left alone."""
    from .workflows import deep_research

    if DBOS.get_workflow_status(run_id) is not None:
        return
    timeout = None if options.deadline is None else options.deadline + DEADLINE_MARGIN
    with SetWorkflowID(run_id), SetWorkflowTimeout(timeout):
        DBOS.start_workflow(deep_research, question, options)
