"""Scoring this project on BrowseComp-Plus (Chen et al., 2025): its queries, its fixed document collection
and its relevance judgments, in the layout its repository and datasets use.

    DIR/topics-qrels/queries.tsv          query_id <TAB> query                (the decrypt script writes it)
    DIR/topics-qrels/qrel_evidence.txt    TREC qrels: query_id 0 docid relevance  (evidence documents)
    DIR/topics-qrels/qrel_golds.txt       the same for the gold documents (those holding the answer)
    DIR/data/browsecomp_plus_decrypted.jsonl   {query_id, query, answer, gold_docs, evidence_docs,
                                           negative_docs}: the answers (and documents, [{docid, text}])
    DIR/corpus.jsonl                       optional: the whole collection, {docid, text, url} a line (the
                                           `Tevatron/browsecomp-plus-corpus` dataset saved as JSON lines);
                                           without it the documents of the decrypted file are the collection

The collection becomes a BM25 corpus (`corpus.index_passages`, location `bcp:DOCID#k`) searched offline like
any other, and each query runs as a real `deep_research` run on it. Per query: whether the report states
the answer (normalised containment: a floor under the benchmark's LLM judge), recall of the evidence and
gold documents among what the searches retrieved, the share of citations the run's own check verified,
model requests and tokens.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from ..client import ResearchClient
from ..corpus import Passage, index_passages
from ..corpus.folder import split_paragraphs
from ..options import InputError
from ..runtime import worker
from ..schema import ResearchOptions, ResearchStatus, without_controls
from ..settings import Settings
from ._text import normalize, retrieved_sources
from .runner import CASE_TIMEOUT, EVAL_EXECUTOR

COLLECTION = "browsecomp-plus"
LOCATION_PREFIX = "bcp:"
MAX_PASSAGES_PER_DOCUMENT = 40
"""A web page of the collection is cut into at most this many passages (the rest is left out)."""
_TITLE_CHARS = 100


class Document(BaseModel):
    docid: str
    text: str
    url: str | None = None


class Query(BaseModel):
    query_id: str
    query: str
    answer: str = ""
    evidence: list[str] = Field(default_factory=list, description="Docids judged evidence.")
    gold: list[str] = Field(default_factory=list, description="Docids judged gold (hold the answer).")


@dataclass
class BrowseCompData:
    queries: list[Query]
    documents: list[Document]
    source: Path


def _qrels(path: Path) -> dict[str, list[str]]:
    """TREC qrels (`query_id 0 docid relevance`): the docids judged relevant (> 0) per query."""
    judged: dict[str, list[str]] = {}
    if not path.is_file():
        return judged
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 4:
            raise InputError(f"{path}:{number} is not a TREC qrels line (query_id 0 docid relevance)")
        query_id, _, docid, relevance = parts
        if int(relevance) > 0:
            judged.setdefault(query_id, []).append(docid)
    return judged


def _jsonl(path: Path) -> Iterator[dict[str, object]]:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                yield json.loads(line)
            except json.JSONDecodeError as error:
                raise InputError(f"{path}:{number} is not a JSON line ({error.msg})") from None


def load_browsecomp(root: Path) -> BrowseCompData:
    """The queries (with answers and judgments) and the document collection under `root`."""
    topics = root / "topics-qrels"
    queries_path = topics / "queries.tsv"
    decrypted = root / "data" / "browsecomp_plus_decrypted.jsonl"
    if not queries_path.is_file() and not decrypted.is_file():
        raise InputError(
            f"{root} holds no BrowseComp-Plus queries: expected topics-qrels/queries.tsv or "
            "data/browsecomp_plus_decrypted.jsonl (run the benchmark's decrypt script into this folder)"
        )
    rows = list(_jsonl(decrypted)) if decrypted.is_file() else []
    answers = {str(row.get("query_id")): str(row.get("answer", "")) for row in rows}
    texts: dict[str, str] = {}
    if queries_path.is_file():
        with queries_path.open(encoding="utf-8", newline="") as tsv:
            texts = {r[0]: r[1] for r in csv.reader(tsv, delimiter="\t") if len(r) >= 2}
    else:
        texts = {str(row.get("query_id")): str(row.get("query", "")) for row in rows}
    evidence, gold = _qrels(topics / "qrel_evidence.txt"), _qrels(topics / "qrel_golds.txt")
    queries = [
        Query(
            query_id=query_id,
            query=without_controls(text),
            answer=answers.get(query_id, ""),
            evidence=evidence.get(query_id, []),
            gold=gold.get(query_id, []),
        )
        for query_id, text in texts.items()
    ]
    documents: dict[str, Document] = {}
    try:
        if (root / "corpus.jsonl").is_file():
            for row in _jsonl(root / "corpus.jsonl"):
                document = Document.model_validate(row)
                documents[document.docid] = document
        else:  # the documents the decrypted file carries: a smaller collection, still with hard negatives
            for row in rows:
                for kind in ("gold_docs", "evidence_docs", "negative_docs"):
                    for item in row.get(kind) or []:  # type: ignore[attr-defined]
                        document = Document.model_validate(item)
                        documents.setdefault(document.docid, document)
    except ValidationError as error:
        raise InputError(f"a document of {root} lacks docid or text: {str(error).splitlines()[0]}") from None
    if not documents:
        raise InputError(f"{root} holds no documents: add corpus.jsonl ({{docid, text, url}} a line)")
    return BrowseCompData(queries=queries, documents=list(documents.values()), source=root)


def document_passages(document: Document) -> list[Passage]:
    """A document as passages titled by its first line, located `bcp:DOCID#k`."""
    text = without_controls(document.text)
    first = next((line.strip(" #\t") for line in text.splitlines() if line.strip(" #\t")), "")
    title = (first[:_TITLE_CHARS] or document.url or document.docid).strip()
    return [
        Passage(title=title, entity="", location=f"{LOCATION_PREFIX}{document.docid}#{k}", text=chunk)
        for k, chunk in enumerate(split_paragraphs(text))
        if k < MAX_PASSAGES_PER_DOCUMENT
    ]


def index_browsecomp(data: BrowseCompData, index_dir: Path, name: str = COLLECTION) -> int:
    """Index the collection as corpus `name`; returns its number of passages."""
    passages = [p for document in data.documents for p in document_passages(document)]
    collection = index_passages(passages, name, index_dir, kind="browsecomp-plus", source=str(data.source))
    return len(collection.passages)


def docid_of(location: str | None) -> str | None:
    """The docid a corpus location `bcp:DOCID#k` names (None for any other location)."""
    if not location or not location.startswith(LOCATION_PREFIX):
        return None
    return location.removeprefix(LOCATION_PREFIX).split("#", 1)[0]


@dataclass(frozen=True)
class QueryScore:
    query_id: str
    answered: bool | None
    """The report states the answer; None without an answer to compare."""
    evidence_recall: float | None
    gold_recall: float | None
    citation_precision: float | None
    requests: int
    tokens: int
    run_id: str


def _recall(judged: list[str], retrieved: set[str]) -> float | None:
    return None if not judged else sum(d in retrieved for d in judged) / len(judged)


def score_query(query: Query, status: ResearchStatus) -> QueryScore:
    """One query's figures from its run's final status."""
    retrieved = {d for s in retrieved_sources(status) if (d := docid_of(s.location)) is not None}
    report = status.report
    text = normalize(f"{report.title}\n{report.body}") if report else ""
    check = status.citations
    precision = None
    if check is not None and check.cited:
        precision = check.verified / (check.cited or 1)
    return QueryScore(
        query_id=query.query_id,
        answered=(normalize(query.answer) in text) if query.answer.strip() else None,
        evidence_recall=_recall(query.evidence, retrieved),
        gold_recall=_recall(query.gold, retrieved),
        citation_precision=precision,
        requests=status.usage.requests,
        tokens=status.usage.total_tokens,
        run_id=status.run_id,
    )


@dataclass
class BrowseCompFigures:
    scores: list[QueryScore] = field(default_factory=list)

    def mean(self, name: str) -> float | None:
        values = [float(v) for s in self.scores if (v := getattr(s, name)) is not None]
        return sum(values) / len(values) if values else None


def run_browsecomp(
    data: BrowseCompData,
    settings: Settings,
    options: ResearchOptions,
    *,
    limit: int | None = None,
    label: str = "bcp",
    on_query: Callable[[QueryScore], None] | None = None,
) -> BrowseCompFigures:
    """Run the first `limit` queries (all: None) as runs over the indexed collection and score them.

    `settings` should come from `runner.evaluation_settings`; `options` search the corpus the collection
    was indexed as (`index_browsecomp`)."""
    figures = BrowseCompFigures()
    chosen = data.queries[:limit] if limit else data.queries
    with worker(settings, EVAL_EXECUTOR), ResearchClient(settings) as client:
        for query in chosen:
            safe_id = "".join(ch if ch.isalnum() else "-" for ch in query.query_id)[:40]
            run_id = client.submit(query.query, options, f"{label}-{safe_id}")
            status = client.wait(run_id, timeout=CASE_TIMEOUT)
            score = score_query(query, status)
            figures.scores.append(score)
            if on_query is not None:
                on_query(score)
    return figures
