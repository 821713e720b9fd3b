"""Everyday words for what the bundled collections hold: a curated vocabulary per Factbook field and per
Python documentation topic.

People ask "What does Chile ship to other countries?", "What money is used in Japan?", "How tall is its
highest mountain?"; the Factbook files the answers under "Exports - commodities", "Exchange rates" and
"Elevation". A `Term` names one or more fields (Factbook: a field's name, the last part of a passage's
section; pydoc: a document's location) and the regular expressions that mean them. Patterns are matched
against the lower-cased question in which every entity it names was replaced by `ENTITY` ("what does §
ship"), so a pattern can say where the country stands.

`find_terms` returns the terms a text means. Where two matches overlap, the longer one wins ("how long do
people live" is life expectancy, not the "people" of population), and a `weak` term (a word with many
meanings: "people", "big") counts only when nothing stronger matched. A `broad` term is a subject
("economy") that several fields answer together, most telling first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property

ENTITY = "§"
"""What an entity's name is replaced by in the text the patterns see."""


@dataclass(frozen=True)
class Term:
    """Everyday words (`patterns`) for what `fields` hold."""

    fields: tuple[str, ...]
    patterns: tuple[str, ...]
    broad: bool = False
    """A subject answered by several fields together ("economy"), not one field named."""
    weak: bool = False
    """Words with many meanings: the term counts only when no other term matched."""

    @cached_property
    def compiled(self) -> tuple[re.Pattern[str], ...]:
        return tuple(re.compile(pattern) for pattern in self.patterns)


@dataclass(frozen=True)
class TermMatch:
    """Where a text means `term`."""

    term: Term
    start: int
    end: int


@dataclass(frozen=True)
class Vocabulary:
    """The terms of one collection, and how a sentence names each field (for the lead answer)."""

    terms: tuple[Term, ...]
    labels: dict[str, str] = field(default_factory=dict)
    """Field name -> words for it in a sentence ("Exports - commodities" -> "main exports")."""

    def label(self, name: str) -> str:
        return self.labels.get(name) or name.replace(" - ", " ").lower()

    @property
    def fields(self) -> list[str]:
        """Every field some term names, in vocabulary order."""
        seen: dict[str, None] = {}
        for term in self.terms:
            seen.update(dict.fromkeys(term.fields))
        return list(seen)


def _term(fields: str | tuple[str, ...], *patterns: str, broad: bool = False, weak: bool = False) -> Term:
    return Term((fields,) if isinstance(fields, str) else fields, patterns, broad=broad, weak=weak)


def _words(*words: str) -> str:
    """A pattern matching any of `words` as whole words (each may itself be a pattern)."""
    return r"\b(?:" + "|".join(words) + r")\b"


E = ENTITY
_ITS = rf"(?:{E}(?:'s)?|its|the|their|{E}'s)"
"""The ways a question points at the country: "Chile's", "its", "the"."""

# --- the CIA World Factbook ------------------------------------------------------------------------------

_ECONOMY = (
    "Real GDP (purchasing power parity)",
    "Real GDP per capita",
    "Real GDP growth rate",
    "Inflation rate (consumer prices)",
    "Unemployment rate",
    "Exports",
    "Exports - commodities",
    "Industries",
    "Economic overview",
)
_PEOPLE = (
    "Population",
    "Median age",
    "Population growth rate",
    "Life expectancy at birth",
    "Urbanization",
    "Languages",
    "Religions",
    "Ethnic groups",
)
_GEOGRAPHY = (
    "Location",
    "Area",
    "Terrain",
    "Climate",
    "Elevation",
    "Natural resources",
    "Land boundaries",
    "Coastline",
)
_GOVERNMENT = (
    "Government type",
    "Capital",
    "Executive branch",
    "Legislative branch",
    "Constitution",
    "Independence",
    "Legal system",
)
_HEALTH = (
    "Life expectancy at birth",
    "Health expenditure",
    "Physician density",
    "Hospital bed density",
    "Infant mortality rate",
    "Obesity - adult prevalence rate",
)
_EDUCATION = (
    "Literacy",
    "Education expenditure",
    "School life expectancy (primary to tertiary education)",
)
_ENERGY = (
    "Electricity generation sources",
    "Electricity access",
    "Energy consumption per capita",
    "Electricity",
    "Petroleum",
    "Natural gas",
)
_MILITARY = (
    "Military and security forces",
    "Military expenditures",
    "Military service age and obligation",
    "Military and security service personnel strengths",
)
_ENVIRONMENT = (
    "Environmental issues",
    "Carbon dioxide emissions",
    "Climate",
    "Land use",
    "International environmental agreements",
)
_TRADE = (
    "Exports - commodities",
    "Exports - partners",
    "Imports - commodities",
    "Imports - partners",
    "Exports",
    "Imports",
)
_TRANSPORT = ("Airports", "Railways", "Ports", "Merchant marine")
_COMMUNICATIONS = (
    "Internet users",
    "Telephones - mobile cellular",
    "Broadband - fixed subscriptions",
    "Broadcast media",
)
OVERVIEW = (
    "Location",
    "Population",
    "Capital",
    "Government type",
    "Economic overview",
    "Languages",
    "Background",
)
"""What a question naming a country and nothing about it ("Tell me about Kenya") is answered with."""

_SELL = r"(?:export|exports|exported|ship|ships|shipped|sell|sells|sold|send|sends|trade|trades)"
_BUY = r"(?:import|imports|imported|buy|buys|bought|purchase|purchases|bring in|brings in)"
_ABROAD = r"(?:abroad|overseas|to other countries|to the world|to the rest of the world|to foreign \w+|internationally)"

