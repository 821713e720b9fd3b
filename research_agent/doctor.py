"""`deep-research doctor`: what the configuration can do, checked part by part, and what to fix.

Each part a run depends on (settings, database, workers, each role's model, the search backend, the trace
destination) gets one `Check` with an outcome and, when something is wrong, the fix in words. By default
nothing leaves the machine: keys are checked for presence, addresses for form, the database by opening it.
`online=True` adds one cheap request per configured service (a models list, one search, a TCP connect), so
a refused key or a model the server does not serve shows here instead of in the middle of a run.

Only what is *configured* and broken is a failure: a newcomer with no keys gets warnings (runs go offline),
not a failing exit code. What a server answers is untrusted: its messages are cut short before they are
shown, and no key ever appears in a check.
"""

from __future__ import annotations

import os
import socket
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .database import check_database, redacted_url, sqlite_path
from .options import InputError, resolve_options
from .providers import PROVIDERS, ModelConfigError, missing_key, split_model_id
from .settings import Settings, env_file_warning

_MAX_DETAIL = 300
"""Characters of a server's own message kept in a check: enough to read it, too few to flood a terminal."""
_LISTED = 8
"""Models named when a configured one is not among those a server lists."""
OTLP_VARIABLES = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")


class Outcome(StrEnum):
    OK = "ok"
    WARN = "warn"
    """Works, but probably not as meant (runs go offline, no worker yet): never fails the exit code."""
    FAIL = "fail"
    """Configured and broken: a run would fail or never start."""
    SKIPPED = "skipped"
    """Not checked: it depends on a part that failed, or checking it needs `--online`."""


@dataclass(frozen=True)
class Check:
    """One part of the configuration and what was found."""

    area: str
    name: str
    outcome: Outcome
    detail: str
    fix: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "outcome": self.outcome.value}


def failed(checks: Iterable[Check]) -> bool:
    """Whether any check found something configured and broken (the CLI's exit code 1)."""
    return any(check.outcome is Outcome.FAIL for check in checks)


def _short(text: object) -> str:
    """A server's or library's message on one line, bounded."""
    line = " ".join(str(text).split())
    return line if len(line) <= _MAX_DETAIL else line[: _MAX_DETAIL - 1] + "…"


# --- the parts -------------------------------------------------------------------------------------------


def diagnose(settings: Settings, *, online: bool = False, timeout: float = 10.0) -> list[Check]:
    """Every check, in the order a person fixes things: settings, database, workers, models, search, traces."""
    checks = [*_settings_checks(settings)]
    database = _database_check(settings)
    checks.append(database)
    checks.append(_worker_check(settings) if database.outcome is not Outcome.FAIL else _after_database())
    checks.extend(_model_checks(settings, online=online, timeout=timeout))
    checks.extend(_search_checks(settings, online=online, timeout=timeout))
    checks.extend(_telemetry_checks(settings, online=online, timeout=timeout))
    return checks


def configuration_problems(settings: Settings) -> list[Check]:
    """The offline checks that fail: what the UI's banner shows beside the mode (no network, no workers)."""
    checks = [*_settings_checks(settings), _database_check(settings)]
    checks.extend(_model_checks(settings, online=False, timeout=0))
    checks.extend(_search_checks(settings, online=False, timeout=0))
    checks.extend(_telemetry_checks(settings, online=False, timeout=0))
    return [check for check in checks if check.outcome is Outcome.FAIL]


def _settings_checks(settings: Settings) -> list[Check]:
    checks = []
    warning = env_file_warning(settings)
    if warning:
        checks.append(Check("settings", ".env", Outcome.WARN, _short(warning)))
    if settings.faults_enabled:
        checks.append(
            Check(
                "settings",
                "fault injection",
                Outcome.WARN,
                f"faults are injected into model requests: {settings.fault_summary()}",
                "unset the RESEARCH_FAULT_RATE_* variables for real runs",
            )
        )
    return checks


