"""A program following a run over the API's progress stream while the worker is SIGKILLed mid-search and
the API process is SIGKILLed too: it reconnects with Last-Event-ID and sees the run finish, every status
exactly once, because the stream is read from what the database recorded, not from either process.
"""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path

import httpx
import pytest

from research_agent.client import ResearchClient

from ._api_server import TOKEN, Followed, auth, follow_to_end, start_api
from ._process import kill, poll, read_executions, repeated_executions, settings_from_env, start_worker, stop

pytestmark = [pytest.mark.crash, pytest.mark.slow]


def test_a_follower_sees_every_status_once_through_a_worker_kill_and_an_api_kill(
    crash_env: dict[str, str], tmp_path: Path, workers: list[subprocess.Popen[str]]
) -> None:
    env = {**crash_env, "RESEARCH_API_TOKEN": TOKEN}
    workers.append(start_worker(env, tmp_path))
    api = start_api(env, tmp_path)
    servers = [api.process]
    try:
        answer = httpx.post(
            f"{api.url}/runs",
            json={"question": "Compare the economies of Chile and Peru", "run_id": "api-crash"},
            headers=auth(),
        )
        assert answer.status_code == 201, answer.text

        followed = Followed()
        failures: list[BaseException] = []

        def follow() -> None:
            try:
                follow_to_end(api.url, "api-crash", timeout=150, followed=followed)
            except BaseException as error:  # reported by the test's thread
                failures.append(error)

        follower = threading.Thread(target=follow, daemon=True)
        follower.start()

        def searching_in_flight() -> bool:
            seen = any(status["phase"] == "SEARCHING" for _, status in followed.statuses)
            started = [e for e in read_executions(env) if e["kind"] == "model" and e["stage"] == "start"]
            return seen and any("-search-" in str(e["workflow_id"]) for e in started)

        poll(searching_in_flight, timeout=60, what="a search request in flight, seen by the follower")
        seen_before = len(followed.statuses)
        kill(workers[0])  # the run stops mid-search
        kill(api.process)  # and the follower's connection drops
        workers.append(start_worker(env, tmp_path))
        restarted = start_api(env, tmp_path, port=api.port)  # the same address: the follower reconnects
        servers.append(restarted.process)

        follower.join(timeout=150)
        assert not follower.is_alive() and not failures, failures
        assert followed.connections >= 2 and seen_before < len(followed.statuses)
        assert followed.end is not None and followed.end["phase"] == "COMPLETED", followed.end
        assert followed.ids == list(range(1, followed.end["sequence"] + 1)), followed.ids
        assert [status["sequence"] for _, status in followed.statuses] == followed.ids

        # Exactly what the run published, once each, and no finished search or model request ran twice.
        with ResearchClient(settings_from_env(env)) as client:
            published = client.published_statuses({"api-crash": -1})
        assert [status.sequence for _, _, status in published if status] == followed.ids
        assert repeated_executions(read_executions(env)) == {}
    finally:
        for process in servers:
            if process.poll() is None:
                stop(process, timeout=30)
