"""What a question asks of a collection: the entities it names and the fields or documents it means.

`understand` reads a question the way the offline planner and analyst need it: the countries it names
(also through a capital, a mountain, a former name or its people: "Nairobi", "Mount Everest", "Chileans"),
the Factbook fields or Python documents its words mean (`vocabulary.py`), the words neither accounts for,
and whether it compares or asks for code. `bears_on` then says whether a source is about what the question
asks, so a report quotes only relevant material. Everything here is deterministic: no model is involved.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ._collection import Collection, Mention, tokenize
from .pydoc import MODULES
from .vocabulary import ENTITY, OVERVIEW, VOCABULARIES, TermMatch, Vocabulary, find_terms

_QUOTES = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "–": "-", "—": "-"})
_COMPARE = re.compile(
    r"\b(?:compare[sd]?|comparing|comparison|versus|vs\.?|differ\w*|higher|lower|more|less|bigger|"
    r"smaller|larger|richer|poorer|better|worse|which (?:one|country|of))\b",
    re.IGNORECASE,
)
_WANTS_CODE = re.compile(
    r"\b(?:examples?|code|snippets?|syntax|grammar|usage|sample|doctests?|show me how)\b", re.IGNORECASE
)
_FILLER = frozenset(
    tokenize(
        [
            "what which who whom whose where when why how many much tell give show list name names compare "
            "comparison compared comparing versus vs between main major key top most some any all each both "
            "two three four five country countries nation nations today now currently current latest recent "
            "please know find information info data figure figures statistics stats number amount kind type "
            "sort way ways look like also mean does do did is are was were has have had get got say says "
            "listed known called used use uses using people live lives living higher lower more less bigger "
            "smaller larger richer poorer better worse best worst greater"
        ]
    )[0]
)
"""Words of a question that say how it asks, not what."""
_PYDOC_FILLER = frozenset(
    tokenize(
        [
            "python pythons function functions method methods module modules class classes object objects "
            "statement statements keyword write code standard library stdlib builtin built make can should "
            "work works want need way best correct right proper i my me we our"
        ]
    )[0]
)
_DOTTED = re.compile(r"`?([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+)`?")
_NAMED_KIND = re.compile(
    r"\b(?:the )?`?([A-Za-z_]\w*)`?(?:\(\))? (module|function|class|method|built-?in|keyword|statement|"
    r"package|library|type|exception)s?\b",
    re.IGNORECASE,
)
_BACKTICKED = re.compile(r"`([A-Za-z_][\w.]*)(?:\(\))?`")


@dataclass(frozen=True)
class Understanding:
    """A question as the offline model reads it against one collection."""

    question: str
    collection: str
    mentions: tuple[Mention, ...] = ()
    """Where the question names each entity and how (by name, capital, mountain, people)."""
    fields: tuple[str, ...] = ()
    """What it asks, main thing first: Factbook field names, or pydoc locations."""
    broad: bool = False
    """Every field comes from a subject ("economy"), none was named."""
    named: tuple[str, ...] = ()
    """pydoc: the locations of the objects the question names itself (`json.dumps`, "the heapq module")."""
    unknown: tuple[str, ...] = ()
    """Content words (stemmed) that neither an entity nor a term accounts for."""
    words: tuple[str, ...] = ()
    """Every content word (stemmed) of the question but the entities' names."""
    wants_code: bool = False
    compares: bool = False

    @property
    def entities(self) -> list[str]:
        """The entities named, in order of first mention."""
        return list(dict.fromkeys(mention.entity for mention in self.mentions))

    def named_as(self, entity: str) -> set[str]:
        """How the question names `entity`: "entity", "capital", "mountain", "name", "people"."""
        return {mention.kind for mention in self.mentions if mention.entity == entity}

    def asked_fields(self, entity: str) -> list[str]:
        """The fields asked of `entity`, main first: a city named as a capital is asked about as a city
        ("the population of Nairobi" is Nairobi's, among the urban areas)."""
        kinds = self.named_as(entity)
        fields = list(self.fields)
        if "capital" in kinds and "entity" not in kinds:
            fields = ["Major urban areas - population" if f == "Population" else f for f in fields]
        return list(dict.fromkeys(fields))

    def fields_for(self, entity: str, collection: Collection) -> list[str]:
        """`asked_fields` that `entity` has in the collection."""
        available = collection.entity_fields(entity)
        return [f for f in self.asked_fields(entity) if f in available]


def _blank_entities(question: str, mentions: list[Mention]) -> str:
    text = question
    for mention in sorted(mentions, key=lambda m: -m.start):
        text = text[: mention.start] + ENTITY + text[mention.end :]
    return " ".join(text.translate(_QUOTES).lower().split())


def _named_objects(question: str, collection: Collection) -> list[str]:
    """pydoc locations of the objects a question names: dotted names, names in backticks, "the X module",
    "the with statement". A bare word is never taken for a module ("time", "copy" are words too)."""
    documents = collection.documents
    found: list[str] = []
    for match in (*_DOTTED.finditer(question), *_BACKTICKED.finditer(question)):
        name = match.group(1)
        for candidate in (name, name.removeprefix("builtins.")):
            if f"pydoc:{candidate}" in documents:
                found.append(f"pydoc:{candidate}")
                break
    for match in _NAMED_KIND.finditer(question):
        name, kind = match.group(1).lower(), match.group(2).lower()
        topic = f"pydoc:topic/{name}"
        if kind in ("statement", "keyword") and any(d.startswith(topic) for d in documents):
            found.append(topic)
        elif f"pydoc:{match.group(1)}" in documents:
            found.append(f"pydoc:{match.group(1)}")
    return list(dict.fromkeys(found))


