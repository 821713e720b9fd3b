"""A worker told to stop (SIGTERM) finishes what it can within its grace period and hands back the rest.

Three paced runs go to one worker; the searches of two take every search slot, so the third waits on
the queue. SIGTERM arrives mid-search: the worker takes no new work, the two running runs finish within
the grace period, and the third goes back to the queue with nothing half-done: no step recorded as
failed, no run marked failed. The next worker finishes it with the report an undisturbed run writes.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from research_agent.client import ResearchClient
from research_agent.options import resolve_options
from research_agent.schema import Phase, ResearchReport

from .._process import poll, read_executions, settings_from_env, start_worker, stop, worker_output
from ._harness import assert_reports_match, checkpoint_reruns, final_statuses, record_figures

pytestmark = pytest.mark.chaos
QUESTION = "Compare the economies of Chile and Peru"
GRACE = 5


def _searches_running(client: ResearchClient) -> int:
    return len(client._client.list_workflows(name="run_search", status="PENDING", load_input=False))


def test_sigterm_finishes_running_work_and_hands_back_the_rest(
    chaos_env: dict[str, str],
    tmp_path: Path,
    workers: list[subprocess.Popen[str]],
    reference_reports: dict[str, ResearchReport],
):
    env = {
        **chaos_env,
        "RESEARCH_OFFLINE_DELAY": "0.4",
        "RESEARCH_SEARCH_CONCURRENCY": "8",  # two runs' four searches each
        "RESEARCH_SHUTDOWN_GRACE": str(GRACE),
    }
    settings = settings_from_env(env)
    stopping = start_worker(env, tmp_path)
    workers.append(stopping)
    with ResearchClient(settings) as client:
        options, _ = resolve_options(settings)
        run_ids = [client.submit(QUESTION, options, run_id=f"term-{i}") for i in range(2)]
        poll(lambda: _searches_running(client) == 8, timeout=60, what="two runs' searches to take every slot")
        run_ids.append(client.submit(QUESTION, options, run_id="term-2"))
        poll(
            lambda: client.status("term-2").phase is Phase.SEARCHING, timeout=60, what="the third run to wait"
        )
        signalled = time.monotonic()
        stop(stopping, timeout=GRACE + 30)
        stop_seconds = time.monotonic() - signalled
        poll(lambda: "worker stopped" in worker_output(stopping), timeout=10, what="the last line")
        said = worker_output(stopping)
        assert stopping.returncode == 0, said
        assert "Traceback" not in said and "WARNING" not in said, said
        assert f"worker stopping: running work has {GRACE} s to finish" in said
        assert "worker stopped; handed 1 unfinished runs" in said, said

        # Nothing half-done: finished runs are whole, the other is back on the queue, no step failed.
        before = final_statuses(client, run_ids)
        rows = {r.workflow_id: r for r in client._client.list_workflows(load_input=False, load_output=False)}
        assert [before[r].phase for r in run_ids[:2]] == [Phase.COMPLETED] * 2
        assert rows[run_ids[2]].status == "ENQUEUED" and not before[run_ids[2]].phase.finished
        assert not [w for w, row in rows.items() if row.status in ("PENDING", "ERROR")]
        failed_steps = [
            (w, step["function_name"], step["error"])
            for w in rows
            for step in client._client.list_workflow_steps(w)
            if step["error"] is not None
        ]
        assert not failed_steps

        workers.append(start_worker(env, tmp_path))
        poll(
            lambda: not client.finished(run_ids).keys() ^ set(run_ids), timeout=120, what="the runs to finish"
        )
        statuses = final_statuses(client, run_ids)
        reruns = checkpoint_reruns(client, read_executions(env))
    assert_reports_match(statuses, reference_reports)
    assert not reruns
    record_figures(
        "sigterm",
        {
            "runs": len(run_ids),
            "finished_within_grace": 2,
            "handed_back": 1,
            "grace_seconds": GRACE,
            "seconds_to_stop": round(stop_seconds, 1),
            "completed_after_restart": sum(s.phase is Phase.COMPLETED for s in statuses.values()),
            "repeated_executions": len(reruns),
        },
    )