FACTBOOK_TERMS: tuple[Term, ...] = (
    # Economy
    _term(
        "Real GDP per capita",
        r"\bgdp per (?:capita|head|person|inhabitant)",
        r"\bper (?:capita|head) (?:gdp|income|output)",
        r"\bincome per (?:person|head|capita)",
        r"\baverage (?:income|earnings)",
        _words("rich", "richer", "richest", "wealthy", "wealthier", "wealthiest", "wealth", "prosperous"),
        _words("poorer", "poorest", "prosperity"),
        r"\b(?:standard of living|living standards?)",
    ),
    _term(
        "Real GDP (purchasing power parity)",
        _words("gdp", "gross domestic product"),
        r"\bsize of (?:the |its |their )?econom",
        rf"\b(?:how (?:big|large|strong)|bigger|larger|biggest|largest|stronger) (?:is |are )?(?:{_ITS} )?econom\w*",
        r"\beconom\w* (?:size|output)",
        r"\b(?:economic )?output\b",
        r"\bpurchasing power parity|\bppp\b",
    ),
    _term(
        "GDP (official exchange rate)",
        r"\bnominal gdp|\bgdp (?:at|in) (?:the )?official exchange rate|\bofficial exchange rate gdp",
    ),
    _term(
        "Real GDP growth rate",
        r"\b(?:econom\w*|gdp) (?:grow\w*|growth|expand\w*|expansion)",
        r"\bgrowth (?:rate )?of (?:the |its )?(?:econom\w*|gdp)",
        rf"\bhow (?:fast|quickly) (?:is |does |are |do )?(?:{_ITS} )?(?:econom\w*|gdp)",
        r"\b(?:economic|gdp) growth",
        r"\brecession",
    ),
    _term(
        "Inflation rate (consumer prices)",
        _words("inflation", "deflation"),
        r"\b(?:consumer )?prices? (?:rise|rising|risen|increase\w*|go up|going up|growth|change)",
        r"\bcost of living",
        r"\bhow (?:fast|quickly|much) (?:do |are |have )?prices",
        r"\bconsumer prices?",
    ),
    _term(
        "Unemployment rate",
        r"\bunemploy\w*",
        r"\bjobless\w*",
        r"\bout of work",
        r"\bhow many (?:people )?(?:are )?(?:out of work|unemployed|jobless|without (?:a )?jobs?)",
        r"\bwithout (?:a )?(?:jobs?|work)",
        r"\b(?:find|finding|get|getting) (?:a )?(?:jobs?|work)",
        r"\bjobs? market",
    ),
    _term(
        "Youth unemployment rate (ages 15-24)",
        r"\byouth unemploy\w*",
        r"\byoung (?:people|adults|workers)\b.*\b(?:unemploy\w*|jobs?|out of work)",
        r"\bunemploy\w* (?:among|of|for) (?:the )?(?:young|youth)",
    ),
    _term(
        "Exports - commodities",
        rf"\bwhat (?:does|do|did|can) {E} {_SELL}",
        rf"\bwhat (?:goods|products|things|commodities)? ?(?:does|do|did) {E} {_SELL}",
        rf"\b{_SELL} {_ABROAD}",
        rf"\b(?:goods|products|things|commodities) (?:that )?(?:{E} )?{_SELL}",
        r"\bexport(?:s|ed)? (?:goods|products|commodit\w*|items)",
        r"\b(?:main|top|biggest|largest|leading|key|chief|principal) exports?",
        r"\bexport commodit\w*",
    ),
    _term(
        ("Exports - commodities", "Exports"),
        _words("exports?", "exporting", "exporters?"),
    ),
    _term(
        "Exports",
        rf"\bhow much (?:does|do|did) {E} (?:export|sell abroad|sell to other countries)",
        rf"\b(?:value|total|amount|volume) of (?:{_ITS} )?exports",
        r"\bexport (?:earnings|revenues?|income|value|volume)",
        r"\bexports? (?:worth|in dollars)",
    ),
    _term(
        "Exports - partners",
        r"\bexport(?:s|ing)? (?:partners?|markets?|destinations?)",
        rf"\b(?:who|which countries|what countries) (?:buys?|imports?|purchases?) (?:the most )?(?:from {E}|{E}'s)",
        rf"\b{_SELL} (?:its |their )?(?:goods |products )?(?:the most )?to (?:which|what|whom)",
        rf"\bwhere (?:does|do) {E} {_SELL}",
        rf"\bwho (?:are|is) {_ITS} (?:main |biggest |largest )?(?:customers?|buyers?|export partners?)",
        r"\b(?:main|biggest|largest|top) (?:customers?|buyers?|markets?)",
        r"\bwho buys",
    ),
    _term(
        "Imports - commodities",
        rf"\bwhat (?:does|do|did|can) {E} {_BUY}",
        rf"\bwhat (?:goods|products|things|commodities)? ?(?:does|do|did) {E} {_BUY}",
        rf"\b{_BUY} (?:from )?(?:abroad|overseas|other countries|the rest of the world|foreign \w+)",
        r"\bimport(?:s|ed)? (?:goods|products|commodit\w*|items)",
        r"\b(?:main|top|biggest|largest|leading|key|chief|principal) imports?",
        r"\bimport commodit\w*",
    ),
    _term(
        ("Imports - commodities", "Imports"),
        _words("imports?", "importing", "importers?"),
    ),
    _term(
        "Imports",
        rf"\bhow much (?:does|do|did) {E} (?:import|buy from abroad)",
        rf"\b(?:value|total|amount|volume) of (?:{_ITS} )?imports",
        r"\bimport (?:bill|spending|value|volume)",
    ),
    _term(
        "Imports - partners",
        r"\bimport(?:s|ing)? (?:partners?|sources?|origins?)",
        rf"\b{_BUY} (?:the most )?from (?:which|what|whom)",
        rf"\b(?:which|what) countries (?:does|do) {E} {_BUY}\b.*\bfrom\b",
        rf"\bwhere (?:does|do) {E} {_BUY}",
        rf"\bwho (?:sells|exports) (?:the most )?to {E}",
        r"\b(?:main|biggest|largest|top) suppliers?",
    ),
    _term(
        "Industries",
        r"\bindustr(?:y|ies)\b",
        rf"\bwhat (?:does|do) {E} (?:make|manufacture|produce)",
        r"\bmanufactur\w*",
        r"\bfactor(?:y|ies)",
        r"\bindustrial (?:sectors?|base)",
    ),
    _term(
        "Industrial production growth rate",
        r"\bindustrial (?:production|output) (?:grow\w*|growth|rate)",
        r"\bindustrial (?:production|output)",
    ),
    _term(
        "Agricultural products",
        r"\bagricultur\w*",
        r"\bfarm(?:s|ing|ers?)?\b",
        r"\bcrops?\b",
        rf"\bwhat (?:does|do|is|are) (?:{E} |farmers (?:in {E} )?)?(?:grow|grown|harvest)",
        rf"\b(?:grow|grows|grown) (?:in|on) {E}",
        r"\bharvests?\b",
        r"\blivestock|\bcattle\b",
        r"\b(?:food|foods) (?:produced|grown)",
    ),
    _term(
        "Economic overview",
        r"\beconomic (?:overview|situation|profile|structure|model|system|summary)",
        r"\b(?:kind|type|sort) of econom\w*",
        rf"\bwhat is (?:{_ITS} )?economy like",
        rf"\bhow (?:does|do) {_ITS} economy work",
        rf"\bhow (?:is|are) (?:{_ITS} )?econom\w* (?:doing|structured|organi[sz]ed)",
        rf"\bhow (?:does|do) {E} make (?:its|their) (?:money|living)",
    ),
    _term(
        _ECONOMY,
        _words("econom(?:y|ies|ic|ics)", "economically"),
        broad=True,
    ),
    _term(
        "Public debt",
        r"\b(?:public|government|national|state|sovereign) debt",
        r"\bdebt\b",
        rf"\bhow much (?:does|do) {E} owe",
        r"\bborrow\w*",
        r"\bindebted\w*",
    ),
    _term(
        "Debt - external",
        r"\b(?:external|foreign) debt",
        r"\bowes? (?:to )?(?:foreign\w*|other countries|abroad)",
        r"\bdebt (?:to|with) (?:foreign\w*|other countries)",
    ),
    _term(
        "Budget",
        r"\bbudget\b",
        r"\b(?:government|public|state) (?:spending|revenues?|expenditures?|income)",
        r"\bdeficit\b|\bsurplus\b",
    ),
    _term("Taxes and other revenues", r"\btax(?:es|ation|ed)?\b", r"\btax (?:rates?|revenues?|burden)"),
    _term(
        "Exchange rates",
        r"\bmoney\b",
        r"\bcurrenc(?:y|ies)\b",
        r"\bexchange rates?",
        rf"\bwhat (?:is|are) (?:{_ITS} )?(?:local )?(?:cash|coins?|banknotes?)",
        r"\b(?:worth|value|rate) (?:against|to|versus|vs\.?|in) (?:the )?(?:us )?(?:dollars?|euros?)",
        r"\b(?:dollars?|euros?) (?:buys?|gets?|is worth)",
        rf"\bwhat (?:do|does) (?:people|they|you) (?:in {E} )?(?:pay|buy things|shop) with",
        r"\blegal tender",
        r"\bhow much is (?:a|one) (?:us )?dollar",
    ),
    _term(
        "Reserves of foreign exchange and gold",
        r"\b(?:foreign|currency|forex|foreign exchange|gold) reserves",
        r"\breserves of (?:foreign|gold|currency)",
        r"\bgold (?:holdings|stock)",
    ),
    _term(
        "Current account balance",
        r"\bcurrent account",
        r"\b(?:trade|external) (?:balance|deficit|surplus)",
        r"\bbalance of payments",
    ),
    _term(
        "Labor force",
        r"\blabou?r force",
        r"\bwork ?force",
        r"\bhow many (?:people )?(?:work|workers|are working|have jobs)",
        r"\bnumber of (?:workers|working people)",
        r"\bworking population",
    ),
    _term(
        "Population below poverty line",
        r"\bpoverty\b",
        r"\bpoor (?:people|households|families|population)",
        r"\b(?:how many|share of|percentage of|proportion of) (?:people )?(?:are )?poor\b",
        r"\bpoor\b",
    ),
    _term(
        "Gini Index coefficient - distribution of family income",
        r"\bgini\b",
        r"\b(?:income |wealth |economic )?inequality",
        r"\b(?:gap|divide) between (?:the )?rich and (?:the )?poor",
        r"\bincome (?:distribution|gap)",
        r"\b(?:how )?(?:equal|unequal)\b",
    ),
    _term(
        "Remittances",
        r"\bremittances?",
        r"\bmoney (?:sent|sends|send|sending|wired) (?:home|back)",
        r"\b(?:migrants|workers abroad) send",
    ),
    _term(
        "Average household expenditures",
        r"\bhousehold (?:spending|expenditures?|budgets?)",
        r"\b(?:families|households|people) spend\b.*\bon\b",
        r"\bspend\w* on (?:food|alcohol|tobacco)",
    ),
    _term(
        "Household income or consumption by percentage share",
        r"\bincome shares?|\bshare of (?:income|consumption)",
        r"\b(?:richest|poorest) (?:10|ten) ?(?:%|percent)",
    ),
    _term(
        "GDP - composition, by sector of origin",
        r"\b(?:sectors?|branches) of (?:the )?econom\w*",
        r"\beconomic sectors?",
        r"\bshare of (?:agriculture|industry|services)",
        r"\bcomposition of (?:the )?(?:gdp|econom\w*)",
        r"\bservices? sector|\bby sector",
    ),
    _term(
        "GDP - composition, by end use",
        r"\bhousehold consumption|\bend use|\b(?:government|public) consumption",
        r"\binvestment in (?:fixed capital|inventories)",
    ),
    # People and Society
    _term(
        "Population",
        r"\bpopulations?\b",
        r"\bhow many (?:people|inhabitants|residents|citizens|persons|humans|souls|individuals) (?:live|are there|inhabit|does)",
        r"\binhabitants?\b|\bresidents\b",
        r"\bpopulous\b|\bpeopled\b",
        r"\bnumber of (?:people|inhabitants|residents|citizens)",
        r"\bhow many (?:live|living)",
        r"\bhead ?count\b",
    ),
    _term(
        ("Population",),
        r"\bhow many (?:people|inhabitants|residents|citizens|persons|humans|souls|individuals)\b",
        r"\bpeople\b|\bcitizens\b",
        weak=True,
    ),
    _term(
        "Population growth rate",
        r"\bpopulation (?:grow\w*|growth|increase\w*|shrink\w*|decline\w*)",
        r"\b(?:growing|grows|grow|shrinking|shrinks|shrink) (?:the )?population",
        rf"\bhow (?:fast|quickly) (?:is |does )?(?:{_ITS} )?population",
        r"\bpopulation (?:growth )?rate",
    ),
    _term(
        "Population distribution",
        r"\bwhere (?:do |does )?(?:most )?(?:of )?(?:the )?(?:people|population|inhabitants|residents)\b.*\blive",
        r"\bpopulation (?:distribution|density|concentrat\w*|spread)",
        r"\b(?:densely|sparsely|thinly|heavily) (?:populated|settled)",
        r"\bwhere (?:is|are) (?:the )?(?:population|people) (?:concentrated|settled|clustered)",
    ),
    _term(
        "Major urban areas - population",
        r"\b(?:largest|biggest|main|major|principal|most populous) (?:cities|city|urban areas?|towns?|metropol\w*)",
        r"\burban areas?\b",
        r"\bcities\b",
        r"\b(?:population|how many people|inhabitants) (?:of|in|live in) (?:the |its )?(?:capital|cities|city)",
    ),
    _term(
        "Urbanization",
        r"\burbani[sz]\w*",
        r"\b(?:live|living|lives) in (?:cities|towns|urban areas)",
        r"\burban population|\bcity dwellers|\burban share",
        r"\bhow urban\b|\brural\b",
    ),
    _term(
        "Life expectancy at birth",
        r"\blife expectancy",
        r"\bhow long (?:do|does|will|can|are|is)\b.*\blive\b",
        r"\bhow long\b.{0,40}\blive\b",
        r"\blive\b.*\b(?:how long|long lives)",
        r"\blife ?spans?\b",
        r"\blive to\b|\blongevity\b|\blong[- ]lived\b",
        r"\bhow old (?:do|does|will) (?:people|men|women|\w+) (?:get|become|live)",
        r"\bexpected to live",
        r"\b(?:age|old) (?:people|they|\w+) (?:die|live to)",
    ),
    _term(
        "Median age",
        r"\bmedian age",
        r"\b(?:average|typical|mean) age\b",
        r"\bhow old (?:is|are) (?:the )?(?:average|typical|median|usual)",
        r"\b(?:old|young|aging|ageing|older|younger|oldest|youngest) (?:population|society|people|nation)",
        r"\bhow (?:old|young) (?:is|are) (?:the )?(?:population|people|society)",
    ),
    _term(
        "Age structure",
        r"\bage (?:structure|groups?|distribution|pyramid|breakdown|brackets?|profile)",
        r"\b(?:share|percent\w*|proportion|how many)\b.*\b(?:children|elderly|old people|over 65|under 15|aged 65)",
    ),
    _term(
        "Birth rate",
        r"\bbirth ?rates?",
        r"\bbirths? per\b",
        r"\bhow many (?:babies|children|kids) are born",
        r"\bbabies born",
    ),
    _term(
        "Death rate",
        r"\bdeath ?rates?",
        r"\bdeaths? per\b",
        r"\bmortality rate",
        r"\bhow many (?:people )?die\b",
    ),
    _term(
        "Infant mortality rate",
        r"\binfant (?:mortality|deaths?)",
        r"\b(?:babies|infants|newborns) (?:die|dying|deaths?)",
        r"\bchild mortality",
    ),
    _term(
        "Maternal mortality ratio",
        r"\bmaternal (?:mortality|deaths?)",
        r"\b(?:mothers|women) (?:die|dying) (?:in|during|from) (?:childbirth|pregnancy)",
        r"\bchildbirth deaths?",
    ),
    _term(
        "Total fertility rate",
        r"\bfertility",
        r"\b(?:children|kids|babies) (?:per|does a|does the average|do) (?:woman|women|mother)",
        r"\bhow many (?:children|kids|babies) (?:do|does) (?:women|a woman|families|the average woman)",
    ),
    _term(
        "Net migration rate",
        r"\bmigra\w*",
        r"\bemigra\w*",
        r"\bimmigra\w*",
        r"\b(?:people|they|citizens) (?:leave|leaving|move|moving) (?:the country|abroad|away)",
    ),
    _term(
        "Languages",
        r"\blanguages?\b",
        r"\btongues?\b",
        r"\bspeak(?:s|ing|ers)?\b",
        r"\bspoken\b",
        r"\bdialects?\b",
        r"\bofficial language",
    ),
    _term(
        "Religions",
        r"\breligio\w*",
        r"\bfaiths?\b",
        r"\bbeliefs?\b|\bbelieve\b|\bbelievers\b",
        r"\bworship\w*",
        r"\b(?:church|churches|mosques?|temples?)\b",
        r"\b(?:christians?|muslims?|catholics?|protestants?|hindus?|buddhists?|jews|jewish|islam|christianity)\b",
        r"\batheis\w*|\bsecular\w*",
    ),
    _term(
        "Ethnic groups",
        r"\bethnic\w*",
        r"\braces?\b|\bracial\b",
        r"\btribes?\b|\btribal\b",
        r"\bancestry\b|\bdescent\b",
        r"\bwhat (?:groups|peoples) live",
        r"\bminorit(?:y|ies)\b",
    ),
    _term(
        "Nationality",
        r"\bnationality\b",
        r"\bwhat (?:are|is) (?:the )?(?:people|citizens|inhabitants|residents)\b.*\bcalled",
        r"\bdemonyms?\b",
        r"\bwhat do you call (?:someone|a person|people|a citizen) from",
    ),
    _term(
        "Literacy",
        r"\blitera\w*",
        r"\billitera\w*",
        r"\b(?:read and write|read or write|can read|able to read)",
    ),
    _term(
        "Education expenditure",
        r"\b(?:spend\w*|expenditures?|budget) (?:on|for) (?:education|schools?|schooling)",
        r"\beducation (?:spending|budgets?|expenditures?|funding)",
    ),
    _term(
        "School life expectancy (primary to tertiary education)",
        r"\b(?:years|how long) (?:of|in|at) (?:school|education|schooling)",
        r"\bschool life expectancy",
        r"\bhow long do (?:children|kids|people|students) (?:go to|stay in|spend in|attend) school",
        r"\bschooling\b",
    ),
    _term(
        "Health expenditure",
        r"\bhealth ?care (?:spending|expenditures?|budgets?|costs?)",
        r"\b(?:spend\w*|expenditures?) on (?:health|health ?care|medicine)",
        r"\bhealth (?:spending|expenditures?|budgets?)",
    ),
    _term("Physician density", r"\b(?:doctors?|physicians?|medics)\b"),
    _term("Hospital bed density", r"\bhospital beds?|\bhospitals?\b"),
    _term("Obesity - adult prevalence rate", r"\bobes\w*|\boverweight\b|\bfat\b"),
    _term(
        "Alcohol consumption per capita",
        r"\balcohol\w*",
        r"\bdrink(?:s|ing)? (?:beer|wine|alcohol|spirits)",
        r"\bbeer\b|\bwine\b|\bspirits\b",
        rf"\bhow much (?:do|does) (?:people in )?(?:{E} )?(?:people )?drink",
    ),
    _term("Tobacco use", r"\btobacco\b", r"\bsmok\w*", r"\bcigarettes?"),
    _term(
        "Drinking water source",
        r"\bdrinking water",
        r"\b(?:clean|safe|improved|potable) water",
        r"\baccess to (?:clean |safe )?water",
    ),
    _term("Sanitation facility access", r"\bsanitation", r"\btoilets?\b|\blatrines?\b", r"\bsewer\w*"),
    _term(
        "Sex ratio",
        r"\bsex ratio|\bgender (?:ratio|balance)",
        r"\b(?:more )?(?:men|males) (?:than|per|to|for every) (?:women|females)",
        r"\b(?:more )?(?:women|females) (?:than|per|to|for every) (?:men|males)",
    ),
    _term("Dependency ratios", r"\bdependency ratios?", r"\bdependents? per"),
    _term(
        "Child marriage",
        r"\bchild marriages?|\bchild brides?",
        r"\b(?:married|marry|marries) (?:before|under|by) (?:age )?(?:18|15)",
    ),
    _term(
        "Mother's mean age at first birth",
        r"\b(?:mothers?|women)(?:'s)? (?:mean |average )?age at (?:the )?first (?:birth|child|baby)",
        r"\bage\b.*\bfirst (?:child|baby|birth)",
    ),
    _term(
        "Children under the age of 5 years underweight",
        r"\bunderweight\b",
        r"\bmalnutrition\b|\bmalnourish\w*|\bundernourish\w*",
    ),
    # Geography
    _term(
        "Area",
        r"\barea\b",
        rf"\bhow (?:big|large|small|vast|huge) is {E}",
        rf"\b(?:size|surface) of {E}\b(?!'s)",
        r"\bsquare (?:kilometers|kilometres|miles|km)|\bsq km\b|\bkm2\b",
        r"\b(?:land|surface|total) area",
        r"\bhow much (?:land|territory)",
        r"\bterritory\b",
    ),
    _term(
        ("Area",),
        _words(
            "big", "bigger", "biggest", "large", "larger", "largest", "small", "smaller", "smallest", "size"
        ),
        weak=True,
    ),
    _term(
        "Area - comparative",
        r"\bcompared (?:to|with) (?:a |an )?(?:us )?state",
        r"\bthe size of (?:which|what) (?:us )?state",
        r"\barea (?:comparison|comparative)",
        r"\b(?:as|how) (?:big|large) as (?:a |which |what )?(?:us )?state",
    ),
    _term(
        "Climate",
        r"\bclimates?\b",
        r"\bweather\b",
        r"\bhow (?:hot|cold|warm|wet|dry|rainy|humid|sunny|snowy|windy|chilly|mild)",
        r"\b(?:temperatures?|rainfall|rainy|monsoons?|seasons?|winters?|summers?|precipitation)\b",
        r"\bis it (?:hot|cold|warm|wet|dry)",
    ),
    _term(
        "Terrain",
        r"\bterrain\b",
        r"\blandscapes?\b",
        r"\b(?:flat|hilly|mountainous|rugged)\b",
        r"\btopograph\w*",
        r"\bwhat does the (?:land|country|ground) look like",
        r"\b(?:plains|plateaus?|valleys|deserts?|lowlands|highlands)\b",
    ),
    _term(
        "Elevation",
        r"\belevations?\b",
        r"\b(?:highest|tallest|biggest|largest) (?:point|peak|mountain|summit|spot|place|volcano)",
        r"\btallest\b",
        r"\bpeaks?\b",
        r"\bmountains?\b",
        r"\bhow (?:high|tall|elevated)\b",
        r"\blowest (?:point|place|spot)",
        r"\babove sea level|\bbelow sea level",
        r"\bsummits?\b",
        r"\bmean elevation|\baltitude\b",
    ),
    _term(
        "Natural resources",
        r"\bnatural resources?",
        r"\bresources\b",
        r"\bminerals?\b",
        r"\b(?:mines?|mining|mined)\b",
        r"\braw materials",
        r"\b(?:deposits|reserves) of (?!foreign|gold|currency)",
        rf"\b(?:what|which) (?:does|do) {E} have (?:under|in) the ground",
    ),
    _term(
        "Natural hazards",
        r"\bnatural hazards?",
        r"\bhazards?\b",
        r"\b(?:natural )?disasters?\b",
        r"\bearthquakes?\b|\bseismic\b",
        r"\bflood(?:s|ing)?\b",
        r"\bvolcan(?:o|oes|ic|ism)\b",
        r"\b(?:cyclones?|hurricanes?|typhoons?|tsunamis?|droughts?|storms?|wildfires?|bushfires?|forest fires?|landslides?|avalanches?|tornado(?:e?s)?)\b",
        r"\bdangers? (?:of|from) nature",
    ),
    _term(
        "Location",
        rf"\bwhere (?:is|are|lies|lie) {E}",
        r"\blocat(?:ed|ion)\b",
        r"\bwhich (?:continent|region|part of the world|ocean)",
        r"\bsituated\b",
        r"\bon (?:which|what) continent",
    ),
    _term("Geographic coordinates", r"\bcoordinates\b", r"\blatitude\b|\blongitude\b"),
    _term(
        "Land boundaries",
        r"\bborders?\b",
        r"\bbordering\b",
        r"\bneighbou?r\w*",
        r"\bland boundar\w*",
        r"\b(?:countries|nations) (?:next to|around|surround\w*|adjacent)",
    ),
    _term(
        "Coastline",
        r"\bcoast\w*",
        r"\bshorelines?\b",
        r"\blandlocked\b",
        r"\bseaside|\bseashore|\bbeach(?:es)?\b",
        r"\baccess to the sea",
    ),
    _term("Major rivers (by length in km)", r"\brivers?\b"),
    _term("Major lakes (area sq km)", r"\blakes?\b"),
    _term(
        "Land use",
        r"\bland use",
        r"\bforest(?:s|ed|ry)?\b",
        r"\barable\b",
        r"\bfarmland|\bagricultural land",
        r"\bpastures?\b",
    ),
    _term("Irrigated land", r"\birrigat\w*"),
    _term("Maritime claims", r"\bmaritime\b|\bterritorial (?:sea|waters)|\bexclusive economic zone"),
    _term(
        "Geography - note",
        r"\bgeograph\w* (?:notes?|facts?|features?)",
        r"\b(?:notable|interesting|unusual) (?:geograph\w*|features?)",
    ),
    _term(_GEOGRAPHY, r"\bgeograph\w*", r"\bphysical features", broad=True),
    # Government
    _term(
        "Capital",
        r"\bcapital(?: city)?\b",
        r"\bseat of (?:the )?government",
        r"\b(?:main|administrative|political) (?:city|centre|center)",
        r"\bwhere is (?:the )?government",
        r"\btime ?zones?\b|\btime difference\b|\bwhat time is it\b|\bdaylight saving",
    ),
    _term(
        "Government type",
        r"\b(?:type|kind|form|system|sort) of (?:government|state|regime|rule)",
        r"\bgovernment type",
        r"\b(?:democracy|democratic|monarchy|monarchic|republic|dictatorship|authoritarian|theocracy|communist)\b",
        rf"\bhow is {E} (?:governed|ruled|run)",
        r"\bpolitical system",
        r"\bregime\b",
    ),
    _term(
        "Executive branch",
        r"\b(?:president|prime minister|head of (?:state|government)|chief of state|premier|chancellor)\b",
        r"\b(?:leaders?|king|queen|monarch|emperor|sultan|emir|ruler)\b",
        r"\bwho (?:runs|rules|leads|governs|is in charge of)",
        r"\bexecutive\b",
        r"\bin charge\b",
        r"\bcabinet\b",
    ),
    _term(
        "Legislative branch",
        r"\b(?:parliament|legislature|congress|national assembly|lawmakers?|legislative|legislators?|mps)\b",
        r"\bwho (?:makes|passes|writes) (?:the )?laws",
        r"\b(?:senate|upper house|lower house|chamber of deputies|house of representatives)\b",
    ),
    _term(
        "Judicial branch",
        r"\b(?:courts?|judiciary|judicial|judges?|supreme court|constitutional court)\b",
    ),
    _term(
        "Legal system",
        r"\blegal system",
        r"\b(?:civil|common|islamic|sharia|customary) law\b|\bsharia\b",
        r"\b(?:kind|type|system) of law",
        r"\blaws? (?:are )?based on",
    ),
    _term("Constitution", r"\bconstitution(?:s|al)?\b(?! court)"),
    _term(
        "Independence",
        r"\bindependen\w*",
        rf"\bhow old is {E}",
        rf"\bwhen (?:was|did|is) {E} (?:founded|become|formed|established|created|gain|born|made)",
        r"\b(?:founded|founding)\b",
        r"\bbecome (?:a country|a state|independent|a nation)",
        r"\bcolon(?:y|ies|ial|ised|ized|i[sz]ation)\b",
        r"\bfree from\b",
        r"\bsovereign(?:ty)?\b",
        r"\bbirthday of the (?:nation|country)",
    ),
    _term(
        "National holiday",
        r"\bnational (?:holiday|day)s?",
        r"\bholidays?\b",
        r"\bcelebrat\w*",
    ),
    _term(
        "National symbol(s)",
        r"\bnational (?:symbols?|animals?|birds?|flowers?|emblems?|trees?|plants?)",
        r"\bsymbols?\b",
        r"\bemblems?\b",
        r"\bmascots?\b",
    ),
    _term("National color(s)", r"\bnational colou?rs?", r"\bcolou?rs\b"),
    _term("National anthem(s)", r"\banthems?\b", r"\bnational (?:song|hymn)"),
    _term("Flag", r"\bflags?\b"),
    _term(
        "Country name",
        r"\b(?:official|full|long|local|formal|conventional) name",
        r"\bwhere does (?:the |its )?name\b",
        r"\bnames? (?:come|comes|came) from",
        r"\betymolog\w*",
        rf"\bwhat does (?:the name )?{E} mean",
        rf"\bwhy is {E} called",
        r"\b(?:former|old|previous) names?",
        rf"\bwhat (?:was|is) {E} (?:called|named)",
    ),
    _term(
        "Political parties",
        r"\bpolitical part(?:y|ies)",
        r"\bparties\b|\bparty\b",
    ),
    _term(
        "Suffrage",
        r"\bsuffrage\b",
        r"\bvoting age|\bage to vote|\bwho can vote|\bright to vote",
        r"\bvot(?:e|es|ing|ers?)\b",
    ),
    _term(
        "Citizenship",
        r"\bcitizenship\b",
        r"\bbecome a citizen|\bdual (?:citizenship|nationality)",
        r"\bnaturali[sz]\w*",
        r"\bcitizen by (?:birth|descent)",
    ),
    _term(
        "Administrative divisions",
        r"\badministrative divisions?",
        r"\b(?:provinces?|regions|counties|districts|departments|prefectures|cantons|oblasts|municipalities|states)\b",
        r"\bdivided into",
        r"\bsubdivisions?",
    ),
    _term(
        "International organization participation",
        r"\binternational organi[sz]ations?",
        r"\b(?:member|membership) (?:of|in)\b",
        r"\bbelongs? to\b",
        r"\b(?:un|nato|eu|wto|opec|asean|oecd|imf|commonwealth|african union)\b",
    ),
    _term(
        "Diplomatic representation from the US",
        r"\b(?:us|american|united states) (?:embass\w*|ambassador)",
        r"\bembass(?:y|ies)\b|\bambassadors?\b|\bconsulates?\b",
    ),
    _term(_GOVERNMENT, r"\bgovern(?:ment|ments|ed|s)?\b", r"\bpolitic(?:s|al)\b", broad=True),
    _term(
        "Background",
        r"\bhistor(?:y|ical|ies)\b",
        r"\bbackground\b",
        r"\bpast\b",
        r"\boverview\b",
        r"\bintroduction\b",
        r"\bsummary\b|\bsummari[sz]e\b",
    ),
    _term(
        OVERVIEW,
        r"\btell me (?:something |everything |a bit )?about\b",
        r"\bdescribe\b",
        r"\b(?:basic |key |quick )?facts (?:about|on)\b",
        rf"\bwhat is {E} like\b",
        r"\bwhat do you know about\b",
        r"\bprofile\b",
        broad=True,
    ),
    # Military and security
    _term(
        "Military expenditures",
        r"\bmilitar\w* (?:spending|expenditures?|budgets?|costs?)",
        r"\bdefen[cs]e (?:spending|budgets?|expenditures?)",
        r"\bspend\w* on (?:the |its |their )?(?:military|defen[cs]e|army|arms|armed forces)",
        r"\b(?:arms|weapons) spending",
    ),
    _term(
        "Military and security forces",
        r"\barmy\b|\barmies\b|\barmed forces\b|\bnavy\b|\bair force\b|\bdefen[cs]e forces\b",
        r"\bmilitary (?:branches|forces|services)",
        r"\bsecurity forces\b|\bpolice\b|\bcoast guard\b",
    ),
    _term(
        "Military service age and obligation",
        r"\bconscript\w*|\bmilitary service\b|\bdraft(?:ed)?\b|\bcompulsory service|\bnational service",
        r"\b(?:age|old)\b.*\b(?:join|enlist)\b.*\b(?:army|military|armed forces)",
        r"\benlist\w*",
    ),
    _term(
        "Military and security service personnel strengths",
        r"\bhow many (?:soldiers|troops|personnel|active[- ]duty)",
        r"\bsize of (?:the |its )?(?:army|military|armed forces)",
        r"\b(?:army|military) size|\bnumber of (?:soldiers|troops)",
        r"\bsoldiers\b|\btroops\b",
    ),
    _term(_MILITARY, r"\bmilitar(?:y|ies)\b", r"\bdefen[cs]e\b", broad=True),
    # Energy
    _term(
        "Electricity access",
        r"\baccess to (?:electricity|power)",
        r"\belectricity access",
        r"\b(?:have|has|without|lack) (?:no )?(?:access to )?electricity",
        r"\belectrification",
        rf"\bhow many (?:people )?(?:in {E} )?(?:have|has|get|lack|are without) (?:access to )?(?:electricity|power)",
    ),
    _term(
        "Electricity",
        r"\belectricity (?:consumption|production|capacity|use|generated|generation capacity|exports?|imports?)",
        r"\b(?:power|electricity|electric) (?:consumption|use|capacity|grid)",
        r"\belectric(?:ity|al)?\b",
        r"\bgenerating capacity",
        r"\bkwh\b|\bkilowatt",
    ),
    _term(
        "Electricity generation sources",
        r"\b(?:sources?|mix) of (?:electricity|power|energy)",
        rf"\bwhere (?:does|do) {E} get (?:its |their )?(?:electricity|power|energy)",
        r"\b(?:electricity|power|energy)\b.{0,30}\bfrom\b",
        r"\b(?:electricity|power|energy) (?:mix|sources?)",
        rf"\bhow (?:is|does) (?:{E} )?(?:its )?(?:electricity|power|energy)\b.*\b(?:generated|produced|made)",
        r"\brenewables?\b|\brenewable energy",
        r"\bsolar\b|\bwind (?:power|energy|farms?)|\bhydro\w*|\bgeothermal\b|\bbiomass\b",
        r"\bfossil fuels?",
        r"\bgreen energy|\bclean energy",
    ),
    _term(
        ("Nuclear energy", "Electricity generation sources"),
        r"\bnuclear (?:energy|power|reactors?|plants?|power ?plants?)",
        r"\bnuclear\b",
    ),
    _term(
        "Petroleum",
        r"\boil\b",
        r"\bpetroleum\b",
        r"\bcrude\b",
        r"\bgasoline\b|\bpetrol\b|\bdiesel\b",
        r"\brefined (?:petroleum|oil) products",
        r"\bbarrels?\b",
    ),
    _term(
        "Natural gas",
        r"\bnatural gas|\bgas (?:production|reserves|exports?|imports?|fields?)",
        r"\blng\b",
        r"\bgas\b",
    ),
    _term("Coal", r"\bcoal\b"),
    _term(
        "Energy consumption per capita",
        r"\benergy (?:consumption|use|usage|demand)",
        r"\b(?:consume|consumes|use|uses) (?:\w+ )?energy",
        r"\bbtu\b",
    ),
    _term(_ENERGY, r"\benergy\b", r"\bpower\b", broad=True),
    # Environment
    _term(
        "Carbon dioxide emissions",
        r"\bcarbon (?:dioxide|emissions?|footprint)",
        r"\bco2\b",
        r"\bgreenhouse gas\w*",
        r"\bemissions?\b",
        r"\bemit\w*",
    ),
    _term("Methane emissions", r"\bmethane\b"),
    _term(
        "Particulate matter emissions",
        r"\bparticulates?\b|\bparticulate matter",
        r"\bair quality|\bsmog\b|\bair pollution|\bpm2\.5",
    ),
    _term(
        "Environmental issues",
        r"\benvironmental (?:issues|problems|concerns|challenges|threats)",
        r"\bpollut\w*",
        r"\bdeforest\w*",
        r"\b(?:soil )?erosion|\bdesertification",
        r"\bconservation\b",
    ),
    _term(
        "International environmental agreements",
        r"\benvironmental (?:agreements?|treaties|treaty|conventions?)",
        r"\b(?:paris|kyoto) (?:agreement|accord|protocol)",
        r"\bclimate (?:treaty|treaties|agreements?|accords?)",
    ),
    _term(
        "Total renewable water resources",
        r"\b(?:renewable |fresh ?)water resources",
        r"\bfresh ?water\b",
        r"\bhow much water",
        r"\bwater (?:supply|supplies|scarcity|availability)",
    ),
    _term("Total water withdrawal", r"\bwater (?:withdrawal|use|usage|consumption|demand)"),
    _term(
        "Waste and recycling",
        r"\bwaste\b",
        r"\brecycl\w*",
        r"\bgarbage\b|\btrash\b|\brubbish\b|\blandfills?",
    ),
    _term("Geoparks", r"\bgeoparks?\b"),
    _term(_ENVIRONMENT, r"\benvironment(?:al|s)?\b", r"\becolog\w*", broad=True),
    # Communications
    _term(
        "Internet users",
        r"\binternet (?:users?|access|use|usage|penetration)",
        r"\b(?:go|goes|get|gets|are|be) online\b",
        r"\buse (?:the )?internet",
        r"\bon the internet\b|\bonline\b",
        r"\binternet\b",
    ),
    _term(
        "Internet country code",
        r"\b(?:internet|country|web|domain) (?:country )?codes?",
        r"\btop[- ]level domain",
        r"\btld\b",
        r"\b(?:websites?|web addresses|urls?|domains?)\b.*\bend (?:with|in)",
        r"\bdomain (?:name )?(?:ending|suffix|extension)",
    ),
    _term(
        "Telephones - mobile cellular",
        r"\bmobile (?:phones?|subscriptions?|subscribers?|lines?)",
        r"\bcell ?(?:phones?|ular)",
        r"\bsmart ?phones?",
        r"\bmobiles?\b",
    ),
    _term(
        "Telephones - fixed lines",
        r"\blandlines?",
        r"\bfixed(?:[- ]line)? (?:phones?|telephones?|lines?)",
        r"\btelephone lines",
        r"\btelephones?\b|\bphones?\b",
    ),
    _term(
        "Broadband - fixed subscriptions",
        r"\bbroadband\b",
        r"\b(?:fixed|home) internet",
        r"\bfib(?:er|re)[- ]optic",
    ),
    _term(
        "Broadcast media",
        r"\b(?:tv|television|radio|broadcast\w*|newspapers?|press freedom|media)\b",
        r"\b(?:tv|radio) (?:stations?|channels?)",
    ),
    _term(_COMMUNICATIONS, r"\bcommunications?\b", r"\btelecom\w*", broad=True),
    # Transportation
    _term("Airports", r"\bairports?\b", r"\bairfields?\b|\bairstrips?\b|\brunways?\b"),
    _term("Railways", r"\brailways?\b", r"\brailroads?\b", r"\btrains?\b", r"\brail\b"),
    _term("Ports", r"\bports?\b", r"\bharbou?rs?\b", r"\bseaports?\b", r"\bterminals?\b"),
    _term(
        "Merchant marine",
        r"\bmerchant (?:marine|fleet|navy|ships?)",
        r"\b(?:cargo|merchant) ships\b|\bshipping fleet\b|\bvessels\b",
        r"\bhow many ships\b|\bships\b(?! (?:to|abroad|overseas))",
    ),
    _term("Heliports", r"\bheliports?\b", r"\bhelipads?\b"),
    _term(
        "Civil aircraft registration country code prefix",
        r"\baircraft registration",
        r"\b(?:aircraft|plane|airplane|tail) (?:prefix|registration|code)",
    ),
    _term(_TRANSPORT, r"\btransport\w*", r"\binfrastructure\b", r"\bget around\b", broad=True),
    # Transnational issues, terrorism, space
    _term(
        "Refugees and internally displaced persons",
        r"\brefugees?\b",
        r"\b(?:internally )?displaced\b",
        r"\basylum\b",
        r"\bstateless\b",
    ),
    _term(
        "Illicit drugs",
        r"\b(?:illicit |illegal )?drugs?\b",
        r"\bnarcotics?\b|\bcocaine\b|\bheroin\b|\bcannabis\b|\bopium\b|\bmarijuana\b|\bmethamphetamine\b",
        r"\bdrug (?:trade|trafficking|production)",
    ),
    _term(
        "Trafficking in persons",
        r"\bhuman trafficking",
        r"\btrafficking in persons",
        r"\b(?:people|persons|sex|child) trafficking",
        r"\bforced labou?r",
        r"\bmodern slavery|\bslavery\b",
    ),
    _term("Terrorist group(s)", r"\bterror\w*", r"\bextremis\w*|\binsurgen\w*|\bmilitants?\b"),
    _term(
        ("Space program overview", "Space agency/agencies"),
        r"\bspace (?:program\w*|agenc(?:y|ies)|exploration|launch\w*|missions?|industry)",
        r"\bsatellites?\b|\brockets?\b|\bastronauts?\b|\bcosmonauts?\b",
        r"\bspace\b",
    ),
    _term(_PEOPLE, r"\bdemograph\w*", r"\bsociety\b", broad=True),
    _term(_HEALTH, r"\bhealth\w*", r"\bmedical\b|\bmedicine\b", broad=True),
    _term(_EDUCATION, r"\beducat\w*", r"\bschools?\b", r"\buniversit\w*", broad=True),
    _term(_TRADE, r"\btrade\b|\btrading\b|\btrades\b", broad=True),
)
"""The Factbook's fields in everyday words."""

