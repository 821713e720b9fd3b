"""A local OpenAI-compatible model and Tavily search that answer after a set latency, for load benches.

`python bench/_model_standin.py --port P --latency S` serves, on 127.0.0.1, `POST /v1/chat/completions`
answering each request after `S` seconds (asyncio: a thousand requests at once cost it no thread each)
and `POST /search` (Tavily's shape) at once. It answers a research run's three roles the way a model
following pydantic-ai's tool output would, told apart by the request's `final_result` tool:

- planner (its output schema has `search_steps`): a plan of `--searches` searches;
- searcher (it has the `search` tool): first a call of `search`, then, once the search result is in the
  conversation, `final_result` with findings that cite the results it was given;
- analyst (its output schema has `body`): a report citing source [1], streamed as server-sent events
  when the request asks for a stream (the analyst does).

The payload shapes are the stand-ins' of the tests (tests/_provider_standins.py), as the OpenAI SDK parses
them. It runs in its own process so that the bench measures the worker's CPU, not the stand-in's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests._provider_standins import openai_chat_completion, openai_chunks, openai_tool_call, tavily_response


def _tool(request: dict[str, Any], name: str) -> dict[str, Any] | None:
    for tool in request.get("tools", []):
        if tool["function"]["name"] == name:
            return dict(tool["function"])
    return None


def _call(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return openai_chat_completion(None, tool_calls=[openai_tool_call(name, arguments, f"call_{name}")])


def _search_results(request: dict[str, Any]) -> list[dict[str, Any]]:
    """The results of the `search` tool call in the conversation (JSON of the tool's return)."""
    for message in request["messages"]:
        if message["role"] == "tool":
            try:
                content = json.loads(message["content"])
            except (TypeError, ValueError):
                return []
            return content if isinstance(content, list) else content.get("results", [])
    return []


def answer(request: dict[str, Any], searches: int) -> dict[str, Any]:
    """What a well-behaved model answers this request (see the module's docstring)."""
    output = _tool(request, "final_result")
    fields = set(output["parameters"].get("properties", {})) if output else set()
    if "search_steps" in fields:
        steps = [
            {"query": f"aspect {n} of the question", "rationale": "It answers a part."}
            for n in range(searches)
        ]
        return _call("final_result", {"search_steps": steps, "analysis_instructions": "Compare them."})
    if _tool(request, "search") is not None:
        results = _search_results(request)
        if not any(message["role"] == "tool" for message in request["messages"]):
            return _call("search", {"query": "aspect of the question"})
        sources = [
            {"url": r.get("url", ""), "title": r.get("title", ""), "snippet": "It says so."}
            for r in results[:2]
            if isinstance(r, dict)
        ]
        return _call(
            "final_result", {"query": "aspect", "summary": "What the pages say.", "sources": sources}
        )
    if "body" in fields:
        return _call("final_result", {"title": "Report", "body": "The answer, from the searches [1]."})
    return openai_chat_completion("I cannot tell what to answer.")


def app(latency: float, searches: int) -> Starlette:
    async def completions(request: Request) -> Response:
        body = await request.json()
        await asyncio.sleep(latency)
        completion = answer(body, searches)
        if not body.get("stream"):
            return JSONResponse(completion)
        # The analyst streams its report: the same answer as server-sent events.
        events = [f"data: {json.dumps(chunk)}\n\n" for chunk in openai_chunks(completion)] + [
            "data: [DONE]\n\n"
        ]
        return StreamingResponse(iter(events), media_type="text/event-stream")

    async def search(request: Request) -> JSONResponse:
        body = await request.json()
        query = str(body.get("query", ""))
        results = [
            (f"https://example.org/{n}/{abs(hash(query))}", f"Page {n}", "It says so.") for n in range(3)
        ]
        return JSONResponse(tavily_response(query, results))

    return Starlette(
        routes=[
            Route("/v1/chat/completions", completions, methods=["POST"]),
            Route("/search", search, methods=["POST"]),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--latency", type=float, required=True, help="Seconds before each model answer.")
    parser.add_argument("--searches", type=int, default=3, help="Searches in each plan.")
    arguments = parser.parse_args()
    uvicorn.run(
        app(arguments.latency, arguments.searches),
        host="127.0.0.1",
        port=arguments.port,
        log_level="warning",
        backlog=4096,
        limit_concurrency=None,
    )


if __name__ == "__main__":
    main()
