import os
import platform
import stat
from pathlib import Path

import pytest

from research_agent.corpus import (
    CorpusError,
    choose_collection,
    corpus_choices,
    index_folder,
    list_collections,
    open_collection,
    preload_collections,
    resolve_collection,
)


def test_factbook_passages_are_titled_by_country_and_field(index_dir: Path):
    factbook = open_collection("factbook", index_dir)
    assert len(factbook.passages) > 30_000
    assert {"Chile", "Peru", "Nigeria", "Niger"} <= set(factbook.entities)
    passage = next(p for p in factbook.passages if p.location == "factbook:ci/Economy/Exports")
    assert passage.title == "Chile — Economy — Exports" and passage.entity == "Chile"


def test_entities_are_found_in_order_and_longer_names_win(index_dir: Path):
    factbook = open_collection("factbook", index_dir)
    assert factbook.entities_in("Peru, then Chile; Nigeria not Niger") == [
        "Peru",
        "Chile",
        "Nigeria",
        "Niger",
    ]
    assert factbook.entities_in("the economy of South Africa") == ["South Africa"]


def test_a_query_naming_a_country_only_returns_its_passages(index_dir: Path):
    hits = open_collection("factbook", index_dir).search("Chile GDP growth rate", k=5)
    assert len(hits) == 5
    assert all(p.entity == "Chile" for p, _ in hits)
    assert hits[0][0].title == "Chile — Economy — Real GDP growth rate"
    assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)


def test_a_query_of_stop_words_returns_nothing(index_dir: Path):
    assert open_collection("factbook", index_dir).search("the of and", k=5) == []


def _write_docs(root: Path) -> None:
    (root / "sub").mkdir(parents=True)
    (root / "volcanoes.md").write_text(
        "# Volcanoes\n\nIntro text.\n\n## Etna\n\nEtna erupts often on Sicily.\n"
    )
    (root / "sub" / "rivers.txt").write_text(
        "The Danube flows through ten countries.\n\nIt ends in the Black Sea."
    )
    (root / "page.html").write_text(
        "<html><head><title>Glaciers</title><style>x{}</style></head>"
        "<body><h1>Alps</h1><p>The Aletsch glacier is the largest in the Alps.</p></body></html>"
    )
    (root / "image.png").write_bytes(b"\x89PNG")


def test_index_a_folder_of_documents(tmp_path: Path):
    docs = tmp_path / "docs"
    _write_docs(docs)
    collection = index_folder(docs, "notes", tmp_path / "idx")
    assert collection.manifest["files"] == 3
    titles = {p.title for p in collection.passages}
    assert "Volcanoes — Etna" in titles and "Glaciers — Alps" in titles and "rivers" in titles
    best, _ = collection.search("Aletsch glacier", k=1)[0]
    assert best.location == "page.html#Alps"
    assert list_collections(tmp_path / "idx") == ["notes"]
    # A second open reads the cache instead of rebuilding.
    assert open_collection("notes", tmp_path / "idx").manifest["built_at"] == collection.manifest["built_at"]


def test_missing_and_empty_folders_are_clear_errors(tmp_path: Path):
    with pytest.raises(CorpusError, match="does not exist"):
        index_folder(tmp_path / "nope", "x", tmp_path / "idx")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "a.png").write_bytes(b"x")
    with pytest.raises(CorpusError, match=r"no \.md, \.txt or \.html files"):
        index_folder(tmp_path / "empty", "x", tmp_path / "idx")
    (tmp_path / "binary").mkdir()
    (tmp_path / "binary" / "a.txt").write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(CorpusError, match="none readable"):
        index_folder(tmp_path / "binary", "x", tmp_path / "idx")


def test_unknown_collection_names_the_fix(tmp_path: Path):
    with pytest.raises(CorpusError, match="deep-research index PATH --name mine"):
        open_collection("mine", tmp_path)
    with pytest.raises(CorpusError, match="invalid collection name"):
        open_collection("../etc", tmp_path)


def test_a_corrupt_index_is_rebuilt_from_its_folder(tmp_path: Path):
    docs = tmp_path / "docs"
    _write_docs(docs)
    index_folder(docs, "notes", tmp_path / "idx")
    (tmp_path / "idx" / "notes" / "passages.jsonl").write_text("{not json")
    rebuilt = open_collection("notes", tmp_path / "idx")
    assert rebuilt.search("Danube", k=1)[0][0].title == "rivers"


