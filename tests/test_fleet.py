"""`run` and `submit` with a fleet of named workers (issue 21): the CLI uses any live worker of the database,
found by its heartbeat whatever its executor id; run in-process, it leaves the queued runs to workers; and a
run a stopping worker hands back says it is queued again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from dbos import WorkflowStatusString

from research_agent.client import ResearchClient
from research_agent.heartbeats import FRESH_SECONDS, fresh_executors, heartbeat_engine, record_beat
from research_agent.schema import Phase

from ._process import QUESTIONS, cli, kill_all, settings_from_env, start_worker, stop, wait_until

pytestmark = pytest.mark.slow  # real workers and commands in subprocesses


@pytest.fixture
def env(isolated_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    return {**isolated_env, "RESEARCH_DATABASE_URL": f"sqlite:///{tmp_path / 'fleet.sqlite'}"}


def _executors_of(client: ResearchClient, run_ids: list[str]) -> dict[str, str | None]:
    rows = client._client.list_workflows(workflow_ids=run_ids, load_input=False, load_output=False)
    return {row.workflow_id: row.executor_id for row in rows}


def test_run_hands_its_research_to_a_named_worker(env: dict[str, str], tmp_path: Path):
    worker = start_worker(env, tmp_path, executor_id="w1")
    try:
        queued = cli(["run", QUESTIONS[0], "--offline", "--no-wait", "--id", "f-1"], env, tmp_path)
        assert queued.returncode == 0, queued.stderr
        assert queued.stdout.strip() == "f-1" and "executing in this process" not in queued.stderr
        submitted = cli(["submit", QUESTIONS[1], "--offline", "--no-wait"], env, tmp_path)
        assert submitted.returncode == 0 and "no worker is running" not in submitted.stderr
        with ResearchClient(settings_from_env(env)) as client:
            assert client.live_workers() == ["w1"]
            assert client.wait("f-1", timeout=120).phase is Phase.COMPLETED
            assert _executors_of(client, ["f-1"]) == {"f-1": "w1"}
    finally:
        stop(worker, timeout=30)
    with ResearchClient(settings_from_env(env)) as client:
        assert client.live_workers() == []  # a worker stopping cleanly deletes its heartbeat at once


def test_an_in_process_run_leaves_the_queued_runs_to_the_workers(env: dict[str, str], tmp_path: Path):
    queued = []
    for question in QUESTIONS[1:4]:
        done = cli(["submit", question, "--offline", "--no-wait"], env, tmp_path)
        assert done.returncode == 0 and "no worker is running" in done.stderr, done.stderr
        queued.append(done.stdout.strip())
    own = cli(["run", QUESTIONS[0], "--offline", "--id", "own", "--json"], env, tmp_path)
    assert own.returncode == 0, own.stderr
    assert "executing in this process" in own.stderr and json.loads(own.stdout)["phase"] == "COMPLETED"
    with ResearchClient(settings_from_env(env)) as client:
        rows = client._client.list_workflows(workflow_ids=queued, load_input=False, load_output=False)
        assert {row.status for row in rows} == {WorkflowStatusString.ENQUEUED.value}  # none was touched
        assert {run.run_id: run.phase for run in client.list_runs()} == {
            "own": Phase.COMPLETED,
            **dict.fromkeys(queued, Phase.QUEUED),
        }
    worker = start_worker(env, tmp_path, executor_id="w2")
    try:
        with ResearchClient(settings_from_env(env)) as client:
            assert {client.wait(run_id, timeout=120).phase for run_id in queued} == {Phase.COMPLETED}
            assert set(_executors_of(client, queued).values()) == {"w2"}
    finally:
        stop(worker, timeout=30)


def test_a_handed_back_run_says_it_is_queued_again(env: dict[str, str], tmp_path: Path):
    paced = {**env, "RESEARCH_OFFLINE_DELAY": "1", "RESEARCH_SHUTDOWN_GRACE": "0"}
    worker = start_worker(paced, tmp_path, executor_id="w1")
    workers = [worker]
    try:
        queued = cli(["submit", QUESTIONS[0], "--offline", "--no-wait"], paced, tmp_path)
        run_id = queued.stdout.strip()
        with ResearchClient(settings_from_env(paced)) as client:
            wait_until(client, run_id, lambda s: s.phase is Phase.SEARCHING)
            assert stop(worker, timeout=30) == 0  # no grace: the run goes back to the queue mid-search
            handed_back = client.status(run_id)
            assert handed_back.phase is Phase.QUEUED, handed_back.phase
            shown = cli(["show", run_id, "--json"], paced, tmp_path)
            assert json.loads(shown.stdout)["phase"] == "QUEUED"
            workers.append(start_worker(paced, tmp_path, executor_id="w2"))
            assert client.wait(run_id, timeout=120).phase is Phase.COMPLETED
    finally:
        for process in workers:
            if process.poll() is None:
                stop(process, timeout=30)
        kill_all(workers)


def test_a_heartbeat_counts_while_fresh(tmp_path: Path):
    settings = settings_from_env({"RESEARCH_DATABASE_URL": f"sqlite:///{tmp_path / 'beats.sqlite'}"})
    engine = heartbeat_engine(settings)
    assert fresh_executors(engine) == []  # no table yet: no worker ever started here
    from research_agent.heartbeats import table_for

    table_for(engine).create(engine)
    record_beat(engine, "w1", now_ms=1_000_000)
    record_beat(engine, "w2", now_ms=1_000_000 + int(FRESH_SECONDS * 1000))
    assert fresh_executors(engine, now_ms=1_000_000 + int(FRESH_SECONDS * 1000)) == ["w1", "w2"]
    assert fresh_executors(engine, now_ms=1_000_001 + int(FRESH_SECONDS * 1000)) == ["w2"]
    engine.dispose()
