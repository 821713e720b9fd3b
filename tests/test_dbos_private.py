"""Each use of DBOS's private API (research_agent/_dbos.py) still works with the installed DBOS.

A DBOS upgrade that moves or changes one of these fails here, in one place, instead of somewhere in a run.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator

import pytest
from dbos import DBOS

from research_agent import __version__, _dbos
from research_agent.client import ResearchClient
from research_agent.database import executor_id_of
from research_agent.naming import RESEARCH_WORKFLOW
from research_agent.options import resolve_options
from research_agent.runtime import worker
from research_agent.schema import STATUS_EVENT, Phase
from research_agent.settings import Settings


@pytest.fixture
def finished_run(settings: Settings) -> Iterator[tuple[ResearchClient, str]]:
    """A completed offline run, its worker still up."""
    with worker(settings), ResearchClient(settings) as client:
        options, _ = resolve_options(settings, offline=True)
        run_id = client.submit("What is the capital of Peru?", options, run_id="private-api")
        assert client.wait(run_id, timeout=120).phase is Phase.COMPLETED
        yield client, run_id


def test_the_system_database_of_a_client_has_dbos_tables(finished_run: tuple[ResearchClient, str]) -> None:
    client, _ = finished_run
    sys_db = _dbos.system_database(client._client)
    assert {"workflow_status", "workflow_events"} <= set(vars(sys_db.tables))


def test_events_of_reads_what_the_run_published(finished_run: tuple[ResearchClient, str]) -> None:
    client, run_id = finished_run
    events = _dbos.events_of(client._client, STATUS_EVENT, [run_id, "no-such-run"])
    assert list(events) == [run_id]
    assert events[run_id] == client._client.get_event(run_id, STATUS_EVENT, timeout_seconds=0)


def test_event_history_holds_every_status_the_run_published_once_in_order(
    finished_run: tuple[ResearchClient, str],
) -> None:
    """What the HTTP API's progress stream reads: each published status, read on from a step."""
    client, run_id = finished_run
    history = _dbos.event_history(client._client, STATUS_EVENT, {run_id: -1, "no-such-run": -1})
    assert {workflow_id for workflow_id, _, _ in history} == {run_id}
    sequences = [value["sequence"] for _, _, value in history]
    assert len(sequences) > 3 and sequences == list(range(1, len(sequences) + 1))
    assert history[-1][2] == client._client.get_event(run_id, STATUS_EVENT, timeout_seconds=0)
    steps = [step for _, step, _ in history]
    later = _dbos.event_history(client._client, STATUS_EVENT, {run_id: steps[1]})
    assert [value["sequence"] for _, _, value in later] == sequences[2:]
    assert _dbos.event_history(client._client, STATUS_EVENT, {}) == []


def test_executor_counts_see_the_worker_and_its_runs(
    finished_run: tuple[ResearchClient, str], settings: Settings
) -> None:
    client, _ = finished_run
    counts, pending = _dbos.executor_counts(client._client, RESEARCH_WORKFLOW)
    mine = [row for row in counts if row[0] == executor_id_of(settings)]
    assert any(status == "SUCCESS" and n >= 1 and last for _, status, n, last in mine), counts
    assert pending == []


def test_hand_back_finds_nothing_to_hand_back_of_a_finished_run(
    finished_run: tuple[ResearchClient, str], settings: Settings
) -> None:
    client, _ = finished_run
    sys_db = _dbos.system_database(client._client)
    assert _dbos.hand_back(sys_db, executor_id_of(settings), __version__) == []


def test_the_workflow_deadline_is_none_outside_a_workflow() -> None:
    assert _dbos.workflow_deadline_epoch_ms() is None


def test_dbos_contexts_carry_the_deadline_we_read() -> None:
    """The attribute `workflow_deadline_epoch_ms` reads (a run's real deadline is exercised end to end by
    the deadline tests of tests/test_run_controls.py)."""
    from dbos._context import DBOSContext

    assert DBOSContext().workflow_deadline_epoch_ms is None


def test_dbos_restores_trace_context_from_the_attribute_we_write() -> None:
    """Recovery starts a workflow's span under the carrier stored in this attribute."""
    import dbos._core

    assert _dbos.OTEL_CARRIER_ATTRIBUTE
    assert "OTEL_CARRIER_ATTRIBUTE" in inspect.getsource(dbos._core) or "OTEL_CARRIER_ATTRIBUTE" in (
        inspect.getsource(dbos._context)
    )


def test_recovered_workflows_go_to_the_queue_every_worker_listens_to() -> None:
    """The internal queue we hand unqueued workflows back to is the one DBOS's own recovery uses."""
    import dbos._recovery

    assert _dbos.INTERNAL_QUEUE_NAME
    assert "INTERNAL_QUEUE_NAME" in inspect.getsource(dbos._recovery) or "INTERNAL_QUEUE_NAME" in (
        inspect.getsource(DBOS)
    )
    assert dbos.WorkflowStatusString.PENDING.value == "PENDING"


def test_every_reader_of_py_pickle_rows_goes_through_the_safe_unpickler() -> None:
    # DBOS decodes a row labelled `py_pickle` with its module-level default serializer whatever it was
    # given, and a DBOSClient makes its own: both must refuse what `unpickling` refuses.
    import base64
    import os
    import pickle

    from dbos._serialization import DBOSDefaultSerializer, DefaultSerializer, deserialize_value

    from research_agent.unpickling import RefusedRecord

    class Gadget:
        def __reduce__(self) -> tuple[object, tuple[()]]:
            return os.getcwd, ()  # harmless if it ran; refused all the same

    _dbos.read_pickles_safely()
    row = base64.b64encode(pickle.dumps(Gadget())).decode()
    for serializer in (DBOSDefaultSerializer, DefaultSerializer()):
        with pytest.raises(RefusedRecord, match=r"posix\.getcwd"):
            deserialize_value(row, "py_pickle", serializer)
    assert deserialize_value(
        base64.b64encode(pickle.dumps({"a": 1})).decode(), "py_pickle", DBOSDefaultSerializer
    ) == {"a": 1}


def test_the_waits_and_writes_we_wake_through_keep_the_shape_we_replace() -> None:
    """`wake_waiters_here` replaces these DBOS methods with ones of the same parameters, and wakes a
    receiver through DBOS's waiter map the way its notification listener does."""
    from dbos._sys_db import SystemDatabase

    def parameters(method: object) -> list[str]:
        return list(inspect.signature(method).parameters)  # type: ignore[arg-type]

    assert parameters(_dbos._DBOS_AWAIT_RESULT) == [
        "self",
        "workflow_id",
        "polling_interval",
        "fail_if_missing",
    ]
    assert parameters(_dbos._DBOS_AWAIT_FIRST) == ["self", "workflow_ids", "polling_interval"]
    assert parameters(_dbos._DBOS_OUTCOME_WRITE)[:3] == ["self", "workflow_id", "status"]
    assert parameters(_dbos._DBOS_SEND)[:2] == ["self", "messages"]
    assert "notifications_map" in inspect.getsource(SystemDatabase.recv_setup)
    assert "def _waiter" in inspect.getsource(SystemDatabase)
