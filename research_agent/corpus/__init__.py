"""Local document collections searched with BM25: the bundled CIA World Factbook and Python documentation
(`pydoc`), and the user's own folders.

A collection is a list of passages (a titled piece of a document) plus a BM25 index over them, built once
and cached on disk under `Settings.index_dir / NAME`. `open_collection` loads it (building or rebuilding
a bundled one as needed); `index_folder` builds one from a folder of `.md`, `.txt` and `.html` files.
The corpus option `auto` stands for the collection a question fits best (`choose_collection`).
"""

from ..catalog import AUTO, CorpusError, corpus_choices, list_collections
from ._collection import (
    BUNDLED,
    Collection,
    choose_collection,
    index_folder,
    index_passages,
    open_collection,
    preload_collections,
    resolve_collection,
)
from ._types import Passage

__all__ = [
    "AUTO",
    "BUNDLED",
    "Collection",
    "CorpusError",
    "Passage",
    "choose_collection",
    "corpus_choices",
    "index_folder",
    "index_passages",
    "list_collections",
    "open_collection",
    "preload_collections",
    "resolve_collection",
]
