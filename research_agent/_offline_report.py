"""The offline analyst's report: a cited lead answer, a comparison table, then the detail; or "not found".

Every figure and sentence of the report is copied from a source's text and cited, so nothing in it can be
invented; the only thing computed is a comparison's difference and ratio, from two cited figures. Only
sources that bear on what the question asks enter the report (`corpus.question.bears_on`): the entities it
names and the fields or documents its words mean. A field shown twice (the Factbook files "Climate" under
Geography and Environment) is shown once, and example code is left out of prose unless the question asks
for code. When the question names something the sources never mention and the collection barely knows (a
made-up country, another product's name), or when no source bears on it, the report says so instead of
passing off the nearest material as an answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .corpus import Collection
from .corpus._collection import tokenize
from .corpus.question import Understanding, bears_on, factbook_parts, understand
from .corpus.values import Reading, difference, latest_reading, tidy_series
from .corpus.vocabulary import VOCABULARIES, Vocabulary
from .schema import CITATION_PATTERN, NumberedSource, ReportDraft

_PIECE = re.compile(r"[^;]+?(?:[.!?](?=\s+[A-Z(])|;|$)", re.DOTALL)
_EXCERPT_CHARS = 320
_LEAD_CHARS = 240
_CELL_CHARS = 90
_TABLE_ROWS = 6
# A word the report may quote back: letters, maybe joined by ' . or -. Tokens with digits or underscores
# (an id, a pasted key) are never repeated into the report, where they would be stored and traced.
_WORD = re.compile(r"[^\W\d_]+(?:['’.-][^\W\d_]+)*")
_RARE = 0.002
"""Share of a collection's passages below which a capitalised word counts as a name it barely knows."""
_REMARK = re.compile(r"\s*\((?![^()]*\b(?:19|20)\d{2}\b)[^()]{16,}\)")
"""A long remark in parentheses ("(highest peak in Asia and ...)"): left out of a table cell."""
_GRAMMAR_RULE = re.compile(r"\b\w+ ::= ")
_PLAIN = re.compile(r"[A-Za-z][a-z]*[,.]?")
_QUOTED = re.compile(r'"\w+"')
_CODE_MARKS = re.compile(r">>>|::=|^\s*\$ |^\s*\.\.\. |\s#\s")
_CODE_SYMBOLS = re.compile(r"[=\[\]{}<>*#|\\]")
_CODE_WORD = re.compile(r"^=+$|\w\(|__\w|\w\.\w+\(|^[A-Z]{3,}[,:)]?$|^\w+:$")


def without_entities(text: str, entities: list[str]) -> str:
    """`text` with the names of `entities` blanked out."""
    for entity in entities:
        text = re.sub(re.escape(entity), " ", text, flags=re.IGNORECASE)
    return text


def is_code(piece: str) -> bool:
    """Whether a piece of documentation is example code, a grammar rule or a shell session, not prose:
    it has a prompt (`>>>`, `$`), a grammar rule (`::=`), or many words that only code has (`x = f(y)`,
    `__enter__`, `SUITE`)."""
    text = piece.strip()
    if _CODE_MARKS.search(text) or text.endswith("::"):
        return True
    words = text.split() or [""]
    if len(_CODE_SYMBOLS.findall(text)) / len(words) > 0.5:
        return True
    return sum(1 for word in words if _CODE_WORD.search(word)) / len(words) > 0.3


def without_grammar(text: str) -> str:
    """`text` without the grammar rules a language-reference topic starts with (`pass_stmt ::= "pass"`):
    each rule is cut up to where prose resumes, four plain words in a row (a quoted keyword before them
    kept: `"pass" is a null operation`)."""
    while (rule := _GRAMMAR_RULE.search(text)) is not None:
        tokens = list(re.finditer(r"\S+", text[rule.end() :]))
        resume = len(text)
        for index in range(len(tokens) - 3):
            if all(_PLAIN.fullmatch(t.group(0)) for t in tokens[index : index + 4]):
                back = index - 1 if index and _QUOTED.fullmatch(tokens[index - 1].group(0)) else index
                resume = rule.end() + tokens[back].start()
                break
        text = text[: rule.start()] + text[resume:]
    return text.strip()


