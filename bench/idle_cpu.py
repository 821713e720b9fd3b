"""An idle worker's CPU beside raw DBOS's, and the latencies the slower idle polling must not cost (issue 21).

- Idle CPU: `deep-research worker` and a raw DBOS 3.4 process with the same two queues (research, search;
  DBOS's default polling), each alone, idle for a window after start-up; CPU seconds from /proc.
- Start latency: a run submitted by another process (a client, as the CLI, UI and API do) while the
  worker idles, until a worker dequeues it (DBOS's `created_at` → `dequeued_at`); beside the same for a
  no-op workflow on the raw DBOS process.
- Child result latency: a workflow enqueues a child on the `search` queue and waits for its result as a run
  does (`RESULT_POLL_INTERVAL`): from the child's last instruction to the parent holding its result.

Run as `python bench/idle_cpu.py`; `--raw-worker URL` is the raw DBOS process it starts itself.
"""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import Figure, bench_settings, quick, report

RESEARCH_QUEUE, SEARCH_QUEUE = "research", "search"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds process `pid` has used (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def raw_worker(url: str) -> None:
    """A raw DBOS process: the same queues, DBOS's defaults otherwise, one no-op workflow."""
    from dbos import DBOS

    DBOS(config={"name": "raw-dbos", "system_database_url": url})

    @DBOS.workflow(name="noop")
    def noop() -> None:
        return None

    DBOS.launch()
    DBOS.register_queue(RESEARCH_QUEUE, worker_concurrency=4)
    DBOS.register_queue(SEARCH_QUEUE, global_concurrency=8, limiter={"limit": 30, "period": 1.0})
    print("ready", flush=True)
    sys.stdin.read()  # until the bench closes our stdin


def _wait_ready(process: subprocess.Popen[str], stream: str, word: str) -> None:
    pipe = process.stderr if stream == "stderr" else process.stdout
    assert pipe is not None
    for line in pipe:
        if word in line:
            return
    raise RuntimeError(f"process {process.pid} exited before it was ready")


def start_ours(root: Path, url: str) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "RESEARCH_ENV_FILE": os.devnull,
        "RESEARCH_DATA_DIR": str(root / "data"),
        "RESEARCH_DATABASE_URL": url,
        "RESEARCH_OFFLINE": "true",
        "RESEARCH_OFFLINE_DELAY": "0",
        "RESEARCH_LOG_LEVEL": "ERROR",
        "RESEARCH_INDEX_DIR": str(bench_settings(root, url).index_dir),  # built once, shared
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "research_agent", "worker"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    _wait_ready(process, "stderr", "search indexes ready")  # start-up work done
    return process


def start_raw(url: str) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, __file__, "--raw-worker", url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    _wait_ready(process, "stdout", "ready")
    return process


def idle_cpu(process: subprocess.Popen[str], seconds: float) -> float:
    time.sleep(2)  # start-up work done (recovery, index preload)
    before = cpu_seconds(process.pid)
    time.sleep(seconds)
    return cpu_seconds(process.pid) - before


def start_latencies(url: str, submit: object, n: int) -> list[float]:
    """Submit `n` workflows, each after an idle pause, and time each from before its submit until a
    worker has taken it (its status no longer ENQUEUED), reading every 5 ms. DBOS's own dequeue stamp has
    whole seconds on SQLite before Python 3.12, too coarse for this."""
    from dbos import DBOSClient

    client = DBOSClient(system_database_url=url)
    samples = []
    try:
        for _ in range(n):
            time.sleep(random.uniform(0.4, 1.2))  # idle, at a random point of the polling cycle
            start = time.perf_counter()
            workflow_id = submit()  # type: ignore[operator]
            while True:
                rows = client.list_workflows(workflow_ids=[workflow_id], load_input=False, load_output=False)
                if rows and rows[0].status != "ENQUEUED":
                    samples.append(time.perf_counter() - start)
                    break
                if time.perf_counter() - start > 30:
                    raise TimeoutError(f"{workflow_id} was not started in 30 s")
                time.sleep(0.005)
            while client.list_workflows(workflow_ids=[workflow_id], status=["PENDING"], load_input=False):
                time.sleep(0.02)  # let it finish: the next sample starts from an idle worker
    finally:
        client.destroy()
    return samples


def child_latencies(root: Path, n: int) -> list[float]:
    from dbos import DBOS

    from research_agent.runtime import worker
    from research_agent.workflows import RESULT_POLL_INTERVAL

    @DBOS.workflow()
    async def timed_child() -> float:
        return time.time()  # the child's result is written right after this

    @DBOS.workflow()
    async def waiting_parent() -> float:
        handle = await DBOS.enqueue_workflow_async(SEARCH_QUEUE, timed_child)
        written = await handle.get_result(polling_interval_sec=RESULT_POLL_INTERVAL)
        return time.time() - written

    settings = bench_settings(root, f"sqlite:///{root / 'child.sqlite'}")
    with worker(settings):
        asyncio.run(waiting_parent())  # warm-up
        return [asyncio.run(waiting_parent()) for _ in range(n)]


def main() -> None:
    from research_agent.client import ResearchClient
    from research_agent.options import resolve_options

    window = 5.0 if quick() else 10.0
    trials = 1 if quick() else 3
    latency_n = 6 if quick() else 15
    ours_cpu: list[float] = []
    raw_cpu: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for trial in range(trials):  # taking turns, so a busy minute on the machine hits both
            raw_url = f"sqlite:///{root / f'raw-{trial}.sqlite'}"
            from research_agent.database import check_database

            check_database(bench_settings(root, raw_url))  # WAL, as ours
            raw = start_raw(raw_url)
            try:
                raw_cpu.append(idle_cpu(raw, window))
            finally:
                raw.communicate(timeout=30)
            url = f"sqlite:///{root / f'ours-{trial}.sqlite'}"
            ours = start_ours(root, url)
            try:
                ours_cpu.append(idle_cpu(ours, window))
            finally:
                ours.terminate()
                ours.wait(timeout=60)

        raw_url = f"sqlite:///{root / 'raw-latency.sqlite'}"
        raw = start_raw(raw_url)
        try:
            from dbos import DBOSClient, WorkflowHandle

            raw_client = DBOSClient(system_database_url=raw_url)

            def submit_raw() -> str:
                handle: WorkflowHandle[None] = raw_client.enqueue(
                    {"workflow_name": "noop", "queue_name": RESEARCH_QUEUE}
                )
                return handle.workflow_id

            raw_latency = start_latencies(raw_url, submit_raw, latency_n)
            raw_client.destroy()
        finally:
            raw.communicate(timeout=30)
        url = f"sqlite:///{root / 'ours-latency.sqlite'}"
        ours = start_ours(root, url)
        try:
            settings = bench_settings(root, url)
            with ResearchClient(settings) as client:
                options, _ = resolve_options(settings)
                ours_latency = start_latencies(
                    url, lambda: client.submit("Compare the economies of Chile and Peru", options), latency_n
                )
        finally:
            ours.terminate()
            ours.wait(timeout=60)
        child = child_latencies(root, 20 if quick() else 50)

    per10 = 10 / window
    ours_cpu = [c * per10 for c in ours_cpu]
    raw_cpu = [c * per10 for c in raw_cpu]
    ratio = [o / r for o, r in zip(ours_cpu, raw_cpu, strict=True)]
    report(
        "idle_cpu",
        [
            Figure("idle worker, CPU per 10 s", "s", ours_cpu, "≤1.5× raw DBOS"),
            Figure("raw DBOS idle, same queues, CPU per 10 s", "s", raw_cpu, "baseline"),
            Figure("ratio ours / raw DBOS", "×", ratio, "≤1.5×"),
            Figure("run start latency (submit → dequeued) p50", "s", ours_latency, "≤0.1 s"),
            Figure(
                "run start latency p95",
                "s",
                [sorted(ours_latency)[round(0.95 * (len(ours_latency) - 1))]],
                "≤0.1 s",
            ),
            Figure("raw DBOS start latency (default 1 s polling) p50", "s", raw_latency, "baseline"),
            Figure("child result seen after written p50", "s", child, "≤0.05 s"),
            Figure("child result p95", "s", [sorted(child)[round(0.95 * (len(child) - 1))]], "≤0.05 s"),
        ],
    )


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--raw-worker":
        raw_worker(sys.argv[2])
    else:
        main()
