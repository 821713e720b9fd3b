"""Full runs through a real in-process worker, on SQLite and on Postgres."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from dbos import WorkflowStatus

from research_agent.client import ResearchClient
from research_agent.database import ExecutorBusyError, executor_is_busy
from research_agent.options import InputError, resolve_options
from research_agent.runtime import worker
from research_agent.schema import Phase, ResearchOptions, ResearchStatus, SearchOutcome, SearchState
from research_agent.settings import Settings

from ._process import poll

QUESTION = "Compare the economies of Chile and Peru"


@pytest.fixture
def client(settings: Settings) -> Iterator[ResearchClient]:
    with worker(settings), ResearchClient(settings) as research_client:
        yield research_client


def _workflows(client: ResearchClient, run_id: str) -> dict[str, WorkflowStatus]:
    rows = client._client.list_workflows(workflow_id_prefix=run_id)
    return {row.workflow_id: row for row in rows}


def _executions(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_a_full_offline_run(client: ResearchClient, settings: Settings):
    options, _ = resolve_options(settings, offline=True)
    updates: list[ResearchStatus] = []
    run_id = client.submit(QUESTION, options, run_id="run-a")
    final = client.wait(run_id, on_update=updates.append, poll_interval=0.02, timeout=120)

    assert final.phase is Phase.COMPLETED, final.error
    # One event per change: start, plan, searches as they end (those ending together in one), analysing,
    # completed.
    assert 1 + 1 + 1 + 1 + 1 <= final.sequence <= 1 + 1 + 4 + 1 + 1
    sequences = [u.sequence for u in updates]
    assert sequences == sorted(sequences)
    order = [Phase.QUEUED, Phase.PLANNING, Phase.SEARCHING, Phase.ANALYZING, Phase.COMPLETED]
    seen = [order.index(u.phase) for u in updates]
    assert seen == sorted(seen)

    client._client.retrieve_workflow(
        run_id
    ).get_result()  # the final event is published just before the return
    tree = _workflows(client, run_id)
    assert set(tree) == {
        "run-a",
        "run-a-plan",
        "run-a-control",
        "run-a-analyze",
        *(f"run-a-search-{i}" for i in range(1, 5)),
    }
    # R-control ends when the run tells it the searches are over, just before or after the run itself.
    tree = poll(
        lambda: _workflows(client, run_id),
        timeout=30,
        what="every workflow of the run to succeed",
        holds=lambda t: all(r.status == "SUCCESS" for r in t.values()),
        interval=0.02,
    )

    assert [s.state for s in final.searches] == [SearchState.DONE] * 4
    assert all(s.source_count == 5 and s.started_at and s.finished_at for s in final.searches)
    assert final.usage.requests == 4 * 2 + 1 + 1
    assert final.usage_by_model == {"offline": final.usage}

    # Every citation resolves to a listed source that a search really returned.
    report = final.report
    assert report is not None
    returned = set()
    for i in range(1, 5):
        outcome = tree[f"run-a-search-{i}"].output
        assert isinstance(outcome, SearchOutcome) and outcome.findings is not None
        returned |= {source.key for source in outcome.findings.sources}
    numbers = {source.number: source for source in report.sources}
    assert report.cited_numbers() and set(report.cited_numbers()) == set(numbers)
    assert all(source.key in returned for source in report.sources)
    # The deterministic check agrees: every citation verified against the raw search results.
    assert final.citations is not None and final.citations.clean
    assert final.citations.cited == final.citations.verified == len(report.cited_numbers())


def test_submitting_the_same_id_twice_starts_one_run(client: ResearchClient, settings: Settings):
    options, _ = resolve_options(settings, offline=True)
    assert client.submit(QUESTION, options, run_id="twice") == "twice"
    assert client.submit(QUESTION, options, run_id="twice") == "twice"
    assert client.wait("twice", timeout=120).phase is Phase.COMPLETED
    assert [r.run_id for r in client.list_runs()].count("twice") == 1


def test_the_analyst_runs_an_extra_search_as_a_child_workflow(settings: Settings):
    settings = settings.model_copy(update={"max_searches": 2})
    with worker(settings), ResearchClient(settings) as client:
        options, _ = resolve_options(settings, offline=True)
        run_id = client.submit("Compare the economies of Chile, Peru and Bolivia", options, run_id="extra")
        final = client.wait(run_id, timeout=120)
        tree = _workflows(client, run_id)
    assert final.phase is Phase.COMPLETED, final.error
    assert "extra-extra-1" in tree and "extra-search-3" not in tree
    assert [s.extra for s in final.searches] == [False, False, True]
    assert final.report is not None and "## Bolivia" in final.report.body


def test_cancel_then_resume_finishes_the_run(settings: Settings):
    settings = settings.model_copy(update={"offline_delay": 0.3})
    with worker(settings), ResearchClient(settings) as client:
        options, _ = resolve_options(settings, offline=True)
        run_id = client.submit(QUESTION, options, run_id="cancel-me")

        def cancel_when_searching(status: ResearchStatus) -> None:
            if status.phase is Phase.SEARCHING:
                client.cancel(run_id)

        assert client.wait(run_id, on_update=cancel_when_searching, timeout=120).phase is Phase.CANCELLED
        client.resume(run_id)
        final = client.wait(run_id, timeout=120)
    assert final.phase is Phase.COMPLETED, final.error
    assert final.report is not None


def test_fork_from_analysis_reuses_every_search(settings: Settings, tmp_path: Path):
    log = tmp_path / "executions.jsonl"
    settings = settings.model_copy(update={"execution_log": log})
    with worker(settings), ResearchClient(settings) as client:
        options, _ = resolve_options(settings, offline=True)
        first = client.wait(client.submit(QUESTION, options, run_id="orig"), timeout=120)
        before = _executions(log)
        forked = client.fork("orig", "analyze")
        second = client.wait(forked, timeout=120)
        after = [e for e in _executions(log)[len(before) :] if e["stage"] == "end"]
        with pytest.raises(InputError, match="already completed"):
            client.resume("orig")
    assert second.phase is Phase.COMPLETED
    assert second.report == first.report
    assert [e["kind"] for e in after] == ["model"] and after[0]["role"] == "analyst"
    assert after[0]["workflow_id"] == f"{forked}-analyze"


def test_a_second_worker_with_the_same_executor_id_is_refused(settings: Settings):
    with worker(settings):
        assert executor_is_busy(settings)
        with pytest.raises(ExecutorBusyError, match="already running"), worker(settings):
            pass
    assert not executor_is_busy(settings)


def test_a_run_with_pydantic_ai_test_models_goes_through_every_agent(
    client: ResearchClient, settings: Settings
):
    # 'test' is pydantic-ai's TestModel: it calls every tool once and fills the output with generated values.
    options = ResearchOptions(
        offline=False, planner_model="test", search_model="test", analyst_model="test", max_extra_searches=1
    )
    final = client.wait(client.submit("Anything at all?", options, run_id="tm"), timeout=120)
    assert final.phase is Phase.COMPLETED, final.error
    client._client.retrieve_workflow("tm").get_result()
    tree = _workflows(client, "tm")
    # TestModel's plan has one step; its analyst calls extra_search, which runs as child workflow tm-extra-1.
    assert set(tree) == {"tm", "tm-plan", "tm-search-1", "tm-control", "tm-analyze", "tm-extra-1"}
    assert [s.extra for s in final.searches] == [False, True]
    assert final.usage.requests >= 1 + 2 + 2
