"""The HTTP API (`deep-research serve`): runs submitted, read, controlled and followed live over HTTP.

A client of the database like the CLI and the UI: it imports the base layer and `research_agent.client`,
never the engine; workers run what it submits. `create_app(settings)` is the FastAPI app, `serve` runs it.
"""

from .app import MAX_BODY_BYTES, create_app
from .security import ExposureError
from .serve import serve

__all__ = ["MAX_BODY_BYTES", "ExposureError", "create_app", "serve"]
