"""The report's text published while the analyst writes it, for clients that show it live.

The analyst answers with one structured `ReportDraft` (`title`, `body`), so what a streaming model sends
is the draft's JSON arriving piece by piece: an output tool call's arguments, or JSON text in the native
and prompted output modes. The analyst's model is wrapped in `PublishingModel`: inside the model
request's DBOS step it makes the request as a streamed one, and writes the body as it grows to the
analysis workflow's DBOS stream `report_text` (`naming.REPORT_TEXT_STREAM`), a `ReportTextChunk` at a time.

Why a model wrapper rather than pydantic-ai's `event_stream_handler`: with `DBOSDurability`, a handler
passed to one run sees the events only in workflow code, after the step, and a handler given to the
capability adds a recorded step for every tool event. The wrapper publishes live, inside the step, and
leaves the recorded steps as they are.

Writes are batched (a few hundred characters or half a second), so a long report costs tens of small
inserts, not one per token. Each model request that writes a report is an *attempt* with its own id: a
request cut by a crash and sent again after recovery, or a draft the output validators send back, starts
the text again under a new id, and a reader drops what it had of the old one. The text is the analyst's
draft: the finished report (citations checked and numbered) arrives in the run's COMPLETED status.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import pydantic_core
from dbos import DBOS
from pydantic_ai.messages import (
    ModelMessage,
    ModelResponse,
    ModelResponseStreamEvent,
    PartDeltaEvent,
    PartStartEvent,
    TextPart,
    TextPartDelta,
    ToolCallPart,
    ToolCallPartDelta,
)
from pydantic_ai.models import Model, ModelRequestParameters, infer_model
from pydantic_ai.models.wrapper import WrapperModel
from pydantic_ai.settings import ModelSettings

from .models import resolve_model_id
from .naming import REPORT_TEXT_STREAM
from .schema import ReportTextChunk

FLUSH_CHARACTERS = 400
"""Characters of new text that are written at once, whatever the time since the last write."""
FLUSH_SECONDS = 0.5
"""Seconds after which new text is written, however little of it there is."""
FUNCTION_TOOLS = frozenset({"extra_search"})
"""The analyst's own tools: their arguments are not the report."""


@dataclass
class _Part:
    """One part of the response being streamed: the JSON of a draft, as far as it has arrived."""

    output: bool
    raw: str = ""
    parsed: dict[str, Any] | None = None


@dataclass
class DraftText:
    """Follows one streamed response and says what of the draft's body is new since it last said.

    Kept apart from DBOS so the parsing can be tested on plain events.
    """

    parts: dict[int, _Part] = field(default_factory=dict)
    sent: str = ""

    def feed(self, event: ModelResponseStreamEvent) -> None:
        if isinstance(event, PartStartEvent):
            part = event.part
            if isinstance(part, ToolCallPart):
                entry = _Part(output=part.tool_name not in FUNCTION_TOOLS)
                if isinstance(part.args, dict):
                    entry.parsed = dict(part.args)
                elif isinstance(part.args, str) and part.args:
                    entry.raw = part.args
                self.parts[event.index] = entry
            elif isinstance(part, TextPart):
                self.parts[event.index] = _Part(output=True, raw=part.content)
        elif isinstance(event, PartDeltaEvent):
            found = self.parts.get(event.index)
            if found is None:
                return
            entry, delta = found, event.delta
            if isinstance(delta, ToolCallPartDelta):
                if isinstance(delta.args_delta, dict):
                    entry.parsed = {**(entry.parsed or {}), **delta.args_delta}
                elif delta.args_delta:
                    entry.raw += delta.args_delta
            elif isinstance(delta, TextPartDelta):
                entry.raw += delta.content_delta

    def body(self) -> str:
        """The body of the latest draft part as far as it has arrived ("" before it starts)."""
        for entry in reversed(list(self.parts.values())):
            if not entry.output:
                continue
            if entry.raw:
                entry.parsed = _partial_json(entry.raw)
            body = (entry.parsed or {}).get("body")
            if isinstance(body, str):
                return body
        return ""

    def pending(self) -> tuple[int, str] | None:
        """What to publish now, as (characters kept of what was sent, new text); None: nothing new.

        The body only grows while a draft streams; should it ever differ from what was sent (a model that
        starts a second draft in the same answer), the chunk says where the new text starts over."""
        body = self.body()
        if body == self.sent:
            return None
        shared = zip(body, self.sent, strict=False)
        keep = next(
            (at for at, (new, old) in enumerate(shared) if new != old), min(len(body), len(self.sent))
        )
        self.sent = body
        return keep, body[keep:]


def _partial_json(raw: str) -> dict[str, Any] | None:
    """The object `raw` has begun to spell, strings cut where it stops; None before it is one.

    Prompted output may come in a code fence or after a few words: the object starts at the first `{`."""
    start = raw.find("{")
    if start < 0:
        return None
    try:
        value = pydantic_core.from_json(raw[start:], allow_partial="trailing-strings")
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


@contextmanager
def publishing(enabled: bool) -> Iterator[None]:
    """Inside the block, the analyst's `PublishingModel` streams and publishes the report's text when
    `enabled` (the run's `stream_report` option); set around the analyst's run, read inside its steps."""
    token = _publishing.set(enabled)
    try:
        yield
    finally:
        _publishing.reset(token)


_publishing: ContextVar[bool] = ContextVar("publishing_report_text", default=False)


class PublishingModel(WrapperModel):
    """The analyst's model: a request made inside a DBOS step while `publishing` is on is made as a
    streamed one, and the draft's body is written to the workflow's `report_text` stream as it arrives.

    It answers as an unstreamed request does, so the DBOS step, its name and what it records are the same
    whether the text is published or not, and a run recorded either way recovers either way."""

    async def request(
        self,
        messages: list[ModelMessage],
        model_settings: ModelSettings | None,
        model_request_parameters: ModelRequestParameters,
    ) -> ModelResponse:
        if not _publishing.get() or DBOS.step_id is None:
            return await self.wrapped.request(messages, model_settings, model_request_parameters)
        attempt = uuid.uuid4().hex[:12]
        draft = DraftText()
        last_write = time.monotonic()
        async with self.wrapped.request_stream(messages, model_settings, model_request_parameters) as stream:
            async for event in stream:
                draft.feed(event)
                now = time.monotonic()
                if now - last_write >= FLUSH_SECONDS or _grown(draft) >= FLUSH_CHARACTERS:
                    await _publish(attempt, draft)
                    last_write = now
            response = stream.get()
        await _publish(attempt, draft)
        return response


def _grown(draft: DraftText) -> int:
    """Characters arrived since the last write, counted on the raw JSON (cheap: no parsing)."""
    return sum(len(entry.raw) for entry in draft.parts.values() if entry.output) - len(draft.sent)


async def _publish(attempt: str, draft: DraftText) -> None:
    pending = draft.pending()
    if pending is None:
        return
    at, text = pending
    chunk = ReportTextChunk(attempt=attempt, at=at, text=text)
    await DBOS.write_stream_async(REPORT_TEXT_STREAM, chunk.model_dump(mode="json"))


def resolve_analyst_model(ctx: object, model_id: str) -> Model:
    """`ResolveModelId` callback of the analyst: the model `model_id` names, wrapped to publish its text."""
    return PublishingModel(resolve_model_id(ctx, model_id) or infer_model(model_id))
