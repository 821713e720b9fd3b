"""Local stand-ins for model providers' HTTP APIs, for tests that run the real pydantic-ai models and SDKs.

`StandIn` is one `ThreadingHTTPServer` on 127.0.0.1 (an ephemeral port) in a daemon thread. It answers each
request with the next reply queued for it (`queue`, optionally per path prefix), records every request
(`requests`, `count`), and answers 500 with a clear message when a test did not queue enough replies, so
a missing reply fails the test instead of hanging it. A reply is a `Canned` response (status, headers,
body, or server-sent events written one chunk at a time) or a function of the `RecordedRequest` that
returns one: an Anthropic stand-in answers JSON or SSE depending on the request's `"stream"` flag.

The payload builders below shape answers on pydantic-ai's recorded cassettes (tests/models/cassettes in
pydantic/pydantic-ai), field for field, so the SDKs parse them the way they parse the real services:

- Gemini `generateContent` (`gemini_response`): `candidates[0].content.parts`, `groundingMetadata` with
  `groundingChunks[].web.{uri,title}` (the uri a vertexaisearch redirect link, the title the domain),
  `groundingSupports[].{segment.{startIndex,endIndex,text},groundingChunkIndices}`, `webSearchQueries`.
  `streamGenerateContent?alt=sse` gets the same payload as one `data:` event.
- Anthropic Messages (`anthropic_message`, `anthropic_reply`): `server_tool_use`, `web_search_tool_result`
  (`web_search_result` items with url, title, page_age, encrypted_content), text blocks with
  `web_search_result_location` citations (`cited_text`, url, title, encrypted_index), `tool_use`; streamed
  as message_start / content_block_start, _delta (text_delta, input_json_delta, citations_delta), _stop /
  message_delta / message_stop, as the recorded stream does.
- OpenAI Responses (`openai_response`): `web_search_call` items (`action.query`, `action.sources` when
  `include` asks for them), `message` items whose `output_text` carries `url_citation` annotations,
  `function_call` items. OpenAI Chat Completions (`openai_chat_completion`): `message.annotations` of
  `url_citation`s, as search-preview models and OpenRouter return them.
"""

from __future__ import annotations

import json
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

_MAX_BODY = 10_000_000


@dataclass(frozen=True)
class RecordedRequest:
    """One request a stand-in received."""

    method: str
    path: str
    """Path and query, as sent."""
    headers: Mapping[str, str]
    """Header names in lower case."""
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    @property
    def wants_stream(self) -> bool:
        """The client asked for server-sent events: `"stream": true` in a JSON body, or Gemini's `alt=sse`."""
        if "alt=sse" in self.path:
            return True
        try:
            body = self.json()
        except ValueError:
            return False
        return isinstance(body, dict) and body.get("stream") is True


@dataclass(frozen=True)
class Canned:
    """A response: a body, or (when `events` is set) server-sent events sent as one chunk each."""

    status: int = 200
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    events: tuple[bytes, ...] | None = None


Reply = Canned | Callable[[RecordedRequest], Canned]


