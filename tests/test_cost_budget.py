"""Budgets in money (issue 20, item 4): prices fixed with the run, the cap shared out like requests and tokens,
enforced inside each agent run, counted durably across a SIGKILL, and shown in the CLI and the UI.

The offline models are free, so the runs here give them a price through RESEARCH_MODEL_PRICES, as a person
does for a local model: the same path, with deterministic token counts.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr
from pydantic_ai.exceptions import UsageLimitExceeded
from pydantic_ai.usage import RunUsage

from research_agent.cli import _spending
from research_agent.client import ResearchClient
from research_agent.options import InputError, RunRequest, resolve_options
from research_agent.pricing import model_price
from research_agent.runtime import worker
from research_agent.schema import Budget, ModelPrice, Phase, ResearchStatus, SearchState, Usage
from research_agent.settings import Settings
from research_agent.spending import PricedLimits, usage_limits, usage_of
from ui.components import cost_metric

from ._process import (
    finished_executions,
    kill,
    read_executions,
    settings_from_env,
    start_worker,
    wait_until,
)
from .test_crash import assert_nothing_ran_twice

QUESTION = "Compare the economies of Chile and Peru"
OFFLINE_PRICES = '{"offline": {"input_per_mtok": 50, "output_per_mtok": 200}}'
"""Dear enough that a run of the offline models costs about $0.60."""
PRICE = ModelPrice(input_per_mtok=50, output_per_mtok=200)

dollars = st.one_of(st.none(), st.floats(0, 1000, allow_nan=False))
cost_budgets = st.builds(Budget, cost=dollars)


# --- the arithmetic ------------------------------------------------------------------------------------------


@given(budget=cost_budgets, parts=st.integers(1, 1000), times=st.integers(0, 1000))
def test_cost_shares_never_add_up_to_more_than_the_whole(budget: Budget, parts: int, times: int):
    share = budget.share(parts)
    left = budget.less(share, times)
    if budget.cost is None:
        assert share.cost is None and left.cost is None
        return
    assert share.cost is not None and left.cost is not None
    assert share.cost * parts <= budget.cost * (1 + 1e-12)
    assert left.cost >= 0 and left.cost == max(budget.cost - times * share.cost, 0.0)


@given(budget=cost_budgets, spent=st.floats(0, 1000, allow_nan=False))
def test_after_subtracts_the_cost_and_a_spent_budget_is_exhausted(budget: Budget, spent: float):
    left = budget.after(Usage(cost=spent))
    if budget.cost is None:
        assert left.cost is None and not left.exhausted
    else:
        assert left.cost == max(budget.cost - spent, 0.0)
        assert left.exhausted == (left.cost <= 1e-9)


def test_a_budget_describes_its_cost_in_dollars():
    assert Budget(requests=10, cost=0.5).describe() == "10 model requests and $0.50"
    assert Budget(cost=0.0042).describe() == "$0.0042"


def test_priced_limits_refuse_a_request_that_would_reach_the_cap_and_stop_once_over():
    limits = PricedLimits(cost_cap=0.10, price=PRICE)
    limits.check_before_request(RunUsage())  # nothing spent: the first request goes
    # 1,000 input tokens so far ($0.05): resending that prompt would make $0.10, the cap.
    with pytest.raises(UsageLimitExceeded, match=r"would exceed the cost limit of \$0.10 \(\$0.05 spent\)"):
        limits.check_before_request(RunUsage(requests=1, input_tokens=1000))
    limits.check_cost(RunUsage(requests=1, input_tokens=1000, output_tokens=250))  # $0.10: not over
    with pytest.raises(UsageLimitExceeded, match=r"Exceeded the cost limit of \$0.10 \(\$0.10 spent\)"):
        limits.check_cost(RunUsage(requests=1, input_tokens=1000, output_tokens=251))
    assert usage_of(RunUsage(requests=1, input_tokens=1000, output_tokens=250), PRICE).cost == pytest.approx(
        0.1
    )
    assert usage_of(RunUsage(requests=1, input_tokens=1000), None).cost == 0  # unpriced: counts nothing
    unpriced = usage_limits(Budget(cost=0.1), None)
    assert isinstance(unpriced, PricedLimits) and unpriced.cost_cap is None


# --- prices fixed with the run -----------------------------------------------------------------------------


def _settings(**fields: str) -> Settings:
    return settings_from_env({f"RESEARCH_{name.upper()}": value for name, value in fields.items()})


def test_a_run_records_its_models_prices_and_its_cap():
    settings = _settings(
        model_prices='{"openai:qwen3:8b": {"input_per_mtok": 0.02, "output_per_mtok": 0.05}}'
    )
    settings = settings.model_copy(update={"openai_base_url": "http://127.0.0.1:11434/v1"})
    settings = settings.model_copy(
        update={
            "planner_model": "openai:qwen3:8b",
            "analyst_model": "anthropic:claude-sonnet-4-6",
            "offline": False,
        }
    )
    settings = settings.model_copy(
        update={"anthropic_api_key": SecretStr("sk-ant"), "google_api_key": SecretStr("g")}
    )
    options, _ = resolve_options(settings, max_cost=2.5)
    assert options.max_cost == 2.5
    assert options.model_prices["openai:qwen3:8b"] == ModelPrice(input_per_mtok=0.02, output_per_mtok=0.05)
    assert options.model_prices["anthropic:claude-sonnet-4-6"] == model_price("anthropic:claude-sonnet-4-6")
    # The default search model's price, from genai-prices.
    assert options.model_prices["google-gla:gemini-3.8-flash"].input_per_mtok > 0


def test_a_cost_cap_on_a_model_without_a_price_is_refused_naming_the_setting():
    settings = _settings(offline="false", planner_model="openai:qwen3:8b").model_copy(
        update={
            "openai_base_url": "http://127.0.0.1:11434/v1",
            "anthropic_api_key": SecretStr("a"),
            "google_api_key": SecretStr("g"),
        }
    )
    with pytest.raises(
        InputError, match=r"--max-cost needs the price of openai:qwen3:8b.*RESEARCH_MODEL_PRICES"
    ):
        resolve_options(settings, max_cost=1)
    resolve_options(settings)  # without a cap an unpriced model is fine: its usage costs nothing
    with pytest.raises(InputError, match="--max-cost must be above 0"):
        RunRequest(question="Compare the economies of Chile and Peru", max_cost=0).resolve(_settings())


# --- real runs ----------------------------------------------------------------------------------------------


@pytest.fixture
def client(isolated_env: dict[str, str], tmp_path: Path) -> Iterator[ResearchClient]:
    settings = settings_from_env(
        {
            **isolated_env,
            "RESEARCH_DATABASE_URL": f"sqlite:///{tmp_path / 'cost.sqlite'}",
            "RESEARCH_MODEL_PRICES": OFFLINE_PRICES,
        }
    )
    with worker(settings), ResearchClient(settings) as research_client:
        yield research_client


def test_a_run_stays_inside_a_cap_it_can_afford_and_stops_early_at_one_it_cannot(client: ResearchClient):
    afford, _ = resolve_options(client.settings, offline=True, max_cost=1.0)
    tight, _ = resolve_options(client.settings, offline=True, max_cost=0.3)
    done = client.wait(client.submit(QUESTION, afford), timeout=120)
    stopped = client.wait(client.submit(QUESTION, tight), timeout=120)

    assert done.phase is Phase.COMPLETED and done.stopped_early is None, done.error
    assert 0.3 < done.usage.cost < 1.0
    assert done.usage.cost == pytest.approx(sum(u.cost for u in done.usage_by_model.values()))
    assert done.usage.cost == pytest.approx(PRICE.cost(done.usage.input_tokens, done.usage.output_tokens))

    assert stopped.phase is Phase.COMPLETED, stopped.error
    assert stopped.stopped_early is not None and "$0.30" in stopped.stopped_early
    assert any("cost limit" in (search.error or "") for search in stopped.searches)
    # The cap is checked between requests: each part running when it was reached may go over its share by
    # the request that crossed it (here the searches' findings, long answers at $200 per million), but no
    # part starts once the budget is spent: the analyst never ran.
    assert stopped.usage.cost < done.usage.cost
    assert stopped.usage.requests == 1 + 2 * len(stopped.searches)
    # The run still ends with a report: the partial one, written without the analyst, saying why.
    assert stopped.report is not None and stopped.report.title == f"Partial report: {QUESTION}"
    assert f"_The analysis was not written: {stopped.stopped_early}." in stopped.report.body

    # Shown live: the CLI's progress lines and the UI's cost tile.
    assert _spending(stopped) == f" · ${stopped.usage.cost:.2f} of $0.30"
    assert cost_metric(stopped)[:2] == ("Cost", f"${stopped.usage.cost:.2f} of $0.30")


def test_the_cost_tile_of_runs_without_a_cap():
    offline = ResearchStatus(run_id="r", question=QUESTION)
    assert cost_metric(offline)[1] == "free"
    priced = offline.model_copy(
        update={
            "options": offline.options.model_copy(update={"offline": False, "model_prices": {"m:x": PRICE}})
        }
    )
    priced.add_usage("m:x", Usage(requests=1, input_tokens=1000, cost=0.05))
    priced.add_usage("openai:local", Usage(requests=1, input_tokens=1000))
    assert cost_metric(priced)[1] == "$0.05 + unpriced: openai:local"


@pytest.mark.crash
def test_a_cost_budget_is_not_renewed_by_a_restart(
    crash_env: dict[str, str], tmp_path: Path, workers: list[subprocess.Popen[str]]
):
    # $0.15: the plan costs about $0.03, leaving each of the 4 searches (and the analyst) a share of about
    # $0.024, less than a search's two requests cost, so every search stops over its share. The worker is
    # killed once the first has, and the restarted one must go on with what was left, not a fresh budget.
    env = {
        **crash_env,
        "RESEARCH_SEARCH_CONCURRENCY": "1",
        "RESEARCH_OFFLINE_DELAY": "0.3",
        "RESEARCH_MODEL_PRICES": OFFLINE_PRICES,
    }
    settings = settings_from_env(env)
    workers.append(start_worker(env, tmp_path))
    with ResearchClient(settings) as client:
        options, _ = resolve_options(settings, max_cost=0.15)
        run_id = client.submit(QUESTION, options, run_id="crash-cost")
        wait_until(client, run_id, lambda s: any(x.state is SearchState.FAILED for x in s.searches))
        kill(workers[0])
        workers.append(start_worker(env, tmp_path))
        final = client.wait(run_id, timeout=120)
    assert final.phase is Phase.COMPLETED, final.error
    assert final.stopped_early == "the budget ($0.15) ran out before the analysis"
    assert final.searches and all(
        s.state is SearchState.FAILED and "cost limit" in (s.error or "") for s in final.searches
    )
    executions = read_executions(env)
    assert_nothing_ran_twice(executions, workers[0].pid)
    ran = [e for e in finished_executions(executions) if e["kind"] == "model"]
    assert final.usage.requests == len(ran)  # every request that ran is counted, across both workers


@pytest.mark.parametrize("role", ["planner_model", "search_model", "analyst_model", "judge_model"])
def test_every_default_model_has_a_known_price(role: str) -> None:
    """A default genai-prices cannot price would leave a new user's --max-cost without a price to count."""
    model = Settings.model_fields[role].default
    price = model_price(model)
    assert price is not None and price.input_per_mtok > 0 and price.output_per_mtok > 0, model
