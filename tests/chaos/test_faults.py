"""Runs under injected faults: 429s (with and without Retry-After), 5xx, timeouts and garbled output.

One worker subprocess runs N offline researches while its model and search calls fail at the configured
rates (faults.py). Every run must complete with the report an undisturbed run writes, no finished call
may run twice, and every retry must come no sooner than the service asked.
"""

from __future__ import annotations

import subprocess
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest

from research_agent.client import ResearchClient
from research_agent.options import resolve_options
from research_agent.retries import INTERVAL_SECONDS, MAX_ATTEMPTS
from research_agent.schema import ResearchReport

from .._process import poll, read_executions, repeated_executions, settings_from_env, start_worker
from ._harness import (
    assert_reports_match,
    final_statuses,
    question_of,
    record_figures,
    scale,
    unfinished,
)

pytestmark = pytest.mark.chaos
RUNS = scale(ci=20, full=100)
RATES = {"429": 0.20, "5xx": 0.02, "timeout": 0.01, "malformed": 0.02}


def _attempts(executions: list[dict[str, Any]]) -> dict[tuple[str, int], list[dict[str, Any]]]:
    """Per (workflow, step) of a model request or search: its lines in order (start, fault, end)."""
    calls: dict[tuple[str, int], list[dict[str, Any]]] = defaultdict(list)
    for e in executions:
        calls[(str(e["workflow_id"]), int(e["step_id"]))].append(e)
    return calls


def _waits_before_retries(calls: dict[tuple[str, int], list[dict[str, Any]]]) -> list[tuple[float, float]]:
    """For every failed attempt that was retried: (seconds the retry came after, least it should have)."""
    waits = []
    for lines in calls.values():
        faults = [i for i, e in enumerate(lines) if e["kind"] == "fault" and e["stage"] != "malformed"]
        for number, index in enumerate(faults):
            fault = lines[index]
            later = [e for e in lines[index + 1 :] if e["kind"] != "fault"]
            if later:
                asked = fault.get("retry_after") or 0.0
                # The first failure of a step waits the interval, the next twice that, and so on.
                backoff = INTERVAL_SECONDS * 2**number
                waits.append((later[0]["at"] - fault["at"], asked + backoff))
    return waits


def test_every_run_completes_under_injected_faults(
    chaos_env: dict[str, str],
    tmp_path: Path,
    workers: list[subprocess.Popen[str]],
    reference_reports: dict[str, ResearchReport],
):
    env = {
        **chaos_env,
        "RESEARCH_WORKER_CONCURRENCY": "8",
        "RESEARCH_FAULT_RATE_429": str(RATES["429"]),
        "RESEARCH_FAULT_RATE_5XX": str(RATES["5xx"]),
        "RESEARCH_FAULT_RATE_TIMEOUT": str(RATES["timeout"]),
        "RESEARCH_FAULT_RATE_MALFORMED": str(RATES["malformed"]),
        "RESEARCH_FAULT_SEED": "9",
    }
    settings = settings_from_env(env)
    workers.append(start_worker(env, tmp_path))
    started = time.monotonic()
    with ResearchClient(settings) as client:
        options, _ = resolve_options(settings)
        run_ids = [client.submit(question_of(i), options, run_id=f"faults-{i}") for i in range(RUNS)]
        poll(lambda: not unfinished(client, run_ids), timeout=60 + 6 * RUNS, what=f"{RUNS} runs to finish")
        statuses = final_statuses(client, run_ids)
    elapsed = time.monotonic() - started
    executions = read_executions(env)

    assert_reports_match(statuses, reference_reports)
    assert not repeated_executions(executions)
    injected = Counter(str(e["stage"]) for e in executions if e["kind"] == "fault")
    assert injected["429"] and injected["5xx"], injected
    with_retry_after = sum(1 for e in executions if e["kind"] == "fault" and e.get("retry_after"))
    assert 0 < with_retry_after < injected["429"], "half of the 429s should say how long to wait"

    calls = _attempts([e for e in executions if e["kind"] in ("model", "search", "fault")])
    attempts = [sum(1 for e in lines if e["stage"] == "start") for lines in calls.values()]
    assert max(attempts) <= MAX_ATTEMPTS
    waits = _waits_before_retries(calls)
    early = [(waited, least) for waited, least in waits if waited < least]
    assert waits and not early, f"retries sooner than Retry-After and backoff allow: {early[:5]}"

    finished_calls = sum(1 for e in executions if e["kind"] in ("model", "search") and e["stage"] == "end")
    record_figures(
        "faults",
        {
            "runs": RUNS,
            "completed": sum(1 for s in statuses.values() if s.report is not None),
            "fault_rates": RATES,
            "calls": len(calls),
            "finished_calls": finished_calls,
            "injected_faults": dict(injected),
            "injected_429_with_retry_after": with_retry_after,
            "retries": len(waits),
            "most_attempts_of_one_call": max(attempts),
            "repeated_executions": len(repeated_executions(executions)),
            "wall_seconds": round(elapsed, 1),
        },
    )
