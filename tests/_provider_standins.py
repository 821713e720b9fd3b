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
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

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
    received_at: float = field(default_factory=time.monotonic)
    """When it arrived (`time.monotonic()`): the gaps between attempts show how long a client waited."""

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

    def mentions(self, text: str) -> bool:
        """Whether the body holds `text` (as sent: in JSON, a non-ASCII or quoted text is escaped)."""
        return text.encode() in self.body or json.dumps(text).strip('"').encode() in self.body


@dataclass(frozen=True)
class Canned:
    """A response: a body, or (when `events` is set) server-sent events sent as one chunk each.

    `cut_after` drops the connection part-way, as a proxy or a crashed server does: after that many bytes
    of the body (announced whole in its content-length), or that many events (no closing chunk)."""

    status: int = 200
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    events: tuple[bytes, ...] | None = None
    cut_after: int | None = None


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
        canned = streamed_if_asked(request, self.server.standin._next_reply(request))
        self.send_response(canned.status)
        for name, value in canned.headers.items():
            self.send_header(name, value)
        if canned.events is None:
            self.send_header("content-length", str(len(canned.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(canned.body[: canned.cut_after])
            if canned.cut_after is not None:
                self._drop_connection()
            return
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        for event in canned.events[: canned.cut_after]:
            self.wfile.write(f"{len(event):x}\r\n".encode() + event + b"\r\n")
            self.wfile.flush()
        if canned.cut_after is not None:
            self._drop_connection()
            return
        self.wfile.write(b"0\r\n\r\n")

    def _drop_connection(self) -> None:
        """Close the connection with the response unfinished: the client reads an early end of its body."""
        self.wfile.flush()
        self.close_connection = True
        self.connection.shutdown(socket.SHUT_RDWR)

    do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = _answer


class StandIn:
    """A provider's API on 127.0.0.1 while started (`with StandIn() as api: ... api.url ...`).

    Replies are taken in order: first from a queue for requests whose body mentions a text
    (`queue(..., mentioning="question 7")`), then from the queue of the longest path prefix that matches
    the request (`queue(..., path="/v1/messages")`), then from the queue for any path. Queues by what a
    request mentions (a run's question) let several runs share one stand-in, concurrently. `default`, when set, answers whatever finds no
    queued reply (a redirector that always redirects); otherwise such a request gets a 500 naming the
    request, which the SDK reports as an error.
    """

    def __init__(self, *, default: Reply | None = None) -> None:
        self._default = default
        self._queues: dict[tuple[str, str | None], deque[Reply]] = {}
        """Replies by (path prefix, text the request mentions or None)."""
        self._requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def queue(self, *replies: Reply, path: str = "", mentioning: str | None = None) -> StandIn:
        """Answer the next requests to paths starting with `path` (whose body mentions `mentioning`, when
        given) with `replies`, in order."""
        with self._lock:
            self._queues.setdefault((path, mentioning), deque()).extend(replies)
        return self

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def count(self, path: str = "", mentioning: str | None = None) -> int:
        """Requests received so far to paths starting with `path` (mentioning `mentioning`, when given)."""
        return len(self.received(path, mentioning))

    def received(self, path: str = "", mentioning: str | None = None) -> list[RecordedRequest]:
        """The requests received so far to paths starting with `path` (mentioning `mentioning`, when given)."""
        return [
            request
            for request in self.requests
            if request.path.startswith(path) and (mentioning is None or request.mentions(mentioning))
        ]

    @property
    def pending(self) -> int:
        """Replies queued and not yet used."""
        with self._lock:
            return sum(len(replies) for replies in self._queues.values())

    def _next_reply(self, request: RecordedRequest) -> Canned:
        with self._lock:
            self._requests.append(request)
            keys = sorted(
                (
                    key
                    for key, replies in self._queues.items()
                    if replies
                    and request.path.startswith(key[0])
                    and (key[1] is None or request.mentions(key[1]))
                ),
                key=lambda key: (key[1] is not None, len(key[0])),
            )
            reply = self._queues[keys[-1]].popleft() if keys else self._default
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
    usage: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A `generateContent` answer: its parts (a string is one text part), and the grounding metadata Google
    Search left on it; `usage` replaces the default `usageMetadata` (see `gemini_usage`)."""
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
        "usageMetadata": dict(usage)
        if usage is not None
        else {
            "candidatesTokenCount": 201,
            "promptTokenCount": 17,
            "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 17}],
            "toolUsePromptTokenCount": 102,
            "totalTokenCount": 320,
        },
    }


def gemini_usage(prompt: int, candidates: int, *, cached: int = 0) -> dict[str, Any]:
    """`usageMetadata`: `promptTokenCount` includes the `cachedContentTokenCount` read from a cache."""
    usage: dict[str, Any] = {
        "candidatesTokenCount": candidates,
        "candidatesTokensDetails": [{"modality": "TEXT", "tokenCount": candidates}],
        "promptTokenCount": prompt,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt}],
        "totalTokenCount": prompt + candidates,
    }
    if cached:
        usage["cachedContentTokenCount"] = cached
        usage["cacheTokensDetails"] = [{"modality": "TEXT", "tokenCount": cached}]
    return usage


def gemini_function_call(name: str, args: Mapping[str, Any]) -> dict[str, Any]:
    """A `functionCall` part (Gemini 2.5 sends no id; pydantic-ai makes one up)."""
    return {"functionCall": {"name": name, "args": dict(args)}}


def gemini_error(
    code: int,
    status: str,
    message: str,
    *,
    retry_delay: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Canned:
    """A Google API error (`google.rpc.Status`): a rate limit is `RESOURCE_EXHAUSTED` with the quota it broke
    and, in a `RetryInfo` detail, how long to wait (`retry_delay`, e.g. "0.7s"); Gemini sends no Retry-After."""
    details: list[dict[str, Any]] = []
    if status == "RESOURCE_EXHAUSTED":
        details.append(
            {
                "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                "violations": [
                    {
                        "quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                        "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
                        "quotaDimensions": {"location": "global", "model": "gemini-2.5-flash"},
                        "quotaValue": "10",
                    }
                ],
            }
        )
    if retry_delay is not None:
        details.append({"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": retry_delay})
    error: dict[str, Any] = {"code": code, "message": message, "status": status}
    if details:
        error["details"] = details
    return json_reply(
        {"error": error},
        status=code,
        headers={"content-type": "application/json; charset=UTF-8", **(headers or {})},
    )


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
    usage: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A Messages API answer with these content blocks; `usage` replaces the default (see `anthropic_usage`)."""
    return {
        "content": [dict(block) for block in content],
        "id": message_id,
        "model": model,
        "role": "assistant",
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "type": "message",
        "usage": dict(usage)
        if usage is not None
        else {
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "input_tokens": 8984,
            "output_tokens": 520,
            "server_tool_use": {"web_fetch_requests": 0, "web_search_requests": web_search_requests},
            "service_tier": "standard",
        },
    }


def anthropic_usage(
    input_tokens: int, output_tokens: int, *, cache_read: int = 0, cache_write: int = 0
) -> dict[str, Any]:
    """`usage` as the recorded prompt-caching answers carry it: `input_tokens` counts only what was neither
    read from nor written to the cache (`cache_read_input_tokens`, `cache_creation_input_tokens`)."""
    return {
        "cache_creation": {"ephemeral_1h_input_tokens": 0, "ephemeral_5m_input_tokens": cache_write},
        "cache_creation_input_tokens": cache_write,
        "cache_read_input_tokens": cache_read,
        "inference_geo": "not_available",
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "service_tier": "standard",
    }


def anthropic_text(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}


def anthropic_thinking(thinking: str, signature: str = "EqQBCkgIBxABGAIiQL2xSlSyWWTnUE3Y") -> dict[str, Any]:
    """A `thinking` block (Claude models that think by default, such as Sonnet 5, send one first)."""
    return {"type": "thinking", "thinking": thinking, "signature": signature}


def anthropic_tool_use(name: str, tool_input: Mapping[str, Any], tool_use_id: str) -> dict[str, Any]:
    return {"id": tool_use_id, "input": dict(tool_input), "name": name, "type": "tool_use"}


def anthropic_error(
    status: int, error_type: str, message: str, headers: Mapping[str, str] | None = None
) -> Canned:
    """An error answer: 429 `rate_limit_error` (with `retry-after` in seconds), 529 `overloaded_error`..."""
    return json_reply(
        {"type": "error", "error": {"type": error_type, "message": message}, "request_id": "req_011CStandIn"},
        status=status,
        headers={"request-id": "req_011CStandIn", "x-should-retry": "true", **(headers or {})},
    )


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
        if index == 1:
            events.append(("ping", {"type": "ping"}))  # where the recorded streams send theirs
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
        elif (
            kind == "thinking"
        ):  # the thinking, then its signature, as the recorded thinking streams send them
            opening = {"type": "thinking", "thinking": "", "signature": ""}
            deltas = [
                {"type": "thinking_delta", "thinking": block["thinking"]},
                {"type": "signature_delta", "signature": block["signature"]},
            ]
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
    content: str | None,
    annotations: Sequence[Mapping[str, Any]] = (),
    *,
    model: str = "gpt-4o-search-preview-2025-03-11",
    tool_calls: Sequence[Mapping[str, Any]] = (),
    usage: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A Chat Completions answer; `annotations` as `url_citation`s (url, title, and an optional content);
    `tool_calls` (see `openai_tool_call`) end it with `finish_reason: tool_calls`; `usage` replaces the
    default (see `openai_usage`)."""
    message: dict[str, Any] = {}
    if tool_calls:
        message["tool_calls"] = [dict(call) for call in tool_calls]
    return {
        "choices": [
            {
                "finish_reason": "tool_calls" if tool_calls else "stop",
                "index": 0,
                "logprobs": None,
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
                    **message,
                },
            }
        ],
        "created": 1747227087,
        "id": "chatcmpl-e05fbf7b",
        "model": model,
        "object": "chat.completion",
        "system_fingerprint": "",
        "usage": dict(usage)
        if usage is not None
        else {"completion_tokens": 17, "prompt_tokens": 11, "total_tokens": 28},
    }


def openai_chunks(completion: Mapping[str, Any], piece: int = 40) -> list[dict[str, Any]]:
    """A Chat Completions answer as `stream: true` sends it (the recorded streams' shape): a first chunk
    with the role, the content and each tool call's arguments in pieces, a chunk with the finish reason,
    then one with no choices carrying the usage (what `stream_options.include_usage` asks for)."""
    choice = completion["choices"][0]
    message = choice["message"]
    head = {key: completion[key] for key in ("id", "created", "model", "system_fingerprint")}

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {
            **head,
            "object": "chat.completion.chunk",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
        }

    chunks = [chunk({"role": "assistant", "content": "", "refusal": None})]
    content = message.get("content") or ""
    chunks += [chunk({"content": content[at : at + piece]}) for at in range(0, len(content), piece)]
    for index, call in enumerate(message.get("tool_calls") or []):
        arguments = call["function"]["arguments"]
        chunks.append(
            chunk(
                {
                    "tool_calls": [
                        {
                            "index": index,
                            "id": call["id"],
                            "type": "function",
                            "function": {"name": call["function"]["name"], "arguments": ""},
                        }
                    ]
                }
            )
        )
        chunks += [
            chunk({"tool_calls": [{"index": index, "function": {"arguments": arguments[at : at + piece]}}]})
            for at in range(0, len(arguments), piece)
        ]
    chunks.append(chunk({}, choice["finish_reason"]))
    chunks.append(
        {**head, "object": "chat.completion.chunk", "choices": [], "usage": completion.get("usage")}
    )
    return chunks


def streamed_if_asked(request: RecordedRequest, canned: Canned) -> Canned:
    """A Chat Completions answer queued as JSON, sent as server-sent events when the request asks for a
    stream, as the real server does (the analyst streams its report, other roles do not)."""
    if not (request.wants_stream and canned.status == 200 and canned.events is None and canned.body):
        return canned
    try:
        payload = json.loads(canned.body)
    except ValueError:
        return canned  # a malformed body stays malformed
    if not (isinstance(payload, dict) and payload.get("object") == "chat.completion"):
        return canned
    events = [f"data: {json.dumps(chunk)}\n\n".encode() for chunk in openai_chunks(payload)]
    return Canned(
        headers={"content-type": "text/event-stream; charset=utf-8"},
        events=(*events, b"data: [DONE]\n\n"),
        cut_after=canned.cut_after,
    )


def openai_tool_call(name: str, arguments: Mapping[str, Any], call_id: str) -> dict[str, Any]:
    return {"function": {"arguments": json.dumps(arguments), "name": name}, "id": call_id, "type": "function"}


def openai_usage(prompt: int, completion: int, *, cached: int = 0) -> dict[str, Any]:
    """`usage` as the recorded answers carry it: `prompt_tokens` includes the `cached_tokens`."""
    return {
        "completion_tokens": completion,
        "completion_tokens_details": {
            "accepted_prediction_tokens": 0,
            "audio_tokens": 0,
            "reasoning_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
        "prompt_tokens": prompt,
        "prompt_tokens_details": {"audio_tokens": 0, "cached_tokens": cached},
        "total_tokens": prompt + completion,
    }


def openai_error(
    status: int, message: str, error_type: str, code: str | None, headers: Mapping[str, str] | None = None
) -> Canned:
    """An error answer: 429 `rate_limit_exceeded` (with `retry-after-ms`), 503 `server_error`..."""
    return json_reply(
        {"error": {"message": message, "type": error_type, "param": None, "code": code}},
        status=status,
        headers={"x-request-id": "req_standin", **(headers or {})},
    )


# --- Web search APIs ------------------------------------------------------------------------------------


def tavily_response(query: str, results: Sequence[tuple[str, str, str]]) -> dict[str, Any]:
    """Tavily's `POST /search` answer (shaped as the local web's Tavily answers it: search_apis.py) with
    these (url, title, snippet) results, best first."""
    from research_agent.localweb.search_apis import tavily_answer
    from research_agent.localweb.site import Page

    hits = [
        (
            url,
            Page(urlsplit(url).path, title, snippet, snippet, snippet, b"", "text/html"),
            float(len(results) - n),
        )
        for n, (url, title, snippet) in enumerate(results)
    ]
    return tavily_answer(
        query, hits, include_answer=False, include_raw_content=False, response_time=0.52, request_id="standin"
    )


def html_reply(page: bytes, status: int = 200) -> Canned:
    return Canned(status=status, body=page, headers={"content-type": "text/html; charset=UTF-8"})


# --- DuckDuckGo's HTML search page ----------------------------------------------------------------------
# `POST /html/` (form fields q, b, l) answers one HTML page. Shaped on results pages captured from
# html.duckduckgo.com (the markup ddgs's DuckDuckGo engine parses: each result a `div.result__body` whose
# `h2` holds the title and whose `a.result__snippet` holds the link and the snippet; ads link through
# duckduckgo.com/y.js), its no-results page (`div.no-results`), and its bot check (the "anomaly modal",
# sent with HTTP 202 when it rate-limits an address).

_DDG_HEAD = (
    '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" '
    '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">\n<html xmlns="http://www.w3.org/1999/xhtml">'
    '<head><meta http-equiv="content-type" content="text/html; charset=UTF-8"><title>{query} at DuckDuckGo'
    '</title><link rel="stylesheet" href="/dist/h.9d4bcb1c2c3e4d7c.css" type="text/css"></head><body>'
    '<div class="header"><form name="x" class="header__form" action="/html/" method="post">'
    '<input name="q" autocomplete="off" class="search__input" id="search_form_input_homepage" type="text" '
    'value="{query}"><input name="b" id="search_button_homepage" class="search__button" type="submit" '
    'value=""><input type="hidden" name="kl" value="us-en"></form></div>'
)


def _ddg_escape(text: str) -> str:
    """Escaped as DuckDuckGo escapes text and links (an apostrophe as &#x27;, & as &amp;)."""
    import html

    return html.escape(text, quote=True)


def _ddg_result(url: str, title: str, snippet: str, *, ad: bool = False) -> str:
    href = _ddg_escape(url)
    kind = (
        "result results_links results_links_deep result--ad"
        if ad
        else "result results_links results_links_deep web-result "
    )
    host = urlsplit(url).hostname or ""
    return (
        f'<div class="{kind}"><div class="links_main links_deep result__body"> <!-- This is the visible part -->'
        f'<h2 class="result__title"><a rel="nofollow" class="result__a" href="{href}">{_ddg_escape(title)}</a>'
        '</h2><div class="result__extras"><div class="result__extras__url"><span class="result__icon">'
        f'<a rel="nofollow" href="{href}"><img class="result__icon__img" width="16" height="16" alt="" '
        f'src="//external-content.duckduckgo.com/ip3/{host}.ico" name="i15" /></a></span>'
        f'<a class="result__url" href="{href}">{_ddg_escape(host + urlsplit(url).path)}</a></div></div>'
        f'<a class="result__snippet" href="{href}">{_ddg_escape(snippet)}</a><div class="clear"></div></div>'
        "</div>"
    )


def duckduckgo_results_page(query: str, results: Sequence[tuple[str, str, str]], *, ad: bool = True) -> bytes:
    """The results page for `query` listing these (url, title, snippet) results, best first; with `ad`, an
    ad above them (linked through duckduckgo.com/y.js, as DuckDuckGo's are)."""
    items = (
        [
            _ddg_result(
                "https://duckduckgo.com/y.js?ad_domain=lamps.example&ad_provider=bingv7aa&u3=https%3A%2F%2Flamps.example",
                "Lighthouse lamps - lamps.example",
                "Buy lighthouse lamps online. Free delivery.",
                ad=True,
            )
        ]
        if ad
        else []
    )
    items += [_ddg_result(url, title, snippet) for url, title, snippet in results]
    page = (
        _DDG_HEAD.format(query=_ddg_escape(query))
        + '<div><div class="serp__results"><div id="links" class="results">'
        + "".join(items)
        + '<div class="nav-link"><form action="/html/" method="post"><input type="submit" class="btn btn--alt" '
        'value="Next" /></form></div></div></div></div></body></html>'
    )
    return page.encode()


def duckduckgo_no_results_page(query: str) -> bytes:
    """What DuckDuckGo answers a query that matches nothing."""
    page = (
        _DDG_HEAD.format(query=_ddg_escape(query))
        + '<div><div class="serp__results"><div id="links" class="results"><div class="result results_links '
        'results_links_deep result--no-result"><div class="no-results">No  results.</div></div></div></div></div>'
        "</body></html>"
    )
    return page.encode()


DUCKDUCKGO_CHALLENGE_PAGE = (
    b'<!DOCTYPE html><html lang="en-US"><head><meta charset="utf-8"><title>DuckDuckGo</title></head><body>'
    b'<div class="anomaly-modal__mask"><div class="anomaly-modal__modal" data-testid="anomaly-modal">'
    b'<div class="anomaly-modal__title">Unfortunately, bots use DuckDuckGo too.</div>'
    b'<div class="anomaly-modal__description">Please complete the following challenge to confirm this search '
    b'was made by a human.</div><div class="anomaly-modal__instructions">Select all squares containing a duck:'
    b'</div><form id="challenge-form" action="//duckduckgo.com/anomaly.js?sv=html&amp;cc=sre" method="POST">'
    b'<div class="anomaly-modal__puzzle"></div><button class="anomaly-modal__submit" type="submit">Submit'
    b"</button></form></div></div></body></html>"
)
"""The bot check DuckDuckGo sends (with HTTP 202) once an address searches too often."""
