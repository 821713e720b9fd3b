"""The deterministic citation check: what stands, what is removed, and why."""

from __future__ import annotations

import pytest

from research_agent.citations import check_citations, grounded
from research_agent.schema import (
    NumberedSource,
    PageRead,
    ResearchReport,
    SearchFindings,
    SearchOutcome,
    Source,
    citation_summary,
)

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
    assert citation_summary(check) == "citations: all 2 verified, checked against what the searches returned"


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
    assert (
        "1 of 4 verified (checked against what the searches returned); removed [2] no search returned this source"
        in (citation_summary(check))
    )


def test_snippets_match_whatever_the_spacing_and_case():
    loose = NumberedSource(number=1, **{**CHILE.model_dump(), "snippet": "real  GDP per\ncapita: $30,200"})
    _, check = check_citations(_report("Chile [1].", loose), _outcomes(CHILE))
    assert check.clean


def test_without_raw_results_nothing_is_removed_and_nothing_is_called_clean():
    report = _report("Chile [1].", NumberedSource(number=1, **CHILE.model_dump()))
    checked, check = check_citations(report, _outcomes())
    assert checked == report and not check.verifiable and not check.clean
    assert "not verifiable" in citation_summary(check)


PAGE_URL = "https://tides.example.org/skerrow"
PAGE = PageRead(
    url=PAGE_URL,
    final_url=PAGE_URL,
    status="fetched",
    title="The story of the lighthouse",
    passages=["The light was first lit on 1 November 1841."],
    text="Skerrow Point. The light was first lit on 1 November 1841. Keepers lived in the cottages.",
)
WEB_HIT = Source(title="Skerrow lighthouse", url=PAGE_URL, snippet="A lighthouse on the point.")


def _web(*pages: PageRead) -> list[SearchOutcome]:
    return [SearchOutcome(index=1, query="first lit", returned=[WEB_HIT], pages=list(pages))]


def _cited(**changes: object) -> NumberedSource:
    return NumberedSource(number=1, **{**WEB_HIT.model_dump(), "passages": list(PAGE.passages), **changes})


def test_a_passage_is_verified_against_the_page_as_read():
    _, check = check_citations(_report("First lit in 1841 [1].", _cited()), _web(PAGE))
    assert check.clean and check.against_pages == 1
    assert citation_summary(check) == "citations: all 1 verified, checked against the pages as read"


@pytest.mark.parametrize(
    ("source", "pages", "reason"),
    [
        (
            _cited(passages=["The light was first lit in 1066."]),
            [PAGE],
            "a quoted passage is not in the page",
        ),
        (_cited(), [], "the page was never read"),
        (_cited(), [PAGE.model_copy(update={"status": "refused", "text": ""})], "the page was never read"),
        (_cited(passages=[], snippet=""), [PAGE], "nothing is quoted for this source to check"),
        (_cited(passages=["  "]), [PAGE], "a quoted passage is not in the page"),
    ],
)
def test_a_passage_not_in_the_page_or_an_empty_one_is_not_verified(source, pages, reason):
    checked, check = check_citations(_report("First lit [1].", source), _web(*pages))
    assert check.removed == [1] and reason in check.reasons[1]
    assert checked.body == "First lit." and checked.sources == []


def test_citations_are_numbered_one_to_n_in_the_order_first_cited():
    sources = [NumberedSource(number=n, **CHILE.model_dump()) for n in (3, 7)]
    sources[1] = NumberedSource(number=7, **PERU.model_dump())
    report = _report("Peru [7]. Chile [3][7]. Again Peru [7].", *sources)
    checked, check = check_citations(report, _outcomes(CHILE, PERU))
    assert check.clean
    assert checked.body == "Peru [1]. Chile [2][1]. Again Peru [1]."
    assert [(s.number, s.title) for s in checked.sources] == [(1, PERU.title), (2, CHILE.title)]


def test_grounded_findings_take_title_and_passages_from_what_was_read():
    made_up = Source(title="Invented", url="https://nowhere.example/x", snippet="GDP doubled")
    copied = WEB_HIT.model_copy(update={"title": "A title the model wrote", "snippet": "words it made up"})
    findings = SearchFindings(query="first lit", summary="...", sources=[copied, made_up])
    result = grounded(findings, [WEB_HIT], [PAGE])
    assert [(s.title, s.snippet, s.passages) for s in result.sources] == [
        (PAGE.title, WEB_HIT.snippet, PAGE.passages)
    ]
