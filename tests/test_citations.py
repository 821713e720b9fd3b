"""The deterministic citation check: what stands, what is removed, and why."""

from __future__ import annotations

from research_agent.citations import check_citations
from research_agent.schema import NumberedSource, ResearchReport, SearchOutcome, Source, citation_summary

CHILE = Source(title="Chile: Economy", location="factbook:ci/Economy", snippet="Real GDP per capita: $30,200")
PERU = Source(title="Peru: Economy", location="factbook:pe/Economy", snippet="Real GDP per capita: $15,700")


def _outcomes(*returned: Source) -> list[SearchOutcome]:
    return [SearchOutcome(index=1, query="economies", returned=list(returned))]


def _report(body: str, *sources: NumberedSource) -> ResearchReport:
    return ResearchReport(title="Economies", body=body, sources=list(sources))


def test_a_report_whose_citations_all_resolve_is_clean_and_unchanged():
    report = _report(
        "Chile is richer [1]. Peru grows [2][1].",
        NumberedSource(number=1, **CHILE.model_dump()),
        NumberedSource(number=2, **PERU.model_dump()),
    )
    checked, check = check_citations(report, _outcomes(CHILE, PERU))
    assert checked == report
    assert check.clean and check.cited == check.verified == 2 and check.removed == []
    assert citation_summary(check) == "citations: all 2 verified against what the searches returned"


def test_fabricated_citations_are_removed_with_their_reason_and_never_clean():
    invented = Source(title="Invented", url="https://example.org/made-up", snippet="GDP doubled")
    misquoted = NumberedSource(number=3, **{**PERU.model_dump(), "snippet": "Real GDP per capita: $99,999"})
    report = _report(
        "Chile is richer [1]. Peru doubled [2]. Peru is rich [3]. Mars trades [9].",
        NumberedSource(number=1, **CHILE.model_dump()),
        NumberedSource(number=2, **invented.model_dump()),
        misquoted,
    )
    checked, check = check_citations(report, _outcomes(CHILE, PERU))
    assert checked.body == "Chile is richer [1]. Peru doubled. Peru is rich. Mars trades."
    assert [s.number for s in checked.sources] == [1]
    assert not check.clean and check.cited == 4 and check.verified == 1
    assert check.removed == [2, 3, 9]
    assert check.reasons == {
        2: "no search returned this source",
        3: "the quoted snippet is not in what the search returned",
        9: "no such source in the report",
    }
    assert "1 of 4 verified; removed [2] no search returned this source" in citation_summary(check)


def test_snippets_match_whatever_the_spacing_and_case():
    loose = NumberedSource(number=1, **{**CHILE.model_dump(), "snippet": "real  GDP per\ncapita: $30,200"})
    _, check = check_citations(_report("Chile [1].", loose), _outcomes(CHILE))
    assert check.clean


def test_without_raw_results_nothing_is_removed_and_nothing_is_called_clean():
    report = _report("Chile [1].", NumberedSource(number=1, **CHILE.model_dump()))
    checked, check = check_citations(report, _outcomes())
    assert checked == report and not check.verifiable and not check.clean
    assert "not verifiable" in citation_summary(check)
