"""What a run's status says to an assistant: one line and one number per change, and the finished report.

The MCP server (`mcp_server`) sends these as progress notifications while a `deep_research` call follows a
run, and as the answers of `run_status` and `read_report`. Everything quoted from a run (its error, its
report) is stripped of control characters and bounded.
"""

from __future__ import annotations

from mcp.server.mcpserver.exceptions import ToolError

from .schema import Phase, ResearchStatus, SearchState, citation_summary, shortened, without_controls

_ENDED = (SearchState.DONE, SearchState.FAILED, SearchState.SKIPPED)


def searches_done(status: ResearchStatus) -> tuple[int, int]:
    """(searches that ended, searches planned so far) of a run."""
    return sum(s.state in _ENDED for s in status.searches), len(status.searches)


def progress_line(status: ResearchStatus) -> str:
    """One line saying where the run is, for a progress notification and `run_status`."""
    done, total = searches_done(status)
    match status.phase:
        case Phase.QUEUED:
            where = "queued, waiting for a worker"
        case Phase.PLANNING:
            where = "planning the searches"
        case Phase.AWAITING_APPROVAL:
            where = f"its plan awaits approval (deep-research approve {status.run_id})"
        case Phase.SEARCHING:
            where = f"searching, {done} of {total} searches done"
        case Phase.ANALYZING:
            extra = sum(s.extra for s in status.searches)
            where = "writing the report" + (f" ({extra} extra searches)" if extra else "")
        case Phase.COMPLETED:
            where = "completed" + (f"; {citation_summary(status.citations)}" if status.citations else "")
        case Phase.FAILED:
            where = f"failed: {error_text(status)}"
        case Phase.CANCELLED:
            where = "cancelled" + (f": {error_text(status)}" if status.error else "")
    return f"run {status.run_id}: {where}"


def progress_percent(status: ResearchStatus) -> float:
    """How far the run is, 0 to 100: planning is the first tenth, searches most of the rest."""
    done, total = searches_done(status)
    match status.phase:
        case Phase.QUEUED:
            return 0.0
        case Phase.PLANNING:
            return 5.0
        case Phase.AWAITING_APPROVAL:
            return 10.0
        case Phase.SEARCHING:
            return 10.0 + 75.0 * done / total if total else 10.0
        case Phase.ANALYZING:
            return 85.0
        case _:
            return 100.0


def error_text(status: ResearchStatus) -> str:
    """Why the run failed or was cancelled, on one bounded line."""
    return shortened(without_controls(status.error or status.phase.value), 500)


class ProgressTracker:
    """Turns a run's successive statuses into progress notifications: one per new line, with a progress
    value that always grows (the protocol requires it), reaching 100 only when the run has ended."""

    def __init__(self) -> None:
        self.progress = 0.0
        self.line: str | None = None

    def update(self, status: ResearchStatus) -> tuple[float, str] | None:
        """The (progress, message) to send for `status`, or None when it says nothing new."""
        line = progress_line(status)
        if line == self.line:
            return None
        self.line = line
        progress = max(progress_percent(status), self.progress + 0.1)
        self.progress = progress if status.phase.finished else min(progress, 99.9)
        return self.progress, line


def report_text(status: ResearchStatus) -> str:
    """A completed run's report as markdown (numbered sources with links and passages), and a closing line
    with the run id and the citation check."""
    if status.report is None:
        raise ToolError(f"run {status.run_id} ended without a report ({error_text(status)})")
    notes = [f"run {status.run_id}"]
    if status.citations is not None:
        notes.append(citation_summary(status.citations))
    if status.stopped_early:
        notes.append(f"stopped early: {shortened(without_controls(status.stopped_early), 300)}")
    return without_controls(status.report.to_markdown()) + "\n---\n" + " · ".join(notes) + "\n"
