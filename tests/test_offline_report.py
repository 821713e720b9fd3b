"""The offline report answers like research: a cited lead computed from the figures found, a comparison
table, only relevant material (each field once, no example code in prose), or an honest "not found"."""

from __future__ import annotations

from pathlib import Path

import pytest

from research_agent._offline_report import (
    excerpt,
    is_code,
    lead_sentences,
    relevant_sources,
    without_grammar,
    write_report_offline,
)
from research_agent.corpus import Collection, open_collection
from research_agent.corpus.question import understand
from research_agent.corpus.values import amount, difference, figure, latest_reading, tidy_series
from research_agent.evaluation._text import claims
from research_agent.schema import CITATION_PATTERN, NumberedSource


@pytest.fixture(scope="module")
def factbook(index_dir: Path) -> Collection:
    return open_collection("factbook", index_dir)


@pytest.fixture(scope="module")
def pydoc(index_dir: Path) -> Collection:
    return open_collection("pydoc", index_dir)


def _source(number: int, title: str, snippet: str, location: str | None = None) -> NumberedSource:
    return NumberedSource(number=number, title=title, snippet=snippet, location=location or f"x:{number}")


def _gdp(number: int, country: str, latest: str, earlier: str) -> NumberedSource:
    return _source(
        number,
        f"{country} — Economy — Real GDP per capita",
        f"Real GDP per capita 2024: {latest} (2024 est.); Real GDP per capita 2023: {earlier} (2023 est.); "
        "note: data in 2021 dollars",
    )


CHILE = _gdp(1, "Chile", "$30,200", "$29,600")
PERU = _gdp(2, "Peru", "$15,700", "$15,300")
BOLIVIA = _gdp(3, "Bolivia", "$9,800", "$9,600")


def _cited(body: str) -> list[int]:
    return sorted({int(n) for n in CITATION_PATTERN.findall(body)})


# --- figures read from the Factbook --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "text", "shown", "number", "unit"),
    [
        ("Real GDP per capita", CHILE.snippet, "$30,200 (2024)", 30200.0, "$"),
        (
            "Population",
            "total: 68,512,806 (2025 est.); male: 33,627,639",
            "68,512,806 (2025)",
            68512806.0,
            "",
        ),
        (
            "Real GDP (purchasing power parity)",
            "Real GDP (purchasing power parity) 2023: $581.187 billion (2023 est.); "
            "Real GDP (purchasing power parity) 2024: $596.556 billion (2024 est.)",
            "$596.556 billion (2024)",  # the latest year, wherever it stands
            596.556e9,
            "$",
        ),
        (
            "Exchange rates",
            "Currency: yen (JPY) per US dollar -; Exchange rates 2024: 151.366 (2024 est.)",
            "151.366 yen (JPY) per US dollar (2024)",
            151.366,
            "",
        ),
        (
            "Elevation",
            "highest point: Mount Everest (highest peak in Asia) 8,849 m; lowest point: Kanchan Kalan 70 m",
            "Mount Everest (highest peak in Asia) 8,849 m",
            8849.0,
            "m",
        ),
        (
            "Exports - commodities",
            "copper ore, refined copper, fish (2023); note: top five export commodities",
            "copper ore, refined copper, fish (2023)",
            None,
            "",
        ),
        ("Capital", "name: Santiago; note - Valparaiso is the seat of the legislature", "Santiago", None, ""),
        (
            "Climate",
            "desert; hot, dry summers with moderate winters",
            "desert; hot, dry summers with moderate winters",
            None,
            "",
        ),
    ],
)
def test_the_latest_figure_of_a_field_is_read_as_the_field_writes_it(
    field: str, text: str, shown: str, number: float | None, unit: str
):
    reading = latest_reading(field, text)
    assert reading is not None
    assert (reading.shown, reading.number, reading.unit) == (shown, number, unit)


def test_figures_are_numbers_only_when_a_field_states_one():
    assert amount("2.1% of GDP") == (2.1, "% of GDP")
    assert amount("-0.4%") == (-0.4, "%")
    assert amount("copper ore, gold") is None and amount("Hindu 81.2%, Buddhist 8.2%") is None
    assert amount("Santiago") is None
    assert figure(14500, "$") == "$14,500" and figure(60.645e9, "$") == "$60.645 billion"
    assert difference(4.6, "%") == "4.6 percentage points" and difference(-8.4, "years") == "8.4 years"
    assert tidy_series("Real GDP per capita", CHILE.snippet) == "$30,200 (2024 est.); $29,600 (2023 est.)"


