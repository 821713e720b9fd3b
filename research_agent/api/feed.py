"""Runs' progress as the database recorded it, fanned out to every HTTP client following them.

A run publishes its `ResearchStatus` after every change, each one recorded with the step that published
it (`ResearchClient.published_statuses`). The feed reads what the followed runs published since it last
looked, all of them in one query a tick, keeps each followed run's statuses in memory while someone
follows it, and hands each follower the ones numbered after the last it has (the status's `sequence`).
So a client that reconnects with the last number it saw gets every later status once, whether the
worker crashed and recovered meanwhile, or this API process was restarted: nothing lives only here.

When DBOS says a run's workflow has ended, the feed reads the run's final status once (reconciled:
a cancelled run reads CANCELLED even though its last published status said SEARCHING) and followers get
it after the last published one.

While a run is being analysed (and once more when it ends), the feed also reads the pieces of the report's
text the analyst has published (`ResearchClient.report_text`), numbered 1, 2, ... per run in the order
written, and hands them to followers between the ANALYZING status and the final ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import anyio

from ..client import ResearchClient
from ..schema import Phase, ReportTextChunk, ResearchStatus

logger = logging.getLogger(__name__)

POLL_INTERVAL = 0.05
"""Seconds between the feed's reads while someone follows a run: at most this much latency is added."""


@dataclass(frozen=True)
class StatusEvent:
    """One status a run published: its number and its JSON (written once, sent to every follower)."""

    sequence: int
    data: str


@dataclass(frozen=True)
class TextEvent:
    """One piece of the report's text: its number in the run's text stream and its JSON."""

    number: int
    data: str


@dataclass(frozen=True)
class Position:
    """How far a follower has read: the last status number and the last text piece number it has.

    As an SSE event id: "S" while no text has been sent, else "S.T"."""

    status: int = 0
    text: int = 0

    @property
    def event_id(self) -> str:
        return str(self.status) if self.text == 0 else f"{self.status}.{self.text}"


@dataclass(frozen=True)
class FinalStatus:
    """The run's workflow has ended: its reconciled final status."""

    data: str


@dataclass
class _Followed:
    events: list[StatusEvent | TextEvent] = field(default_factory=list)
    step: int = -1
    """The last step whose published status has been read."""
    text_offset: int = -1
    """The offset of the last piece of report text read from the run's analysis stream."""
    analyzing: bool = False
    """The last status read says ANALYZING: the analyst may be publishing the report's text."""
    last_status: int = 0
    """The number of the last status kept in `events`."""
    loaded: bool = False
    final: FinalStatus | None = None
    followers: int = 0
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def notify(self) -> None:
        """Wake every follower waiting on the current `changed`, and give later waiters a fresh one."""
        changed, self.changed = self.changed, asyncio.Event()
        changed.set()


@dataclass(frozen=True)
class _Read:
    published: list[tuple[str, int, ResearchStatus | None]]
    text: list[tuple[str, int, ReportTextChunk | None]]
    ended: set[str]
    finals: dict[str, ResearchStatus]


class StatusFeed:
    """Follow runs' statuses; one background task reads for every follower of every run."""

    def __init__(self, client: ResearchClient, interval: float = POLL_INTERVAL) -> None:
        self._client = client
        self._interval = interval
        self._runs: dict[str, _Followed] = {}
        self._work = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._poll(), name="status-feed")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    @property
    def followed(self) -> int:
        """How many runs someone follows now."""
        return len(self._runs)

    async def follow(
        self, run_id: str, after: Position
    ) -> AsyncIterator[tuple[StatusEvent | TextEvent, Position] | FinalStatus]:
        """What `run_id` published past `after`, as they come, each with the follower's position after it
        (statuses and pieces of report text, in the order they were read), then its final status."""
        run = self._runs.get(run_id)
        if run is None:
            run = self._runs[run_id] = _Followed()
        run.followers += 1
        self._work.set()
        try:
            sent = after
            index = 0
            while True:
                changed = run.changed
                if run.loaded:
                    while index < len(run.events):
                        event = run.events[index]
                        index += 1
                        if isinstance(event, StatusEvent) and event.sequence > sent.status:
                            sent = Position(event.sequence, sent.text)
                            yield event, sent
                        elif isinstance(event, TextEvent) and event.number > sent.text:
                            sent = Position(sent.status, event.number)
                            yield event, sent
                    if run.final is not None:
                        yield run.final
                        return
                await changed.wait()
        finally:
            run.followers -= 1
            if run.followers == 0 and self._runs.get(run_id) is run:
                del self._runs[run_id]

    async def _poll(self) -> None:
        while True:
            if not self._runs:
                self._work.clear()
                await self._work.wait()
            runs = dict(self._runs)
            try:
                read = await anyio.to_thread.run_sync(self._read, runs)
            except Exception:  # a database outage: followers wait, the next tick reads again
                logger.warning("reading runs' progress failed; trying again", exc_info=True)
            else:
                self._apply(runs, read)
            await asyncio.sleep(self._interval)

    def _read(self, runs: dict[str, _Followed]) -> _Read:
        """In a thread: which runs ended (read first, so their last statuses are in what is read next),
        what they published since the last read, and the final status of each run that just ended."""
        ended = set(self._client.finished(list(runs)))
        published = self._client.published_statuses({run_id: run.step for run_id, run in runs.items()})
        # The text is read with any read that reaches ANALYZING or a final status: one read can hold both
        # ANALYZING and COMPLETED (a slow tick, a fast analyst), and the text belongs between them.
        reached = {
            run_id
            for run_id, _, status in published
            if status is not None and (status.phase == Phase.ANALYZING or status.phase.finished)
        }
        writing = {
            run_id: run.text_offset
            for run_id, run in runs.items()
            if run.analyzing or run_id in reached or (run_id in ended and run.final is None)
        }
        text = self._client.report_text(writing) if writing else []
        finals = {run_id: self._client.status(run_id) for run_id in ended if runs[run_id].final is None}
        return _Read(published, text, ended, finals)

    def _apply(self, runs: dict[str, _Followed], read: _Read) -> None:
        changed: set[str] = set()
        # Text comes after the statuses up to ANALYZING and before the final ones, as it was written.
        final_statuses = []
        for run_id, step, status in read.published:
            if status is not None and status.phase.finished:
                final_statuses.append((run_id, step, status))
            elif self._add_status(runs[run_id], step, status):
                changed.add(run_id)
        for run_id, offset, chunk in read.text:
            run = runs[run_id]
            run.text_offset = max(run.text_offset, offset)
            if chunk is not None:
                run.events.append(TextEvent(offset + 1, chunk.model_dump_json()))
                changed.add(run_id)
        for run_id, step, status in final_statuses:
            if self._add_status(runs[run_id], step, status):
                changed.add(run_id)
        for run_id, run in runs.items():
            if not run.loaded:
                run.loaded = True
                changed.add(run_id)
            if run_id in read.finals:
                run.final = FinalStatus(read.finals[run_id].model_dump_json())
                changed.add(run_id)
            elif run_id not in read.ended and run.final is not None:  # resumed after it ended
                run.final = None
        for run_id in changed:
            runs[run_id].notify()

    @staticmethod
    def _add_status(run: _Followed, step: int, status: ResearchStatus | None) -> bool:
        """Note the status `run` published at `step`; whether it is new to its followers."""
        run.step = max(run.step, step)
        if status is None:
            return False
        run.analyzing = status.phase == Phase.ANALYZING
        if status.sequence <= run.last_status:
            return False
        run.last_status = status.sequence
        run.events.append(StatusEvent(status.sequence, status.model_dump_json()))
        return True
