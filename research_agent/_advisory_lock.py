"""The Postgres advisory lock that keeps one worker per executor id, watched across database outages."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from typing import Any


class AdvisoryLock:
    """A Postgres advisory lock on a connection of its own, kept while the database comes and goes.

    The lock lives as long as its session, so a database restart or a network cut ends it silently, and a
    second worker with the same executor id could then start and run the same workflows. A watchdog
    checks the session every few seconds and takes the lock again once the database is back; if another
    process took it meanwhile, this one must not go on, and gets SIGTERM (a worker then stops cleanly).
    """

    CHECK_SECONDS = 2.0

    def __init__(self, url: str, key: int, executor_id: str) -> None:
        self.url = url
        self.key = key
        self.executor_id = executor_id
        self._connection: Any = None
        self._stop = threading.Event()
        self._watchdog = threading.Thread(target=self._watch, name="executor-lock", daemon=True)

    def _try_lock(self) -> bool:
        import psycopg

        connection = psycopg.connect(self.url, autocommit=True, connect_timeout=5)
        row = connection.execute("SELECT pg_try_advisory_lock(%s)", (self.key,)).fetchone()
        if row and row[0]:
            if self._connection is not None:
                self._connection.close()  # the session that held it before the database went away
            self._connection = connection
            return True
        connection.close()
        return False

    def acquire(self, wait: float) -> bool:
        deadline = time.monotonic() + wait
        while not self._try_lock():
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
        self._watchdog.start()
        return True

    def _watch(self) -> None:
        import psycopg

        log = logging.getLogger("research_agent.runtime")
        while not self._stop.wait(self.CHECK_SECONDS):
            try:
                self._connection.execute("SELECT 1")
                continue
            except psycopg.Error:
                log.warning(
                    f"lost the database connection that holds the lock of executor {self.executor_id}; "
                    "taking it again when the database is back"
                )
            while not self._stop.wait(self.CHECK_SECONDS):
                try:
                    if self._try_lock():
                        log.warning(f"database back: the lock of executor {self.executor_id} is held again")
                        break
                except psycopg.Error:
                    continue  # still unreachable
                log.error(
                    f"another worker took executor {self.executor_id} while the database was away; "
                    "stopping this one so no run is executed twice"
                )
                os.kill(os.getpid(), signal.SIGTERM)
                return

    def release(self) -> None:
        import psycopg

        self._stop.set()
        if self._watchdog.is_alive():
            self._watchdog.join(timeout=10)
        try:
            self._connection.execute("SELECT pg_advisory_unlock(%s)", (self.key,))
            self._connection.close()
        except psycopg.Error:
            pass  # the session is gone, and its lock with it
