"""A run's progress as server-sent events: every status it publishes, numbered, then its final status.

Events (`text/event-stream`):

- `status`, id N: the run's `ResearchStatus` as it published it the Nth time (N is the status's
  `sequence`). A client that reconnects sends the last id it saw as `Last-Event-ID` (browsers' EventSource
  does this by itself) or as `?after=N`, and gets every later status exactly once: they are read from
  what the database recorded, so a worker crash, a recovery or a restart of this API loses none.
- `report_text`, id "N.T": a piece of the report's text as the analyst writes it (T counts the pieces),
  a `ReportTextChunk`: `{"attempt", "at", "text"}`. The text so far is the text of the same attempt cut
  to `at` characters, then `text`; a piece of a new attempt starts it again (the model's request was sent
  again after a crash, or its draft was sent back). Only runs whose options say `stream_report` (the
  default) publish text, and it is the analyst's draft: the checked report comes in the final status.
  After such an event, status ids read "N.T" too, so that `Last-Event-ID` says how far both have come.
- `end`, no id: the run's workflow has ended; the data is its final status (COMPLETED, FAILED or
  CANCELLED, reconciled with DBOS: a run cancelled mid-search says CANCELLED here). The stream closes.
  A client that reconnects with the last status id of an ended run gets 204 No Content, which tells a
  browser's EventSource to stop reconnecting.

The finished report arrives whole, in the COMPLETED status, with its citations checked and numbered.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import anyio
from fastapi import APIRouter, Header, Query, Request, Response
from sse_starlette import EventSourceResponse, ServerSentEvent

from .errors import ApiError
from .feed import FinalStatus, Position, StatusEvent, StatusFeed
from .routes import ERRORS, RunId, answering, state_of

PING_SECONDS = 15
RETRY_MILLISECONDS = 1000
"""How long a disconnected EventSource waits before it reconnects."""

router = APIRouter(prefix="/runs", tags=["runs"], responses=ERRORS)


def _offset(last_event_id: str | None, after: int | None) -> Position | None:
    """How far the client has read, from `Last-Event-ID` ("N" or "N.T") or `?after=N`; None: not at all."""
    if last_event_id is not None and last_event_id.strip():
        status, _, text = last_event_id.strip().partition(".")
        try:
            position = Position(int(status), int(text) if text else 0)
        except ValueError:
            raise ApiError(
                400, f"Last-Event-ID must be the id of an event (N or N.T), got {last_event_id[:40]!r}"
            ) from None
        if position.status < 0 or position.text < 0:
            raise ApiError(400, "Last-Event-ID's numbers must be 0 or more")
        return position
    return None if after is None else Position(after)


async def _events(feed: StatusFeed, run_id: str, after: Position) -> AsyncIterator[ServerSentEvent]:
    retry: int | None = RETRY_MILLISECONDS
    async for item in feed.follow(run_id, after):
        if isinstance(item, FinalStatus):
            yield ServerSentEvent(item.data, event="end", retry=retry)
        else:
            event, position = item
            kind = "status" if isinstance(event, StatusEvent) else "report_text"
            yield ServerSentEvent(event.data, event=kind, id=position.event_id, retry=retry)
        retry = None


@router.get(
    "/{run_id}/events",
    response_class=EventSourceResponse,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "The run's progress stream."},
        204: {"description": "The run has ended and the client has every status it published."},
    },
)
async def follow_run(
    request: Request,
    run_id: RunId,
    last_event_id: Annotated[str | None, Header(description="The id of the last event received.")] = None,
    after: Annotated[
        int | None,
        Query(ge=0, description="Send the statuses numbered above this (the offset to resume at)."),
    ] = None,
) -> Response:
    """Follow a run as server-sent events: each status it publishes (`status`, numbered), the report's
    text as the analyst writes it (`report_text`), then `end`.

    Reconnect with `Last-Event-ID` (or `?after=N`) to get every later event once. The checked report comes
    whole in the COMPLETED status.
    """
    state = state_of(request)
    offset = _offset(last_event_id, after)
    with answering(run_id):
        status = await anyio.to_thread.run_sync(state.client.status, run_id)
    if offset is not None and status.phase.finished and offset.status >= status.sequence:
        return Response(status_code=204)
    return EventSourceResponse(_events(state.feed, run_id, offset or Position()), ping=PING_SECONDS)
