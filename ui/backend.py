"""The UI's access to settings, the database and the worker, with a clear error page for each fault."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import NoReturn

import psycopg
import streamlit as st
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from research_agent.client import ResearchClient
from research_agent.database import RuntimeConfigError, executor_id_of, executor_is_busy
from research_agent.settings import Settings, get_settings, settings_error
from research_agent.supervisor import SupervisorSnapshot, WorkerState, read_snapshot
from ui.markdown_safety import code, plain


def error_page(title: str, message: str) -> NoReturn:
    """Show one clear error, with what to do about it, and stop rendering the page."""
    st.error(f"**{plain(title)}**\n\n{plain(message)}", icon=":material/error:")
    st.stop()


def settings() -> Settings:
    try:
        return get_settings()
    except ValidationError as error:
        error_page("Invalid settings", settings_error(error))


@st.cache_resource(show_spinner=False)
def _client(database_url: str, _settings: Settings) -> ResearchClient:
    return ResearchClient(_settings)


def client() -> ResearchClient:
    """One client per database for the whole UI server (clients are thread-safe and hold a pool)."""
    current = settings()
    try:
        return _client(current.database_url, current)
    except RuntimeConfigError as error:
        error_page("The database is unreachable", str(error))


@contextmanager
def database_errors() -> Iterator[None]:
    """Turn a database that stops answering mid-page into an error message instead of a traceback."""
    try:
        yield
    except SQLAlchemyError as error:
        cause = getattr(error, "orig", None) or error
        reason = (str(cause).strip().splitlines() or [type(error).__name__])[0]
        error_page(
            "The database stopped answering",
            f"{reason}\n\nCheck that it is up (RESEARCH_DATABASE_URL); this page retries when reloaded.",
        )


@dataclass(frozen=True)
class WorkerStatus:
    """How the worker that executes runs is doing, as the UI shows it."""

    state: WorkerState
    supervised: bool
    detail: str
    """Markdown (what came from elsewhere in it escaped)."""
    snapshot: SupervisorSnapshot | None = None

    @property
    def running(self) -> bool:
        return self.state in (WorkerState.RUNNING, WorkerState.RECOVERING)


def worker_status(current: Settings) -> WorkerStatus:
    """The supervised worker's state when `deep-research ui` supervises one, else whether any holds the lock."""
    snapshot = read_snapshot(current)
    if snapshot is not None:
        detail = {
            WorkerState.STARTING: "starting",
            WorkerState.RUNNING: f"pid {snapshot.worker_pid}",
            WorkerState.DOWN: "died; restarting in a moment",
            WorkerState.RECOVERING: "restarted; resuming unfinished runs",
            WorkerState.STOPPED: "stopped",
        }[snapshot.state]
        if snapshot.restarts:
            detail += f" · {snapshot.restarts} restart{'s' if snapshot.restarts != 1 else ''}"
        if snapshot.last_error and snapshot.state == WorkerState.DOWN:
            detail += f" · {plain(snapshot.last_error)}"
        return WorkerStatus(snapshot.state, supervised=True, detail=detail, snapshot=snapshot)
    try:
        busy = executor_is_busy(current)
    except (OSError, psycopg.Error) as error:
        return WorkerStatus(WorkerState.STOPPED, supervised=False, detail=f"cannot tell: {plain(str(error))}")
    if busy:
        return WorkerStatus(
            WorkerState.RUNNING,
            supervised=False,
            detail=f"executor {code(executor_id_of(current))}, not supervised",
        )
    others = _other_live_workers(current.database_url)
    if others:
        shown = ", ".join(plain(name) for name in others[:3]) + (
            f" and {len(others) - 3} more" if len(others) > 3 else ""
        )
        return WorkerStatus(
            WorkerState.RUNNING,
            supervised=False,
            detail=f"{len(others)} worker{'s' if len(others) != 1 else ''} on this database: {shown}",
        )
    return WorkerStatus(
        WorkerState.STOPPED,
        supervised=False,
        detail="no worker is running: runs wait in the queue. Start one with `deep-research worker`.",
    )


@st.cache_data(ttl=5, show_spinner=False)
def _other_live_workers(database_url: str) -> list[str]:
    """Executors of other workers sharing this database (several workers on Postgres), checked every 5 s."""
    try:
        return [e.executor_id for e in client().executors() if e.alive]
    except (OSError, psycopg.Error, SQLAlchemyError):
        return []
