"""The report's text published while the analyst writes it: the draft read from partial JSON, the offline
model's replayed stream, and the analyst's model wrapper (the end-to-end checks are in test_api.py and
test_protocols.py, through the HTTP API and the real SDKs)."""

from __future__ import annotations

import asyncio
import json

import pytest
from pydantic_ai.messages import (
    ModelMessage,
    ModelRequest,
    ModelResponse,
    PartDeltaEvent,
    PartStartEvent,
    TextPart,
    TextPartDelta,
    ToolCallPart,
    ToolCallPartDelta,
    UserPromptPart,
)
from pydantic_ai.models import ModelRequestParameters
from pydantic_ai.models.function import AgentInfo, FunctionModel
from pydantic_ai.usage import RequestUsage

from research_agent._offline_stream import ReplayingFunctionModel, pieces
from research_agent.report_stream import DraftText, PublishingModel, publishing

BODY = 'Chile\'s GDP is "higher" [1].\n\n| a | b |\n\nCafé naïve — 5 °C [2].'
DRAFT = json.dumps({"title": "Chile and Peru", "body": BODY})


def _published(draft: DraftText, events: list[object]) -> list[str]:
    """What a reader has after each event: the pieces put together as the SSE contract says."""
    text, seen = "", []
    for event in events:
        draft.feed(event)  # type: ignore[arg-type]
        pending = draft.pending()
        if pending is not None:
            at, piece = pending
            text = text[:at] + piece
        seen.append(text)
    return seen


@pytest.mark.parametrize("size", [1, 3, 7, 50])
def test_the_body_grows_from_tool_call_arguments_cut_anywhere(size: int) -> None:
    """Pieces cut inside escapes (\\n, \\", \\u00e9) never show a broken character, and end as the body."""
    escaped = json.dumps({"title": "Chile and Peru", "body": BODY}, ensure_ascii=True)
    chunks = [escaped[at : at + size] for at in range(0, len(escaped), size)]
    events: list[object] = [PartStartEvent(index=0, part=ToolCallPart("final_result", chunks[0], "call_1"))]
    events += [PartDeltaEvent(index=0, delta=ToolCallPartDelta(args_delta=chunk)) for chunk in chunks[1:]]
    seen = _published(DraftText(), events)
    assert seen[-1] == BODY
    assert all(BODY.startswith(text) for text in seen), "only ever a prefix of the body"
    assert len(set(seen)) > (1 if size == 50 else 5), "it grows as it arrives"


def test_a_function_call_with_whole_arguments_is_read_at_once() -> None:
    """Gemini sends a function call's arguments as one object."""
    draft = DraftText()
    seen = _published(draft, [PartStartEvent(index=0, part=ToolCallPart("final_result", json.loads(DRAFT)))])
    assert seen == [BODY]


def test_prompted_json_after_words_and_a_fence_is_read() -> None:
    text = f"Here is the report:\n```json\n{DRAFT}\n```"
    events: list[object] = [PartStartEvent(index=0, part=TextPart(text[:10]))]
    events += [
        PartDeltaEvent(index=0, delta=TextPartDelta(content_delta=text[at : at + 9]))
        for at in range(10, len(text), 9)
    ]
    assert _published(DraftText(), events)[-1] == BODY


def test_the_analysts_own_tool_calls_are_not_the_report() -> None:
    draft = DraftText()
    events: list[object] = [
        PartStartEvent(index=0, part=ToolCallPart("extra_search", '{"query": "body of water"}', "c1")),
        PartStartEvent(index=1, part=TextPart('{"body": "not json yet')),
    ]
    seen = _published(draft, events)
    assert seen == ["", "not json yet"]


def test_a_second_draft_in_one_answer_says_where_its_text_starts_over() -> None:
    draft = DraftText()
    draft.feed(PartStartEvent(index=0, part=TextPart('{"body": "First version"}')))
    assert draft.pending() == (0, "First version")
    draft.feed(PartStartEvent(index=1, part=TextPart('{"body": "Firm text"}')))
    assert draft.pending() == (3, "m text")


def _answer(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    return ModelResponse(
        parts=[
            TextPart("Let me write it."),
            ToolCallPart("final_result", json.loads(DRAFT), "call_9"),
        ],
        usage=RequestUsage(input_tokens=1234, output_tokens=56),
    )


MESSAGES: list[ModelMessage] = [ModelRequest(parts=[UserPromptPart("Compare Chile and Peru")])]


def test_the_offline_model_streams_its_whole_answer_with_the_same_usage() -> None:
    asyncio.run(_offline_model_streams())


async def _offline_model_streams() -> None:
    model = ReplayingFunctionModel(_answer, model_name="offline-analyst")
    parameters = ModelRequestParameters(allow_text_output=True)
    whole = await model.request(MESSAGES, None, parameters)
    async with model.request_stream(MESSAGES, None, parameters) as stream:
        events = [event async for event in stream]
        streamed = stream.get()
    words, call = streamed.parts
    assert len(events) >= len(pieces("Let me write it.")) + len(pieces(json.dumps(json.loads(DRAFT))))
    assert streamed.usage == whole.usage == RequestUsage(input_tokens=1234, output_tokens=56)
    assert isinstance(words, TextPart) and words.content == "Let me write it."
    assert isinstance(call, ToolCallPart) and call.args_as_dict() == json.loads(DRAFT)
    assert call.tool_call_id == "call_9"


def test_outside_a_step_or_when_not_asked_the_analysts_model_answers_unstreamed() -> None:
    """Only a request made inside a DBOS step of a run that asked for it streams and publishes."""
    asyncio.run(_unstreamed())


async def _unstreamed() -> None:
    calls: list[str] = []

    def answer(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        calls.append("request")
        return _answer(messages, info)

    model = PublishingModel(FunctionModel(answer))  # no stream function: a streamed request would fail
    parameters = ModelRequestParameters(allow_text_output=True)
    with publishing(True):  # asked, but not inside a step
        response = await model.request(MESSAGES, None, parameters)
    with publishing(False):
        await model.request(MESSAGES, None, parameters)
    assert calls == ["request", "request"]
    assert response.usage.input_tokens == 1234
