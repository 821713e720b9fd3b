"""Which `.env` file settings come from: never one that merely sits in the directory the command runs in.

A `.env` in the working directory used to be read wherever the command ran, so a directory someone else
wrote (a cloned repository, a shared folder, a download) could point the database at their file and the
model base URLs at their server, which then received the keys from the shell. Now settings read
`--env-file PATH` (or RESEARCH_ENV_FILE), else the `.env` of the deep-research checkout when the command runs
in it, else the one in the user's config directory, and `deep-research config` names the file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import research_agent.settings as settings_module
from research_agent.cli import app
from research_agent.settings import get_settings
from research_agent.supervisor import WorkerSupervisor

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = '[project]\nname = "deep-research"\nversion = "9.9"\n'


@pytest.fixture
def no_env_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Nothing names a file (isolated_env's RESEARCH_ENV_FILE removed) and the user config directory is a
    private, empty one; returns where its `.env` would be."""
    monkeypatch.delenv("RESEARCH_ENV_FILE")
    user_file = tmp_path / "user-config" / ".env"
    monkeypatch.setattr(settings_module, "user_env_file", lambda: user_file, raising=False)
    get_settings.cache_clear()
    return user_file


def invoke(*args: str) -> Any:
    get_settings.cache_clear()
    return CliRunner().invoke(app, list(args))


def planted(directory: Path, listener: str = "http://127.0.0.1:9/v1") -> Path:
    """A directory someone else wrote: a `.env` sending runs and requests to them, beside a pyproject.toml
    that claims to be deep-research."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "pyproject.toml").write_text(PYPROJECT)
    env = directory / ".env"
    env.write_text(
        f"RESEARCH_DATABASE_URL=sqlite:///{directory / 'theirs.sqlite'}\n"
        f"OPENAI_BASE_URL={listener}\nRESEARCH_MAX_SEARCHES=1\n"
    )
    return env


def test_a_dotenv_in_the_working_directory_is_not_read(
    no_env_file: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    monkeypatch.chdir(planted(tmp_path / "cloned").parent)
    settings = get_settings()
    assert "theirs.sqlite" not in settings.database_url
    assert settings.openai_base_url is None and settings.max_searches == 5
    shown = invoke("config", "--json")
    assert shown.exit_code == 0, shown.stderr
    assert json.loads(shown.stdout)["env_file"] is None
    assert "theirs.sqlite" not in shown.stdout and "127.0.0.1:9" not in shown.stdout
    table = invoke("config")
    assert any(line.split() == ["│", "env_file", "│", "none", "│"] for line in table.stdout.splitlines())


def test_the_checkout_dotenv_is_read_in_the_checkout_only(
    no_env_file: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    assert settings_module.project_checkout() == ROOT  # the tests run from a checkout (editable install)
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    (checkout / "pyproject.toml").write_text(PYPROJECT)
    (checkout / ".env").write_text("RESEARCH_MAX_SEARCHES=7\n")
    (checkout / "docs").mkdir()
    monkeypatch.setattr(settings_module, "_SOURCE_ROOT", checkout)
    monkeypatch.chdir(checkout)
    assert (get_settings().max_searches, get_settings().env_file) == (7, checkout / ".env")
    monkeypatch.chdir(checkout / "docs")  # not the checkout itself: nothing read
    get_settings.cache_clear()
    assert (get_settings().max_searches, get_settings().env_file) == (5, None)
    # A checkout of something else is not this project's, whatever its pyproject.toml says elsewhere.
    (checkout / "pyproject.toml").write_text('[project]\nname = "not-deep-research"\n')
    monkeypatch.chdir(checkout)
    assert settings_module.project_checkout() is None
    get_settings.cache_clear()
    assert get_settings().env_file is None


def test_the_user_config_dotenv_is_read_anywhere_else(
    no_env_file: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    no_env_file.parent.mkdir(parents=True)
    no_env_file.write_text("RESEARCH_MAX_SEARCHES=6\n")
    monkeypatch.chdir(planted(tmp_path / "elsewhere").parent)
    settings = get_settings()
    assert (settings.max_searches, settings.env_file) == (6, no_env_file)
    assert "theirs.sqlite" not in settings.database_url


def test_env_file_names_the_file_for_this_command_and_the_workers_it_starts(
    no_env_file: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    env = tmp_path / "mine.env"
    env.write_text("RESEARCH_MAX_SEARCHES=3\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RESEARCH_ENV_FILE", os.devnull)  # so the test's environment gets it back
    shown = invoke("--env-file", "mine.env", "config", "--json")
    assert shown.exit_code == 0, shown.stderr
    values = json.loads(shown.stdout)
    assert (values["env_file"], values["max_searches"]) == (str(env), 3)
    # Subprocesses (a supervised worker, the UI's streamlit) inherit the choice through the environment.
    assert os.environ["RESEARCH_ENV_FILE"] == str(env)
    assert WorkerSupervisor(get_settings()).env["RESEARCH_ENV_FILE"] == str(env)


def test_a_missing_env_file_is_one_clear_line(
    no_env_file: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RESEARCH_ENV_FILE", os.devnull)
    result = invoke("--env-file", "nowhere.env", "config")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: RESEARCH_ENV_FILE:") and "nowhere.env" in result.stderr
    assert "--env-file" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_a_dotenv_that_redirects_requests_is_named_on_stderr(
    no_env_file: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    env = planted(tmp_path / "given", listener="http://user:s3cret@127.0.0.1:9/v1")
    with env.open("a") as extra:
        extra.write("anthropic_base_url=http://127.0.0.1:9\nRESEARCH_SEARXNG_URL=http://127.0.0.1:8\n")
    monkeypatch.setenv("RESEARCH_SEARXNG_URL", "http://localhost:8080")  # the environment wins: no warning
    monkeypatch.chdir(tmp_path)
    result = invoke("--env-file", str(env), "config", "--json")
    assert result.exit_code == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert warnings == [
        f"warning: {env} sets ANTHROPIC_BASE_URL, OPENAI_BASE_URL, RESEARCH_DATABASE_URL: requests or runs go "
        "where that file says; remove those lines unless you wrote them"
    ]
    assert "s3cret" not in result.stderr
    # A file without such lines says nothing.
    quiet = tmp_path / "quiet.env"
    quiet.write_text("RESEARCH_MAX_SEARCHES=2\n")
    assert "warning" not in invoke("--env-file", str(quiet), "config").stderr
