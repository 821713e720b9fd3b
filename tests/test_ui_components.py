"""The UI's building blocks that need no page: stepper text, citation links, timeline, cost."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from research_agent.pricing import estimate_cost
from research_agent.schema import (
    NumberedSource,
    PageRead,
    Phase,
    ResearchPlan,
    ResearchStatus,
    SearchProgress,
    SearchState,
    SearchStep,
    Source,
    TimelineBar,
    Usage,
)
from research_agent.supervisor import WorkerEvent
from ui.components import (
    _source_anchor,
    linked_citations,
    page_lines,
    phase_stepper,
    report_parts,
    source_line,
    timeline_chart,
    timeline_frame,
)

T0 = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
PLAN = ResearchPlan(search_steps=[SearchStep(query="q", rationale="r")], analysis_instructions="a")


def _status(phase: Phase, **fields: object) -> ResearchStatus:
    return ResearchStatus(run_id="r", question="Q?", phase=phase, **fields)  # type: ignore[arg-type]


def _marks(text: str) -> list[str]:
    """The icon before each step of the stepper, e.g. ['check_circle', 'autorenew', ...]."""
    return [part.split(":material/")[1].split(":")[0] for part in text.split(" → ")]


def test_the_stepper_marks_done_current_and_future_steps():
    assert _marks(phase_stepper(_status(Phase.PLANNING))) == [
        "autorenew", "radio_button_unchecked", "radio_button_unchecked", "radio_button_unchecked",
    ]  # fmt: skip
    searching = phase_stepper(_status(Phase.SEARCHING, plan=PLAN))
    assert _marks(searching)[:3] == ["check_circle", "autorenew", "radio_button_unchecked"]
    assert "**Searching**" in searching
    assert _marks(phase_stepper(_status(Phase.COMPLETED, plan=PLAN))) == ["check_circle"] * 3 + ["flag"]
    assert phase_stepper(_status(Phase.QUEUED)).startswith(":gray[:material/hourglass_empty:] **Queued**")


def test_the_stepper_shows_where_a_run_failed_or_was_cancelled():
    assert _marks(phase_stepper(_status(Phase.FAILED)))[0] == "cancel"  # failed while planning
    running = [SearchProgress(index=1, query="q", state=SearchState.RUNNING)]
    cancelled = phase_stepper(_status(Phase.CANCELLED, plan=PLAN, searches=running))
    assert _marks(cancelled) == ["check_circle", "block", "radio_button_unchecked", "block"]
    done = [SearchProgress(index=1, query="q", state=SearchState.DONE)]
    assert _marks(phase_stepper(_status(Phase.FAILED, plan=PLAN, searches=done)))[2] == "cancel"


def test_citations_link_to_listed_sources_only():
    body = "Chile exports copper [1][2]. Peru too [3]. A year [2024] is no citation."
    linked = linked_citations(body, {1, 2})
    assert linked == (
        "Chile exports copper [\\[1\\]](#source-1)[\\[2\\]](#source-2). Peru too [3]. A year [2024] is no citation."
    )


def test_a_citation_of_thousands_of_digits_stays_text():
    huge = "[" + "7" * 5000 + "]"  # int() refuses more than 4,300 digits; a model may write them all the same
    assert linked_citations(f"Copper {huge} and [1].", {1}) == f"Copper {huge} and [\\[1\\]](#source-1)."


def test_a_report_is_shown_as_its_cited_lead_answer_then_the_rest():
    table = "| | Chile | Peru |\n| --- | --- | --- |\n| Real GDP per capita | $30,200 (2024) [1] | $15,700 (2024) [2] |"
    body = f"Chile's real GDP per capita, $30,200 (2024) [1], is higher than Peru's [2].\n\n{table}\n\n## Chile\n\n- x [1]"
    lead, rest = report_parts(body)
    assert lead.startswith("Chile's real GDP per capita") and rest.startswith("| | Chile | Peru |")
    # citations inside table cells become links too
    assert "| $30,200 (2024) [\\[1\\]](#source-1) |" in linked_citations(rest, {1, 2})
    for no_lead in (
        "## Not found\n\nThe sources found say nothing about Wakanda.",
        "An uncited opening.\n\n- x [1]",
    ):
        assert report_parts(no_lead) == ("", no_lead)


def test_sources_show_a_link_or_the_corpus_location_and_escape_markdown():
    assert source_line(Source(title="A [b]", url="https://x.org/a")) == "[A \\[b\\]](https://x.org/a)"
    assert source_line(Source(title="Chile — Economy", location="factbook:ci/Economy")) == (
        "Chile — Economy — `factbook:ci/Economy`"
    )


def _bar(lane: str, kind: str, start: float, end: float | None, **extra: object) -> TimelineBar:
    return TimelineBar(
        workflow_id=f"r-{lane}", lane=lane, kind=kind, label=kind, started_at=T0 + timedelta(seconds=start),
        finished_at=None if end is None else T0 + timedelta(seconds=end), **extra,  # type: ignore[arg-type]
    )  # fmt: skip


def test_the_timeline_has_a_row_per_workflow_and_marks_crashes():
    bars = [
        _bar("run", "workflow", 0, None),
        _bar("plan", "model request", 0.1, 1.0),
        _bar("search 1", "search", 1.2, 1.3, recovered=True),
        _bar("search 2", "model request", 1.2, 1.4, failed=True),
    ]
    now = T0 + timedelta(seconds=5)
    frame = timeline_frame(bars, now)
    assert list(frame["lane"]) == ["run", "plan", "↻ search 1", "search 2"]
    assert list(frame["state"]) == ["running", "done", "done", "failed"]
    assert frame.iloc[0]["end"] == now and frame.iloc[1]["ms"] == 900
    events = [
        WorkerEvent(at=T0 + timedelta(seconds=1.25), event="died", detail="killed by SIGKILL"),
        WorkerEvent(at=T0 - timedelta(hours=1), event="started"),  # before the run: not drawn
    ]
    spec = timeline_chart(bars, events, now).to_dict()  # type: ignore[union-attr]
    assert [layer["mark"]["type"] for layer in spec["layer"]] == ["bar", "rule"]
    (rules,) = [d for d in spec["datasets"].values() if d and "event" in d[0]]
    assert [r["event"] for r in rules] == ["worker died"]
    assert timeline_chart([], [], now) is None


def test_cost_estimates():
    usage = Usage(requests=2, input_tokens=10_000, output_tokens=2_000)
    assert estimate_cost({"offline": usage}).total_usd == 0
    priced = estimate_cost({"anthropic:claude-sonnet-4-5": usage, "google-gla:gemini-2.5-flash": usage})
    assert priced.total_usd > 0 and priced.unpriced == ()
    unknown = estimate_cost({"openai:my-local-llama": usage})
    assert unknown.unpriced == ("openai:my-local-llama",) and "unpriced" in unknown.describe()


def test_a_page_read_is_listed_with_its_reason_and_passages_escaped():
    refused = PageRead(url="http://10.0.0.1/admin", status="refused", reason="10.0.0.1 is a private address")
    fetched = PageRead(
        url="https://tides.example.org/a",
        status="fetched",
        title="**Tides** [click](javascript:alert(1))",
        passages=["The light was *first* lit in 1841 <script>alert(1)</script>"],
    )
    read_back = re.sub(r"\\(.)", r"\1", page_lines(refused))  # Markdown's escapes, as a reader sees them
    assert "refused" in read_back and "10.0.0.1 is a private address" in read_back
    shown = page_lines(fetched)
    assert "\\*\\*Tides\\*\\*" in shown and "\\[click\\]" in shown  # markup shown as text, not followed
    assert "  - “The light was \\*first\\* lit in 1841" in shown


def test_a_source_links_only_a_web_address_and_shows_its_passage_escaped():
    web = NumberedSource(
        number=1, title="Tides", url="https://tides.example.org/a", passages=["Lit in <b>1841</b>."]
    )
    script = NumberedSource(number=2, title="Trap", url="javascript:alert(1)")
    assert '<a href="https://tides.example.org/a"' in _source_anchor(web)
    assert "<blockquote" in _source_anchor(web) and "&lt;b&gt;1841&lt;/b&gt;" in _source_anchor(web)
    assert "<a " not in _source_anchor(script) and "javascript:alert(1)" in _source_anchor(script)
