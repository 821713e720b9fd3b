"""Steering runs while they work, through a real in-process worker: plan review (approve, edit, reject,
timeout). Crash-safety of each control is in test_crash_controls.py."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from research_agent.client import ResearchClient
from research_agent.controls import PlanEditError, plan_from_text, plan_to_text, read_plan_file
from research_agent.options import InputError, RunNotFoundError, resolve_options
from research_agent.runtime import worker
from research_agent.schema import Phase, ResearchPlan, SearchStep
from research_agent.settings import Settings

from ._process import awaiting, wait_until

QUESTION = "Compare the economies of Chile and Peru"


@pytest.fixture
def client(settings: Settings) -> Iterator[ResearchClient]:
    with worker(settings), ResearchClient(settings) as research_client:
        yield research_client


def _search_children(client: ResearchClient, run_id: str) -> list[str]:
    rows = client._client.list_workflows(workflow_id_prefix=f"{run_id}-search-", load_input=False)
    return sorted(row.workflow_id for row in rows)


def test_an_edited_plan_runs_instead_of_the_planners(client: ResearchClient, settings: Settings):
    options, _ = resolve_options(settings, offline=True, review_plan=True)
    run_id = client.submit(QUESTION, options, run_id="review-edit")
    waiting = wait_until(client, run_id, awaiting)
    assert waiting.plan is not None and len(waiting.plan.search_steps) == 4
    assert waiting.searches == [] and waiting.review_deadline is None
    assert _search_children(client, run_id) == []  # nothing searches before the decision

    first = waiting.plan.search_steps[0]
    edited = ResearchPlan(
        search_steps=[first, SearchStep(query="Peru exports commodities", rationale="Added by hand.")],
        analysis_instructions="Compare exports only.",
    )
    client.approve(run_id, edited)
    final = client.wait(run_id, timeout=120)

    assert final.phase is Phase.COMPLETED, final.error
    assert final.plan == edited and final.plan_review == "edited"
    assert [s.query for s in final.searches if not s.extra] == [first.query, "Peru exports commodities"]
    assert _search_children(client, run_id) == [f"{run_id}-search-1", f"{run_id}-search-2"]
    with pytest.raises(InputError, match="COMPLETED, not awaiting approval; its plan was already edited"):
        client.approve(run_id)


def test_a_rejected_plan_ends_cancelled_without_searching(client: ResearchClient, settings: Settings):
    options, _ = resolve_options(settings, offline=True, review_plan=True)
    run_id = client.submit(QUESTION, options, run_id="review-reject")
    wait_until(client, run_id, awaiting)
    client.reject(run_id)
    client.approve(run_id)  # sent before the run read the rejection: dropped, the first decision counts
    final = client.wait(run_id, timeout=120)
    assert final.phase is Phase.CANCELLED and final.plan_review == "rejected"
    assert final.error == "The plan was rejected; nothing was searched."
    assert final.report is None and final.searches == []
    assert _search_children(client, run_id) == []


def test_runs_without_review_cannot_be_approved(client: ResearchClient, settings: Settings):
    options, _ = resolve_options(settings, offline=True)
    run_id = client.submit(QUESTION, options, run_id="no-review")
    final = client.wait(run_id, timeout=120)
    assert final.plan_review is None
    with pytest.raises(InputError, match="start a run with --review-plan"):
        client.reject(run_id)
    with pytest.raises(RunNotFoundError):
        client.approve("missing")


@pytest.mark.parametrize(("action", "phase"), [("approve", Phase.COMPLETED), ("cancel", Phase.CANCELLED)])
def test_the_review_timeout_decides_an_unanswered_plan(settings: Settings, action: str, phase: Phase):
    settings = settings.model_copy(update={"review_timeout": 1.5, "review_timeout_action": action})
    with worker(settings), ResearchClient(settings) as client:
        options, _ = resolve_options(settings, offline=True, review_plan=True)
        run_id = client.submit(QUESTION, options, run_id=f"timeout-{action}")
        waiting = wait_until(client, run_id, awaiting)
        assert waiting.review_deadline is not None and waiting.created_at is not None
        final = client.wait(run_id, timeout=120)
    expected = "approved" if action == "approve" else "cancelled"
    assert final.phase is phase and final.plan_review == f"{expected} after the review timeout"
    assert (final.report is not None) == (action == "approve")


def test_a_plan_file_is_checked(tmp_path: Path):
    good = ResearchPlan(
        search_steps=[
            SearchStep(query=" Chile GDP ", rationale="why"),
            SearchStep(query="  ", rationale="x"),
        ],
        analysis_instructions="Be brief.",
    )
    path = tmp_path / "plan.json"
    path.write_text(json.dumps({"phase": "AWAITING_APPROVAL", "plan": good.model_dump()}))
    assert read_plan_file(path).search_steps == [SearchStep(query="Chile GDP", rationale="why")]
    path.write_text(json.dumps({"search_steps": [{"query": "x"}]}))
    with pytest.raises(PlanEditError, match=r"search_steps\.0\.rationale: Field required"):
        read_plan_file(path)
    path.write_text(json.dumps({"search_steps": [], "analysis_instructions": ""}))
    with pytest.raises(PlanEditError, match="no search steps"):
        read_plan_file(path)
    path.write_text(
        json.dumps({"search_steps": [{"query": "q", "rationale": ""}] * 21, "analysis_instructions": ""})
    )
    with pytest.raises(PlanEditError, match="21 searches; at most 20"):
        read_plan_file(path)


def test_a_plan_round_trips_through_text():
    plan = ResearchPlan(
        search_steps=[
            SearchStep(query="Chile GDP", rationale="growth"),
            SearchStep(query="Peru", rationale=""),
        ],
        analysis_instructions="Compare.",
    )
    assert plan_from_text(plan_to_text(plan), "Compare.") == plan
    assert plan_from_text("Chile GDP | growth\n\nPeru exports", "x").search_steps[1] == SearchStep(
        query="Peru exports", rationale=""
    )
