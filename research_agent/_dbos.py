"""Every use of DBOS that goes past its public API, in one place, each with a test (tests/test_dbos_private.py).

DBOS 3.4 has no public way to do these few things, so they reach into its private modules. Keeping them
here means a DBOS upgrade is checked in one file and one test module: if a name moved, the tests fail here
rather than somewhere in a run.

- The system database behind a `DBOSClient`: read DBOS's tables in one query where the client has only
  per-workflow calls (the run list's events, the executors' counts), and hand an executor's unfinished
  workflows back to the queues (what DBOS's own recovery does, run for another executor).
- Every value a workflow set for an event, in the order it set them (DBOS keeps each in its events
  history, written with the step that set it): what the HTTP API's progress stream replays from an offset.
- Every value a workflow wrote to a stream past an offset, for many workflows in one query: the report's
  text as the analyst writes it, followed by the HTTP API.
- DBOS's internal queue, where DBOS puts recovered workflows that were not queued.
- The deadline DBOS keeps for the running workflow (its `workflow_timeout`, counted from dequeue).
- The workflow attribute DBOS restores a recovered workflow's trace context from.
- DBOS's default serializer, made to read pickles with `unpickling.loads`: DBOS decodes every row
  labelled `py_pickle` with that class whatever serializer it is given, so it is the one place to fix.
- The stop event DBOS's queue threads sleep on between polls, replaced by one that can also be woken
  early (`install_queue_waker`, used by `_queue_wakeups`; `wake_queue_threads` after an enqueue): DBOS's
  polls are on a fixed interval otherwise.
- DBOS's waits for a workflow's result (`get_result`, `wait_first`) and for a message (`recv`), made to end
  as soon as this process writes that outcome or sends that message (`wake_waiters_here`, with
  `_completion_wakeups.Completions`): on SQLite they sleep a fixed interval between queries otherwise.
"""

from __future__ import annotations

import asyncio
import base64
import threading
from collections.abc import Callable, Iterator
from typing import Any

import dbos._dbos as _dbos_module
import sqlalchemy as sa
from dbos import DBOSClient
from dbos._context import OTEL_CARRIER_ATTRIBUTE as _OTEL_CARRIER_ATTRIBUTE
from dbos._context import get_local_dbos_context
from dbos._outcome import NoResult
from dbos._queue import RESERVED_QUEUE_NAME_PREFIX as _DBOS_QUEUE_PREFIX
from dbos._queue import queue_thread as _original_queue_thread
from dbos._serialization import DefaultSerializer, deserialize_args, deserialize_exception, deserialize_value
from dbos._sys_db import SendMessage, SystemDatabase
from dbos._sys_db import _dbos_null_topic as _DBOS_NULL_TOPIC
from dbos._utils import INTERNAL_QUEUE_NAME as _INTERNAL_QUEUE_NAME

from . import unpickling
from ._completion_wakeups import Completions, until

INTERNAL_QUEUE_NAME: str = _INTERNAL_QUEUE_NAME
"""The queue DBOS itself listens to on every worker; workflows started outside a queue go back there."""
OTEL_CARRIER_ATTRIBUTE: str = _OTEL_CARRIER_ATTRIBUTE
"""The workflow attribute holding the trace context DBOS starts a recovered workflow's span under."""


def _safe_deserialize(self: DefaultSerializer, serialized_data: str) -> Any:
    return unpickling.loads(base64.b64decode(serialized_data))


def read_pickles_safely() -> None:
    """Make every DBOS reader in this process build stored values with `unpickling.loads`.

    DBOS hands rows labelled `py_pickle` to its module-level `DefaultSerializer` instance even when given
    another serializer, and `DBOSClient` makes its own; replacing the method on the class covers both, and
    the rows DBOS already wrote read back unchanged. Idempotent; called before any DBOS object reads a row.
    """
    DefaultSerializer.deserialize = _safe_deserialize  # type: ignore[method-assign,assignment]


_WaitBound = Callable[[float | None], float | None]
_Wake = Callable[[float | None], None]
_queue_waker: tuple[_WaitBound, Callable[[_Wake], None]] | None = None


