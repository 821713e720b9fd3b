"""The UI's shared poll (ui/live_updates.py): one read a topic for every tab, a rerun only where the value
differs from what the tab drew, none for a tab that is gone. Driven directly, with a recording `rerun`."""

from __future__ import annotations

from research_agent.settings import Settings
from ui import live_updates
from ui.live_updates import Watcher


class Reruns:
    """Records the reruns asked for; `gone` sessions answer that they no longer exist."""

    def __init__(self, gone: frozenset[str] = frozenset()) -> None:
        self.asked: list[tuple[str, str]] = []
        self.gone = gone

    def open(self, session_id: str, _fragment_id: str) -> bool:
        return session_id not in self.gone

    def __call__(self, session_id: str, fragment_id: str, _subscriber: object) -> bool:
        if session_id in self.gone:
            return False
        self.asked.append((session_id, fragment_id))
        return True


def _watcher(reruns: Reruns) -> Watcher:
    """A watcher whose own thread waits an hour before its first read: only the test's `poll_once` reads."""
    return Watcher(poll_seconds=3600, rerun=reruns, shown_somewhere=reruns.open)


def _subscribe(watcher: Watcher, session: str, read: object, shown: object, min_gap: float = 0.0) -> None:
    watcher.subscribe(("run", "r1"), read, shown, session, "fragment", "page", "run=r1", min_gap)  # type: ignore[arg-type]


def test_a_change_reruns_each_tab_once_and_no_change_reruns_none() -> None:
    reruns = Reruns()
    watcher = _watcher(reruns)
    state = {"phase": "PLANNING"}
    reads = []

    def read() -> str:
        reads.append(1)
        return state["phase"]

    for session in ("tab-1", "tab-2", "tab-3"):
        _subscribe(watcher, session, read, "PLANNING")

    watcher.poll_once()
    assert reruns.asked == [] and len(reads) == 1  # one read for the three tabs
    state["phase"] = "SEARCHING"
    watcher.poll_once()
    assert sorted(reruns.asked) == [("tab-1", "fragment"), ("tab-2", "fragment"), ("tab-3", "fragment")]
    watcher.poll_once()  # the tabs were sent what changed; nothing new since
    assert len(reruns.asked) == 3 and len(reads) == 3


def test_a_tab_that_drew_an_older_value_is_rerun_even_if_the_others_are_current() -> None:
    reruns = Reruns()
    watcher = _watcher(reruns)
    _subscribe(watcher, "current", lambda: "SEARCHING", "SEARCHING")
    _subscribe(watcher, "behind", lambda: "SEARCHING", "PLANNING")

    watcher.poll_once()

    assert reruns.asked == [("behind", "fragment")]


def test_reruns_of_one_tab_are_spaced_by_its_min_gap() -> None:
    reruns = Reruns()
    watcher = _watcher(reruns)
    values = iter(["a", "b", "c"])
    _subscribe(watcher, "tab", lambda: next(values), "start", min_gap=3600)

    watcher.poll_once()
    watcher.poll_once()  # changed again at once: held back by the gap

    assert reruns.asked == [("tab", "fragment")]


def test_a_closed_tab_is_forgotten_and_its_topic_no_longer_read() -> None:
    reruns = Reruns(gone=frozenset({"closed"}))
    watcher = _watcher(reruns)
    reads = []
    _subscribe(watcher, "closed", lambda: reads.append(1), None)  # unchanged: only the closing prunes it

    watcher.poll_once()

    assert watcher.topics() == [] and reads == []


def test_outside_a_streamlit_server_nothing_is_pushed(settings: Settings) -> None:
    """AppTest and plain Python have no server to push from: fragments poll with run_every instead."""
    assert not live_updates.push_available(settings)
    assert not live_updates.watch(("worker",), lambda: 1, 1)
