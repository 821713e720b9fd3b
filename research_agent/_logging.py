"""What a worker's log says when things go wrong: one line per event, not a traceback per thread.

DBOS logs every step retry with a full traceback, and while the database is unreachable every one of
its threads warns, with a traceback and the SQL, many times a second (one outage of a few seconds wrote
64 KiB). These filters on the `dbos` logger turn a retry into one line, an outage into one line
every ten seconds that says how many warnings it stands for, and a workflow cancelled on purpose (a search
stopped by `finish` or a deadline, a cancelled run) into one line instead of an error with a traceback.
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


class OneLineCancellations(logging.Filter):
    """A workflow that ended because it was cancelled: one INFO line, not an ERROR with a traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if type(error).__name__ in _CANCELLED:
            record.msg, record.args, record.exc_info = f"cancelled: {error}", (), None
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


_CANCELLED = ("DBOSAwaitedWorkflowCancelledError", "DBOSWorkflowCancelledError")


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
    """Put the filters on `logger` (once)."""
    for kind in (OneLineRetries, OneLineCancellations, DatabaseOutage):
        if not any(isinstance(f, kind) for f in logger.filters):
            logger.addFilter(kind())
