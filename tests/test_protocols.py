"""Every provider path, proven at the protocol (issue 20, item 1): real SDKs and pydantic-ai models, through a
real in-process worker, against local servers answering in each provider's wire format.

The stand-ins (tests/_provider_standins.py) answer as the recorded answers in pydantic-ai's cassettes do:
Anthropic's Messages API streamed (the SDK streams whenever a model's max_tokens is large, as Claude
Sonnet's is), Gemini's `generateContent` with and without Google Search grounding, OpenAI-compatible chat
completions as Ollama, vLLM or llama.cpp serve them, Tavily's JSON, and DuckDuckGo's HTML results page (its
form posted to RESEARCH_DUCKDUCKGO_URL by ddgs's DuckDuckGo engine: results, its bot check, nothing found, a
page that is no results page).

Three research runs (planner, search, analyst) each use one provider for every role: Claude Sonnet 4.6
answering with text before its tool calls and calling `search` twice in parallel; Gemini 2.5 planning and
writing by function call and searching with Google Search grounding (its findings prompted JSON, in prose
and a Markdown fence); a small local model that first answers in plain text only, then calls `search` twice
in parallel. A fourth runs the default models (settings.py): Claude Sonnet 5.5, which thinks first and
answers JSON by schema, plans and writes; Gemini 3.8 Flash searches with grounding and gives its findings by
output tool. The README's "Tested models" table names these tests. Single agent runs (the planner's workflow, or one search's) cover each provider's failures: 429 with the wait it asks for, 529/503, a malformed body, a stream or body cut off,
and usage with cache tokens, which count against a run's token budget. Two more runs have the analyst's
stream cut off part-way (OpenAI-compatible `stream: true`, Gemini's `alt=sse`), and one has Gemini call
`search` twice in one answer. Tavily's 429, 5xx and a body cut off are retried; a page in place of its JSON
fails the search saying so. Everything starts at once in a
module fixture, each case routed by a name its requests mention, so the whole module costs about as long
as its slowest case.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from dbos import DBOS, WorkflowHandle
from pydantic import SecretStr
from pydantic_ai.exceptions import UsageLimitExceeded

from research_agent import workflows
from research_agent.client import ResearchClient
from research_agent.retries import INTERVAL_SECONDS
from research_agent.runtime import worker
from research_agent.schema import (
    Budget,
    Phase,
    PlanOutcome,
    ResearchOptions,
    ResearchStatus,
    SearchOutcome,
    SearchStep,
    report_text_so_far,
)
from research_agent.search.native import native_results
from research_agent.settings import Settings
from tests._process import settings_from_env
from tests._provider_standins import (
    DUCKDUCKGO_CHALLENGE_PAGE,
    Canned,
    RecordedRequest,
    Reply,
    StandIn,
    anthropic_error,
    anthropic_events,
    anthropic_message,
    anthropic_reply,
    anthropic_text,
    anthropic_tool_use,
    anthropic_usage,
    duckduckgo_no_results_page,
    duckduckgo_results_page,
    gemini_error,
    gemini_function_call,
    gemini_grounding,
    gemini_reply,
    gemini_response,
    gemini_usage,
    html_reply,
    json_reply,
    openai_chat_completion,
    openai_error,
    openai_tool_call,
    openai_usage,
    redirect_reply,
    sse_reply,
    tavily_response,
)

CLAUDE = "anthropic:claude-sonnet-4-6"
"""Claude without default thinking: pydantic-ai asks for its structured answers by (forced) tool call."""
CLAUDE_5 = "anthropic:claude-sonnet-5-5"
"""The default planner and analyst model (settings.py): it thinks by default, and a forced tool call would
stop it thinking, so pydantic-ai asks for its structured answers as native JSON-schema output."""
GEMINI = "google-gla:gemini-2.5-flash"
"""Gemini before 3: an output tool and Google Search cannot share a request, so its findings are prompted JSON."""
GEMINI_3 = "google-gla:gemini-3.8-flash"
"""The default search model: Gemini 3 gives its findings by output tool beside Google Search."""
LOCAL = "openai:qwen2.5:7b-instruct"
"""A small model as Ollama names it, served OpenAI-compatibly at the stand-in's /v1."""
ANTHROPIC_PATH, OPENAI_PATH = "/v1/messages", "/v1/chat/completions"
GEMINI_PATH = "/v1beta/models/gemini-2.5-flash:generateContent"
GEMINI_STREAM_PATH = "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
LINK_PATH = "/grounding-api-redirect/"
RESULT_TIMEOUT = 60


# --- the lab: stand-ins, one worker, everything started at once -----------------------------------------


@dataclass
class Lab:
    """The stand-ins, the worker's client, and every run and workflow the module's cases started."""

    anthropic: StandIn
    gemini: StandIn
    openai: StandIn
    tavily: StandIn
    duckduckgo: StandIn
    redirector: StandIn
    client: ResearchClient
    handles: dict[str, WorkflowHandle[Any]] = field(default_factory=dict)
    runs: set[str] = field(default_factory=set)

    def submit(self, run_id: str, question: str, options: ResearchOptions) -> None:
        self.runs.add(self.client.submit(question, options, run_id=run_id))

    def start(self, name: str, workflow: Callable[..., Any], *args: Any) -> None:
        self.handles[name] = DBOS.start_workflow(workflow, *args)

    def status(self, run_id: str) -> ResearchStatus:
        assert run_id in self.runs, f"no run {run_id} was started"
        return self.client.wait(run_id, poll_interval=0.05, timeout=RESULT_TIMEOUT)

    def outcome(self, name: str) -> Any:
        """What the workflow returned, or the exception it raised."""
        try:
            return self.handles[name].get_result(polling_interval_sec=0.05)
        except Exception as error:
            return error


_STARTERS: list[Callable[[Lab], None]] = []