def _database_check(settings: Settings) -> Check:
    where = redacted_url(settings.database_url)
    path = sqlite_path(settings.database_url)
    if path is not None:
        return _sqlite_check(path)
    try:
        check_database(settings)
    except Exception as error:  # the database module's messages already name the fix
        return Check("database", "postgres", Outcome.FAIL, _short(error), "fix RESEARCH_DATABASE_URL")
    return Check("database", "postgres", Outcome.OK, f"{where}: reachable, DBOS's tables can be created")


def _sqlite_check(path: Path) -> Check:
    """Open an existing file read-only, or check that its folder is writable: a check creates nothing."""
    if path.exists():
        try:
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as connection:
                connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.Error as error:
            return Check(
                "database",
                "sqlite",
                Outcome.FAIL,
                f"{path}: {_short(error)}",
                "point RESEARCH_DATABASE_URL at a SQLite file this user can read and write",
            )
        return Check("database", "sqlite", Outcome.OK, f"{path}: opens")
    folder = next((parent for parent in path.parents if parent.exists()), None)
    if folder is None or not folder.is_dir() or not _writable(folder):
        return Check(
            "database",
            "sqlite",
            Outcome.FAIL,
            f"{path} does not exist and cannot be created under {folder}",
            "choose a folder this user can write (RESEARCH_DATA_DIR or RESEARCH_DATABASE_URL)",
        )
    return Check("database", "sqlite", Outcome.OK, f"{path}: created by the first worker or run")


def _writable(folder: Path) -> bool:
    return os.access(folder, os.W_OK | os.X_OK)


_START_WORKER = "start one with: deep-research worker (or let `run` execute in its own process)"


def _after_database() -> Check:
    return Check("database", "workers", Outcome.SKIPPED, "the database cannot be reached")


def _worker_check(settings: Settings) -> Check:
    path = sqlite_path(settings.database_url)
    if path is not None and not path.exists():
        return Check("database", "workers", Outcome.WARN, "no worker has started here yet", _START_WORKER)
    from .client import ResearchClient

    try:
        with ResearchClient(settings) as client:
            alive = [executor.executor_id for executor in client.executors() if executor.alive]
    except Exception as error:  # a database the client cannot read yet (no tables) is not a worker problem
        return Check("database", "workers", Outcome.SKIPPED, f"cannot list workers: {_short(error)}")
    if alive:
        return Check("database", "workers", Outcome.OK, f"{len(alive)} alive: {', '.join(alive)}")
    return Check(
        "database",
        "workers",
        Outcome.WARN,
        "no worker is running: runs submitted with `submit --no-wait` wait in the queue",
        _START_WORKER,
    )


# --- models ----------------------------------------------------------------------------------------------

ROLES = (("planner", "planner_model"), ("search", "search_model"), ("analyst", "analyst_model"))


def _model_checks(settings: Settings, *, online: bool, timeout: float) -> list[Check]:
    if settings.offline:
        return [
            Check("models", "all roles", Outcome.OK, "offline by setting (RESEARCH_OFFLINE): built-in models")
        ]
    checks = []
    usable = []
    for role, setting in ROLES:
        model_id: str = getattr(settings, setting)
        variable = f"RESEARCH_{setting.upper()}"
        try:
            split_model_id(model_id)
            missing = missing_key(model_id, settings)
        except ModelConfigError as error:
            known = ", ".join(sorted(PROVIDERS))
            fix = f"set {variable} to provider:model, the provider one of: {known}"
            checks.append(Check("models", role, Outcome.FAIL, _short(error), fix))
            continue
        if missing:
            outcome = Outcome.WARN if settings.offline is None else Outcome.FAIL
            detail = f"{model_id} needs {missing}" + (
                ": runs go offline (built-in models)" if settings.offline is None else ""
            )
            checks.append(Check("models", role, outcome, detail, f"set {missing} in the environment or .env"))
            continue
        usable.append((role, model_id))
    listed: dict[str, Callable[[], list[str]]] = {}
    for role, model_id in usable:
        if not online:
            checks.append(
                Check("models", role, Outcome.OK, f"{model_id}: key set (not called; --online calls)")
            )
            continue
        provider, name = split_model_id(model_id)
        lister = listed.setdefault(provider, _cached(_model_lister(provider, settings, timeout)))
        checks.append(_served(role, model_id, name, provider, lister, settings))
    return checks


