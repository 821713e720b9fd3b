"""Fault injection for tests and drills: model requests and searches that fail as real services fail.

With a `RESEARCH_FAULT_RATE_*` setting above zero, the offline model and every search backend fail a share
of their calls the way a real provider does: HTTP 429 (half of them with a `Retry-After`), 500 or 503, a
timeout after hanging a while, and (model only) structured output that is cut off or of the wrong shape.
The errors are the ones the real clients raise (pydantic-ai's `ModelHTTPError` categories, httpx's
`HTTPStatusError` and `ReadTimeout`), so the retry layer sees exactly what it sees in production.

Which call fails is a hash of the seed, the workflow, the step and the attempt, so a given seed fails the
same calls in every run and a retried call draws afresh. Every injected fault appends a `fault` line to the
execution log (`_audit.py`), so tests count what they injected.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import replace
from typing import TYPE_CHECKING, Literal

import httpx
from dbos import DBOS

from . import engine_settings
from ._audit import record_execution
from .settings import Settings

if TYPE_CHECKING:
    # pydantic-ai takes a second to import, and clients import this module (through search/).
    from pydantic_ai.messages import ModelResponse

    from .search.backends import SearchBackend, SearchHit  # search/step.py imports this module

Fault = Literal["429", "5xx", "timeout", "malformed"]
FAULT_URL = "https://search.invalid/fault-injection"
"""The URL injected search faults claim to have called (never contacted)."""


def _draw(settings: Settings, target: str, salt: str = "") -> float:
    """A number in [0, 1) fixed by the seed, the call (workflow, step, attempt) and `salt`."""
    status = DBOS.step_status
    attempt = status.current_attempt if status is not None else None
    key = f"{settings.fault_seed}|{target}|{DBOS.workflow_id}|{DBOS.step_id}|{attempt}|{salt}"
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") / 2**64


def choose_fault(settings: Settings, target: Literal["model", "search"]) -> Fault | None:
    """The fault this call suffers, if any (malformed output only for models)."""
    draw = _draw(settings, target)
    shares: list[tuple[Fault, float]] = [
        ("429", settings.fault_rate_429),
        ("5xx", settings.fault_rate_5xx),
        ("timeout", settings.fault_rate_timeout),
        ("malformed", settings.fault_rate_malformed if target == "model" else 0.0),
    ]
    for fault, share in shares:
        if draw < share:
            return fault
        draw -= share
    return None


def _retry_after(settings: Settings, target: str) -> float | None:
    """Half of the 429s say how long to wait, as real providers do only sometimes."""
    return settings.fault_retry_after if _draw(settings, target, "retry-after") < 0.5 else None


def _server_status(settings: Settings, target: str) -> int:
    return 500 if _draw(settings, target, "status") < 0.5 else 503


async def before_model_request(model_name: str, role: str) -> bool:
    """Raise the fault chosen for this model request; True when its answer is to be garbled instead."""
    settings = engine_settings.current()
    if not settings.faults_enabled:
        return False
    fault = choose_fault(settings, "model")
    if fault is None:
        return False
    from pydantic_ai.exceptions import (
        ModelHTTPError,
        ModelRateLimitError,
        ModelServerError,
        ModelTimeoutError,
        ModelUnavailableError,
    )

    if fault == "429":
        wait = _retry_after(settings, "model")
        record_execution("fault", fault, target="model", role=role, retry_after=wait)
        headers = {"retry-after-ms": str(round(wait * 1000))} if wait is not None else {}
        raise ModelHTTPError.for_category(
            ModelRateLimitError,
            status_code=429,
            model_name=model_name,
            body={"error": {"type": "rate_limit_error", "message": "injected fault"}},
            headers=headers,
        )
    if fault == "5xx":
        status = _server_status(settings, "model")
        record_execution("fault", fault, target="model", role=role, status=status)
        category = ModelServerError if status == 500 else ModelUnavailableError
        raise ModelHTTPError.for_category(
            category, status_code=status, model_name=model_name, body={"error": "injected fault"}
        )
    record_execution("fault", fault, target="model", role=role)
    if fault == "timeout":
        await asyncio.sleep(settings.fault_timeout_seconds)
        raise ModelTimeoutError(model_name, "Request timed out (injected fault)", phase="read")
    return True


def garbled(response: ModelResponse, output_tools: set[str]) -> ModelResponse:
    """`response` with its structured output got wrong: cut off half-way, or valid JSON of the wrong shape."""
    from pydantic_ai.messages import ToolCallPart

    parts = []
    for part in response.parts:
        if isinstance(part, ToolCallPart) and part.tool_name in output_tools:
            text = part.args if isinstance(part.args, str) else json.dumps(part.args or {})
            cut = _draw(engine_settings.current(), "model", "garble") < 0.5
            part = replace(part, args=text[: len(text) // 2] if cut else '{"answer": "no schema today"}')
        parts.append(part)
    return replace(response, parts=parts)


class FaultInjectingBackend:
    """A search backend that fails a share of its searches as an HTTP search service does."""

    def __init__(self, backend: SearchBackend, settings: Settings) -> None:
        self._backend = backend
        self._settings = settings
        self.name = backend.name

    async def search(self, query: str, max_results: int) -> list[SearchHit]:
        settings = self._settings
        fault = choose_fault(settings, "search")
        request = httpx.Request("POST", FAULT_URL)
        if fault == "429":
            wait = _retry_after(settings, "search")
            record_execution("fault", fault, target="search", backend=self.name, retry_after=wait)
            headers = {"Retry-After": f"{wait:g}"} if wait is not None else {}
            response = httpx.Response(429, headers=headers, request=request)
            raise httpx.HTTPStatusError(
                "429 Too Many Requests (injected fault)", request=request, response=response
            )
        if fault == "5xx":
            status = _server_status(settings, "search")
            record_execution("fault", fault, target="search", backend=self.name, status=status)
            response = httpx.Response(status, request=request)
            raise httpx.HTTPStatusError(f"{status} (injected fault)", request=request, response=response)
        if fault == "timeout":
            record_execution("fault", fault, target="search", backend=self.name)
            await asyncio.sleep(settings.fault_timeout_seconds)
            raise httpx.ReadTimeout("timed out (injected fault)", request=request)
        return await self._backend.search(query, max_results)


def with_faults(backend: SearchBackend, settings: Settings) -> SearchBackend:
    """`backend`, failing as the fault settings say (itself when fault injection is off)."""
    return FaultInjectingBackend(backend, settings) if settings.faults_enabled else backend
