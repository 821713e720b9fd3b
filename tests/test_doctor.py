"""`deep-research doctor`: each failure it reports, offline and against local stand-ins of the services.

The online checks go through the providers' real SDKs, pointed at stand-ins on 127.0.0.1 by the variables
the SDKs honour (ANTHROPIC_BASE_URL, GOOGLE_GEMINI_BASE_URL, OPENAI_BASE_URL), answering in the services'
own formats: a models list, an error object, a closed port.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from research_agent.doctor import Check, Outcome, configuration_problems, diagnose, failed
from research_agent.settings import Settings, get_settings

from ._provider_standins import Canned, StandIn, anthropic_error, gemini_error, html_reply, json_reply

ANTHROPIC_KEY = "sk-ant-doctor-secret-1"
GOOGLE_KEY = "AIza-doctor-secret-2"
OPENAI_KEY = "sk-doctor-secret-3"
SECRETS = (ANTHROPIC_KEY, GOOGLE_KEY, OPENAI_KEY)


def _settings(monkeypatch: pytest.MonkeyPatch, **env: str) -> Settings:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    return get_settings()


def _only(checks: list[Check], area: str, name: str | None = None) -> list[Check]:
    return [check for check in checks if check.area == area and (name is None or check.name == name)]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _anthropic_models(*ids: str) -> Any:
    return json_reply(
        {
            "data": [
                {"created_at": "2025-09-29T00:00:00Z", "display_name": id_, "id": id_, "type": "model"}
                for id_ in ids
            ],
            "first_id": ids[0] if ids else None,
            "has_more": False,
            "last_id": ids[-1] if ids else None,
        }
    )


def _gemini_models(*names: str) -> Any:
    return json_reply(
        {
            "models": [
                {
                    "name": f"models/{name}",
                    "displayName": name,
                    "supportedGenerationMethods": ["generateContent", "countTokens"],
                }
                for name in names
            ]
        }
    )


def _openai_models(*ids: str) -> Any:
    return json_reply(
        {
            "object": "list",
            "data": [{"id": id_, "object": "model", "created": 0, "owned_by": "library"} for id_ in ids],
        }
    )


@pytest.fixture(autouse=True)
def no_real_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every provider's SDK points at a closed port on 127.0.0.1 unless a test points it at a stand-in: a
    check that calls a provider nobody meant it to fails here instead of reaching the real service."""
    closed = f"http://127.0.0.1:{_closed_port()}"
    monkeypatch.setenv("ANTHROPIC_BASE_URL", closed)
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", closed)
    monkeypatch.setenv("OPENAI_BASE_URL", f"{closed}/v1")


@pytest.fixture
def standin() -> Iterator[StandIn]:
    with StandIn() as server:
        yield server


# --- offline ----------------------------------------------------------------------------------------------


def test_a_newcomer_without_keys_gets_warnings_and_exit_code_0(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _settings(monkeypatch)
    checks = diagnose(settings)
    assert not failed(checks)
    assert {check.outcome for check in _only(checks, "models")} == {Outcome.WARN}
    assert "runs go offline" in _only(checks, "models", "planner")[0].detail
    assert _only(checks, "search")[0].outcome is Outcome.OK
    # Checking creates nothing: the SQLite file is left for the first worker.
    assert "created by the first worker" in _only(checks, "database", "sqlite")[0].detail
    assert not (Path(settings.data_dir) / "research.sqlite").exists()

    result = CliRunner().invoke(_app(), ["doctor"])
    assert result.exit_code == 0, result.output
    assert "0 broken" in result.stdout


def test_keys_missing_for_a_run_set_online_fail_each_role(monkeypatch: pytest.MonkeyPatch) -> None:
    checks = diagnose(_settings(monkeypatch, RESEARCH_OFFLINE="false"))
    models = _only(checks, "models")
    assert [check.outcome for check in models] == [Outcome.FAIL] * 3
    assert models[1].fix == "set GOOGLE_API_KEY in the environment or .env"
    result = CliRunner().invoke(_app(), ["doctor"])
    assert result.exit_code == 1
    assert "3 broken" in result.stdout


@pytest.mark.parametrize(
    "env",
    [{}, {"RESEARCH_OFFLINE": "false", "ANTHROPIC_API_KEY": ANTHROPIC_KEY, "GOOGLE_API_KEY": GOOGLE_KEY}],
    ids=["offline-auto-no-keys", "online-with-keys"],
)
def test_an_unknown_model_provider_is_one_failure_naming_the_variable_and_the_known_providers(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str]
) -> None:
    settings = _settings(monkeypatch, RESEARCH_PLANNER_MODEL="foo:bar", **env)
    checks = diagnose(settings)
    (broken,) = [check for check in checks if check.outcome is Outcome.FAIL]
    assert (broken.area, broken.name) == ("models", "planner")
    assert "unknown model provider 'foo' in 'foo:bar'" in broken.detail
    assert broken.fix == (
        "set RESEARCH_PLANNER_MODEL to provider:model, the provider one of: "
        "anthropic, gemini, google, google-gla, openai"
    )
    # Every other part is still checked; the search backend hangs on the models, so it waits for them.
    assert {check.area for check in checks} == {"database", "models", "search", "traces"}
    assert [check.name for check in _only(checks, "models")] == ["planner", "search", "analyst"]
    assert _only(checks, "search")[0].outcome is Outcome.SKIPPED
    # The UI's banner shows the same failure instead of raising.
    assert configuration_problems(settings) == [broken]

    result = CliRunner().invoke(_app(), ["doctor"])
    assert result.exit_code == 1, result.output
    assert "FAIL  models: planner" in result.stdout
    assert "database: sqlite" in result.stdout and "traces: destination" in result.stdout
    assert "1 broken" in result.stdout


def test_a_sqlite_file_that_is_not_a_database_fails(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    garbage = tmp_path / "notes.sqlite"
    garbage.write_text("these are not the pages of a database\n" * 200)
    checks = diagnose(_settings(monkeypatch, RESEARCH_DATABASE_URL=f"sqlite:///{garbage}"))
    (database,) = _only(checks, "database", "sqlite")
    assert database.outcome is Outcome.FAIL
    assert "not a database" in database.detail


def test_a_sqlite_path_under_a_file_cannot_be_created(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "a-file").write_text("x")
    url = f"sqlite:///{tmp_path / 'a-file' / 'research.sqlite'}"
    checks = diagnose(_settings(monkeypatch, RESEARCH_DATABASE_URL=url))
    (database,) = _only(checks, "database", "sqlite")
    assert database.outcome is Outcome.FAIL
    assert database.fix and "RESEARCH_DATABASE_URL" in database.fix
    assert _only(checks, "database", "workers")[0].outcome is Outcome.SKIPPED


def test_a_postgres_server_that_does_not_answer_fails_without_showing_the_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = f"postgresql://research:pg-pass-9@127.0.0.1:{_closed_port()}/research"
    checks = diagnose(_settings(monkeypatch, RESEARCH_DATABASE_URL=url))
    (database,) = _only(checks, "database", "postgres")
    assert database.outcome is Outcome.FAIL
    assert "RESEARCH_DATABASE_URL" in database.detail
    assert "pg-pass-9" not in json.dumps([check.to_json() for check in checks])


@pytest.mark.postgres
def test_a_reachable_postgres_database_is_fine(monkeypatch: pytest.MonkeyPatch, postgres_url: str) -> None:
    checks = diagnose(_settings(monkeypatch, RESEARCH_DATABASE_URL=postgres_url))
    assert _only(checks, "database", "postgres")[0].outcome is Outcome.OK


def test_a_search_backend_missing_its_setting_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    checks = diagnose(_settings(monkeypatch, RESEARCH_SEARCH_BACKEND="searxng"))
    (search,) = _only(checks, "search")
    assert search.outcome is Outcome.FAIL
    assert "RESEARCH_SEARXNG_URL" in search.detail


def test_an_otlp_endpoint_that_is_not_an_address_fails_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    checks = diagnose(_settings(monkeypatch, OTEL_EXPORTER_OTLP_ENDPOINT="localhost:4318"))
    (otlp,) = _only(checks, "traces", "otlp")
    assert otlp.outcome is Outcome.FAIL
    assert otlp.fix == "set OTEL_EXPORTER_OTLP_ENDPOINT to e.g. http://localhost:4318"
    # The UI's banner shows the same failures (offline checks only).
    assert [check.name for check in configuration_problems(get_settings())] == ["otlp"]


def test_fault_injection_left_on_is_flagged(monkeypatch: pytest.MonkeyPatch) -> None:
    checks = diagnose(_settings(monkeypatch, RESEARCH_FAULT_RATE_429="0.2"))
    (faults,) = _only(checks, "settings", "fault injection")
    assert faults.outcome is Outcome.WARN


# --- online, through the SDKs -----------------------------------------------------------------------------


def _online_models(monkeypatch: pytest.MonkeyPatch, standin: StandIn, **env: str) -> Settings:
    return _settings(
        monkeypatch,
        ANTHROPIC_API_KEY=ANTHROPIC_KEY,
        GOOGLE_API_KEY=GOOGLE_KEY,
        ANTHROPIC_BASE_URL=standin.url,
        GOOGLE_GEMINI_BASE_URL=standin.url,
        **env,
    )


def test_served_models_pass_with_one_models_list_per_provider(
    monkeypatch: pytest.MonkeyPatch, standin: StandIn
) -> None:
    standin.queue(
        _anthropic_models("claude-haiku-5-5-20260811", "claude-sonnet-5-5-20260811"), path="/v1/models"
    )
    standin.queue(_gemini_models("gemini-3.1-pro-preview", "gemini-3.8-flash"), path="/v1beta/models")
    checks = diagnose(_online_models(monkeypatch, standin), online=True)
    models = _only(checks, "models")
    assert [check.outcome for check in models] == [Outcome.OK] * 3, models
    assert standin.count("/v1/models") == 1  # planner and analyst share Anthropic's list
    assert standin.count("/v1beta/models") == 1
    anthropic_request = standin.received("/v1/models")[0]
    # The key the runs would use (this SDK sends it as a bearer token).
    assert f"Bearer {ANTHROPIC_KEY}" in anthropic_request.headers.values()


def test_a_refused_key_fails_and_is_never_shown(monkeypatch: pytest.MonkeyPatch, standin: StandIn) -> None:
    standin.queue(anthropic_error(401, "authentication_error", "invalid x-api-key"), path="/v1/models")
    standin.queue(
        gemini_error(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key."),
        path="/v1beta/models",
    )
    settings = _online_models(monkeypatch, standin)
    checks = diagnose(settings, online=True)
    planner, search, analyst = _only(checks, "models")
    assert planner.outcome is search.outcome is analyst.outcome is Outcome.FAIL
    assert "refused the key (401: invalid x-api-key)" in planner.detail
    assert planner.fix == "check ANTHROPIC_API_KEY"
    assert "refused the key (400" in search.detail and search.fix == "check GOOGLE_API_KEY"

    result = CliRunner().invoke(_app(), ["doctor", "--online", "--json"])
    assert result.exit_code == 1
    assert not any(secret in result.output for secret in SECRETS)
    assert {entry["outcome"] for entry in json.loads(result.stdout) if entry["area"] == "models"} == {"fail"}


def test_a_local_server_that_does_not_serve_the_model_names_those_it_serves(
    monkeypatch: pytest.MonkeyPatch, standin: StandIn
) -> None:
    standin.queue(_openai_models("llama3.2:3b", "nomic-embed-text:latest"), path="/v1/models")
    settings = _settings(
        monkeypatch,
        OPENAI_BASE_URL=f"{standin.url}/v1",
        RESEARCH_PLANNER_MODEL="openai:qwen3:8b",
        RESEARCH_SEARCH_MODEL="openai:llama3.2:3b",
        RESEARCH_ANALYST_MODEL="openai:qwen3:8b",
        RESEARCH_SEARCH_BACKEND="duckduckgo",
    )
    planner, search, analyst = _only(diagnose(settings, online=True), "models")
    assert planner.outcome is analyst.outcome is Outcome.FAIL
    assert "does not serve 'qwen3:8b'; it serves: llama3.2:3b, nomic-embed-text:latest" in planner.detail
    assert (
        planner.fix == "pull or load the model on that server, or set RESEARCH_PLANNER_MODEL to one it serves"
    )
    assert search.outcome is Outcome.OK


def test_a_local_server_that_is_down_fails_naming_the_address(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _settings(
        monkeypatch,
        OPENAI_BASE_URL=f"http://127.0.0.1:{_closed_port()}/v1",
        RESEARCH_PLANNER_MODEL="openai:qwen3:8b",
        RESEARCH_SEARCH_MODEL="openai:qwen3:8b",
        RESEARCH_ANALYST_MODEL="openai:qwen3:8b",
        RESEARCH_SEARCH_BACKEND="duckduckgo",
    )
    planner = _only(diagnose(settings, online=True, timeout=3), "models", "planner")[0]
    assert planner.outcome is Outcome.FAIL
    assert planner.detail.startswith("openai:qwen3:8b: cannot reach http://127.0.0.1:")
    assert planner.fix == "check OPENAI_BASE_URL"


def test_a_provider_answering_an_error_status_fails_with_its_words_after_one_request(
    monkeypatch: pytest.MonkeyPatch, standin: StandIn
) -> None:
    standin.queue(
        anthropic_error(
            429,
            "rate_limit_error",
            "This request would exceed the rate limit for your organization of 50 requests per minute.",
            headers={"retry-after": "30"},
        ),
        path="/v1/models",
    )
    standin.queue(gemini_error(500, "INTERNAL", "An internal error has occurred."), path="/v1beta/models")
    planner, search, analyst = _only(diagnose(_online_models(monkeypatch, standin), online=True), "models")
    assert planner.outcome is search.outcome is analyst.outcome is Outcome.FAIL
    assert planner.detail == (
        f"anthropic:claude-sonnet-5-5: {standin.url} answered 429: This request would exceed the rate limit "
        "for your organization of 50 requests per minute."
    )
    assert search.detail.endswith(f"{standin.url} answered 500: An internal error has occurred.")
    assert planner.fix == search.fix == "try again later, or check the provider's status page"
    # One cheap call per provider: doctor does not wait out a rate limit or retry a failure.
    assert standin.count("/v1/models") == 1 and standin.count("/v1beta/models") == 1


def test_anthropic_and_gemini_out_of_reach_fail_naming_their_address_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = _settings(monkeypatch, ANTHROPIC_API_KEY=ANTHROPIC_KEY, GOOGLE_API_KEY=GOOGLE_KEY)
    planner, search, analyst = _only(diagnose(settings, online=True, timeout=3), "models")
    assert planner.outcome is search.outcome is analyst.outcome is Outcome.FAIL
    for check, variable in ((planner, "ANTHROPIC_BASE_URL"), (search, "GOOGLE_GEMINI_BASE_URL")):
        address = os.environ[variable]
        assert f": cannot reach {address}: " in check.detail, check.detail
        assert check.fix == f"check {variable}"


def _down() -> str:
    return f"http://127.0.0.1:{_closed_port()}"


@pytest.mark.parametrize(
    ("answer", "detail", "fix"),
    [
        (None, "cannot reach {url}: ", "check RESEARCH_SEARXNG_URL"),
        (
            html_reply(b"<html><body><h1>502 Bad Gateway</h1></body></html>", status=502),
            "{url} answered 502: <html><body><h1>502 Bad Gateway</h1></body></html>",
            "try again later, or check the instance's logs",
        ),
        (
            html_reply(b"<!doctype html><title>404 Not Found</title><h1>Not Found</h1>", status=404),
            "{url} answered 404: ",
            "check RESEARCH_SEARXNG_URL (the instance's address, without /search)",
        ),
        (
            html_reply(b"<!DOCTYPE html><html><head><title>SearXNG</title></head><body></body></html>"),
            "{url} did not answer JSON",
            "check RESEARCH_SEARXNG_URL",
        ),
    ],
    ids=["unreachable", "502", "404", "html-not-json"],
)
def test_a_searxng_instance_that_cannot_answer_a_search_fails_naming_the_fix(
    monkeypatch: pytest.MonkeyPatch, standin: StandIn, answer: Canned | None, detail: str, fix: str
) -> None:
    if answer is not None:
        standin.queue(answer, path="/search")
    url = standin.url if answer is not None else _down()
    settings = _settings(monkeypatch, RESEARCH_SEARCH_BACKEND="searxng", RESEARCH_SEARXNG_URL=url)
    (searxng,) = _only(diagnose(settings, online=True, timeout=3), "search")
    assert searxng.outcome is Outcome.FAIL
    assert searxng.detail.startswith(detail.format(url=url)), searxng.detail
    assert searxng.fix == fix
    assert standin.count("/search") == (answer is not None)


@pytest.mark.parametrize(
    ("answer", "detail", "fix"),
    [
        (None, "cannot reach {url}: ", "check the network and RESEARCH_TAVILY_URL"),
        (
            json_reply({"detail": {"error": "Internal server error"}}, status=500),
            '{url} answered 500: {{"detail": {{"error": "Internal server error"}}}}',
            "try again later, or check Tavily's status page",
        ),
        (
            json_reply(
                {
                    "detail": {
                        "error": "This request exceeds your plan's set usage limit. Please upgrade your plan "
                        "or contact support@tavily.com"
                    }
                },
                status=432,
            ),
            "{url} answered 432: ",
            "check the key's plan and credits at app.tavily.com, and RESEARCH_TAVILY_URL",
        ),
    ],
    ids=["unreachable", "500", "432-plan-limit"],
)
def test_tavily_out_of_reach_or_failing_fails_naming_the_fix(
    monkeypatch: pytest.MonkeyPatch, standin: StandIn, answer: Canned | None, detail: str, fix: str
) -> None:
    if answer is not None:
        standin.queue(answer, path="/search")
    url = standin.url if answer is not None else _down()
    settings = _settings(
        monkeypatch, RESEARCH_SEARCH_BACKEND="tavily", TAVILY_API_KEY="tvly-doctor-5", RESEARCH_TAVILY_URL=url
    )
    (tavily,) = _only(diagnose(settings, online=True, timeout=3), "search")
    assert tavily.outcome is Outcome.FAIL
    assert tavily.detail.startswith(detail.format(url=url)), tavily.detail
    assert tavily.fix == fix
    assert "tvly-doctor-5" not in tavily.detail
    assert standin.count("/search") == (answer is not None)


def test_searxng_without_json_output_and_tavily_with_a_bad_key_fail(
    monkeypatch: pytest.MonkeyPatch, standin: StandIn
) -> None:
    standin.queue(json_reply({"detail": "Forbidden"}, status=403), path="/search")
    settings = _settings(monkeypatch, RESEARCH_SEARCH_BACKEND="searxng", RESEARCH_SEARXNG_URL=standin.url)
    (searxng,) = _only(diagnose(settings, online=True), "search")
    assert searxng.outcome is Outcome.FAIL
    assert searxng.fix == "add `json` under search.formats in the instance's settings.yml"
    assert standin.received("/search")[0].path.endswith("format=json")

    standin.queue(json_reply({"detail": {"error": "Unauthorized: missing or invalid API key."}}, status=401))
    settings = _settings(
        monkeypatch,
        RESEARCH_SEARCH_BACKEND="tavily",
        TAVILY_API_KEY="tvly-doctor-4",
        RESEARCH_TAVILY_URL=standin.url,
    )
    (tavily,) = _only(diagnose(settings, online=True), "search")
    assert tavily.outcome is Outcome.FAIL
    assert tavily.fix == "check TAVILY_API_KEY"
    assert "tvly-doctor-4" not in tavily.detail


def test_an_otlp_collector_that_does_not_answer_fails_online(
    monkeypatch: pytest.MonkeyPatch, standin: StandIn
) -> None:
    down = _settings(monkeypatch, OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{_closed_port()}")
    (otlp,) = _only(diagnose(down, online=True, timeout=3), "traces", "otlp")
    assert otlp.outcome is Outcome.FAIL and otlp.fix and "start the collector" in otlp.fix
    up = _settings(monkeypatch, OTEL_EXPORTER_OTLP_ENDPOINT=standin.url)
    assert _only(diagnose(up, online=True), "traces", "otlp")[0].outcome is Outcome.OK


def _app() -> Any:
    from research_agent.cli import app

    get_settings.cache_clear()
    return app