def _starts(starter: Callable[[Lab], None]) -> Callable[[Lab], None]:
    """Run `starter` when the lab opens: it queues its replies and starts its run or workflow."""
    _STARTERS.append(starter)
    return starter


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory, index_dir: Path) -> Iterator[Lab]:
    root = tmp_path_factory.mktemp("protocols")
    settings = settings_from_env(
        {
            "RESEARCH_DATA_DIR": str(root),
            "RESEARCH_INDEX_DIR": str(index_dir),
            "RESEARCH_DATABASE_URL": f"sqlite:///{root / 'protocols.sqlite'}",
            "RESEARCH_QUEUE_POLL_INTERVAL": "0.05",
            "RESEARCH_WORKER_CONCURRENCY": "8",
            "RESEARCH_READ_PAGES": "0",
        }
    )
    with (
        StandIn() as anthropic,
        StandIn() as gemini,
        StandIn() as openai,
        StandIn() as tavily,
        StandIn() as duckduckgo,
        StandIn(default=_redirect_to_its_page) as redirector,
        pytest.MonkeyPatch.context() as patch,
    ):
        # The SDKs' own overrides, as a proxy or a gateway would be configured; Tavily's, DuckDuckGo's and
        # OpenAI's are settings.
        patch.setenv("ANTHROPIC_BASE_URL", anthropic.url)
        patch.setenv("GOOGLE_GEMINI_BASE_URL", gemini.url)
        # Gemini's redirect links are told apart by their prefix: the local redirector's, here.
        patch.setattr(
            workflows,
            "native_results",
            functools.partial(native_results, redirect_prefixes=[f"{redirector.url}{LINK_PATH}"]),
        )
        settings = settings.model_copy(
            update={
                "anthropic_api_key": SecretStr("sk-ant-test"),
                "google_api_key": SecretStr("gemini-test"),
                "openai_base_url": f"{openai.url}/v1",  # no key: a local server needs none
                "tavily_api_key": SecretStr("tvly-test"),
                "tavily_url": tavily.url,
                "duckduckgo_url": duckduckgo.url,
                "allow_private_urls": True,  # the redirector's targets are on this machine
            }
        )
        with worker(settings), ResearchClient(settings) as client:
            lab = Lab(anthropic, gemini, openai, tavily, duckduckgo, redirector, client)
            for start in _STARTERS:
                start(lab)
            yield lab


def _redirect_to_its_page(request: RecordedRequest) -> Canned:
    """Gemini's redirector: each link to the page named after it (on this server, which serves them too)."""
    if not request.path.startswith(LINK_PATH):
        return html_reply(BRANNOCK_PAGE)
    return redirect_reply(f"http://{request.headers['host']}/pages/{request.path.removeprefix(LINK_PATH)}")


def _options(model: str, backend: str, **changes: Any) -> ResearchOptions:
    return ResearchOptions(
        offline=False,
        planner_model=model,
        search_model=model,
        analyst_model=model,
        search_backend=backend,
        max_searches=1,
        max_extra_searches=0,
        read_pages=0,
    ).model_copy(update=changes)


def _plan(query: str) -> dict[str, Any]:
    return {
        "search_steps": [{"query": query, "rationale": "The light's history answers the question."}],
        "analysis_instructions": "Give the year the light was first lit.",
    }


def _findings(query: str, sources: list[tuple[str, str, str]]) -> dict[str, Any]:
    return {
        "query": query,
        "summary": "The light was first lit in 1841; keepers served there until 1987.",
        "sources": [{"url": url, "title": title, "snippet": snippet} for url, title, snippet in sources],
    }


def _report(name: str) -> dict[str, Any]:
    return {
        "title": f"The {name} lighthouse",
        "body": f"The {name} light was first lit in 1841 [1]. Keepers served there until 1987 [2].",
    }


def _tool_results(request: RecordedRequest) -> list[str]:
    """The ids of the tool results a request sends back (Anthropic's or OpenAI's format)."""
    body = request.json()
    found = []
    for message in body.get("messages", []):  # Anthropic, OpenAI
        if message.get("role") == "tool":
            found.append(message["tool_call_id"])
        for block in message.get("content") if isinstance(message.get("content"), list) else []:
            if block.get("type") == "tool_result":
                found.append(block["tool_use_id"])
    return found


def _sources(status: ResearchStatus) -> list[str | None]:
    assert status.report is not None
    return [source.url for source in status.report.sources]


def _published_text(lab: Lab, run_id: str) -> str:
    """The report's text as the analyst published it while it wrote (what the HTTP API streams)."""
    chunks = [chunk for _, _, chunk in lab.client.report_text({run_id: -1})]
    assert None not in chunks
    return report_text_so_far(chunk for chunk in chunks if chunk is not None)


def _assert_completed(status: ResearchStatus, name: str, urls: list[str]) -> None:
    assert status.phase is Phase.COMPLETED, status.error
    assert status.report is not None and status.report.body == _report(name)["body"]
    assert _sources(status) == urls
    [search] = status.searches
    assert search.state.value == "done" and search.error is None and search.unreturned == 0


# --- Claude: text before parallel tool calls, streamed; Tavily ------------------------------------------

SKERROW = "Skerrow Point"
SKERROW_PAGES = {
    "Skerrow Point lighthouse history": [
        ("https://skerrow-light.example/history", "History of the Skerrow Point light", "First lit in 1841."),
    ],
    "Skerrow Point lighthouse keepers": [
        ("https://skerrow-light.example/keepers", "Keepers of Skerrow Point", "Keepers served to 1987."),
    ],
}
CACHED = anthropic_usage(3, 60, cache_read=1111, cache_write=418)
"""Shaped on the recorded prompt-caching answer: 3 tokens new, 1111 read from the cache, 418 written."""


def _tavily_answer(pages: dict[str, list[tuple[str, str, str]]]) -> Reply:
    def reply(request: RecordedRequest) -> Canned:
        query = request.json()["query"]
        return json_reply(tavily_response(query, pages[query]))

    return reply


@_starts
def _claude_run(lab: Lab) -> None:
    history, keepers = SKERROW_PAGES
    claude = [
        anthropic_message(
            [
                anthropic_text("I'll plan one search."),
                anthropic_tool_use("final_result", _plan(history), "toolu_01P"),
            ],
            usage=CACHED,
        ),
        anthropic_message(
            [
                anthropic_text("I'll search for the light's history and for its keepers."),
                anthropic_tool_use("search", {"query": history}, "toolu_01H"),
                anthropic_tool_use("search", {"query": keepers}, "toolu_01K"),
            ],
            usage=CACHED,
        ),
        anthropic_message(
            [
                anthropic_text("Both searches answered."),
                anthropic_tool_use(
                    "final_result",
                    _findings(history, SKERROW_PAGES[history] + SKERROW_PAGES[keepers]),
                    "toolu_01F",
                ),
            ],
            usage=CACHED,
        ),
        anthropic_message([anthropic_tool_use("final_result", _report(SKERROW), "toolu_01R")], usage=CACHED),
    ]
    lab.anthropic.queue(*map(anthropic_reply, claude), path=ANTHROPIC_PATH, mentioning=SKERROW)
    lab.tavily.queue(*[_tavily_answer(SKERROW_PAGES)] * 2, path="/search", mentioning=SKERROW)
    lab.submit("claude", f"When was the {SKERROW} lighthouse first lit?", _options(CLAUDE, "tavily"))


