"""What a worker's log says when things go wrong: one line per event, not a traceback per thread.

DBOS logs every step retry with a full traceback, and while the database is unreachable every one of
its threads warns, with a traceback and the SQL, many times a second (one outage of a few seconds wrote
64 KiB). These filters on the `dbos` logger turn a retry into one line, and an outage into one line
every ten seconds that says how many warnings it stands for.
"""

from __future__ import annotations

import logging
import threading
import time

OUTAGE_WINDOW_SECONDS = 10.0
_OUTAGE_MARKERS = (
    "OperationalError",
    "connection failed",
    "server closed the connection",
    "database is locked",
)


class OneLineRetries(logging.Filter):
    """A step retry as one line naming the error, without its traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and str(record.msg).startswith("Step being automatically retried"):
            error = record.exc_info[1]
            record.msg = f"{record.msg}: {type(error).__name__}: {error}"
            record.exc_info = None
        return True


def _first_line(text: str) -> str:
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith(("Traceback", "File ", "[SQL", "(Background")):
            return line
    return text.strip()


class DatabaseOutage(logging.Filter):
    """While the database is unreachable: one line every `OUTAGE_WINDOW_SECONDS`, the rest counted."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._last = float("-inf")
        self._muted = 0

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        error = record.exc_info[1] if record.exc_info else None
        if (
            not any(marker in text for marker in _OUTAGE_MARKERS)
            and type(error).__name__ != "OperationalError"
        ):
            return True
        with self._lock:
            now = time.monotonic()
            if now - self._last < OUTAGE_WINDOW_SECONDS:
                self._muted += 1
                return False
            muted, self._muted, self._last = self._muted, 0, now
        cause = _first_line(str(error)) if error is not None else _first_line(text.split(": ", 1)[-1])
        record.msg = f"database unreachable, retrying: {cause.removeprefix('(psycopg.OperationalError) ')}"
        if muted:
            record.msg += f" ({muted} more warnings like it since the last)"
        record.args = ()
        record.exc_info = None
        return True


def install(logger: logging.Logger) -> None:
    """Put both filters on `logger` (once)."""
    for kind in (OneLineRetries, DatabaseOutage):
        if not any(isinstance(f, kind) for f in logger.filters):
            logger.addFilter(kind())