def without_signature(text: str, title: str) -> str:
    """`text` without the call signature a docstring passage starts with (`json.dumps(obj, *, ...)`, or
    `time.perf_counter perf_counter() -> float` for a function written in C)."""
    name = title.rsplit(" — ", 1)[-1]
    short = name.rsplit(".", 1)[-1]
    native = re.match(rf"{re.escape(name)}\s+{re.escape(short)}\([^)]*\)(?:\s*->\s*\S+)?\s*", text)
    if native:
        return text[native.end() :]
    if not text.startswith(name + "("):
        return text
    depth = 0
    for index in range(len(name), len(text)):
        depth += {"(": 1, ")": -1}.get(text[index], 0)
        if depth == 0:
            return text[index + 1 :].strip()
    return text


def excerpt(text: str, query_tokens: set[str], prose: bool = False) -> str:
    """The span of `text` around its sentence (or `;`-separated item) that shares most stemmed words with
    the query, widened over neighbouring pieces up to `_EXCERPT_CHARS` (whitespace tidied). With `prose`,
    pieces of example code are left out."""
    spans = [(m.start(), m.end()) for m in _PIECE.finditer(text) if text[m.start() : m.end()].strip(" ;")]
    # Factbook notes explain a field's definition rather than state a fact about the country.
    # A snippet cut short (" …") ends in half a sentence.
    usable = [
        not text[a:b].strip().lower().startswith("note:")
        and not (prose and is_code(text[a:b]))
        and not (text.endswith(" …") and b == len(text) and len(spans) > 1)
        for a, b in spans
    ]
    if not spans or (prose and not any(usable)):
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


def lead_sentences(text: str, query_tokens: set[str], prose: bool = True) -> str:
    """The sentence of `text` that shares most words with the query (the first one on a tie), and the
    next when it is a whole sentence and both fit in `_LEAD_CHARS`: a lead answer of one or two sentences."""
    pieces = [
        " ".join(m.group(0).split()).strip(" ;")
        for m in _PIECE.finditer(text)
        if m.group(0).strip(" ;") and not m.group(0).strip().lower().startswith("note:")
    ]
    if text.endswith(" …") and len(pieces) > 1:  # a snippet cut short ends in half a sentence
        pieces.pop()
    usable = [p for p in pieces if not (prose and is_code(p))] or pieces
    if not usable:
        return ""
    best = max(range(len(usable)), key=lambda i: (len(query_tokens & set(tokenize([usable[i]])[0])), -i))
    lead = usable[best]
    if len(lead) > _LEAD_CHARS:  # a docstring without capitals after its full stops: its first sentence
        end = re.search(r"[.!?]\s", lead[20:])
        lead = lead[: 20 + end.start() + 1] if end else lead
    following = usable[best + 1] if best + 1 < len(usable) else ""
    if following[-1:] in ".!?" and following and len(lead) + len(following) < _LEAD_CHARS:
        lead = f"{lead} {following}"
    return lead


def _blanked(question: str, understanding: Understanding) -> str:
    text = question
    for mention in sorted(understanding.mentions, key=lambda m: -m.start):
        text = text[: mention.start] + " " + text[mention.end :]
    return text


def unanswered_words(
    question: str,
    sources: list[NumberedSource],
    collection: Collection,
    understanding: Understanding | None = None,
) -> list[str]:
    """Words of the question that name something the sources never mention and the collection barely
    knows: a word it has never seen, or a capitalised name (not the question's first word) in fewer than
    `_RARE` of its passages. Entities the question names (also by a capital or a mountain) are not counted:
    their gaps are reported apart."""
    understanding = understanding or understand(question, collection)
    text = _blanked(question, understanding)
    unknown = set(understanding.unknown)
    seen = {t for s in sources for t in tokenize([f"{s.title} {s.snippet}"], collection.keep_words)[0]}
    found: list[str] = []
    first_word = question.split()[0] if question.split() else ""
    for position, raw in enumerate(text.split()):
        word = raw.strip("\"'’“”()[]{}.,;:!?`")
        if not _WORD.fullmatch(word):
            continue
        tokens = tokenize([word], collection.keep_words)[0]
        # Words the question uses for a field or document ("bigger": area) are understood, not unanswered.
        if not tokens or any(t in seen for t in tokens) or not set(tokenize([word])[0]) & unknown:
            continue
        frequency = min(collection.document_frequency(t) for t in tokens)
        is_name = word[:1].isupper() and not (position == 0 and text.split()[0] == first_word)
        if (
            frequency == 0 or (is_name and frequency < _RARE * len(collection.passages))
        ) and word not in found:
            found.append(word)
    return found


def _listed(words: list[str], conjunction: str = "or") -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + f" {conjunction} {words[-1]}"


def _possessive(name: str) -> str:
    return f"{name}'" if name.endswith("s") else f"{name}'s"