def test_claude_streams_text_then_parallel_tool_calls_and_the_run_completes(lab: Lab) -> None:
    status = lab.status("claude")

    urls = [url for pages in SKERROW_PAGES.values() for url, _, _ in pages]
    _assert_completed(status, SKERROW, urls)
    requests = lab.anthropic.received(mentioning=SKERROW)
    assert len(requests) == 4 and all(r.wants_stream for r in requests), "every request streams"
    assert _published_text(lab, "claude") == _report(SKERROW)["body"]
    assert {r.headers["authorization"] for r in requests} == {"Bearer sk-ant-test"}
    # Both parallel calls were run, and both results went back in the one next request.
    assert sorted(r.json()["query"] for r in lab.tavily.received(mentioning=SKERROW)) == sorted(SKERROW_PAGES)
    assert sorted(_tool_results(requests[2])) == ["toolu_01H", "toolu_01K"]
    assert {r.headers["authorization"] for r in lab.tavily.received(mentioning=SKERROW)} == {
        "Bearer tvly-test"
    }


def test_claude_cache_tokens_count_as_input(lab: Lab) -> None:
    """Four answers of 3 new, 1111 cache-read and 418 cache-written input tokens: all 1532 are input."""
    status = lab.status("claude")
    usage = status.usage_by_model[CLAUDE]
    assert (usage.requests, usage.input_tokens, usage.output_tokens, usage.tool_calls) == (
        4,
        4 * 1532,
        4 * 60,
        2,
    )
    assert status.usage == usage


# --- Gemini 2.5: function calls, and Google Search grounding answered as prompted JSON ------------------

BRANNOCK = "Brannock Head"
BRANNOCK_QUERY = "Brannock Head lighthouse history"
BRANNOCK_PAGE = (
    b"<html><head><title>The Brannock Head lighthouse</title></head><body><nav>Home | Lights</nav><article>"
    b"<h1>The Brannock Head lighthouse</h1>"
    b"<p>The Brannock Head lighthouse was first lit in 1841, after six years of building on the headland.</p>"
    b"<p>Keepers served at Brannock Head until 1987, when the light was automated and the last keeper left."
    b"</p></article><footer>Copyright</footer></body></html>"
)
"""The page behind each of Gemini's links: what the run reads, and what its citations are checked against."""
BRANNOCK_LINKS = {"history": "History of the Brannock Head light", "keepers": "Keepers of Brannock Head"}


@_starts
def _gemini_run(lab: Lab) -> None:
    pages = {key: f"{lab.redirector.url}/pages/{key}" for key in BRANNOCK_LINKS}
    findings = _findings(
        BRANNOCK_QUERY, [(pages[key], title, "First lit in 1841.") for key, title in BRANNOCK_LINKS.items()]
    )
    # Gemini 2.5 with its search on answers in text: the findings in a fence, after a sentence of its own.
    text = f"Here is what I found.\n```json\n{json.dumps(findings, indent=2)}\n```"
    grounding = gemini_grounding(
        text,
        chunks=[(f"{lab.redirector.url}{LINK_PATH}{key}", "127.0.0.1") for key in BRANNOCK_LINKS],
        supports=[("First lit in 1841.", [0, 1])],
        queries=[BRANNOCK_QUERY],
    )
    usage = gemini_usage(1500, 80, cached=1024)
    answers = [
        gemini_response(
            [{"text": "One search will do."}, gemini_function_call("final_result", _plan(BRANNOCK_QUERY))],
            usage=usage,
        ),
        gemini_response(text, grounding=grounding, usage=usage),
        gemini_response([gemini_function_call("final_result", _report(BRANNOCK))], usage=usage),
    ]
    lab.gemini.queue(*map(gemini_reply, answers), mentioning=BRANNOCK)
    # Grounding names pages but quotes none of their words (its supports are the model's sentences): the
    # pages are read, and what they say is what the citations are checked against.
    lab.submit(
        "gemini",
        f"When was the {BRANNOCK} lighthouse first lit?",
        _options(GEMINI, "builtin", read_pages=len(BRANNOCK_LINKS)),
    )


def test_gemini_plans_and_writes_by_function_call_and_searches_with_grounding(lab: Lab) -> None:
    status = lab.status("gemini")

    pages = [f"{lab.redirector.url}/pages/{key}" for key in BRANNOCK_LINKS]
    _assert_completed(status, BRANNOCK, pages)
    requests = lab.gemini.received(mentioning=BRANNOCK)
    # The analyst streams, so that the report's text is published as it is written.
    assert [r.path for r in requests] == [GEMINI_PATH, GEMINI_PATH, GEMINI_STREAM_PATH]
    assert _published_text(lab, "gemini") == _report(BRANNOCK)["body"]
    assert {r.headers["x-goog-api-key"] for r in requests} == {"gemini-test"}
    planner, searcher, analyst = (r.json() for r in requests)
    # The planner and analyst must call a function; the search runs Google Search and is prompted for JSON.
    assert planner["toolConfig"]["functionCallingConfig"]["mode"] == "ANY"
    assert analyst["toolConfig"]["functionCallingConfig"]["mode"] == "ANY"
    assert searcher["tools"] == [{"googleSearch": {}}] and "toolConfig" not in searcher
    assert "json" in json.dumps(searcher["systemInstruction"]).lower()
    # Its sources are what the grounding returned: the redirect links, resolved to their pages.
    # (The default models' run has links of its own on the same redirector.)
    followed = [r.path for r in lab.redirector.received(LINK_PATH) if "ardmore-" not in r.path]
    assert sorted(followed) == sorted(LINK_PATH + k for k in BRANNOCK_LINKS)
    assert [source.url for source in status.searches[0].sources] == pages


def test_gemini_cached_content_tokens_count_as_input(lab: Lab) -> None:
    usage = lab.status("gemini").usage_by_model[GEMINI]
    assert (usage.requests, usage.input_tokens, usage.output_tokens) == (3, 3 * 1500, 3 * 80)


