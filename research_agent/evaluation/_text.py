"""Deterministic text checks the evaluators share: claims and their citations, word overlap, numbers,
"not found" statements, and the order in which a run retrieved its sources."""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import zip_longest

from ..corpus._collection import tokenize
from ..schema import ResearchStatus, Source

_CITATION_GROUP = re.compile(r"(?:\s*\[\d+\])+")
_LIST_MARKER = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")
_MARKUP = re.compile(r"[*_`#>]+")
_QUOTES = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "–": "-", "—": "-", "\u00a0": " "})

# Ways a report says the material does not answer (part of) the question. Written for what people and
# models write, not for one phrasing: "no information", "does not say", "is silent on", "not found" ...
_NOT_FOUND = re.compile(
    r"\b(?:not (?:found|available|covered|mentioned|stated|given|recorded|listed|included|answered)"
    r"|(?:do|does|did) not (?:say|mention|contain|cover|provide|include|answer|state|give|record|list|address)"
    r"|(?:say|says) nothing|is silent|are silent|cannot be answered|can't be answered|unable to (?:find|answer)"
    r"|no (?:information|data|mention|record|figure|answer|source|sources|material|passage|details?)\b"
    r"|none of the (?:sources|searches|results|material))",
    re.IGNORECASE,
)


def normalize(text: str) -> str:
    """Casefolded, markup and typographic quotes removed, whitespace collapsed: for substring matching."""
    return " ".join(_MARKUP.sub(" ", text.translate(_QUOTES)).casefold().split())


def words(text: str) -> set[str]:
    """Content words of `text` as the corpus search sees them (stemmed, no stop words)."""
    return set(tokenize([text])[0])


def numbers(text: str) -> set[str]:
    """The numbers in `text`, thousands separators removed ("30,200" and "30200" are one number)."""
    return {match.replace(",", "").rstrip(".") for match in _NUMBER.findall(text)}


def declares_not_found(text: str) -> bool:
    """Whether `text` says somewhere that the material does not answer (part of) the question."""
    return _NOT_FOUND.search(text.translate(_QUOTES)) is not None


@dataclass(frozen=True)
class Claim:
    """A piece of a report and the source numbers cited right after it."""

    text: str
    cited: tuple[int, ...]


def claims(body: str) -> list[Claim]:
    """Each run of text followed by a group of citations (`... 2.6% [3]` or `... [1][4]`), line by line.

    The text a citation supports is what stands between it and the previous citation (or the start of
    the line), so `A is 1 [1], and B is 2 [2].` gives two claims.
    """
    found = []
    for raw in body.splitlines():
        line = _LIST_MARKER.sub("", raw)  # "1. " is not a number the claim states
        start = 0
        for match in _CITATION_GROUP.finditer(line):
            numbers_cited = tuple(int(n) for n in re.findall(r"\d+", match.group(0)))
            found.append(Claim(text=line[start : match.start()].strip(" .,;:-"), cited=numbers_cited))
            start = match.end()
    return found


def retrieved_sources(status: ResearchStatus) -> list[Source]:
    """Every distinct source the run's searches returned, ranked as one list: the best hit of each search
    (planned searches in order, then extra ones), then every search's second best, and so on."""
    per_search = [search.sources for search in sorted(status.searches, key=lambda s: (s.extra, s.index))]
    ranked: dict[str, Source] = {}
    for rank in zip_longest(*per_search):
        for source in rank:
            if source is not None and source.key not in ranked:
                ranked[source.key] = source
    return list(ranked.values())


def location_matches(location: str, expected: str) -> bool:
    """Whether a retrieved location is the expected one or lies inside it (a passage of that section)."""
    if not location.startswith(expected):
        return False
    rest = location[len(expected) :]
    return not rest or rest[0] in "/#." or rest.startswith(" (")
