"""Citation numbers: every distinct source gets one, 1 to n in the order first seen, and the sources an
extra search adds go on from n + 1 without taking a number already given (properties, and a real run)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from research_agent.client import ResearchClient
from research_agent.runtime import worker
from research_agent.schema import (
    AnalysisOutcome,
    Phase,
    ResearchOptions,
    SearchFindings,
    SearchOutcome,
    Source,
    cite,
)
from research_agent.settings import Settings
from research_agent.workflows import number_sources

# Few titles, urls and locations, so the same source often turns up in several searches.
sources = st.builds(
    Source,
    title=st.sampled_from(["Chile", "Peru", "Bolivia", "Economy"]),
    url=st.one_of(st.none(), st.sampled_from([f"https://example.org/{i}" for i in range(6)])),
    location=st.one_of(st.none(), st.sampled_from(["factbook:ci/Economy", "factbook:pe/Economy"])),
    snippet=st.text(max_size=10),
)
outcomes = st.lists(
    st.builds(
        SearchOutcome,
        index=st.integers(1, 20),
        query=st.just("q"),
        findings=st.one_of(
            st.none(),  # a failed or skipped search: it has no sources to number
            st.builds(SearchFindings, query=st.just("q"), summary=st.just("s"), sources=st.lists(sources)),
        ),
    ),
    max_size=8,
)


def _first_seen(searches: list[SearchOutcome]) -> list[Source]:
    """Each distinct source (by key) once, where it first appears."""
    seen: dict[str, Source] = {}
    for outcome in searches:
        for source in outcome.findings.sources if outcome.findings else []:
            seen.setdefault(source.key, source)
    return list(seen.values())


@given(searches=outcomes)
def test_number_sources_counts_from_one_in_the_order_sources_are_first_seen(searches: list[SearchOutcome]):
    numbered = number_sources(searches)
    first = _first_seen(searches)
    assert [source.key for source in first] == list(numbered)
    assert [numbered[source.key].number for source in first] == list(range(1, len(first) + 1))
    for source in first:  # the number is given to the source as first seen
        assert numbered[source.key].model_dump(exclude={"number"}) == source.model_dump()


@given(searches=outcomes, extra=st.lists(sources))
def test_an_extra_searchs_sources_go_on_from_n_plus_one(searches: list[SearchOutcome], extra: list[Source]):
    numbered = number_sources(searches)
    before = {key: source.number for key, source in numbered.items()}
    n = len(numbered)
    # What the analyst's `extra_search` tool hands back: each extra source cited in the same table.
    cited = [cite(numbered, source) for source in extra]
    for source, given_number in zip(extra, cited, strict=True):
        assert given_number.number == numbered[source.key].number
        if source.key in before:
            assert given_number.number == before[source.key]  # a source seen before keeps its number
    new_keys = [key for key in dict.fromkeys(s.key for s in extra) if key not in before]
    assert [numbered[key].number for key in new_keys] == list(range(n + 1, n + 1 + len(new_keys)))
    numbers = [source.number for source in numbered.values()]
    assert sorted(numbers) == list(range(1, len(numbered) + 1))  # unique, no gap, no collision
    # The same table as numbering every search at once, the extra one last.
    whole = number_sources([*searches, SearchOutcome(index=99, query="extra", findings=_findings(extra))])
    assert whole == numbered


def _findings(found: list[Source]) -> SearchFindings:
    return SearchFindings(query="extra", summary="s", sources=found)


# --- a real run: the analyst's extra search -----------------------------------------------------------------


def _search_outcome(output: object) -> SearchOutcome:
    assert isinstance(output, SearchOutcome)
    return output


@pytest.fixture
def client(settings: Settings) -> Iterator[ResearchClient]:
    with worker(settings), ResearchClient(settings) as research_client:
        yield research_client


def test_a_real_extra_search_numbers_its_sources_after_the_planned_ones(client: ResearchClient):
    # A plan of two searches for three countries: the offline analyst searches for Bolivia itself.
    options = ResearchOptions(offline=True, max_searches=2)
    run_id = client.submit("Compare the economies of Chile, Peru and Bolivia", options, run_id="numbers")
    final = client.wait(run_id, timeout=120)
    assert final.phase is Phase.COMPLETED, final.error
    rows = {row.workflow_id: row.output for row in client._client.list_workflows(workflow_id_prefix=run_id)}
    analysis = rows[f"{run_id}-analyze"]
    assert isinstance(analysis, AnalysisOutcome) and len(analysis.extra_searches) == 1
    planned = [_search_outcome(rows[f"{run_id}-search-{i}"]) for i in (1, 2)]

    first = number_sources(planned)
    n = len(first)
    expected = number_sources([*planned, *analysis.extra_searches])
    report = analysis.report
    numbers = [source.number for source in report.sources]
    assert len(numbers) == len(set(numbers)) and set(numbers) == set(report.cited_numbers())
    for source in report.sources:
        assert source == expected[source.key]  # the number the whole table gives it
    (extra,) = analysis.extra_searches
    assert extra.findings is not None
    new_keys = {source.key for source in extra.findings.sources} - set(first)
    cited_new = [source.number for source in report.sources if source.key in new_keys]
    assert cited_new and min(cited_new) > n  # Bolivia's sources are cited, numbered after the plan's
    assert final.citations is not None and final.citations.clean
