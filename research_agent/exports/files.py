"""Saving an export where a person asked: the format read from the file name when not given, a folder
taken to mean "put it in there", an existing file kept unless overwriting was asked for, and the file
written whole or not at all (a temporary file beside it, then renamed), so an export that fails half-way
never leaves a truncated PDF behind or clobbers the file that was there.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from ..schema import ResearchStatus
from . import EXPORT_FORMATS, ExportError, ExportFormat, file_name

STDOUT = Path("-")


def export_format(given: ExportFormat | None, output: Path | None) -> ExportFormat:
    """`given`, else the format `output`'s extension names, else PDF; an error when the two disagree."""
    suffix = output.suffix.lower().lstrip(".") if output is not None and output != STDOUT else ""
    named = next((fmt for fmt in EXPORT_FORMATS if fmt == suffix), None)
    if given is not None and named is not None and given != named:
        raise ExportError(
            f"{output} ends in .{named} but --format is {given}; change one of them so that they agree"
        )
    return given or named or "pdf"


def export_path(output: Path | None, status: ResearchStatus, fmt: ExportFormat) -> Path:
    """Where to write: `output`, or the default file name inside `output` (a folder) or the working folder."""
    if output is None:
        return Path(file_name(status, fmt))
    if output.is_dir():
        return output / file_name(status, fmt)
    return output


def write_export(data: bytes, path: Path, force: bool) -> Path:
    """Write `data` to `path` atomically; `ExportError` naming the fix when the file exists (without
    `force`) or cannot be written."""
    if path.exists() and not force:
        raise ExportError(f"{path} already exists; pass --force to overwrite it, or -o to write elsewhere")
    folder = path.parent
    if not folder.is_dir():
        raise ExportError(f"cannot write {path}: the folder {folder} does not exist")
    try:
        descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".part")
    except OSError as error:
        raise ExportError(f"cannot write in {folder}: {error.strerror or error}") from None
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, path)
    except OSError as error:
        Path(temporary).unlink(missing_ok=True)
        raise ExportError(f"cannot write {path}: {error.strerror or error}") from None
    return path


def _umask() -> int:
    """The process's umask (mkstemp makes files only the owner can read; an export is an ordinary file)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask
