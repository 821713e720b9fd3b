"""Shared fixtures: isolated settings, a shared Factbook index, SQLite and Postgres databases, workers."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import pytest

from research_agent.settings import Settings, get_settings

from ._postgres import PostgresUnavailable, throwaway_database
from ._process import kill_all, settings_from_env

POSTGRES_ADMIN_URL = os.environ.get(
    "RESEARCH_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
_ON_CI = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")
REQUIRED = (
    {name.strip() for name in os.environ["RESEARCH_TEST_REQUIRE"].split(",") if name.strip()}
    if "RESEARCH_TEST_REQUIRE" in os.environ
    else ({"postgres", "browser"} if _ON_CI else set())
)
"""Kinds of tests this machine must run rather than skip: RESEARCH_TEST_REQUIRE (e.g. `postgres,browser`;
empty for none), else both under CI. Read at import: `isolated_env` clears RESEARCH_* during each test."""
# No developer's .env (the checkout's, the config directory's) for fixtures wider than one test either:
# `isolated_env` sets this again for each test and its subprocesses.
os.environ["RESEARCH_ENV_FILE"] = os.devnull
_KEY_VARIABLES = (
    "ANTHROPIC_API_KEY",
    "GOOGLE_API_KEY",
    "GEMINI_API_KEY",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "TAVILY_API_KEY",
    "LOGFIRE_TOKEN",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
    "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
)


@pytest.fixture(scope="session")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled indexes (Factbook, pydoc), built once for the whole session (it takes a few seconds)."""
    from research_agent.corpus import BUNDLED, open_collection

    directory = tmp_path_factory.mktemp("indexes")
    for name in BUNDLED:
        open_collection(name, directory)
    return directory


@pytest.fixture(autouse=True)
def isolated_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, index_dir: Path
) -> Iterator[dict[str, str]]:
    """No real keys or telemetry endpoints, no user .env, a private data dir; returns the variables to give subprocesses."""
    for name in list(os.environ):
        if name.startswith("RESEARCH_") or name in _KEY_VARIABLES:
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    env = {
        # No developer's .env (the checkout's, the config directory's), in this process or a subprocess.
        "RESEARCH_ENV_FILE": os.devnull,
        "RESEARCH_DATA_DIR": str(tmp_path / "data"),
        "RESEARCH_INDEX_DIR": str(index_dir),
        "RESEARCH_QUEUE_POLL_INTERVAL": "0.05",
    }
    # Also in this process's environment, for what reads its settings from there as a user's would: the
    # CLI and the UI run in process (CliRunner, AppTest). Everything else is handed its Settings.
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield env
    get_settings.cache_clear()


def cannot_run(kind: str, reason: str) -> NoReturn:
    """Skip a test that cannot run here, or fail it where tests of its `kind` must run (see REQUIRED)."""
    if kind in REQUIRED:
        pytest.fail(
            f"{reason}; the {kind} tests must run on this machine (CI is set or RESEARCH_TEST_REQUIRE names "
            f"{kind}), so this is a failure, not a skip",
            pytrace=False,
        )
    pytest.skip(reason)


@contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh Postgres database (tests/_postgres.py) at RESEARCH_TEST_POSTGRES_URL's server; without one
    the test is skipped, or fails where Postgres tests must run."""
    unavailable: PostgresUnavailable | None = None
    try:
        with throwaway_database(POSTGRES_ADMIN_URL, "research_test", "RESEARCH_TEST_POSTGRES_URL") as url:
            yield url
    except PostgresUnavailable as error:
        unavailable = error  # reported outside the handler, so a failure shows no chained traceback
    if unavailable is not None:
        cannot_run("postgres", str(unavailable))


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty Postgres database."""
    with postgres_database() as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database of each kind."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'research.sqlite'}"
    else:
        with postgres_database() as url:
            yield url


@pytest.fixture
def settings(database_url: str, isolated_env: dict[str, str]) -> Settings:
    """The settings of an in-process worker or client: the database, the private data dir, the shared
    indexes. Built directly, not read from the environment (a subprocess is given `isolated_env`)."""
    return settings_from_env({**isolated_env, "RESEARCH_DATABASE_URL": database_url})


@pytest.fixture
def crash_env(isolated_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """Worker variables for crash tests: a SQLite file, offline models paced at 0.4 s, an execution log."""
    return {
        **isolated_env,
        "RESEARCH_DATABASE_URL": f"sqlite:///{tmp_path / 'crash.sqlite'}",
        "RESEARCH_OFFLINE": "true",
        "RESEARCH_OFFLINE_DELAY": "0.4",
        "RESEARCH_EXECUTION_LOG": str(tmp_path / "executions.jsonl"),
    }


@pytest.fixture
def workers() -> Iterator[list[subprocess.Popen[str]]]:
    """Worker subprocesses a test starts (append them); any still alive are killed afterwards."""
    started: list[subprocess.Popen[str]] = []
    yield started
    kill_all(started)
