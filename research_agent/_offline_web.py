"""The offline model's web research: planning searches for a question and writing the report from the
passages of the pages the searches read.

With a web search backend (SearXNG, Tavily, DuckDuckGo; the test suite's local web) there is no corpus to
plan from, so the offline planner searches for what the question asks, and the offline analyst writes an
extractive report from the passages each source's page gave: a lead answer quoted from the passage that
answers the question best, then what each source says, every sentence copied from a passage and cited. When
no passage bears on the question it says so instead of quoting the nearest text.
"""

from __future__ import annotations

import re

from .corpus._collection import tokenize
from .fetching.passages import best_passages
from .schema import NumberedSource, ReportDraft, ResearchPlan, SearchStep

_QUESTION_WORDS = re.compile(
    r"^(what|which|who|whom|when|where|why|how( many| much| long| far| tall| big)?|is|are|was|were|do|does|"
    r"did|can|could|should|tell me|give me|list|name|find)\b\s*",
    re.IGNORECASE,
)
_GOES_ON = re.compile(r"(her|his|its|it|they|their|this|these|that|those|she|he|there)\b", re.IGNORECASE)
_ASKS_NUMBER = re.compile(
    r"(how (many|much|far|long|thick|tall|high|big|heavy|old|wide|deep|fast|loud)|when|what (year|date)|"
    r"in what year|on what date|what is the (date|year|number|weight|price|cost|length|size))\b",
    re.IGNORECASE,
)
_NUMBER = re.compile(r"\d")
_ASKS_WHO = re.compile(r"(who|whom|whose|which (company|person|engineer|firm|maker))\b", re.IGNORECASE)
_NAME = re.compile(r"(?<=[a-z,] )[A-Z][a-z]+")
"""A capitalised word inside a sentence, after a lower-case word: a name."""
_DETAIL_SENTENCES = 5
"""Sources quoted below the lead answer, one sentence each."""


def _query(question: str) -> str:
    """The question as a search query: without its question word and final mark."""
    text = " ".join(question.split()).rstrip(" ?!.")
    return _QUESTION_WORDS.sub("", text, count=1) or text


def plan_web_research(question: str, max_searches: int) -> ResearchPlan:
    """One search for what the question asks; a comparison ("X or Y", "X and Y") also gets one per side."""
    query = _query(question)
    steps = [SearchStep(query=query, rationale="Finds the pages that answer the question.")]
    sides = re.split(r"\s+(?:and|or|vs\.?|versus)\s+", query, flags=re.IGNORECASE)
    if len(sides) == 2 and all(len(side.split()) >= 2 for side in sides):
        steps += [
            SearchStep(query=side, rationale="Finds pages on one side of the comparison.") for side in sides
        ]
    instructions = f"Answer '{question}' from the passages of the pages read; cite every sentence."
    return ResearchPlan(search_steps=steps[:max_searches], analysis_instructions=instructions)


def _shared(text: str, tokens: set[str]) -> int:
    return len(tokens & set(tokenize([text])[0]))


def _lines(text: str) -> list[str]:
    """The text's lines, with lines wrapped mid-sentence (a PDF's) joined back to the line they go on."""
    lines: list[str] = []
    for raw in text.splitlines():
        line = " ".join(raw.split())
        if not line:
            continue
        wrapped = lines and len(lines[-1].split()) >= 6 and lines[-1][-1] not in ".!?:"
        if wrapped and (line[0].islower() or line[0].isdigit()):
            lines[-1] = f"{lines[-1]} {line}"
        else:
            lines.append(line)
    return lines


def _sentences(text: str) -> list[tuple[str, str]]:
    """The text's quotable sentences, each with the heading it stands under ("" when none).

    A short line without a closing stop is a heading, not a sentence: it is not quoted, but it says what
    the sentences under it are about ("The fleet" over "We run 41 trams"). A short line with a figure in it
    is a data row ("Refrigerant R290"), quotable as it is.
    """
    found: list[tuple[str, str]] = []
    heading = ""
    for line in _lines(text):
        words = line.split()
        closed = line[-1] in ".!?;:)\"'”"
        if not closed and len(words) < 6 and not _NUMBER.search(line):
            heading = line
            continue
        for piece in re.split(r"(?<=[.!?])\s+", line):
            if len(piece.split()) >= 6 or (_NUMBER.search(piece) and len(piece.split()) >= 2):
                found.append((piece, heading))
    return found


