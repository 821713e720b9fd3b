"""The built-in offline model: one deterministic `FunctionModel` per role, grounded in the local corpus.

It is not a canned answer. The planner finds the entities the question names in the corpus and the aspects
the corpus records about them; the searcher really calls the `search` tool and builds its findings from
what came back; the analyst writes an extractive report in which every sentence is a cited source excerpt,
and calls `extra_search` when an entity the question names has no source yet. It runs through the same
agent, tool and DBOS machinery as a real model, so each request is a checkpointed step.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from typing import Any

from pydantic import TypeAdapter
from pydantic_ai.messages import (
    ModelMessage,
    ModelRequest,
    ModelResponse,
    ToolCallPart,
    ToolReturnPart,
    UserPromptPart,
)
from pydantic_ai.models.function import AgentInfo, FunctionModel

from . import engine_settings, faults
from ._audit import record_execution
from ._offline_report import excerpt, without_entities, write_report_offline
from ._offline_web import plan_web_research, write_web_report
from .catalog import WEB
from .corpus import Collection, Passage, open_collection, resolve_collection
from .corpus._collection import tokenize
from .prompts import read_tag
from .schema import (
    NumberedSource,
    ResearchPlan,
    SearchFindings,
    SearchStep,
    Source,
)
from .search.backends import SearchHit

_hits = TypeAdapter(list[SearchHit])
_numbered = TypeAdapter(list[NumberedSource])
_SOURCES_PER_SEARCH = 3
"""Sources of each search the offline report quotes: the best ones, so the report stays readable."""

# Everyday words for what the Factbook files under other names; they steer which fields the planner picks.
# Keys are patterns over the lower-cased question, values words of the Factbook's field names.
_FACTBOOK_HINTS: dict[str, str] = {
    r"econom": "economic overview real GDP growth rate per capita exports inflation unemployment industries",
    r"\btrade": "exports imports partners commodities",
    r"\bexport|sells? abroad": "exports commodities partners",
    r"wealth|\brich\b|\bpoor\b": "real GDP per capita poverty",
    r"how many people|\binhabitants|\bpopulous": "population",
    r"\bpeople\b": "population ethnic groups languages religions",
    r"\blive\b.*\blong\b|\blong\b.*\blive\b|\blifespan|\blive to\b": "life expectancy at birth",
    r"demograph": "population age structure median age growth rate",
    r"health": "life expectancy health expenditure physician density",
    r"educat|\bschool": "education expenditure literacy school life expectancy",
    r"geograph": "location area terrain climate natural resources",
    r"climate|weather": "climate natural hazards",
    r"hazard|disaster": "natural hazards",
    r"\bbig\b|\bsize\b|\blarge\b": "area total land water",
    r"mountain|highest point|\bpeak\b": "elevation highest point",
    r"\bborder|neighbo": "land boundaries border countries",
    r"energy": "electricity generation sources petroleum natural gas",
    r"militar|\barmy\b|\barmed forces": "military expenditures military and security forces",
    r"politic": "government type executive branch legislative branch political parties",
    r"govern": "government type constitution executive branch capital",
    r"seat of government|capital city": "capital",
    r"\bleader|president|prime minister|head of state": "executive branch chief of state head of government",
    r"histor": "background independence",
    r"independen|how old": "independence",
    r"environment": "environmental issues carbon dioxide emissions",
    r"\bmoney\b|currenc|\bdollar|\bworth\b": "exchange rates currency",
    r"\bprices?\b|cost of living": "inflation rate consumer prices",
    r"\bjobs?\b|jobless|unemploy": "unemployment rate",
    r"\bfarm|\bcrops?\b|agricultur|\bgrows?\b": "agricultural products",
    r"\btongues?\b|\bspeak|\bspoken": "languages",
    r"faith|\bbelie|religio": "religions",
    r"symbol|emblem|national animal|national flower": "national symbol(s)",
}
_HINTS: dict[str, dict[str, str]] = {"factbook": _FACTBOOK_HINTS}
"""Hints by collection: only the Factbook files facts under names people rarely use."""


def _user_prompt(messages: list[ModelMessage]) -> str:
    for message in messages:
        if isinstance(message, ModelRequest):
            for part in message.parts:
                if isinstance(part, UserPromptPart) and isinstance(part.content, str):
                    return part.content
    return ""


def _tool_returns(messages: list[ModelMessage], tool_name: str) -> list[ToolReturnPart]:
    return [
        part
        for message in messages
        if isinstance(message, ModelRequest)
        for part in message.parts
        if isinstance(part, ToolReturnPart) and part.tool_name == tool_name
    ]


def _output(info: AgentInfo, value: Any) -> ModelResponse:
    return ModelResponse(parts=[ToolCallPart(info.output_tools[0].name, value.model_dump(mode="json"))])


Respond = Callable[[list[ModelMessage], AgentInfo], ModelResponse]


def _offline_model(role: str, respond: Respond) -> FunctionModel:
    """A FunctionModel for `role` whose requests are paced by `offline_delay` like a slow real model.

    Drills and tests make it fail like a real provider through the fault settings (faults.py).
    """
    name = f"offline-{role}"

    async def request(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        record_execution("model", "start", role=role)
        garble = await faults.before_model_request(name, role)
        delay = engine_settings.current().offline_delay
        if delay:
            await asyncio.sleep(delay)
        response = respond(messages, info)
        if garble:
            response = faults.garbled(response, {tool.name for tool in info.output_tools})
        record_execution("model", "end", role=role)
        return response

    return FunctionModel(request, model_name=name)


def _collection(prompt: str, question: str) -> Collection:
    """The collection the prompt names; for `auto`, the one the question fits best."""
    indexes = engine_settings.current().indexes
    name = read_tag(prompt, "corpus") or engine_settings.current().corpus
    return open_collection(resolve_collection(name, question, indexes), indexes)


# --- planner -------------------------------------------------------------------------------------------


def _hints(text: str, collection: Collection) -> str:
    lowered = text.lower()
    return " ".join(
        h for pattern, h in _HINTS.get(collection.name, {}).items() if re.search(pattern, lowered)
    )


def _hint_weights(text: str, collection: Collection) -> dict[str, float]:
    """The collection's words for what `text` asks, each weighted by how specific its hint is: a hint
    naming one field ("how many people": population) outweighs a broad one ("people": five fields)."""
    weights: dict[str, float] = {}
    lowered = text.lower()
    for pattern, hint in _HINTS.get(collection.name, {}).items():
        if re.search(pattern, lowered):
            words = set(tokenize([hint])[0])
            for word in words:
                weights[word] = weights.get(word, 0.0) + 1 / len(words)
    return weights


def _aspect_query(question: str, entities: list[str], collection: Collection) -> str:
    """The question without the entities it names, with the collection's words for what it asks."""
    text = without_entities(question, entities)
    return f"{text} {_hints(text, collection)}".strip()


