"""What an exported report holds, whatever the format: the title, the report's blocks, the numbered sources
with their links and quoted passages, and the facts about the run (models, dates, the citation check).

Built once from a `ResearchStatus`, every piece already cleaned and bounded (`text`), so the PDF and the
Word writers only lay it out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .. import __version__
from ..options import InputError
from ..schema import NumberedSource, Phase, ResearchStatus, citation_summary
from .blocks import Block, parse_report, safe_link
from .text import (
    MAX_PASSAGE_CHARS,
    MAX_PASSAGES,
    MAX_SOURCES,
    MAX_TITLE_CHARS,
    bounded_report,
    clean_text,
    one_line,
)

GENERATOR = f"deep-research {__version__}"


class ExportError(InputError):
    """A run that cannot be exported (yet); the message says why and what to do."""


@dataclass(frozen=True)
class SourceEntry:
    number: int
    title: str
    link: str | None
    """An http(s) address safe to link to; None for a corpus document or a refused address."""
    where: str
    """What to print for its place: the address, or the corpus location."""
    passages: tuple[str, ...]


@dataclass(frozen=True)
class ExportContent:
    title: str
    subtitle: str
    """One line under the title: date, run id, the citation check."""
    report_title: str | None
    """The report's own title when it is not just the question (with "Research:" before it); else None."""
    blocks: list[Block]
    sources: list[SourceEntry]
    about: list[tuple[str, str]]
    """The run's facts, label and value, in the order shown."""
    created: datetime | None


def export_content(status: ResearchStatus) -> ExportContent:
    """The export of `status`'s report, or `ExportError` when it has none."""
    report = status.report
    if report is None:
        raise ExportError(_no_report(status))
    sources = [_entry(source) for source in report.sources[:MAX_SOURCES]]
    title = one_line(status.question or report.title, MAX_TITLE_CHARS) or "Research report"
    report_title = one_line(report.title, MAX_TITLE_CHARS)
    when = status.updated_at or status.created_at
    check = citation_summary(status.citations) if status.citations else "citations: not checked"
    subtitle = " · ".join(part for part in (_date(when), f"run {clean_text(status.run_id)}", check) if part)
    return ExportContent(
        title=title,
        subtitle=subtitle,
        report_title=report_title if report_title and title not in report_title else None,
        blocks=parse_report(bounded_report(report.body), frozenset(s.number for s in sources)),
        sources=sources,
        about=_about(status),
        created=when,
    )


def _no_report(status: ResearchStatus) -> str:
    run = clean_text(status.run_id)
    if status.phase.finished:
        why = f": {one_line(status.error, 200)}" if status.error else ""
        return f"run {run} ended {status.phase.value} without a report{why}; there is nothing to export"
    return f"run {run} has no report yet (phase {status.phase.value}); export it once the run has finished"


def _entry(source: NumberedSource) -> SourceEntry:
    link = safe_link(source.url)
    quoted = source.passages or ([source.snippet] if source.snippet else [])
    passages = tuple(p for p in (one_line(text, MAX_PASSAGE_CHARS) for text in quoted[:MAX_PASSAGES]) if p)
    return SourceEntry(
        number=source.number,
        title=one_line(source.title, MAX_TITLE_CHARS) or "(untitled)",
        link=link,
        where=link or one_line(source.location or source.url or "", MAX_TITLE_CHARS),
        passages=passages,
    )


def _date(when: datetime | None) -> str:
    return when.strftime("%Y-%m-%d %H:%M UTC") if when else ""


def _about(status: ResearchStatus) -> list[tuple[str, str]]:
    options = status.options
    analyst = status.rewrite.analyst_model if status.rewrite and status.rewrite.analyst_model else None
    models = (
        f"planner {options.planner_model}, search {options.search_model}, "
        f"analyst {analyst or options.analyst_model}"
    )
    if options.offline:
        models += " (offline: the built-in models over the local corpus)"
    search = options.search_backend + (
        f", collection {options.corpus}" if options.search_backend == "corpus" else ""
    )
    done = sum(1 for s in status.searches if s.state.value == "done")
    rows = [
        ("Run", status.run_id),
        ("Status", status.phase.value + ("" if status.phase is Phase.COMPLETED else " (partial)")),
        ("Started", _date(status.created_at)),
        ("Finished", _date(status.updated_at) if status.phase.finished else ""),
        ("Models", models),
        ("Search", f"{search}; {done} of {len(status.searches)} searches done"),
        ("Citation check", citation_summary(status.citations) if status.citations else "not checked"),
        (
            "Usage",
            f"{status.usage.requests} model requests, {status.usage.total_tokens:,} tokens",
        ),
        ("Stopped early", status.stopped_early or ""),
        ("Plan review", status.plan_review or ""),
        ("Rewrite of", status.rewrite.original_run_id if status.rewrite else ""),
        ("Forked from", status.forked_from or ""),
        ("Exported by", GENERATOR),
    ]
    return [(label, one_line(value, 1000)) for label, value in rows if value]
