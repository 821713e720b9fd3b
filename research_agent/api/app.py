"""The HTTP API as a FastAPI app, made from the `Settings` it is given (it reads no environment).

`create_app(settings)` opens a `ResearchClient` on the settings' database when the app starts and closes
it when the app stops; runs are executed by workers, never in this process. The OpenAPI schema is at
`/openapi.json` and browsable at `/docs`; `/health` answers without a token, everything under `/runs`
needs one when `RESEARCH_API_TOKEN` is set (see `security`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from fastapi import Depends, FastAPI, Request
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .. import __version__
from ..client import ResearchClient
from ..settings import Settings
from . import routes, stream
from .bodies import Health
from .errors import error_response, install_error_handlers, too_large_message
from .feed import POLL_INTERVAL, StatusFeed
from .routes import ApiState
from .security import authorizer

MAX_BODY_BYTES = 256 * 1024
"""Largest request body: a question is at most a few KB, an edited plan some tens."""


class _BodySizeLimit:
    """Answer 413, in the API's error shape, to a request body over `limit` bytes: at once when its
    Content-Length says so, else as soon as the bytes read pass the limit (a body sent in chunks)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > self.limit:
                await error_response(413, too_large_message(self.limit))(scope, receive, send)
                return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise HTTPException(413)  # answered by the error handlers, while the body is read
            return message

        await self.app(scope, counted, send)


def create_app(
    settings: Settings, *, max_body_bytes: int = MAX_BODY_BYTES, poll_interval: float = POLL_INTERVAL
) -> FastAPI:
    """The API over the runs in `settings`' database."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        client = await anyio.to_thread.run_sync(ResearchClient, settings)
        feed = StatusFeed(client, interval=poll_interval)
        feed.start()
        app.state.api = ApiState(settings=settings, client=client, feed=feed)
        try:
            yield
        finally:
            await feed.stop()
            client.close()

    app = FastAPI(
        title="deep-research",
        version=__version__,
        summary="Submit research runs, follow their progress live, read their cited reports.",
        lifespan=lifespan,
    )
    install_error_handlers(app, max_body_bytes)
    app.add_middleware(_BodySizeLimit, limit=max_body_bytes)
    protected = [Depends(authorizer(settings))]
    app.include_router(routes.router, dependencies=protected)
    app.include_router(stream.router, dependencies=protected)

    @app.get("/health", tags=["service"])
    def health(request: Request) -> Health:
        """Whether the API is up and some worker will run what is submitted (no token needed)."""
        state: ApiState = request.app.state.api
        return Health(version=__version__, worker_alive=state.client.any_worker_alive())

    return app
