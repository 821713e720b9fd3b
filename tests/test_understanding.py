"""How the offline model reads a question: the fields and documents its words mean (the curated vocabulary),
the entities it names (also by a capital, a mountain or a people), the collection `auto` chooses, and
which sources bear on it."""

from __future__ import annotations

from pathlib import Path

import pytest

from research_agent.corpus import Collection, choose_collection, open_collection
from research_agent.corpus.question import bears_on, understand
from research_agent.corpus.vocabulary import FACTBOOK_TERMS, PYDOC_TERMS, VOCABULARIES, find_terms


@pytest.fixture(scope="module")
def factbook(index_dir: Path) -> Collection:
    return open_collection("factbook", index_dir)


@pytest.fixture(scope="module")
def pydoc(index_dir: Path) -> Collection:
    return open_collection("pydoc", index_dir)


# Questions as people ask them, by the Factbook field that answers them (its first field understood).
FIELD_QUESTIONS: dict[str, list[str]] = {
    "Exports - commodities": [
        "What does Chile ship to other countries?",
        "What do Kenya and Tanzania sell abroad?",
        "What are the main exports of Peru?",
    ],
    "Exports": ["How much does Chile export in a year?", "What is the total value of Peru's exports?"],
    "Exports - partners": ["Who buys the most goods from Kenya?", "What are Chile's export partners?"],
    "Imports - commodities": ["What does Japan buy from abroad?", "What are Peru's main imports?"],
    "Imports - partners": ["Which countries does Japan buy the most from?", "Who are Peru's main suppliers?"],
    "Exchange rates": [
        "What money is used in Japan?",
        "What is the currency of Mexico called?",
        "What is the Swiss franc worth against the dollar in Switzerland?",
    ],
    "Population": [
        "What are the populations of France, Spain and Italy?",
        "How many people live in Nigeria?",
        "How many inhabitants does Peru have?",
    ],
    "Population growth rate": ["How fast is the population of Nigeria growing?"],
    "Population distribution": [
        "Where do most people in Egypt live?",
        "Which parts of Chile are densely populated?",
    ],
    "Major urban areas - population": [
        "What is the biggest city in Peru?",
        "What are the main cities of Japan?",
    ],
    "Urbanization": ["How many people in Kenya live in cities?", "How urbanized is India?"],
    "Life expectancy at birth": [
        "How long do people in Japan live on average?",
        "Compare how long people live in Japan, Nigeria, India and Brazil.",
        "What is the average lifespan in Chile?",
    ],
    "Median age": ["How old is the average person in Niger?", "Is Italy an aging society?"],
    "Total fertility rate": ["How many children does a woman in Niger have on average?"],
    "Birth rate": ["What is the birth rate of France?"],
    "Infant mortality rate": ["How many babies die in Chad?"],
    "Languages": ["What tongues are spoken in India?", "What languages do people speak in Switzerland?"],
    "Religions": ["What do Brazilians believe in?", "Which religion do most people in Thailand follow?"],
    "Ethnic groups": ["What ethnic groups live in Kenya?", "Which tribes live in Uganda?"],
    "Literacy": ["What share of Indians can read and write?", "What is the literacy rate of Egypt?"],
    "Real GDP per capita": [
        "How rich are people in Norway compared with Sweden?",
        "What is the GDP per head of Chile?",
        "What is the average income in Peru?",
    ],
    "Real GDP (purchasing power parity)": [
        "How big is the economy of India compared with China?",
        "What is the GDP of Brazil?",
    ],
    "Real GDP growth rate": [
        "How fast is the economy of Vietnam growing?",
        "What is Chile's economic growth?",
    ],
    "Inflation rate (consumer prices)": [
        "Is inflation worse in Argentina or in Brazil?",
        "How fast are prices rising in Turkey?",
    ],
    "Unemployment rate": [
        "How many people are out of work in Spain?",
        "What is the jobless rate in South Africa?",
    ],
    "Industries": ["What does Germany make?", "What are the main industries of South Korea?"],
    "Agricultural products": ["What do farmers grow in Vietnam?", "What crops does Kenya produce?"],
    "Public debt": ["How much does Japan owe?", "What is the public debt of Italy?"],
    "Poverty line": [],
    "Population below poverty line": ["How many people in Nigeria live in poverty?"],
    "Gini Index coefficient - distribution of family income": ["How unequal is income in South Africa?"],
    "Area": [
        "Which is bigger, Canada or Australia?",
        "How much land does Russia cover?",
        "How big is Egypt?",
    ],
    "Climate": ["How hot does it get in Egypt?", "What is the weather like in Iceland?"],
    "Terrain": ["Is the Netherlands flat?", "What does the landscape of Nepal look like?"],
    "Elevation": [
        "Which mountain is the tallest in Nepal and how tall is it?",
        "What is the tallest peak in Argentina?",
        "How high is the highest point of Switzerland?",
    ],
    "Natural resources": ["What minerals does Chile have?", "What natural resources does Australia have?"],
    "Natural hazards": ["What natural disasters hit Japan?", "Does Chile have earthquakes?"],
    "Location": ["Where is Mongolia?", "On which continent is Egypt located?"],
    "Land boundaries": ["Which countries border Germany?", "Who are the neighbours of Austria?"],
    "Coastline": ["How long is the coast of Norway?", "Is Bolivia landlocked?"],
    "Capital": [
        "What is the capital of Chile?",
        "Which city is the seat of government of Canada?",
        "What time zone is Chile in?",
    ],
    "Government type": ["Is Norway a monarchy?", "What kind of government does Iran have?"],
    "Executive branch": ["Who runs Germany?", "Who is the head of state of France?"],
    "Legislative branch": ["What is the parliament of Sweden called?"],
    "Independence": ["When did India become independent?", "How old is Ethiopia as an independent state?"],
    "National symbol(s)": ["What is the national animal of Scotland?", "What are the symbols of Mexico?"],
    "Flag": ["What does the flag of Japan look like?"],
    "National anthem(s)": ["What is the national anthem of France?"],
    "Military expenditures": ["How much does the UK spend on its military?"],
    "Military and security forces": ["What does the army of Chile consist of?"],
    "Electricity access": ["How many people in Mexico have electricity?"],
    "Electricity generation sources": ["Where does Iceland get its electricity from?"],
    "Carbon dioxide emissions": ["How much CO2 does China emit?"],
    "Environmental issues": ["What pollution problems does India have?"],
    "Internet country code": ["What do websites in Germany end with?"],
    "Internet users": ["How many people in Kenya use the internet?"],
    "Telephones - mobile cellular": ["How many mobile phones are there in Nigeria?"],
    "Airports": ["How many airports does Brazil have?"],
    "Railways": ["How long are the railways of India?"],
    "Physician density": ["How many doctors are there in Cuba?"],
    "Health expenditure": ["How much does Germany spend on health care?"],
    "Refugees and internally displaced persons": ["How many refugees live in Turkey?"],
    "Background": ["What is the history of Poland?"],
}
FIELD_QUESTIONS = {field: questions for field, questions in FIELD_QUESTIONS.items() if questions}


