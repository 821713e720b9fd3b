"""The offline analyst's long report: an outline from the findings, each section from its own sources, and
an opening summary from the sections.

Like the one-answer report (`_offline_report.py`) nothing here is canned: the outline groups the sources
that bear on the question (`relevant_sources`) by the aspect they hold (a Factbook field: "Exports -
commodities", one section comparing every country on it) or, without aspects, by the document they come
from; a section states, with its citation, what each of its own sources says (a comparison computed from
two cited figures first); the summary is the first statement of the opening sections, citations and all.
A question the sources do not answer gets an outline without sections, and the workflow then writes the
usual report, which says so.
"""

from __future__ import annotations

import re

from ._offline_report import (
    _comparison,
    _Found,
    _safe,
    _shortened,
    _statement,
    excerpt,
    lead_sentences,
    relevant_sources,
    unanswered_words,
)
from .corpus import Collection
from .corpus._collection import tokenize
from .corpus.question import understand
from .corpus.vocabulary import VOCABULARIES, Vocabulary
from .schema import CITATION_PATTERN, NumberedSource, OutlineSection, ReportOutline, SectionDraft

MAX_SECTIONS = 8
"""Most sections an offline outline plans (the rest of the material would be a ninth, tenth, ...)."""
SUMMARY_SECTIONS = 2
"""Sections whose first statement makes the summary: an answer of one or two sentences, as a lead is."""
_LEAD_CHARS = 240
SUMMARY_CHARS = 360
"""A section's first cited paragraph up to this long enters the summary whole, else its first sentence."""


def _unique(sources: list[NumberedSource]) -> list[NumberedSource]:
    """Each source once (several searches may list it), where first listed."""
    seen: set[int] = set()
    return [s for s in sources if not (s.number in seen or seen.add(s.number))]  # type: ignore[func-returns-value]


def _group_key(found: _Found) -> str:
    """What a source's section is about: its field (an aspect of the entities), else its document."""
    return found.field or found.source.title.split(" — ")[0]


def _heading(found: _Found, collection: Collection) -> str:
    """A field's label ("Exports - commodities": "exports"), capitalised; else the document's title."""
    vocabulary = VOCABULARIES.get(collection.name, Vocabulary(()))
    if not found.field:
        return _safe(_group_key(found))  # a document's name as written (`json.dumps`)
    label = vocabulary.label(found.field)
    return _safe(label[:1].upper() + label[1:])


def outline_offline(question: str, sources: list[NumberedSource], collection: Collection) -> ReportOutline:
    """Sections grouping the relevant sources by aspect (or document), in the order the research found them;
    no section when no source bears on the question or it names what the sources never mention."""
    title = question.strip().rstrip("?.!") or "Research report"
    understanding = understand(question, collection)
    found = relevant_sources(understanding, _unique(sources), collection)
    if not found or unanswered_words(question, [f.source for f in found], collection, understanding):
        return ReportOutline(title=title)
    groups: dict[str, list[_Found]] = {}
    for item in found:
        groups.setdefault(_group_key(item), []).append(item)
    # What the question names or means comes first (`json.dumps` before `pickle.dumps`), else search order.
    places = list(understanding.fields)

    def asked_first(members: list[_Found]) -> int:
        ranks = [
            places.index(place)
            for m in members
            for place in places
            if (m.source.location or "").startswith(place) or m.field == place
        ]
        return min(ranks, default=len(places))

    groups = dict(sorted(groups.items(), key=lambda group: asked_first(group[1])))
    sections = []
    for key, members in list(groups.items())[:MAX_SECTIONS]:
        entities = list(dict.fromkeys(m.entity for m in members if m.entity))
        about = f" of {' and '.join(entities)}" if entities else ""
        sections.append(
            OutlineSection(
                heading=_heading(members[0], collection),
                focus=f"What the sources say on {key}{about}.",
                sources=[m.source.number for m in members],
            )
        )
    return ReportOutline(title=title, sections=sections)


def write_section_offline(
    question: str, heading: str, sources: list[NumberedSource], collection: Collection
) -> SectionDraft:
    """The section from its own sources: for figures of one aspect, the comparison first, then each
    entity's statement; for documents, each one's answer to the question and a longer excerpt."""
    understanding = understand(question, collection)
    found = relevant_sources(understanding, _unique(sources), collection)
    vocabulary = VOCABULARIES.get(collection.name, Vocabulary(()))
    prose = collection.name != "factbook" and not understanding.wants_code
    paragraphs: list[str] = []
    fields = list(dict.fromkeys(f.field for f in found if f.field))
    for field in fields:
        row = [f for f in found if f.field == field]
        compared = _comparison(field, row, vocabulary) if len(row) > 1 else None
        if not compared:
            paragraphs.append(
                " ".join(_statement(f, vocabulary, frozenset(understanding.words)) for f in row)
            )
            continue
        # What follows the comparison is what each source says beyond it, and the figures it leaves out
        # (of three or more entities it names the highest and the lowest only).
        paragraphs.append(compared)
        details = []
        for item in row:
            shown = item.reading.shown if item.reading else ""
            more = excerpt(item.text, set(understanding.words)).rstrip(".")
            if more and more != shown and len(more) > len(shown) + 10:
                details.append(f"- **{_safe(item.entity)}**: {_safe(more)}. [{item.source.number}]")
            elif shown and shown not in compared:
                details.append(f"- **{_safe(item.entity)}**: {_safe(shown)}. [{item.source.number}]")
        if details:
            paragraphs.append("\n".join(details))
    words = set(understanding.unknown) or set(tokenize([f"{question} {heading}"])[0])
    for item in (f for f in found if not f.field):
        name = item.source.title.rsplit(" — ", 1)[-1]
        lead = _shortened(lead_sentences(item.text, words, prose=prose), _LEAD_CHARS).rstrip(".")
        more = excerpt(item.text, words, prose=prose).rstrip(".")
        text = f"**{_safe(name)}**: {_safe(lead)}. [{item.source.number}]"
        if more and lead not in more and len(more.split()) > 3:
            text += f" {_safe(more)}. [{item.source.number}]"
        paragraphs.append(text)
    if not paragraphs:
        return SectionDraft(body=f"The sources given for this section say nothing on {heading.lower()}.")
    return SectionDraft(body="\n\n".join(paragraphs))


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z*])")


def summary_offline(sections: list[tuple[str, str]]) -> SectionDraft:
    """The opening summary: the first cited statement of each of the first sections, one paragraph."""
    statements = []
    for _, body in sections:
        paragraphs = [p for p in body.split("\n\n") if not p.lstrip().startswith(("-", "|", "#"))]
        sentences = [s for p in paragraphs for s in _SENTENCE_END.split(" ".join(p.split()))]
        cited = next((p for p in paragraphs if CITATION_PATTERN.search(p)), "")
        if not cited:
            continue
        flat = " ".join(cited.split())
        if len(flat) <= SUMMARY_CHARS:  # a whole statement, its citation at its end
            statements.append(flat)
        else:  # its first sentence, with the paragraph's first citation when the sentence has none
            first = next((s for s in sentences if s in flat), flat)
            mark = CITATION_PATTERN.search(flat)
            if not CITATION_PATTERN.search(first) and mark:
                first = f"{first} {mark.group(0)}"
            statements.append(first)
        if len(statements) == SUMMARY_SECTIONS:
            break
    return SectionDraft(body=" ".join(statements))