def _aspects(question: str, entity: str, collection: Collection, wanted: int) -> list[Passage]:
    """Passages of `entity` (any, when empty) whose sections answer the question, best first.

    A section whose name holds the question's own words ranks first ("capital" finds the field Capital),
    then one named in the collection's words for them (hints), then the search's own order; a name the
    words cover more fully wins a tie ("population" prefers Population to Population growth rate).
    """
    asked = set(tokenize([without_entities(question, [entity] if entity else [])], collection.keep_words)[0])
    hinted = _hint_weights(question, collection)
    query = f"{entity} {_aspect_query(question, [entity] if entity else [], collection)}"
    found = [passage for passage, _ in collection.search(query, k=wanted * 4)]
    # Sections named like the question are candidates even when the search ranks them low.
    candidates = (
        found + [p for p in collection.entity_passages(entity) if p not in found] if entity else found
    )
    ranked: dict[str, tuple[tuple[float, ...], Passage]] = {}
    for rank, passage in enumerate(candidates):
        aspect = passage.section or passage.title
        key: tuple[float, ...] = (rank,)
        if entity:  # a field's name says what it holds; a document's title says less
            name = set(tokenize([aspect], collection.keep_words)[0])
            cover = len((asked | hinted.keys()) & name) / max(len(name), 1)
            key = (-len(asked & name), -sum(hinted.get(t, 0.0) for t in name - asked), -cover, rank)
        if aspect not in ranked or key < ranked[aspect][0]:
            ranked[aspect] = (key, passage)
    return [passage for _, passage in sorted(ranked.values(), key=lambda item: item[0])]