# --- the lead answer and the comparison table ----------------------------------------------------------


def test_a_comparison_leads_with_which_is_higher_and_by_how_much(factbook: Collection):
    draft = write_report_offline("Compare the real GDP per capita of Chile and Peru", [CHILE, PERU], factbook)
    lead = draft.body.split("\n\n")[0]
    assert lead == (
        "Chile's real GDP per capita, $30,200 (2024) [1], is higher than Peru's, $15,700 (2024) [2], "
        "by $14,500, about 1.9 times as much."
    )
    reversed_order = write_report_offline(
        "Compare the real GDP per capita of Peru and Chile", [PERU, CHILE], factbook
    )
    assert reversed_order.body.startswith("Chile's real GDP per capita, $30,200 (2024) [1], is higher")


def test_three_or_more_entities_lead_with_the_highest_and_the_lowest(factbook: Collection):
    question = "Compare the GDP per capita of Chile, Bolivia and Peru"
    lead = write_report_offline(question, [CHILE, BOLIVIA, PERU], factbook).body.split("\n\n")[0]
    assert lead == (
        "Chile's real GDP per capita, $30,200 (2024) [1], is the highest of the three, and Bolivia's, "
        "$9,800 (2024) [3], the lowest, $20,400 apart."
    )


def test_a_comparison_is_a_table_of_aspects_by_entities_with_not_found_where_silent(factbook: Collection):
    growth = _source(
        4, "Chile — Economy — Real GDP growth rate", "Real GDP growth rate 2024: 2.6% (2024 est.)"
    )
    question = "Compare the economies of Chile, Peru and Bolivia"
    body = write_report_offline(question, [CHILE, growth, PERU, BOLIVIA], factbook).body
    table = [line for line in body.splitlines() if line.startswith("|")]
    assert table == [
        "| | Chile | Peru | Bolivia |",
        "| --- | --- | --- | --- |",
        "| Real GDP per capita | $30,200 (2024) [1] | $15,700 (2024) [2] | $9,800 (2024) [3] |",
        "| Real GDP growth rate | 2.6% (2024) [4] | not found | not found |",
    ]
    # every figure in a cell is its own claim, checked against the source it cites
    cells = [c for c in claims("\n".join(table)) if c.cited == (2,)]
    assert [c.text for c in cells] == ["Real GDP per capita $15,700 (2024)"]


def test_a_single_answer_leads_with_the_entitys_field_in_a_sentence(factbook: Collection):
    exports = _source(
        1,
        "Chile — Economy — Exports - commodities",
        "copper ore, refined copper, fish, carbonates, pitted fruits (2023); note: top five export commodities",
    )
    draft = write_report_offline("What does Chile ship to other countries?", [exports], factbook)
    assert draft.body.split("\n\n")[0] == (
        "Chile's main exports are copper ore, refined copper, fish, carbonates, pitted fruits (2023) [1]."
    )
    assert "|" not in draft.body  # one entity: no table


def test_the_lead_quotes_the_part_of_a_field_the_question_asks_for(factbook: Collection):
    capital = _source(
        1,
        "Chile — Government — Capital",
        "name: Santiago; geographic coordinates: 33 27 S, 70 40 W; time difference: UTC-3 (2 hours ahead "
        "of Washington, DC, during Standard Time)",
    )
    assert write_report_offline("What is the capital of Chile?", [capital], factbook).body.startswith(
        "Chile's capital is Santiago [1]."
    )
    assert write_report_offline("What time zone is Chile in?", [capital], factbook).body.startswith(
        "Chile's capital: time difference: UTC-3"
    )


def test_a_documents_lead_is_the_sentence_on_what_is_asked(pydoc: Collection):
    dumps = _source(
        1,
        "json.dumps",
        "json.dumps(obj, *, skipkeys=False, ensure_ascii=True, separators=None) Serialize ``obj`` to a JSON "
        "formatted ``str``. If ``ensure_ascii`` is false, then the return value can contain non-ASCII "
        "characters. Otherwise, all such characters are escaped in JSON strings. If ``check_circular`` …",
        "pydoc:json.dumps",
    )
    body = write_report_offline("What does json.dumps do with non-ASCII characters?", [dumps], pydoc).body
    lead, _, detail = body.partition("\n\n")
    assert lead == (
        "**json.dumps**: If ``ensure_ascii`` is false, then the return value can contain non-ASCII characters. "
        "Otherwise, all such characters are escaped in JSON strings. [1]"
    )
    assert "ensure_ascii" not in detail  # the detail does not repeat the lead
    plain = write_report_offline("What does json.dumps do?", [dumps], pydoc).body
    assert plain.startswith("**json.dumps**: Serialize ``obj`` to a JSON formatted ``str``.")
    assert lead_sentences("Only half a sent …", set()) == "Only half a sent …"  # nothing better to say


