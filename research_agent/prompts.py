"""Instructions and user prompts of the three agents.

Prompts carry their data between XML-style tags, which real models read well and the offline model parses
back with `read_tag`; the analyst's research material travels as one JSON document.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from typing import Any

from .schema import NumberedSource, OutlineSection, ResearchPlan, SearchFindings, SearchOutcome

PLANNER_INSTRUCTIONS = """\
You are a research planner. Break the user's question into web searches that together answer it.
Write at most the number of searches given in <max_searches>, most important first; each has a concise
query (as typed into a search engine) and a one-sentence rationale. Then write instructions for the analyst:
what to compare or explain, and what the report must cover."""

SEARCHER_INSTRUCTIONS = """\
You are a search agent. Call the `search` tool with the query you are given (you may refine it once if the
first results are poor), then summarise in a few sentences what the results say about the query. Web results
whose page was read carry `passages`: what the page itself says, so prefer them to the snippet. List as
sources only results the tool returned, copying their title, url or location, and snippet exactly."""

WEB_SEARCHER_INSTRUCTIONS = """\
You are a search agent. Search the web for the query you are given, then summarise in a few sentences what
you found. List every source you used with its title, url and a short snippet."""

ANALYST_INSTRUCTIONS = """\
You are a research analyst. Write a clear, well-structured Markdown report that answers the question using
only the numbered sources in <research_data>. A source's `passages` are what its page says, read from the
page itself; its `snippet` is what the search showed. Cite a source only for what its passages or snippet
say. End every factual sentence with the numbers of the sources that support it, like [1] or [2][5]; never
cite a number that is not in the data. If the material leaves a
part of the question unanswered, say so. You may call `extra_search` a few times when something essential
is missing; its results come back with new source numbers you can cite."""

OUTLINER_INSTRUCTIONS = """\
You are a research analyst planning a long report. From the numbered sources in <research_data>, write its
title and an outline: sections in reading order, each with a short heading, one sentence on what it must
say, and the numbers of the sources it will be written from (only those that bear on it; a source may serve
several sections). List no section the sources cannot support. If the material answers nothing of the
question, list no section at all. You may call `extra_search` a few times when something essential is
missing; its results come back with new source numbers you can assign."""

SECTION_INSTRUCTIONS = """\
You are a research analyst writing one part of a long report: the section named in <section>, from only the
numbered sources in <research_data>, or the report's opening summary from its sections in <report_sections>.
Write Markdown without the section's heading. End every factual sentence with the numbers of the sources
that support it, like [1] or [2][5]; never cite a number that is not in the data. Say plainly what the
sources do not cover."""

REFLECTOR_INSTRUCTIONS = """\
You are a research reviewer. Read the findings in <research_data> against the question and the plan, and list
what the question asks that no finding answers yet: an entity, aspect, period or comparison left uncovered.
For each gap write what is missing in a few words and one new search query that should find it, most
important first, at most the number given in <max_searches>. Do not repeat a query already searched. When
the findings answer the whole question, return no gaps."""

_TAG_CACHE: dict[str, re.Pattern[str]] = {}


def _sentences(text: str) -> list[str]:
    return [" ".join(s.split()).lower() for s in re.split(r"(?<=[.;:])\s+", text) if len(s) >= 40]


_INSTRUCTION_SENTENCES = [
    sentence
    for instructions in (
        PLANNER_INSTRUCTIONS,
        SEARCHER_INSTRUCTIONS,
        WEB_SEARCHER_INSTRUCTIONS,
        ANALYST_INSTRUCTIONS,
        REFLECTOR_INSTRUCTIONS,
        OUTLINER_INSTRUCTIONS,
        SECTION_INSTRUCTIONS,
    )
    for sentence in _sentences(instructions)
]


def repeats_instructions(text: str) -> bool:
    """Whether `text` quotes a sentence of any agent's instructions."""
    flat = " ".join(text.split()).lower()
    return any(sentence in flat for sentence in _INSTRUCTION_SENTENCES)


def tag(name: str, value: object) -> str:
    """`<name>value</name>` with `value` escaped, so no text inside (a question, a search result) can close
    the tag or open another: data stays data."""
    return f"<{name}>{html.escape(str(value), quote=False)}</{name}>"


def read_tag(text: str, name: str) -> str | None:
    """Content of the first `<name>...</name>` in `text`, unescaped (the inverse of `tag`)."""
    pattern = _TAG_CACHE.setdefault(name, re.compile(rf"<{name}>\s*(.*?)\s*</{name}>", re.DOTALL))
    match = pattern.search(text)
    return html.unescape(match.group(1)) if match else None


