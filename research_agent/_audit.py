"""An append-only log of real executions of model requests and searches.

When `RESEARCH_EXECUTION_LOG` is set, every model request and search that really runs (not one replayed
from a DBOS checkpoint) appends a JSON line when it starts and another when it has finished. Crash tests count these lines to prove that recovery never
repeats finished work; operators can use it to audit what a run cost.
"""

from __future__ import annotations

import json
import os
import time

from dbos import DBOS

from . import engine_settings


def record_execution(kind: str, stage: str, **fields: object) -> None:
    """Append a line: `kind` ('model' or 'search') reached `stage` ('start' or 'end') in the current step."""
    path = engine_settings.current().execution_log
    if path is None:
        return
    line = json.dumps(
        {
            "kind": kind,
            "stage": stage,
            "workflow_id": DBOS.workflow_id,
            "step_id": DBOS.step_id,
            "pid": os.getpid(),
            "at": time.time(),
            **fields,
        },
        default=str,
    )
    # One write() of a short line on an O_APPEND file is atomic, so concurrent steps never interleave.
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)
