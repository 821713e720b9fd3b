"""Long reports (issue 22, item 2): an outline, each section written in its own child workflow from only its
own sources, one numbering of citations over the joined report, a summary at the top; offline end to end."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from research_agent._offline_sections import outline_offline, summary_offline, write_section_offline
from research_agent.client import ResearchClient
from research_agent.corpus import open_collection
from research_agent.options import RunRequest, resolve_options
from research_agent.prompts import read_tag, section_prompt
from research_agent.runtime import worker
from research_agent.schema import (
    AnalysisOutcome,
    NumberedSource,
    OutlineSection,
    Phase,
    ResearchOptions,
    SectionOutcome,
    citation_numbers,
)
from research_agent.settings import Settings
from research_agent.workflows import writes_long_report

QUESTION = "Compare the economies of Chile and Peru"


@pytest.fixture
def client(settings: Settings) -> Iterator[ResearchClient]:
    with worker(settings), ResearchClient(settings) as research_client:
        yield research_client


def _sections(client: ResearchClient, run_id: str) -> dict[str, tuple[list[object], SectionOutcome | None]]:
    """Each section workflow of the run: its inputs and its outcome."""
    rows = client._client.list_workflows(workflow_id_prefix=f"{run_id}-section-", load_input=True)
    return {row.workflow_id: (list(row.input["args"]), row.output) for row in rows if row.input}


def test_a_long_report_is_outlined_then_written_section_by_section(
    client: ResearchClient, settings: Settings
):
    options, _ = resolve_options(settings.model_copy(update={"report": "long"}), offline=True)
    assert options.report == "long"
    final = client.wait(client.submit(QUESTION, options, run_id="long"), timeout=120)
    assert final.phase is Phase.COMPLETED, final.error
    analysis: object = client._client.retrieve_workflow("long-analyze").get_result()
    assert isinstance(analysis, AnalysisOutcome) and analysis.outline is not None
    outline = analysis.outline
    assert len(outline.sections) >= 2  # one per aspect the research found: GDP, growth, per capita

    # One child workflow per section, in outline order, each given exactly the outline's sources for it.
    sections = _sections(client, "long")
    assert sorted(sections) == [f"long-section-{i}" for i in range(1, len(outline.sections) + 1)]
    for index, planned in enumerate(outline.sections, start=1):
        args, outcome = sections[f"long-section-{index}"]
        assert isinstance(outcome, SectionOutcome)
        given = args[4]
        assert isinstance(given, list) and all(isinstance(s, NumberedSource) for s in given)
        assert [s.number for s in given] == planned.sources == outcome.sources
        # The writer's prompt holds its own sources and no other: its context stays bounded.
        prompt = section_prompt(QUESTION, str(args[2]), planned, given, "factbook")
        others = [s for s in analysis.report.sources if s.number not in planned.sources]
        assert others and not any(f'"{s.location}"' in prompt for s in others)
        assert set(citation_numbers(outcome.body)) <= set(planned.sources)

    # Joined: the summary first (before any heading), then every section under its heading.
    report = final.report
    assert report is not None
    lead, _, _ = report.body.partition("\n## ")
    assert lead.strip() and citation_numbers(lead)
    assert [line[3:] for line in report.body.splitlines() if line.startswith("## ")] == [
        s.heading for s in outline.sections
    ]
    # One numbering over the whole report: 1..n in first-cited order, each source listed once, all verified.
    numbers = [n for n in citation_numbers(report.body)]
    assert sorted(set(numbers)) == list(range(1, len(report.sources) + 1))
    assert list(dict.fromkeys(numbers)) == sorted(set(numbers))
    assert [s.number for s in report.sources] == list(range(1, len(report.sources) + 1))
    assert final.citations is not None and final.citations.clean
    # Outline, sections and summary are all counted: 1 plan + 4 searches × 2 + outline + sections + summary.
    assert final.usage.requests == 1 + 4 * 2 + 1 + len(outline.sections) + 1


def test_a_long_report_on_an_unanswerable_question_says_not_found(client: ResearchClient, settings: Settings):
    options, _ = resolve_options(settings.model_copy(update={"report": "long"}), offline=True)
    final = client.wait(client.submit("What is the climate on Mars?", options, run_id="mars"), timeout=120)
    assert final.phase is Phase.COMPLETED, final.error
    assert final.report is not None and "## Not found" in final.report.body
    assert not _sections(client, "mars")  # an outline with no section: nothing written section by section


def test_the_offline_outline_groups_sources_by_aspect_and_sections_cite_only_theirs(settings: Settings):
    factbook = open_collection("factbook", settings.indexes)
    passages = [
        p
        for p in factbook.passages
        if p.section in ("Economy — Real GDP per capita", "Economy — Exports - commodities")
        and p.entity in ("Chile", "Peru")
    ]
    sources = [
        NumberedSource(number=i, title=p.title, location=p.location, snippet=p.text)
        for i, p in enumerate(passages, start=1)
    ]
    question = "Compare the real GDP per capita and the exports of Chile and Peru"
    outline = outline_offline(question, sources, factbook)
    assert len(outline.sections) == 2
    for section in outline.sections:
        titles = {s.title.rsplit(" — ", 1)[-1] for s in sources if s.number in section.sources}
        assert len(titles) == 1 and len(section.sources) == 2  # one aspect, both countries
    first = outline.sections[0]
    mine = [s for s in sources if s.number in first.sources]
    body = write_section_offline(question, first.heading, mine, factbook).body
    assert set(citation_numbers(body)) == set(first.sources)
    # The summary is made from the sections as written, citations and all.
    summary = summary_offline([(first.heading, body)]).body
    assert summary and set(citation_numbers(summary)) <= set(first.sources)


def test_a_section_comparing_three_countries_states_every_ones_figure(settings: Settings):
    """The comparison of three names the highest and the lowest; the middle one's figure is still stated."""
    factbook = open_collection("factbook", settings.indexes)
    passages = [
        p
        for p in factbook.passages
        if p.section == "Geography — Coastline" and p.entity in ("Chile", "Peru", "Argentina")
    ]
    sources = [
        NumberedSource(number=i, title=p.title, location=p.location, snippet=p.text)
        for i, p in enumerate(passages, start=1)
    ]
    assert len(sources) == 3
    question = "Compare the coastline of Chile, Peru and Argentina."
    body = write_section_offline(question, "Coastline", sources, factbook).body
    for figure in ("6,435 km", "2,414 km", "4,989 km"):  # Chile, Peru, Argentina (the middle one)
        assert figure in body
    assert set(citation_numbers(body)) == {1, 2, 3}


def test_a_section_prompt_holds_only_its_sources():
    sources = [NumberedSource(number=n, title=f"T{n}", location=f"x:{n}", snippet=f"s{n}") for n in (2, 5)]
    prompt = section_prompt("Q?", "Cover it.", OutlineSection(heading="H", sources=[2, 5]), sources, "x")
    data = read_tag(prompt, "research_data") or ""
    assert '"number": 2' in data and '"number": 5' in data and '"number": 1' not in data
    assert read_tag(prompt, "section") == "H"


def test_report_option_from_request_and_depth():
    assert RunRequest(question="q", report="long").settings(Settings()).report == "long"
    assert not writes_long_report(ResearchOptions())
    assert writes_long_report(ResearchOptions(report="long"))
    if "depth" in ResearchOptions.model_fields:  # the rounds of issue 22: three rounds imply a long report
        assert writes_long_report(ResearchOptions.model_validate({"depth": 3}))
