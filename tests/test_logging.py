"""The worker's log filters: DBOS's tracebacks become one line each."""

from __future__ import annotations

import logging
import sys

from dbos._error import DBOSAwaitedWorkflowCancelledError

from research_agent import _logging


def _record(error: BaseException, level: int = logging.ERROR) -> logging.LogRecord:
    try:
        raise error
    except BaseException:
        exc_info = sys.exc_info()
    return logging.LogRecord(
        "dbos", level, __file__, 1, "Exception encountered in asynchronous workflow:", (), exc_info
    )


def test_a_cancelled_workflow_is_one_info_line():
    record = _record(DBOSAwaitedWorkflowCancelledError("run-search-3"))
    assert _logging.OneLineCancellations().filter(record)
    assert record.levelno == logging.INFO and record.exc_info is None
    assert record.getMessage() == "cancelled: DBOS Error 13: Awaited workflow run-search-3 was cancelled"


def test_other_errors_keep_their_traceback():
    record = _record(ValueError("boom"))
    assert _logging.OneLineCancellations().filter(record)
    assert record.levelno == logging.ERROR and record.exc_info is not None


def test_install_adds_each_filter_once():
    logger = logging.getLogger("test-logging-install")
    _logging.install(logger)
    _logging.install(logger)
    kinds = [type(f) for f in logger.filters]
    assert sorted(k.__name__ for k in kinds) == ["DatabaseOutage", "OneLineCancellations", "OneLineRetries"]
