"""A finished run's report as a file a person hands on: Markdown, PDF or Word (.docx).

One entry for every client (the CLI's `export`, the UI's download buttons, the HTTP API): `render_export`
turns a run's `ResearchStatus` into the file's bytes; `MEDIA_TYPES` and `file_name` say what to call and
label it. Every format carries the question as its title, the report, the numbered sources with their
links and quoted passages, and the run's facts (models, date, citation check). The PDF and Word writers
import their libraries only when asked for that format, so a client that never exports pays nothing.
"""

from __future__ import annotations

import re
from typing import Literal, get_args

from ..schema import ResearchReport, ResearchStatus
from .content import ExportError, export_content

ExportFormat = Literal["md", "pdf", "docx"]
EXPORT_FORMATS: tuple[ExportFormat, ...] = get_args(ExportFormat)
MEDIA_TYPES: dict[ExportFormat, str] = {
    "md": "text/markdown; charset=utf-8",
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}
_UNSAFE_IN_FILE_NAMES = re.compile(r"[^A-Za-z0-9._-]+")


def render_export(status: ResearchStatus, fmt: ExportFormat) -> bytes:
    """The report of `status` as a file of format `fmt`; `ExportError` when the run has no report."""
    if fmt not in EXPORT_FORMATS:
        raise ExportError(f"unknown export format {fmt!r}: use one of {', '.join(EXPORT_FORMATS)}")
    content = export_content(status)  # checks that there is a report, for every format
    if fmt == "md":
        assert status.report is not None
        return _markdown(status.report, content.about).encode("utf-8")
    if fmt == "pdf":
        from .pdf import render_pdf

        return render_pdf(content)
    from .word import render_docx

    return render_docx(content)


def _markdown(report: ResearchReport, about: list[tuple[str, str]]) -> str:
    """The report's own Markdown (as `deep-research show` prints it) with the run's facts at the end."""
    facts = "\n".join(f"- **{label}**: {value}" for label, value in about)
    return f"{report.to_markdown()}\n## About this run\n\n{facts}\n"


def file_name(status: ResearchStatus, fmt: ExportFormat) -> str:
    """A file name for the export of `status`: `research-RUN_ID.FORMAT`, safe on every file system."""
    stem = _UNSAFE_IN_FILE_NAMES.sub("-", status.run_id).strip(".-") or "run"
    return f"research-{stem}.{fmt}"


__all__ = [
    "EXPORT_FORMATS",
    "MEDIA_TYPES",
    "ExportError",
    "ExportFormat",
    "file_name",
    "render_export",
]
