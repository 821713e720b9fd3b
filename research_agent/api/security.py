"""Who may use the HTTP API: a bearer token from the settings, or, without one, this machine only.

With `RESEARCH_API_TOKEN` set every request to `/runs` must carry `Authorization: Bearer TOKEN`. Without
it the API must listen on loopback (`check_exposure` refuses anything else before a socket opens) and
answers only requests addressed to a loopback name: a web page in the user's browser whose own name was
re-pointed at 127.0.0.1 (DNS rebinding) sends its own name as Host, and is refused.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ..options import InputError
from ..settings import Settings
from ..weburls import is_loopback
from .errors import ApiError

MIN_TOKEN_CHARS = 16
_bearer = HTTPBearer(auto_error=False, description="RESEARCH_API_TOKEN, as `Authorization: Bearer TOKEN`.")
_TOKEN_HINT = "python -c 'import secrets; print(secrets.token_urlsafe(32))'"


class ExposureError(InputError):
    """The API would serve other machines without a token, or with a token too short to resist guessing."""


def check_exposure(settings: Settings, host: str) -> None:
    """Refuse (`ExposureError`) to serve on a non-loopback `host` without a token, or with a weak one."""
    token = settings.secret("api_token")
    if token is not None and len(token) < MIN_TOKEN_CHARS:
        raise ExposureError(
            f"RESEARCH_API_TOKEN is {len(token)} characters long; use at least {MIN_TOKEN_CHARS}, "
            f"e.g. from: {_TOKEN_HINT}"
        )
    if token is None and not is_loopback(host):
        raise ExposureError(
            f"serving on {host} lets other machines reach the API, so it needs RESEARCH_API_TOKEN; set it "
            f"(e.g. from: {_TOKEN_HINT}) or serve on 127.0.0.1"
        )


def _host_name(request: Request) -> str:
    """The name the request was addressed to, without its port."""
    host = request.headers.get("host", "")
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def authorizer(settings: Settings) -> Callable[..., None]:
    """A FastAPI dependency that lets a request through only as the module docstring says."""
    token = settings.secret("api_token")

    def authorize(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> None:
        if token is None:
            if not is_loopback(_host_name(request)):
                raise ApiError(
                    403,
                    "without RESEARCH_API_TOKEN this API answers only requests to localhost or 127.0.0.1; "
                    "set a token to reach it by another name",
                )
            return
        if credentials is None:
            raise ApiError(
                401,
                "this API needs a bearer token: send the header `Authorization: Bearer TOKEN` with the "
                "value of RESEARCH_API_TOKEN",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if not secrets.compare_digest(credentials.credentials.encode(), token.encode()):
            raise ApiError(
                401,
                "the bearer token is wrong; send the value of RESEARCH_API_TOKEN the server runs with",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )

    return authorize