def _cached(function: Callable[[], list[str]]) -> Callable[[], list[str]]:
    """One models-list request per provider, however many roles use it; an error is raised to each."""
    result: list[list[str]] = []
    error: list[BaseException] = []

    def call() -> list[str]:
        if error:
            raise error[0]
        if not result:
            try:
                result.append(function())
            except Exception as raised:
                error.append(raised)
                raise
        return result[0]

    return call


def _served(
    role: str, model_id: str, name: str, provider: str, lister: Callable[[], list[str]], settings: Settings
) -> Check:
    where = _provider_address(provider, settings)
    try:
        served = lister()
    except Exception as error:
        detail, fix = _provider_failure(provider, error, where, settings)
        return Check("models", role, Outcome.FAIL, f"{model_id}: {detail}", fix)
    if _is_served(name, served):
        return Check("models", role, Outcome.OK, f"{model_id}: key accepted, model served by {where}")
    shown = ", ".join(served[:_LISTED]) + (
        f" and {len(served) - _LISTED} more" if len(served) > _LISTED else ""
    )
    variable = f"RESEARCH_{dict(ROLES)[role].upper()}"
    if provider == "openai" and settings.openai_base_url:
        # A local server (Ollama, vLLM, llama.cpp) answers only for the models it has loaded or pulled.
        return Check(
            "models",
            role,
            Outcome.FAIL,
            _short(f"{model_id}: {where} does not serve {name!r}; it serves: {shown or 'nothing'}"),
            f"pull or load the model on that server, or set {variable} to one it serves",
        )
    return Check(
        "models",
        role,
        Outcome.WARN,
        _short(f"{model_id}: the key works but {name!r} is not in {where}'s models list ({shown})"),
        f"check the model name in {variable} (an alias may still work)",
    )


def _is_served(name: str, served: list[str]) -> bool:
    """Anthropic lists dated ids (claude-sonnet-4-5-20250929) for an alias; Gemini prefixes `models/`."""
    return any(
        listed == name or listed == f"models/{name}" or listed.startswith(f"{name}-") for listed in served
    )


def _provider_address(provider: str, settings: Settings) -> str:
    if provider == "anthropic":
        return os.environ.get("ANTHROPIC_BASE_URL") or "https://api.anthropic.com"
    if provider == "openai":
        return settings.openai_base_url or os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1"
    return os.environ.get("GOOGLE_GEMINI_BASE_URL") or "https://generativelanguage.googleapis.com"


def _model_lister(provider: str, settings: Settings, timeout: float) -> Callable[[], list[str]]:
    """A call that lists the models `provider` serves for the configured key, through the provider's SDK
    (so its base-URL variables and headers are the ones the runs use), with no retries."""
    key = settings.secret(PROVIDERS[provider].setting)
    if provider == "anthropic":

        def anthropic_models() -> list[str]:
            from anthropic import Anthropic

            with Anthropic(api_key=key, max_retries=0, timeout=timeout) as client:
                return [model.id for model in client.models.list(limit=1000)]

        return anthropic_models
    if provider == "openai":

        def openai_models() -> list[str]:
            from openai import OpenAI

            with OpenAI(
                api_key=key or "not-needed", base_url=settings.openai_base_url, max_retries=0, timeout=timeout
            ) as client:
                return [model.id for model in client.models.list()]

        return openai_models

    def gemini_models() -> list[str]:
        from google.genai import Client
        from google.genai.types import HttpOptions

        client = Client(api_key=key, http_options=HttpOptions(timeout=int(timeout * 1000)))
        return [model.name or "" for model in client.models.list(config={"page_size": 1000})]

    return gemini_models