FACTBOOK_LABELS: dict[str, str] = {
    "Exports - commodities": "main exports",
    "Imports - commodities": "main imports",
    "Exports - partners": "main export partners",
    "Imports - partners": "main import partners",
    "Exports": "exports",
    "Imports": "imports",
    "Real GDP (purchasing power parity)": "real GDP (purchasing power parity)",
    "Real GDP per capita": "real GDP per capita",
    "Real GDP growth rate": "real GDP growth rate",
    "GDP (official exchange rate)": "GDP at the official exchange rate",
    "Inflation rate (consumer prices)": "inflation rate",
    "Exchange rates": "currency and exchange rate",
    "Elevation": "highest point",
    "Capital": "capital",
    "Population": "population",
    "Life expectancy at birth": "life expectancy at birth",
    "National symbol(s)": "national symbols",
    "Major urban areas - population": "largest cities",
    "Gini Index coefficient - distribution of family income": "Gini index of family income",
    "Youth unemployment rate (ages 15-24)": "youth unemployment rate",
    "School life expectancy (primary to tertiary education)": "school life expectancy",
    "Obesity - adult prevalence rate": "adult obesity rate",
    "Major rivers (by length in km)": "major rivers",
    "Major lakes (area sq km)": "major lakes",
    "Internet country code": "internet country code",
    "Background": "background",
    "Economic overview": "economy in brief",
}
"""How a sentence names a field whose own name reads badly in one."""

