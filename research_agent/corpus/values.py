"""Values read from Factbook fields: the latest figure of a field, its year, and the number in it.

A flattened Factbook field states its figures in a few shapes: a yearly series ("Real GDP per capita 2024:
$30,200 (2024 est.); Real GDP per capita 2023: $29,600 (2023 est.)"), a labelled total ("total: 68,512,806
(2025 est.); male: ..."), a list ("copper ore, refined copper, fish (2023)"), or a named value ("name:
Santiago; ..."). `latest_reading` takes the latest figure of any of them as the field writes it, so a report
quoting it copies the source; `Reading.number` is that figure as a number, for comparisons. Nothing is
estimated: a field with no figure has no number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_NOTE = re.compile(r"(?:^|;)\s*note(?: \d+)?\s*:", re.IGNORECASE)
_SERIES = re.compile(r"^(?P<label>.*?)\s?(?P<year>(?:19|20)\d{2}): (?P<value>.+)$")
_YEAR = re.compile(r"\(((?:19|20)\d{2})(?: est\.)?\)")
_LABEL = re.compile(r"^(?P<label>[A-Za-z][\w ()'/-]*?): (?P<value>.+)$")
_LEADING_LABELS = frozenset(
    {"total", "total population", "name", "highest point", "languages", "currency", "conventional short form"}
)
_AMOUNT = re.compile(
    r"(?P<sign>-)?(?P<dollar>\$)?(?P<number>\d[\d,]*(?:\.\d+)?)(?:\s?(?P<scale>trillion|billion|million)\b)?"
)
_UNIT_CHARS = 40
"""Longest text after a figure that is read as its unit ("years", "% of GDP", "deaths/1,000 live births")."""
_SCALES = {"trillion": 1e12, "billion": 1e9, "million": 1e6}
_PARENTHESES = re.compile(r"\s*\([^()]*\)")


@dataclass(frozen=True)
class Reading:
    """The latest figure of a field."""

    text: str
    """As the field writes it ("$30,200", "copper ore, refined copper, fish"), without its year."""
    year: str = ""
    number: float | None = None
    """`text` as a number (scaled: "$596.556 billion" is 596556000000), when it states one figure."""
    unit: str = ""
    """"$", "%", "years", "sq km", "m" ... or "" for a plain count."""

    @property
    def shown(self) -> str:
        """The figure with its year, as a report shows it: "$30,200 (2024)"."""
        return f"{self.text} ({self.year})" if self.year and self.year not in self.text else self.text


def pieces_of(text: str) -> list[str]:
    """The `;`-separated parts of a flattened field, a `;` inside parentheses not separating."""
    parts, depth, start = [], 0, 0
    for index, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == ";" and depth <= 0:
            parts.append(text[start:index])
            start = index + 1
    parts.append(text[start:])
    return [part.strip() for part in parts if part.strip()]


def _without_note(text: str) -> str:
    match = _NOTE.search(text)
    return text[: match.start()] if match and match.start() > 0 else text


def _year_of(text: str) -> str:
    match = _YEAR.search(text)
    return match.group(1) if match else ""


def _strip_year(text: str) -> str:
    return _YEAR.sub("", text).strip(" ;,")


def amount(text: str) -> tuple[float, str] | None:
    """The one figure `text` states, scaled, with its unit: "$596.556 billion" -> (596556000000.0, "$"),
    "8.6%" -> (8.6, "%"), "2.1% of GDP" -> (2.1, "% of GDP"), "Mount Everest 8,849 m" -> (8849.0, "m").
    None when it states a list or no figure ("copper ore, gold", "Hindu 81.2%, Buddhist 8.2%")."""
    bare = " ".join(_PARENTHESES.sub("", text).split())
    if not bare or ", " in bare or "; " in bare:
        return None
    match = _AMOUNT.match(bare)
    if match is None:  # a name ending in a figure: "Mount Everest 8,849 m"
        found = [m for m in _AMOUNT.finditer(bare) if m.start() > 0 and bare[m.start() - 1] == " "]
        match = found[-1] if found else None
        if match is None or len(bare) - match.end() > 4:
            return None
    unit = bare[match.end() :].strip()
    if len(unit) > _UNIT_CHARS or (unit and not (unit[0] == "%" or unit[0].isalpha())):
        return None
    value = float(match.group("number").replace(",", "")) * _SCALES.get(match.group("scale") or "", 1.0)
    if match.group("sign"):
        value = -value
    return value, "$" + unit if match.group("dollar") else unit


def latest_reading(field: str, text: str) -> Reading | None:
    """The latest figure `text` (a flattened Factbook field named `field`) states; None for an empty one."""
    pieces = pieces_of(_without_note(text))
    if not pieces:
        return None
    series = [(m.group("year"), m.group("value")) for p in pieces if (m := _SERIES.match(p))]
    qualifier = ""
    if series:
        year, value = max(series, key=lambda item: item[0])
        if field == "Exchange rates":  # "Currency: euros (EUR) per US dollar -" names what the rate is of
            currency = next((p for p in pieces if p.lower().startswith("currency:")), "")
            qualifier = currency.partition(":")[2].strip(" -")
        shown = _strip_year(value)
        if qualifier:
            shown = f"{shown} {qualifier}"
        figure = amount(_strip_year(value))
        return Reading(shown, _year_of(value) or year, *(figure or (None, "")))
    first = pieces[0]
    labelled = _LABEL.match(first)
    if labelled and labelled.group("label").lower() in (_LEADING_LABELS | {field.lower()}):
        first = labelled.group("value")
    elif amount(_strip_year(first)) is None:
        # A description ("desert; hot, dry summers ..."): all of it; labelled parts ("chief of state: ...;
        # head of government: ..."): the first two.
        first = "; ".join(pieces if not labelled else pieces[:2])
    shown = _strip_year(first)
    year = _year_of(first) or _year_of(text)
    figure = amount(shown)
    return Reading(shown, year, *(figure or (None, "")))


def figure(value: float, unit: str) -> str:
    """`value` written like the Factbook writes a figure in `unit`: "$14,500", "$60.645 billion", "4.6%"."""
    magnitude = abs(value)
    sign = "-" if value < 0 else ""
    for name, scale in _SCALES.items():
        if magnitude >= scale:
            text = f"{magnitude / scale:,.3f}".rstrip("0").rstrip(".") + f" {name}"
            break
    else:
        decimals = 0 if magnitude >= 1000 else (1 if magnitude >= 10 else 2)
        text = f"{magnitude:,.{decimals}f}"
        if "." in text:
            text = text.rstrip("0").rstrip(".")
    if unit.startswith("$"):
        return f"{sign}${text}{unit[1:] and ' ' + unit[1:]}"
    if unit.startswith("%"):
        return f"{sign}{text}{unit}"
    return f"{sign}{text} {unit}".strip()


def difference(value: float, unit: str) -> str:
    """A difference of two figures in `unit`: percentages differ by percentage points."""
    if unit.startswith("%"):
        return f"{figure(value, '').lstrip('-')} percentage points"
    return figure(abs(value), unit)


def tidy_series(field: str, text: str) -> str:
    """`text` without its notes and without the label repeated before every year of a series:
    "Real GDP per capita 2024: $30,200 (2024 est.); ..." -> "$30,200 (2024 est.); ..."."""
    pieces = []
    for piece in pieces_of(_without_note(text)):
        match = _SERIES.match(piece)
        if match:
            value = match.group("value")
            piece = value if match.group("year") in value else f"{value} ({match.group('year')})"
        if piece:
            pieces.append(piece)
    return "; ".join(pieces)
