"""CI's slice of the evaluation: a few cases of every kind, run by `deep-research eval` as a user runs it,
held to the same targets as the whole dataset (`make eval` runs all of it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from research_agent.evaluation.figures import TARGETS, evaluator_averages, shortfalls
from research_agent.evaluation.runner import load_report

from ._process import cli

pytestmark = pytest.mark.slow  # a slice of the evaluation dataset as real runs: left out of `make test-fast`

SUBSET = [
    "fact-chile-capital",
    "comparison-chile-peru-exports",
    "list-kenya-agricultural-products",
    "paraphrase-canada-seat-of-government",
    "unanswerable-wakanda-capital",
    "pydoc-json-dumps",
]


def test_a_subset_of_the_dataset_meets_the_quality_targets(isolated_env: dict[str, str], tmp_path: Path):
    done = cli(
        ["eval", "--model", "offline", "--cases", ",".join(SUBSET), "--results", str(tmp_path / "results")],
        isolated_env,
        tmp_path,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr
    assert "Evaluation Summary" in done.stdout and "Averages" in done.stdout  # pydantic-evals' table
    assert "LLM judge skipped: anthropic:claude-sonnet-5-5 needs ANTHROPIC_API_KEY" in done.stderr

    [results] = (tmp_path / "results").glob("*-offline.json")
    report = load_report(results)
    assert sorted(case.name for case in report.cases) == sorted(SUBSET) and not report.failures
    assert all(case.attributes["run_id"].startswith("eval-") for case in report.cases)
    averages = evaluator_averages(report)
    below = {name: averages.get(name) for name, target in TARGETS.items() if averages.get(name, 0) < target}
    assert not below, [s for s in shortfalls(report, list(below))]
    assert averages["report_length"] == 1.0

    # The runs are real, durable runs in the evaluation's own database: `show` finds them there.
    database = {
        "RESEARCH_DATABASE_URL": f"sqlite:///{Path(isolated_env['RESEARCH_DATA_DIR']) / 'evals.sqlite'}"
    }
    shown = cli(
        ["show", report.cases[0].attributes["run_id"], "--json"], {**isolated_env, **database}, tmp_path
    )
    assert shown.returncode == 0 and '"phase": "COMPLETED"' in shown.stdout

    again = cli(
        [
            *("eval", "--model", "offline", "--cases", "pydoc-json-dumps"),
            *("--baseline", str(results), "--results", str(tmp_path / "results")),
        ],
        isolated_env,
        tmp_path,
        timeout=240,
    )
    assert again.returncode == 0, again.stderr
    assert f"Against {report.name}" in again.stdout and "fact_recall" in again.stdout