def planner_prompt(question: str, max_searches: int, corpus: str) -> str:
    return (
        f"{tag('question', question)}\n{tag('max_searches', max_searches)}\n{tag('corpus', corpus)}\n"
        "Write the research plan."
    )


def search_prompt(query: str, rationale: str, corpus: str) -> str:
    return (
        f"{tag('query', query)}\n{tag('rationale', rationale)}\n{tag('corpus', corpus)}\n"
        "Search, then report your findings."
    )


def _searches(
    outcomes: list[SearchOutcome], sources: Callable[[SearchFindings], list[dict[str, Any]]]
) -> list[dict[str, object]]:
    """Per search its query and either its error or its summary and `sources(findings)`: how each prompt
    that reads the searches so far lays them out (the reflector's and the analyst's differ in the sources)."""
    searches = []
    for outcome in outcomes:
        entry: dict[str, object] = {"query": outcome.query}
        if outcome.findings is None:
            entry["error"] = outcome.error or "no result"
        else:
            entry["summary"] = outcome.findings.summary
            entry["sources"] = sources(outcome.findings)
        searches.append(entry)
    return searches


def reflection_prompt(
    question: str, plan: ResearchPlan, outcomes: list[SearchOutcome], max_searches: int, corpus: str
) -> str:
    """The reflector's material: the plan and, per search so far, its query, summary and its sources'
    titles and locations (what was found, not the text: the gaps are judged by what each source is)."""
    searches = _searches(
        outcomes,
        lambda findings: [
            {"title": source.title, "location": source.location or source.url or ""}
            for source in findings.sources
        ],
    )
    data = {
        "question": question,
        "plan": [step.query for step in plan.search_steps],
        "analysis_instructions": plan.analysis_instructions,
        "searches": searches,
    }
    research_data = "\n" + json.dumps(data, ensure_ascii=False, indent=1) + "\n"
    return (
        f"{tag('question', question)}\n{tag('research_data', research_data)}\n"
        f"{tag('max_searches', max_searches)}\n{tag('corpus', corpus)}\nList the gaps left."
    )


def analyst_prompt(
    question: str,
    plan: ResearchPlan,
    outcomes: list[SearchOutcome],
    numbered: dict[str, NumberedSource],
    corpus: str,
    task: str = "report",
) -> str:
    """The analyst's material: each search's summary and its sources under their citation numbers (those
    missing from `numbered` were left out to fit a context window: context_window.py). `task` is `report`,
    or `outline` for the outline of a long report (the same material, another request)."""
    searches = _searches(
        outcomes,
        lambda findings: [
            numbered[source.key].model_dump(exclude_none=True)
            for source in findings.sources
            if source.key in numbered
        ],
    )
    data = {"question": question, "analysis_instructions": plan.analysis_instructions, "searches": searches}
    research_data = "\n" + json.dumps(data, ensure_ascii=False, indent=1) + "\n"
    return (
        f"{tag('question', question)}\n{tag('research_data', research_data)}\n{tag('corpus', corpus)}\n"
        + (f"{tag('task', task)}\nWrite the outline." if task == "outline" else "Write the report.")
    )


def section_prompt(
    question: str, instructions: str, section: OutlineSection, sources: list[NumberedSource], corpus: str
) -> str:
    """One section's material: the question, what the section must say, and only its own sources."""
    data = {
        "question": question,
        "analysis_instructions": instructions,
        "sources": [source.model_dump(exclude_none=True) for source in sources],
    }
    research_data = "\n" + json.dumps(data, ensure_ascii=False, indent=1) + "\n"
    return (
        f"{tag('question', question)}\n{tag('section', section.heading)}\n{tag('focus', section.focus)}\n"
        f"{tag('research_data', research_data)}\n{tag('corpus', corpus)}\nWrite the section."
    )


def summary_prompt(question: str, title: str, sections: list[tuple[str, str]], corpus: str) -> str:
    """The opening summary's material: the sections as written (their citations are the report's)."""
    written = [{"heading": heading, "body": body} for heading, body in sections]
    report_sections = "\n" + json.dumps(written, ensure_ascii=False, indent=1) + "\n"
    return (
        f"{tag('question', question)}\n{tag('title', title)}\n{tag('report_sections', report_sections)}\n"
        f"{tag('corpus', corpus)}\nWrite the summary that opens the report, in at most two sentences."
    )
