"""The chaos monkey: the worker is SIGKILLed at random moments, many times per run, and restarted.

N runs go to one worker subprocess, all at once. After each restart the monkey waits until the new worker
has finished some real call (so every life does real work), then for a random fraction of a model
request's time, and kills it. When the kills are spent the last worker finishes the work. Every run must be cut off
in the middle several times (DBOS counts its dispatches), complete with the report of an undisturbed run,
and no call may start after DBOS checkpointed its step.
"""

from __future__ import annotations

import random
import subprocess
import time
from collections import Counter
from functools import partial
from pathlib import Path

import pytest

from research_agent.client import ResearchClient
from research_agent.options import resolve_options
from research_agent.schema import ResearchReport

from .._process import kill, poll, read_executions, settings_from_env, start_worker
from ._harness import (
    assert_reports_match,
    checkpoint_reruns,
    final_statuses,
    made_progress,
    question_of,
    record_figures,
    scale,
    unfinished,
)

pytestmark = pytest.mark.chaos
RUNS = scale(ci=20, full=100)
KILLS = scale(ci=6, full=40)
MODEL_DELAY = 0.8
"""How long each offline model request takes (seconds)."""
MAX_PAUSE = 0.4
"""Longest a worker lives after its first finished call (seconds).

Shorter than a model request, so no run gets more than one request further in a life (the shortest run
makes four in a row) and each is cut off several times, however fast the machine: with a pause of 1.5 s
and requests of 0.2 s, the shortest run once finished inside the first life.
"""


def test_runs_survive_random_kills(
    chaos_env: dict[str, str],
    tmp_path: Path,
    workers: list[subprocess.Popen[str]],
    reference_reports: dict[str, ResearchReport],
):
    env = {**chaos_env, "RESEARCH_WORKER_CONCURRENCY": str(RUNS), "RESEARCH_OFFLINE_DELAY": str(MODEL_DELAY)}
    settings = settings_from_env(env)
    monkey = random.Random(20261125)
    kill_times: list[float] = []
    started = time.monotonic()
    workers.append(start_worker(env, tmp_path))
    with ResearchClient(settings) as client:
        options, _ = resolve_options(settings)
        run_ids = [client.submit(question_of(i), options, run_id=f"chaos-{i}") for i in range(RUNS)]
        while len(kill_times) < KILLS and unfinished(client, run_ids):
            worker = workers[-1]
            poll(partial(made_progress, env, worker), timeout=120, what="the restarted worker to get going")
            # A random moment: the pause is the monkey's dice, not a wait for anything.
            time.sleep(monkey.uniform(0, MAX_PAUSE))
            if not unfinished(client, run_ids):
                break
            kill(worker)
            kill_times.append(time.time())
            workers.append(start_worker(env, tmp_path))
        poll(lambda: not unfinished(client, run_ids), timeout=60 + 3 * RUNS, what=f"{RUNS} runs to finish")
        statuses = final_statuses(client, run_ids)
        executions = read_executions(env)
        reruns = checkpoint_reruns(client, executions)
        runs = client._client.list_workflows(workflow_ids=run_ids, load_input=False, load_output=False)
    elapsed = time.monotonic() - started

    assert_reports_match(statuses, reference_reports)
    assert not reruns, f"finished calls executed again after their checkpoint: {reruns[:5]}"
    # Kills each run lived through: DBOS counts every dispatch of a run, so each one after the first is a
    # worker that had started it and died before it finished. A run can lose every one of its lives
    # before its first call (a restarted worker replays twenty runs at once), so the calls alone
    # undercount; they give the second figure, kills that fell between a run's first and last call.
    restarts = [(row.recovery_attempts or 0) - 1 for row in runs]
    first_call: dict[str, float] = {}
    last_call: dict[str, float] = {}
    for e in executions:
        run_id = "-".join(str(e["workflow_id"]).split("-")[:2])
        first_call.setdefault(run_id, float(e["at"]))
        last_call[run_id] = max(last_call.get(run_id, 0.0), float(e["at"]))
    kills_mid_calls = [
        sum(1 for t in kill_times if first_call[row.workflow_id] < t < last_call[row.workflow_id])
        for row in runs
    ]
    assert len(kill_times) == KILLS, "the runs finished before the monkey was done; make them longer"
    assert min(restarts) >= 2, f"every run should be killed several times: {restarts}"
    assert max(kills_mid_calls) >= 2, f"the kills should fall between the runs' calls: {kills_mid_calls}"
    ends = Counter((e["kind"], e["workflow_id"], e["step_id"]) for e in executions if e["stage"] == "end")
    record_figures(
        "kills",
        {
            "runs": RUNS,
            "completed": sum(1 for s in statuses.values() if s.report is not None),
            "kills": len(kill_times),
            "kills_per_run": {"min": min(restarts), "max": max(restarts)},
            "kills_between_a_runs_calls": {"min": min(kills_mid_calls), "max": max(kills_mid_calls)},
            "worker_lives": len(workers),
            "finished_calls": len(ends),
            "calls_cut_off_and_run_again": sum(
                1 for e in executions if e["stage"] == "start" and e["kind"] in ("model", "search")
            )
            - len(ends),
            "finished_before_checkpoint_and_run_again": sum(1 for n in ends.values() if n > 1),
            "repeated_executions": len(reruns),
            "wall_seconds": round(elapsed, 1),
        },
    )
