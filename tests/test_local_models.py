"""Local models as a first-class path (issue 20, item 2), through the real OpenAI SDK and pydantic-ai's
OpenAI chat model against a local stand-in speaking chat completions, as Ollama, vLLM and llama.cpp do.

- Output modes: with every role `prompted`, no output tool is sent, the schema is in the instructions and
  the JSON is read from the text (fenced, after a sentence, as small models write it); with `native`, the
  request carries `response_format: json_schema` and the answer is the JSON; `tool` is unchanged.
- Context window: with RESEARCH_ANALYST_CONTEXT_TOKENS set, the analyst's request (measured as the server
  received it) fits the window with room for the answer, the run completes, and the report says what was
  left out.
- A model that answers garbage every time fails with one line naming the role, the model and the fix.

Everything starts at once in a module fixture (one worker), each case routed by a name its requests
mention, so the module costs about as long as its slowest case.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from dbos import DBOS, WorkflowHandle
from pydantic import SecretStr

from research_agent import workflows
from research_agent.client import ResearchClient
from research_agent.context_window import estimate_tokens
from research_agent.output_modes import OutputStructureError
from research_agent.providers import OFFLINE
from research_agent.runtime import worker
from research_agent.schema import Phase, PlanOutcome, ResearchOptions, ResearchStatus
from tests._process import settings_from_env
from tests._provider_standins import (
    Canned,
    RecordedRequest,
    Reply,
    StandIn,
    html_reply,
    json_reply,
    openai_chat_completion,
    openai_tool_call,
    tavily_response,
)

LOCAL = "openai:qwen2.5:7b-instruct"
OPENAI_PATH = "/v1/chat/completions"
RESULT_TIMEOUT = 60


@dataclass
class Lab:
    openai: StandIn
    tavily: StandIn
    pages: StandIn
    client: ResearchClient
    handles: dict[str, WorkflowHandle[Any]] = field(default_factory=dict)

    def submit(self, run_id: str, question: str, options: ResearchOptions) -> None:
        self.client.submit(question, options, run_id=run_id)

    def status(self, run_id: str) -> ResearchStatus:
        return self.client.wait(run_id, poll_interval=0.05, timeout=RESULT_TIMEOUT)

    def start(self, name: str, workflow: Callable[..., Any], *args: Any) -> None:
        self.handles[name] = DBOS.start_workflow(workflow, *args)

    def outcome(self, name: str) -> Any:
        """What the workflow returned, or the exception it raised."""
        try:
            return self.handles[name].get_result(polling_interval_sec=0.05)
        except Exception as error:
            return error


_STARTERS: list[Callable[[Lab], None]] = []


def _starts(starter: Callable[[Lab], None]) -> Callable[[Lab], None]:
    _STARTERS.append(starter)
    return starter


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory, index_dir: Path) -> Iterator[Lab]:
    root = tmp_path_factory.mktemp("local-models")
    settings = settings_from_env(
        {
            "RESEARCH_DATA_DIR": str(root),
            "RESEARCH_INDEX_DIR": str(index_dir),
            "RESEARCH_DATABASE_URL": f"sqlite:///{root / 'local.sqlite'}",
            "RESEARCH_QUEUE_POLL_INTERVAL": "0.05",
            "RESEARCH_WORKER_CONCURRENCY": "8",
        }
    )
    with StandIn() as openai, StandIn() as tavily, StandIn(default=_page) as pages:
        settings = settings.model_copy(
            update={
                "openai_base_url": f"{openai.url}/v1",  # no key: a local server needs none
                "tavily_api_key": SecretStr("tvly-test"),
                "tavily_url": tavily.url,
                "allow_private_urls": True,  # the pages are on this machine
            }
        )
        with worker(settings), ResearchClient(settings) as client:
            lab = Lab(openai, tavily, pages, client)
            for start in _STARTERS:
                start(lab)
            yield lab


def _options(**changes: Any) -> ResearchOptions:
    return ResearchOptions(
        offline=False,
        planner_model=LOCAL,
        search_model=LOCAL,
        analyst_model=LOCAL,
        search_backend="tavily",
        max_searches=1,
        max_extra_searches=0,
        read_pages=0,
    ).model_copy(update=changes)


def _plan(name: str) -> dict[str, Any]:
    return {
        "search_steps": [{"query": f"{name} lighthouse history", "rationale": "Its history answers it."}],
        "analysis_instructions": "Give the year the light was first lit.",
    }


def _findings(name: str, urls: list[str]) -> dict[str, Any]:
    return {
        "query": f"{name} lighthouse history",
        "summary": f"The {name} light was first lit in 1841.",
        "sources": [
            {"url": url, "title": f"The {name} light", "snippet": "First lit in 1841."} for url in urls
        ],
    }


def _report(name: str) -> dict[str, Any]:
    return {"title": f"The {name} lighthouse", "body": f"The {name} light was first lit in 1841 [1]."}


def _tavily(name: str, urls: list[str]) -> Reply:
    def reply(request: RecordedRequest) -> Canned:
        results = [(url, f"The {name} light", "First lit in 1841.") for url in urls]
        return json_reply(tavily_response(request.json()["query"], results))

    return reply


def _text(content: str) -> Canned:
    return json_reply(openai_chat_completion(content))


def _call(name: str, arguments: dict[str, Any], call_id: str) -> Canned:
    return json_reply(openai_chat_completion(None, tool_calls=[openai_tool_call(name, arguments, call_id)]))


def _system(request: RecordedRequest) -> str:
    return "\n".join(
        m["content"]
        for m in request.json()["messages"]
        if m["role"] == "system" and isinstance(m["content"], str)
    )


def _tool_names(request: RecordedRequest) -> list[str]:
    return [tool["function"]["name"] for tool in request.json().get("tools", [])]


def _assert_completed(status: ResearchStatus, name: str) -> None:
    assert status.phase is Phase.COMPLETED, status.error
    assert status.report is not None and status.report.body.startswith(_report(name)["body"])


# --- prompted: JSON in the text, no output tool ---------------------------------------------------------

HOLLIN = "Hollin Rock"
HOLLIN_URLS = ["https://hollin-light.example/history"]


@_starts
def _prompted_run(lab: Lab) -> None:
    findings = json.dumps(_findings(HOLLIN, HOLLIN_URLS), indent=2)
    lab.openai.queue(
        # Small models wrap their JSON in a sentence and a fence; pydantic-ai reads it out.
        _text(f"Here is the plan.\n```json\n{json.dumps(_plan(HOLLIN))}\n```"),
        _call("search", {"query": f"{HOLLIN} lighthouse history"}, "call_p1"),
        _text(f"```json\n{findings}\n```"),
        _text(json.dumps(_report(HOLLIN))),
        path=OPENAI_PATH,
        mentioning=HOLLIN,
    )
    lab.tavily.queue(_tavily(HOLLIN, HOLLIN_URLS), mentioning=HOLLIN)
    modes = {f"{role}_output_mode": "prompted" for role in ("planner", "search", "analyst")}
    lab.submit("prompted", f"When was the {HOLLIN} lighthouse first lit?", _options(**modes))


def test_prompted_mode_sends_no_output_tool_and_reads_json_from_the_text(lab: Lab) -> None:
    status = lab.status("prompted")

    _assert_completed(status, HOLLIN)
    planner, searcher, _, analyst = lab.openai.received(mentioning=HOLLIN)
    # No tool at all for the planner; pydantic-ai asks for JSON mode then, which these servers all take.
    assert "tools" not in planner.json() and planner.json()["response_format"] == {"type": "json_object"}
    assert _tool_names(searcher) == ["search"] and _tool_names(analyst) == ["extra_search"]
    for request, fields in ((planner, "search_steps"), (searcher, "summary"), (analyst, "body")):
        assert "tool_choice" not in request.json() or request.json()["tool_choice"] == "auto"
        # The schema travels in the instructions.
        assert fields in _system(request) and "JSON" in _system(request)
    assert status.options.analyst_output_mode == "prompted"  # recorded with the run, for its recovery


# --- native: the server's JSON-schema response format ---------------------------------------------------

DUNMORE = "Dunmore Bar"
DUNMORE_URLS = ["https://dunmore-light.example/history"]


@_starts
def _native_run(lab: Lab) -> None:
    lab.openai.queue(
        _text(json.dumps(_plan(DUNMORE))),
        _call("search", {"query": f"{DUNMORE} lighthouse history"}, "call_n1"),
        _text(json.dumps(_findings(DUNMORE, DUNMORE_URLS))),
        _text(json.dumps(_report(DUNMORE))),
        path=OPENAI_PATH,
        mentioning=DUNMORE,
    )
    lab.tavily.queue(_tavily(DUNMORE, DUNMORE_URLS), mentioning=DUNMORE)
    modes = {f"{role}_output_mode": "native" for role in ("planner", "search", "analyst")}
    lab.submit("native", f"When was the {DUNMORE} lighthouse first lit?", _options(**modes))


def test_native_mode_sends_a_json_schema_response_format(lab: Lab) -> None:
    status = lab.status("native")

    _assert_completed(status, DUNMORE)
    planner, searcher, _, analyst = lab.openai.received(mentioning=DUNMORE)
    for request, fields in ((planner, "search_steps"), (searcher, "summary"), (analyst, "body")):
        response_format = request.json()["response_format"]
        assert response_format["type"] == "json_schema"
        assert fields in response_format["json_schema"]["schema"]["properties"]
        assert "final_result" not in _tool_names(request)


# --- tool: unchanged ------------------------------------------------------------------------------------

TOOL_PLAN = "case tool-plan"


@_starts
def _tool_planner(lab: Lab) -> None:
    lab.openai.queue(_call("final_result", _plan(TOOL_PLAN), "call_t1"), mentioning=TOOL_PLAN)
    lab.start(TOOL_PLAN, workflows.plan_research, f"What is {TOOL_PLAN}?", _options())


def test_tool_mode_is_unchanged_a_required_output_tool(lab: Lab) -> None:
    outcome = lab.outcome(TOOL_PLAN)

    assert isinstance(outcome, PlanOutcome), outcome
    [request] = lab.openai.received(mentioning=TOOL_PLAN)
    assert _tool_names(request) == ["final_result"] and request.json()["tool_choice"] == "required"
    assert "response_format" not in request.json()
    # The tool agent keeps its name, so runs recorded before output modes existed recover step for step.
    steps = DBOS.list_workflow_steps(lab.handles[TOOL_PLAN].workflow_id)
    assert any(step["function_name"].startswith("planner__") for step in steps), steps


# --- a small context window: the analyst's material is cut to fit ---------------------------------------

CARRICK = "Carrick Sound"
CONTEXT = 4096
PAGES = 6
PARAGRAPH = (
    "The Carrick Sound lighthouse was first lit in 1841 after six years of building on the rock. "
    "Its keepers recorded the weather of the sound every four hours, and their logs of storms, wrecks and "
    "rescues fill forty volumes now kept in the county archive. The tower is built of granite brought by "
    "sea from the mainland quarries, and its lantern was replaced twice, in 1872 and in 1910. The light "
    "was automated in 1987, when the last keeper left the rock; the keepers' cottages were sold in 1990 and "
    "the fog signal, a diaphone first sounded in 1903, was silenced in 2005 after a survey of the channel. "
    "Visitors reach the rock by boat from the harbour in summer, when the sea allows a landing. "
)


def _page(request: RecordedRequest) -> Canned:
    """A long page about the light: several passages, all of them on the query."""
    paragraphs = "".join(f"<p>{PARAGRAPH} (Part {n} of the page {request.path}.)</p>" for n in range(1, 7))
    return html_reply(
        f"<html><head><title>The Carrick Sound light</title></head><body><article>{paragraphs}</article>"
        "</body></html>".encode()
    )


def _carrick_urls(lab: Lab) -> list[str]:
    return [f"{lab.pages.url}/carrick/{n}" for n in range(1, PAGES + 1)]


@_starts
def _small_context_run(lab: Lab) -> None:
    urls = _carrick_urls(lab)
    lab.openai.queue(
        _call("final_result", _plan(CARRICK), "call_c1"),
        _call("search", {"query": f"{CARRICK} lighthouse history"}, "call_c2"),
        _call("final_result", _findings(CARRICK, urls), "call_c3"),
        _call("final_result", _report(CARRICK), "call_c4"),
        path=OPENAI_PATH,
        mentioning=CARRICK,
    )
    lab.tavily.queue(_tavily(CARRICK, urls), mentioning=CARRICK)
    options = _options(read_pages=len(urls), max_results=len(urls), analyst_context_tokens=CONTEXT)
    lab.submit("small-context", f"When was the {CARRICK} lighthouse first lit?", options)


def _request_tokens(request: RecordedRequest) -> int:
    """What the server tokenizes of a chat request, estimated: every message's text and the tools."""
    body = request.json()
    texts = [m["content"] for m in body["messages"] if isinstance(m.get("content"), str)]
    texts += [json.dumps(m.get("tool_calls")) for m in body["messages"] if m.get("tool_calls")]
    return estimate_tokens("\n".join(texts) + json.dumps(body.get("tools", [])))


