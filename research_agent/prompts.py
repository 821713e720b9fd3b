"""Instructions and user prompts of the three agents.

Prompts carry their data between XML-style tags, which real models read well and the offline model parses
back with `read_tag`; the analyst's research material travels as one JSON document.
"""

from __future__ import annotations

import json
import re

from .schema import NumberedSource, ResearchPlan, SearchOutcome

PLANNER_INSTRUCTIONS = """\
You are a research planner. Break the user's question into web searches that together answer it.
Write at most the number of searches given in <max_searches>, most important first; each has a concise
query (as typed into a search engine) and a one-sentence rationale. Then write instructions for the analyst:
what to compare or explain, and what the report must cover."""

SEARCHER_INSTRUCTIONS = """\
You are a search agent. Call the `search` tool with the query you are given (you may refine it once if the
first results are poor), then summarise in a few sentences what the results say about the query. List as
sources only results the tool returned, copying their title, url or location, and snippet exactly."""

WEB_SEARCHER_INSTRUCTIONS = """\
You are a search agent. Search the web for the query you are given, then summarise in a few sentences what
you found. List every source you used with its title, url and a short snippet."""

ANALYST_INSTRUCTIONS = """\
You are a research analyst. Write a clear, well-structured Markdown report that answers the question using
only the numbered sources in <research_data>. End every factual sentence with the numbers of the sources
that support it, like [1] or [2][5]; never cite a number that is not in the data. If the material leaves a
part of the question unanswered, say so. You may call `extra_search` a few times when something essential
is missing; its results come back with new source numbers you can cite."""

_TAG_CACHE: dict[str, re.Pattern[str]] = {}


def read_tag(text: str, tag: str) -> str | None:
    """Content of the first `<tag>...</tag>` in `text`."""
    pattern = _TAG_CACHE.setdefault(tag, re.compile(rf"<{tag}>\s*(.*?)\s*</{tag}>", re.DOTALL))
    match = pattern.search(text)
    return match.group(1) if match else None


def planner_prompt(question: str, max_searches: int, corpus: str) -> str:
    return (
        f"<question>{question}</question>\n"
        f"<max_searches>{max_searches}</max_searches>\n"
        f"<corpus>{corpus}</corpus>\n"
        "Write the research plan."
    )


def search_prompt(query: str, rationale: str, corpus: str) -> str:
    return (
        f"<query>{query}</query>\n<rationale>{rationale}</rationale>\n<corpus>{corpus}</corpus>\n"
        "Search, then report your findings."
    )


def analyst_prompt(
    question: str,
    plan: ResearchPlan,
    outcomes: list[SearchOutcome],
    numbered: dict[str, NumberedSource],
    corpus: str,
) -> str:
    """The analyst's material: each search's summary and its sources under their citation numbers."""
    searches = []
    for outcome in outcomes:
        entry: dict[str, object] = {"query": outcome.query}
        if outcome.findings is None:
            entry["error"] = outcome.error or "no result"
        else:
            entry["summary"] = outcome.findings.summary
            entry["sources"] = [
                numbered[source.key].model_dump(exclude_none=True) for source in outcome.findings.sources
            ]
        searches.append(entry)
    data = {"question": question, "analysis_instructions": plan.analysis_instructions, "searches": searches}
    return (
        f"<question>{question}</question>\n"
        f"<research_data>\n{json.dumps(data, ensure_ascii=False, indent=1)}\n</research_data>\n"
        f"<corpus>{corpus}</corpus>\n"
        "Write the report."
    )