def _shortened(text: str, limit: int) -> str:
    """`text` cut at a word boundary (a comma's if there is one) to `limit` characters."""
    if len(text) <= limit:
        return text
    cut = text.rfind(", ", 0, limit)
    cut = cut if cut > limit // 2 else text.rfind(" ", 0, limit)
    return text[: max(cut, 1)].rstrip(" ,;") + " …"


def _safe(text: str) -> str:
    """Source text that must not read as a citation (`items[0]`) or break a table row."""
    return CITATION_PATTERN.sub(r"\\[\1\\]", text).replace("|", "\\|")


@dataclass(frozen=True)
class _Found:
    """A relevant source and what the report reads from it."""

    source: NumberedSource
    entity: str
    field: str
    text: str
    """The source's text as the report may quote it (notes, repeated labels, signatures, code left out)."""
    reading: Reading | None


def _prose(understanding: Understanding) -> bool:
    """Whether example code is left out of what is quoted: in documentation, unless code is asked for."""
    return understanding.collection != "factbook" and not understanding.wants_code


def _near_duplicate_key(source: NumberedSource) -> tuple[str, ...]:
    entity, field = factbook_parts(source.title)
    if entity:  # the same field filed under two sections ("Geography — Climate", "Environment — Climate")
        return ("field", entity, field)
    return ("text", " ".join(tokenize([source.snippet])[0][:60]))


def relevant_sources(
    understanding: Understanding, sources: list[NumberedSource], collection: Collection
) -> list[_Found]:
    """The sources that bear on the question, each once (near-duplicates dropped), with the text the report
    may quote from them; a source left with no quotable text (all example code) is dropped too."""
    found: list[_Found] = []
    keys: set[tuple[str, ...]] = set()
    for source in sources:
        key = _near_duplicate_key(source)
        if key in keys or not bears_on(understanding, source.title, source.location or "", source.snippet):
            continue
        entity, field = factbook_parts(source.title) if collection.name == "factbook" else ("", "")
        text = without_signature(source.snippet, source.title)
        if _prose(understanding):
            text = without_grammar(text)
        if field:
            text = tidy_series(field, text)
        if _prose(understanding) and not excerpt(text, set(), prose=True):
            continue
        keys.add(key)
        reading = latest_reading(field, source.snippet) if field else None
        found.append(_Found(source, entity, field, text, reading))
    return found


def _verb(label: str) -> str:
    return "are" if label.endswith("s") and not label.endswith("ss") else "is"


def _statement(found: _Found, vocabulary: Vocabulary, words: frozenset[str] = frozenset()) -> str:
    """ "Chile's main exports are copper ore, ... (2023) [1].": one field of one entity, as the source says.

    When the question's own `words` point at another part of a descriptive field than its first ("What
    time zone is Chile in?": the Capital field's time difference), that part is the answer.
    """
    label = vocabulary.label(found.field)
    shown = found.reading.shown if found.reading else found.text
    subject = f"{_possessive(found.entity)} {label}" if found.entity else label.capitalize()
    citation = f"[{found.source.number}]"
    if words and not (found.reading and found.reading.number is not None):
        asked = words - set(tokenize([f"{label} {found.field} {found.entity}"])[0])

        def overlap(text: str) -> int:
            return len(asked & set(tokenize([text])[0]))

        parts = [p.strip() for p in found.text.split(";") if p.strip() and not p.strip().endswith("…")]
        part = max(parts, key=overlap, default="")
        if overlap(part) > overlap(shown):
            return f"{subject}: {_safe(_shortened(part, _LEAD_CHARS))} {citation}."
    return f"{subject} {_verb(label)} {_safe(_shortened(shown, _LEAD_CHARS))} {citation}."


def _more(unit: str) -> str:
    """The comparative a figure in `unit` takes: a larger area or population, a longer coast, a higher rate."""
    return {"": "larger", "sq km": "larger", "km": "longer"}.get(unit, "higher")


def _ratio_clause(high: float, low: float) -> str:
    return f", about {high / low:.1f} times as much" if low > 0 and high / low >= 1.5 else ""


