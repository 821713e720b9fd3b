"""Queue polling that costs next to nothing while a worker is idle, without starting queued work later.

DBOS polls each queue on a fixed interval, two queries a poll. At the 50 ms a queued run needs to start
promptly, an idle worker spent about 9 % of a core on it (bench/idle_cpu.py). Here the queues are
registered with a slow interval (`IDLE_POLL_SECONDS`, DBOS's own default), and a worker's queue threads
are woken early when there may be work:

- while this process runs any workflow, each queue thread waits at most the fast interval (the search
  children a run enqueues, or work freed by a finishing one, are seen as quickly as before); a thread
  that began a slow wait before the work started (the search queue's, while the research queue dequeued
  the run) is woken by the next write the watcher sees;
- on SQLite, a watcher thread looks at the database files' size and modification time every fast
  interval (one `stat` each, microseconds, no query) and wakes the queue threads when another process or
  this one wrote: a run submitted by the CLI, the UI or the API is dequeued within about one fast interval.

On Postgres, writers may be on other hosts, so nothing local can see them: there the queues keep polling at
the fast interval (as before), and the slow interval applies only on SQLite.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

from ._dbos import install_queue_waker

IDLE_POLL_SECONDS = 1.0
"""A queue thread's interval while nothing is running here and no write was seen: DBOS's default, and a
safety net for a write the watcher could not see."""


class QueueWaker:
    """Wakes DBOS's queue threads of this process; see the module's docstring."""

    def __init__(self, fast_seconds: float, busy: Callable[[], bool]) -> None:
        self.fast_seconds = fast_seconds
        self._busy = busy
        self._wakers: list[Callable[[float | None], None]] = []
        self._lock = threading.Lock()

    def busy(self) -> bool:
        return self._busy()

    def wait_bound(self, timeout: float | None) -> float | None:
        """How long a queue thread may wait given DBOS asked for `timeout`: the fast interval while work
        runs here, else DBOS's own."""
        if self._busy():
            return self.fast_seconds if timeout is None else min(timeout, self.fast_seconds)
        return timeout

    def attach(self, wake: Callable[[float | None], None]) -> None:
        with self._lock:
            self._wakers.append(wake)

    def wake(self) -> None:
        """End every queue thread's current wait now, so each polls its queue at once."""
        self._wake(None)

    def wake_long_waits(self) -> None:
        """End the waits longer than the fast interval (begun while nothing ran here), so no queue thread
        sleeps through work this process started meanwhile; short waits end soon anyway."""
        self._wake(self.fast_seconds)

    def _wake(self, longer_than: float | None) -> None:
        with self._lock:
            wakers = list(self._wakers)
        for wake in wakers:
            wake(longer_than)


class DatabaseWatcher:
    """Wakes `waker` whenever the SQLite database (or its write-ahead log) changed since the last look."""

    def __init__(self, database: Path, waker: QueueWaker) -> None:
        self._files = [database, Path(f"{database}-wal")]
        self._waker = waker
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _signature(self) -> tuple[tuple[int, int], ...]:
        found = []
        for path in self._files:
            try:
                stat = os.stat(path)
            except OSError:
                found.append((-1, -1))
                continue
            found.append((stat.st_mtime_ns, stat.st_size))
        return tuple(found)

    def _watch(self, seen: tuple[tuple[int, int], ...]) -> None:
        while not self._stop.wait(self._waker.fast_seconds):
            now = self._signature()
            if now != seen:
                if not self._waker.busy():
                    self._waker.wake()
                else:
                    # Work runs here: the queue threads poll at the fast interval, and waking them on every
                    # write of that work would only add polls (and lock waits) to it. But a thread that began
                    # its wait while all was idle (the search queue's, when a run was dequeued) would sleep
                    # through the searches that run enqueues: end such long waits only.
                    self._waker.wake_long_waits()
            seen = now

    def start(self) -> None:
        """Start watching from the files as they are now (a write after this call is always seen)."""
        self._thread = threading.Thread(
            target=self._watch, args=(self._signature(),), name="queue-wakeups", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)


def queue_wakeups(
    database: Path | None, fast_seconds: float, busy: Callable[[], bool]
) -> DatabaseWatcher | None:
    """Install the waker into DBOS (before `DBOS.launch()`); on SQLite, return the watcher to start once
    DBOS is launched. `database` is the SQLite file, None on Postgres (where nothing is installed)."""
    if database is None:
        return None
    waker = QueueWaker(fast_seconds, busy)
    install_queue_waker(waker.wait_bound, waker.attach)
    return DatabaseWatcher(database, waker)