# --- Python's documentation ------------------------------------------------------------------------------

PYDOC_TERMS: tuple[Term, ...] = (
    _term(
        "pydoc:math.isclose",
        r"\b(?:approximately|almost|nearly|roughly) equal",
        r"\bclose (?:in value|to each other|enough|together)",
        r"\bcompar\w* (?:two )?floats?\b|\bfloats? (?:comparison|equality)",
        r"\btolerance\b",
    ),
    _term("pydoc:statistics.median", r"\bmiddle (?:value|number|element)", r"\bmedian\b"),
    _term(
        "pydoc:statistics.mean",
        r"\b(?:arithmetic )?mean of\b|\baverage (?:of|value)\b|\b(?:compute|calculate|get) (?:the )?average\b",
    ),
    _term("pydoc:statistics.stdev", r"\bstandard deviation|\bspread of (?:the )?(?:data|numbers|values)"),
    _term(
        "pydoc:random.choice",
        r"\b(?:pick|choose|select|get|draw) (?:a |one )?random (?:element|item|member|entry|value)",
        r"\brandom (?:element|item|member|entry) (?:from|of|in)\b",
        r"\b(?:pick|choose|select) (?:an? )?(?:element|item) at random",
    ),
    _term(
        "pydoc:random.shuffle", r"\bshuffl\w*", r"\brandomi[sz]e (?:the )?order", r"\bmix up (?:a |the )?list"
    ),
    _term("pydoc:random.randint", r"\brandom (?:integer|whole number|int)\b", r"\brandom number between"),
    _term(
        "pydoc:random.sample",
        r"\b(?:several|k|n|multiple) random (?:elements|items)",
        r"\bwithout replacement",
    ),
    _term(
        "pydoc:shutil.rmtree",
        r"\b(?:delete|remove|erase|wipe) (?:a |the |an )?(?:whole |entire |complete )?(?:directory|folder|dir) tree",
        r"\b(?:delete|remove|erase) (?:a |the |an )?(?:non-?empty )?(?:directory|folder|dir)\b.*\b(?:contents|everything|all (?:its|the) files|recursive\w*)",
        r"\brecursively (?:delete|remove)",
        r"\brm -rf\b",
    ),
    _term("pydoc:shutil.copytree", r"\bcopy (?:a |the )?(?:whole |entire )?(?:directory|folder)(?: tree)?"),
    _term("pydoc:shutil.copy", r"\bcopy (?:a |the )?file\b"),
    _term(
        "pydoc:shutil.move",
        r"\bmove (?:a |the )?(?:file|directory|folder)\b|\brename (?:a |the )?(?:file|folder)",
    ),
    _term("pydoc:pathlib.Path.unlink", r"\b(?:delete|remove|erase) (?:a |the )?(?:single )?file\b"),
    _term(
        "pydoc:os.makedirs",
        r"\b(?:create|make) (?:nested |intermediate |parent |all )?(?:directories|folders)",
        r"\b(?:create|make) (?:a |the )?(?:new )?(?:directory|folder)",
    ),
    _term(
        "pydoc:pathlib.Path.iterdir",
        r"\blist (?:the |all )?(?:files|entries|contents) (?:in|of) (?:a |the )?(?:directory|folder)",
    ),
    _term(
        "pydoc:os.walk",
        r"\bwalk (?:a |the )?(?:directory|folder) tree|\b(?:every|all) files? in (?:all )?subdirector",
    ),
    _term(
        "pydoc:pathlib.Path.exists",
        r"\b(?:check|test|see|know|find out) (?:if|whether) (?:a |the )?(?:file|path|directory|folder) exists",
        r"\b(?:file|path) exists\b",
    ),
    _term(
        "pydoc:os.path.join",
        r"\b(?:join|combine|concatenate|build|glue) (?:file ?|directory )?paths?\b",
        r"\bpath components",
    ),
    _term("pydoc:os.path.splitext", r"\b(?:file )?extension of (?:a )?file|\bfile(?:name)? extension"),
    _term("pydoc:os.getenv", r"\benvironment variables?|\benv vars?"),
    _term("pydoc:glob.glob", r"\bfiles? matching (?:a )?(?:pattern|wildcard)|\bwildcards?\b"),
    _term(
        "pydoc:json.loads",
        r"\b(?:parse|read|decode|load) (?:a |the )?json\b",
        r"\bjson (?:string|text) (?:in)?to (?:a )?(?:dict|python)",
    ),
    _term(
        "pydoc:json.dumps",
        r"\b(?:convert|turn|serialize|serialise|encode|write|dump) (?:a |an |the )?(?:\w+ )?(?:to|as|into) json",
        r"\bto (?:a )?json string",
        r"\bpretty[- ]print (?:a )?json",
    ),
    _term(
        "pydoc:pickle.dumps", r"\b(?:serialize|serialise|save|persist) (?:a |an |any )?(?:python )?objects?"
    ),
    _term("pydoc:csv.reader", r"\b(?:read|parse|load) (?:a |the )?csv\b|\bcsv files?|\bcomma[- ]separated"),
    _term(
        "pydoc:datetime.datetime.now",
        r"\b(?:current|today'?s) (?:date|time|datetime)",
        r"\bdate and time (?:now|right now)",
    ),
    _term(
        "pydoc:datetime.datetime.strptime",
        r"\b(?:parse|convert) (?:a )?(?:date|time|datetime) string",
        r"\bstring (?:in)?to (?:a )?(?:date|datetime)",
    ),
    _term(
        "pydoc:datetime.timedelta",
        r"\bdifference between (?:two )?dates",
        r"\badd (?:days|hours|minutes|weeks) to",
        r"\bdurations?\b|\btime ?deltas?\b",
    ),
    _term(
        "pydoc:time.sleep",
        r"\b(?:pause|sleep|delay|wait)\b(?: for)? (?:a few |some |\d+ )?(?:seconds?|a while|execution|the program)",
    ),
    _term(
        "pydoc:time.perf_counter",
        r"\b(?:measure|time) how long|\bexecution time|\belapsed time|\bbenchmark\w*",
    ),
    _term(
        "pydoc:collections.Counter",
        r"\bcount(?:ing)? (?:the )?(?:occurrences|frequenc\w*|how often|how many times|items|elements|words)",
        r"\bword counts?\b|\btally\b|\bfrequency (?:count|table)",
    ),
    _term(
        "pydoc:collections.defaultdict",
        r"\bdefault values? for (?:missing )?keys|\bmissing keys?\b",
    ),
    _term(
        "pydoc:collections.deque",
        r"\bdouble[- ]ended queue|\bdeque\b",
        r"\b(?:append|pop|add|remove)\w* (?:at|from) both ends",
    ),
    _term("pydoc:collections.namedtuple", r"\bnamed tuples?\b|\btuple with (?:field )?names"),
    _term(
        "pydoc:heapq",
        r"\bpriority queues?\b",
        r"\bheaps?\b",
        r"\bmin[- ]heap|\bmax[- ]heap",
    ),
    _term(
        "pydoc:heapq.nlargest",
        r"\b(?:n|k|\d+|three|five|ten|few) (?:largest|biggest|highest|smallest|lowest)\b",
        r"\btop (?:n|k|\d+) (?:items|elements|values)",
    ),
    _term("pydoc:bisect", r"\bbinary search|\bbisect\w*|\b(?:insert|keep)\b.*\bsorted (?:list|order)"),
    _term("pydoc:itertools.permutations", r"\bpermutations?\b|\ball (?:possible )?orderings"),
    _term("pydoc:itertools.combinations", r"\bcombinations?\b|\ball (?:possible )?pairs\b"),
    _term("pydoc:itertools.product", r"\bcartesian product"),
    _term(
        "pydoc:itertools.chain",
        r"\bflatten\w*",
        r"\bchain (?:together )?(?:lists|iterables|sequences)",
        r"\bconcatenate (?:several |multiple )?(?:iterables|iterators)",
    ),
    _term("pydoc:itertools.groupby", r"\bgroup (?:consecutive )?(?:items|elements|by)\b"),
    _term(
        "pydoc:functools.lru_cache",
        r"\bcach(?:e|ing) (?:the )?(?:results?|return values?|function calls?)",
        r"\bmemoi[sz]\w*",
        r"\bremember (?:previous |earlier )?results",
    ),
    _term(
        "pydoc:functools.partial",
        r"\b(?:fix|freeze|pre-?fill|bind) (?:some )?(?:of (?:a|the) function'?s? )?arguments",
        r"\bpartial (?:function|application)",
    ),
    _term(
        "pydoc:functools.reduce",
        r"\breduce\b|\bfold\b|\b(?:combine|collapse) (?:a )?(?:list|sequence) into (?:a )?single",
    ),
    _term(
        "pydoc:functools.wraps",
        r"\b(?:write|writing|create) (?:a |my own )?decorator",
        r"\bpreserve (?:the )?(?:function'?s? )?(?:name|metadata|docstring)",
    ),
    _term(
        "pydoc:subprocess.run",
        r"\brun (?:a |an )?(?:external |shell |system )?(?:command|program|process|executable)",
        r"\b(?:shell|system) commands?",
        r"\bcall (?:an )?external program",
    ),
    _term("pydoc:re.sub", r"\b(?:replace|substitute)\b.*\b(?:regex|regular expression|pattern)"),
    _term("pydoc:re.findall", r"\bfind all (?:matches|occurrences)|\ball (?:regex )?matches"),
    _term("pydoc:re", r"\bregular expressions?|\bregex(?:es|p)?\b"),
    _term("pydoc:str.split", r"\bsplit (?:a |the )?(?:string|text|line|sentence)|\bbreak (?:a )?string into"),
    _term("pydoc:str.join", r"\bjoin (?:a )?list of strings|\bconcatenate (?:a list of )?strings"),
    _term(
        "pydoc:str.strip",
        r"\b(?:remove|strip|trim) (?:the )?(?:leading |trailing )*(?:whitespace|spaces|blanks)",
    ),
    _term(
        "pydoc:str.replace", r"\breplace (?:a |all )?(?:substring|text|characters?|words?) in (?:a )?string"
    ),
    _term("pydoc:str.upper", r"\bupper ?case|\buppercase\b|\bcapital letters"),
    _term("pydoc:str.lower", r"\blower ?case|\blowercase\b|\bcase[- ]insensitive"),
    _term(
        "pydoc:sorted",
        r"\bsort(?:ed|ing)? (?:a |the )?(?:list|items|sequence|dict\w*|values)",
        r"\bin (?:sorted|ascending|descending) order",
    ),
    _term("pydoc:reversed", r"\breverse (?:a |the )?(?:list|sequence|string|order)"),
    _term(
        "pydoc:enumerate",
        r"\b(?:index|counter|position)\b.*\b(?:while|when) (?:looping|iterating)",
        r"\bloop with (?:an? )?(?:index|counter)",
    ),
    _term(
        "pydoc:zip",
        r"\b(?:iterate|loop) over (?:two|several|multiple) (?:lists|sequences)",
        r"\b(?:pair|combine) (?:up )?(?:two|several) lists",
        r"\bin parallel\b",
    ),
    _term(
        "pydoc:len",
        r"\b(?:length|size) of (?:a |the )?(?:list|string|sequence|dict\w*)",
        r"\bhow many (?:items|elements)",
    ),
    _term(
        "pydoc:isinstance",
        r"\bcheck (?:the )?type\b|\bis (?:an )?instance of|\btype of (?:an? )?(?:object|variable)",
    ),
    _term("pydoc:io.open", r"\b(?:open|read|write) (?:a |the |to a )?(?:text |binary )?files?\b"),
    _term("pydoc:input", r"\b(?:read|get|ask for) (?:user )?input|\bkeyboard input"),
    _term(
        "pydoc:print",
        r"\bprint (?:to|something|a message|output)|\bwrite to (?:the )?(?:screen|console|stdout)",
    ),
    _term("pydoc:round", r"\bround(?:ing)? (?:a )?(?:number|float|to \w+ decimal)"),
    _term(
        "pydoc:argparse.ArgumentParser",
        r"\bcommand[- ]line (?:arguments|options|flags|parameters)",
        r"\bparse (?:the )?arguments",
        r"\bargv\b",
    ),
    _term("pydoc:logging", r"\blog (?:messages|to a file)|\blogging\b|\bwrite (?:a )?log"),
    _term("pydoc:unittest.TestCase", r"\bunit ?tests?\b|\bwrite tests?\b|\btest cases?\b"),
    _term(
        "pydoc:dataclasses.dataclass",
        r"\bdata ?class\w*|\bclass (?:that|to) (?:just )?holds? data|\brecord types?",
    ),
    _term("pydoc:enum.Enum", r"\benumerations?\b|\bnamed constants|\benums?\b"),
    _term("pydoc:threading.Thread", r"\bthreads?\b|\bmulti-?threading"),
    _term("pydoc:asyncio", r"\basync(?:io|hronous)?\b|\bcoroutines?\b|\bevent loop"),
    _term("pydoc:uuid.uuid4", r"\bunique (?:id|identifier)s?\b|\buuids?\b|\brandom identifiers?"),
    _term(
        "pydoc:hashlib",
        r"\bhash(?:es|ing)? (?:a )?(?:string|file|password|data)|\bmd5\b|\bsha-?\d*\b|\bchecksums?\b",
    ),
    _term("pydoc:base64", r"\bbase64\b|\bbase 64\b"),
    _term(
        "pydoc:secrets",
        r"\b(?:secure|safe) (?:random )?(?:passwords?|tokens?)",
        r"\bcryptographically (?:secure|strong)",
        r"\brandom (?:password|token)s?",
    ),
    _term("pydoc:tempfile", r"\btemporary (?:file|directory|folder)s?|\btemp (?:file|dir)s?"),
    _term("pydoc:zipfile", r"\bzip (?:file|archive)s?|\b(?:un)?zip (?:a )?(?:file|folder)"),
    _term("pydoc:gzip", r"\bgzip\w*|\b\.gz\b|\bgz files?"),
    _term("pydoc:textwrap", r"\bwrap (?:long )?(?:text|lines)|\bindent (?:a )?(?:text|block)|\bdedent\b"),
    _term("pydoc:string.Template", r"\btemplate strings?|\bsubstitute placeholders|\b\$-?substitution"),
    _term(
        "pydoc:decimal",
        r"\bexact decimal|\bdecimal (?:arithmetic|numbers|precision)",
        r"\b(?:money|currency) calculations",
        r"\brounding errors?|\bfloating[- ]point errors?",
    ),
    _term("pydoc:fractions.Fraction", r"\bfractions?\b|\brational numbers?"),
    _term(
        "pydoc:copy.deepcopy",
        r"\bdeep ?cop(?:y|ies)|\bclone (?:an? )?object",
        r"\bcop(?:y|ies|ying) (?:of )?(?:a |an |the )?nested",
        r"\b(?:changes?|modif\w*) (?:don'?t|do not|won'?t|will not) (?:affect|change) the original",
    ),
    _term("pydoc:copy.copy", r"\bshallow ?cop(?:y|ies)"),
    _term("pydoc:sqlite3", r"\bsqlite\w*|\bembedded (?:sql )?database"),
    _term(
        "pydoc:urllib.parse",
        r"\bparse (?:a )?url|\bquery strings?|\burl[- ]?encod\w*|\b(?:quote|escape) (?:a )?url",
    ),
    _term("pydoc:ipaddress", r"\bip addresse?s?\b|\bsubnets?\b|\bnetmasks?\b|\bcidr\b"),
    _term("pydoc:zoneinfo.ZoneInfo", r"\btime ?zones?\b|\biana\b|\btz database"),
    _term("pydoc:calendar", r"\bcalendars?\b|\bleap years?\b|\bday of (?:the )?week"),
    _term(
        "pydoc:difflib",
        r"\b(?:compare|diff) (?:two )?(?:texts|strings|sequences|files|lines)",
        r"\bsimilar strings|\bfuzzy (?:match\w*|search)|\bclose matches|\bdiffs?\b",
    ),
    _term("pydoc:unicodedata", r"\bunicode (?:character )?(?:names?|categor\w*|normali[sz]\w*|database)"),
    _term("pydoc:struct", r"\b(?:pack|unpack) (?:binary|bytes)|\bbinary data|\bc structs?"),
    _term("pydoc:weakref", r"\bweak (?:references?|refs?)"),
    _term(
        "pydoc:contextlib.contextmanager",
        r"\b(?:write|writing|create|make|define) (?:a |my own |your own )?context managers?",
    ),
    _term(
        ("pydoc:topic/with", 'pydoc:topic/compound#The "with" statement'),
        r"\bwith[- ]statements?|\bwith blocks?|\bcontext managers?",
    ),
    _term(
        "pydoc:topic/pass",
        r"\bpass statements?",
        r"\b(?:does|do) nothing\b|\bplaceholder statement|\bempty (?:function|block|class|body)",
    ),
    _term(
        ("pydoc:topic/try", "pydoc:topic/exceptions"),
        r"\b(?:catch|handle|handling|trap)\w* (?:an |the )?(?:errors?|exceptions?)",
        r"\btry (?:and |/)?except|\berror handling|\btry statements?",
    ),
    _term(
        "pydoc:topic/raise", r"\b(?:raise|throw) (?:an |my own )?(?:errors?|exceptions?)|\braise statements?"
    ),
    _term("pydoc:topic/lambda", r"\blambdas?\b|\banonymous functions?"),
    _term("pydoc:topic/yield", r"\byield\b|\bgenerators?\b"),
    _term("pydoc:topic/global", r"\bglobal (?:variables?|statements?|keyword)"),
    _term("pydoc:topic/nonlocal", r"\bnonlocal\b"),
    _term("pydoc:topic/assert", r"\bassert(?:ions?|s)?\b"),
    _term(
        "pydoc:topic/formatstrings",
        r"\bformat (?:strings?|specifiers?|spec)|\bf-?strings?|\bstring formatting",
    ),
    _term("pydoc:topic/slicings", r"\bslic(?:e|es|ing)\b"),
    _term("pydoc:topic/import", r"\bimport (?:statements?|a module|modules)|\bhow (?:do|does) import"),
    _term(
        "pydoc:topic/for",
        r"\bfor[- ]loops?|\bfor statements?|\bloop over\b|\biterate over (?:a |the )?(?:list|sequence)",
    ),
    _term("pydoc:topic/while", r"\bwhile[- ]loops?|\bwhile statements?"),
    _term("pydoc:topic/class", r"\b(?:define|defining|write|create) (?:a )?class\b|\bclass definitions?"),
    _term(
        "pydoc:topic/function",
        r"\b(?:define|defining|write|create) (?:a )?functions?\b|\bfunction definitions?",
    ),
    _term("pydoc:topic/if", r"\bif statements?|\bconditional statements?|\bif[- ]else\b|\belif\b"),
    _term("pydoc:topic/del", r"\bdel statements?|\bdelete (?:a )?variable"),
    _term("pydoc:topic/truth", r"\btruth(?:y| value)|\bfalsy\b|\bboolean context"),
    _term("pydoc:topic/dict", r"\bdictionar(?:y|ies)\b"),
    _term("pydoc:topic/typesseq", r"\bsequence types?|\bcommon sequence operations"),
    _term("pydoc:topic/string-methods", r"\bstring methods?"),
)
"""Python's documentation in the words people use for the task ("delete a whole folder tree")."""

