"""Fixtures of the chaos suite: reference reports from uninterrupted runs, and the environment of a worker."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from research_agent.client import ResearchClient
from research_agent.options import resolve_options
from research_agent.schema import Phase, ResearchReport

from .._process import settings_from_env, start_worker, stop
from ._harness import QUESTIONS


@pytest.fixture(scope="session")
def reference_reports(tmp_path_factory: pytest.TempPathFactory, index_dir: Path) -> dict[str, ResearchReport]:
    """The report of each chaos question, from one worker that nothing disturbs."""
    root = tmp_path_factory.mktemp("reference")
    env = {
        "RESEARCH_DATA_DIR": str(root),
        "RESEARCH_INDEX_DIR": str(index_dir),
        "RESEARCH_DATABASE_URL": f"sqlite:///{root / 'reference.sqlite'}",
        "RESEARCH_OFFLINE": "true",
    }
    worker = start_worker(env, root)
    try:
        settings = settings_from_env(env)
        with ResearchClient(settings) as client:
            options, _ = resolve_options(settings)
            run_ids = [client.submit(q, options, run_id=f"reference-{i}") for i, q in enumerate(QUESTIONS)]
            finals = [client.wait(run_id, timeout=300) for run_id in run_ids]
    finally:
        stop(worker)
    assert all(f.phase is Phase.COMPLETED and f.report for f in finals), [f.error for f in finals]
    return {f.question: f.report for f in finals if f.report}


@pytest.fixture
def chaos_env(isolated_env: dict[str, str], tmp_path: Path) -> Iterator[dict[str, str]]:
    """A worker on a fresh SQLite file, offline and unpaced, logging every real execution."""
    yield {
        **isolated_env,
        "RESEARCH_DATABASE_URL": f"sqlite:///{tmp_path / 'chaos.sqlite'}",
        "RESEARCH_OFFLINE": "true",
        "RESEARCH_EXECUTION_LOG": str(tmp_path / "executions.jsonl"),
    }
