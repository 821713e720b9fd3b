"""Files and directories only their owner can open: the database, its WAL, the indexes and their passages.

On a machine shared with other users, a run's questions, reports and indexed documents are nobody else's
business, and a database others can write is one they can plant values in (see `unpickling`). Everything
deep-research creates for itself is therefore made 0600 inside 0700 directories. Directories that already
exist keep their permissions: a database put in `/tmp` must not make `/tmp` private.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

FILE_MODE = 0o600
DIRECTORY_MODE = 0o700


def private_directory(path: Path) -> Path:
    """Create `path` and any missing parent as owner-only directories; return `path`."""
    missing: list[Path] = []
    for directory in (path, *path.parents):
        if directory.exists():
            break
        missing.append(directory)
    for directory in reversed(missing):
        with contextlib.suppress(FileExistsError):  # made by another process just now
            directory.mkdir(mode=DIRECTORY_MODE)
    return path


def create_private_file(path: Path) -> None:
    """Create `path` empty and owner-only unless it exists (its parents as `private_directory`)."""
    private_directory(path.parent)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))


def write_private_text(path: Path, text: str) -> None:
    """Write `text` to `path`, creating it owner-only (an existing file keeps its permissions)."""
    create_private_file(path)
    path.write_text(text)