class _WakeableStop(threading.Event):
    """DBOS's stop event for its queue threads, whose waits can also end early without stopping them.

    A queue thread sleeps with `stop_event.wait(interval)` and stops when that returns True; here a wait
    notified by the waker returns False (not stopped), so the thread polls its queue at once. The waits of
    the threads of our queues (named `queue-worker-NAME`; not DBOS's own `_dbos_*` queues) are bounded
    by `wait_bound`.
    """

    def __init__(self, wait_bound: Callable[[float | None], float | None]) -> None:
        super().__init__()
        self.condition = threading.Condition()
        self._wait_bound = wait_bound
        self._wakes = 0  # how many wake-ups so far
        self._seen: dict[int, int] = {}  # per queue thread: the wake-ups it has answered with a poll
        self._waiting: dict[int, float | None] = {}  # per queue thread now waiting: how long it may wait

    def wake(self, longer_than: float | None = None) -> None:
        """End every queue thread's wait now; a thread busy polling when it comes polls once more at once
        (a wake-up is never lost between two waits).

        With `longer_than`, only if some thread is waiting longer than that: one that began a long wait
        while nothing ran here, before this process started work (a run's searches enqueued meanwhile
        would wait out its whole interval); threads on a short wait poll soon anyway.
        """
        with self.condition:
            if longer_than is not None and not any(
                timeout is None or timeout > longer_than for timeout in self._waiting.values()
            ):
                return
            self._wakes += 1
            self.condition.notify_all()

    def set(self) -> None:
        with self.condition:
            super().set()
            self.condition.notify_all()

    def wait(self, timeout: float | None = None) -> bool:
        name = threading.current_thread().name
        # DBOS's queue manager and its own queues (recovery, the internal one) keep its plain waits: only
        # our queues carry a run's work, and a wake-up would cost each of the others a query for nothing.
        if not name.startswith("queue-worker-") or name.startswith(f"queue-worker-{_DBOS_QUEUE_PREFIX}"):
            return super().wait(timeout)
        timeout = self._wait_bound(timeout)
        me = threading.get_ident()
        with self.condition:
            if not self.is_set() and self._seen.get(me, self._wakes) == self._wakes:
                self._waiting[me] = timeout
                try:
                    self.condition.wait(timeout)
                finally:
                    del self._waiting[me]
            self._seen[me] = self._wakes
            return self.is_set()


def _wakeable_queue_thread(stop_event: threading.Event, dbos: Any) -> None:
    hooks = _queue_waker
    if hooks is None:
        _original_queue_thread(stop_event, dbos)
        return
    wait_bound, attach = hooks
    wakeable = _WakeableStop(wait_bound)
    events = dbos.background_thread_stop_events  # what DBOS.destroy sets: ours takes the original's place
    events[events.index(stop_event)] = wakeable
    if stop_event.is_set():
        wakeable.set()
    attach(wakeable.wake)
    _original_queue_thread(wakeable, dbos)


def install_queue_waker(wait_bound: _WaitBound, attach: Callable[[_Wake], None]) -> None:
    """Make the next `DBOS.launch()` in this process give its queue threads a wakeable stop event.

    `attach` receives the event's `wake` (call it to wake the queue threads); `wait_bound` maps the
    wait DBOS asks for to the one it gets. `remove_queue_waker` undoes it for later launches.
    """
    global _queue_waker
    _queue_waker = (wait_bound, attach)
    _dbos_module.queue_thread = _wakeable_queue_thread  # type: ignore[attr-defined]  # what DBOS._launch starts


def wake_queue_threads() -> None:
    """Have this process's queue threads poll now: for work this process just enqueued (a run's searches),
    which they would otherwise see at their next poll. Does nothing where no waker was installed
    (Postgres, where the queues poll at the fast interval) or before launch."""
    instance = _dbos_module._dbos_global_instance
    if instance is None:
        return
    for event in list(instance.background_thread_stop_events):
        if isinstance(event, _WakeableStop):
            event.wake()


_DBOS_OUTCOME_WRITE = SystemDatabase.update_workflow_outcome
_DBOS_AWAIT_RESULT = SystemDatabase.await_workflow_result_async
_DBOS_AWAIT_FIRST = SystemDatabase.await_first_workflow_id_async
_DBOS_SEND = SystemDatabase.send_bulk