# --- the default models: Claude Sonnet 5.5 plans and writes, Gemini 3.8 Flash searches with grounding ---

ARDMORE = "Ardmore Bill"
ARDMORE_QUERY = "Ardmore Bill lighthouse history"
GEMINI_3_PATH = "/v1beta/models/gemini-3.8-flash:generateContent"
ARDMORE_LINKS = {
    "ardmore-history": "History of the Ardmore Bill light",
    "ardmore-keepers": "Ardmore Bill keepers",
}
"""Its own links on the redirector (which serves the same page for every one), so each run counts its own."""


@_starts
def _default_models_run(lab: Lab) -> None:
    pages = {key: f"{lab.redirector.url}/pages/{key}" for key in ARDMORE_LINKS}
    findings = _findings(
        ARDMORE_QUERY, [(pages[key], title, "First lit in 1841.") for key, title in ARDMORE_LINKS.items()]
    )
    text = "The Ardmore Bill light was first lit in 1841."
    # Gemini 3 reports its search as toolCall/toolResponse parts (shaped on pydantic-ai's recorded Gemini 3
    # answers), then gives the findings by calling the output tool, in the same response.
    parts: list[dict[str, Any]] = [
        {"thoughtSignature": "Ep8ECpwECAISlwQBDDnW", "toolCall": {"id": "k81x2fqa", "toolType": "GOOGLE_SEARCH_WEB",
                                                                  "args": {"queries": [ARDMORE_QUERY]}}},
        {"thoughtSignature": "EtIGCs8GCAISygYBDDnW", "toolResponse": {"id": "k81x2fqa", "toolType": "GOOGLE_SEARCH_WEB"}},
        {"text": text},
        {"functionCall": {"name": "final_result", "args": findings, "id": "fc_ardmore"}},
    ]  # fmt: skip
    grounding = gemini_grounding(
        text,
        chunks=[(f"{lab.redirector.url}{LINK_PATH}{key}", "127.0.0.1") for key in ARDMORE_LINKS],
        supports=[(text, [0, 1])],
        queries=[ARDMORE_QUERY],
    )
    search = gemini_response(
        parts, grounding=grounding, model_version="gemini-3.8-flash", usage=gemini_usage(1500, 80)
    )
    lab.gemini.queue(gemini_reply(search), mentioning=ARDMORE)
    claude = [
        anthropic_message(
            [anthropic_tool_use("final_result", _plan(ARDMORE_QUERY), "toolu_02P")], usage=CACHED
        ),
        anthropic_message([anthropic_tool_use("final_result", _report(ARDMORE), "toolu_02R")], usage=CACHED),
    ]
    lab.anthropic.queue(*map(anthropic_reply, claude), path=ANTHROPIC_PATH, mentioning=ARDMORE)
    defaults = Settings.model_fields
    lab.submit(
        "defaults",
        f"When was the {ARDMORE} lighthouse first lit?",
        _options(CLAUDE_5, "builtin", read_pages=len(ARDMORE_LINKS)).model_copy(
            update={
                "planner_model": defaults["planner_model"].default,
                "search_model": defaults["search_model"].default,
                "analyst_model": defaults["analyst_model"].default,
            }
        ),
    )


def test_the_default_models_complete_a_run_searching_with_grounding_by_output_tool(lab: Lab) -> None:
    status = lab.status("defaults")

    assert (status.options.planner_model, status.options.search_model, status.options.analyst_model) == (
        CLAUDE_5,
        GEMINI_3,
        CLAUDE_5,
    ), "the defaults changed: update this run, and the README's tested models, to the new ones"
    pages = [f"{lab.redirector.url}/pages/{key}" for key in ARDMORE_LINKS]
    _assert_completed(status, ARDMORE, pages)
    planner, analyst = lab.anthropic.received(mentioning=ARDMORE)
    assert planner.wants_stream and analyst.wants_stream
    # Asked for JSON by schema, not by a forced tool call (which would stop Sonnet 5.5 thinking).
    for request in (planner.json(), analyst.json()):
        assert request["output_config"]["format"]["type"] == "json_schema"
        assert "final_result" not in json.dumps(request.get("tools", []))
    [searcher] = (r.json() for r in lab.gemini.received(mentioning=ARDMORE))
    assert lab.gemini.received(mentioning=ARDMORE)[0].path == GEMINI_3_PATH
    # Gemini 3 takes the output tool beside Google Search: no JSON prompted in the instructions.
    declared = [t for t in searcher["tools"] if "functionDeclarations" in t]
    assert {"googleSearch": {}} in searcher["tools"]
    assert [d["name"] for t in declared for d in t["functionDeclarations"]] == ["final_result"]
    assert searcher["toolConfig"]["includeServerSideToolInvocations"] is True
    assert "json" not in json.dumps(searcher.get("systemInstruction", "")).lower()
    assert sorted(r.path for r in lab.redirector.received(LINK_PATH + "ardmore-")) == sorted(
        LINK_PATH + k for k in ARDMORE_LINKS
    )
    assert [source.url for source in status.searches[0].sources] == pages


# --- a small local model: plain text first, then parallel calls -----------------------------------------

TULLAN = "Tullan Ness"
TULLAN_PAGES = {
    "Tullan Ness lighthouse history": [
        (
            "https://tullan-light.example/history?lang=en&print=1",
            "History of the Tullan Ness light",
            "First lit in 1841.",
        ),
    ],
    "Tullan Ness lighthouse keepers": [
        ("https://tullan-light.example/keepers", "Keepers of Tullan Ness", "Keepers served to 1987."),
    ],
}


