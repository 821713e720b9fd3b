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


def _sentences(text: str) -> list[str]:
    """The text's sentences; headings (short, no closing stop) are not sentences a report can quote."""
    pieces = (" ".join(piece.split()) for piece in re.split(r"(?<=[.!?])\s+|\n+", text))
    return [piece for piece in pieces if len(piece.split()) >= 6 and piece[-1] in ".!?;:)\"'”"]


def write_web_report(question: str, sources: list[NumberedSource]) -> ReportDraft:
    """An extractive report from the sources' passages (their snippets when no page was read).

    The sentences of every passage are ranked together with BM25, so words that every page repeats (the
    subject's own name) count for little and the words that single out the answer ("first lit") decide.
    """
    query = _query(question)
    tokens = set(tokenize([query])[0])
    owner: dict[str, NumberedSource] = {}
    before: dict[str, str] = {}
    for source in sources:
        for text in source.passages or [source.snippet]:
            previous = ""
            for sentence in _sentences(text):
                owner.setdefault(sentence, source)
                before.setdefault(sentence, previous)
                previous = sentence

    # A source's title names its subject ("Line 4 extension", "Skerrow Point lighthouse"): the more of the
    # question it names, the more its page is about what is asked. The words of the question it leaves out
    # say what is asked about that subject ("cost", "first lit"), and a sentence answers only if it has one
    # of them. A sentence scores both, so the page on the subject wins, then its sentence on the question.
    def score(sentence: str) -> tuple[int, int]:
        named = tokens & set(tokenize([owner[sentence].title])[0])
        return len(named), _shared(sentence, tokens - named)

    ranked = sorted(
        (sentence for sentence in best_passages(list(owner), query, len(owner)) if score(sentence)[1]),
        key=lambda sentence: -sum(score(sentence)),
    )
    title = f"Research: {question}"
    if not ranked:
        read = sum(1 for source in sources if source.passages)
        found = (
            f"None of the {len(sources)} sources found ({read} of their pages read) says anything about it."
            if sources
            else "No search found a source for it."
        )
        return ReportDraft(title=title, body=f"**Not found.** {found}")
    lead = ranked[0]
    # A sentence that goes on from the one before ("Her design used granite") is quoted with it.
    context = f"{before[lead]} " if _GOES_ON.match(lead) and before[lead] else ""
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
