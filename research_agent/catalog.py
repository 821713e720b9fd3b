"""Which document collections exist: the names a run's corpus option may take.

Clients check a person's `--corpus` against this before a run is submitted, so it only looks at the
index directory and never loads an index (that is the engine's job, in `corpus/`).
"""

from __future__ import annotations

from pathlib import Path

FACTBOOK = "factbook"
PYDOC = "pydoc"
BUNDLED_NAMES = (FACTBOOK, PYDOC)
"""The collections every install has (built on first use), in the order `auto` prefers them on a tie."""
AUTO = "auto"
"""Not a collection: the corpus option value that lets each run choose one by its question."""
WEB = "web"
"""Not a collection: what a run that searches the web tells its agents it searches (prompts' corpus tag)."""


class CorpusError(Exception):
    """A collection cannot be built or opened; the message says how to fix it."""


def list_collections(index_dir: Path) -> list[str]:
    """The collections built in `index_dir` (bundled ones only once they were first used)."""
    if not index_dir.is_dir():
        return []
    return sorted(p.name for p in index_dir.iterdir() if (p / "manifest.json").exists())


def corpus_choices(index_dir: Path) -> list[str]:
    """Every value the corpus option takes: `auto`, the bundled collections, then the user's own."""
    return [
        AUTO,
        *BUNDLED_NAMES,
        *(name for name in list_collections(index_dir) if name not in BUNDLED_NAMES),
    ]
