"""Size and shape limits on what a person or a model hands the program (issue 19, item 8): each bad input is
refused with one message naming the limit, never a traceback, and nothing oversized is stored.

Before: a 1.4 MB plan file was accepted (and stored many times over, 27 MB), a deeply nested one raised a
RecursionError, `submit --file /dev/zero` read until memory ran out, and a model citing `[n]` with 5,000
digits crashed the run in `int()`.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from pydantic_ai import ModelRetry

from research_agent.citations import check_citations
from research_agent.controls import PlanEditError, read_plan_file
from research_agent.options import (
    MAX_INSTRUCTIONS_CHARS,
    InputError,
    read_user_file,
    validate_instructions,
)
from research_agent.schema import (
    NOT_A_SOURCE_NUMBER,
    NumberedSource,
    ReportDraft,
    ResearchReport,
    SearchOutcome,
    Source,
)

HUGE_CITATION = "[" + "7" * 5000 + "]"


def _plan(**changes: Any) -> dict[str, Any]:
    step = {"query": "Chile GDP", "rationale": "growth", **changes.pop("step", {})}
    return {"search_steps": [step], "analysis_instructions": "Compare.", **changes}


def test_a_plan_file_over_the_size_limit_is_refused(tmp_path: Path):
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(_plan(analysis_instructions="x" * 2_100_000)))
    with pytest.raises(PlanEditError, match=r"plan.json is over the limit of 2 MB"):
        read_plan_file(path)


def test_a_deeply_nested_plan_file_is_refused(tmp_path: Path):
    path = tmp_path / "plan.json"
    path.write_text('{"search_steps": ' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(PlanEditError, match=r"plan.json is nested too deeply"):
        read_plan_file(path)


@pytest.mark.parametrize(
    ("plan", "message"),
    [
        (_plan(step={"query": "q" * 501}), "search 1's query is 501 characters long, over the limit of 500"),
        (
            _plan(step={"rationale": "r" * 2001}),
            "search 1's rationale is 2001 characters long, over the limit of 2000",
        ),
        (
            _plan(analysis_instructions="i" * (MAX_INSTRUCTIONS_CHARS + 1)),
            f"the analysis instructions are {MAX_INSTRUCTIONS_CHARS + 1} characters long, over the limit of "
            f"{MAX_INSTRUCTIONS_CHARS}",
        ),
        (_plan(step={"corpus": "notes.building"}), "search 1: invalid collection name 'notes.building'"),
    ],
)
def test_an_edited_plans_fields_are_bounded(tmp_path: Path, plan: dict[str, Any], message: str):
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan))
    with pytest.raises(PlanEditError) as refused:
        read_plan_file(path)
    assert message in str(refused.value)


def test_a_question_file_is_read_up_to_its_limit(tmp_path: Path):
    with pytest.raises(InputError, match=r"/dev/zero is over the limit of 1 MB; give a text file"):
        read_user_file(Path("/dev/zero"), "a text file with one question a line")
    path = tmp_path / "questions.txt"
    path.write_text("Compare the economies of Chile and Peru\n" * 30_000)  # 1.2 MB
    with pytest.raises(InputError, match=r"questions.txt is over the limit of 1 MB"):
        read_user_file(path, "a text file with one question a line")


def test_rewrite_instructions_are_bounded():
    assert validate_instructions("  Focus on trade.\x07\n ") == "Focus on trade."
    with pytest.raises(InputError, match="--instructions is empty"):
        validate_instructions(" \n ")
    with pytest.raises(
        InputError,
        match=f"--instructions are {MAX_INSTRUCTIONS_CHARS + 1} characters long, over the limit of "
        f"{MAX_INSTRUCTIONS_CHARS}",
    ):
        validate_instructions("x" * (MAX_INSTRUCTIONS_CHARS + 1))


CHILE = Source(title="Chile: Economy", location="factbook:ci/Economy", snippet="Real GDP per capita: $30,200")


def test_a_citation_too_long_to_be_a_number_is_removed_as_no_source():
    report = ResearchReport(
        title="Economies",
        body=f"Chile is richer [1]. Mars trades {HUGE_CITATION}.",
        sources=[NumberedSource(number=1, **CHILE.model_dump())],
    )
    assert report.cited_numbers() == [NOT_A_SOURCE_NUMBER, 1]
    checked, check = check_citations(report, [SearchOutcome(index=1, query="q", returned=[CHILE])])
    assert checked.body == "Chile is richer [1]. Mars trades."
    assert (
        check.cited == 2
        and check.verified == 1
        and list(check.reasons.values()) == ["no such source in the report"]
    )
    # Without raw results to check against, it is numbered like any citation of no source.
    unchecked, _ = check_citations(report, [])
    assert "7777" not in unchecked.body


def test_the_analyst_is_asked_again_for_a_citation_too_long_to_be_a_number():
    from research_agent.agents import _citations_resolve

    deps = SimpleNamespace(sources={CHILE.key: NumberedSource(number=1, **CHILE.model_dump())})
    draft = ReportDraft(title="t", body=f"Chile [1] and {HUGE_CITATION}.")
    with pytest.raises(ModelRetry, match="match no source"):
        _citations_resolve(SimpleNamespace(deps=deps), draft)  # type: ignore[arg-type]
