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
    TextPart,
    ToolCallPart,
    ToolReturnPart,
    UserPromptPart,
)
from pydantic_ai.models.function import AgentInfo, FunctionModel

from . import engine_settings, faults
from ._audit import record_execution
from ._offline_report import excerpt, without_entities, without_signature, write_report_offline
from ._offline_sections import outline_offline, summary_offline, write_section_offline
from ._offline_stream import ReplayingFunctionModel
from ._offline_web import plan_web_research, write_web_report
from .catalog import WEB
from .corpus import Collection, Passage, open_collection, resolve_collection
from .corpus._collection import tokenize
from .corpus.question import Understanding, factbook_parts, location_within, understand
from .prompts import read_tag
from .schema import (
    Gap,
    NumberedSource,
    OutlineSection,
    Reflection,
    ReportOutline,
    ResearchPlan,
    SearchFindings,
    SearchStep,
    SectionDraft,
    Source,
)
from .search.backends import SearchHit

_hits = TypeAdapter(list[SearchHit])
_numbered = TypeAdapter(list[NumberedSource])


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
    """The answer by output tool, or as JSON text when the run asks for native or prompted output."""
    if not info.output_tools:
        return ModelResponse(parts=[TextPart(value.model_dump_json())])
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

    return ReplayingFunctionModel(request, model_name=name)


def _collection(prompt: str, question: str) -> Collection:
    """The collection the prompt names; for `auto`, the one the question fits best."""
    indexes = engine_settings.current().indexes
    name = read_tag(prompt, "corpus") or engine_settings.current().corpus
    return open_collection(resolve_collection(name, question, indexes), indexes)


# --- planner -------------------------------------------------------------------------------------------


def _aspect_query(question: str, understanding: Understanding) -> str:
    """The question without the entities it names, with the names of the fields its words mean."""
    text = without_entities(question, understanding.entities)
    fields = " ".join(f for f in understanding.fields if not f.startswith("pydoc:"))
    return f"{text} {fields}".strip()


def _aspects(question: str, entity: str, collection: Collection, wanted: int) -> list[Passage]:
    """Passages of `entity` (any, when empty) whose sections best match the question's own words, best
    first: for a question whose words the vocabulary does not know ("What do people in Kenya eat?").

    A section whose name holds the question's words ranks first, then the search's own order; a name the
    words cover more fully wins a tie ("population" prefers Population to Population growth rate).
    """
    asked = set(tokenize([without_entities(question, [entity] if entity else [])], collection.keep_words)[0])
    query = f"{entity} {without_entities(question, [entity] if entity else [])}"
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
            key = (-len(asked & name), -len(asked & name) / max(len(name), 1), rank)
        if aspect not in ranked or key < ranked[aspect][0]:
            ranked[aspect] = (key, passage)
    return [passage for _, passage in sorted(ranked.values(), key=lambda item: item[0])]


def _entity_sections(
    question: str, understanding: Understanding, entity: str, collection: Collection, wanted: int
) -> list[str]:
    """The sections to search for `entity`, most wanted first: those of the fields the question means that
    the entity has; a field it lacks is still searched when nothing else is asked (the report then says
    it was not found); failing any field, the sections named most like the question's own words."""
    fields = understanding.fields_for(entity, collection)
    if fields:
        available = collection.entity_fields(entity)
        return [available[f].section for f in fields]
    if understanding.fields:
        return [understanding.fields[0]]
    return [p.section for p in _aspects(question, entity, collection, wanted)]


def _document_query(location: str, collection: Collection) -> str:
    """A query that finds the document at `location` first: its title and the first words of its text (a
    class's methods, with shorter texts, would outrank it on the title alone)."""
    passage = next((p for p in collection.passages if p.location == location), None)
    if passage is None:
        return location.split(":", 1)[-1]
    words = re.findall(r"[A-Za-z]+", without_signature(passage.text, passage.title))[:8]
    return " ".join([passage.title, *words])


