"""Search backends behind one protocol, and the durable step every search goes through.

`corpus` searches a local BM25 collection; `duckduckgo` and `tavily` search the web over HTTP. The
provider's native web search (`builtin`) is not a backend here: it is a capability of the search agent.
"""

from .backends import SearchBackend, SearchError, SearchHit, TransientSearchError
from .step import backend_for, search_step

__all__ = ["SearchBackend", "SearchError", "SearchHit", "TransientSearchError", "backend_for", "search_step"]