@pytest.mark.parametrize(
    ("field", "question"),
    [(field, question) for field, questions in FIELD_QUESTIONS.items() for question in questions],
)
def test_everyday_words_mean_the_factbook_field(factbook: Collection, field: str, question: str):
    assert understand(question, factbook).fields[0] == field


def test_every_field_the_vocabulary_names_is_in_the_factbook(factbook: Collection):
    fields = {passage.section.split(" — ")[-1] for passage in factbook.passages}
    assert set(VOCABULARIES["factbook"].fields) <= fields
    assert len(FACTBOOK_TERMS) >= 120 and sum(len(t.patterns) for t in FACTBOOK_TERMS) >= 400


PYDOC_QUESTIONS = {
    "pydoc:math.isclose": "How should I check whether two floats are approximately equal in Python?",
    "pydoc:statistics.median": "Which Python function gives the middle value of a list of numbers?",
    "pydoc:random.choice": "How do I pick a random element from a sequence in Python?",
    "pydoc:random.shuffle": "How do I shuffle a list randomly?",
    "pydoc:shutil.rmtree": "How can I delete a whole directory tree with its contents in Python?",
    "pydoc:collections.Counter": "How can I count how often each word appears in a list?",
    "pydoc:subprocess.run": "How do I run a shell command from Python?",
    "pydoc:copy.deepcopy": "How do I make a copy of a nested list so that changes don't affect the original?",
    "pydoc:topic/with": "What are context managers for?",
    "pydoc:functools.lru_cache": "How can I memoize a slow function?",
}


@pytest.mark.parametrize(("location", "question"), PYDOC_QUESTIONS.items())
def test_everyday_words_mean_the_python_document(pydoc: Collection, location: str, question: str):
    assert understand(question, pydoc).fields[0] == location


def test_every_document_the_vocabulary_names_is_in_the_python_documentation(pydoc: Collection):
    missing = [f for term in PYDOC_TERMS for f in term.fields if f not in pydoc.documents]
    assert not missing


def test_objects_a_question_names_come_first_and_bare_words_are_not_modules(pydoc: Collection):
    assert understand("What does json.dumps do with non-ASCII characters?", pydoc).fields == (
        "pydoc:json.dumps",
    )
    assert understand("List the main functions of the heapq module.", pydoc).fields == ("pydoc:heapq",)
    assert understand("What does the pass statement do?", pydoc).fields[0] == "pydoc:topic/pass"
    assert "pydoc:time" not in understand("How much time does sorting take?", pydoc).fields


def test_the_longest_match_wins_and_weak_words_yield_to_others(factbook: Collection):
    # "how long ... live" is life expectancy, not the "people" of population
    assert understand("How long do people in Japan live?", factbook).fields == ("Life expectancy at birth",)
    assert understand("How many people are out of work in Spain?", factbook).fields == ("Unemployment rate",)
    assert understand("How many people live in Nigeria?", factbook).fields == ("Population",)
    assert understand("What languages do people speak in Peru?", factbook).fields == ("Languages",)
    eat = understand("What do people in Kenya eat?", factbook)  # "people" is not asked about here
    assert eat.fields == () and eat.unknown == ("eat",)
    assert find_terms("how big is § compared with §", VOCABULARIES["factbook"])[0].term.fields == ("Area",)