def test_the_analysts_material_is_cut_to_its_context_window_and_the_run_completes(lab: Lab) -> None:
    status = lab.status("small-context")

    _assert_completed(status, CARRICK)
    [search] = status.searches
    assert [page.status for page in search.pages] == ["fetched"] * PAGES
    # Uncut, the search results alone (6 pages, 3 passages each) would fill more than the window.
    searcher = lab.openai.received(mentioning=CARRICK)[2]
    [results] = [m["content"] for m in searcher.json()["messages"] if m["role"] == "tool"]
    assert estimate_tokens(results) > CONTEXT
    analyst = lab.openai.received(mentioning=CARRICK)[-1]
    assert _request_tokens(analyst) <= CONTEXT - CONTEXT // 4, "room is left for the report"
    assert status.report is not None
    assert "was not shown" in status.report.body and "RESEARCH_ANALYST_CONTEXT_TOKENS" in status.report.body
    assert f"of {3 * PAGES} passages" in status.report.body
    # Later passages went first: every source keeps its first passage in the request.
    for url in _carrick_urls(lab):
        assert url in analyst.body.decode()


# --- a model that never gives the structure ------------------------------------------------------------

ARDMORE = "Ardmore Skerry"
GARBAGE = "I am sorry, I cannot help with the lighthouse today. Lorem ipsum."