# --- only relevant material -----------------------------------------------------------------------------


def test_sources_about_other_fields_or_countries_stay_out_of_the_report(factbook: Collection):
    exports = _source(1, "Chile — Economy — Exports - commodities", "copper ore, refined copper (2023)")
    noise = [
        _source(2, "Chile — Government — Country name", "conventional short form: Chile"),
        _source(3, "Chile — Transportation — Heliports", "115 (2025)"),
        _source(4, "Peru — Economy — Exports - commodities", "copper ore, gold (2023)"),
    ]
    draft = write_report_offline("What does Chile ship to other countries?", [*noise, exports], factbook)
    assert _cited(draft.body) == [1]


def test_a_field_filed_under_two_headings_is_quoted_once(factbook: Collection):
    text = "temperate; moderated by North Atlantic Current; mild, windy winters; damp, cool summers"
    sources = [
        _source(1, "Iceland — Geography — Climate", text),
        _source(2, "Iceland — Environment — Climate", text),
    ]
    question = "What is the weather like in Iceland?"
    kept = relevant_sources(understand(question, factbook), sources, factbook)
    assert [item.source.number for item in kept] == [1]
    draft = write_report_offline(question, sources, factbook)
    assert _cited(draft.body) == [1] and draft.body.count("North Atlantic Current") == 1


def test_a_document_filed_under_two_topics_is_quoted_once(pydoc: Collection):
    text = 'The "with" statement is used to wrap the execution of a block with methods defined by a context manager.'
    sources = [
        _source(1, 'The "with" statement', text, "pydoc:topic/with"),
        _source(
            2, 'Compound statements — The "with" statement', text, 'pydoc:topic/compound#The "with" statement'
        ),
    ]
    kept = relevant_sources(understand("What is the with statement used for?", pydoc), sources, pydoc)
    assert [item.source.number for item in kept] == [1]


def test_example_code_stays_out_of_prose_unless_code_is_asked_for(pydoc: Collection):
    module = _source(
        1,
        "json",
        "JSON is a lightweight data interchange format. Encoding basic Python object hierarchies:: >>> import "
        "json >>> json.dumps(['foo', {'bar': ('baz', None, 1.0, 2)}]) '[\"foo\", {\"bar\": [\"baz\"]}]'",
        "pydoc:json",
    )
    session = _source(
        2, "json", '$ echo \'{"json":"obj"}\' | python -m json.tool { "json": "obj" }', "pydoc:json (3)"
    )
    prose = write_report_offline("What is the json module for?", [module, session], pydoc).body
    assert ">>>" not in prose and "echo" not in prose and _cited(prose) == [1]
    code = write_report_offline("Show me an example of the json module", [module, session], pydoc).body
    assert ">>>" in code
    assert is_code('with_stmt ::= "with" ( with_item )') and is_code(
        "manager = (EXPRESSION) enter = type(manager).__enter__"
    )
    assert not is_code("The with statement is used to wrap the execution of a block (see below).")
    assert without_grammar('pass_stmt ::= "pass" "pass" is a null operation — nothing happens.') == (
        '"pass" is a null operation — nothing happens.'
    )
    assert excerpt("A sentence. Half a sent …", set(), prose=True) == "A sentence."


# --- not found ------------------------------------------------------------------------------------------


def test_the_report_says_not_found_instead_of_listing_the_closest_noise(factbook: Collection):
    noise = [_source(1, "Kenya — Government — Capital", "name: Nairobi")]
    eat = write_report_offline("What do people in Kenya eat?", noise, factbook)
    assert eat.body.startswith("## Not found\n\nThe sources found say nothing about Kenya eat")
    assert _cited(eat.body) == []
    wakanda = write_report_offline("What is the capital of Wakanda?", noise, factbook)
    assert wakanda.body.startswith("## Not found\n\nThe sources found say nothing about Wakanda")
    assert "Closest material" not in wakanda.body and _cited(wakanda.body) == []


def test_an_entity_with_no_relevant_source_is_named_as_a_gap(factbook: Collection):
    draft = write_report_offline("Compare the real GDP per capita of Chile and Peru", [CHILE], factbook)
    assert "| Real GDP per capita | $30,200 (2024) [1] | not found |" in draft.body
    assert "The sources found say nothing about Peru's real GDP per capita." in draft.body