class _Pool:
    """Every quotable sentence of some sources: its source, the sentence before it, its heading."""

    def __init__(self, sources: list[NumberedSource]) -> None:
        self.owner: dict[str, NumberedSource] = {}
        self.before: dict[str, str] = {}
        self.heading: dict[str, str] = {}
        for source in sources:
            title = set(tokenize([source.title])[0])
            for text in source.passages or [source.snippet]:
                previous = ""
                for sentence, heading in _sentences(text):
                    # A passage cut mid-sentence (at a page break) starts with a fragment: not quotable,
                    # unless its first word is a name the source's title gives in lower case ("tessellate").
                    fragment = not previous and sentence[0].islower()
                    if not fragment or set(tokenize([sentence.split()[0]])[0]) <= title:
                        self.owner.setdefault(sentence, source)
                        self.before.setdefault(sentence, previous)
                        self.heading.setdefault(sentence, heading)
                    previous = sentence

    def ranked(self, question: str) -> list[str]:
        """The sentences that bear on the question, best first.

        A source's title names its subject ("Line 4 extension", "Skerrow Point lighthouse"): the more of
        the question it names, the more its page is about what is asked. The words of the question it
        leaves out say what is asked about that subject ("cost", "first lit"); a sentence (with its
        heading) bears on the question only if it has one of them, or any of the question's words when the
        title names them all. A question asking for a quantity or a date prefers a sentence giving one; a
        question asking who prefers a sentence naming someone.
        """
        query = _query(question)
        tokens = set(tokenize([query])[0])
        numeric = _ASKS_NUMBER.match(question.strip()) is not None
        person = _ASKS_WHO.match(question.strip()) is not None

        def score(sentence: str) -> tuple[int, int, int]:
            named = tokens & set(tokenize([self.owner[sentence].title])[0])
            asked = (tokens - named) or tokens
            said = set(tokenize([f"{self.heading[sentence]} {sentence}"])[0])
            wanted = (numeric and _NUMBER.search(sentence) is not None) or (
                person and _NAME.search(sentence) is not None
            )
            return len(named), len(asked & said), int(wanted)

        candidates = best_passages(list(self.owner), query, len(self.owner))
        return sorted((s for s in candidates if score(s)[1]), key=lambda s: -sum(score(s)))


def write_web_report(question: str, sources: list[NumberedSource]) -> ReportDraft:
    """An extractive report from the passages of the pages read (from the search snippets only when no
    page read says anything on the question): a lead answer, then one sentence from each other source."""
    read = [source for source in sources if source.passages]
    pool = _Pool(read)
    ranked = pool.ranked(question)
    if not ranked:
        pool = _Pool(sources)
        ranked = pool.ranked(question)
    title = f"Research: {question}"
    if not ranked:
        found = (
            f"None of the {len(sources)} sources found ({len(read)} of their pages read) says anything about it."
            if sources
            else "No search found a source for it."
        )
        return ReportDraft(title=title, body=f"**Not found.** {found}")
    lead = ranked[0]
    owner = pool.owner
    # A sentence that goes on from the one before ("Her design used granite") is quoted with it.
    context = f"{pool.before[lead]} " if _GOES_ON.match(lead) and pool.before[lead] else ""
    lines = [f"**Answer:** {context}{lead} [{owner[lead].number}]"]
    detail: list[str] = []
    quoted = {owner[lead].number}
    for sentence in ranked[1:]:
        source = owner[sentence]
        if source.number not in quoted and len(detail) < _DETAIL_SENTENCES:
            quoted.add(source.number)
            detail.append(f"- {source.title}: {sentence} [{source.number}]")
    if detail:
        lines += ["", "## What the sources say", "", *detail]
    return ReportDraft(title=title, body="\n".join(lines))