@_starts
def _garbage_analyst(lab: Lab) -> None:
    # The planner and the searches are the offline models over the corpus; only the analyst is local.
    lab.openai.queue(*[_text(GARBAGE)] * 3, path=OPENAI_PATH, mentioning=ARDMORE)
    options = _options(planner_model=OFFLINE, search_model=OFFLINE, search_backend="corpus", max_searches=1)
    lab.submit("garbage", f"Where is the {ARDMORE} lighthouse of Chile?", options)


def test_a_model_that_never_gives_the_structure_fails_with_one_line_naming_the_fix(lab: Lab) -> None:
    status = lab.status("garbage")

    assert status.phase is Phase.FAILED
    assert status.error is not None and "\n" not in status.error
    assert "the analyst model openai:qwen2.5:7b-instruct gave no valid report with output mode tool" in (
        status.error
    )
    assert "Exceeded maximum output retries (2)" in status.error
    assert "try RESEARCH_ANALYST_OUTPUT_MODE=prompted (or native), or a stronger model" in status.error
    assert lab.openai.count(mentioning=ARDMORE) == 3  # one answer and two retries, nothing more


PROMPTED_GARBAGE = "case prompted-garbage"


@_starts
def _garbage_planner(lab: Lab) -> None:
    lab.openai.queue(*[_text(GARBAGE)] * 3, mentioning=PROMPTED_GARBAGE)
    options = _options(planner_output_mode="prompted")
    lab.start(PROMPTED_GARBAGE, workflows.plan_research, f"What is {PROMPTED_GARBAGE}?", options)


