"""How `deep-research eval` shows a report: pydantic-evals' table, the figures against their targets, the
cases that fall short and why, and the difference from a baseline per evaluator."""

from __future__ import annotations

from typing import Any

from pydantic_evals.reporting import EvaluationReport
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..schema import without_controls
from .figures import TARGETS, compare, evaluator_averages, shortfalls


def _figure(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def print_report(
    report: EvaluationReport[Any, Any, Any],
    console: Console,
    baseline: EvaluationReport[Any, Any, Any] | None = None,
) -> None:
    """The per-case table with averages (a diff table against `baseline`), then the evaluator figures."""
    report.print(console=console, baseline=baseline, include_averages=True)
    averages = evaluator_averages(report)
    table = Table("evaluator", "average", "target", title="Evaluators over the cases each one judged")
    for name, value in averages.items():
        target = TARGETS.get(name)
        met = "" if target is None else (" ✔" if value >= target else " ✗")
        table.add_row(name, _figure(value), "" if target is None else f"≥ {target:g}{met}")
    console.print(table)
    if baseline is not None:
        diff = Table("evaluator", "baseline", "this run", "change", title=f"Against {baseline.name}")
        for name, before, after in compare(report, baseline):
            change = "" if before is None or after is None else f"{after - before:+.3f}"
            diff.add_row(name, _figure(before), _figure(after), change)
        console.print(diff)


def print_shortfalls(report: EvaluationReport[Any, Any, Any], console: Console) -> None:
    """Each case below a perfect score on a targeted evaluator, with the evaluator's reason."""
    missed = shortfalls(report, list(TARGETS))
    if not missed:
        console.print("Every case meets every targeted evaluator.")
        return
    table = Table("case", "evaluator", "value", "why", title="Cases below target")
    for item in missed:
        # A reason may quote the report (a model's text): shown as text, never as markup or escapes.
        shown = [escape(without_controls(text)) for text in (item.case, item.evaluator, item.reason or "")]
        table.add_row(shown[0], shown[1], _figure(item.value), shown[2])
    console.print(table)
