"""A page's text cut into passages, and the few that answer a search query.

A model reading a page needs the two or three paragraphs that bear on its question, not 50 kB of page.
Passages are paragraphs packed to roughly `MIN_CHARS`..`MAX_CHARS` (a heading stays with the text that
follows it; a huge paragraph is cut between sentences), ranked with BM25 over the page's own passages,
with the same tokenizer as the local corpus. Boilerplate that survived extraction (cookie notices, link
lists, copyright lines, crumbs) is dropped before ranking so it can never be among the best.
"""

from __future__ import annotations

import re

import bm25s
import numpy as np

from ..corpus._collection import tokenize

MIN_CHARS = 300
MAX_CHARS = 800
_SHORTEST = 40
"""Passages shorter than this are crumbs: a lone heading, a button label, a date."""
_SENTENCE_END = re.compile(r"(?:(?<=[.!?…])|(?<=[.!?…][\"'”’)\]]))\s+(?=[\"'“‘(\[]?[A-Z0-9])")
_BLANK_LINE = re.compile(r"\n\s*\n")
_SEPARATORS = re.compile(r"\s[|•·›»/]\s|\s[-–—]\s")
_CONSENT = re.compile(
    r"\b(cookies?|consent|accept( all)?|reject all|privacy (policy|settings|notice)|gdpr|"
    r"manage (your )?preferences|all rights reserved|terms (of (use|service)|and conditions)|"
    r"subscribe|newsletter|sign (in|up)|log ?in|javascript|your browser)\b",
    re.I,
)
_BOILERPLATE_CHARS = 400
"""Boilerplate is short; a long paragraph that mentions cookies is an article about them."""


def _paragraphs(text: str) -> list[str]:
    if _BLANK_LINE.search(text):
        # Blank lines separate paragraphs (plain text, PDF pages): single newlines are line wrapping.
        blocks = [" ".join(block.split()) for block in _BLANK_LINE.split(text)]
    else:
        # One paragraph per line (trafilatura's output).
        blocks = [" ".join(line.split()) for line in text.split("\n")]
    return [block for block in blocks if block]


def is_boilerplate(paragraph: str) -> bool:
    """A cookie or consent notice, a link list or a legal line, judged by its words and shape."""
    if len(paragraph) >= _BOILERPLATE_CHARS:
        return False
    if paragraph.startswith(("©", "(c)", "Copyright")):
        return True
    if len(_CONSENT.findall(paragraph)) >= 2:
        return True
    # A link list or breadcrumb flattened to text: "Home | News | Sport | Weather".
    pieces = _SEPARATORS.split(paragraph)
    return len(pieces) >= 4 and max(len(piece) for piece in pieces) < 40


def _sentence_chunks(paragraph: str) -> list[str]:
    """A paragraph longer than MAX_CHARS, cut between sentences (or between words, for a sentence that long)."""
    sentences: list[str] = []
    for sentence in _SENTENCE_END.split(paragraph):
        while len(sentence) > MAX_CHARS:
            cut = sentence.rfind(" ", MIN_CHARS, MAX_CHARS)
            cut = cut if cut > 0 else MAX_CHARS
            sentences.append(sentence[:cut].strip())
            sentence = sentence[cut:].strip()
        if sentence:
            sentences.append(sentence)
    return _pack(sentences, " ")


def _pack(pieces: list[str], joiner: str) -> list[str]:
    """Consecutive pieces joined until a passage is at least MIN_CHARS, never past MAX_CHARS."""
    packed: list[str] = []
    current = ""
    for piece in pieces:
        if current and (len(current) >= MIN_CHARS or len(current) + len(joiner) + len(piece) > MAX_CHARS):
            packed.append(current)
            current = ""
        current = f"{current}{joiner}{piece}" if current else piece
    if current:
        packed.append(current)
    return packed


def split_passages(text: str) -> list[str]:
    """The text's passages in page order, boilerplate left out."""
    pieces: list[str] = []
    for paragraph in _paragraphs(text):
        if is_boilerplate(paragraph):
            continue
        pieces.extend(_sentence_chunks(paragraph) if len(paragraph) > MAX_CHARS else [paragraph])
    return [passage for passage in _pack(pieces, "\n") if len(passage) >= _SHORTEST]


def best_passages(passages: list[str], query: str, k: int) -> list[str]:
    """The `k` passages that match `query` best, best first; ties (and no match at all) keep page order."""
    if k <= 0 or not passages:
        return []
    query_tokens = tokenize([query])[0]
    passage_tokens = tokenize(passages)
    if not query_tokens or len(passages) <= 1 or not any(passage_tokens):
        return passages[:k]
    retriever = bm25s.BM25()
    retriever.index(passage_tokens, show_progress=False)
    scores = np.asarray(retriever.get_scores(query_tokens))
    order = sorted(range(len(passages)), key=lambda i: (-float(scores[i]), i))
    return [passages[i] for i in order[:k]]
