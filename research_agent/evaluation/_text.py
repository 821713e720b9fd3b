"""Deterministic text checks the evaluators share: claims and their citations (in prose and in table
cells), word overlap, numbers and the figures computed from them, "not found" statements, a report's lead
paragraph, and the order in which a run retrieved its sources."""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import zip_longest

from ..corpus._collection import tokenize
from ..schema import ResearchStatus, Source

_CITATION_GROUP = re.compile(r"(?:\s*\[\d+\])+")
_LIST_MARKER = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")
_QUANTITY = re.compile(r"(\d[\d,]*(?:\.\d+)?)(?:\s?(trillion|billion|million)\b)?")
_SCALES = {"trillion": 1e12, "billion": 1e9, "million": 1e6}
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}")
_CELL_BORDER = re.compile(r"(?<!\\)\|")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z(*\"'`])")
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


def quantities(text: str) -> dict[str, float]:
    """Each number in `text` (as `numbers` writes it) and its value with its scale word: "$60.645
    billion" -> {"60.645": 60645000000.0}."""
    return {
        match.group(1).replace(",", "").rstrip("."): float(match.group(1).replace(",", "").rstrip("."))
        * _SCALES.get(match.group(2) or "", 1.0)
        for match in _QUANTITY.finditer(text)
    }


def computed_from(value: float, known: list[float]) -> bool:
    """Whether `value` is the difference or the ratio of two of the `known` figures, as a report rounds
    them ("by $14,500", "about 1.9 times"): within 0.5 %, or 0.05 for a ratio written with one decimal."""
    for a in known:
        for b in known:
            if a == b:
                continue
            if abs(abs(a - b) - value) <= max(abs(value) * 0.005, 0.005):
                return True
            if b and abs(a / b - value) <= max(abs(value) * 0.005, 0.05):
                return True
    return False


def declares_not_found(text: str) -> bool:
    """Whether `text` says somewhere that the material does not answer (part of) the question."""
    return _NOT_FOUND.search(text.translate(_QUOTES)) is not None


@dataclass(frozen=True)
class Claim:
    """A piece of a report and the source numbers cited right after it."""

    text: str
    cited: tuple[int, ...]


def _line_claims(line: str, prefix: str = "") -> list[Claim]:
    found = []
    start = 0
    for match in _CITATION_GROUP.finditer(line):
        numbers_cited = tuple(int(n) for n in re.findall(r"\d+", match.group(0)))
        # A citation supports its own sentence, not the end of the one before it.
        segment = _SENTENCE_END.split(line[start : match.start()])[-1]
        text = f"{prefix} {segment}".strip(" .,;:-|")
        found.append(Claim(text=text, cited=numbers_cited))
        start = match.end()
    return found


def claims(body: str) -> list[Claim]:
    """Each run of text followed by a group of citations (`... 2.6% [3]` or `... [1][4]`), line by line.

    The text a citation supports is what stands between it and the previous citation (or the start of
    the line, or of its sentence), so `A is 1 [1], and B is 2 [2].` gives two claims. In a Markdown table each cell is a
    claim of its own, about its row's first cell: `| GDP | $30,200 [1] | $15,700 [2] |` gives "GDP $30,200"
    cited by [1] and "GDP $15,700" cited by [2].
    """
    found = []
    for raw in body.splitlines():
        if raw.lstrip().startswith("|"):
            if _TABLE_RULE.match(raw.strip().lstrip("|")):
                continue
            cells = [cell.strip() for cell in _CELL_BORDER.split(raw.strip().strip("|"))]
            for cell in cells[1:]:
                found += _line_claims(cell, prefix=cells[0])
            continue
        found += _line_claims(_LIST_MARKER.sub("", raw))  # "1. " is not a number the claim states
    return found


def lead_paragraph(body: str) -> str:
    """The report's first paragraph, when it comes before any heading, list or table; "" otherwise."""
    first = body.strip().split("\n\n", 1)[0].strip()
    return "" if not first or first[0] in "#|>" or _LIST_MARKER.match(first) else first


def sentences(text: str) -> list[str]:
    """`text` cut into sentences (a full stop inside a figure or "a.k.a." does not end one)."""
    return [part for part in _SENTENCE_END.split(_CITATION_GROUP.sub("", text).strip()) if part.strip()]


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