def wake_waiters_here(completions: Completions, longest_poll: float | None = None) -> None:
    """Make DBOS's waits in this process end as soon as this process wrote what they wait for, besides
    their polls: a workflow's outcome (async `get_result`, `wait_first`, told through `completions`) and a
    message (`recv`, woken through DBOS's own waiter map, as its notification listener does). Idempotent
    (the last call's arguments win); `stop_waking_waiters` restores DBOS's own methods.

    The methods are DBOS's, replaced on its `SystemDatabase` class: the waits keep DBOS's queries, and the
    writes are DBOS's, followed by the notice once they committed. With `longest_poll`, a result wait's
    interval doubles after each poll that found nothing, up to that: a search on a model that answers in
    10 s is polled a dozen times, not 200 (where this process runs the children, the wake-up sees them end
    at once; the poll is for an end written by another process). Without it the interval stays as asked.
    """

    def intervals(first: float) -> Iterator[float]:
        interval = first
        while True:
            yield interval
            if longest_poll is not None:
                interval = min(max(interval * 2, first), max(longest_poll, first))

    def update_workflow_outcome(self: SystemDatabase, workflow_id: str, *args: Any, **kwargs: Any) -> bool:
        landed: bool = _DBOS_OUTCOME_WRITE(self, workflow_id, *args, **kwargs)
        completions.ended(workflow_id)  # also when it did not land: the waiter's query says what holds
        return landed

    async def await_workflow_result_async(
        self: SystemDatabase, workflow_id: str, polling_interval: float, *, fail_if_missing: bool = False
    ) -> Any:
        for interval in intervals(polling_interval):
            with completions.watching([workflow_id]) as ended:
                result = await asyncio.to_thread(
                    self.check_workflow_result, workflow_id, fail_if_missing=fail_if_missing
                )
                if not isinstance(result, NoResult):
                    return result
                await until(ended, interval)
        raise AssertionError("unreachable: the intervals never end")

    async def await_first_workflow_id_async(
        self: SystemDatabase, workflow_ids: list[str], polling_interval: float
    ) -> str:
        for interval in intervals(polling_interval):
            with completions.watching(workflow_ids) as ended:
                result = await asyncio.to_thread(self.check_first_workflow_id, workflow_ids)
                if not isinstance(result, NoResult):
                    return result
                await until(ended, interval)
        raise AssertionError("unreachable: the intervals never end")

    def send_bulk(self: SystemDatabase, messages: list[SendMessage], **kwargs: Any) -> None:
        _DBOS_SEND(self, messages, **kwargs)
        for message in messages:  # committed: a recv woken now finds its message
            payload, _ = self._waiter(message.destination_id, message.topic or _DBOS_NULL_TOPIC)
            signal = self.notifications_map.get(payload)
            if signal is not None:
                signal.set()

    SystemDatabase.update_workflow_outcome = update_workflow_outcome  # type: ignore[method-assign]
    SystemDatabase.send_bulk = send_bulk  # type: ignore[method-assign]
    SystemDatabase.await_workflow_result_async = await_workflow_result_async  # type: ignore[method-assign]
    SystemDatabase.await_first_workflow_id_async = await_first_workflow_id_async  # type: ignore[method-assign]


def stop_waking_waiters() -> None:
    """Give DBOS back its own outcome write, message send and result waits."""
    SystemDatabase.update_workflow_outcome = _DBOS_OUTCOME_WRITE  # type: ignore[method-assign]
    SystemDatabase.await_workflow_result_async = _DBOS_AWAIT_RESULT  # type: ignore[method-assign]
    SystemDatabase.await_first_workflow_id_async = _DBOS_AWAIT_FIRST  # type: ignore[method-assign]
    SystemDatabase.send_bulk = _DBOS_SEND  # type: ignore[method-assign]


def remove_queue_waker() -> None:
    global _queue_waker
    _queue_waker = None


def workflows_running_here() -> bool:
    """Whether the launched DBOS of this process is running any workflow now (False when none is launched)."""
    instance = _dbos_module._dbos_global_instance
    return instance is not None and bool(instance._active_workflows_set.activeList())


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
    """The value of event `key` of each of `workflow_ids` that has one, in one query (not one per workflow).

    A value that cannot be read safely comes back as its `RefusedRecord`, so one planted row does not hide
    every other run from the list.
    """
    sys_db = system_database(client)
    events = sys_db.tables.workflow_events
    query = sa.select(events.c.workflow_uuid, events.c.value, events.c.serialization).where(
        events.c.key == key, events.c.workflow_uuid.in_(workflow_ids)
    )
    with sys_db.engine.connect() as connection:
        rows = connection.execute(query).fetchall()
    values: dict[str, Any] = {}
    for workflow_id, value, serialization in rows:
        try:
            values[workflow_id] = deserialize_value(value, serialization, sys_db.serializer)
        except unpickling.RefusedRecord as refused:
            values[workflow_id] = refused
    return values


def event_history(client: DBOSClient, key: str, after: dict[str, int]) -> list[tuple[str, int, Any]]:
    """Each value of event `key` that the workflows in `after` set after their step `after[id]`, as
    (workflow id, step id, value), in the order each workflow set them; one query for all of them.

    DBOS writes a history row in the same transaction as the step that sets the event, and a replayed
    step writes nothing, so a workflow's rows are every value it published, once each, in step order. A
    value that cannot be read safely comes back as its `RefusedRecord`.
    """
    sys_db = system_database(client)
    return _values_after(sys_db, sys_db.tables.workflow_events_history, "function_id", key, after)