def test_a_corrupt_index_whose_folder_is_gone_says_how_to_rebuild(tmp_path: Path):
    docs = tmp_path / "docs"
    _write_docs(docs)
    index_folder(docs, "notes", tmp_path / "idx")
    (tmp_path / "idx" / "notes" / "passages.jsonl").write_text("{not json")
    for file in sorted(docs.rglob("*"), reverse=True):
        file.rmdir() if file.is_dir() else file.unlink()
    docs.rmdir()
    with pytest.raises(CorpusError, match="corrupt; rebuild it with"):
        open_collection("notes", tmp_path / "idx")


def test_preloading_opens_what_a_corpus_option_searches(tmp_path: Path, index_dir: Path):
    assert preload_collections("auto", index_dir) == ["factbook", "pydoc"]
    docs = tmp_path / "docs"
    _write_docs(docs)
    index_folder(docs, "notes", tmp_path / "idx")
    assert preload_collections("notes", tmp_path / "idx") == ["notes"]
    with pytest.raises(CorpusError, match="deep-research index PATH --name mine"):
        preload_collections("mine", tmp_path / "idx")


def test_a_corrupt_factbook_index_is_rebuilt(tmp_path: Path, index_dir: Path):
    import shutil

    copy = tmp_path / "idx"
    shutil.copytree(index_dir / "factbook", copy / "factbook")
    (copy / "factbook" / "manifest.json").write_text("garbage")
    assert len(open_collection("factbook", copy).passages) > 30_000


def test_the_pydoc_collection_holds_this_pythons_topics_and_docstrings(index_dir: Path):
    pydoc = open_collection("pydoc", index_dir)
    assert pydoc.manifest["source"] == f"python {platform.python_version()}"
    by_location = {p.location: p for p in pydoc.passages}
    assert by_location["pydoc:topic/with"].title == 'The "with" statement'
    dumps = by_location["pydoc:json.dumps"]
    assert dumps.text.startswith("json.dumps(obj, *,") and "JSON formatted" in dumps.text
    assert "pydoc:str.split" in by_location and "pydoc:pathlib.Path.glob" in by_location
    assert not pydoc.entities  # module names are everyday words: no search is narrowed to them
    hits = pydoc.search("serialize an object to a JSON formatted string", k=5)
    assert "pydoc:json.dumps" in [p.location for p, _ in hits]


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Compare the economies of Chile and Peru", "factbook"),
        ("What is the population of Japan?", "factbook"),
        ("How does json.dumps handle non-ASCII characters?", "pydoc"),
        ("What does the with statement do?", "pydoc"),
        ("What is the capital of Wakanda?", "factbook"),  # unknown words weigh nothing either way
    ],
)
def test_auto_chooses_the_collection_a_question_fits(index_dir: Path, question: str, expected: str):
    assert choose_collection(question, index_dir) == expected
    assert resolve_collection("auto", question, index_dir) == expected
    assert resolve_collection("factbook", question, index_dir) == "factbook"


def test_bundled_names_and_auto_are_not_free_for_a_folder(tmp_path: Path):
    _write_docs(tmp_path / "docs")
    for name in ("factbook", "pydoc", "auto"):
        with pytest.raises(CorpusError, match="bundled collection"):
            index_folder(tmp_path / "docs", name, tmp_path / "idx")
    index_folder(tmp_path / "docs", "notes", tmp_path / "idx")
    assert corpus_choices(tmp_path / "idx") == ["auto", "factbook", "pydoc", "notes"]


# --- a folder is read as documents, and only its own (issue 19) -----------------------------------------


def _skipped(collection_manifest: dict[str, object]) -> str:
    skipped = collection_manifest["skipped"]
    assert isinstance(skipped, list)
    return "\n".join(str(note) for note in skipped)


