"""Budgets: the arithmetic of sharing one out (properties), and a real run that must stay inside its own.

A run's budget is shared out before each part runs: the searches get one share each and the analyst the
rest, and the analyst sets aside one share for each extra search it may start. The run test below has an
analyst that spends all it is given, so the run stays in budget only if those shares were set aside.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic_ai.messages import ModelMessage, ModelResponse, ToolCallPart
from pydantic_ai.models.function import AgentInfo

from research_agent import _offline
from research_agent.client import ResearchClient
from research_agent.runtime import worker
from research_agent.schema import Budget, Phase, ResearchOptions, Usage
from research_agent.settings import Settings

caps = st.one_of(st.none(), st.integers(0, 10**9))
budgets = st.builds(Budget, requests=caps, tokens=caps)
amounts = st.integers(0, 10**9)
usages = st.builds(Usage, requests=amounts, input_tokens=amounts, output_tokens=amounts, tool_calls=amounts)
parts = st.integers(1, 1000)


def _fields(budget: Budget) -> list[tuple[int | None, str]]:
    return [(budget.requests, "requests"), (budget.tokens, "tokens")]


@given(budget=budgets, parts=parts)
def test_shares_never_add_up_to_more_than_the_whole(budget: Budget, parts: int):
    share = budget.share(parts)
    for whole, name in _fields(budget):
        one = getattr(share, name)
        if whole is None:
            assert one is None  # no cap shares out as no cap
        else:
            assert one is not None and 0 <= one * parts <= whole
            assert whole - one * parts < parts  # rounded down, never by more than one per part


@given(budget=budgets, other=budgets, times=st.integers(0, 1000))
def test_less_sets_aside_and_never_goes_below_zero(budget: Budget, other: Budget, times: int):
    left = budget.less(other, times)
    for whole, name in _fields(budget):
        kept = getattr(left, name)
        if whole is None:
            assert kept is None
        else:
            aside = times * (getattr(other, name) or 0)
            assert kept == max(whole - aside, 0)


@given(budget=budgets, used=usages)
def test_after_subtracts_requests_and_total_tokens(budget: Budget, used: Usage):
    left = budget.after(used)
    if budget.requests is None:
        assert left.requests is None
    else:
        assert left.requests == max(budget.requests - used.requests, 0)
    if budget.tokens is None:
        assert left.tokens is None
    else:
        assert left.tokens == max(budget.tokens - used.input_tokens - used.output_tokens, 0)
    assert left.exhausted == (left.requests == 0 or left.tokens == 0)


@given(budget=budgets, extra_searches=st.integers(0, 50))
def test_the_analyst_and_its_extra_searches_stay_inside_what_is_left(budget: Budget, extra_searches: int):
    # The split `analyze_findings` makes: each possible extra search gets a share, the analyst the rest.
    extra = budget.share(extra_searches + 2)
    analyst = budget.less(extra, extra_searches)
    for whole, name in _fields(budget):
        if whole is None:
            continue
        each, rest = getattr(extra, name), getattr(analyst, name)
        assert rest + extra_searches * each <= whole
        assert rest >= 2 * each  # the analyst keeps at least two shares


# --- a real run --------------------------------------------------------------------------------------------

BUDGET = 30


@pytest.fixture
def log(tmp_path: Path) -> Path:
    return tmp_path / "executions.jsonl"


@pytest.fixture
def client(settings: Settings, log: Path) -> Iterator[ResearchClient]:
    logged = settings.model_copy(update={"execution_log": log})
    with worker(logged), ResearchClient(logged) as research_client:
        yield research_client


def _model_requests(log: Path) -> list[dict[str, object]]:
    """The offline model's requests that ran to their end (planner and searchers here)."""
    rows = [json.loads(line) for line in log.read_text().splitlines()]
    return [row for row in rows if row["kind"] == "model" and row["stage"] == "end"]


def test_the_analyst_and_its_extra_searches_together_stay_inside_the_budget(
    client: ResearchClient, log: Path, monkeypatch: pytest.MonkeyPatch
):
    # An analyst that never writes its report: it asks for extra searches (two are allowed, then it is told
    # no) until its request limit stops it. It spends all it is given, so the run stays in budget only if
    # what the two extra searches spent was set aside from the analyst's limit beforehand.
    analyst_requests: list[int] = []

    async def insatiable(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        analyst_requests.append(len(analyst_requests) + 1)
        return ModelResponse(parts=[ToolCallPart("extra_search", {"query": "Bolivia economy"})])

    monkeypatch.setattr(_offline.ANALYST_MODEL, "function", insatiable)
    options = ResearchOptions(offline=True, max_searches=2, max_extra_searches=2, max_requests=BUDGET)
    final = client.wait(client.submit("Compare the economies of Chile and Peru", options), timeout=120)

    assert final.phase is Phase.COMPLETED, final.error
    assert final.stopped_early is not None and final.stopped_early.startswith(
        "the analyst exceeded the budget (UsageLimitExceeded: The next request would exceed the request_limit"
    )
    others = _model_requests(log)
    extra = [r for r in others if "-extra-" in str(r["workflow_id"])]
    assert extra and analyst_requests  # the extra searches really ran, and spent
    assert len(others) + len(analyst_requests) <= BUDGET  # what really ran, every agent together
