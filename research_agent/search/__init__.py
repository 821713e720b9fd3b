"""Search backends behind one protocol, and the durable step every search goes through.

`corpus` searches a local BM25 collection; `duckduckgo` and `tavily` search the web over HTTP. The
provider's native web search (`builtin`) is not a backend here: it is a capability of the search agent.
"""

from typing import TYPE_CHECKING, Any

from .backends import SearchBackend, SearchHit
from .errors import SearchError, TransientSearchError

if TYPE_CHECKING:
    from .step import backend_for, search_step


def __getattr__(name: str) -> Any:
    # The step imports DBOS and pydantic-ai; loaded on first use, so that importing the domain rules or
    # the backends (as the CLI does) stays quick.
    if name in ("backend_for", "search_step"):
        from . import step

        return getattr(step, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["SearchBackend", "SearchError", "SearchHit", "TransientSearchError", "backend_for", "search_step"]
