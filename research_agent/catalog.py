"""Which document collections exist: the names a run's corpus option may take.

Clients check a person's `--corpus` against this before a run is submitted, so it only looks at the
index directory and never loads an index (that is the engine's job, in `corpus/`).
"""

from __future__ import annotations

import re
from pathlib import Path

FACTBOOK = "factbook"
PYDOC = "pydoc"
BUNDLED_NAMES = (FACTBOOK, PYDOC)
"""The collections every install has (built on first use), in the order `auto` prefers them on a tie."""
AUTO = "auto"
"""Not a collection: the corpus option value that lets each run choose one by its question."""
WEB = "web"
"""Not a collection: what a run that searches the web tells its agents it searches (prompts' corpus tag)."""


_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
WORKING_SUFFIXES = (".building", ".lock")
"""What a build of collection NAME puts beside its directory: NAME.building (the index being written, which
replaces NAME when done) and NAME.lock (held while building). A collection named like one of these would be
deleted, or would break the lock, when the other is built."""


class CorpusError(Exception):
    """A collection cannot be built or opened; the message says how to fix it."""


def check_collection_name(name: str) -> str:
    """`name` if a collection may be called so, else `CorpusError` saying what a name looks like."""
    if not _NAME.match(name):
        raise CorpusError(
            f"invalid collection name {name!r}: use letters, digits, '-', '_' or '.' (at most 64 characters)"
        )
    if name.lower().endswith(WORKING_SUFFIXES):
        raise CorpusError(
            f"invalid collection name {name!r}: a name may not end in .building or .lock "
            "(the names of an index's working files); choose another --name"
        )
    return name


def _is_collection_name(name: str) -> bool:
    try:
        check_collection_name(name)
    except CorpusError:
        return False
    return True


def list_collections(index_dir: Path) -> list[str]:
    """The collections built in `index_dir` (bundled ones only once they were first used)."""
    if not index_dir.is_dir():
        return []
    return sorted(
        p.name for p in index_dir.iterdir() if _is_collection_name(p.name) and (p / "manifest.json").exists()
    )


def corpus_choices(index_dir: Path) -> list[str]:
    """Every value the corpus option takes: `auto`, the bundled collections, then the user's own."""
    return [
        AUTO,
        *BUNDLED_NAMES,
        *(name for name in list_collections(index_dir) if name not in BUNDLED_NAMES),
    ]
