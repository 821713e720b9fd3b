"""The offline analyst's report: cited excerpts of the sources, and a plain "not found" when they miss.

Every sentence of the report is a span copied from a source's snippet and cited, so nothing in it can be
invented. When the question names something the sources never mention and the collection barely knows
(a made-up country, another product's name), the report says so first instead of passing off the
nearest material as an answer.
"""

from __future__ import annotations

import re

from .corpus import Collection
from .corpus._collection import tokenize
from .schema import CITATION_PATTERN, NumberedSource, ReportDraft

_PIECE = re.compile(r"[^;]+?(?:[.!?](?=\s+[A-Z(])|;|$)", re.DOTALL)
_EXCERPT_CHARS = 320
# A word the report may quote back: letters, maybe joined by ' . or -. Tokens with digits or underscores
# (an id, a pasted key) are never repeated into the report, where they would be stored and traced.
_WORD = re.compile(r"[^\W\d_]+(?:['’.-][^\W\d_]+)*")
_RARE = 0.002
"""Share of a collection's passages below which a capitalised word counts as a name it barely knows."""


def without_entities(text: str, entities: list[str]) -> str:
    """`text` with the names of `entities` blanked out."""
    for entity in entities:
        text = re.sub(re.escape(entity), " ", text, flags=re.IGNORECASE)
    return text


def excerpt(text: str, query_tokens: set[str]) -> str:
    """The span of `text` around its sentence (or `;`-separated item) that shares most stemmed words with
    the query, widened over neighbouring pieces up to `_EXCERPT_CHARS` (whitespace tidied)."""
    spans = [(m.start(), m.end()) for m in _PIECE.finditer(text) if text[m.start() : m.end()].strip(" ;")]
    # Factbook notes explain a field's definition rather than state a fact about the country.
    usable = [not text[a:b].strip().lower().startswith("note:") for a, b in spans]
    if not spans:
        return ""
    candidates = [i for i in range(len(spans)) if usable[i]] or list(range(len(spans)))
    best = max(candidates, key=lambda i: (len(query_tokens & set(tokenize([text[slice(*spans[i])]])[0])), -i))
    first = last = best
    grew = True
    while grew:  # alternately take the next and the previous piece while they fit
        grew = False
        for step in (last + 1, first - 1):
            if 0 <= step < len(spans) and usable[step]:
                start, end = spans[min(first, step)][0], spans[max(last, step)][1]
                if end - start <= _EXCERPT_CHARS:
                    first, last, grew = min(first, step), max(last, step), True
    quoted = " ".join(text[spans[first][0] : spans[last][1]].split()).strip(" ;").rstrip(" …")
    if len(quoted) > _EXCERPT_CHARS:
        quoted = quoted[: quoted.rfind(" ", 0, _EXCERPT_CHARS)] + " …"
    return quoted


def unanswered_words(question: str, sources: list[NumberedSource], collection: Collection) -> list[str]:
    """Words of the question that name something the sources never mention and the collection barely
    knows: a word it has never seen, or a capitalised name (not the question's first word) in fewer than
    `_RARE` of its passages. Entities the collection knows are not counted: their gaps are reported apart."""
    text = without_entities(question, collection.entities_in(question))
    seen = {t for s in sources for t in tokenize([f"{s.title} {s.snippet}"], collection.keep_words)[0]}
    found: list[str] = []
    for position, raw in enumerate(text.split()):
        word = raw.strip("\"'’“”()[]{}.,;:!?")
        if not _WORD.fullmatch(word):
            continue
        tokens = tokenize([word], collection.keep_words)[0]
        if not tokens or any(t in seen for t in tokens):
            continue
        frequency = min(collection.document_frequency(t) for t in tokens)
        is_name = word[:1].isupper() and not (position == 0 and text.split()[0] == question.split()[0])
        if (
            frequency == 0 or (is_name and frequency < _RARE * len(collection.passages))
        ) and word not in found:
            found.append(word)
    return found


def _listed(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + f" or {words[-1]}"


def _bullet(source: NumberedSource, label: str, tokens: set[str], entity: str = "") -> str | None:
    # The entity's own name is in every piece about it, so it says nothing about which piece answers.
    query = (tokens | set(tokenize([source.title])[0])) - set(tokenize([entity])[0])
    quoted = excerpt(source.snippet, query)
    # Source text such as `items[0]` must not read as a citation of source 0.
    quoted = CITATION_PATTERN.sub(r"\\[\1\\]", quoted)
    return f"- **{label}**: {quoted.rstrip('.')}. [{source.number}]" if quoted else None


def write_report_offline(question: str, sources: list[NumberedSource], collection: Collection) -> ReportDraft:
    """An extractive report: per entity (or per search), one cited excerpt from each source; or, when the
    sources miss what the question names, a "not found" statement and the closest material."""
    unique: list[NumberedSource] = []
    for source in sources:  # a source cited by several searches appears once, where first listed
        if all(source.number != kept.number for kept in unique):
            unique.append(source)
    title = question.strip().rstrip("?.!") or "Research report"
    tokens = set(tokenize([question])[0])
    missing_words = unanswered_words(question, unique, collection)
    if missing_words:
        closest = [line for source in unique[:3] if (line := _bullet(source, source.title, tokens))]
        body = (
            f"## Not found\n\nThe sources found say nothing about {_listed(missing_words)}, so this question "
            f"cannot be answered from the '{collection.name}' collection."
        )
        if closest:
            body += "\n\n## Closest material (not an answer)\n\n" + "\n".join(closest)
        return ReportDraft(title=title, body=body)
    entities = collection.entities_in(question)
    groups: dict[str, list[NumberedSource]] = {entity: [] for entity in entities}
    for source in unique:
        owner = next((e for e in entities if source.title.startswith(e)), None)
        groups.setdefault(owner or "Findings", []).append(source)
    sections = []
    for heading, members in groups.items():
        lines = []
        for source in members:
            label = source.title.removeprefix(f"{heading} — ") if heading in entities else source.title
            if line := _bullet(source, label, tokens, heading if heading in entities else ""):
                lines.append(line)
        if lines:
            sections.append(f"## {heading}\n\n" + "\n".join(lines))
    missing = [entity for entity in entities if not groups.get(entity)]
    if missing:
        sections.append(
            "## Gaps\n\n" + "\n".join(f"- The sources found say nothing about {e}." for e in missing)
        )
    if not sections:
        body = "The searches returned no sources, so the question cannot be answered from this corpus."
    else:
        body = "\n\n".join(sections)
    return ReportDraft(title=title, body=body)
