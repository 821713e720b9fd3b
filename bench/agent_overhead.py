"""One agent run with pydantic-ai's TestModel: plain, and made durable with DBOSDurability, and the ratio.

The durable agent runs inside a DBOS workflow (as ours do), so each model request and tool call is a
checkpointed step; the plain agent runs the same prompt with no checkpoints. Both are measured in the same
process, alternately, so the ratio compares like with like.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
from pathlib import Path

from _common import Figure, bench_settings, launched, quick, report
from dbos import DBOS
from pydantic_ai import Agent
from pydantic_ai.durable_exec.dbos import DBOSDurability
from pydantic_ai.models.test import TestModel

MODEL = TestModel(call_tools="all")


def lookup_population(country: str) -> str:
    """A tool, so the run has a tool call between two model requests, as a search has."""
    return f"{country}: 19 million"


plain_agent = Agent(MODEL, name="plain", tools=[lookup_population])
durable_agent = Agent(MODEL, name="durable", tools=[lookup_population], capabilities=[DBOSDurability()])


@DBOS.workflow()
async def durable_run(prompt: str) -> str:
    result = await durable_agent.run(prompt)
    return result.output


async def _time(coroutine_factory, repeats: int) -> float:  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    start = loop.time()
    for _ in range(repeats):
        await coroutine_factory()
    return (loop.time() - start) / repeats * 1000


async def measure(trials: int, repeats: int) -> tuple[list[float], list[float]]:
    plain: list[float] = []
    durable: list[float] = []
    await plain_agent.run("warm up")
    await durable_run("warm up")
    for _ in range(trials):
        plain.append(await _time(lambda: plain_agent.run("How many people live in Chile?"), repeats))
        durable.append(await _time(lambda: durable_run("How many people live in Chile?"), repeats))
    return plain, durable


def main() -> None:
    trials, repeats = (3, 10) if quick() else (7, 30)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        with launched(bench_settings(root, f"sqlite:///{root / 'agent.sqlite'}")):
            plain, durable = asyncio.run(measure(trials, repeats))
    ratios = [d / p for p, d in zip(plain, durable, strict=True)]
    report(
        "agent_overhead",
        [
            Figure("plain agent run (TestModel)", "ms", plain),
            Figure("DBOSDurability agent run, SQLite WAL", "ms", durable),
            Figure(
                "ratio durable / plain",
                "×",
                ratios,
                target="≤3×",
                extra={"median_of_ratios": statistics.median(ratios)},
            ),
        ],
    )


if __name__ == "__main__":
    main()
