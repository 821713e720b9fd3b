"""The evaluators judge what a run really produced; the dataset, the judge's wiring, results and baselines."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from pydantic_ai.messages import ModelMessage, ModelResponse, ToolCallPart
from pydantic_ai.models.function import AgentInfo, FunctionModel
from pydantic_evals.evaluators import EvaluationReason, EvaluatorContext
from pydantic_evals.evaluators.evaluator import EvaluationScalar

from research_agent.evaluation._text import (
    claims,
    computed_from,
    declares_not_found,
    lead_paragraph,
    location_matches,
    quantities,
    retrieved_sources,
)
from research_agent.evaluation.cases import load_dataset, select_cases
from research_agent.evaluation.evaluators import (
    CitationPrecision,
    FactRecall,
    HonestNotFound,
    LeadAnswer,
    PlanCoverage,
    ReportJudge,
    ReportLength,
    SourceRecall,
    SourceRelevance,
)
from research_agent.evaluation.expectations import Expectations
from research_agent.evaluation.figures import compare, evaluator_averages, missed_targets, shortfalls
from research_agent.evaluation.runner import DEFAULT_DATASET, judge_evaluators, load_report, save_report
from research_agent.schema import (
    CitationCheck,
    NumberedSource,
    ResearchPlan,
    ResearchReport,
    ResearchStatus,
    SearchProgress,
    SearchStep,
    Source,
)

from ._process import make_settings

GDP = Source(
    title="Chile — Economy — Real GDP per capita",
    location="factbook:ci/Economy/Real GDP per capita",
    snippet="Real GDP per capita 2024: $30,200 (2024 est.); Real GDP per capita 2023: $29,800 (2023 est.)",
)
CAPITAL = Source(
    title="Chile — Government — Capital",
    location="factbook:ci/Government/Capital",
    snippet="name: Santiago; note - Valparaiso is the seat of the national legislature",
)
GROWTH = Source(
    title="Chile — Economy — Real GDP growth rate",
    location="factbook:ci/Economy/Real GDP growth rate",
    snippet="Real GDP growth rate 2024: 2.6% (2024 est.)",
)


def _numbered(source: Source, number: int) -> NumberedSource:
    return NumberedSource(number=number, **source.model_dump())


def _status(body: str, cited: list[NumberedSource], removed: list[int] | None = None) -> ResearchStatus:
    plan = ResearchPlan(
        search_steps=[
            SearchStep(query="Chile Economy Real GDP per capita", rationale="r"),
            SearchStep(query="Chile Government Capital", rationale="r"),
        ],
        analysis_instructions="",
    )
    return ResearchStatus(
        run_id="r",
        question="q",
        plan=plan,
        searches=[
            SearchProgress(index=1, query="a", sources=[GDP, GROWTH]),
            SearchProgress(index=2, query="b", sources=[CAPITAL]),
        ],
        report=ResearchReport(title="Chile", body=body, sources=cited),
        citations=CitationCheck(cited=len(cited), verified=len(cited), removed=removed or []),
    )


def _context(status: ResearchStatus, expectations: Expectations) -> EvaluatorContext:
    return EvaluatorContext(
        name="case",
        inputs="What is Chile's GDP per capita?",
        metadata=expectations,
        expected_output=None,
        output=status,
        duration=1.0,
        _span_tree=None,  # type: ignore[arg-type]
        attributes={},
        metrics={},
    )


def _value(result: object) -> EvaluationScalar:
    assert isinstance(result, EvaluationReason)
    return result.value


GOOD = "## Chile\n\n- **Real GDP per capita**: Real GDP per capita 2024: $30,200 (2024 est.). [1]\n- **Capital**: name: Santiago. [2]"
FACTS = Expectations(
    kind="fact",
    facts=["$30,200", ["Santiago", "Santiago de Chile"]],
    sources=["factbook:ci/Economy/Real GDP per capita", "factbook:ci/Government"],
)


def test_a_faithful_report_scores_full_marks():
    status = _status(GOOD, [_numbered(GDP, 1), _numbered(CAPITAL, 2)])
    ctx = _context(status, FACTS)
    assert _value(SourceRecall().evaluate(ctx)) == 1.0
    assert _value(FactRecall().evaluate(ctx)) == 1.0
    assert _value(CitationPrecision().evaluate(ctx)) == 1.0
    assert _value(PlanCoverage().evaluate(ctx)) == 1.0
    assert _value(ReportLength(min_words=5, max_words=100).evaluate(ctx)) is True
    assert HonestNotFound().evaluate(ctx) == {}  # an answerable case: nothing to judge


def test_missing_facts_sources_and_unsupported_citations_lower_the_scores():
    # [1] states a number its source does not hold; [2] cites a source no search returned; one was removed.
    invented = _numbered(Source(title="Made up", location="factbook:xx/Nowhere", snippet="Santiago"), 2)
    body = "Chile's GDP per capita is $41,000 in 2024. [1]\n\nIt is Santiago. [2]"
    status = _status(body, [_numbered(GDP, 1), invented], removed=[3])
    expectations = FACTS.model_copy(update={"sources": ["factbook:ci/Economy/Exports", GDP.location]})
    ctx = _context(status, expectations)
    assert _value(SourceRecall(k=1).evaluate(ctx)) == 0.5  # only the best hit counts at k=1
    assert _value(FactRecall().evaluate(ctx)) == 0.5
    precision = CitationPrecision().evaluate(ctx)
    assert isinstance(precision, EvaluationReason) and precision.value == 0.0
    assert "numbers ['41000']" in (precision.reason or "") and "[2] is not a retrieved source" in (
        precision.reason or ""
    )
    assert _value(PlanCoverage().evaluate(ctx)) == 0.5  # nothing of the Capital search is cited
    assert _value(ReportLength(min_words=50).evaluate(ctx)) is False


def test_honest_not_found_applies_to_unanswerable_cases_only():
    unanswerable = Expectations(kind="unanswerable")
    said = _status("## Not found\n\nThe sources found say nothing about Wakanda.", [])
    invented = _status("The capital of Wakanda is Birnin Zana.", [])
    assert _value(HonestNotFound().evaluate(_context(said, unanswerable))) is True
    assert _value(HonestNotFound().evaluate(_context(invented, unanswerable))) is False
    assert FactRecall().evaluate(_context(said, unanswerable)) == {}
    assert SourceRecall().evaluate(_context(said, unanswerable)) == {}


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("The corpus does not mention Atlantis.", True),
        ("No information on Narnia was found.", True),
        ("The material is silent on this point.", True),
        ("Santiago is the capital [1].", False),
    ],
)
def test_not_found_statements_are_recognised_in_other_words(text: str, said: bool):
    assert declares_not_found(text) is said


def test_claims_are_the_text_before_each_citation_group():
    body = "1. A is 1 [1], and B is 2 [2][3].\n- C. [4]\nD is 5 [5], by 3. E is 6 [6]."
    assert [(c.text, c.cited) for c in claims(body)] == [
        ("A is 1", (1,)),
        ("and B is 2", (2, 3)),
        ("C", (4,)),
        ("D is 5", (5,)),
        ("E is 6", (6,)),  # a citation supports its own sentence, not the end of the one before
    ]


def test_each_table_cell_is_a_claim_about_its_row():
    table = "| | Chile | Peru |\n| --- | --- | --- |\n| GDP per capita | $30,200 (2024) [1] | not found |\n| Capital | Santiago [2] | Lima \\| Callao [3] |"
    assert [(c.text, c.cited) for c in claims(table)] == [
        ("GDP per capita $30,200 (2024)", (1,)),
        ("Capital Santiago", (2,)),
        ("Capital Lima \\| Callao", (3,)),
    ]


def test_computed_figures_are_differences_or_ratios_of_stated_ones():
    assert quantities("$596.556 billion and 4.6%") == {"596.556": 596.556e9, "4.6": 4.6}
    known = [30200.0, 15700.0]
    assert computed_from(14500.0, known) and computed_from(1.9, known)  # "by $14,500, about 1.9 times"
    assert not computed_from(41000.0, known) and not computed_from(2.5, known)


PERU_GDP = Source(
    title="Peru — Economy — Real GDP per capita",
    location="factbook:pe/Economy/Real GDP per capita",
    snippet="Real GDP per capita 2024: $15,700 (2024 est.)",
)


def test_a_difference_or_ratio_of_the_cited_figures_is_supported_but_an_invented_figure_is_not():
    body = "Chile's real GDP per capita is higher than Peru's by $14,500 [1][2]."
    status = _status(body, [_numbered(GDP, 1), _numbered(PERU_GDP, 2)])
    status.searches[0].sources.append(PERU_GDP)
    assert _value(CitationPrecision().evaluate(_context(status, FACTS))) == 1.0
    wrong = _status(body.replace("$14,500", "$16,000"), [_numbered(GDP, 1), _numbered(PERU_GDP, 2)])
    wrong.searches[0].sources.append(PERU_GDP)
    precision = _value(CitationPrecision().evaluate(_context(wrong, FACTS)))
    assert isinstance(precision, float | int) and precision < 1.0


def test_source_relevance_is_the_share_of_cited_sources_on_the_question():
    status = _status(GOOD, [_numbered(GDP, 1), _numbered(CAPITAL, 2)])
    assert GDP.location is not None
    economy = Expectations(kind="fact", facts=["x"], sources=[GDP.location])
    result = SourceRelevance().evaluate(_context(status, economy))
    assert isinstance(result, EvaluationReason) and result.value == 0.5
    assert "Chile — Government — Capital" in (result.reason or "")
    wider = economy.model_copy(update={"relevant": ["factbook:ci/Economy", "factbook:ci/Government"]})
    assert _value(SourceRelevance().evaluate(_context(status, wider))) == 1.0
    nothing_cited = _status("## Not found\n\nThe sources found say nothing about Wakanda.", [])
    assert SourceRelevance().evaluate(_context(nothing_cited, economy)) == {}


@pytest.mark.parametrize(
    ("body", "opens_with_an_answer"),
    [
        ("Chile's capital is Santiago [2].\n\n## Chile\n\n- **Capital**: name: Santiago. [2]", True),
        ("**json.dumps**: Serialize obj. Otherwise, escape it. [1]", True),  # bold is not a list
        ("## Chile\n\n- **Capital**: name: Santiago. [2]", False),  # no answer before the detail
        ("Chile is a country in South America.\n\n- Santiago [2]", False),  # uncited
        ("One [1]. Two [1]. Three [1].", False),  # longer than a lead
        ("| | Chile |\n| --- | --- |\n| Capital | Santiago [2] |", False),
    ],
)
def test_a_lead_answer_is_a_short_cited_opening_paragraph(body: str, opens_with_an_answer: bool):
    status = _status(body, [_numbered(GDP, 1), _numbered(CAPITAL, 2)])
    assert _value(LeadAnswer().evaluate(_context(status, FACTS))) is opens_with_an_answer
    assert LeadAnswer().evaluate(_context(status, Expectations(kind="unanswerable"))) == {}
    assert lead_paragraph("## Not found\n\nNothing.") == ""


def test_locations_match_themselves_and_what_lies_inside_them():
    assert location_matches("factbook:ci/Economy/Exports", "factbook:ci/Economy")
    assert location_matches("pydoc:topic/with (2)", "pydoc:topic/with")
    assert location_matches("pydoc:json.dumps", "pydoc:json")
    assert not location_matches("factbook:ci/Economy/Real GDP per capita", "factbook:ci/Economy/Real GDP")
    assert not location_matches("pydoc:jsonschema", "pydoc:json")


def test_retrieved_sources_interleave_the_searches_by_rank():
    status = _status("", [])
    assert [s.location for s in retrieved_sources(status)] == [
        GDP.location,
        CAPITAL.location,
        GROWTH.location,
    ]


def test_the_dataset_covers_every_kind_of_question_over_both_collections():
    dataset = load_dataset(DEFAULT_DATASET)
    assert len(dataset.cases) >= 40
    kinds = [case.metadata.kind for case in dataset.cases if case.metadata]
    assert {kind: kinds.count(kind) >= 5 for kind in set(kinds)} == dict.fromkeys(
        ("fact", "comparison", "list", "unanswerable", "paraphrase"), True
    )
    sources = [s for case in dataset.cases if case.metadata for s in case.metadata.sources]
    assert any(str(s).startswith("factbook:") for s in sources) and any("pydoc:" in str(s) for s in sources)
    for case in dataset.cases:
        assert case.metadata is not None
        assert bool(case.metadata.facts and case.metadata.sources) == case.metadata.answerable, case.name
    names = {type(e).__name__ for e in dataset.evaluators}
    assert names == {
        "SourceRecall",
        "FactRecall",
        "CitationPrecision",
        "SourceRelevance",
        "PlanCoverage",
        "HonestNotFound",
        "LeadAnswer",
        "ReportLength",
    }
    # The paraphrase slice (issue 24): questions worded as people ask, about one to four countries.
    people = [case for case in dataset.cases if case.name and case.name.startswith("people-")]
    assert len(people) >= 30 and all(c.metadata and c.metadata.kind == "paraphrase" for c in people)
    countries = [
        len({str(s).split("/")[0] for s in c.metadata.sources})
        for c in people
        if c.metadata and "factbook:" in str(c.metadata.sources)
    ]
    assert {1, 2, 3, 4} <= set(countries)
    assert [c.name for c in select_cases(dataset, "pydoc-paraphrase-*").cases] == [
        c.name for c in dataset.cases if c.name and c.name.startswith("pydoc-paraphrase-")
    ]
    assert len(select_cases(dataset, "capital,unanswerable-mars").cases) == 5  # four capitals, Mars


def test_the_llm_judge_is_skipped_without_its_key():
    settings = make_settings()
    assert judge_evaluators(settings, "anthropic:claude-sonnet-4-5") == (
        [],
        "LLM judge skipped: anthropic:claude-sonnet-4-5 needs ANTHROPIC_API_KEY",
    )
    assert judge_evaluators(settings, "") == ([], "LLM judge off (no judge model)")


def test_the_llm_judge_is_used_when_its_key_is_set():
    settings = make_settings(ANTHROPIC_API_KEY="sk-ant-test-not-a-real-key")
    judges, note = judge_evaluators(settings, "anthropic:claude-sonnet-4-5")
    assert note == "LLM judge: anthropic:claude-sonnet-4-5" and [type(j) for j in judges] == [ReportJudge]


def test_the_judge_grades_the_report_against_the_question():
    seen: list[str] = []

    def grade(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        seen.append(str(messages[-1]))
        verdict = {"reason": "Names the capital and cites it.", "pass": True, "score": 0.9}
        return ModelResponse(parts=[ToolCallPart(info.output_tools[0].name, verdict)])

    judge = ReportJudge(model=FunctionModel(grade, model_name="grader"))
    status = _status(GOOD, [_numbered(GDP, 1), _numbered(CAPITAL, 2)])
    result = asyncio.run(judge.evaluate(_context(status, FACTS)))
    assert result == {
        "judge": EvaluationReason(value=0.9, reason="Names the capital and cites it."),
        "judge_pass": EvaluationReason(value=True, reason="Names the capital and cites it."),
    }
    assert "What is Chile's GDP per capita?" in seen[0] and "name: Santiago" in seen[0]
    assert judge.as_spec().arguments == ("function:grader",)  # results files hold the model's name


def test_results_round_trip_and_compare_with_a_baseline(tmp_path: Path):
    from pydantic_evals import Case, Dataset

    def run(body: str) -> object:
        dataset = Dataset[str, ResearchStatus, Expectations](
            name="d",
            cases=[Case(name="c", inputs="What is Chile's GDP per capita?", metadata=FACTS)],
            evaluators=[FactRecall(), HonestNotFound()],
        )
        status = _status(body, [_numbered(GDP, 1), _numbered(CAPITAL, 2)])
        return dataset.evaluate_sync(lambda _: status, name=f"run-{len(body)}", progress=False)

    before, after = run("Nothing useful. [1]"), run(GOOD)
    path = save_report(before, tmp_path)  # type: ignore[arg-type]
    loaded = load_report(path)
    assert evaluator_averages(loaded) == {"fact_recall": 0.0}
    assert compare(after, loaded) == [("fact_recall", 0.0, 1.0)]  # type: ignore[arg-type]
    assert [s.case for s in shortfalls(loaded)] == ["c"]
    assert missed_targets(after)["source_recall@10"] == 0.0  # type: ignore[arg-type]
