"""Passages from the Python documentation that ships with the running interpreter.

Two kinds of document, both read from this Python, so the collection needs no download and matches the
version in use:

- the language-reference topics `help()` shows (`pydoc_data.topics`: "with", "formatstrings", ...), split
  at their sub-headings and located at `pydoc:topic/with#Heading`;
- the docstrings of a fixed set of widely used standard-library modules and the builtins: the module's
  own docstring (`pydoc:json`), one passage per public function or class with its signature
  (`pydoc:json.dumps`), and one per public method of those classes (`pydoc:pathlib.Path.glob`).

The set of modules is fixed (not every importable module) so that building the index takes seconds,
imports nothing with side effects, and gives the same collection on every machine with this Python.
Passages name no entity: module names such as `string`, `time` or `copy` are everyday words, and
narrowing a search to them whenever a question used the word would hide the right passages.
"""

from __future__ import annotations

import importlib
import inspect
import keyword
import platform
import re
from collections.abc import Iterator
from types import ModuleType

from ._types import Passage
from .folder import split_paragraphs

# fmt: off
MODULES = (
    "builtins", "abc", "argparse", "array", "asyncio", "base64", "bisect", "calendar", "collections",
    "concurrent.futures", "configparser", "contextlib", "copy", "csv", "dataclasses", "datetime",
    "decimal", "difflib", "enum", "fnmatch", "fractions", "functools", "glob", "gzip", "hashlib", "heapq",
    "hmac", "html", "io", "ipaddress", "itertools", "json", "logging", "math", "operator", "os", "os.path",
    "pathlib", "pickle", "pprint", "queue", "random", "re", "secrets", "shlex", "shutil", "socket",
    "sqlite3", "statistics", "string", "struct", "subprocess", "tempfile", "textwrap", "threading", "time",
    "timeit", "tomllib", "traceback", "typing", "unicodedata", "unittest", "urllib.parse", "uuid",
    "warnings", "weakref", "zipfile", "zlib", "zoneinfo",
)
# fmt: on
"""The standard-library modules whose docstrings are indexed."""

# A reST-style heading in the topic texts: a line of text underlined with one repeated character.
_UNDERLINE = re.compile(r"^([=\-~*^\"])\1{2,}\s*$")


KEYWORDS = tuple(sorted({word.lower() for word in (*keyword.kwlist, *keyword.softkwlist)}))
"""Python's keywords: stop words in English (`with`, `if`, `in`), the subject of questions here."""


def pydoc_version() -> str:
    """What the collection is built from: the running Python (its docs change with it)."""
    return f"python {platform.python_version()}"


def _topic_sections(text: str) -> Iterator[tuple[str, str]]:
    """(heading, body) pieces of a topic text; the first heading is the topic's title."""
    lines = text.splitlines()
    heading, body = "", list[str]()
    index = 0
    while index < len(lines):
        line = lines[index]
        following = lines[index + 1] if index + 1 < len(lines) else ""
        if line.strip() and _UNDERLINE.match(following) and len(following.strip()) >= len(line.strip()) - 2:
            if any(part.strip() for part in body):
                yield heading, "\n".join(body)
            heading, body = line.strip(), []
            index += 2
            continue
        body.append(line)
        index += 1
    if any(part.strip() for part in body):
        yield heading, "\n".join(body)


def topic_passages() -> Iterator[Passage]:
    """The language-reference topics, one passage per sub-section piece."""
    from pydoc_data.topics import topics

    for key in sorted(topics):
        sections = list(_topic_sections(topics[key]))
        title = next((heading for heading, _ in sections if heading), key)
        for heading, body in sections:
            section = heading if heading and heading != title else ""
            for part, chunk in enumerate(split_paragraphs(body)):
                location = f"pydoc:topic/{key}" + (f"#{section}" if section else "")
                yield Passage(
                    title=f"{title} — {section}" if section else title,
                    section=section or title,
                    location=location + (f" ({part + 1})" if part else ""),
                    text=chunk,
                )


def _signature(name: str, obj: object) -> str:
    try:
        return f"{name}{inspect.signature(obj)}"  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return name


def _documented(name: str, obj: object) -> Iterator[Passage]:
    doc = inspect.getdoc(obj)
    if not doc:
        return
    text = f"{_signature(name, obj)}\n\n{doc}" if callable(obj) else doc
    for part, chunk in enumerate(split_paragraphs(text)):
        yield Passage(
            title=name,
            section=name,
            location=f"pydoc:{name}" + (f" ({part + 1})" if part else ""),
            text=chunk,
        )


def _public_members(module: ModuleType) -> Iterator[tuple[str, object]]:
    names = getattr(module, "__all__", None) or [n for n in vars(module) if not n.startswith("_")]
    home = module.__name__.split(".")[0]
    for name in sorted(set(names)):
        obj = getattr(module, name, None)
        if not (inspect.isclass(obj) or inspect.isroutine(obj)):
            continue
        # Only what the module defines: `from os import path`-style re-exports are documented where they live.
        if (getattr(obj, "__module__", None) or "").split(".")[0] not in (
            home,
            f"_{home}",
        ) and module.__name__ != "os.path":
            continue
        yield name, obj


def module_passages(name: str) -> Iterator[Passage]:
    """The docstrings of module `name`: the module's, its public functions' and classes', their methods'."""
    module = importlib.import_module(name)
    if name != "builtins":
        yield from _documented(name, module)
    prefix = "" if name == "builtins" else f"{name}."
    for member, obj in _public_members(module):
        yield from _documented(prefix + member, obj)
        if inspect.isclass(obj):
            for method, value in sorted(vars(obj).items()):
                if not method.startswith("_") and (inspect.isroutine(value) or isinstance(value, property)):
                    yield from _documented(f"{prefix}{member}.{method}", getattr(obj, method, value))


def pydoc_passages() -> Iterator[Passage]:
    """Every passage of the collection, in a stable order."""
    yield from topic_passages()
    for name in MODULES:
        yield from module_passages(name)