@_starts
def _local_model_run(lab: Lab) -> None:
    history, keepers = TULLAN_PAGES
    sources = TULLAN_PAGES[history] + TULLAN_PAGES[keepers]
    answers = [
        openai_chat_completion(
            None, tool_calls=[openai_tool_call("final_result", _plan(history), "call_q7p1")]
        ),
        # A small model first answers in words only; pydantic-ai asks it again for a tool call.
        openai_chat_completion("I will search for the history of the Tullan Ness light and its keepers."),
        openai_chat_completion(
            "Searching now.",
            tool_calls=[
                openai_tool_call("search", {"query": history}, "call_h2k9"),
                openai_tool_call("search", {"query": keepers}, "call_k5m3"),
            ],
        ),
        openai_chat_completion(
            None, tool_calls=[openai_tool_call("final_result", _findings(history, sources), "call_f8d4")]
        ),
        openai_chat_completion(
            None,
            tool_calls=[openai_tool_call("final_result", _report(TULLAN), "call_r1x6")],
            usage=openai_usage(2100, 90, cached=1920),
        ),
    ]
    lab.openai.queue(*map(json_reply, answers), path=OPENAI_PATH, mentioning=TULLAN)
    lab.tavily.queue(*[_tavily_answer(TULLAN_PAGES)] * 2, path="/search", mentioning=TULLAN)
    lab.submit("local", f"When was the {TULLAN} lighthouse first lit?", _options(LOCAL, "tavily"))


def test_a_local_model_answering_in_words_first_then_calling_twice_completes(
    lab: Lab,
) -> None:
    status = lab.status("local")

    urls = [url for pages in TULLAN_PAGES.values() for url, _, _ in pages]
    _assert_completed(status, TULLAN, urls)
    requests = lab.openai.received(mentioning=TULLAN)
    assert len(requests) == 5
    assert {r.json()["model"] for r in requests} == {"qwen2.5:7b-instruct"}
    # Only the analyst asks for a stream (with its usage), and its text was published as it came.
    assert [r.wants_stream for r in requests] == [False] * 4 + [True]
    assert requests[-1].json()["stream_options"] == {"include_usage": True}
    assert _published_text(lab, "local") == _report(TULLAN)["body"]
    assert "authorization" in requests[0].headers  # the SDK's placeholder key: a local server ignores it
    # The words-only answer was sent back with a request for a tool call.
    assert requests[2].json()["messages"][-1]["role"] == "user"
    assert sorted(_tool_results(requests[3])) == ["call_h2k9", "call_k5m3"]
    # Both parallel calls were run.
    assert sorted(r.json()["query"] for r in lab.tavily.received(mentioning=TULLAN)) == sorted(TULLAN_PAGES)


def test_a_local_models_cached_prompt_tokens_count_as_input(lab: Lab) -> None:
    usage = lab.status("local").usage_by_model[LOCAL]
    assert (usage.requests, usage.input_tokens, usage.output_tokens) == (5, 4 * 11 + 2100, 4 * 17 + 90)


# --- Gemini: two function calls in one answer ----------------------------------------------------------

RATHLIN = "Rathlin Sound"
RATHLIN_PAGES = {
    "Rathlin Sound lighthouse history": [
        ("https://rathlin-light.example/history", "History of the Rathlin Sound light", "First lit in 1841."),
    ],
    "Rathlin Sound lighthouse keepers": [
        ("https://rathlin-light.example/keepers", "Keepers of Rathlin Sound", "Keepers served to 1987."),
    ],
}


@_starts
def _gemini_parallel_run(lab: Lab) -> None:
    history, keepers = RATHLIN_PAGES
    usage = gemini_usage(1500, 80)
    answers = [
        gemini_response([gemini_function_call("final_result", _plan(history))], usage=usage),
        # Two functionCall parts in one answer, after a text part: Gemini's parallel function calling.
        gemini_response(
            [
                {"text": "I'll look up the light's history and its keepers."},
                gemini_function_call("search", {"query": history}),
                gemini_function_call("search", {"query": keepers}),
            ],
            usage=usage,
        ),
        gemini_response(
            [
                gemini_function_call(
                    "final_result", _findings(history, RATHLIN_PAGES[history] + RATHLIN_PAGES[keepers])
                )
            ],
            usage=usage,
        ),
        gemini_response([gemini_function_call("final_result", _report(RATHLIN))], usage=usage),
    ]
    lab.gemini.queue(*map(gemini_reply, answers), mentioning=RATHLIN)
    lab.tavily.queue(*[_tavily_answer(RATHLIN_PAGES)] * 2, path="/search", mentioning=RATHLIN)
    lab.submit("gemini-parallel", f"When was the {RATHLIN} lighthouse first lit?", _options(GEMINI, "tavily"))


def _function_responses(request: RecordedRequest) -> list[list[dict[str, Any]]]:
    """The `functionResponse`s a Gemini request sends back, by the content that holds them."""
    return [
        [part["functionResponse"] for part in content["parts"] if "functionResponse" in part]
        for content in request.json()["contents"]
        if any("functionResponse" in part for part in content["parts"])
    ]


def test_gemini_calling_two_functions_in_one_answer_gets_both_results_back_and_the_run_completes(
    lab: Lab,
) -> None:
    status = lab.status("gemini-parallel")

    urls = [url for pages in RATHLIN_PAGES.values() for url, _, _ in pages]
    _assert_completed(status, RATHLIN, urls)
    requests = lab.gemini.received(mentioning=RATHLIN)
    assert [r.path for r in requests] == [GEMINI_PATH] * 3 + [GEMINI_STREAM_PATH]
    # Both calls were run, and both results went back together, in one content of the next request.
    assert sorted(r.json()["query"] for r in lab.tavily.received(mentioning=RATHLIN)) == sorted(RATHLIN_PAGES)
    [together] = _function_responses(requests[2])
    assert [response["name"] for response in together] == ["search", "search"]
    for response, (url, _, _) in zip(together, (pages[0] for pages in RATHLIN_PAGES.values()), strict=True):
        assert url in json.dumps(response["response"])
    usage = status.usage_by_model[GEMINI]
    assert (usage.requests, usage.tool_calls) == (4, 2)


# --- the analyst's stream cut off part-way: OpenAI-compatible and Gemini -------------------------------

MULL = "Mull Head"
EILEAN = "Eilean Glas"


def _two_pages(name: str) -> tuple[str, list[tuple[str, str, str]]]:
    """One search's query and the two pages it finds (the report cites [1] and [2])."""
    query = f"{name} lighthouse history"
    slug = name.lower().replace(" ", "-")
    return query, [
        (f"https://{slug}.example/history", f"History of the {name} light", "First lit in 1841."),
        (f"https://{slug}.example/keepers", f"Keepers of {name}", "Keepers served to 1987."),
    ]


