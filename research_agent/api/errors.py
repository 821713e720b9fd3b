"""Every error the HTTP API returns, in one JSON shape: `{"error": {"code": ..., "message": ...}}`.

A program reading the API handles one shape whatever went wrong (a bad body, an unknown run, a missing
token, a body over the limit, a bug), and a person reading the message learns what to change. The
handlers here turn FastAPI's and Starlette's own errors into that shape too.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException

logger = logging.getLogger(__name__)

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    500: "internal_error",
}


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorBody(BaseModel):
    """What every 4xx and 5xx response holds."""

    error: ErrorDetail


class ApiError(Exception):
    """An error to answer with `status` and `message` (which says what to change)."""

    def __init__(
        self, status: int, message: str, code: str | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code or _CODES.get(status, "error")
        self.headers = headers


def error_response(
    status: int, message: str, code: str | None = None, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    body = ErrorBody(error=ErrorDetail(code=code or _CODES.get(status, "error"), message=message))
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


def _field(location: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(part) for part in location) or "the request"


def _validation_message(error: RequestValidationError) -> str:
    problems = []
    for problem in error.errors()[:3]:
        problems.append(f"{_field(problem.get('loc', ()))}: {problem.get('msg', 'invalid')}")
    more = len(error.errors()) - len(problems)
    tail = f" (and {more} more)" if more > 0 else ""
    return "; ".join(problems) + tail + "; see the request schema at /docs"


def too_large_message(limit: int) -> str:
    return f"the request body is over the limit of {limit:,} bytes; send a smaller one (a question is a few lines)"


def install_error_handlers(app: FastAPI, max_body_bytes: int) -> None:
    """Answer every error raised in `app` in the one JSON shape."""
    messages = {
        404: "no such endpoint; the endpoints are listed at /docs",
        405: "this endpoint does not take that method; the endpoints are listed at /docs",
        413: too_large_message(max_body_bytes),
    }

    async def api_error(_: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, ApiError)
        return error_response(error.status, error.message, error.code, error.headers)

    async def http_error(_: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, HTTPException)
        message = messages.get(error.status_code) or str(error.detail)
        return error_response(error.status_code, message, headers=error.headers)

    async def invalid_request(_: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestValidationError)
        return error_response(422, _validation_message(error))

    async def unexpected(_: Request, error: Exception) -> JSONResponse:
        logger.exception("unexpected error in the HTTP API", exc_info=error)
        return error_response(500, "the server failed on this request; its log has the details")

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(Exception, unexpected)