def _comparison(field: str, found: list[_Found], vocabulary: Vocabulary) -> str | None:
    """A sentence comparing `field` across entities from their figures, or None without two figures in
    one unit. Two entities: which is higher and by how much; more: the highest and the lowest."""
    numeric = [f for f in found if f.reading and f.reading.number is not None]
    units = {f.reading.unit for f in numeric if f.reading}
    if len(numeric) < 2 or len(units) != 1:
        return None
    unit = units.pop()
    ranked = sorted(numeric, key=lambda f: -(f.reading.number if f.reading and f.reading.number else 0.0))
    top, bottom = ranked[0], ranked[-1]
    assert top.reading and bottom.reading and top.reading.number is not None
    assert bottom.reading.number is not None
    high, low = top.reading.number, bottom.reading.number
    label = vocabulary.label(field)
    # Each figure is cited where it is stated; what is computed from the two follows them.
    first, second = f"[{top.source.number}]", f"[{bottom.source.number}]"
    if len(ranked) == 2:
        if high == low:
            return (
                f"{_possessive(top.entity)} and {_possessive(bottom.entity)} {label} are the same, "
                f"{top.reading.shown} {first}{second}."
            )
        return (
            f"{_possessive(top.entity)} {label}, {top.reading.shown} {first}, is {_more(unit)} than "
            f"{_possessive(bottom.entity)}, {bottom.reading.shown} {second}, by {difference(high - low, unit)}"
            f"{_ratio_clause(high, low)}."
        )
    count = {3: "three", 4: "four", 5: "five"}.get(len(ranked), str(len(ranked)))
    return (
        f"{_possessive(top.entity)} {label}, {top.reading.shown} {first}, is the highest of the {count}, and "
        f"{_possessive(bottom.entity)}, {bottom.reading.shown} {second}, the lowest, "
        f"{difference(high - low, unit)} apart."
    )


def _by_field(found: list[_Found], entities: list[str], fields: list[str]) -> dict[str, dict[str, _Found]]:
    """field -> entity -> the first relevant source of that field, fields in the question's order."""
    table: dict[str, dict[str, _Found]] = {}
    for field in fields:
        row = {f.entity: f for f in reversed(found) if f.field == field and f.entity in entities}
        if row:
            table[field] = row
    return table


def _lead(understanding: Understanding, found: list[_Found], collection: Collection) -> str:
    """One or two cited sentences that answer the question."""
    vocabulary = VOCABULARIES.get(collection.name, Vocabulary(()))
    entities = understanding.entities
    if collection.name == "factbook" and entities and any(f.field for f in found):
        fields = [f for f in understanding.fields if any(x.field == f for x in found)]
        fields += [f.field for f in found if f.field not in fields and f.field]
        rows = _by_field(found, entities, fields)
        if len(entities) > 1:
            compared = [
                s for field in rows if (s := _comparison(field, list(rows[field].values()), vocabulary))
            ]
            if compared:
                return " ".join(compared[:2])
            row = next(iter(rows.values()))
            parts = [_statement(row[e], vocabulary).rstrip(".") for e in entities if e in row]
            return "; ".join(parts) + "."
        fields_words = frozenset(understanding.words)
        return " ".join(
            _statement(next(iter(row.values())), vocabulary, fields_words) for row in list(rows.values())[:2]
        )
    # The document the question names or means, itself before its parts; else the best relevant source.
    places = list(understanding.fields)
    ranked = sorted(
        found,
        key=lambda f: min(
            [
                places.index(p) * 2 + (f.source.location != p)
                for p in places
                if (f.source.location or "").startswith(p)
            ]
            or [len(places) * 2]
        ),
    )
    best = ranked[0]
    words = set(understanding.unknown) or set(tokenize([understanding.question])[0])
    sentence = _shortened(lead_sentences(best.text, words, prose=_prose(understanding)), _LEAD_CHARS)
    name = best.source.title.rsplit(" — ", 1)[-1]
    return f"**{name}**: {_safe(sentence.rstrip('.'))}. [{best.source.number}]"


