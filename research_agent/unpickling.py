"""Reading what DBOS stored without letting the database run code.

DBOS pickles a workflow's inputs, its output, every step's result, every event and every error, and reads
them back with `pickle.loads`. A pickle can name any function to call, so whoever can write the SQLite
file or the shared Postgres could run code in every worker, CLI and UI that reads a run. `loads` here
builds only what deep-research and its libraries store: containers and a few value types (datetimes,
decimals, UUIDs), the models, dataclasses and enums of the modules whose values end up in a run, and
exceptions. Anything else (a function such as `os.system`, a class from elsewhere) is refused with
`RefusedRecord`, which names what the row asked for; nothing it names is imported or called.

Why an allow-list by module rather than by class: a run stores whatever pydantic-ai's message types
hold, and those grow with every release; every class in the listed modules is a plain value whose
constructor only checks and stores its fields. Modules outside the list are never imported on a row's
say-so, so importing cannot be the attack either.
"""

from __future__ import annotations

import dataclasses
import io
import pickle
from enum import Enum
from typing import Any

from pydantic import BaseModel

THREAT_MODEL = "docs/operations.md#who-is-trusted"
"""Where the docs say who must be able to write the database."""

VALUE_TYPES: frozenset[tuple[str, str]] = frozenset(
    {
        ("builtins", "set"),
        ("builtins", "frozenset"),
        ("builtins", "bytearray"),
        ("builtins", "complex"),
        ("builtins", "range"),
        ("builtins", "slice"),
        ("datetime", "datetime"),
        ("datetime", "date"),
        ("datetime", "time"),
        ("datetime", "timedelta"),
        ("datetime", "timezone"),
        ("decimal", "Decimal"),
        ("uuid", "UUID"),
        ("collections", "OrderedDict"),
        ("collections", "deque"),
        ("pathlib", "PurePosixPath"),
        ("pathlib", "PosixPath"),
        ("zoneinfo", "ZoneInfo"),
        # What `DBOS.list_workflows` returns inside a workflow, recorded as that step's output.
        ("dbos._sys_db", "WorkflowStatus"),
    }
)
"""Types outside the listed modules that a stored run may hold: each builds a value and nothing else."""

VALUE_MODULES: tuple[str, ...] = (
    "research_agent",
    "pydantic_ai.messages",
    "pydantic_ai.usage",
    "pydantic_ai.exceptions",
)
"""Modules (and their submodules) whose models, dataclasses, enums and exceptions a run may store."""

EXCEPTION_MODULES: tuple[str, ...] = (
    "builtins",
    "asyncio",
    "concurrent",
    "socket",
    "ssl",
    "json",
    "sqlite3",
    "dbos",
    "pydantic",
    "pydantic_core",
    "pydantic_ai",
    "httpx",
    "httpcore",
    "openai",
    "anthropic",
    "google",
    "sqlalchemy",
    "psycopg",
)
"""Modules whose exceptions a failed step or workflow may store as its error.

An exception's constructor only records its arguments; the list keeps a row from importing anything
else on its say-so.
"""


class RefusedRecord(pickle.UnpicklingError):
    """A stored value asked for something deep-research never stores: it is not built, and nothing it names runs."""

    def __init__(self, module: str, name: str, why: str) -> None:
        self.module = module
        self.name = name
        self.why = why
        super().__init__(
            f"refused to load {module}.{name} from the database ({why}): deep-research reads back only the "
            f"types it stores, so this row was written by someone else; see {THREAT_MODEL}"
        )

    def __reduce__(self) -> tuple[type[RefusedRecord], tuple[str, str, str]]:
        # A worker stores the error of a workflow it refused to start; it must read back as itself.
        return type(self), (self.module, self.name, self.why)


def loads(data: bytes) -> Any:
    """`pickle.loads` that builds only the values a run stores; `RefusedRecord` for anything else."""
    return _Unpickler(io.BytesIO(data)).load()


def _within(module: str, packages: tuple[str, ...]) -> bool:
    return any(module == package or module.startswith(package + ".") for package in packages)


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in VALUE_TYPES:
            return super().find_class(module, name)
        if "__main__" in module.split("."):
            raise RefusedRecord(module, name, "a program, not a module of values")
        if not (_within(module, VALUE_MODULES) or _within(module, EXCEPTION_MODULES)):
            raise RefusedRecord(module, name, "not a module whose values a run stores")
        try:
            found = super().find_class(module, name)
        except (ImportError, AttributeError) as error:
            raise RefusedRecord(module, name, f"no such class here: {error}") from None
        if why := _refusal(found, module):
            raise RefusedRecord(module, name, why)
        return found


def _refusal(found: object, module: str) -> str | None:
    """Why `found` (from `module`) may not be built from a stored row, or None when it may."""
    if not isinstance(found, type):
        return "not a class"
    if issubclass(found, BaseException):
        return None
    if not _within(module, VALUE_MODULES):
        return "only exceptions are read from this module"
    if issubclass(found, (Enum, BaseModel)) or dataclasses.is_dataclass(found):
        return None
    return "not a model, dataclass, enum or exception"
