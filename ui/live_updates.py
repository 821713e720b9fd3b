"""Live updates for every open tab from one shared poll: a fragment reruns when what it shows changed.

A fragment with `run_every` reruns on a timer the browser keeps, so each open tab costs the server one
script run a second (about 45 ms of CPU here, whatever the fragment draws) even when nothing changed: three
tabs on a finished run took 29 % of a core for a worker panel that said the same thing all along. Here
one watcher thread per UI server reads each watched *topic* (the worker's state, a live run's status)
every `POLL_SECONDS`, once for all the tabs showing it, and asks a session to rerun a fragment only when
the value differs from what that fragment last drew, at most once per `min_gap` seconds. A change is on
screen within `POLL_SECONDS + min_gap` (under a second by default), and an idle tab costs nothing.

A fragment subscribes by calling `watch(topic, read, shown)` each time it runs, with the value it drew.
Streamlit has no public API for a rerun the server asks for: this module is the only place that touches
its internals (the runtime's sessions, the running fragment's id, `AppSession.request_rerun` with an
empty set of widget states, which keeps every widget's value and replays no click). Where they are missing
(another Streamlit release, AppTest) `push_available()` is False and callers poll with `run_every` as
before.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

from research_agent.settings import Settings

POLL_SECONDS = 0.25
"""How often the watcher reads each watched topic (one read for every tab that shows it)."""
MIN_GAP_SECONDS = 0.75
"""Least time between two reruns of one fragment in one tab: a run whose status changes ten times a second
still costs each tab at most this many renders."""

_log = logging.getLogger(__name__)

Topic = tuple[Hashable, ...]


@dataclass
class _Subscriber:
    page_script_hash: str
    query_string: str
    shown: object
    min_gap: float
    pushed_at: float = -math.inf
    """When this fragment was last asked to rerun (monotonic; never: -inf, so the first change always goes)."""


@dataclass
class _Watched:
    read: Callable[[], object]
    subscribers: dict[tuple[str, str], _Subscriber] = field(default_factory=dict)


def _streamlit_internals() -> tuple[Any, Any, Any] | None:
    """(Runtime, ThreadState, ClientState) when this Streamlit has what a server-side rerun needs."""
    try:
        from streamlit.proto.ClientState_pb2 import ClientState
        from streamlit.runtime import Runtime
        from streamlit.runtime.app_session import AppSession
        from streamlit.runtime.scriptrunner_utils.script_run_context import ThreadState
    except ImportError:
        return None
    needed = (
        hasattr(Runtime, "get_app_session")
        and hasattr(AppSession, "request_rerun")
        and hasattr(AppSession, "has_fragment")
        and {"fragment_id", "page_script_hash", "query_string", "is_auto_rerun"}
        <= set(ClientState.DESCRIPTOR.fields_by_name)
    )
    return (Runtime, ThreadState, ClientState) if needed else None


class Watcher:
    """The one poll of a UI server: topics, who shows them, and the thread that reads them."""

    def __init__(
        self,
        poll_seconds: float = POLL_SECONDS,
        rerun: Callable[[str, str, _Subscriber], bool] | None = None,
        shown_somewhere: Callable[[str, str], bool] | None = None,
    ) -> None:
        self._poll_seconds = poll_seconds
        self._rerun = rerun or rerun_fragment
        self._shown_somewhere = shown_somewhere or fragment_exists
        self._lock = threading.Lock()
        self._topics: dict[Topic, _Watched] = {}
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def subscribe(
        self,
        topic: Topic,
        read: Callable[[], object],
        shown: object,
        session_id: str,
        fragment_id: str,
        page_script_hash: str,
        query_string: str,
        min_gap: float,
    ) -> None:
        """Rerun `fragment_id` of `session_id` when `read()` returns something other than `shown`."""
        with self._lock:
            watched = self._topics.setdefault(topic, _Watched(read))
            watched.read = read  # the latest page's reader (its client, its settings)
            previous = watched.subscribers.get((session_id, fragment_id))
            watched.subscribers[(session_id, fragment_id)] = _Subscriber(
                page_script_hash, query_string, shown, min_gap, previous.pushed_at if previous else -math.inf
            )
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="ui-live-updates", daemon=True)
                self._thread.start()
        self._wake.set()

    def unsubscribe(self, topic: Topic, session_id: str, fragment_id: str) -> None:
        with self._lock:
            watched = self._topics.get(topic)
            if watched is not None:
                watched.subscribers.pop((session_id, fragment_id), None)
                if not watched.subscribers:
                    del self._topics[topic]

    def topics(self) -> list[Topic]:
        with self._lock:
            return list(self._topics)

    def _run(self) -> None:
        while True:
            if not self.topics():
                self._wake.wait()  # nothing watched: no poll at all
                self._wake.clear()
                continue
            # Whoever subscribed has just drawn the value it watches: the first read is due a period later.
            time.sleep(self._poll_seconds)
            self.poll_once()

    def poll_once(self) -> None:
        """Read every watched topic once and rerun the fragments whose value changed."""
        with self._lock:
            watched = list(self._topics.items())
        for topic, entry in watched:
            # A closed tab is forgotten at once: a run nobody looks at is not read again.
            for session_id, fragment_id in list(entry.subscribers):
                if not self._shown_somewhere(session_id, fragment_id):
                    self.unsubscribe(topic, session_id, fragment_id)
            if not entry.subscribers:
                continue
            try:
                value = entry.read()
            except Exception as error:  # a page shows the database's errors itself, on its next rerun
                _log.debug("reading %s failed: %s", topic, error)
                continue
            now = time.monotonic()
            with self._lock:
                subscribers = list(entry.subscribers.items())
            for (session_id, fragment_id), subscriber in subscribers:
                if subscriber.shown == value or now - subscriber.pushed_at < subscriber.min_gap:
                    continue
                if self._rerun(session_id, fragment_id, subscriber):
                    subscriber.shown, subscriber.pushed_at = value, now
                else:  # the tab closed, or its page no longer has this fragment
                    self.unsubscribe(topic, session_id, fragment_id)


def fragment_exists(session_id: str, fragment_id: str) -> bool:
    """Whether session `session_id` is still open and its page still has fragment `fragment_id`."""
    internals = _streamlit_internals()
    if internals is None or not internals[0].exists():
        return False
    session = internals[0].instance().get_app_session(session_id)
    return session is not None and bool(session.has_fragment(fragment_id))


def rerun_fragment(session_id: str, fragment_id: str, subscriber: _Subscriber) -> bool:
    """Ask session `session_id` to rerun fragment `fragment_id`, as its browser's timer would; False when
    the session or the fragment is gone."""
    internals = _streamlit_internals()
    if internals is None or not internals[0].exists():
        return False
    runtime, _, client_state = internals
    session = runtime.instance().get_app_session(session_id)
    if session is None or not session.has_fragment(fragment_id):
        return False
    # No widget states: every widget keeps its value and no click is replayed.
    request = client_state(
        fragment_id=fragment_id,
        page_script_hash=subscriber.page_script_hash,
        query_string=subscriber.query_string,
        is_auto_rerun=True,
    )
    loop = getattr(session, "_event_loop", None)  # the server's loop, where its own requests arrive
    if loop is not None and not loop.is_closed():
        loop.call_soon_threadsafe(session.request_rerun, request)
    else:
        session.request_rerun(request)
    return True


_WATCHER = Watcher()


def push_available(settings: Settings) -> bool:
    """Whether fragments here are rerun by the server: `RESEARCH_UI_PUSH_UPDATES` (default true) and a real
    Streamlit server with the internals this module needs; else callers poll with `run_every`."""
    internals = _streamlit_internals()
    return settings.ui_push_updates and internals is not None and bool(internals[0].exists())


def _running_fragment() -> tuple[str, str, str, str] | None:
    """(session id, fragment id, page script hash, query string) of the fragment running now."""
    internals = _streamlit_internals()
    if internals is None or not internals[0].exists():
        return None
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx(suppress_warning=True)
    if ctx is None:
        return None
    try:
        fragment_id = internals[1].get().fragment_id
    except RuntimeError:
        return None
    if not fragment_id:
        return None
    return ctx.session_id, fragment_id, ctx.page_script_hash, ctx.query_string


def watch(topic: Topic, read: Callable[[], object], shown: object, min_gap: float = MIN_GAP_SECONDS) -> bool:
    """From inside a fragment: rerun it when `read()` (called by the shared watcher, not by each tab)
    returns something other than `shown`, the value it has just drawn. False when the server cannot
    push here; the fragment should then be polling (`run_every`)."""
    running = _running_fragment()
    if running is None:
        return False
    session_id, fragment_id, page_script_hash, query_string = running
    _WATCHER.subscribe(topic, read, shown, session_id, fragment_id, page_script_hash, query_string, min_gap)
    return True


def stop_watching(topic: Topic) -> None:
    """From inside a fragment: no more reruns of it for `topic` (a run that has finished)."""
    running = _running_fragment()
    if running is not None:
        _WATCHER.unsubscribe(topic, running[0], running[1])