def _table(understanding: Understanding, found: list[_Found], collection: Collection) -> str:
    """Aspects as rows, entities as columns: each cell the latest figure with its year and citation."""
    vocabulary = VOCABULARIES.get(collection.name, Vocabulary(()))
    entities = understanding.entities
    fields = [f for f in understanding.fields if any(x.field == f for x in found)]
    fields += [f.field for f in found if f.field and f.field not in fields]
    rows = _by_field(found, entities, fields)
    lines = [
        "| | " + " | ".join(_safe(e) for e in entities) + " |",
        "| --- |" + " --- |" * len(entities),
    ]
    for field, row in list(rows.items())[:_TABLE_ROWS]:
        cells = []
        for entity in entities:
            item = row.get(entity)
            if item is None:
                cells.append("not found")
                continue
            shown = _REMARK.sub("", item.reading.shown if item.reading else item.text)
            cells.append(f"{_safe(_shortened(shown, _CELL_CHARS))} [{item.source.number}]")
        label = vocabulary.label(field)
        lines.append(f"| {_safe(label[:1].upper() + label[1:])} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _detail(understanding: Understanding, found: list[_Found], lead: str) -> list[str]:
    """Per entity (or one group), a cited excerpt of each relevant source that says more than the lead."""
    entities = understanding.entities
    groups: dict[str, list[_Found]] = {entity: [] for entity in entities}
    for item in found:
        groups.setdefault(item.entity if item.entity in entities else "Details", []).append(item)
    tokens = set(tokenize([understanding.question])[0]) | set(understanding.unknown)
    sections = []
    for heading, members in groups.items():
        lines = []
        for item in members:
            label = item.field or item.source.title
            # The entity's own name is in every piece about it, so it says nothing about which one answers.
            query = (tokens | set(tokenize([label])[0])) - set(tokenize([item.entity])[0])
            quoted = _safe(excerpt(item.text, query, prose=_prose(understanding)).rstrip("."))
            # What the lead already quotes is not repeated: a document lead's sentences are cut out.
            said = lead.split("**: ", 1)[-1].rsplit(". [", 1)[0]
            if said and said in quoted:
                quoted = quoted.replace(said, "", 1).strip(" .;")
            if len(quoted.split()) >= 2 and quoted not in lead:
                lines.append(f"- **{_safe(label)}**: {quoted}. [{item.source.number}]")
        if lines:
            sections.append(f"## {heading}\n\n" + "\n".join(lines))
    return sections


def _asked(understanding: Understanding, collection: Collection) -> str:
    """What the question asks, in words: "Chile's main exports", "json.dumps", "eat"."""
    vocabulary = VOCABULARIES.get(collection.name, Vocabulary(()))
    if collection.name == "factbook" and understanding.fields:
        labels = [vocabulary.label(f) for f in understanding.fields[:2]]
        aspect = _listed(labels, "and")
        return (
            f"{_listed([_possessive(e) for e in understanding.entities], 'and')} {aspect}"
            if understanding.entities
            else aspect
        )
    if understanding.fields:
        return _listed([f.removeprefix("pydoc:").removeprefix("topic/") for f in understanding.fields[:2]])
    words = [
        w
        for w in re.findall(r"[^\W\d_]+", understanding.question)
        if tokenize([w])[0] and tokenize([w])[0][0] in understanding.unknown
    ]
    subject = _listed(understanding.entities, "and") if understanding.entities else ""
    return " ".join(part for part in (subject, _listed(words) if words else "") if part) or "the question"


def write_report_offline(question: str, sources: list[NumberedSource], collection: Collection) -> ReportDraft:
    """A report that answers first (a cited lead), compares in a table when the question names several
    entities, then quotes each relevant source; or a plain "not found"."""
    unique: list[NumberedSource] = []
    for source in sources:  # a source cited by several searches appears once, where first listed
        if all(source.number != kept.number for kept in unique):
            unique.append(source)
    title = question.strip().rstrip("?.!") or "Research report"
    understanding = understand(question, collection)
    found = relevant_sources(understanding, unique, collection)
    # A word counts as answered only where a relevant source mentions it (a space programme's "Mars" does
    # not answer "the climate on Mars").
    missing_words = unanswered_words(question, [f.source for f in found], collection, understanding)
    if missing_words:
        body = (
            f"## Not found\n\nThe sources found say nothing about {_listed(missing_words)}, so this question "
            f"cannot be answered from the '{collection.name}' collection."
        )
        return ReportDraft(title=title, body=body)
    if not found:  # no source at all (every search failed) or none on the question
        body = (
            f"## Not found\n\nThe sources found say nothing about {_asked(understanding, collection)}, so this "
            f"question cannot be answered from the '{collection.name}' collection."
        )
        return ReportDraft(title=title, body=body)
    parts = [_lead(understanding, found, collection)]
    entities = understanding.entities
    if len(entities) > 1 and collection.name == "factbook":
        parts.append(_table(understanding, found, collection))
    parts += _detail(understanding, found, parts[0])
    missing = [e for e in entities if not any(f.entity == e for f in found)]
    if missing:
        what = _asked(Understanding(question, collection.name, fields=understanding.fields), collection)
        parts.append(
            "## Gaps\n\n"
            + "\n".join(f"- The sources found say nothing about {_possessive(e)} {what}." for e in missing)
        )
    return ReportDraft(title=title, body="\n\n".join(parts))