def _weak_word(token: str, matches: list[TermMatch], text: str) -> bool:
    """Whether `token` is (in) one of the weak matches' words."""
    return any(token in tokenize([text[m.start : m.end]])[0] for m in matches)


def _covered(text: str, spans: list[tuple[int, int]]) -> str:
    for start, end in sorted(spans, key=lambda s: -s[0]):
        text = text[:start] + " " * (end - start) + text[end:]
    return text


def understand(question: str, collection: Collection) -> Understanding:
    """What `question` asks of `collection`; see the module's docstring."""
    mentions = collection.mentions(question)
    text = _blank_entities(question, mentions)
    vocabulary = VOCABULARIES.get(collection.name, Vocabulary(()))
    matches = find_terms(text, vocabulary)
    if matches and all(match.term.weak for match in matches):
        # A word of many meanings ("people") stands for a field only when nothing else is asked.
        strong_rest = _covered(text, []).replace(ENTITY, " ")
        if [t for t in tokenize([strong_rest])[0] if t not in _FILLER and not _weak_word(t, matches, text)]:
            matches = []
    fields: list[str] = []
    for match in sorted(matches, key=lambda m: (m.term.broad, m.start)):
        fields += [f for f in match.term.fields if f not in fields]
    broad = bool(matches) and all(match.term.broad for match in matches)
    named: list[str] = []
    if collection.name == "pydoc":
        named = _named_objects(question, collection)
        fields = named + [f for f in fields if f not in named]
    rest = _covered(text, [(m.start, m.end) for m in matches]).replace(ENTITY, " ")
    for location in named:  # the named objects' own words are accounted for
        rest = re.sub(
            re.escape(location.removeprefix("pydoc:").removeprefix("topic/")), " ", rest, flags=re.I
        )
    filler = _FILLER | (_PYDOC_FILLER if collection.name == "pydoc" else frozenset())
    unknown = [t for t in tokenize([rest])[0] if t not in filler]
    kinds = {mention.kind for mention in mentions}
    if "mountain" in kinds and "Elevation" not in fields:
        fields.insert(0, "Elevation")
    if "capital" in kinds and not fields:
        fields.append("Capital")
    if mentions and not fields and not unknown:
        fields, broad = list(OVERVIEW), True
    return Understanding(
        question=question,
        collection=collection.name,
        mentions=tuple(mentions),
        fields=tuple(fields),
        broad=broad,
        named=tuple(named),
        unknown=tuple(dict.fromkeys(unknown)),
        words=tuple(dict.fromkeys(t for t in tokenize([text.replace(ENTITY, " ")])[0] if t not in filler)),
        wants_code=bool(_WANTS_CODE.search(question)),
        compares=len({m.entity for m in mentions}) > 1 or bool(_COMPARE.search(question)),
    )


def location_within(location: str, place: str) -> bool:
    """Whether `location` is `place` or lies inside it (a passage of that document or section)."""
    if not location.startswith(place):
        return False
    rest = location[len(place) :]
    return not rest or rest[0] in "/#." or rest.startswith(" (")


def _is_member(location: str, place: str) -> bool:
    return location.startswith(place + ".")


def _is_module(place: str) -> bool:
    return place.removeprefix("pydoc:") in MODULES


def factbook_parts(title: str) -> tuple[str, str]:
    """(entity, field) of a Factbook passage's title "Chile — Economy — Exports"; ("", "") otherwise."""
    parts = title.split(" — ")
    return (parts[0], parts[-1]) if len(parts) == 3 else ("", "")


def bears_on(understanding: Understanding, title: str, location: str, text: str) -> bool:
    """Whether a source (its title, location and text) is about what the question asks: one of its
    entities (when it names any) and one of the fields or documents it means; failing those, the words it
    uses. The question's unaccounted words must then mostly occur in the source."""
    if understanding.collection == "factbook":
        entity, field = factbook_parts(title)
        if understanding.entities and entity not in understanding.entities:
            return False
        if understanding.fields:
            asked = understanding.asked_fields(entity) if entity else list(understanding.fields)
            return field in asked
    elif understanding.fields:
        place = next((p for p in understanding.fields if location_within(location, p)), None)
        if place is None:
            return False
        if _is_member(location, place) and not _is_module(place):
            # A class's methods are not what "What is collections.Counter?" asks; a module's functions are.
            return bool(understanding.unknown) and _shares(understanding.unknown, title, text, most=True)
        # A later passage of a document ("json.dumps (2)", a module's members) must be about the words the
        # question adds to the name ("non-ASCII characters"); the named document's own first passage is.
        return (
            not understanding.unknown
            or location == place
            or _shares(understanding.unknown, title, text, most=True)
        )
    return bool(understanding.unknown) and _shares(understanding.unknown, title, text, most=True)


def _shares(words: tuple[str, ...], title: str, text: str, most: bool = False) -> bool:
    """Whether the source holds one of `words` (stemmed), or with `most` at least half of them."""
    held = set(tokenize([f"{title} {text}"])[0])
    shared = sum(1 for word in words if word in held)
    return shared > 0 and (not most or shared * 2 >= len(words))
