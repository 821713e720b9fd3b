"""Streaming for the offline model: its whole answer, replayed in pieces as a streaming model sends it.

The analyst asks its model to stream when a run publishes the report's text as written
(`report_stream.py`). A `FunctionModel` streams only from a separate stream function, whose usage
pydantic-ai estimates from the pieces alone (no prompt tokens), so the offline model's figures and budgets
would change with streaming. `ReplayingFunctionModel` instead answers the request as usual and replays the
answer: the same parts, the same usage, only arriving in pieces. The pacing (`offline_delay`) stays
before the answer, inside the request function, where the execution log records the request's end.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic_ai import RunContext
from pydantic_ai.messages import (
    ModelMessage,
    ModelResponse,
    ModelResponseStreamEvent,
    TextPart,
    ToolCallPart,
)
from pydantic_ai.models import ModelRequestParameters, StreamedResponse
from pydantic_ai.models.function import FunctionModel
from pydantic_ai.settings import ModelSettings

PIECE_CHARACTERS = 160
"""Characters per replayed piece: about what a provider sends in one server-sent event."""


def pieces(text: str, size: int = PIECE_CHARACTERS) -> list[str]:
    return [text[start : start + size] for start in range(0, len(text), size)] or [""]


@dataclass
class ReplayedResponse(StreamedResponse):
    """A complete `ModelResponse` streamed part by part, piece by piece, with its own usage."""

    response: ModelResponse = field(kw_only=True)

    def __post_init__(self) -> None:
        self._usage = self.response.usage

    async def _get_event_iterator(self) -> AsyncIterator[ModelResponseStreamEvent]:
        for index, part in enumerate(self.response.parts):
            for event in self._events(index, part):
                yield event

    def _events(self, index: int, part: Any) -> Iterator[ModelResponseStreamEvent]:
        if isinstance(part, TextPart):
            for piece in pieces(part.content):
                yield from self._parts_manager.handle_text_delta(vendor_part_id=index, content=piece)
        elif isinstance(part, ToolCallPart):
            for number, piece in enumerate(pieces(part.args_as_json_str())):
                yield from self._parts_manager.handle_tool_call_delta_events(
                    vendor_part_id=index,
                    tool_name=part.tool_name if number == 0 else None,
                    args=piece,
                    tool_call_id=part.tool_call_id if number == 0 else None,
                )
        else:  # the offline model answers only in text and tool calls
            raise TypeError(f"the offline model cannot stream a {type(part).__name__}")

    @property
    def model_name(self) -> str:
        return self.response.model_name or "offline"

    @property
    def provider_name(self) -> None:
        return None

    @property
    def provider_url(self) -> None:
        return None

    @property
    def timestamp(self) -> datetime:
        return self.response.timestamp


class ReplayingFunctionModel(FunctionModel):
    """A `FunctionModel` that streams by replaying its function's complete answer (see the module)."""

    @asynccontextmanager
    async def request_stream(
        self,
        messages: list[ModelMessage],
        model_settings: ModelSettings | None,
        model_request_parameters: ModelRequestParameters,
        run_context: RunContext[Any] | None = None,
    ) -> AsyncGenerator[StreamedResponse]:
        response = await self.request(messages, model_settings, model_request_parameters)
        yield ReplayedResponse(model_request_parameters=model_request_parameters, response=response)