def test_links_out_of_the_folder_are_skipped_with_a_note(tmp_path: Path):
    docs, outside = tmp_path / "docs", tmp_path / "outside"
    _write_docs(docs)
    outside.mkdir()
    (outside / "secret.txt").write_text("The vault code is TOPSECRET-1234.\n")
    (outside / "more.md").write_text("# Hidden\n\nTOPSECRET-5678 lives here.\n")
    (docs / "secret.txt").symlink_to(outside / "secret.txt")
    (docs / "environ.txt").symlink_to("/proc/self/environ")
    (docs / "linked").symlink_to(outside, target_is_directory=True)
    (docs / "again.md").symlink_to(docs / "volcanoes.md")  # a link that stays inside is read
    (docs / "loop.md").symlink_to(docs / "round.md")
    (docs / "round.md").symlink_to(docs / "loop.md")
    collection = index_folder(docs, "notes", tmp_path / "idx")
    text = "\n".join(p.text for p in collection.passages)
    assert "TOPSECRET" not in text and "PATH=" not in text
    assert any(p.location.startswith("again.md#") for p in collection.passages)
    skipped = _skipped(collection.manifest)
    assert "secret.txt: a link to outside the folder" in skipped
    assert "environ.txt: a link to outside the folder" in skipped
    assert "linked: a link to outside the folder" in skipped
    assert "loop.md: a link that leads round in a loop" in skipped
    stored = (tmp_path / "idx" / "notes" / "passages.jsonl").read_text()
    assert "TOPSECRET" not in stored


def test_special_files_are_skipped_with_a_note(tmp_path: Path):
    docs = tmp_path / "docs"
    _write_docs(docs)
    os.mkfifo(docs / "pipe.txt")  # opening a fifo to read it would wait for a writer forever
    (docs / "zero.txt").symlink_to("/dev/zero")  # reading it never ends
    collection = index_folder(docs, "notes", tmp_path / "idx")
    assert collection.manifest["files"] == 3
    skipped = _skipped(collection.manifest)
    assert "pipe.txt: not a regular file" in skipped
    assert "zero.txt: a link to outside the folder" in skipped


def test_a_file_over_the_size_limit_is_skipped_and_the_total_is_capped(tmp_path: Path):
    docs = tmp_path / "docs"
    _write_docs(docs)
    (docs / "huge.txt").write_text("Lava flows. " * 200)  # 2,400 bytes
    collection = index_folder(docs, "notes", tmp_path / "idx", max_file_bytes=1_000)
    assert collection.manifest["files"] == 3 and "Lava" not in " ".join(p.text for p in collection.passages)
    assert "huge.txt: 2,400 bytes, over the limit of 1,000 bytes a file" in _skipped(collection.manifest)
    with pytest.raises(
        CorpusError, match=r"more than 2,000 bytes of document text \(at huge.txt\)"
    ) as refused:
        index_folder(docs, "notes", tmp_path / "idx", max_total_bytes=2_000)
    assert "RESEARCH_INDEX_MAX_TOTAL_MB" in str(refused.value)
    # The refused rebuild left the collection built before as it was.
    assert open_collection("notes", tmp_path / "idx").manifest["files"] == 3


def test_control_characters_are_dropped_when_indexing(tmp_path: Path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "esc\x1b[31m.md").write_text(
        "# Title \x1b]52;c;cHduZWQ=\x07here\n\nBody\x1b[2J text\r\nwith\ttabs\x9b and \x00nul.\n"
    )
    collection = index_folder(docs, "notes", tmp_path / "idx")
    (passage,) = collection.passages
    fields = [passage.title, passage.entity, passage.location, passage.text]
    assert not any(ch in field for field in fields for ch in "\x1b\x07\x9b\x00\r")
    assert passage.title == "Title ]52;c;cHduZWQ=here" and passage.text == "Body[2J text with tabs and nul."
    assert passage.location.startswith("esc[31m.md#")


def test_an_index_is_readable_by_its_owner_only(tmp_path: Path):
    docs = tmp_path / "docs"
    _write_docs(docs)
    index_folder(docs, "notes", tmp_path / "idx")
    assert stat.S_IMODE((tmp_path / "idx").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "idx" / "notes").stat().st_mode) == 0o700


@pytest.mark.parametrize("name", ["notes.building", "notes.lock", "NOTES.LOCK"])
def test_names_of_an_indexs_working_files_are_refused(tmp_path: Path, name: str):
    # Indexing "notes" replaces the directory "notes.building" and locks "notes.lock": a collection of
    # either name would be deleted (or break the lock) by the next build of "notes".
    docs = tmp_path / "docs"
    _write_docs(docs)
    with pytest.raises(CorpusError, match=r"may not end in \.building or \.lock"):
        index_folder(docs, name, tmp_path / "idx")
    with pytest.raises(CorpusError, match=r"may not end in \.building or \.lock"):
        open_collection(name, tmp_path / "idx")
