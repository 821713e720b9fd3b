"""The HTTP API's progress stream: how soon a submitted run's first status arrives, and how many followers
one API process serves without losing an event.

A worker and `deep-research serve --no-worker` run as subprocesses on one SQLite database, offline models
with no pacing. (1) With the worker warm, a client POSTs /runs and opens the run's event stream at once;
latency is the time from the POST to the first `status` event. (2) 200 clients follow runs at once (40
runs, 5 followers each) over one API process; each must receive every status its run published, numbered
1..N with no gap and no repeat, N the run's final sequence, and the counts are printed.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from pathlib import Path

import httpx2
from _common import Figure, console, quick, report

from research_agent.settings import default_data_dir
from tests._api_server import TOKEN, auth, start_api
from tests._process import QUESTIONS, kill_all, start_worker, stop

FOLLOWERS_PER_RUN = 5


def environment(root: Path) -> dict[str, str]:
    return {
        "RESEARCH_ENV_FILE": "/dev/null",
        "RESEARCH_DATA_DIR": str(root),
        "RESEARCH_INDEX_DIR": str(default_data_dir() / "indexes"),
        "RESEARCH_DATABASE_URL": f"sqlite:///{root / 'api.sqlite'}",
        "RESEARCH_OFFLINE": "true",
        "RESEARCH_OFFLINE_DELAY": "0",
        "RESEARCH_LOG_LEVEL": "ERROR",
        "RESEARCH_API_TOKEN": TOKEN,
    }


async def first_event_after_submit(client: httpx2.AsyncClient, run_id: str, question: str) -> float:
    """Seconds from the POST that submits `run_id` to its first status event on the stream."""
    start = time.perf_counter()
    answer = await client.post("/runs", json={"question": question, "run_id": run_id})
    assert answer.status_code == 201, answer.text
    async with client.sse(f"/runs/{run_id}/events") as source:
        async for event in source:
            if event.event == "status":
                return time.perf_counter() - start
    raise AssertionError(f"the stream of {run_id} ended without a status event")


async def follow(client: httpx2.AsyncClient, run_id: str) -> tuple[list[int], int]:
    """The status ids one follower received, and the run's final sequence (from the `end` event)."""
    ids: list[int] = []
    async with client.sse(f"/runs/{run_id}/events") as source:
        async for event in source:
            if event.event == "status":  # its id is "N", or "N.T" once the report's text has begun
                ids.append(int(event.id.partition(".")[0]))
            elif event.event == "end":
                return ids, int(json.loads(event.data)["sequence"])
    raise AssertionError(f"the stream of {run_id} ended without an end event")


async def latency_trials(url: str, trials: int) -> list[float]:
    async with httpx2.AsyncClient(base_url=url, headers=auth(), timeout=60) as client:
        await follow(client, (await client.post("/runs", json={"question": QUESTIONS[0]})).json()["run_id"])
        samples = []
        for trial in range(trials):
            samples.append(await first_event_after_submit(client, f"latency-{trial}", QUESTIONS[trial % 10]))
            await follow(client, f"latency-{trial}")  # one run at a time: the worker is idle at each submit
        return samples


async def many_followers(url: str, runs: int) -> tuple[int, int, int, float]:
    """(followers, status events expected, received, seconds) for `runs` runs of FOLLOWERS_PER_RUN each."""
    limits = httpx2.Limits(max_connections=runs * FOLLOWERS_PER_RUN + 10)
    async with httpx2.AsyncClient(base_url=url, headers=auth(), timeout=300, limits=limits) as client:
        start = time.perf_counter()
        run_ids = []
        for i in range(runs):
            answer = await client.post("/runs", json={"question": QUESTIONS[i % 10], "run_id": f"many-{i}"})
            assert answer.status_code == 201, answer.text
            run_ids.append(answer.json()["run_id"])
        results = await asyncio.gather(
            *(follow(client, run_id) for run_id in run_ids for _ in range(FOLLOWERS_PER_RUN))
        )
        took = time.perf_counter() - start
    expected = sum(final for _, final in results)
    received = sum(len(ids) for ids, _ in results)
    wrong = [ids for ids, final in results if ids != list(range(1, final + 1))]
    assert not wrong, f"{len(wrong)} followers got a gap or a repeat, e.g. {wrong[0]}"
    return len(results), expected, received, took


def main() -> None:
    trials = 5 if quick() else 20
    runs = 40
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        env = environment(root)
        worker = start_worker(env, root)
        api = start_api(env, root)
        try:
            latencies = asyncio.run(latency_trials(api.url, trials))
            followers, expected, received, took = asyncio.run(many_followers(api.url, runs))
        finally:
            stop(api.process, timeout=30)
            kill_all([worker])
    console.print(
        f"{followers} followers of {runs} runs on one API process: {expected} status events expected, "
        f"{received} received, every follower's ids 1..N once each ({took:.1f} s)"
    )
    report(
        "api",
        [
            Figure("submit → first status event (warm worker)", "s", latencies, target="≤0.2 s"),
            Figure(
                f"{followers} followers at once: events received / expected",
                "",
                [received / expected],
                target="1 (none lost)",
                extra={"followers": followers, "runs": runs, "expected": expected, "received": received},
            ),
            Figure(f"{followers} followers: all {runs} runs submitted → every follower ended", "s", [took]),
        ],
    )


if __name__ == "__main__":
    main()