@_starts
def _local_analyst_cut_off(lab: Lab) -> None:
    query, sources = _two_pages(MULL)
    report = openai_chat_completion(
        None, tool_calls=[openai_tool_call("final_result", _report(MULL), "call_r2")]
    )
    answers = [
        json_reply(
            openai_chat_completion(
                None, tool_calls=[openai_tool_call("final_result", _plan(query), "call_p2")]
            )
        ),
        json_reply(
            openai_chat_completion(None, tool_calls=[openai_tool_call("search", {"query": query}, "call_s2")])
        ),
        json_reply(
            openai_chat_completion(
                None, tool_calls=[openai_tool_call("final_result", _findings(query, sources), "call_f2")]
            )
        ),
        # Streamed (the analyst asks for a stream): its role, its tool call's name, a first piece of the
        # report's arguments, then the connection drops.
        replace(json_reply(report), cut_after=3),
        json_reply(report),
    ]
    lab.openai.queue(*answers, path=OPENAI_PATH, mentioning=MULL)
    lab.tavily.queue(_tavily_answer({query: sources}), path="/search", mentioning=MULL)
    lab.submit("local-cut", f"When was the {MULL} lighthouse first lit?", _options(LOCAL, "tavily"))


@_starts
def _gemini_analyst_cut_off(lab: Lab) -> None:
    query, sources = _two_pages(EILEAN)
    usage = gemini_usage(1500, 80)
    report = gemini_response([gemini_function_call("final_result", _report(EILEAN))], usage=usage)
    # Gemini's stream: a text part first (no finishReason yet), then the function call; cut after the first.
    opening = gemini_response([{"text": "Here is the report."}], usage=usage)
    del opening["candidates"][0]["finishReason"]
    cut = replace(sse_reply([(None, opening), (None, report)], separator="\r\n\r\n"), cut_after=1)
    answers: list[Reply] = [
        gemini_reply(gemini_response([gemini_function_call("final_result", _plan(query))], usage=usage)),
        gemini_reply(gemini_response([gemini_function_call("search", {"query": query})], usage=usage)),
        gemini_reply(
            gemini_response([gemini_function_call("final_result", _findings(query, sources))], usage=usage)
        ),
        cut,
        gemini_reply(report),
    ]
    lab.gemini.queue(*answers, mentioning=EILEAN)
    lab.tavily.queue(_tavily_answer({query: sources}), path="/search", mentioning=EILEAN)
    lab.submit("gemini-cut", f"When was the {EILEAN} lighthouse first lit?", _options(GEMINI, "tavily"))


@pytest.mark.parametrize(
    ("run_id", "name", "provider"), [("local-cut", MULL, "local"), ("gemini-cut", EILEAN, "gemini")]
)
def test_an_analyst_stream_cut_off_part_way_is_sent_again_and_the_run_completes(
    lab: Lab, run_id: str, name: str, provider: str
) -> None:
    status = lab.status(run_id)

    _query, sources = _two_pages(name)
    _assert_completed(status, name, [url for url, _, _ in sources])
    requests = _planner(lab, provider).received(mentioning=name)
    assert len(requests) == 5
    cut, again = requests[-2:]
    assert cut.wants_stream and again.wants_stream
    assert again.body == cut.body, "the analyst's request is sent again, unchanged"
    assert again.received_at - cut.received_at >= INTERVAL_SECONDS - 0.05
    # The readers saw the text start over: what they put together is the whole report, once.
    assert _published_text(lab, run_id) == _report(name)["body"]
    assert status.usage.requests == 4, "the cut-off answer is not counted"


# --- failures of single requests, each provider ---------------------------------------------------------


@dataclass(frozen=True)
class Failure:
    """One provider's failed answer to the planner, and the wait its retry must honour."""

    provider: str
    kind: str
    answer: Reply
    waits: float = 0.0
    """Seconds the answer asked to wait (Retry-After, retry-after-ms, Gemini's RetryInfo)."""

    @property
    def tag(self) -> str:
        return f"case {self.provider}-{self.kind}"


PLAN_QUERY = "Skerrow Point lighthouse history"
CLAUDE_PLAN = anthropic_message(
    [anthropic_tool_use("final_result", _plan(PLAN_QUERY), "toolu_01P")], usage=CACHED
)
GEMINI_PLAN = gemini_response(
    [gemini_function_call("final_result", _plan(PLAN_QUERY))], usage=gemini_usage(1500, 80, cached=1024)
)
LOCAL_PLAN = openai_chat_completion(
    None,
    tool_calls=[openai_tool_call("final_result", _plan(PLAN_QUERY), "call_1")],
    usage=openai_usage(1500, 80, cached=1024),
)
MODELS = {"anthropic": CLAUDE, "gemini": GEMINI, "local": LOCAL}
PLANS: dict[str, Reply] = {
    "anthropic": anthropic_reply(CLAUDE_PLAN),
    "gemini": gemini_reply(GEMINI_PLAN),
    "local": json_reply(LOCAL_PLAN),
}
_CLAUDE_EVENTS = sse_reply(anthropic_events(CLAUDE_PLAN))
_STREAM_ERROR = b'event: error\ndata: {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}\n\n'
FAILURES = [
    Failure(
        "anthropic",
        "429",
        anthropic_error(
            429,
            "rate_limit_error",
            "Number of request tokens has exceeded your per-minute rate limit",
            {"retry-after": "1"},
        ),
        waits=1.0,
    ),
    Failure("anthropic", "529", anthropic_error(529, "overloaded_error", "Overloaded")),
    Failure(
        "anthropic",
        "overloaded-mid-stream",
        replace(_CLAUDE_EVENTS, events=(*(_CLAUDE_EVENTS.events or ())[:3], _STREAM_ERROR)),
    ),
    Failure(
        "anthropic",
        "malformed",
        replace(
            _CLAUDE_EVENTS,
            events=(b'event: message_start\ndata: {"type": "message_start", "message": {\n\n',),
        ),
    ),
    Failure("anthropic", "cut", replace(_CLAUDE_EVENTS, cut_after=4)),
    Failure(
        "gemini",
        "429",
        gemini_error(429, "RESOURCE_EXHAUSTED", "You exceeded your current quota.", retry_delay="0.7s"),
        waits=0.7,
    ),
    Failure(
        "gemini", "503", gemini_error(503, "UNAVAILABLE", "The model is overloaded. Please try again later.")
    ),
    Failure(
        "gemini",
        "malformed",
        Canned(
            body=b'{"candidates": [{"content": {"parts": [{"text": ',
            headers={"content-type": "application/json; charset=UTF-8"},
        ),
    ),
    Failure("gemini", "cut", replace(json_reply(GEMINI_PLAN), cut_after=120)),
    Failure(
        "local",
        "429",
        openai_error(
            429,
            "Rate limit reached for requests",
            "requests",
            "rate_limit_exceeded",
            {"retry-after-ms": "700"},
        ),
        waits=0.7,
    ),
    Failure(
        "local",
        "retry-after",
        openai_error(
            429, "Rate limit reached for requests", "requests", "rate_limit_exceeded", {"retry-after": "1"}
        ),
        waits=1.0,
    ),
    Failure(
        "local", "503", openai_error(503, "The server is overloaded or not ready yet.", "server_error", None)
    ),
    Failure(
        "local",
        "malformed",
        Canned(body=b"<html><body>502 Bad Gateway</body></html>", headers={"content-type": "text/html"}),
    ),
    Failure("local", "cut", replace(json_reply(LOCAL_PLAN), cut_after=120)),
]


