"""A workflow waiting for a child sees it end as soon as this process writes its outcome, not at its next poll.

DBOS waits for a child's result (`handle.get_result()`, `DBOS.wait_first`) by querying its status, then
sleeping a fixed interval and querying again. A run waits that way for its plan, every search and its
analysis, so each handoff between phases cost up to one interval plus a busy event loop's delay in
reaching the sleeper: on a warm offline run, 60 to 100 ms of its 0.4 s (bench/example_shape.py). When the
child runs in this process (the usual case: one worker), the moment its outcome is written is known here.

`Completions` is that signal: DBOS's outcome write calls `ended(workflow_id)`, and a waiter registered
for that id is woken at once. Waiters still poll at their interval, so a child that ends in another
process (a fleet on Postgres, a second process on SQLite) is seen exactly as before; this only makes the
common case early. A waiter registers before it queries, so an outcome written between its query and
its sleep still wakes it.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress


class Completions:
    """Workflow outcomes written by this process, as wake-ups for the coroutines waiting on them.

    Thread-safe: outcomes are written from DBOS's executor threads or its event loop, and a waiter may sit
    on any event loop.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiters: dict[str, set[asyncio.Future[None]]] = {}

    @contextmanager
    def watching(self, workflow_ids: list[str]) -> Iterator[asyncio.Future[None]]:
        """A future of the running loop, done once any of `workflow_ids` ends here while the block runs."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._lock:
            for workflow_id in workflow_ids:
                self._waiters.setdefault(workflow_id, set()).add(future)
        try:
            yield future
        finally:
            with self._lock:
                for workflow_id in workflow_ids:
                    waiting = self._waiters.get(workflow_id)
                    if waiting is not None:
                        waiting.discard(future)
                        if not waiting:
                            del self._waiters[workflow_id]
            if not future.done():
                future.cancel()

    def ended(self, workflow_id: str) -> None:
        """`workflow_id`'s outcome is written: wake whoever waits for it."""
        with self._lock:
            waiting = self._waiters.pop(workflow_id, None)
        for future in waiting or ():
            with suppress(RuntimeError):  # its loop closed meanwhile: nobody is left to wake
                future.get_loop().call_soon_threadsafe(_resolve, future)

    def waiting(self) -> int:
        """How many workflow ids someone waits for (for tests and diagnostics)."""
        with self._lock:
            return len(self._waiters)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


async def until(future: asyncio.Future[None], timeout: float) -> None:
    """Wait for `future` or `timeout` seconds, whichever comes first (the poll interval stays the bound)."""
    await asyncio.wait((future,), timeout=timeout)
