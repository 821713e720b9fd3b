from datetime import UTC, datetime

from research_agent.schema import (
    NumberedSource,
    Phase,
    ResearchPlan,
    ResearchReport,
    ResearchStatus,
    SearchProgress,
    SearchState,
    SearchStep,
    Usage,
)


def _status() -> ResearchStatus:
    return ResearchStatus(
        run_id="r1",
        question="Compare Chile and Peru",
        phase=Phase.COMPLETED,
        plan=ResearchPlan(
            search_steps=[SearchStep(query="Chile GDP", rationale="why")], analysis_instructions="x"
        ),
        searches=[SearchProgress(index=1, query="Chile GDP", state=SearchState.DONE, source_count=2)],
        report=ResearchReport(
            title="T",
            body="Chile grew [1]. Peru too [2][1].",
            sources=[
                NumberedSource(number=1, title="a", location="factbook:ci/Economy/GDP"),
                NumberedSource(number=2, title="b", url="https://example.org"),
            ],
        ),
        usage=Usage(requests=3, input_tokens=10, output_tokens=5),
        sequence=7,
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


def test_status_round_trips_through_the_json_event():
    status = _status()
    event = status.to_event()
    assert event["phase"] == "COMPLETED"
    assert ResearchStatus.model_validate(event) == status


def test_old_events_without_new_fields_stay_readable():
    old = {"run_id": "r0", "question": "q", "phase": "SEARCHING"}
    status = ResearchStatus.model_validate(old)
    assert status.phase is Phase.SEARCHING and status.searches == [] and status.usage.requests == 0


def test_report_markdown_lists_the_cited_sources():
    report = _status().report
    assert report is not None
    assert report.cited_numbers() == [1, 2]
    markdown = report.to_markdown()
    assert markdown.startswith("# T\n")
    assert "[1] a <factbook:ci/Economy/GDP>" in markdown and "[2] b <https://example.org>" in markdown


def test_usage_adds_up():
    total = Usage(requests=1, input_tokens=2, output_tokens=3) + Usage(
        requests=1, input_tokens=1, output_tokens=1
    )
    assert (total.requests, total.total_tokens) == (2, 7)


def test_finished_phases():
    assert {p for p in Phase if p.finished} == {Phase.COMPLETED, Phase.FAILED, Phase.CANCELLED}
