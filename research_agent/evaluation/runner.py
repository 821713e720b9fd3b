"""Run an evaluation: every case as a real, durable `deep_research` run, then the evaluators, then files.

The runs go to their own SQLite database (`evals.sqlite` in the data directory), executed by an
in-process worker with executor id `evals`, so an evaluation never mixes with a person's runs or waits
behind their worker; each run can still be inspected afterwards with `deep-research show` pointed at that
database. Results are written as pydantic-evals `EvaluationReport` JSON, which `--baseline` reads back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from pydantic_evals import increment_eval_metric, set_eval_attribute
from pydantic_evals.evaluators import Evaluator
from pydantic_evals.reporting import EvaluationReport, EvaluationReportAdapter

from ..client import ResearchClient
from ..models import build_model
from ..options import InputError, batch_run_id, resolve_options
from ..providers import OFFLINE, ModelConfigError, missing_key
from ..runtime import worker
from ..schema import ResearchOptions, ResearchStatus
from ..settings import Settings
from .cases import ResearchDataset
from .evaluators import ReportJudge
from .expectations import Expectations

EVAL_EXECUTOR = "evals"
"""Executor id of the worker an evaluation runs in (its database is separate, so it never competes)."""
EVALS_DIR = Path(__file__).resolve().parents[2] / "evals"
"""`evals/` of the source tree: the dataset and, git-ignored, `results/`."""
DEFAULT_DATASET = EVALS_DIR / "dataset.yaml"
CASE_TIMEOUT = 900.0
"""Seconds one case's run may take before the case fails (real models on a slow day)."""

Report = EvaluationReport[str, ResearchStatus, Expectations]


def evaluation_settings(settings: Settings) -> Settings:
    """`settings` for an evaluation: its own SQLite database, and no demo pacing of offline requests."""
    database = (settings.data_dir / "evals.sqlite").resolve()
    return settings.model_copy(update={"database_url": f"sqlite:///{database}", "offline_delay": 0.0})


def evaluation_options(settings: Settings, model: str | None) -> ResearchOptions:
    """The options every case runs with: `model` for all three roles (`offline`: the built-in models;
    None: as a run would choose), searching the local corpus, whose locations the cases name."""
    if model and model != OFFLINE:
        roles = {"planner_model": model, "search_model": model, "analyst_model": model}
        settings = settings.model_copy(update=roles)
    offline = True if model == OFFLINE else (False if model else None)
    options, _ = resolve_options(settings, offline=offline, search_backend="corpus")
    return options


def judge_evaluators(
    settings: Settings, judge_model: str | None
) -> tuple[list[Evaluator[str, ResearchStatus, Expectations]], str]:
    """The LLM judge, when `judge_model` is set and its key is there, and a line saying which it is."""
    if not judge_model:
        return [], "LLM judge off (no judge model)"
    try:
        missing = missing_key(judge_model, settings)
    except ModelConfigError as error:
        raise InputError(f"judge model: {error}") from None
    if missing:
        return [], f"LLM judge skipped: {judge_model} needs {missing}"
    return [ReportJudge(model=build_model(judge_model, settings))], f"LLM judge: {judge_model}"


def _label(options: ResearchOptions) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    model = "offline" if options.offline else options.analyst_model.replace(":", "-").replace("/", "-")
    return f"{stamp}-{model}"


def run_evaluation(
    dataset: ResearchDataset,
    settings: Settings,
    options: ResearchOptions,
    *,
    extra_evaluators: Sequence[Evaluator[str, ResearchStatus, Expectations]] = (),
    concurrency: int = 4,
    label: str | None = None,
    progress: bool = False,
) -> Report:
    """Run every case of `dataset` as a `deep_research` run on an in-process worker and evaluate it.

    `settings` should come from `evaluation_settings`. Runs are named `eval-LABEL-q-HASH`, so rerunning
    with the same label reuses the runs that finished (a durable run is never repeated).
    """
    label = label or _label(options)
    cases = ResearchDataset(
        name=dataset.name or "deep-research",
        cases=dataset.cases,
        evaluators=[*dataset.evaluators, *extra_evaluators],
    )
    with worker(settings, EVAL_EXECUTOR), ResearchClient(settings) as client:

        async def research(question: str) -> ResearchStatus:
            run_id = client.submit(question, options, f"eval-{label}-{batch_run_id(question)}")
            set_eval_attribute("run_id", run_id)
            status = await asyncio.to_thread(client.wait, run_id, timeout=CASE_TIMEOUT)
            increment_eval_metric("searches", len(status.searches))
            increment_eval_metric("requests", status.usage.requests)
            increment_eval_metric("tokens", status.usage.total_tokens)
            increment_eval_metric("words", len(status.report.body.split()) if status.report else 0)
            return status

        return cases.evaluate_sync(
            research,
            name=label,
            task_name="deep_research",
            max_concurrency=concurrency,
            progress=progress,
            metadata={"model": "offline" if options.offline else options.analyst_model},
        )


def save_report(report: Report, directory: Path) -> Path:
    """Write `report` as JSON to `directory/NAME.json` and return the path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{report.name}.json"
    path.write_bytes(EvaluationReportAdapter.dump_json(report, indent=1))
    return path


def load_report(path: Path) -> EvaluationReport:
    """A report written by `save_report` (outputs come back as plain JSON data)."""
    try:
        return EvaluationReportAdapter.validate_json(path.read_bytes())
    except FileNotFoundError:
        raise InputError(f"no such results file: {path}") from None
    except ValueError as error:
        raise InputError(f"{path} is not an evaluation results file: {str(error).splitlines()[0]}") from None
