"""The MCP server over streamable HTTP: served by uvicorn at /mcp, behind a bearer token beyond loopback.

Over loopback the SDK itself refuses requests whose Host or Origin is not this machine's (DNS rebinding);
anywhere else every request must carry `Authorization: Bearer RESEARCH_MCP_TOKEN`, and the command refuses
to start without one.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Any

from mcp.server.mcpserver import MCPServer
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from .options import InputError
from .settings import Settings
from .weburls import is_loopback

MCP_PATH = "/mcp"
MIN_TOKEN_CHARS = 16


class BearerToken:
    """ASGI middleware: every HTTP request must carry `Authorization: Bearer TOKEN` (compared in constant
    time); others get 401 and no session. Lifespan messages pass through."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            given = dict(scope["headers"]).get(b"authorization", b"")
            if not hmac.compare_digest(given, self.expected):
                response = JSONResponse(
                    {"error": "send the MCP token as Authorization: Bearer TOKEN (RESEARCH_MCP_TOKEN)"},
                    status_code=401,
                    headers={"WWW-Authenticate": "Bearer"},
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def http_token(settings: Settings, host: str) -> str | None:
    """The token HTTP clients must send (None: none needed), or `InputError` when serving beyond this
    machine without a usable one."""
    token = settings.secret("mcp_token")
    if token is not None and len(token) < MIN_TOKEN_CHARS:
        raise InputError(
            f"RESEARCH_MCP_TOKEN is {len(token)} characters long; use at least {MIN_TOKEN_CHARS} random "
            "ones, e.g. from: python -c 'import secrets; print(secrets.token_urlsafe(32))'"
        )
    if token is None and not is_loopback(host):
        raise InputError(
            f"--host {host} lets other machines call the MCP server: set RESEARCH_MCP_TOKEN to a long random "
            "secret first (clients send it as Authorization: Bearer TOKEN), or serve on 127.0.0.1"
        )
    return token


def serve_http(
    server: MCPServer[Any], host: str, port: int, token: str | None, echo: Callable[[str], None]
) -> None:
    """Serve `server` until uvicorn is stopped (SIGTERM, Ctrl-C), which it then raises again."""
    import uvicorn

    app: ASGIApp = server.streamable_http_app(streamable_http_path=MCP_PATH, host=host)
    if token is not None:
        app = BearerToken(app, token)
    shown = f"[{host}]" if ":" in host else host
    echo(
        f"MCP server at http://{shown}:{port}{MCP_PATH} (streamable HTTP)"
        + (", bearer token required" if token else ", this machine only")
        + " · Ctrl-C to stop"
    )
    uvicorn.run(app, host=host, port=port, log_level="warning", lifespan="on")