def test_a_subject_is_answered_by_its_fields_and_a_bare_country_by_an_overview(factbook: Collection):
    economy = understand("Compare the economies of Chile and Peru", factbook)
    assert economy.broad and economy.compares
    assert economy.fields[:2] == ("Real GDP (purchasing power parity)", "Real GDP per capita")
    kenya = understand("Tell me about Kenya", factbook)
    assert kenya.broad and "Population" in kenya.fields and "Capital" in kenya.fields


def test_entities_are_named_by_capitals_mountains_peoples_and_other_names(factbook: Collection):
    def named(question: str) -> list[tuple[str, str]]:
        return [(m.entity, m.kind) for m in understand(question, factbook).mentions]

    assert named("Which country is Nairobi the capital of?") == [("Kenya", "capital")]
    assert named("How tall is Mount Everest?") == [("China", "mountain"), ("Nepal", "mountain")]
    assert named("How tall is Kilimanjaro?") == [("Tanzania", "mountain")]
    assert named("What do Chileans speak?") == [("Chile", "people")]
    assert named("What does Myanmar export?") == [("Burma", "name")]
    assert named("What does the Ivory Coast grow?") == [("Côte d'Ivoire", "name")]
    assert named("How much does the UK spend on its military?") == [("United Kingdom", "name")]
    assert named("Tell us about Mexico City") == [("Mexico", "capital")]  # the longer name wins
    assert named("What do Koreans eat?") == []  # two Koreas: a people's name shared names neither
    assert named("does the male population grow?") == []  # Malé, capital of the Maldives, has a capital M


def test_several_entities_are_found_in_the_order_named(factbook: Collection):
    question = "Compare how long people live in Japan, Nigeria, India and Brazil."
    assert understand(question, factbook).entities == ["Japan", "Nigeria", "India", "Brazil"]


def test_a_capital_named_as_a_city_is_asked_about_as_a_city(factbook: Collection):
    nairobi = understand("What is the population of Nairobi?", factbook)
    assert nairobi.fields_for("Kenya", factbook) == ["Major urban areas - population"]
    assert understand("What is the population of Kenya?", factbook).fields_for("Kenya", factbook) == [
        "Population"
    ]
    assert understand("How high is Mount Fuji?", factbook).fields[0] == "Elevation"


@pytest.mark.parametrize(
    ("question", "collection"),
    [
        ("What does Chile sell abroad?", "factbook"),  # chose pydoc before: "sell" fits it better
        ("How hot does it get in Egypt?", "factbook"),
        ("Where is Kilimanjaro?", "factbook"),  # a mountain
        ("What is there to see in Nairobi?", "factbook"),  # a capital
        ("What does json.dumps do with non-ASCII characters?", "pydoc"),  # code, though no country
        ("How do I sort a list in Python?", "pydoc"),
        ("What is the capital of Wakanda?", "factbook"),
    ],
)
def test_a_named_entity_decides_the_collection_before_any_other_word(
    index_dir: Path, question: str, collection: str
):
    assert choose_collection(question, index_dir) == collection


def test_a_source_bears_on_the_question_by_entity_and_field(factbook: Collection, pydoc: Collection):
    exports = understand("What does Chile ship to other countries?", factbook)
    assert bears_on(
        exports,
        "Chile — Economy — Exports - commodities",
        "factbook:ci/Economy/Exports - commodities",
        "copper",
    )
    assert not bears_on(
        exports,
        "Peru — Economy — Exports - commodities",
        "factbook:pe/Economy/Exports - commodities",
        "copper",
    )
    assert not bears_on(
        exports, "Chile — Government — Country name", "factbook:ci/Government/Country name", "Chile"
    )
    eat = understand("What do people in Kenya eat?", factbook)  # no field: the question's own words decide
    assert bears_on(eat, "Kenya — Economy — Agricultural products", "x", "people eat maize")
    assert not bears_on(eat, "Kenya — Government — Capital", "x", "Nairobi")

    ascii_question = understand("What does json.dumps do with non-ASCII characters?", pydoc)
    assert bears_on(ascii_question, "json.dumps", "pydoc:json.dumps", "Serialize obj")
    assert bears_on(ascii_question, "json.dumps", "pydoc:json.dumps (2)", "non-ASCII characters are escaped")
    assert not bears_on(
        ascii_question, "json.dumps", "pydoc:json.dumps (3)", "If indent is a non-negative integer"
    )
    assert not bears_on(ascii_question, "re.Match", "pydoc:re.Match", "The result of re.match()")
    counter = understand("What is collections.Counter used for?", pydoc)
    assert bears_on(counter, "collections.Counter", "pydoc:collections.Counter", "Dict subclass")
    assert not bears_on(
        counter, "collections.Counter.copy", "pydoc:collections.Counter.copy", "Return a copy"
    )
    heapq = understand("List the main functions of the heapq module.", pydoc)  # a module's functions are
    assert bears_on(heapq, "heapq.heappush", "pydoc:heapq.heappush", "Push item onto heap")