def test_a_prompted_planner_that_never_writes_json_names_the_other_mode(lab: Lab) -> None:
    outcome = lab.outcome(PROMPTED_GARBAGE)

    assert isinstance(outcome, OutputStructureError), outcome
    assert str(outcome).startswith("the planner model openai:qwen2.5:7b-instruct gave no valid plan")
    assert "try RESEARCH_PLANNER_OUTPUT_MODE=native (if the server takes a JSON schema)" in str(outcome)


# --- the offline models answer in every mode ------------------------------------------------------------


@_starts
def _offline_run(lab: Lab) -> None:
    options = ResearchOptions(
        offline=True,
        max_extra_searches=2,
        planner_output_mode="native",
        search_output_mode="prompted",
        analyst_output_mode="prompted",
        analyst_context_tokens=CONTEXT,
    )
    lab.submit("offline", "Compare the economies of Chile and Peru", options)


def test_the_offline_models_answer_in_every_output_mode_and_extra_results_are_cut_too(lab: Lab) -> None:
    status = lab.status("offline")

    assert status.phase is Phase.COMPLETED, status.error
    assert status.report is not None and status.report.sources
    assert status.citations is not None and status.citations.removed == []
    # Most of the four searches' sources do not fit 4,096 tokens, so the offline analyst searches again for
    # what it misses, and those results are cut to their share of the window too.
    assert [s.extra for s in status.searches].count(True) >= 1
    assert "of the extra searches' results" in status.report.body