def json_reply(payload: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Canned:
    return Canned(
        status=status,
        body=json.dumps(payload).encode(),
        headers={"content-type": "application/json", **(headers or {})},
    )


def sse_reply(
    events: Iterable[tuple[str | None, Any]],
    headers: Mapping[str, str] | None = None,
    *,
    separator: str = "\n\n",
) -> Canned:
    """Server-sent events: each `(event name or None, data)` as `event: name` and one `data:` line of JSON."""
    encoded = []
    for name, data in events:
        head = f"event: {name}\n" if name else ""
        encoded.append(f"{head}data: {json.dumps(data)}{separator}".encode())
    return Canned(
        headers={
            "content-type": "text/event-stream; charset=utf-8",
            "cache-control": "no-cache",
            **(headers or {}),
        },
        events=tuple(encoded),
    )


def redirect_reply(location: str, status: int = 302) -> Canned:
    return Canned(status=status, headers={"location": location, "content-type": "text/html; charset=UTF-8"})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    standin: StandIn

    def handle_error(self, request: object, client_address: object) -> None:
        # A client that gave up (a test's timeout) closes its end while a reply is still being written.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _answer(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(min(length, _MAX_BODY)) if length else b""
        request = RecordedRequest(
            method=self.command,
            path=self.path,
            headers={name.lower(): value for name, value in self.headers.items()},
            body=body,
        )
        canned = self.server.standin._next_reply(request)
        self.send_response(canned.status)
        for name, value in canned.headers.items():
            self.send_header(name, value)
        if canned.events is None:
            self.send_header("content-length", str(len(canned.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(canned.body)
            return
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        for event in canned.events:
            self.wfile.write(f"{len(event):x}\r\n".encode() + event + b"\r\n")
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")

    do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = _answer


class StandIn:
    """A provider's API on 127.0.0.1 while started (`with StandIn() as api: ... api.url ...`).

    Replies are taken in order: first from the queue of the longest path prefix that matches the request
    (`queue(..., path="/v1/messages")`), then from the queue for any path. `default`, when set, answers
    whatever finds no queued reply (a redirector that always redirects); otherwise such a request gets a
    500 naming the request, which the SDK reports as an error.
    """

    def __init__(self, *, default: Reply | None = None) -> None:
        self._default = default
        self._queues: dict[str, deque[Reply]] = {}
        self._requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def queue(self, *replies: Reply, path: str = "") -> StandIn:
        """Answer the next requests (to paths starting with `path`) with `replies`, in order."""
        with self._lock:
            self._queues.setdefault(path, deque()).extend(replies)
        return self

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def count(self, path: str = "") -> int:
        """Requests received so far (to paths starting with `path`)."""
        return sum(1 for request in self.requests if request.path.startswith(path))

    @property
    def pending(self) -> int:
        """Replies queued and not yet used."""
        with self._lock:
            return sum(len(replies) for replies in self._queues.values())

    def _next_reply(self, request: RecordedRequest) -> Canned:
        with self._lock:
            self._requests.append(request)
            prefixes = sorted(
                (p for p, q in self._queues.items() if q and request.path.startswith(p)), key=len
            )
            reply = self._queues[prefixes[-1]].popleft() if prefixes else self._default
        if reply is None:
            return json_reply(
                {"error": {"message": f"stand-in: no reply queued for {request.method} {request.path}"}},
                status=500,
            )
        return reply(request) if callable(reply) else reply

    @property
    def port(self) -> int:
        assert self._server is not None, "the stand-in is not started"
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> StandIn:
        server = _Server(("127.0.0.1", 0), _Handler)
        server.standin = self
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="provider-standin", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> StandIn:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()


# --- Gemini ---------------------------------------------------------------------------------------------


def gemini_response(
    parts: str | Sequence[Mapping[str, Any]],
    *,
    grounding: Mapping[str, Any] | None = None,
    model_version: str = "gemini-2.5-flash",
    response_id: str = "btnJaOrqE4_6qtsP7bOboQs",
) -> dict[str, Any]:
    """A `generateContent` answer: its parts (a string is one text part), and the grounding metadata Google
    Search left on it."""
    if isinstance(parts, str):
        parts = [{"text": parts}]
    candidate: dict[str, Any] = {
        "content": {"parts": [dict(part) for part in parts], "role": "model"},
        "finishReason": "STOP",
        "index": 0,
    }
    if grounding is not None:
        candidate["groundingMetadata"] = dict(grounding)
    return {
        "candidates": [candidate],
        "modelVersion": model_version,
        "responseId": response_id,
        "usageMetadata": {
            "candidatesTokenCount": 201,
            "promptTokenCount": 17,
            "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 17}],
            "toolUsePromptTokenCount": 102,
            "totalTokenCount": 320,
        },
    }


def gemini_grounding(
    text: str,
    chunks: Sequence[tuple[str, str]],
    supports: Sequence[tuple[str, Sequence[int]]] = (),
    queries: Sequence[str] = ("search",),
) -> dict[str, Any]:
    """`groundingMetadata` for `text`: chunks as (uri, title), supports as (a substring of `text`, chunk
    indices); segment offsets are UTF-8 byte offsets into `text`, as Gemini sends them."""
    encoded = text.encode()
    grounding_supports = []
    for segment, indices in supports:
        start = encoded.index(segment.encode())
        grounding_supports.append(
            {
                "groundingChunkIndices": list(indices),
                "segment": {"startIndex": start, "endIndex": start + len(segment.encode()), "text": segment},
            }
        )
    return {
        "groundingChunks": [{"web": {"uri": uri, "title": title}} for uri, title in chunks],
        "groundingSupports": grounding_supports,
        "searchEntryPoint": {"renderedContent": "<style>.container {}</style><div class='container'></div>"},
        "webSearchQueries": list(queries),
    }


def gemini_reply(payload: Mapping[str, Any]) -> Reply:
    """Answer `generateContent` with `payload`, or `streamGenerateContent?alt=sse` with it as one event."""

    def reply(request: RecordedRequest) -> Canned:
        if request.wants_stream:
            return sse_reply([(None, payload)], separator="\r\n\r\n")
        return json_reply(payload, headers={"content-type": "application/json; charset=UTF-8"})

    return reply


# --- Anthropic ------------------------------------------------------------------------------------------


def anthropic_message(
    content: Sequence[Mapping[str, Any]],
    *,
    stop_reason: str = "tool_use",
    model: str = "claude-sonnet-4-20250514",
    message_id: str = "msg_0119wM5YxCLg3hwUWrxEQ9Y8",
    web_search_requests: int = 1,
) -> dict[str, Any]:
    """A Messages API answer with these content blocks."""
    return {
        "content": [dict(block) for block in content],
        "id": message_id,
        "model": model,
        "role": "assistant",
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "type": "message",
        "usage": {
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "input_tokens": 8984,
            "output_tokens": 520,
            "server_tool_use": {"web_fetch_requests": 0, "web_search_requests": web_search_requests},
            "service_tier": "standard",
        },
    }


def anthropic_web_search(
    tool_use_id: str, query: str, results: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """A `server_tool_use` block and its `web_search_tool_result` (results: url, title, page_age)."""
    return [
        {"id": tool_use_id, "input": {"query": query}, "name": "web_search", "type": "server_tool_use"},
        {
            "content": [
                {
                    "encrypted_content": f"EroTCioIBxgCIiQ0NGFl{index}",
                    "page_age": result.get("page_age"),
                    "title": result["title"],
                    "type": "web_search_result",
                    "url": result["url"],
                }
                for index, result in enumerate(results)
            ],
            "tool_use_id": tool_use_id,
            "type": "web_search_tool_result",
        },
    ]


def anthropic_cited_text(text: str, citations: Sequence[Mapping[str, str]]) -> dict[str, Any]:
    """A text block citing search results: each citation has url, title and cited_text."""
    return {
        "citations": [
            {
                "cited_text": citation["cited_text"],
                "encrypted_index": "Eo8BCioIBxgCIiQ0NGFlNjc2Yy05",
                "title": citation["title"],
                "type": "web_search_result_location",
                "url": citation["url"],
            }
            for citation in citations
        ],
        "text": text,
        "type": "text",
    }


def anthropic_events(message: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """The message as the Messages API streams it (the recorded stream's event sequence)."""
    usage = dict(message["usage"])
    start = {**message, "content": [], "stop_reason": None, "stop_sequence": None}
    start["usage"] = {**usage, "output_tokens": 1}
    events: list[tuple[str, Any]] = [("message_start", {"type": "message_start", "message": start})]
    for index, block in enumerate(message["content"]):
        kind = block["type"]
        if kind == "text":
            opening: dict[str, Any] = {"type": "text", "text": ""}
            if "citations" in block:
                opening = {"citations": [], "type": "text", "text": ""}
            deltas = [{"type": "text_delta", "text": block["text"]}]
            deltas += [{"type": "citations_delta", "citation": c} for c in block.get("citations") or []]
        elif kind in ("server_tool_use", "tool_use"):
            opening = {**block, "input": {}}
            deltas = [{"type": "input_json_delta", "partial_json": json.dumps(block["input"])}]
        else:  # web_search_tool_result and other result blocks arrive whole
            opening, deltas = dict(block), []
        events.append(
            ("content_block_start", {"type": "content_block_start", "index": index, "content_block": opening})
        )
        events += [
            ("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta})
            for delta in deltas
        ]
        events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
    events.append(
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
                "usage": usage,
            },
        )
    )
    events.append(("message_stop", {"type": "message_stop"}))
    return events


def anthropic_reply(message: Mapping[str, Any]) -> Reply:
    """Answer with `message`: as JSON, or as server-sent events when the request says `"stream": true`."""

    def reply(request: RecordedRequest) -> Canned:
        if request.wants_stream:
            return sse_reply(anthropic_events(message))
        return json_reply(message)

    return reply


# --- OpenAI ---------------------------------------------------------------------------------------------


def openai_response(
    output: Sequence[Mapping[str, Any]], *, model: str = "gpt-5-2025-08-07", response_id: str = "resp_0288"
) -> dict[str, Any]:
    """A Responses API answer with these output items."""
    return {
        "background": False,
        "created_at": 1758054446,
        "error": None,
        "id": response_id,
        "incomplete_details": None,
        "instructions": None,
        "metadata": {},
        "model": model,
        "object": "response",
        "output": [dict(item) for item in output],
        "parallel_tool_calls": True,
        "status": "completed",
        "tool_choice": "auto",
        "tools": [{"type": "web_search", "search_context_size": "medium"}],
        "usage": {
            "input_tokens": 9463,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": 577,
            "output_tokens_details": {"reasoning_tokens": 512},
            "total_tokens": 10040,
        },
    }


def openai_web_search_call(
    item_id: str, query: str, source_urls: Sequence[str] | None = None
) -> dict[str, Any]:
    """A `web_search_call` item; `source_urls` as `action.sources` (sent when `include` asks for them)."""
    action: dict[str, Any] = {"query": query, "type": "search"}
    if source_urls is not None:
        action["sources"] = [{"type": "url", "url": url} for url in source_urls]
    return {"action": action, "id": item_id, "status": "completed", "type": "web_search_call"}


def openai_cited_message(item_id: str, text: str, citations: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """A `message` item whose text cites (url, title) pairs; each citation's range covers the url in `text`."""
    annotations = []
    for url, title in citations:
        start = text.index(url)
        annotations.append(
            {
                "end_index": start + len(url),
                "start_index": start,
                "title": title,
                "type": "url_citation",
                "url": url,
            }
        )
    return {
        "content": [{"annotations": annotations, "logprobs": [], "text": text, "type": "output_text"}],
        "id": item_id,
        "role": "assistant",
        "status": "completed",
        "type": "message",
    }


def openai_function_call(name: str, arguments: Mapping[str, Any], call_id: str = "call_1") -> dict[str, Any]:
    return {
        "arguments": json.dumps(arguments),
        "call_id": call_id,
        "id": f"fc_{call_id}",
        "name": name,
        "status": "completed",
        "type": "function_call",
    }


def openai_chat_completion(
    content: str,
    annotations: Sequence[Mapping[str, Any]] = (),
    *,
    model: str = "gpt-4o-search-preview-2025-03-11",
) -> dict[str, Any]:
    """A Chat Completions answer; `annotations` as `url_citation`s (url, title, and an optional content)."""
    return {
        "choices": [
            {
                "finish_reason": "stop",
                "index": 0,
                "message": {
                    "annotations": [
                        {
                            "type": "url_citation",
                            "url_citation": {
                                "end_index": 0,
                                "start_index": 0,
                                **annotation,
                            },
                        }
                        for annotation in annotations
                    ],
                    "content": content,
                    "refusal": None,
                    "role": "assistant",
                },
            }
        ],
        "created": 1747227087,
        "id": "chatcmpl-e05fbf7b",
        "model": model,
        "object": "chat.completion",
        "system_fingerprint": "",
        "usage": {"completion_tokens": 17, "prompt_tokens": 11, "total_tokens": 28},
    }