def _provider_failure(provider: str, error: BaseException, where: str, settings: Settings) -> tuple[str, str]:
    """What went wrong in words, and the fix, for an SDK's error (never the key itself)."""
    variable = PROVIDERS[provider].variable
    status = _status_code(error)
    message = _short(_error_message(error))
    if status in (401, 403) or (status == 400 and "key" in message.lower()):
        return f"{where} refused the key ({status}: {message})", f"check {variable}"
    if status is not None:
        return f"{where} answered {status}: {message}", "try again later, or check the provider's status page"
    # The address is the one to check when it was set (a proxy, a local server); the network otherwise.
    address_variable = _BASE_URL_VARIABLES[provider]
    address_set = settings.openai_base_url if provider == "openai" else os.environ.get(address_variable)
    fix = f"check {address_variable}" if address_set else "check the network"
    return f"cannot reach {where}: {message or type(error).__name__}", fix


_BASE_URL_VARIABLES = {
    "anthropic": "ANTHROPIC_BASE_URL",
    "openai": "OPENAI_BASE_URL",
    "google-gla": "GOOGLE_GEMINI_BASE_URL",
    "google": "GOOGLE_GEMINI_BASE_URL",
    "gemini": "GOOGLE_GEMINI_BASE_URL",
}
"""The variable each provider's SDK reads its address from (`_provider_address` shows the same)."""


def _error_message(error: BaseException) -> object:
    """The service's own words: the SDKs keep the decoded error body (`{"error": {"message": ...}}`)."""
    body = getattr(error, "body", None)
    inner = body.get("error", body) if isinstance(body, dict) else None
    if isinstance(inner, dict) and inner.get("message"):
        return inner["message"]
    return getattr(error, "message", None) or error


def _status_code(error: BaseException) -> int | None:
    for attribute in ("status_code", "code"):
        value = getattr(error, attribute, None)
        if isinstance(value, int):
            return value
    return None


# --- search ----------------------------------------------------------------------------------------------


def _search_checks(settings: Settings, *, online: bool, timeout: float) -> list[Check]:
    try:
        options, _ = resolve_options(settings)
    except InputError as error:
        if isinstance(error.__cause__, ModelConfigError):  # reported with the models
            detail = "the backend a run uses depends on the models, which are misconfigured (see models)"
            return [Check("search", settings.search_backend, Outcome.SKIPPED, detail)]
        return [Check("search", settings.search_backend, Outcome.FAIL, _short(error))]
    backend = options.search_backend
    if backend == "corpus":
        return [
            Check(
                "search",
                backend,
                Outcome.OK,
                f"local corpus {options.corpus!r} (indexes in {settings.indexes})",
            )
        ]
    if backend == "builtin":
        return [
            Check(
                "search", backend, Outcome.OK, f"the search model's own web search ({options.search_model})"
            )
        ]
    if backend == "duckduckgo":
        return [Check("search", backend, Outcome.OK, "no key needed (not called: it has no cheap check)")]
    if not online:
        return [Check("search", backend, Outcome.OK, "configured (not called; --online calls it)")]
    if backend == "searxng":
        return [_searxng_check(settings, timeout)]
    return [_tavily_check(settings, timeout)]


