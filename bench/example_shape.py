"""A warm research of 4 searches beside DBOS's example app rebuilt in our own code, and CPU per offline run
(issue 21).

- Ours: a warm worker in this process, the offline question whose plan has 4 searches (the example's
  shape), no pacing; wall time from submit to the completed status, and the part of it outside the phases'
  own work: the wall time not covered by any of the run's model requests, searches or page reads (the
  union of those recorded steps' intervals, from DBOS's millisecond step timestamps, over the run and its
  child workflows). The target is that part at most the example's whole warm run.
- The example's shape on raw DBOS 3.4 (`--raw`, a process of its own, SQLite WAL + synchronous=NORMAL like
  ours): a workflow that publishes a status event per phase, runs a DBOS-wrapped planning agent, starts one
  child workflow per search (each a DBOS-wrapped search agent), waits for them, and runs a DBOS-wrapped
  analysis agent; every model is an instant `FunctionModel`. Written here from the example's description,
  not copied.
- CPU per offline run: runs back to back in the warm worker (the client polling slowly, so its own CPU is
  small), process CPU divided by runs; with a sampling profile of where that CPU goes, by package.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

from _common import Figure, bench_settings, quick, raw_dbos_launched, report
from dbos import DBOS
from pydantic import BaseModel
from pydantic_ai import Agent
from pydantic_ai.durable_exec.dbos import DBOSDurability
from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart, ToolCallPart
from pydantic_ai.models.function import AgentInfo, FunctionModel

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
EXAMPLE_SHAPE = "Compare the economies of Chile and Peru"  # the offline planner gives it 4 searches


class SearchPlan(BaseModel):
    queries: list[str]


def _answer(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    """An instant model: the structured output when one is asked for, else a line of text."""
    if info.output_tools:
        tool = info.output_tools[0]
        if tool.name.endswith("SearchPlan") or "queries" in json.dumps(tool.parameters_json_schema):
            args: dict[str, object] = {"queries": ["Chile GDP", "Peru GDP", "Chile exports", "Peru exports"]}
        else:
            args = {"response": "a finding"}
        return ModelResponse(parts=[ToolCallPart(tool.name, args)])
    return ModelResponse(parts=[TextPart("An answer with citations [1].")])


planner = Agent(
    FunctionModel(_answer), name="example_planner", output_type=SearchPlan, capabilities=[DBOSDurability()]
)
searcher = Agent(FunctionModel(_answer), name="example_searcher", capabilities=[DBOSDurability()])
analyst = Agent(FunctionModel(_answer), name="example_analyst", capabilities=[DBOSDurability()])


@DBOS.workflow()
async def example_search(query: str) -> str:
    return (await searcher.run(f"Search for {query}")).output


@DBOS.workflow()
async def example_research(question: str) -> str:
    await DBOS.set_event_async("status", "planning")
    plan = (await planner.run(question)).output
    await DBOS.set_event_async("status", "searching")
    handles = [await DBOS.start_workflow_async(example_search, query) for query in plan.queries]
    findings = [await handle.get_result() for handle in handles]
    await DBOS.set_event_async("status", "analyzing")
    report = (await analyst.run("\n".join(findings))).output
    await DBOS.set_event_async("status", "done")
    return report


def raw_example(root: Path, trials: int) -> None:
    """The example's shape on raw DBOS; prints the wall times and CPU per run as JSON."""
    with raw_dbos_launched(root, "example-shape"):
        asyncio.run(example_research("warm up"))
        walls = []
        cpu = time.process_time()
        for _ in range(trials):
            start = time.perf_counter()
            asyncio.run(example_research(EXAMPLE_SHAPE))
            walls.append(time.perf_counter() - start)
        cpu_per_run = (time.process_time() - cpu) / trials
    print(json.dumps({"wall": walls, "cpu": cpu_per_run}))


class SamplingProfile:
    """Every 5 ms, the package of the innermost frame of each busy thread (a cheap profile of all threads)."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="bench-profiler", daemon=True)

    def _sample(self) -> None:
        me = threading.get_ident()
        while not self._stop.wait(0.005):
            for ident, frame in sys._current_frames().items():
                if ident == me or frame.f_code.co_name in ("wait", "select", "_worker", "sleep", "poll"):
                    continue
                self.counts[_package_of(frame.f_code.co_filename, frame.f_code.co_name)] += 1

    def __enter__(self) -> SamplingProfile:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def thread_cpu() -> dict[str, float]:
    """CPU seconds of each live thread of this process, by role (numbered threads of one role summed)."""
    names = {thread.native_id: thread.name for thread in threading.enumerate()}
    found: dict[str, float] = {}
    for task in Path("/proc/self/task").iterdir():
        try:
            fields = (task / "stat").read_text().rpartition(")")[2].split()
        except FileNotFoundError:  # ended meanwhile
            continue
        name = names.get(int(task.name), "other")
        role = re.sub(r"^Thread-\d+ \((.*)\)$", r"\1", name)
        role = re.sub(r"[-_]?\d+$", "", role)
        found[role] = found.get(role, 0.0) + (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return found


def _package_of(filename: str, function: str) -> str:
    if "site-packages/" in filename:
        return filename.split("site-packages/")[1].split("/")[0]
    if "research_agent/" in filename:
        return "research_agent/" + filename.split("research_agent/")[1]
    return f"python: {Path(filename).name}:{function}"


PHASE_WORK_STEPS = ("search", "read_page", "resolve_redirects")
"""Recorded steps that are a phase's own work, besides model requests (named `<agent>__model.request...`)."""


