"""The run page's download buttons: the report as Markdown, PDF and Word, the same files `deep-research
export` writes.

The page reruns its script every second while a run is open, so a file is never built on a rerun: each
button is handed a function that Streamlit calls only when that button is clicked (deferred download).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from streamlit.delta_generator import DeltaGenerator

from research_agent.exports import MEDIA_TYPES, ExportFormat, file_name, render_export
from research_agent.schema import ResearchStatus

LABELS: dict[ExportFormat, str] = {"md": "Download report (.md)", "pdf": "PDF", "docx": "Word"}
HELP: dict[ExportFormat, str] = {
    "md": "The report as Markdown, with its sources and the run's facts.",
    "pdf": "The report as a PDF: sources with their links and quoted passages, and the run's facts.",
    "docx": "The report as a Word document (.docx), with its sources and the run's facts.",
}


def export_file(status: ResearchStatus, fmt: ExportFormat) -> Callable[[], bytes]:
    """What a button calls when clicked: the export of `status`, built then."""
    return partial(render_export, status, fmt)


def download_buttons(status: ResearchStatus, places: dict[ExportFormat, DeltaGenerator]) -> None:
    """One download button per format, each in its place (a column of the actions row)."""
    for fmt, place in places.items():
        place.download_button(
            LABELS[fmt],
            export_file(status, fmt),
            file_name=file_name(status, fmt),
            mime=MEDIA_TYPES[fmt],
            key="download" if fmt == "md" else f"download-{fmt}",
            help=HELP[fmt],
            width="stretch",
        )
