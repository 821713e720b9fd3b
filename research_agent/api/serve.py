"""`deep-research serve`: the API on a host and port, with a supervised worker unless told otherwise.

Like `deep-research ui`, it starts a worker (restarted whenever it dies) unless a worker already holds
this install's executor, so a submitted run starts at once; `start_worker=False` leaves the runs to
workers started elsewhere (`deep-research worker`, other machines on a shared Postgres).
"""

from __future__ import annotations

import signal
from collections.abc import Callable

import uvicorn

from ..database import check_database, executor_id_of, executor_is_busy
from ..settings import Settings
from ..supervisor import WorkerSupervisor
from .app import create_app
from .security import check_exposure

SHUTDOWN_GRACE = 5
"""Seconds open progress streams get to close when the server stops (they reconnect to the next one)."""


def serve(
    settings: Settings,
    host: str,
    port: int,
    *,
    start_worker: bool = True,
    say: Callable[[str], None] = print,
    worker_output: Callable[[str], None] | None = None,
) -> None:
    """Serve the API until SIGINT or SIGTERM; refuses (`ExposureError`) to expose it without a token."""
    check_exposure(settings, host)
    check_database(settings)
    supervisor: WorkerSupervisor | None = None
    if not start_worker:
        say("no worker started (--no-worker): runs wait in the queue for `deep-research worker`")
    elif executor_is_busy(settings):
        say(f"a worker for executor {executor_id_of(settings)} is already running; the API's runs go to it")
    else:
        supervisor = WorkerSupervisor(settings, echo=worker_output)
        supervisor.start()
    shown = f"[{host}]" if ":" in host else host
    say(f"API at http://{shown}:{port} · schema at /docs · Ctrl-C to stop")
    config = uvicorn.Config(
        create_app(settings),
        host=host,
        port=port,
        log_level=settings.log_level.lower(),
        access_log=False,
        timeout_graceful_shutdown=SHUTDOWN_GRACE,
    )
    # uvicorn stops on SIGTERM, then raises it again under the handler it found: without one of ours the
    # process would die there, before the worker it supervises is stopped.
    previous = signal.signal(signal.SIGTERM, lambda *_: None)
    try:
        uvicorn.Server(config).run()
    finally:
        signal.signal(signal.SIGTERM, previous)
        if supervisor is not None:
            supervisor.stop()
