"""The offline model derives its answers from the question and the corpus, not from a script."""

import json
from pathlib import Path

from research_agent._offline import (
    findings_from_hits,
    listed_sources,
    plan_research_offline,
    write_report_offline,
)
from research_agent.corpus import open_collection
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
    data = {
        "question": "Compare Chile and Peru",
        "searches": [
            {
                "query": "Chile GDP",
                "sources": [
                    {
                        "number": 1,
                        "title": "Chile — Economy — GDP",
                        "snippet": "GDP 2024: $300 billion.",
                        "location": "a",
                    }
                ],
            },
            {
                "query": "Peru GDP",
                "sources": [
                    {
                        "number": 2,
                        "title": "Peru — Economy — GDP",
                        "snippet": "GDP 2024: $250 billion.",
                        "location": "b",
                    }
                ],
            },
        ],
    }
    extra = [
        NumberedSource(
            number=3, title="Peru — Economy — Exports", snippet="Exports: copper, gold.", location="c"
        )
    ]
    sources = listed_sources(json.loads(json.dumps(data))) + extra
    draft = write_report_offline(data["question"], sources, open_collection("factbook", index_dir))
    bullets = [line for line in draft.body.splitlines() if line.startswith("- ")]
    assert len(bullets) == 3
    assert all(CITATION_PATTERN.search(line) for line in bullets)
    assert sorted(int(n) for n in CITATION_PATTERN.findall(draft.body)) == [1, 2, 3]
    assert "## Chile" in draft.body and "## Peru" in draft.body