VOCABULARIES: dict[str, Vocabulary] = {
    "factbook": Vocabulary(FACTBOOK_TERMS, FACTBOOK_LABELS),
    "pydoc": Vocabulary(PYDOC_TERMS),
}
"""The vocabulary of each bundled collection; a person's own collection has none."""


def find_terms(text: str, vocabulary: Vocabulary) -> list[TermMatch]:
    """The terms `text` means, in the order it names them.

    `text` is lower-cased, with the entities it names replaced by `ENTITY`. Of overlapping matches the
    longest wins (a named field over a broad subject at equal length); weak terms count only when no other
    term matched.
    """
    candidates = [
        TermMatch(term, match.start(), match.end())
        for term in vocabulary.terms
        for pattern in term.compiled
        for match in pattern.finditer(text)
        if match.end() > match.start()
    ]
    order = {id(term): index for index, term in enumerate(vocabulary.terms)}
    candidates.sort(key=lambda m: (m.start - m.end, m.term.broad, order[id(m.term)], m.start))
    kept: list[TermMatch] = []
    for match in candidates:
        if any(match.start < other.end and other.start < match.end for other in kept):
            continue
        kept.append(match)
    strong = [match for match in kept if not match.term.weak]
    return sorted(strong or kept, key=lambda m: m.start)
