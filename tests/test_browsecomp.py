"""The BrowseComp-Plus loader and runner on a small fixture in the benchmark's own layout
(tests/fixtures/browsecomp_plus): queries, a fixed collection searched offline as a BM25 corpus, qrels."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from research_agent.evaluation import browsecomp
from research_agent.evaluation.runner import evaluation_options, evaluation_settings
from research_agent.options import InputError
from research_agent.settings import Settings

FIXTURE = Path(__file__).parent / "fixtures" / "browsecomp_plus"


def test_the_loader_reads_queries_answers_qrels_and_the_collection():
    data = browsecomp.load_browsecomp(FIXTURE)
    assert [q.query_id for q in data.queries] == ["q1", "q2"]
    first = data.queries[0]
    assert first.answer == "Maren Solvik" and first.gold == ["d101"] and first.evidence == ["d101", "d102"]
    assert sorted(d.docid for d in data.documents) == ["d101", "d102", "d103", "d201", "d202", "d203"]
    passages = browsecomp.document_passages(data.documents[0])
    assert passages[0].title == "Kestrel Point Lighthouse" and passages[0].location == "bcp:d101#0"
    assert browsecomp.docid_of("bcp:d101#0") == "d101" and browsecomp.docid_of("factbook:ci") is None


def test_without_corpus_jsonl_the_decrypted_files_documents_are_the_collection(tmp_path: Path):
    shutil.copytree(FIXTURE, tmp_path / "bcp")
    (tmp_path / "bcp" / "corpus.jsonl").unlink()
    data = browsecomp.load_browsecomp(tmp_path / "bcp")
    assert len(data.documents) == 6


def test_bad_layouts_get_one_clear_message(tmp_path: Path):
    with pytest.raises(InputError, match="no BrowseComp-Plus queries"):
        browsecomp.load_browsecomp(tmp_path)
    shutil.copytree(FIXTURE, tmp_path / "bcp")
    (tmp_path / "bcp" / "topics-qrels" / "qrel_golds.txt").write_text("q1 d101 1\n")
    with pytest.raises(InputError, match="TREC qrels"):
        browsecomp.load_browsecomp(tmp_path / "bcp")


def test_the_runner_scores_each_query_as_a_real_run(settings: Settings):
    data = browsecomp.load_browsecomp(FIXTURE)
    settings = evaluation_settings(settings)
    assert browsecomp.index_browsecomp(data, settings.indexes) == 6
    settings = settings.model_copy(update={"corpus": browsecomp.COLLECTION})
    options = evaluation_options(settings, "offline")
    assert options.corpus == browsecomp.COLLECTION
    figures = browsecomp.run_browsecomp(data, settings, options, label="bcp-test")
    assert [s.query_id for s in figures.scores] == ["q1", "q2"]
    # The offline pipeline finds every judged document and states both answers, citing only what it read.
    assert figures.mean("gold_recall") == 1.0
    assert figures.mean("evidence_recall") == 1.0
    assert figures.mean("answered") == 1.0
    assert figures.mean("citation_precision") == 1.0
    assert all(s.requests > 0 and s.tokens > 0 for s in figures.scores)
