"""Every use of DBOS that goes past its public API, in one place, each with a test (tests/test_dbos_private.py).

DBOS 3.4 has no public way to do these few things, so they reach into its private modules. Keeping them
here means a DBOS upgrade is checked in one file and one test module: if a name moved, the tests fail here
rather than somewhere in a run.

- The system database behind a `DBOSClient`: read DBOS's tables in one query where the client has only
  per-workflow calls (the run list's events, the executors' counts), and hand an executor's unfinished
  workflows back to the queues (what DBOS's own recovery does, run for another executor).
- DBOS's internal queue, where DBOS puts recovered workflows that were not queued.
- The deadline DBOS keeps for the running workflow (its `workflow_timeout`, counted from dequeue).
- The workflow attribute DBOS restores a recovered workflow's trace context from.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from dbos import DBOSClient
from dbos._context import OTEL_CARRIER_ATTRIBUTE as _OTEL_CARRIER_ATTRIBUTE
from dbos._context import get_local_dbos_context
from dbos._serialization import deserialize_value
from dbos._utils import INTERNAL_QUEUE_NAME as _INTERNAL_QUEUE_NAME

if TYPE_CHECKING:
    from dbos._sys_db import SystemDatabase

INTERNAL_QUEUE_NAME: str = _INTERNAL_QUEUE_NAME
"""The queue DBOS itself listens to on every worker; workflows started outside a queue go back there."""
OTEL_CARRIER_ATTRIBUTE: str = _OTEL_CARRIER_ATTRIBUTE
"""The workflow attribute holding the trace context DBOS starts a recovered workflow's span under."""


def system_database(client: DBOSClient) -> SystemDatabase:
    """The system database a `DBOSClient` talks to (DBOS has no public accessor)."""
    return client._sys_db  # pyright: ignore[reportPrivateUsage]


def workflow_deadline_epoch_ms() -> int | None:
    """The running workflow's DBOS deadline (epoch ms), None outside a workflow or without a timeout.

    DBOS sets it when a worker dequeues the workflow and restores it on recovery, so it is the same in
    every replay.
    """
    context = get_local_dbos_context()
    return context.workflow_deadline_epoch_ms if context is not None else None


def hand_back(sys_db: SystemDatabase, executor_id: str, application_version: str) -> list[str]:
    """Put `executor_id`'s unfinished workflows of `application_version` back on their queues; their ids.

    The caller holds that executor's lock, so no live worker is running them. Each goes back where it was
    queued before (runs, searches), others to DBOS's internal queue; every worker listens to both and
    resumes each from its last completed step. Idempotent: only PENDING rows of this executor change.
    """
    pending = sys_db.get_pending_workflows(executor_id, application_version)
    return [
        workflow.workflow_id
        for workflow in pending
        if sys_db.reenqueue_for_recovery(workflow.workflow_id, [executor_id], INTERNAL_QUEUE_NAME)
    ]


def events_of(client: DBOSClient, key: str, workflow_ids: list[str]) -> dict[str, Any]:
    """The value of event `key` of each of `workflow_ids` that has one, in one query (not one per workflow)."""
    sys_db = system_database(client)
    events = sys_db.tables.workflow_events
    query = sa.select(events.c.workflow_uuid, events.c.value, events.c.serialization).where(
        events.c.key == key, events.c.workflow_uuid.in_(workflow_ids)
    )
    with sys_db.engine.connect() as connection:
        rows = connection.execute(query).fetchall()
    return {row[0]: deserialize_value(row[1], row[2], sys_db.serializer) for row in rows}


def executor_counts(
    client: DBOSClient, workflow_name: str
) -> tuple[list[tuple[str, str, int, int | None]], list[tuple[str, str]]]:
    """Per executor and status: (executor, status, workflows, last update in epoch ms); and the top-level
    PENDING workflows named `workflow_name` as (executor, workflow id). Read-only, two queries."""
    sys_db = system_database(client)
    table = sys_db.tables.workflow_status
    counts = (
        sa.select(
            table.c.executor_id,
            table.c.status,
            sa.func.count().label("n"),
            sa.func.max(table.c.updated_at).label("last"),
        )
        .where(table.c.executor_id.is_not(None))
        .group_by(table.c.executor_id, table.c.status)
    )
    pending = sa.select(table.c.executor_id, table.c.workflow_uuid).where(
        table.c.status == "PENDING",
        table.c.name == workflow_name,
        table.c.parent_workflow_id.is_(None),
    )
    with sys_db.engine.connect() as connection:
        count_rows = [(str(e), str(s), int(n), last) for e, s, n, last in connection.execute(counts)]
        pending_rows = [(str(e), str(w)) for e, w in connection.execute(pending)]
    return count_rows, pending_rows
