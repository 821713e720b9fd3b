"""A workflow waiting on a child or a message sees it as soon as this process wrote it, not at its next poll
(research_agent/_completion_wakeups.py, the hook in research_agent/_dbos.py).

The end-to-end tests wait with polls far longer than their own timeout (30 s against 10 s): only the wake-up
can make them pass, so each fails when the hook is gone.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dbos._dbos as dbos_module
import pytest
from dbos import DBOS
from dbos._outcome import NoResult
from dbos._sys_db import SystemDatabase
from dbos._sys_db_sqlite import SQLiteSystemDatabase

from research_agent import _dbos
from research_agent._completion_wakeups import Completions, until
from research_agent.naming import SEARCH_QUEUE
from research_agent.runtime import worker
from research_agent.settings import Settings

from ._process import make_settings

LONG_POLL = 30.0
"""A poll interval no test here may wait out: each is bounded by `PATIENCE`."""
PATIENCE = 10.0


def test_a_waiter_is_woken_when_a_workflow_it_watches_ends_in_another_thread() -> None:
    completions = Completions()

    async def wait() -> float:
        with completions.watching(["a", "b"]) as ended:
            threading.Thread(target=completions.ended, args=("b",)).start()
            start = time.monotonic()
            await until(ended, LONG_POLL)
            return time.monotonic() - start

    assert asyncio.run(asyncio.wait_for(wait(), PATIENCE)) < PATIENCE
    assert completions.waiting() == 0


def test_the_end_of_a_workflow_nobody_watches_wakes_no_one() -> None:
    completions = Completions()

    async def wait() -> bool:
        with completions.watching(["a"]) as ended:
            completions.ended("other")
            await until(ended, 0.05)  # the poll interval ends the wait
            return ended.done()

    assert asyncio.run(wait()) is False
    completions.ended("a")  # nobody waits any more: nothing to do
    assert completions.waiting() == 0


def test_an_end_written_before_the_wait_begins_is_not_lost() -> None:
    """A waiter registers before it queries: an outcome written between its query and its sleep wakes it."""
    completions = Completions()

    async def wait() -> bool:
        with completions.watching(["a"]) as ended:
            completions.ended("a")  # as if written while the query ran
            await until(ended, LONG_POLL)
            return ended.done()

    assert asyncio.run(asyncio.wait_for(wait(), PATIENCE)) is True


def test_a_waiter_whose_loop_closed_is_skipped() -> None:
    completions = Completions()
    loop = asyncio.new_event_loop()

    async def register() -> None:
        completions._waiters.setdefault("a", set()).add(loop.create_future())

    loop.run_until_complete(register())
    loop.close()
    completions.ended("a")  # no error: that loop has nobody left to wake


@DBOS.workflow()
async def _child_after(seconds: float) -> float:
    await asyncio.sleep(seconds)  # ends after its parent began to wait
    return time.time()


@DBOS.workflow()
async def _parent_of_one() -> float:
    handle = await DBOS.enqueue_workflow_async(SEARCH_QUEUE, _child_after, 0.3)
    written = await handle.get_result(polling_interval_sec=LONG_POLL)
    return time.time() - written


@DBOS.workflow()
async def _parent_of_two() -> float:
    handles = [await DBOS.enqueue_workflow_async(SEARCH_QUEUE, _child_after, 0.3) for _ in range(2)]
    first = await DBOS.wait_first_async(handles, polling_interval_sec=LONG_POLL)
    written: float = await first.get_result(polling_interval_sec=LONG_POLL)
    await DBOS.wait_first_async([h for h in handles if h is not first], polling_interval_sec=LONG_POLL)
    return time.time() - written


@DBOS.workflow()
async def _receiver() -> Any:
    return await DBOS.recv_async("topic", timeout_seconds=LONG_POLL)


@pytest.fixture
def sqlite_worker(tmp_path: Path) -> Iterator[Settings]:
    settings: Settings = make_settings(
        data_dir=tmp_path / "data", database_url=f"sqlite:///{tmp_path / 'w.sqlite'}", offline=True
    )
    with worker(settings):
        yield settings


@pytest.fixture
def no_listener_worker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """A SQLite worker without DBOS's notification listener: a receiver's only other way to its message is
    DBOS's fallback check a minute later."""
    monkeypatch.setattr(SQLiteSystemDatabase, "_notification_listener", lambda self: None)
    settings: Settings = make_settings(
        data_dir=tmp_path / "data", database_url=f"sqlite:///{tmp_path / 'w.sqlite'}", offline=True
    )
    with worker(settings):
        yield settings


def test_a_parent_sees_its_queued_child_end_without_waiting_out_its_poll(
    sqlite_worker: Settings,
) -> None:
    seen_after = asyncio.run(asyncio.wait_for(_parent_of_one(), PATIENCE))
    assert seen_after < PATIENCE


def test_wait_first_sees_a_queued_child_end_without_waiting_out_its_poll(
    sqlite_worker: Settings,
) -> None:
    seen_after = asyncio.run(asyncio.wait_for(_parent_of_two(), PATIENCE))
    assert seen_after < PATIENCE


def test_a_message_sent_here_wakes_its_receiver_without_the_listener(no_listener_worker: Settings) -> None:
    async def exchange() -> Any:
        handle = await DBOS.start_workflow_async(_receiver)
        instance = dbos_module._dbos_global_instance
        assert instance is not None
        sys_db = instance._sys_db
        while not any(
            components[0] == handle.workflow_id for _, components, _ in sys_db.notifications_map.snapshot()
        ):
            await asyncio.sleep(0.01)  # until the receiver waits: a message already there needs no wake-up
        await DBOS.send_async(handle.workflow_id, "hello", "topic")
        return await handle.get_result()

    assert asyncio.run(asyncio.wait_for(exchange(), PATIENCE)) == "hello"


class _NeverEnds:
    """Stands in for DBOS's system database: a workflow that has not ended after any number of polls."""

    def __init__(self, polls: int) -> None:
        self.left = polls

    def check_first_workflow_id(self, workflow_ids: list[str]) -> object:
        return self._poll()

    def check_workflow_result(self, workflow_id: str, *, fail_if_missing: bool = False) -> object:
        return self._poll()

    def _poll(self) -> object:
        self.left -= 1
        return "ended" if self.left == 0 else NoResult()


@pytest.mark.parametrize(("longest", "expected"), [(0.4, [0.05, 0.1, 0.2, 0.4, 0.4]), (None, [0.05] * 5)])
def test_result_polls_back_off_to_the_longest_poll_only_when_given_one(
    monkeypatch: pytest.MonkeyPatch, longest: float | None, expected: list[float]
) -> None:
    """On SQLite (a longest poll) a wait polls less and less often: its children end here and wake it;
    on Postgres (none) a search that ends on another worker is seen within the fast interval, as before."""
    waits: list[float] = []

    async def no_wait(future: asyncio.Future[None], timeout: float) -> None:
        waits.append(timeout)

    monkeypatch.setattr(_dbos, "until", no_wait)
    _dbos.wake_waiters_here(Completions(), longest_poll=longest)
    try:
        for wait in (
            lambda: SystemDatabase.await_first_workflow_id_async(_NeverEnds(6), ["a"], 0.05),  # type: ignore[arg-type]
            lambda: SystemDatabase.await_workflow_result_async(_NeverEnds(6), "a", 0.05),  # type: ignore[arg-type]
        ):
            waits.clear()
            assert asyncio.run(wait()) == "ended"
            assert waits == expected
    finally:
        _dbos.stop_waking_waiters()
