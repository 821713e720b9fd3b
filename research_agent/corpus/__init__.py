"""Local document collections searched with BM25: the bundled CIA World Factbook and the user's own folders.

A collection is a list of passages (a titled piece of a document) plus a BM25 index over them, built once
and cached on disk under `Settings.index_dir / NAME`. `open_collection` loads it (building or rebuilding
the bundled one as needed); `index_folder` builds one from a folder of `.md`, `.txt` and `.html` files.
"""

from ._collection import Collection, CorpusError, Passage, index_folder, list_collections, open_collection

__all__ = ["Collection", "CorpusError", "Passage", "index_folder", "list_collections", "open_collection"]
