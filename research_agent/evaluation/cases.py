"""The evaluation dataset: what each case asks, what its report must contain, and how it is loaded.

A case's input is the question; its metadata (`Expectations`) names the facts the report must state and
the corpus locations the searches should retrieve. The output the evaluators judge is the run's final
`ResearchStatus`: plan, searches with their sources, report and citation check, as any client sees them.
"""

from __future__ import annotations

import fnmatch
from pathlib import Path

from pydantic_evals import Dataset

from ..schema import ResearchStatus
from .evaluators import DATASET_EVALUATORS
from .expectations import Expectations

ResearchDataset = Dataset[str, ResearchStatus, Expectations]
"""Cases ask a question (str), the task returns the run's final status, metadata is `Expectations`."""


def load_dataset(path: Path) -> ResearchDataset:
    """The dataset in `path` (YAML or JSON), with our evaluators known by name."""
    return ResearchDataset.from_file(path, custom_evaluator_types=DATASET_EVALUATORS)


def select_cases(dataset: ResearchDataset, pattern: str | None) -> ResearchDataset:
    """The cases whose name matches `pattern`: shell wildcards (`pydoc-*`), or a substring without them;
    several patterns may be given separated by commas. None keeps every case."""
    if not pattern:
        return dataset
    patterns = [p.strip() for p in pattern.split(",") if p.strip()]

    def wanted(name: str) -> bool:
        return any(fnmatch.fnmatchcase(name, p) if set(p) & set("*?[") else p in name for p in patterns)

    cases = [case for case in dataset.cases if case.name and wanted(case.name)]
    return ResearchDataset(name=dataset.name or "deep-research", cases=cases, evaluators=dataset.evaluators)