def plan_research_offline(question: str, max_searches: int, collection: Collection) -> ResearchPlan:
    """A plan whose searches pair the entities the question names with the fields the corpus has on them.

    A question naming no entity (most of Python's documentation) searches first for itself, then for the
    documents that search ranks best, by their titles.
    """
    entities = collection.entities_in(question)
    aspects: list[str] = []
    if entities:
        for entity in entities:
            for passage in _aspects(question, entity, collection, max_searches):
                if passage.section not in aspects:
                    aspects.append(passage.section)
    else:
        aspects.append("")
        aspects += [p.title for p in _aspects(question, "", collection, max_searches)]
    steps: list[SearchStep] = []
    for aspect in aspects:
        for entity in entities or [""]:
            field = aspect.replace(" — ", " ").strip()
            query = " ".join(part for part in (entity, field) if part) or _aspect_query(
                question, [], collection
            )
            if any(step.query == query for step in steps):
                continue
            name = aspect.split(" — ")[-1]
            rationale = (
                f"Finds {entity}'s {name} ({aspect}), which the question needs."
                if entity and aspect
                else f"Finds what the corpus says on {name or 'the question'}."
            )
            steps.append(SearchStep(query=query, rationale=rationale, corpus=collection.name))
    # Compare like with like: every entity gets the same aspects before the budget runs out.
    if len(entities) > 1 and max_searches >= len(entities):
        steps = steps[: (max_searches // len(entities)) * len(entities)]
    steps = steps[:max_searches]
    subjects = " and ".join(entities) if entities else "the subject"
    instructions = (
        f"Answer the question '{question}'. Cover {subjects} aspect by aspect, using the searches in order; "
        "cite every sentence and say where the material is silent."
    )
    return ResearchPlan(search_steps=steps, analysis_instructions=instructions)


def _planner(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    prompt = _user_prompt(messages)
    question = read_tag(prompt, "question") or prompt
    max_searches = int(read_tag(prompt, "max_searches") or engine_settings.current().max_searches)
    if read_tag(prompt, "corpus") == WEB:
        return _output(info, plan_web_research(question, max_searches))
    return _output(info, plan_research_offline(question, max_searches, _collection(prompt, question)))


# --- searcher ------------------------------------------------------------------------------------------


def findings_from_hits(query: str, hits: list[SearchHit]) -> SearchFindings:
    """Findings that restate what the search returned: an extract per source, the sources themselves."""
    tokens = set(tokenize([query])[0])
    if not hits:
        return SearchFindings(query=query, summary=f"The search for '{query}' returned no sources.")
    # A web result whose page was read says more in its passages than in its snippet.
    extracts = [f"{hit.title}: {excerpt(' '.join(hit.passages) or hit.snippet, tokens)}" for hit in hits[:3]]
    summary = " ".join(extract.rstrip(".") + "." for extract in extracts)
    sources = [Source(title=h.title, url=h.url, location=h.location, snippet=h.snippet) for h in hits]
    return SearchFindings(query=query, summary=summary, sources=sources)


def _searcher(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    prompt = _user_prompt(messages)
    query = read_tag(prompt, "query") or prompt
    returns = _tool_returns(messages, "search")
    if not returns:
        return ModelResponse(parts=[ToolCallPart("search", {"query": query})])
    hits = _hits.validate_python(returns[-1].content) if isinstance(returns[-1].content, list) else []
    return _output(info, findings_from_hits(query, hits))


# --- analyst -------------------------------------------------------------------------------------------


def listed_sources(data: dict[str, Any], per_search: int | None = None) -> list[NumberedSource]:
    """The numbered sources of every search in the analyst's research data (the best `per_search` of each)."""
    return [
        NumberedSource.model_validate(s)
        for search in data.get("searches", [])
        for s in search.get("sources", [])[:per_search]
    ]


def _analyst(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    prompt = _user_prompt(messages)
    raw = read_tag(prompt, "research_data")
    data: dict[str, Any] = json.loads(raw) if raw else {"question": prompt, "searches": []}
    question: str = data.get("question", "")
    if read_tag(prompt, "corpus") == WEB:
        return _output(info, write_web_report(question, listed_sources(data)))
    collection = _collection(prompt, question)
    extra_returns = _tool_returns(messages, "extra_search")
    extra = [
        source
        for part in extra_returns
        if isinstance(part.content, list)
        for source in _numbered.validate_python(part.content)
    ]
    sources = listed_sources(data, _SOURCES_PER_SEARCH) + extra[:_SOURCES_PER_SEARCH]
    entities = collection.entities_in(question)
    uncovered = [e for e in entities if not any(source.title.startswith(e) for source in sources)]
    may_search = any(tool.name == "extra_search" for tool in info.function_tools)
    if uncovered and may_search and len(extra_returns) < len(uncovered):
        entity = uncovered[len(extra_returns)]
        query = f"{entity} {_aspect_query(question, [entity], collection)}".strip()
        return ModelResponse(parts=[ToolCallPart("extra_search", {"query": query[:200]})])
    return _output(info, write_report_offline(question, sources, collection))


PLANNER_MODEL = _offline_model("planner", _planner)
SEARCHER_MODEL = _offline_model("searcher", _searcher)
ANALYST_MODEL = _offline_model("analyst", _analyst)