def phase_work_seconds(database: Path, run_id: str) -> float:
    """How much of `run_id`'s wall time its model requests, searches and page reads cover (their union)."""
    with sqlite3.connect(database) as connection:
        rows = connection.execute(
            "SELECT function_name, started_at_epoch_ms, completed_at_epoch_ms FROM operation_outputs"
            " WHERE (workflow_uuid = ? OR workflow_uuid LIKE ?) AND completed_at_epoch_ms IS NOT NULL",
            (run_id, f"{run_id}-%"),
        ).fetchall()
    spans = sorted(
        (start, end) for name, start, end in rows if "model.request" in name or name in PHASE_WORK_STEPS
    )
    covered, reach = 0, 0
    for start, end in spans:
        if end > reach:
            covered += end - max(start, reach)
            reach = end
    return covered / 1000


def ours(
    root: Path, trials: int, cpu_runs: int
) -> tuple[list[float], list[float], float, Counter[str], dict[str, float]]:
    from research_agent.client import ResearchClient
    from research_agent.options import resolve_options
    from research_agent.runtime import worker
    from research_agent.schema import Phase

    database = root / "ours.sqlite"
    settings = bench_settings(root, f"sqlite:///{database}")
    walls, outside = [], []
    with worker(settings), ResearchClient(settings) as client:
        options, _ = resolve_options(settings)
        client.wait(client.submit(EXAMPLE_SHAPE, options), poll_interval=0.01)  # warm-up
        for _ in range(trials):
            start = time.perf_counter()
            run_id = client.submit(EXAMPLE_SHAPE, options)
            final = client.wait(run_id, poll_interval=0.005)
            walls.append(time.perf_counter() - start)
            assert final.phase is Phase.COMPLETED and len(final.searches) == 4, final
            outside.append(walls[-1] - phase_work_seconds(database, run_id))
        with SamplingProfile() as profile:
            before = thread_cpu()
            cpu = time.process_time()
            run_ids = [client.submit(EXAMPLE_SHAPE, options) for _ in range(cpu_runs)]
            for run_id in run_ids:
                assert client.wait(run_id, poll_interval=0.5).phase is Phase.COMPLETED
            cpu_per_run = (time.process_time() - cpu) / cpu_runs
            after = thread_cpu()
    by_thread = {role: (after[role] - before.get(role, 0)) / cpu_runs for role in after}
    return walls, outside, cpu_per_run, profile.counts, by_thread


def main() -> None:
    trials = 5 if quick() else 15
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        if "--raw" in sys.argv:
            raw_example(root, trials)
            return
        walls, outside, cpu_per_run, profile, by_thread = ours(root, trials, 8 if quick() else 20)
        done = subprocess.run(
            [sys.executable, __file__, "--raw", *sys.argv[1:]], capture_output=True, text=True, check=True
        )
        raw = json.loads(done.stdout.strip().splitlines()[-1])
    report(
        "example_shape",
        [
            Figure("warm research, 4 searches (ours)", "s", walls, ""),
            Figure("the example's shape on raw DBOS", "s", raw["wall"], "baseline"),
            Figure(
                "ours: time outside its phases' own work",
                "s",
                outside,
                f"≤ the example's whole run ({statistics.median(raw['wall']):.3g} s)",
            ),
            Figure("ratio ours / example", "×", [w / min(raw["wall"]) for w in walls], ""),
            Figure("CPU per offline run (no pacing)", "s", [cpu_per_run], "≤0.15 s"),
            Figure("CPU per run, the example on raw DBOS", "s", [raw["cpu"]], "baseline"),
        ],
    )
    print("CPU per run by thread (s):")
    for role, seconds in sorted(by_thread.items(), key=lambda item: -item[1]):
        if seconds >= 0.002:
            print(f"  {seconds:6.3f}  {role}")
    total = sum(profile.values()) or 1
    print(
        "where the runs spent their time, by package (samples of threads not sleeping, blocked in a query included):"
    )
    for package, count in profile.most_common(12):
        print(f"  {100 * count / total:5.1f} %  {package}")


if __name__ == "__main__":
    main()
