"""The `deep-research` command, run as a user runs it: in a subprocess."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest

from ._process import cli

pytestmark = pytest.mark.slow  # the real command in subprocesses: left out of `make test-fast`

QUESTION = "Compare the economies of Chile and Peru"


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory, index_dir: Path) -> dict[str, str]:
    """A database holding one completed run ('keep') that every bad command must leave intact."""
    root = tmp_path_factory.mktemp("seeded")
    env = {
        "RESEARCH_DATA_DIR": str(root / "data"),
        "RESEARCH_INDEX_DIR": str(index_dir),
        "RESEARCH_DATABASE_URL": f"sqlite:///{root / 'seeded.sqlite'}",
    }
    done = cli(["run", QUESTION, "--offline", "--id", "keep"], env, root)
    assert done.returncode == 0, done.stderr
    return env


@pytest.fixture
def env(isolated_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    return {**isolated_env, "RESEARCH_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite'}"}


def test_run_offline_prints_a_cited_report_then_list_and_show_find_it(env: dict[str, str], tmp_path: Path):
    done = cli(["run", QUESTION, "--offline", "--id", "cli-1"], env, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "offline mode" in done.stderr and "Plan: 4 searches" in done.stderr and "✓ search 4" in done.stderr
    assert "citations: all 6 verified, checked against what the searches returned" in done.stderr
    report = done.stdout
    assert report.startswith(f"# {QUESTION}\n")
    cited = {int(n) for n in __import__("re").findall(r"\[(\d+)\]", report.split("## Sources")[0])}
    listed = {
        int(line.split("]")[0][1:])
        for line in report.split("## Sources")[1].splitlines()
        if line.startswith("[")
    }
    assert cited and cited == listed

    listing = cli(["list", "--json"], env, tmp_path)
    assert [r["run_id"] for r in json.loads(listing.stdout)] == ["cli-1"]
    shown = cli(["show", "cli-1", "--json"], env, tmp_path)
    status = json.loads(shown.stdout)
    assert status["phase"] == "COMPLETED" and status["report"]["body"] in report

    again = cli(["run", QUESTION, "--offline", "--id", "cli-1", "--json"], env, tmp_path)
    assert again.returncode == 0 and json.loads(again.stdout)["sequence"] == status["sequence"]


def test_config_masks_secrets(env: dict[str, str], tmp_path: Path):
    shown = cli(["config", "--json"], {**env, "ANTHROPIC_API_KEY": "sk-ant-very-secret-value"}, tmp_path)
    assert shown.returncode == 0, shown.stderr
    values = json.loads(shown.stdout)
    assert "very-secret" not in shown.stdout
    assert values["anthropic_api_key"] == "set (hidden)"
    assert values["effective_mode"] == "offline (no GOOGLE_API_KEY)"


def test_config_masks_credentials_in_urls(env: dict[str, str], tmp_path: Path):
    urls = {
        "OPENAI_BASE_URL": "https://proxy-user:openai-pw-1@llm.example.org/v1",
        "RESEARCH_LOGFIRE_PROJECT_URL": "https://logfire-token-2@logfire.example.org/org/project",
        "RESEARCH_SEARXNG_URL": "http://admin:searx-pw-3@searx.local:8080/?token=searx-token-4&lang=en",
        "RESEARCH_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite'}",
    }
    secrets = ["openai-pw-1", "logfire-token-2", "searx-pw-3", "searx-token-4"]
    for args in (["config", "--json"], ["config"]):
        shown = cli(args, {**env, **urls, "COLUMNS": "300"}, tmp_path)
        assert shown.returncode == 0, shown.stderr
        assert not [secret for secret in secrets if secret in shown.stdout + shown.stderr], shown.stdout
    values = json.loads(cli(["config", "--json"], {**env, **urls}, tmp_path).stdout)
    assert values["openai_base_url"] == "https://proxy-user:***@llm.example.org/v1"
    assert values["logfire_project_url"] == "https://***@logfire.example.org/org/project"
    assert values["searxng_url"] == "http://admin:***@searx.local:8080/?token=***&lang=en"
    assert values["database_url"] == urls["RESEARCH_DATABASE_URL"]


def test_urls_are_shown_without_their_credentials():
    from research_agent.database import redacted_url

    assert (
        redacted_url("postgresql://nobody:s3cret@127.0.0.1:1/none")
        == "postgresql://nobody:***@127.0.0.1:1/none"
    )
    assert redacted_url("postgresql://nobody@db/none") == "postgresql://nobody@db/none"
    assert redacted_url("sqlite:////var/lib/research.sqlite") == "sqlite:////var/lib/research.sqlite"
    # A password holding '@' or '/' unencoded: everything before the last '@' is masked.
    assert redacted_url("https://u:p@ss/w@host/v1") == "https://u:***@host/v1"
    assert redacted_url("https://host/v1?api_key=k-1&x=2#f") == "https://host/v1?api_key=***&x=2#f"
    assert redacted_url("not a url") == "an unparsable URL"


@pytest.mark.parametrize(
    ("args", "extra_env", "message"),
    [
        (["run", "   "], {}, "the question is empty"),
        (["run", "x" * 2001], {}, "over the limit of 2000"),
        (["run", "Chile?", "--id", "bad id!"], {}, "invalid run id"),
        (
            ["run", "Chile?"],
            {"RESEARCH_OFFLINE": "false", "RESEARCH_PLANNER_MODEL": "foo:bar"},
            "unknown model provider 'foo'",
        ),
        (["run", "Chile?"], {"RESEARCH_PLANNER_MODEL": "no-colon"}, "RESEARCH_PLANNER_MODEL"),
        (["run", "Chile?"], {"RESEARCH_OFFLINE": "false"}, "needs ANTHROPIC_API_KEY"),
        (["run", "Chile?"], {"RESEARCH_OFFLINE": "false", "ANTHROPIC_API_KEY": "k"}, "needs GOOGLE_API_KEY"),
        (["run", "Chile?", "--offline", "--search-backend", "tavily"], {}, "needs TAVILY_API_KEY"),
        (["list"], {"RESEARCH_DATABASE_URL": "not a url"}, "is not a database URL"),
        (["list"], {"RESEARCH_DATABASE_URL": "mysql://x@localhost/db"}, "unsupported database 'mysql'"),
        (
            ["list"],
            {"RESEARCH_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/none"},
            "cannot connect to postgresql://postgres@127.0.0.1:1/none",
        ),
        (
            ["workers"],
            {"RESEARCH_DATABASE_URL": "postgresql://nobody:s3cret@127.0.0.1:1/none"},
            "cannot connect to postgresql://nobody:***@127.0.0.1:1/none",
        ),
        (["worker"], {"RESEARCH_SEARCH_CONCURRENCY": "0"}, "RESEARCH_SEARCH_CONCURRENCY"),
        (["worker"], {"RESEARCH_SEARCH_RATE_LIMIT": "-3"}, "RESEARCH_SEARCH_RATE_LIMIT"),
        (["worker"], {"RESEARCH_SEARCH_RATE_PERIOD": "0"}, "RESEARCH_SEARCH_RATE_PERIOD"),
        (["worker"], {"RESEARCH_WORKER_CONCURRENCY": "0"}, "RESEARCH_WORKER_CONCURRENCY"),
        (["worker", "--executor-id", "bad id"], {}, "invalid executor id 'bad id'"),
        (["worker"], {"RESEARCH_EXECUTOR_ID": "../x"}, "RESEARCH_EXECUTOR_ID"),
        (["recover", "bad/id"], {}, "invalid executor id 'bad/id'"),
        (["submit"], {}, "give either a QUESTION or --file"),
        (["run", "Chile?", "--offline", "--allow-domain", "who int"], {}, "'who int' is not a domain name"),
        (["run", "Chile?"], {"RESEARCH_SEARCH_DENY_DOMAINS": "bad domain"}, "RESEARCH_SEARCH_DENY_DOMAINS"),
        (["submit", "Chile?", "--file", "q.txt"], {}, "give either a QUESTION or --file"),
        (["submit", "--file", "/does/not/exist.txt"], {}, "no such file: /does/not/exist.txt"),
        (["submit", "--file", "/dev/null"], {}, "/dev/null holds no questions"),
        (["submit", "--file", "/"], {}, "/ is a directory"),
        (["show", "nope"], {}, "no run with id 'nope'"),
        (["cancel", "nope"], {}, "no run with id 'nope'"),
        (["resume", "nope"], {}, "no run with id 'nope'"),
        (["fork", "nope", "--from", "analyze"], {}, "no run with id 'nope'"),
        (["approve", "nope"], {}, "no run with id 'nope'"),
        (["reject", "nope"], {}, "no run with id 'nope'"),
        (["approve", "keep"], {}, "run keep is COMPLETED, not awaiting approval"),
        (["finish", "nope"], {}, "no run with id 'nope'"),
        (["retry", "nope"], {}, "no run with id 'nope'"),
        (["rewrite", "nope"], {}, "no run with id 'nope'"),
        (["finish", "keep"], {}, "run keep is COMPLETED, not searching"),
        (["retry", "keep"], {}, "run keep has no failed or skipped search to retry"),
        (["rewrite", "keep", "--instructions", " "], {}, "--instructions is empty"),
        (["rewrite", "keep", "--analyst-model", "openai:gpt-5"], {}, "needs OPENAI_API_KEY"),
        (["run", "Chile?", "--offline", "--max-requests", "0"], {}, "--max-requests must be above 0"),
        (["run", "Chile?", "--offline", "--deadline", "-5"], {}, "--deadline must be above 0"),
        (["submit", "Chile?", "--max-tokens", "0"], {}, "--max-tokens must be above 0"),
        (["run", "Chile?", "--offline"], {"RESEARCH_DEADLINE": "0"}, "RESEARCH_DEADLINE"),
        (["reject", "keep"], {}, "run keep is COMPLETED, not awaiting approval"),
        (["approve", "keep", "--plan-file", "/does/not/exist.json"], {}, "no such file"),
        (["approve", "keep", "--plan-file", "/dev/null"], {}, "/dev/null is not valid JSON"),
        (["approve", "keep", "--plan-file", "/"], {}, "/ is a directory"),
        (["run", "Chile?", "--review-plan"], {"RESEARCH_REVIEW_TIMEOUT": "0"}, "RESEARCH_REVIEW_TIMEOUT"),
        (["index", "/does/not/exist", "--name", "x"], {}, "does not exist"),
        (
            ["run", "Chile?", "--offline"],
            {"RESEARCH_CORPUS": "missing"},
            "deep-research index PATH --name missing",
        ),
        (["run", "Chile?"], {"RESEARCH_MAX_SEARCHES": "lots"}, "RESEARCH_MAX_SEARCHES"),
    ],
)
def test_bad_input_gets_one_clear_line_and_exit_code_2(
    seeded: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    extra_env: dict[str, str],
    message: str,
):
    # In-process (same code path as the console script, without ~3 s of interpreter start-up per case).
    from typer.testing import CliRunner

    from research_agent.cli import app
    from research_agent.settings import get_settings

    def invoke(args: list[str], env: dict[str, str]) -> Any:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        return CliRunner().invoke(app, args)

    result = invoke(args, {**seeded, **extra_env})
    assert result.exit_code == 2, (result.stdout, result.stderr, result.exception)
    assert message in result.stderr
    assert "Traceback" not in result.stderr and "s3cret" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    for name in extra_env:
        monkeypatch.delenv(name)
    shown = invoke(["show", "keep", "--json"], seeded)
    assert json.loads(shown.stdout)["phase"] == "COMPLETED"


def test_batch_file_errors_name_the_line(seeded: dict[str, str], tmp_path: Path):
    batch = tmp_path / "questions.txt"
    batch.write_text("# economies\nCompare the economies of Chile and Peru\n\n?\n")
    result = cli(["submit", "--file", str(batch), "--offline"], seeded, tmp_path)
    assert result.returncode == 2
    assert f"{batch}, line 4: the question is too short" in result.stderr
    batch.write_bytes(b"Chile \xff\xfe\n")
    result = cli(["submit", "--file", str(batch), "--offline"], seeded, tmp_path)
    assert result.returncode == 2 and "is not UTF-8 text" in result.stderr


def test_workers_and_recover_on_a_quiet_database(seeded: dict[str, str], tmp_path: Path):
    listed = cli(["workers", "--json"], seeded, tmp_path)
    assert listed.returncode == 0, listed.stderr
    (executor,) = json.loads(listed.stdout)
    assert executor["alive"] is False and executor["pending_workflows"] == 0
    assert executor["completed_workflows"] >= 6  # the run, its plan, searches and analysis
    table = cli(["workers"], {**seeded, "COLUMNS": "200"}, tmp_path)
    assert f"{executor['executor_id']} (this install)" in table.stdout and "stopped" in table.stdout
    nothing = cli(["recover", "ghost"], seeded, tmp_path)
    assert nothing.returncode == 0 and "no unfinished workflows" in nothing.stderr


def test_index_a_folder_then_research_it(env: dict[str, str], tmp_path: Path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "volcanoes.md").write_text("# Etna\n\nEtna is an active volcano on Sicily that erupts often.\n")
    (docs / "Vesuvius.txt").write_text(
        "Vesuvius destroyed Pompeii in 79 AD. It overlooks the Bay of Naples.\n"
    )
    indexed = cli(["index", str(docs), "--name", "volcanoes"], env, tmp_path)
    assert indexed.returncode == 0 and "indexed 2 passages from 2 files" in indexed.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    assert cli(["index", str(empty), "--name", "e"], env, tmp_path).returncode == 2

    done = cli(
        ["run", "When did Vesuvius destroy Pompeii?", "--offline"],
        {**env, "RESEARCH_CORPUS": "volcanoes"},
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "79 AD" in done.stdout and "Vesuvius.txt" in done.stdout


def test_run_submits_to_a_running_worker(env: dict[str, str], tmp_path: Path):
    from ._process import poll, start_worker, stop, worker_output

    worker = start_worker(env, tmp_path)
    try:
        # The worker loads the indexes its runs search by default as soon as it starts.
        poll(
            lambda: "search indexes ready: factbook, pydoc" in worker_output(worker),
            timeout=60,
            what="the worker to load its indexes",
        )
        queued = cli(["run", QUESTION, "--offline", "--no-wait", "--id", "w-1"], env, tmp_path)
        assert queued.returncode == 0, queued.stderr
        assert queued.stdout.strip() == "w-1" and "executing in this process" not in queued.stderr
        attached = cli(["run", QUESTION, "--offline", "--id", "w-1", "--json"], env, tmp_path)
        assert attached.returncode == 0, attached.stderr
        assert json.loads(attached.stdout)["phase"] == "COMPLETED"
        assert "another worker" in cli(["worker"], env, tmp_path).stderr
    finally:
        stop(worker, timeout=30)
    assert worker.returncode == 0


def test_ui_refuses_a_port_in_use(seeded: dict[str, str], tmp_path: Path):
    with socket.socket() as taken:
        taken.bind(("localhost", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = cli(["ui", "--port", str(port)], seeded, tmp_path)
    assert result.returncode == 2, result.stderr
    assert f"cannot serve on localhost:{port}" in result.stderr and "--port N" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_ui_refuses_a_bad_database(env: dict[str, str], tmp_path: Path):
    result = cli(["ui"], {**env, "RESEARCH_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/none"}, tmp_path)
    assert (
        result.returncode == 2 and "cannot connect to postgresql://postgres@127.0.0.1:1/none" in result.stderr
    )


def test_the_cli_imports_no_engine_until_a_command_needs_it():
    # Every command pays for what importing the CLI imports: pydantic-ai and the workflows are loaded
    # only by commands that run a worker (0.6 s of each `show`, `list` or `finish` when they were not).
    import subprocess
    import sys

    probe = "import research_agent.cli, sys; print(sorted({'pydantic_ai', 'research_agent.workflows'} & set(sys.modules)))"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"
