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

from . import faults
from ._audit import record_execution
from .corpus import Collection, open_collection
from .corpus._collection import tokenize
from .prompts import read_tag
from .schema import NumberedSource, ReportDraft, ResearchPlan, SearchFindings, SearchStep, Source
from .search.backends import SearchHit
from .settings import get_settings

_hits = TypeAdapter(list[SearchHit])
_numbered = TypeAdapter(list[NumberedSource])
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z(])")
_EXCERPT_CHARS = 320

# Everyday words for what the Factbook files under other names; they steer which fields the planner picks.
_ASPECT_HINTS: dict[str, str] = {
    "econom": "economic overview real GDP growth rate per capita exports inflation unemployment industries",
    "trade": "exports imports partners commodities",
    "wealth": "real GDP per capita poverty",
    "people": "population ethnic groups languages religions",
    "demograph": "population age structure median age growth rate",
    "health": "life expectancy health expenditure physician density",
    "educat": "education expenditure literacy school life expectancy",
    "geograph": "location area terrain climate natural resources",
    "climate": "climate natural hazards environmental issues",
    "energy": "electricity generation sources petroleum natural gas",
    "militar": "military expenditures military and security forces",
    "politic": "government type executive branch legislative branch political parties",
    "govern": "government type constitution executive branch",
    "histor": "background independence",
    "environment": "environmental issues carbon dioxide emissions",
}


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


def _excerpt(text: str, query_tokens: set[str]) -> str:
    """The sentence (or `;`-separated item) of `text` that shares most stemmed words with the query."""
    pieces = [p.strip() for p in _SENTENCE_END.split(text) for p in p.split("; ") if p.strip()]
    # Factbook notes explain a field's definition rather than state a fact about the country.
    pieces = [p for p in pieces if not p.lower().startswith("note:")] or pieces
    if not pieces:
        return ""
    best = max(pieces, key=lambda p: (len(query_tokens & set(tokenize([p])[0])), -pieces.index(p)))
    best = best.rstrip(" …")
    if len(best) > _EXCERPT_CHARS:
        best = best[: best.rfind(" ", 0, _EXCERPT_CHARS)] + " …"
    return best


Respond = Callable[[list[ModelMessage], AgentInfo], ModelResponse]


