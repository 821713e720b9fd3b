"""The offline model derives its answers from the question and the corpus, not from a script."""

import json
from pathlib import Path
from typing import Any

from research_agent._offline import (
    findings_from_hits,
    listed_sources,
    missing_searches,
    plan_research_offline,
)
from research_agent._offline_report import excerpt, write_report_offline
from research_agent.corpus import open_collection
from research_agent.corpus.question import understand
from research_agent.schema import CITATION_PATTERN, NumberedSource
from research_agent.search.backends import SearchHit


def test_the_plan_pairs_each_named_country_with_the_same_aspects(index_dir: Path):
    factbook = open_collection("factbook", index_dir)
    plan = plan_research_offline("Compare the economies of Chile and Peru", 5, factbook)
    queries = [s.query for s in plan.search_steps]
    assert len(queries) == 4  # two aspects for each of two countries, never an unpaired fifth
    assert [q.split()[0] for q in queries] == ["Chile", "Peru", "Chile", "Peru"]
    assert all("Economy" in q for q in queries)
    assert queries[0].removeprefix("Chile") == queries[1].removeprefix("Peru")
    assert all(step.rationale for step in plan.search_steps)


def test_named_aspects_of_three_countries_share_the_budget_and_extra_searches_complete_them(index_dir: Path):
    factbook = open_collection("factbook", index_dir)
    question = "Compare the population and GDP per capita of France, Spain and Italy"
    plan = plan_research_offline(question, 5, factbook)
    assert [s.query for s in plan.search_steps] == [
        "France People and Society Population",
        "Spain People and Society Population",
        "Italy People and Society Population",
        "France Economy Real GDP per capita",
        "Spain Economy Real GDP per capita",
    ]
    found = [
        NumberedSource(number=n, title=p.title, location=p.location, snippet=p.text)
        for n, step in enumerate(plan.search_steps, start=1)
        for p, _ in factbook.search(step.query, 5)
    ]
    understanding = understand(question, factbook)
    assert missing_searches(understanding, found, factbook) == ["Italy Economy Real GDP per capita"]


def test_the_plan_follows_the_question(index_dir: Path):
    factbook = open_collection("factbook", index_dir)
    health = plan_research_offline("What is life expectancy in Japan?", 3, factbook)
    assert all(s.query.startswith("Japan") for s in health.search_steps)
    assert any("Life expectancy" in s.query for s in health.search_steps)
    assert len(plan_research_offline("Tell me about Kenya", 2, factbook).search_steps) <= 2


def test_a_question_naming_no_entity_still_gets_a_plan(index_dir: Path):
    plan = plan_research_offline(
        "Which countries export the most copper?", 3, open_collection("factbook", index_dir)
    )
    assert 1 <= len(plan.search_steps) <= 3


def test_findings_restate_only_what_the_search_returned():
    hits = [
        SearchHit(
            title="Chile — Economy — Exports",
            location="factbook:ci/Economy/Exports",
            snippet="Exports 2024: $100 billion (2024 est.); Exports 2023: $95 billion.",
        ),
        SearchHit(
            title="Chile — Economy — Imports",
            location="factbook:ci/Economy/Imports",
            snippet="Imports 2024: $80 billion.",
        ),
    ]
    findings = findings_from_hits("Chile exports", hits)
    assert [s.location for s in findings.sources] == [h.location for h in hits]
    assert "Exports 2024: $100 billion" in findings.summary
    assert findings_from_hits("nothing", []).sources == []


def test_every_sentence_of_the_report_is_cited_with_a_given_number(index_dir: Path):
    data: dict[str, Any] = {
        "question": "Compare the GDP and the exports of Chile and Peru",
        "searches": [
            {
                "query": "Chile GDP",
                "sources": [
                    {
                        "number": 1,
                        "title": "Chile — Economy — Real GDP (purchasing power parity)",
                        "snippet": "Real GDP (purchasing power parity) 2024: $300 billion (2024 est.)",
                        "location": "a",
                    }
                ],
            },
            {
                "query": "Peru GDP",
                "sources": [
                    {
                        "number": 2,
                        "title": "Peru — Economy — Real GDP (purchasing power parity)",
                        "snippet": "Real GDP (purchasing power parity) 2024: $250 billion (2024 est.)",
                        "location": "b",
                    }
                ],
            },
        ],
    }
    extra = [
        NumberedSource(
            number=3,
            title="Peru — Economy — Exports - commodities",
            snippet="copper, gold (2023)",
            location="c",
        )
    ]
    sources = listed_sources(json.loads(json.dumps(data))) + extra
    draft = write_report_offline(data["question"], sources, open_collection("factbook", index_dir))
    lines = [line for line in draft.body.splitlines() if line.strip()]
    stated = [line for line in lines if not line.startswith(("#", "| |", "| ---", "- The sources found"))]
    assert stated and all(CITATION_PATTERN.search(line) for line in stated)
    assert sorted({int(n) for n in CITATION_PATTERN.findall(draft.body)}) == [1, 2, 3]
    assert "## Chile" in draft.body and "## Peru" in draft.body


def test_the_plan_starts_with_the_field_the_question_names_in_its_own_or_everyday_words(index_dir: Path):
    factbook = open_collection("factbook", index_dir)
    capital = plan_research_offline("What is the capital of Chile?", 5, factbook)
    assert capital.search_steps[0].query == "Chile Government Capital"
    assert all(step.corpus == "factbook" for step in capital.search_steps)
    people = plan_research_offline("How many people live in Nigeria?", 5, factbook)
    assert people.search_steps[0].query == "Nigeria People and Society Population"


def test_a_question_naming_a_document_searches_for_it_first_then_for_itself(index_dir: Path):
    pydoc = open_collection("pydoc", index_dir)
    plan = plan_research_offline("What does json.dumps do?", 3, pydoc)
    queries = [step.query for step in plan.search_steps]
    assert queries[0].startswith("json.dumps Serialize obj to a JSON")
    assert "What does json.dumps do?" in queries


def _sources(collection_name: str, query: str, index_dir: Path) -> list[NumberedSource]:
    collection = open_collection(collection_name, index_dir)
    return [
        NumberedSource(number=n, title=p.title, location=p.location, snippet=p.text)
        for n, (p, _) in enumerate(collection.search(query, 3), start=1)
    ]


def test_the_report_says_not_found_when_the_question_names_what_the_corpus_lacks(index_dir: Path):
    factbook = open_collection("factbook", index_dir)
    wakanda = write_report_offline(
        "What is the capital of Wakanda?", _sources("factbook", "capital", index_dir), factbook
    )
    assert wakanda.body.startswith("## Not found\n\nThe sources found say nothing about Wakanda")
    assert "Closest material" not in wakanda.body and "[1]" not in wakanda.body  # no noise passed off
    chile = write_report_offline(
        "What is the capital of Chile?", _sources("factbook", "Chile Government Capital", index_dir), factbook
    )
    assert "Not found" not in chile.body and "Santiago" in chile.body


def test_excerpts_widen_over_neighbouring_pieces_and_never_read_as_citations(index_dir: Path):
    climate = "temperate; moderated by North Atlantic Current; mild, windy winters; damp, cool summers"
    assert excerpt(climate, {"climat"}) == climate
    source = NumberedSource(
        number=1, title="heapq", location="pydoc:heapq", snippet="heap[0] is the smallest item of the heap."
    )
    draft = write_report_offline("What is heap[0] in heapq?", [source], open_collection("pydoc", index_dir))
    assert "heap\\[0\\] is the smallest item" in draft.body and CITATION_PATTERN.findall(draft.body) == ["1"]
