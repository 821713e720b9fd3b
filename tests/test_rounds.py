"""Rounds of searching (issue 22, item 1): after the plan's searches a reflection on the findings names the
gaps and the run searches for them, up to `depth` rounds of at most `breadth` searches, stopping early when
no gap is left, within the run's budget, and ending the current round on `finish`. Offline, through a real
in-process worker; that rounds survive a SIGKILL is in test_crash_rounds.py."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from research_agent._offline import plan_research_offline, reflect_offline
from research_agent.agents import _new_gaps_only
from research_agent.client import ResearchClient
from research_agent.corpus import open_collection
from research_agent.corpus.question import factbook_parts
from research_agent.mcp_server import with_depth
from research_agent.naming import WorkflowRef, is_child_workflow
from research_agent.options import InputError, RunRequest, resolve_options, validate_run_id
from research_agent.runtime import worker
from research_agent.schema import Gap, Phase, Reflection, RoundProgress, RoundState, SearchState
from research_agent.settings import Settings
from research_agent.timeline import lane_of
from research_agent.trace_store import StoredSpan
from research_agent.trace_tree import TraceNode, WorkerProcess, span_kind
from ui.components import round_caption

from ._process import wait_until
from .test_run_controls import SearchGate, gate  # noqa: F401 (the fixture)

QUESTION = "Compare the economies of Chile and Peru"


def _executions(path: Path, **match: object) -> list[dict[str, object]]:
    rows = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    return [r for r in rows if r["stage"] == "end" and all(r.get(k) == v for k, v in match.items())]


@pytest.fixture
def log(tmp_path: Path) -> Path:
    return tmp_path / "executions.jsonl"


@pytest.fixture
def quick(settings: Settings, log: Path) -> Iterator[ResearchClient]:
    quick = settings.model_copy(update={"execution_log": log})
    with worker(quick), ResearchClient(quick) as client:
        yield client


# --- the offline reflection -------------------------------------------------------------------------------


def _searched(query: str, *titles: str) -> dict[str, object]:
    return {"query": query, "sources": [{"title": t, "location": ""} for t in titles]}


def test_the_offline_reflection_asks_for_each_asked_fact_no_finding_holds(index_dir: Path):
    factbook = open_collection("factbook", index_dir)
    question = "Compare the population and life expectancy of Japan and Italy"
    found = [
        _searched("Japan People and Society Population", "Japan — People and Society — Population"),
        _searched("Italy People and Society Population", "Italy — People and Society — Population"),
        _searched(
            "Japan People and Society Life expectancy at birth",
            "Japan — People and Society — Life expectancy at birth",
        ),
    ]
    reflection = reflect_offline(question, found, 4, factbook)
    # Italy's life expectancy is asked and no finding holds it: that, and nothing else, is the gap.
    assert [(g.missing, g.query) for g in reflection.gaps] == [
        ("Italy: Life expectancy at birth", "Italy People and Society Life expectancy at birth")
    ]
    covered = [*found, _searched("x", "Italy — People and Society — Life expectancy at birth")]
    assert reflect_offline(question, covered, 4, factbook).gaps == []


def test_the_offline_reflection_asks_for_a_country_nothing_was_found_on(index_dir: Path):
    factbook = open_collection("factbook", index_dir)
    question = "What are the main exports of Kenya and Ghana?"
    found = [_searched("Kenya Economy Exports - commodities", "Kenya — Economy — Exports - commodities")]
    assert [g.missing for g in reflect_offline(question, found, 4, factbook).gaps] == [
        "Ghana: Exports - commodities"
    ]
    # A gap already searched for is not asked again (the search found nothing): the rounds end.
    again = [*found, _searched("Ghana Economy Exports - commodities")]
    assert reflect_offline(question, again, 4, factbook).gaps == []


def test_the_offline_reflection_finds_what_one_pass_of_a_plan_leaves_out(index_dir: Path):
    # Three countries by three aspects: nine (country, field) pairs, more than a plan's five searches hold
    # (the evaluation's comparison-chile-peru-argentina-geography). The first round's real searches find
    # some pairs beside their own; the reflection names exactly the pairs still unfound, and a round that
    # searches its gaps leaves none.
    factbook = open_collection("factbook", index_dir)
    question = "Compare the area, coastline and highest point of Chile, Peru and Argentina."

    titles: list[str] = []

    def search(query: str) -> dict[str, object]:
        hits = [passage.title for passage, _ in factbook.search(query, k=5)]
        titles.extend(hits)
        return _searched(query, *hits)

    first = [search(step.query) for step in plan_research_offline(question, 5, factbook).search_steps]
    asked = {(c, f) for c in ("Chile", "Peru", "Argentina") for f in ("Area", "Coastline", "Elevation")}
    found = {factbook_parts(title) for title in titles}
    reflection = reflect_offline(question, first, 9, factbook)
    assert asked - found and {tuple(g.missing.split(": ")) for g in reflection.gaps} == asked - found
    assert "Argentina: Elevation" in [g.missing for g in reflection.gaps]
    second = [*first, *(search(gap.query) for gap in reflection.gaps)]
    assert reflect_offline(question, second, 9, factbook).gaps == []


def test_a_models_reflection_is_held_to_the_runs_limits_in_code():
    context = SimpleNamespace(deps=SimpleNamespace(max_gaps=2, searched=frozenset({"Chile GDP"})))
    reflection = Reflection(
        gaps=[
            Gap(missing="already searched", query="Chile GDP"),
            Gap(missing="", query="  Peru   GDP  "),
            Gap(missing="twice", query="Peru GDP"),
            Gap(missing="empty", query="   "),
            Gap(missing="x" * 1000, query="q" * 1000),
            Gap(missing="over the breadth", query="Bolivia GDP"),
        ]
    )
    kept = _new_gaps_only(context, reflection)  # type: ignore[arg-type]
    assert [(g.missing, g.query) for g in kept.gaps] == [("Peru GDP", "Peru GDP"), ("x" * 300, "q" * 300)]


# --- names and options ------------------------------------------------------------------------------------


def test_round_children_have_readable_ids_that_no_run_may_take():
    search = WorkflowRef.parse("run-7-r2-search-3")
    assert (search.run_id, search.kind, search.round, search.search_index) == ("run-7", "search", 2, 3)
    reflect = WorkflowRef.parse("run-7-r3-reflect")
    assert (reflect.run_id, reflect.kind, reflect.round) == ("run-7", "reflect", 3)
    assert WorkflowRef.parse("run-7-search-1").round == 1
    assert is_child_workflow("run-7-r2-search-3") and is_child_workflow("run-7-r2-reflect")
    with pytest.raises(InputError, match="no child suffix"):
        validate_run_id("mine-r2-search-1")


def test_the_timeline_and_the_trace_name_each_round():
    def lane(workflow_id: str) -> str:
        return lane_of(SimpleNamespace(workflow_id=workflow_id, name="run_search"), "run-7")  # type: ignore[arg-type]

    assert [lane(f"run-7-{c}") for c in ("search-2", "r2-reflect", "r2-search-1", "r3-search-4")] == [
        "search 2",
        "round 2 reflection",
        "round 2 search 1",
        "round 3 search 4",
    ]

    def title(name: str, **attributes: object) -> str:
        span = StoredSpan("t", "s", None, "run-7", name, 0, 1, attributes=dict(attributes))
        worker = WorkerProcess(1, "host", 1, None, 0, 1)
        return TraceNode(span, 0, span_kind(span), "ended", worker, 1).title

    workflow = {"dbos.operation.type": "workflow"}
    assert title("run_search", **workflow, **{"research.round": 2}) == "run_search · round 2"
    assert (
        title("reflect_on_findings", **workflow, **{"research.round": 3}) == "reflect_on_findings · round 3"
    )
    assert title("run_search", **workflow, **{"research.round": 1}) == "run_search"


def test_depth_and_breadth_come_from_the_request_or_the_settings(settings: Settings):
    options, _ = resolve_options(settings.model_copy(update={"depth": 2, "breadth": 3}), offline=True)
    assert (options.depth, options.breadth) == (2, 3)
    _, options, _ = RunRequest(question=QUESTION, offline=True, depth=3, breadth=6).resolve(settings)
    assert (options.depth, options.breadth) == (3, 6)
    assert (resolve_options(settings, offline=True)[0].depth, settings.depth) == (1, 1)  # today's run
    assert with_depth(options, "deep").depth == 3 and with_depth(options, "quick").depth == 3  # the MCP tool
    assert with_depth(options.model_copy(update={"depth": 1}), "deep").depth == 2
    for flag, value in (("depth", 0), ("depth", 6), ("breadth", 11)):
        with pytest.raises(InputError, match=f"--{flag} must be from 1 to"):
            RunRequest.model_validate({"question": QUESTION, "offline": True, flag: value}).resolve(settings)


# --- rounds through a worker ------------------------------------------------------------------------------


def test_rounds_search_the_gaps_the_reflection_finds(quick: ResearchClient, log: Path):
    options, _ = resolve_options(quick.settings, offline=True)
    options = options.model_copy(update={"depth": 3, "breadth": 4})
    final = quick.wait(quick.submit(QUESTION, options, run_id="deep"), timeout=240)

    assert final.phase is Phase.COMPLETED, final.error
    assert [(r.number, r.state, len(r.queries)) for r in final.rounds] == [
        (1, RoundState.DONE, 4),
        (2, RoundState.DONE, 4),
        (3, RoundState.DONE, 4),
    ]
    # Round 2 asks for what round 1 lacked, for both countries alike.
    assert (
        final.rounds[1].gaps
        == final.rounds[0].gaps_left
        == [
            "Chile: Inflation rate (consumer prices)",
            "Peru: Inflation rate (consumer prices)",
            "Chile: Unemployment rate",
            "Peru: Unemployment rate",
        ]
    )
    assert final.rounds_ended == "the depth (3 rounds) was reached"
    planned = [s for s in final.searches if not s.extra]
    assert [s.round for s in planned] == [1] * 4 + [2] * 4 + [3] * 4
    assert all(s.state is SearchState.DONE for s in planned)
    queries = [s.query for s in planned]
    assert len(set(queries)) == len(queries)  # no search repeated
    # Each later round's searches are child workflows of their own, and each reflection too.
    searched = {str(e["workflow_id"]) for e in _executions(log, kind="search")}
    assert {"deep-r2-search-1", "deep-r2-search-4", "deep-r3-search-4", "deep-search-4"} <= searched
    reflections = _executions(log, kind="model", role="reflector")
    assert sorted(str(e["workflow_id"]) for e in reflections) == ["deep-r2-reflect", "deep-r3-reflect"]
    assert final.report is not None and final.citations is not None and final.citations.clean
    assert "Inflation rate" in final.report.body and "Unemployment rate" in final.report.body


def test_a_run_of_one_round_reflects_on_nothing(quick: ResearchClient, log: Path):
    options, _ = resolve_options(quick.settings, offline=True)
    final = quick.wait(quick.submit(QUESTION, options, run_id="shallow"), timeout=120)
    assert final.phase is Phase.COMPLETED, final.error
    assert [(r.number, r.state) for r in final.rounds] == [(1, RoundState.DONE)]
    assert final.rounds_ended is None
    assert not _executions(log, kind="model", role="reflector")
    assert all(s.round == 1 for s in final.searches)


def test_rounds_stop_early_when_no_gap_is_left(quick: ResearchClient, log: Path):
    options, _ = resolve_options(quick.settings, offline=True)
    options = options.model_copy(update={"depth": 5, "breadth": 4, "max_searches": 4})
    question = "Compare the population and life expectancy of Japan, Italy and Spain"
    final = quick.wait(quick.submit(question, options, run_id="closes"), timeout=240)
    assert final.phase is Phase.COMPLETED, final.error
    # Four searches for six facts: round 2 searches for what is left, then nothing is.
    assert [r.number for r in final.rounds] == [1, 2]
    assert final.rounds[1].gaps and final.rounds[1].gaps_left == []
    assert final.rounds_ended == "no gap was left after round 2"
    reflections = _executions(log, kind="model", role="reflector")
    assert sorted(str(e["workflow_id"]) for e in reflections) == ["closes-r2-reflect", "closes-r3-reflect"]


def test_a_budget_is_kept_across_rounds_and_leaves_the_analyst_its_share(quick: ResearchClient):
    options, _ = resolve_options(quick.settings, offline=True, max_requests=20)
    options = options.model_copy(update={"depth": 2, "breadth": 4})
    final = quick.wait(quick.submit(QUESTION, options, run_id="frugal"), timeout=240)
    assert final.phase is Phase.COMPLETED, final.error
    assert final.usage.requests <= 20
    # Planning and round 1 leave 11 requests: half for the analysis, the rest for the reflection (1) and
    # the searches that can run to their end in what remains (2 requests each).
    assert [len(r.queries) for r in final.rounds] == [4, 2]
    assert all(s.state is SearchState.DONE for s in final.searches if not s.extra)
    assert final.stopped_early is None  # the analyst wrote the report within its share
    assert final.report is not None and final.citations is not None and final.citations.clean


def test_a_round_the_budget_has_no_room_for_does_not_start(quick: ResearchClient, log: Path):
    options, _ = resolve_options(quick.settings, offline=True, max_requests=16)
    options = options.model_copy(update={"depth": 3, "breadth": 4})
    final = quick.wait(quick.submit(QUESTION, options, run_id="tight"), timeout=240)
    assert final.phase is Phase.COMPLETED, final.error
    assert final.usage.requests <= 16
    assert [len(r.queries) for r in final.rounds] == [4, 1]
    assert final.rounds_ended == "the budget (16 model requests) left no room for round 3"
    assert not _executions(log, kind="model", role="reflector", workflow_id="tight-r3-reflect")
    assert final.report is not None


def test_finish_ends_the_current_round_and_the_rounds(
    settings: Settings,
    log: Path,
    gate: SearchGate,  # noqa: F811
):
    # Round 1's four searches pass; round 2's first is held, running, while the run is told to finish.
    gate.passing = 4
    paced = settings.model_copy(update={"search_concurrency": 1, "finish_grace": 0.2, "execution_log": log})
    with worker(paced), ResearchClient(paced) as client:
        options, _ = resolve_options(paced, offline=True)
        options = options.model_copy(update={"depth": 3, "breadth": 4})
        run_id = client.submit(QUESTION, options, run_id="enough")
        assert gate.waiting.wait(120), "round 2's first search never called its backend"
        wait_until(client, run_id, lambda s: len(s.rounds) == 2)
        client.finish(run_id)
        final = client.wait(run_id, timeout=120)
        gate.opened.set()
    assert final.phase is Phase.COMPLETED, final.error
    assert final.stopped_early == "finish requested"
    assert [(r.number, r.state) for r in final.rounds] == [(1, RoundState.DONE), (2, RoundState.STOPPED)]
    assert final.rounds_ended == "finish requested (after round 2)"
    second = [s for s in final.searches if s.round == 2 and not s.extra]
    assert [s.state for s in second] == [SearchState.SKIPPED] * 4
    assert not _executions(log, kind="model", role="reflector", workflow_id="enough-r3-reflect")
    assert final.report is not None and final.citations is not None and final.citations.clean


def test_the_run_page_heads_each_rounds_cards_with_the_gaps_it_searches_for():
    first = RoundProgress(number=1, state=RoundState.DONE, queries=["a", "b"])
    assert round_caption(first) == "**Round 1** · done · 2 searches of the plan"
    second = RoundProgress(
        number=2, state=RoundState.STOPPED, queries=["q"], gaps=["Peru: *inflation* [x](http://e.org)"]
    )
    caption = round_caption(second)
    assert caption.startswith("**Round 2** · stopped · 1 search for: ")
    assert "*inflation*" not in caption and "](http" not in caption  # a model's words stay text