def _offline_model(role: str, respond: Respond) -> FunctionModel:
    """A FunctionModel for `role` whose requests are paced by `offline_delay` like a slow real model.

    Drills and tests make it fail like a real provider through the fault settings (faults.py).
    """
    name = f"offline-{role}"

    async def request(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        record_execution("model", "start", role=role)
        garble = await faults.before_model_request(name, role)
        delay = get_settings().offline_delay
        if delay:
            await asyncio.sleep(delay)
        response = respond(messages, info)
        if garble:
            response = faults.garbled(response, {tool.name for tool in info.output_tools})
        record_execution("model", "end", role=role)
        return response

    return FunctionModel(request, model_name=name)


def _collection(prompt: str) -> Collection:
    return open_collection(read_tag(prompt, "corpus") or get_settings().corpus, get_settings().indexes)


# --- planner -------------------------------------------------------------------------------------------


def _aspect_query(question: str, entities: list[str]) -> str:
    text = question
    for entity in entities:
        text = re.sub(re.escape(entity), " ", text, flags=re.IGNORECASE)
    lowered = text.lower()
    hints = [hint for stem, hint in _ASPECT_HINTS.items() if stem in lowered]
    return " ".join([text, *hints])


def plan_research_offline(question: str, max_searches: int, collection: Collection) -> ResearchPlan:
    """A plan whose searches pair the entities the question names with the fields the corpus has on them."""
    entities = collection.entities_in(question)
    aspect_query = _aspect_query(question, entities)
    aspects: list[str] = []
    for entity in entities or [""]:
        for passage, _ in collection.search(f"{entity} {aspect_query}", k=max_searches * 3):
            if (
                passage.section
                and passage.section not in aspects
                and passage.entity == (entity or passage.entity)
            ):
                aspects.append(passage.section)
    if not aspects:
        aspects = [""]
    steps: list[SearchStep] = []
    for aspect in aspects:
        for entity in entities or [""]:
            field = aspect.replace(" — ", " ").strip()
            query = " ".join(part for part in (entity, field) if part) or question
            if any(step.query == query for step in steps):
                continue
            name = aspect.split(" — ")[-1]
            rationale = (
                f"Finds {entity}'s {name} ({aspect}), which the question needs."
                if entity and aspect
                else f"Finds what the corpus says on {name or 'the question'}."
            )
            steps.append(SearchStep(query=query, rationale=rationale))
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
    max_searches = int(read_tag(prompt, "max_searches") or get_settings().max_searches)
    return _output(info, plan_research_offline(question, max_searches, _collection(prompt)))


# --- searcher ------------------------------------------------------------------------------------------


def findings_from_hits(query: str, hits: list[SearchHit]) -> SearchFindings:
    """Findings that restate what the search returned: an extract per source, the sources themselves."""
    tokens = set(tokenize([query])[0])
    if not hits:
        return SearchFindings(query=query, summary=f"The search for '{query}' returned no sources.")
    extracts = [f"{hit.title}: {_excerpt(hit.snippet, tokens)}" for hit in hits[:3]]
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


def listed_sources(data: dict[str, Any]) -> list[NumberedSource]:
    """The numbered sources of every search in the analyst's research data."""
    return [
        NumberedSource.model_validate(s)
        for search in data.get("searches", [])
        for s in search.get("sources", [])
    ]


def write_report_offline(question: str, sources: list[NumberedSource], collection: Collection) -> ReportDraft:
    """An extractive report: per entity (or per search), one cited excerpt from each source."""
    unique: list[NumberedSource] = []
    for source in sources:  # a source cited by several searches appears once, where first listed
        if all(source.number != kept.number for kept in unique):
            unique.append(source)
    tokens = set(tokenize([question])[0])
    entities = collection.entities_in(question)
    groups: dict[str, list[NumberedSource]] = {entity: [] for entity in entities}
    for source in unique:
        owner = next((e for e in entities if source.title.startswith(e)), None)
        groups.setdefault(owner or "Other findings", []).append(source)
    sections = []
    for heading, members in groups.items():
        lines = []
        for source in members:
            excerpt = _excerpt(source.snippet, tokens | set(tokenize([source.title])[0]))
            if excerpt:
                label = source.title.removeprefix(f"{heading} — ") if heading in entities else source.title
                lines.append(f"- **{label}**: {excerpt.rstrip('.')}. [{source.number}]")
        if lines:
            sections.append(f"## {heading}\n\n" + "\n".join(lines))
    missing = [entity for entity in entities if not groups.get(entity)]
    if missing:
        sections.append(
            "## Gaps\n\n" + "\n".join(f"- The sources found say nothing about {e}." for e in missing)
        )
    if not sections:
        body = "The searches returned no sources, so the question cannot be answered from this corpus."
    else:
        body = "\n\n".join(sections)
    return ReportDraft(title=question.strip().rstrip("?.!") or "Research report", body=body)


def _analyst(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    prompt = _user_prompt(messages)
    raw = read_tag(prompt, "research_data")
    data: dict[str, Any] = json.loads(raw) if raw else {"question": prompt, "searches": []}
    question: str = data.get("question", "")
    collection = _collection(prompt)
    extra_returns = _tool_returns(messages, "extra_search")
    extra = [
        source
        for part in extra_returns
        if isinstance(part.content, list)
        for source in _numbered.validate_python(part.content)
    ]
    sources = listed_sources(data) + extra
    entities = collection.entities_in(question)
    uncovered = [e for e in entities if not any(source.title.startswith(e) for source in sources)]
    may_search = any(tool.name == "extra_search" for tool in info.function_tools)
    if uncovered and may_search and len(extra_returns) < len(uncovered):
        entity = uncovered[len(extra_returns)]
        query = f"{entity} {_aspect_query(question, [entity])}".strip()
        return ModelResponse(parts=[ToolCallPart("extra_search", {"query": query[:200]})])
    return _output(info, write_report_offline(question, sources, collection))


PLANNER_MODEL = _offline_model("planner", _planner)
SEARCHER_MODEL = _offline_model("searcher", _searcher)
ANALYST_MODEL = _offline_model("analyst", _analyst)
