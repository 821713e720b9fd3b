"""Idle queue polling (issue 21): DBOS's queue threads sleep on a stop event that can be woken early, a
write to the SQLite database wakes them, and work running here keeps their waits short."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import dbos._dbos as dbos_module

from research_agent import _dbos
from research_agent._queue_wakeups import IDLE_POLL_SECONDS, DatabaseWatcher, QueueWaker
from research_agent.runtime import worker
from research_agent.settings import Settings

from ._process import make_settings


def _wait_in_thread(event: threading.Event, name: str, timeout: float) -> tuple[threading.Thread, list[bool]]:
    result: list[bool] = []
    thread = threading.Thread(target=lambda: result.append(event.wait(timeout)), name=name)
    thread.start()
    return thread, result


def _write_while_watching(database: Path, waker: QueueWaker, woken: threading.Event) -> bool:
    """Watch an empty `database` for `waker`, write its WAL file, and say whether `woken` was set."""
    database.write_bytes(b"")
    watcher = DatabaseWatcher(database, waker)
    watcher.start()
    try:
        Path(f"{database}-wal").write_bytes(b"a committed transaction")
        return woken.wait(timeout=60)
    finally:
        watcher.stop()


def test_a_woken_queue_thread_polls_without_stopping_and_a_set_event_stops_it() -> None:
    stop = _dbos._WakeableStop(lambda timeout: timeout)
    thread, result = _wait_in_thread(stop, "queue-worker-research", timeout=600)
    while not thread.is_alive():
        pass
    stop.wake()  # before or during its wait: the wake-up is not lost either way
    thread.join()
    assert result == [False]  # woken, not stopped: the queue thread polls and goes on
    thread, result = _wait_in_thread(stop, "queue-worker-research", timeout=600)
    stop.set()
    thread.join()
    assert result == [True]


def test_a_wake_up_between_two_waits_ends_the_next_wait_at_once() -> None:
    stop = _dbos._WakeableStop(lambda timeout: timeout)
    polling, polled = threading.Event(), threading.Event()
    results: list[bool] = []

    def queue_thread() -> None:
        results.append(stop.wait(0))  # a first wait, then a poll of the queue ...
        polling.set()
        polled.wait()  # ... during which the wake-up comes
        results.append(stop.wait(600))

    thread = threading.Thread(target=queue_thread, name="queue-worker-search")
    thread.start()
    polling.wait()
    stop.wake()
    polled.set()
    thread.join()  # returns at once, not after 600 s: the wake-up was kept for the next wait
    assert results == [False, False]


def test_work_running_here_bounds_a_queue_thread_wait_to_the_fast_interval() -> None:
    busy = [False]
    waker = QueueWaker(0.05, lambda: busy[0])
    assert waker.wait_bound(IDLE_POLL_SECONDS) == IDLE_POLL_SECONDS
    busy[0] = True
    assert waker.wait_bound(IDLE_POLL_SECONDS) == 0.05
    stop = _dbos._WakeableStop(waker.wait_bound)
    thread, result = _wait_in_thread(stop, "queue-worker-search", timeout=600)
    thread.join()  # ends after the fast interval although 600 s were asked for
    assert result == [False]


def test_a_write_to_the_database_wakes_the_queue_threads(tmp_path: Path) -> None:
    database = tmp_path / "research.sqlite"
    woken = threading.Event()
    waker = QueueWaker(0.01, lambda: False)
    waker.wake = woken.set  # type: ignore[method-assign]
    assert _write_while_watching(database, waker, woken)


def test_a_wake_for_long_waits_ends_a_long_wait_and_leaves_short_ones_alone() -> None:
    stop = _dbos._WakeableStop(lambda timeout: timeout)
    stop.wake(longer_than=0.05)  # nobody waits long: nothing to wake, so no wake-up is kept either
    assert stop._wakes == 0
    thread, result = _wait_in_thread(stop, "queue-worker-search", timeout=600)
    while thread.ident not in stop._waiting:  # until the thread is inside its 600 s wait
        time.sleep(0.001)
    stop.wake(longer_than=0.05)
    thread.join()  # at once, not after 600 s: a wait begun while idle does not outlast new work
    assert result == [False]


def test_a_write_while_work_runs_here_wakes_only_long_waits(tmp_path: Path) -> None:
    """While a run is in flight the queue threads poll fast; a thread that began its long idle wait before
    the run started (the search queue's, when the run itself was dequeued) must still see the searches
    that run enqueues, not sleep through its whole idle interval."""
    woken: list[float | None] = []
    called = threading.Event()
    waker = QueueWaker(0.01, lambda: True)

    def wake(longer_than: float | None) -> None:
        woken.append(longer_than)
        called.set()

    waker.attach(wake)
    assert _write_while_watching(tmp_path / "research.sqlite", waker, called)
    assert woken[0] == 0.01  # only waits longer than the fast interval are ended


def test_a_sqlite_worker_gives_dbos_queue_threads_the_wakeable_stop_event(tmp_path: Path) -> None:
    settings: Settings = make_settings(
        data_dir=tmp_path / "data", database_url=f"sqlite:///{tmp_path / 'w.sqlite'}", offline=True
    )
    with worker(settings):
        instance = dbos_module._dbos_global_instance
        assert instance is not None
        events = instance.background_thread_stop_events
        assert any(isinstance(event, _dbos._WakeableStop) for event in events)
        assert _dbos.workflows_running_here() is False
    assert _dbos._queue_waker is None  # a later DBOS in this process gets DBOS's own event


def test_work_enqueued_here_wakes_the_queue_threads_at_once(tmp_path: Path) -> None:
    """A run's searches are enqueued by this process: its queue threads are told at once rather than
    finding them at their next poll; with no DBOS launched it does nothing."""
    _dbos.wake_queue_threads()  # nothing launched: no error
    settings: Settings = make_settings(
        data_dir=tmp_path / "data", database_url=f"sqlite:///{tmp_path / 'w.sqlite'}", offline=True
    )
    with worker(settings):
        instance = dbos_module._dbos_global_instance
        assert instance is not None
        stops = [e for e in instance.background_thread_stop_events if isinstance(e, _dbos._WakeableStop)]
        before = [stop._wakes for stop in stops]
        _dbos.wake_queue_threads()
        assert stops and [stop._wakes for stop in stops] == [count + 1 for count in before]


def test_a_worker_keeps_what_it_started_with_out_of_full_collections_while_it_runs(tmp_path: Path) -> None:
    """A full collection of everything a worker loaded pauses every thread for ~0.1 s; frozen while it
    runs, given back when it stops (a later worker in this process, or a test, collects it as usual)."""
    import gc

    settings: Settings = make_settings(
        data_dir=tmp_path / "data", database_url=f"sqlite:///{tmp_path / 'w.sqlite'}", offline=True
    )
    assert gc.get_freeze_count() == 0
    with worker(settings):
        frozen = gc.get_freeze_count()
        assert frozen > 10_000  # modules, DBOS, pydantic: most of the process
        assert len(gc.get_objects(generation=2)) < frozen
    assert gc.get_freeze_count() == 0