def _planner(lab: Lab, provider: str) -> StandIn:
    return {"anthropic": lab.anthropic, "gemini": lab.gemini, "local": lab.openai}[provider]


@_starts
def _failing_planners(lab: Lab) -> None:
    for failure in FAILURES:
        _planner(lab, failure.provider).queue(failure.answer, PLANS[failure.provider], mentioning=failure.tag)
        lab.start(
            failure.tag,
            workflows.plan_research,
            f"What is {failure.tag}?",
            _options(MODELS[failure.provider], "tavily"),
        )


@pytest.mark.parametrize("failure", FAILURES, ids=lambda f: f"{f.provider}-{f.kind}")
def test_a_failed_model_request_is_retried_after_the_wait_it_asked_for(lab: Lab, failure: Failure) -> None:
    outcome = lab.outcome(failure.tag)

    assert isinstance(outcome, PlanOutcome), outcome
    assert outcome.plan.search_steps[0].query == PLAN_QUERY
    first, second = _planner(lab, failure.provider).received(mentioning=failure.tag)
    assert second.body == first.body, "the retry sends the same request"
    # DBOS waits its backoff after the wait the provider asked for, never less.
    assert second.received_at - first.received_at >= failure.waits + INTERVAL_SECONDS - 0.05
    assert outcome.usage.requests == 1  # the answer that failed is not counted


@_starts
def _cached_planners_over_budget(lab: Lab) -> None:
    for provider, model in MODELS.items():
        tag = f"case {provider}-budget"
        _planner(lab, provider).queue(PLANS[provider], mentioning=tag)
        # 1,000 tokens: more than the answers' uncached input and output, less than with the cached input.
        lab.start(
            tag, workflows.plan_research, f"What is {tag}?", _options(model, "tavily"), Budget(tokens=1000)
        )


@pytest.mark.parametrize("provider", MODELS)
def test_cache_tokens_count_against_the_token_budget(lab: Lab, provider: str) -> None:
    outcome = lab.outcome(f"case {provider}-budget")
    assert isinstance(outcome, UsageLimitExceeded), outcome
    assert "total_tokens_limit of 1000" in str(outcome)


# --- failures of search services, through a search's workflow ----------------------------------------


def _searcher_calls(tag: str, query: str) -> list[Canned]:
    """A local model's search: one `search` call, then findings naming what it returned."""
    return [
        json_reply(
            openai_chat_completion(None, tool_calls=[openai_tool_call("search", {"query": query}, "call_s1")])
        ),
        json_reply(
            openai_chat_completion(
                None,
                tool_calls=[
                    openai_tool_call(
                        "final_result",
                        _findings(
                            query, [(f"https://{tag.split()[-1]}.example/a", "A page", "First lit in 1841.")]
                        ),
                        "call_s2",
                    )
                ],
            )
        ),
    ]


