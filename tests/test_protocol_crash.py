"""A worker SIGKILLed mid-run through the real Anthropic SDK (issue 20, item 1): no answered request is sent twice.

The worker is a real `deep-research worker` subprocess whose models are Claude, reached through the
Anthropic SDK at a local stand-in (ANTHROPIC_BASE_URL) that streams its answers as the real API does, and
whose searches go to a Tavily stand-in. The stand-ins run in this process and count what they receive.
The analyst's first request is held open until the worker is killed, so the kill lands inside a model
request after every earlier request was answered and checkpointed. After the restart only that request is
sent again: the planner's and the searcher's requests, and the searches, each reached a server once.
"""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from research_agent.client import ResearchClient
from research_agent.options import resolve_options
from research_agent.schema import Phase

from ._process import kill, poll, settings_from_env, start_worker
from ._provider_standins import (
    Canned,
    RecordedRequest,
    Reply,
    StandIn,
    anthropic_message,
    anthropic_reply,
    anthropic_text,
    anthropic_tool_use,
    anthropic_usage,
    json_reply,
    tavily_response,
)

pytestmark = [pytest.mark.crash, pytest.mark.slow]

CLAUDE = "anthropic:claude-sonnet-4-6"
MESSAGES = "/v1/messages"
QUERY = "Holmfirth viaduct construction year"
SOURCE = (
    "https://holmfirth-rail.example/viaduct",
    "The Holmfirth viaduct",
    "The viaduct was finished in 1850.",
)
USAGE = anthropic_usage(420, 60)


def _plan() -> dict[str, Any]:
    return {
        "search_steps": [{"query": QUERY, "rationale": "The line's history dates the viaduct."}],
        "analysis_instructions": "Give the year the viaduct was finished.",
    }


def _findings() -> dict[str, Any]:
    url, title, snippet = SOURCE
    return {
        "query": QUERY,
        "summary": "The viaduct was finished in 1850.",
        "sources": [{"url": url, "title": title, "snippet": snippet}],
    }


REPORT = {"title": "The Holmfirth viaduct", "body": "The Holmfirth viaduct was finished in 1850 [1]."}


def _held_until(released: threading.Event, answer: Reply) -> Reply:
    """A reply that waits for `released` (the worker's death) before answering, to nobody."""

    def reply(request: RecordedRequest) -> Canned:
        released.wait(60)
        return answer(request) if callable(answer) else answer

    return reply


def test_a_kill_inside_a_claude_request_resends_only_that_request(
    isolated_env: dict[str, str], tmp_path: Path, workers: list[subprocess.Popen[str]]
) -> None:
    killed = threading.Event()
    report = anthropic_reply(
        anthropic_message([anthropic_tool_use("final_result", REPORT, "toolu_01R")], usage=USAGE)
    )
    with StandIn() as claude, StandIn() as tavily:
        claude.queue(
            anthropic_reply(
                anthropic_message(
                    [
                        anthropic_text("One search will do."),
                        anthropic_tool_use("final_result", _plan(), "toolu_01P"),
                    ],
                    usage=USAGE,
                )
            ),
            anthropic_reply(
                anthropic_message([anthropic_tool_use("search", {"query": QUERY}, "toolu_01S")], usage=USAGE)
            ),
            anthropic_reply(
                anthropic_message([anthropic_tool_use("final_result", _findings(), "toolu_01F")], usage=USAGE)
            ),
            _held_until(killed, report),  # the analyst's first request: cut off by the kill
            report,  # ... and the one sent again by the restarted worker
            path=MESSAGES,
        )
        tavily.queue(json_reply(tavily_response(QUERY, [SOURCE])), path="/search")
        env = {
            **isolated_env,
            "RESEARCH_DATABASE_URL": f"sqlite:///{tmp_path / 'crash.sqlite'}",
            "RESEARCH_OFFLINE": "false",
            "RESEARCH_PLANNER_MODEL": CLAUDE,
            "RESEARCH_SEARCH_MODEL": CLAUDE,
            "RESEARCH_ANALYST_MODEL": CLAUDE,
            "ANTHROPIC_API_KEY": "sk-ant-crash-test",
            "ANTHROPIC_BASE_URL": claude.url,
            "RESEARCH_SEARCH_BACKEND": "tavily",
            "TAVILY_API_KEY": "tvly-crash-test",
            "RESEARCH_TAVILY_URL": tavily.url,
            "RESEARCH_READ_PAGES": "0",
            "RESEARCH_MAX_SEARCHES": "1",
            "RESEARCH_MAX_EXTRA_SEARCHES": "0",
        }
        settings = settings_from_env(env).model_copy(
            update={
                "anthropic_api_key": SecretStr("sk-ant-crash-test"),
                "tavily_api_key": SecretStr("tvly-crash-test"),
            }
        )
        first = start_worker(env, tmp_path)
        workers.append(first)
        with ResearchClient(settings) as client:
            options, _ = resolve_options(settings)
            run_id = client.submit("When was the Holmfirth viaduct finished?", options, run_id="sdk-crash")
            poll(lambda: claude.count(MESSAGES), 60, "the analyst's request", holds=lambda n: n == 4)
            kill(first)
            killed.set()
            workers.append(start_worker(env, tmp_path))
            final = client.wait(run_id, timeout=60, poll_interval=0.05)

        assert final.phase is Phase.COMPLETED, final.error
        assert final.report is not None and final.report.body == REPORT["body"]
        assert [source.url for source in final.report.sources] == [SOURCE[0]]
        assert final.citations is not None and final.citations.clean
        requests = claude.received(MESSAGES)
        # Planner, searcher (call, then findings), analyst cut off, analyst again: nothing else was resent.
        assert len(requests) == 5 and claude.pending == 0
        assert all(request.wants_stream for request in requests), "Claude's requests stream"
        assert requests[3].body == requests[4].body, "the cut-off request is sent again as it was"
        assert tavily.count("/search") == 1
        # The usage of the request the kill cut off is not counted: four answered requests of 480 tokens.
        assert (final.usage.requests, final.usage.total_tokens) == (4, 4 * 480)