def plan_research_offline(question: str, max_searches: int, collection: Collection) -> ResearchPlan:
    """A plan whose searches pair the entities the question names with the fields it asks about.

    For several entities, every one gets the same aspects before the budget runs out. A question naming no
    entity (most of Python's documentation) searches for the documents its words mean, for itself, then
    for the documents that search ranks best, by their titles.
    """
    understanding = understand(question, collection)
    entities = understanding.entities
    steps: list[SearchStep] = []

    def add(query: str, rationale: str) -> None:
        if query and all(step.query != query for step in steps):
            steps.append(SearchStep(query=query, rationale=rationale, corpus=collection.name))

    if entities:
        per_entity = {
            e: _entity_sections(question, understanding, e, collection, max_searches) for e in entities
        }
        for rank in range(max(len(sections) for sections in per_entity.values())):
            for entity in entities:
                if rank < len(per_entity[entity]):
                    section = per_entity[entity][rank]
                    name = section.split(" — ")[-1]
                    add(
                        f"{entity} {section.replace(' — ', ' ')}",
                        f"Finds {_possessive(entity)} {name} ({section}), which the question needs.",
                    )
        # Compare like with like: for a subject ("economy"), every entity gets the same aspects before the
        # budget runs out. Aspects the question names all count: the analyst's extra searches complete
        # the last round (three countries, two aspects: five searches, one extra).
        if understanding.broad and len(entities) > 1 and max_searches >= len(entities):
            steps = steps[: (max_searches // len(entities)) * len(entities)]
    else:
        for location in understanding.fields:
            if location.startswith("pydoc:"):
                name = location.removeprefix("pydoc:")
                add(
                    _document_query(location, collection),
                    f"Finds the documentation of {name}, which the question asks about.",
                )
        add(_aspect_query(question, understanding), "Finds what the corpus says on the question.")
        if not understanding.fields:  # nothing named or meant: the documents the question's words find
            for passage in _aspects(question, "", collection, max_searches):
                add(passage.title, f"Finds what the corpus says on {passage.title}.")
    steps = steps[:max_searches]
    subjects = " and ".join(entities) if entities else "the subject"
    instructions = (
        f"Answer the question '{question}'. Cover {subjects} aspect by aspect, using the searches in order; "
        "cite every sentence and say where the material is silent."
    )
    return ResearchPlan(search_steps=steps, analysis_instructions=instructions)


def _possessive(name: str) -> str:
    return f"{name}'" if name.endswith("s") else f"{name}'s"


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


def _issued(messages: list[ModelMessage], tool_name: str) -> list[str]:
    """The queries of the `tool_name` calls the model already made in this conversation."""
    return [
        str(part.args_as_dict().get("query", ""))
        for message in messages
        if isinstance(message, ModelResponse)
        for part in message.parts
        if isinstance(part, ToolCallPart) and part.tool_name == tool_name
    ]


def missing_searches(
    understanding: Understanding, sources: list[NumberedSource], collection: Collection
) -> list[str]:
    """Queries for what the research still lacks, most wanted first: every field the question names (for
    a subject, its main field) of every named entity that no source holds, aspect by aspect; or any source
    at all about an entity the plan had no room for."""
    wanted: list[tuple[int, int, str]] = []
    for order, entity in enumerate(understanding.entities):
        fields = understanding.fields_for(entity, collection)
        if not fields and not any(s.title.startswith(f"{entity} — ") for s in sources):
            query = f"{entity} {_aspect_query(understanding.question, understanding)}".strip()[:200]
            wanted.append((0, order, query))
        for rank, field in enumerate(fields[:1] if understanding.broad else fields):
            if not any(factbook_parts(s.title) == (entity, field) for s in sources):
                section = collection.entity_fields(entity)[field].section
                wanted.append((rank, order, f"{entity} {section.replace(' — ', ' ')}"))
    return [query for _, _, query in sorted(wanted)]


def _analyst(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    """The report in one answer, or (the prompt's task `outline`) a long report's outline; either after
    the extra searches for what the research still lacks."""
    prompt = _user_prompt(messages)
    raw = read_tag(prompt, "research_data")
    data: dict[str, Any] = json.loads(raw) if raw else {"question": prompt, "searches": []}
    question: str = data.get("question", "")
    outline = read_tag(prompt, "task") == "outline"
    if read_tag(prompt, "corpus") == WEB:
        if outline:
            return _output(info, _outline_by_search(question, data))
        return _output(info, write_web_report(question, listed_sources(data)))
    collection = _collection(prompt, question)
    extra_returns = _tool_returns(messages, "extra_search")
    extra = [
        source
        for part in extra_returns
        if isinstance(part.content, list)
        for source in _numbered.validate_python(part.content)
    ]
    sources = listed_sources(data) + extra
    understanding = understand(question, collection)
    may_search = any(tool.name == "extra_search" for tool in info.function_tools) and not any(
        isinstance(part.content, str)
        for part in extra_returns  # told that no more are allowed
    )
    issued = _issued(messages, "extra_search")
    wanted = [q for q in missing_searches(understanding, sources, collection) if q not in issued]
    if wanted and may_search:
        return ModelResponse(parts=[ToolCallPart("extra_search", {"query": wanted[0]})])
    if outline:
        return _output(info, outline_offline(question, sources, collection))
    return _output(info, write_report_offline(question, sources, collection))


def _outline_by_search(question: str, data: dict[str, Any]) -> ReportOutline:
    """A web research's outline: a section per search that found something, from that search's sources."""
    sections = [
        OutlineSection(
            heading=str(search.get("query", ""))[:120],
            focus=f"What the sources say on {search.get('query', '')}.",
            sources=[int(s["number"]) for s in search["sources"]],
        )
        for search in data.get("searches", [])
        if search.get("sources")
    ]
    return ReportOutline(title=question.strip().rstrip("?.!") or "Research report", sections=sections)


def _section_writer(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    """A section of a long report from the sources its prompt holds, or the summary from the sections."""
    prompt = _user_prompt(messages)
    question = read_tag(prompt, "question") or ""
    written = read_tag(prompt, "report_sections")
    if written is not None:
        sections = [(str(s.get("heading", "")), str(s.get("body", ""))) for s in json.loads(written)]
        return _output(info, summary_offline(sections))
    raw = read_tag(prompt, "research_data")
    data: dict[str, Any] = json.loads(raw) if raw else {"sources": []}
    sources = [NumberedSource.model_validate(s) for s in data.get("sources", [])]
    heading = read_tag(prompt, "section") or ""
    if read_tag(prompt, "corpus") == WEB:
        return _output(info, SectionDraft(body=write_web_report(question, sources).body))
    return _output(info, write_section_offline(question, heading, sources, _collection(prompt, question)))


# --- reflector -----------------------------------------------------------------------------------------


def _entity_gaps(
    understanding: Understanding, entity: str, titles: list[str], collection: Collection
) -> list[tuple[int, Gap]]:
    """(rank, gap) for each field the question asks of `entity` that no finding's source holds; or, when
    it asks no field `entity` has, one gap if no source is about `entity` at all."""
    fields = understanding.fields_for(entity, collection)
    if not fields:
        if any(factbook_parts(title)[0] == entity for title in titles):
            return []
        query = f"{entity} {_aspect_query(understanding.question, understanding)}".strip()[:200]
        return [(0, Gap(missing=f"{entity}: nothing found yet", query=query))]
    available = collection.entity_fields(entity)
    return [
        (
            rank,
            Gap(
                missing=f"{entity}: {field}", query=f"{entity} {available[field].section.replace(' — ', ' ')}"
            ),
        )
        for rank, field in enumerate(fields)
        if not any(factbook_parts(title) == (entity, field) for title in titles)
    ]


def reflect_offline(
    question: str, searches: list[dict[str, Any]], max_searches: int, collection: Collection
) -> Reflection:
    """The gaps of the findings so far: every field the question asks (for a subject such as "economy",
    every field of it) of every entity it names that no source found holds, aspect by aspect so the
    entities stay comparable; for a question naming documents (pydoc), each one no source comes from.
    A gap whose query was already searched is not asked again, so the rounds end."""
    understanding = understand(question, collection)
    sources = [source for search in searches for source in search.get("sources", [])]
    titles = [str(source.get("title", "")) for source in sources]
    locations = [str(source.get("location", "")) for source in sources]
    wanted: list[tuple[int, int, Gap]] = []
    for order, entity in enumerate(understanding.entities):
        wanted += [
            (rank, order, gap) for rank, gap in _entity_gaps(understanding, entity, titles, collection)
        ]
    for rank, location in enumerate(f for f in understanding.named if f.startswith("pydoc:")):
        if not any(location_within(found, location) for found in locations):
            name = location.removeprefix("pydoc:")
            gap = Gap(missing=f"the documentation of {name}", query=_document_query(location, collection))
            wanted.append((rank, 0, gap))
    searched = {str(search.get("query", "")) for search in searches}
    gaps = [gap for _, _, gap in sorted(wanted, key=lambda w: (w[0], w[1])) if gap.query not in searched]
    return Reflection(gaps=list({gap.query: gap for gap in gaps}.values())[:max_searches])


def _reflector(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    prompt = _user_prompt(messages)
    raw = read_tag(prompt, "research_data")
    data: dict[str, Any] = json.loads(raw) if raw else {"question": prompt, "searches": []}
    question: str = data.get("question", "")
    if read_tag(prompt, "corpus") == WEB:
        # The web has no field list to hold findings against: the offline model leaves it to the plan.
        return _output(info, Reflection())
    max_searches = int(read_tag(prompt, "max_searches") or 1)
    searches = data.get("searches", [])
    return _output(info, reflect_offline(question, searches, max_searches, _collection(prompt, question)))


PLANNER_MODEL = _offline_model("planner", _planner)
SEARCHER_MODEL = _offline_model("searcher", _searcher)
ANALYST_MODEL = _offline_model("analyst", _analyst)
SECTION_MODEL = _offline_model("section", _section_writer)
REFLECTOR_MODEL = _offline_model("reflector", _reflector)