def _searxng_check(settings: Settings, timeout: float) -> Check:
    import httpx

    url = f"{(settings.searxng_url or '').rstrip('/')}/search"
    where = redacted_url(settings.searxng_url or "")
    try:
        response = httpx.get(url, params={"q": "deep-research doctor", "format": "json"}, timeout=timeout)
    except httpx.HTTPError as error:
        return Check(
            "search",
            "searxng",
            Outcome.FAIL,
            f"cannot reach {where}: {_short(error)}",
            "check RESEARCH_SEARXNG_URL",
        )
    if response.status_code == 403:
        return Check(
            "search",
            "searxng",
            Outcome.FAIL,
            f"{where} refused JSON output (403)",
            "add `json` under search.formats in the instance's settings.yml",
        )
    if response.status_code != 200:
        return Check(
            "search",
            "searxng",
            Outcome.FAIL,
            f"{where} answered {response.status_code}: {_short(response.text)}",
            "try again later, or check the instance's logs"
            if response.status_code >= 500
            else "check RESEARCH_SEARXNG_URL (the instance's address, without /search)",
        )
    try:
        results = response.json().get("results", [])
    except ValueError:
        return Check(
            "search", "searxng", Outcome.FAIL, f"{where} did not answer JSON", "check RESEARCH_SEARXNG_URL"
        )
    return Check("search", "searxng", Outcome.OK, f"{where}: answered with {len(results)} results")


def _tavily_check(settings: Settings, timeout: float) -> Check:
    """One search of one result: Tavily has no free call, so this costs a single credit."""
    import httpx

    where = redacted_url(settings.tavily_url)
    try:
        response = httpx.post(
            f"{settings.tavily_url.rstrip('/')}/search",
            json={"query": "deep-research doctor", "max_results": 1},
            headers={"Authorization": f"Bearer {settings.secret('tavily_api_key')}"},
            timeout=timeout,
        )
    except httpx.HTTPError as error:
        return Check(
            "search",
            "tavily",
            Outcome.FAIL,
            f"cannot reach {where}: {_short(error)}",
            "check the network and RESEARCH_TAVILY_URL",
        )
    if response.status_code in (401, 403):
        return Check(
            "search",
            "tavily",
            Outcome.FAIL,
            f"{where} refused the key ({response.status_code})",
            "check TAVILY_API_KEY",
        )
    if response.status_code != 200:
        return Check(
            "search",
            "tavily",
            Outcome.FAIL,
            f"{where} answered {response.status_code}: {_short(response.text)}",
            "try again later, or check Tavily's status page"
            if response.status_code == 429 or response.status_code >= 500
            else "check the key's plan and credits at app.tavily.com, and RESEARCH_TAVILY_URL",
        )
    return Check("search", "tavily", Outcome.OK, f"{where}: key accepted (one search, one credit)")


# --- traces ----------------------------------------------------------------------------------------------


def _telemetry_checks(settings: Settings, *, online: bool, timeout: float) -> list[Check]:
    checks = []
    if settings.logfire_token:
        checks.append(Check("traces", "logfire", Outcome.OK, "LOGFIRE_TOKEN set: spans go to Logfire"))
    for variable in OTLP_VARIABLES:
        endpoint = os.environ.get(variable, "").strip()
        if endpoint:
            checks.append(_otlp_check(variable, endpoint, online=online, timeout=timeout))
            break
    if not checks:
        checks.append(
            Check("traces", "destination", Outcome.OK, "none configured: spans are not sent anywhere")
        )
    return checks


def _otlp_check(variable: str, endpoint: str, *, online: bool, timeout: float) -> Check:
    parts = urlsplit(endpoint)
    shown = redacted_url(endpoint)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        port = None
    if parts.scheme not in ("http", "https") or not parts.hostname or port is None:
        return Check(
            "traces",
            "otlp",
            Outcome.FAIL,
            f"{variable}={shown} is not an http(s) address",
            f"set {variable} to e.g. http://localhost:4318",
        )
    if not online:
        return Check("traces", "otlp", Outcome.OK, f"{shown} (not called; --online connects)")
    try:
        with socket.create_connection((parts.hostname, port), timeout=timeout):
            pass
    except OSError as error:
        return Check(
            "traces",
            "otlp",
            Outcome.FAIL,
            f"nothing answers at {shown}: {_short(error)}",
            f"start the collector or fix {variable}",
        )
    return Check("traces", "otlp", Outcome.OK, f"{shown}: a collector answers")


__all__ = ["Check", "Outcome", "configuration_problems", "diagnose", "failed"]