SEARCH_FAILURES: dict[str, tuple[str, Callable[[Canned], Canned], float]] = {
    "tavily-429": (
        "tavily",
        lambda _: json_reply(
            {"detail": {"error": "Rate limit exceeded"}}, status=429, headers={"retry-after": "1"}
        ),
        1.0,
    ),
    "tavily-500": (
        "tavily",
        lambda _: json_reply({"detail": {"error": "Internal Server Error"}}, status=500),
        0.0,
    ),
    # Its answer announced whole in its content-length, the connection dropped part-way through.
    "tavily-cut": ("tavily", lambda success: replace(success, cut_after=len(success.body) // 2), 0.0),
}
"""Failures of the search service, each retried: (backend, the failure given its next answer, the wait
it asked for)."""


@_starts
def _failing_searches(lab: Lab) -> None:
    for name, (backend, failure, _) in SEARCH_FAILURES.items():
        tag = f"case {name}"
        query = f"{tag} lighthouse"
        lab.openai.queue(*_searcher_calls(tag, query), path=OPENAI_PATH, mentioning=tag)
        host = f"https://{name}.example/a"
        success = json_reply(tavily_response(query, [(host, "A page", "First lit in 1841.")]))
        lab.tavily.queue(failure(success), success, mentioning=name)
        step = SearchStep(query=query, rationale="A failure of the search service.")
        lab.start(tag, workflows.run_search, 1, step, _options(LOCAL, backend))


@pytest.mark.parametrize("name", SEARCH_FAILURES)
def test_a_failed_search_is_retried_after_the_wait_it_asked_for(lab: Lab, name: str) -> None:
    _, _, waits = SEARCH_FAILURES[name]
    outcome = lab.outcome(f"case {name}")

    assert isinstance(outcome, SearchOutcome) and outcome.error is None, outcome
    assert outcome.findings is not None
    assert [source.url for source in outcome.findings.sources] == [f"https://{name}.example/a"]
    first, second = lab.tavily.received(mentioning=name)
    assert second.body == first.body
    assert second.received_at - first.received_at >= waits + INTERVAL_SECONDS - 0.05


TAVILY_GATEWAY_PAGE = (
    b"<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>"
)


@_starts
def _tavily_answering_no_json(lab: Lab) -> None:
    """A proxy's page sent with HTTP 200 instead of Tavily's JSON."""
    tag = "case tavily-malformed"
    query = f"{tag} lighthouse"
    lab.openai.queue(*_searcher_calls(tag, query)[:1], path=OPENAI_PATH, mentioning=tag)
    lab.tavily.queue(
        Canned(body=TAVILY_GATEWAY_PAGE, headers={"content-type": "text/html"}), mentioning="tavily-malformed"
    )
    step = SearchStep(query=query, rationale="Tavily's answer is not JSON.")
    lab.start(tag, workflows.run_search, 1, step, _options(LOCAL, "tavily"))


def test_tavily_answering_no_json_fails_the_search_saying_so(lab: Lab) -> None:
    outcome = lab.outcome("case tavily-malformed")

    assert isinstance(outcome, SearchOutcome) and outcome.findings is None, outcome
    # Once "SearchError: JSONDecodeError: Expecting value: line 1 column 1 (char 0)", naming no service.
    assert (
        outcome.error is not None and "Tavily answered HTTP 200 with a body that is not JSON" in outcome.error
    )
    assert "text/html" in outcome.error and "RESEARCH_TAVILY_URL" in outcome.error
    assert lab.tavily.count(mentioning="tavily-malformed") == 1, "not retried: a page in its place stays"


# --- DuckDuckGo's HTML page, through ddgs's DuckDuckGo engine ------------------------------------------

DDG_QUERY = "Corran Sound lighthouse history"
DDG_PAGES = [
    (
        "https://corran-light.example/history?lang=en&print=1",
        "History of the Corran Sound light",
        "First lit in 1841.",
    ),
    ("https://keepers.example/corran", "Keepers of Corran Sound", "Keepers served there until 1987."),
]


def _ddg_searcher(tag: str, sources: list[tuple[str, str, str]]) -> list[Canned]:
    """A local model's search on DuckDuckGo: one `search` call, then findings citing `sources`."""
    query = f"{tag} {DDG_QUERY}"
    return [
        json_reply(
            openai_chat_completion(None, tool_calls=[openai_tool_call("search", {"query": query}, "call_d1")])
        ),
        json_reply(
            openai_chat_completion(
                None, tool_calls=[openai_tool_call("final_result", _findings(query, sources), "call_d2")]
            )
        ),
    ]


def _start_ddg_search(lab: Lab, tag: str) -> None:
    step = SearchStep(query=f"{tag} {DDG_QUERY}", rationale="DuckDuckGo's answer, as it comes.")
    lab.start(tag, workflows.run_search, 1, step, _options(LOCAL, "duckduckgo"))


@_starts
def _duckduckgo_searches(lab: Lab) -> None:
    results = duckduckgo_results_page(DDG_QUERY, DDG_PAGES)
    # Its results, read into findings.
    lab.openai.queue(*_ddg_searcher("ddg-results", DDG_PAGES), path=OPENAI_PATH, mentioning="ddg-results")
    lab.duckduckgo.queue(html_reply(results), mentioning="ddg-results")
    # Its rate limit (the bot check, HTTP 202), then its results: retried, as a 429 is.
    lab.openai.queue(*_ddg_searcher("ddg-202", DDG_PAGES), path=OPENAI_PATH, mentioning="ddg-202")
    lab.duckduckgo.queue(
        html_reply(DUCKDUCKGO_CHALLENGE_PAGE, status=202), html_reply(results), mentioning="ddg-202"
    )
    # Nothing found: no hits, and findings with no sources.
    lab.openai.queue(*_ddg_searcher("ddg-nothing", []), path=OPENAI_PATH, mentioning="ddg-nothing")
    lab.duckduckgo.queue(html_reply(duckduckgo_no_results_page(DDG_QUERY)), mentioning="ddg-nothing")
    # A page that is no results page (a captive portal, a changed format): the search fails at once.
    lab.openai.queue(
        *_ddg_searcher("ddg-malformed", DDG_PAGES)[:1], path=OPENAI_PATH, mentioning="ddg-malformed"
    )
    lab.duckduckgo.queue(
        html_reply(b"<html><body><h1>Sign in to the guest Wi-Fi</h1></body></html>"),
        mentioning="ddg-malformed",
    )
    for tag in ("ddg-results", "ddg-202", "ddg-nothing", "ddg-malformed"):
        _start_ddg_search(lab, tag)


def _ddg_findings(outcome: Any) -> list[str | None]:
    assert isinstance(outcome, SearchOutcome) and outcome.error is None, outcome
    assert outcome.findings is not None
    return [source.url for source in outcome.findings.sources]


def test_duckduckgo_results_become_the_searchs_findings(lab: Lab) -> None:
    outcome = lab.outcome("ddg-results")

    assert _ddg_findings(outcome) == [url for url, _, _ in DDG_PAGES]
    assert [source.url for source in outcome.returned] == [url for url, _, _ in DDG_PAGES]
    assert outcome.unreturned == 0
    [form] = lab.duckduckgo.received(mentioning="ddg-results")
    assert (form.method, form.path) == ("POST", "/html/")
    # What the model was given: the two results, never the ad above them.
    tool_result = lab.openai.received(mentioning="ddg-results")[1].json()["messages"][-1]
    assert tool_result["role"] == "tool"
    assert [hit["url"] for hit in json.loads(tool_result["content"])] == [url for url, _, _ in DDG_PAGES]
    assert "lamps.example" not in tool_result["content"]


def test_duckduckgos_rate_limit_is_retried_after_the_backoff(lab: Lab) -> None:
    outcome = lab.outcome("ddg-202")

    assert _ddg_findings(outcome) == [url for url, _, _ in DDG_PAGES]
    first, second = lab.duckduckgo.received(mentioning="ddg-202")
    assert second.body == first.body
    assert second.received_at - first.received_at >= INTERVAL_SECONDS - 0.05


def test_duckduckgo_finding_nothing_is_an_empty_search_not_a_failure(lab: Lab) -> None:
    outcome = lab.outcome("ddg-nothing")

    assert _ddg_findings(outcome) == []
    assert outcome.returned == []
    assert lab.duckduckgo.count(mentioning="ddg-nothing") == 1


def test_a_page_duckduckgo_should_not_send_fails_the_search_with_the_fix(lab: Lab) -> None:
    outcome = lab.outcome("ddg-malformed")

    assert isinstance(outcome, SearchOutcome) and outcome.findings is None
    assert outcome.error is not None and "not a results page" in outcome.error
    assert "RESEARCH_SEARCH_BACKEND" in outcome.error
    assert lab.duckduckgo.count(mentioning="ddg-malformed") == 1, "not retried: waiting cannot fix it"
