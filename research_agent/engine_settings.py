"""The settings the engine runs with, handed over once by whoever starts it.

Engine code (agents, the offline model, the search step, fault injection, the execution log) runs inside
DBOS steps that take only what a run records, and the offline model is called by pydantic-ai with the
messages alone: neither can be handed settings as arguments. So the process that starts the engine (a
worker, `runtime.worker`) hands its `Settings` over here once, and engine code reads them from here,
never from the environment. Tests pass settings the same way, with no cache to clear.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from .settings import Settings

_current: Settings | None = None


class EngineNotStartedError(RuntimeError):
    """Engine code ran before any settings were handed to it (no worker started in this process)."""


def current() -> Settings:
    """The engine's settings; `EngineNotStartedError` when no worker has handed any over."""
    if _current is None:
        raise EngineNotStartedError(
            "the research engine has no settings: start it with research_agent.runtime.worker(settings) "
            "(or engine_settings.use(settings) in a test)"
        )
    return _current


@contextmanager
def use(settings: Settings) -> Iterator[Settings]:
    """Run the engine with `settings` inside the block; the settings before it come back afterwards."""
    global _current
    previous, _current = _current, settings
    try:
        yield settings
    finally:
        _current = previous
