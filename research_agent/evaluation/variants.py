"""The same cases under several values of one run option (`deep-research eval --vary depth=1,2,3`): per case,
fact recall, source recall, citation precision, model requests and tokens side by side, so what a deeper
research (issue 22: rounds, long reports) gains and costs is seen case by case."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from pydantic_evals.reporting import EvaluationReport
from rich.console import Console
from rich.table import Table

from ..options import InputError
from ..schema import ResearchOptions

FIGURES = ("fact_recall", "source_recall@10", "citation_precision", "requests", "tokens")
"""What the table shows per variant: three evaluators, two metrics (runner.py counts them per case)."""


def parse_vary(text: str, options: ResearchOptions) -> tuple[str, list[ResearchOptions]]:
    """`FIELD=V1,V2,...` as the option's name and one set of options per value (each validated), or
    `InputError` naming what to write."""
    name, _, values = text.partition("=")
    name = name.strip()
    if name not in ResearchOptions.model_fields or not values.strip():
        known = ", ".join(f for f in ("depth", "breadth", "report") if f in ResearchOptions.model_fields)
        raise InputError(
            f"--vary takes OPTION=V1,V2 with a run option ({known}, ...), e.g. --vary depth=1,2,3"
        )
    variants = []
    for value in (v.strip() for v in values.split(",") if v.strip()):
        try:
            variants.append(ResearchOptions.model_validate({**options.model_dump(), name: value}))
        except ValidationError as error:
            raise InputError(f"--vary {name}={value}: {error.errors()[0]['msg']}") from None
    return name, variants


def case_figures(report: EvaluationReport[Any, Any, Any]) -> dict[str, dict[str, float]]:
    """case -> figure -> value, for `FIGURES` (a figure an evaluator did not give is left out)."""
    found: dict[str, dict[str, float]] = {}
    for case in report.cases:
        values = {name: float(result.value) for name, result in {**case.scores, **case.assertions}.items()}
        values |= {name: float(value) for name, value in case.metrics.items()}
        found[case.name] = {name: values[name] for name in FIGURES if name in values}
    return found


def _shown(name: str, value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if name in ("requests", "tokens") else f"{value:.2f}"


def print_variants(
    option: str, labels: list[str], reports: list[EvaluationReport[Any, Any, Any]], console: Console
) -> None:
    """One row per case, one column per figure and variant; then the averages."""
    figures = [case_figures(report) for report in reports]
    table = Table("case", title=f"Per case, by {option}")
    for figure in FIGURES:
        for label in labels:
            table.add_column(f"{figure}\n{option}={label}", justify="right")
    cases = list(dict.fromkeys(name for found in figures for name in found))
    for case in cases:
        row = [case]
        for figure in FIGURES:
            row += [_shown(figure, found.get(case, {}).get(figure)) for found in figures]
        table.add_row(*row)
    averages = ["average"]
    for figure in FIGURES:
        for found in figures:
            values = [v[figure] for v in found.values() if figure in v]
            averages.append(_shown(figure, sum(values) / len(values) if values else None))
    table.add_row(*averages, style="bold")
    console.print(table)