def stream_history(client: DBOSClient, key: str, after: dict[str, int]) -> list[tuple[str, int, Any]]:
    """Each value written to stream `key` of the workflows in `after` past offset `after[id]`, as
    (workflow id, offset, value) in offset order; one query for all of them.

    DBOS numbers a workflow's stream values from 0 as they are written, so reading on from the last offset
    seen misses nothing and repeats nothing. (`DBOSClient.read_stream` follows one workflow and blocks; the
    HTTP API follows many at once.) A value that cannot be read safely comes back as its `RefusedRecord`.
    """
    sys_db = system_database(client)
    return _values_after(sys_db, sys_db.tables.streams, "offset", key, after)


def _values_after(
    sys_db: SystemDatabase, table: sa.Table, position: str, key: str, after: dict[str, int]
) -> list[tuple[str, int, Any]]:
    """The rows of `table` (keyed by workflow, `key` and a numbered `position`) past `after[workflow]`,
    as (workflow id, position, value) in position order per workflow; one query for all of them."""
    if not after:
        return []
    column = table.c[position]
    newer = sa.or_(
        *(sa.and_(table.c.workflow_uuid == workflow_id, column > seen) for workflow_id, seen in after.items())
    )
    query = (
        sa.select(table.c.workflow_uuid, column, table.c.value, table.c.serialization)
        .where(table.c.key == key, newer)
        .order_by(table.c.workflow_uuid, column)
    )
    with sys_db.engine.connect() as connection:
        rows = connection.execute(query).fetchall()
    found: list[tuple[str, int, Any]] = []
    for workflow_id, number, value, serialization in rows:
        try:
            found.append((workflow_id, number, deserialize_value(value, serialization, sys_db.serializer)))
        except unpickling.RefusedRecord as refused:
            found.append((workflow_id, number, refused))
    return found


def refused_rows(client: DBOSClient, workflow_ids: list[str]) -> list[str]:
    """Every value `workflow_ids` stored (inputs, outputs, errors, step results, events) that cannot be read
    safely, one line each naming the row; empty when all of them can.

    Read before a run is handed back to workers (fork, retry, rewrite, resume): a worker would refuse the
    row mid-replay, and the run would fail with nothing said at the command that caused it.
    """
    sys_db = system_database(client)
    tables = sys_db.tables
    status, inputs, outputs = tables.workflow_status, tables.workflow_input, tables.workflow_output
    steps, events = tables.operation_outputs, tables.workflow_events
    serializer = sys_db.serializer
    found: list[str] = []

    def check(where: str, read: Any, *args: Any) -> None:
        try:
            read(*args)
        except Exception as error:  # a refused gadget, or a row that is not a value at all
            found.append(f"{where}: {error}")

    with sys_db.engine.connect() as connection:
        labels = dict(
            connection.execute(
                sa.select(status.c.workflow_uuid, status.c.serialization).where(
                    status.c.workflow_uuid.in_(workflow_ids)
                )
            ).fetchall()
        )
        for workflow_id, value in connection.execute(
            sa.select(inputs.c.workflow_uuid, inputs.c.inputs).where(inputs.c.workflow_uuid.in_(workflow_ids))
        ):
            check(f"{workflow_id}'s input", deserialize_args, value, labels.get(workflow_id), serializer)
        for workflow_id, output, error in connection.execute(
            sa.select(outputs.c.workflow_uuid, outputs.c.output, outputs.c.error).where(
                outputs.c.workflow_uuid.in_(workflow_ids)
            )
        ):
            label = labels.get(workflow_id)
            check(f"{workflow_id}'s output", deserialize_value, output, label, serializer)
            if error is not None:
                check(f"{workflow_id}'s error", deserialize_exception, error, label, serializer)
        for workflow_id, step, name, output, error, label in connection.execute(
            sa.select(
                steps.c.workflow_uuid,
                steps.c.function_id,
                steps.c.function_name,
                steps.c.output,
                steps.c.error,
                steps.c.serialization,
            ).where(steps.c.workflow_uuid.in_(workflow_ids))
        ):
            check(f"{workflow_id} step {step} ({name})", deserialize_value, output, label, serializer)
            if error is not None:
                check(f"{workflow_id} step {step} ({name})", deserialize_exception, error, label, serializer)
        for workflow_id, key, value, label in connection.execute(
            sa.select(events.c.workflow_uuid, events.c.key, events.c.value, events.c.serialization).where(
                events.c.workflow_uuid.in_(workflow_ids)
            )
        ):
            check(f"{workflow_id}'s event {key!r}", deserialize_value, value, label, serializer)
    return found


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
