"""A stand-in web search backend, and `python -m tests._web_stub ARGS`: the CLI with it in place.

The stub answers every query with one result from an allowed, a denied and an unlisted domain, so a worker
subprocess can run web searches (and be killed) with no network.
"""

from __future__ import annotations

from research_agent.search.backends import SearchHit


class WebStub:
    """Stands in for a web search backend: results from who.int, spam.example.com and blog.other.net."""

    name = "duckduckgo"

    async def search(self, query: str, max_results: int) -> list[SearchHit]:
        return [
            SearchHit(title=f"{query} at WHO", url="https://www.who.int/facts", snippet=f"{query}: facts"),
            SearchHit(title=f"{query} spam", url="https://spam.example.com/x", snippet=f"{query}: buy now"),
            SearchHit(title=f"{query} blog", url="https://blog.other.net/y", snippet=f"{query}: opinions"),
        ][:max_results]


def stub_backend(name: str, collection: str, settings: object) -> WebStub:
    return WebStub()


if __name__ == "__main__":
    from research_agent.cli import main
    from research_agent.search import step

    step.backend_for = stub_backend
    main()
