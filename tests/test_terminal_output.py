"""What documents, questions and models wrote reaches the terminal as text: never as Rich markup, never as
terminal control sequences (issue 19).

A heading with `[/bold]` used to crash `run` and `show` (Rich read it as a closing tag), a question with `[/]`
broke `list` for everyone, and ESC sequences (colours, clearing the screen, OSC 52 writing the clipboard)
went from an indexed document straight to stdout. Each command here runs in process, as the console script
would, over a folder of documents written to do exactly that.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from research_agent.cli import app
from research_agent.settings import get_settings

QUESTION = "What [/] paid for the Saltpeter railways [/bold] of [red]Chile?"
OSC_52 = "\x1b]52;c;cm0gLXJmIH4=\x07"  # "write this to the clipboard"
DOCUMENT = (
    f"## Railways [/bold] and trade{OSC_52}\n\n"
    "Saltpeter [/] paid for the railways of Chile in the nineteenth century.\x1b[2J\x1b[31m "
    "The saltpeter trade [link=https://example.org]paid[/link] for its ports.\x9b31m\n"
)


def invoke(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], *args: str) -> Any:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    result = CliRunner().invoke(app, list(args))
    shown = f"{args!r}: exit {result.exit_code}\n{result.stderr}\n{result.exception!r}"
    assert result.exception is None or isinstance(result.exception, SystemExit), shown
    assert "Traceback" not in result.output, shown
    for stream in (result.stdout, result.stderr):
        assert not any(ch in stream for ch in "\x1b\x07\x9b"), f"a control character was printed: {shown}"
    return result


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "RESEARCH_DATABASE_URL": f"sqlite:///{tmp_path / 'terminal.sqlite'}",
        "RESEARCH_INDEX_DIR": str(tmp_path / "indexes"),
        "RESEARCH_OFFLINE": "true",
        "COLUMNS": "300",
    }


@pytest.mark.slow  # a real offline run, in process
def test_documents_and_questions_are_printed_literally_without_control_characters(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], tmp_path: Path
):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "Saltpeter.md").write_text(DOCUMENT)
    (docs / "nul\x1b[31m.txt").write_bytes(b"\xff\xfe not text")  # its note names it
    indexed = invoke(monkeypatch, env, "index", str(docs), "--name", "hostile")
    assert indexed.exit_code == 0 and "nul[31m.txt: not UTF-8 text" in indexed.stderr

    done = invoke(monkeypatch, env, "run", QUESTION, "--corpus", "hostile", "--id", "h-1")
    assert done.exit_code == 0, done.stderr
    assert "[1] Railways [/bold] and trade]52;c;cm0gLXJmIH4=" in done.stdout  # the source, as titled
    assert "[/]" in done.stdout and "[link=https://example.org]paid[/link]" in done.stdout

    shown = invoke(monkeypatch, env, "show", "h-1")
    assert f"run h-1: {QUESTION}" in shown.stderr and "[/bold]" in shown.stdout
    assert shown.stdout == done.stdout

    listed = invoke(monkeypatch, env, "list")
    assert QUESTION in listed.stdout

    as_json = invoke(monkeypatch, env, "show", "h-1", "--json")
    assert json.loads(as_json.stdout)["question"] == QUESTION


def test_errors_naming_what_was_typed_are_printed_literally(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str]
):
    for args, message in [
        (["show", "[/]"], "no run with id '[/]'"),
        (["approve", "[bold]x[/]"], "no run with id '[bold]x[/]'"),
        (["index", "/no/such/[/]dir", "--name", "x"], "/no/such/[/]dir does not exist"),
        (["run", "Chile [/]?", "--corpus", "[/]"], "no collection named '[/]'"),
    ]:
        refused = invoke(monkeypatch, env, *args)
        assert refused.exit_code == 2 and message in refused.stderr, refused.stderr


def test_an_evaluators_reason_is_printed_literally(monkeypatch: pytest.MonkeyPatch):
    from rich.console import Console

    from research_agent.evaluation import present
    from research_agent.evaluation.figures import Shortfall

    quoted = Shortfall("case [/]", "LeadAnswer", 0.5, "the lead says [/bold] Chile\x1b]52;c;eA==\x07 grew")
    monkeypatch.setattr(present, "shortfalls", lambda report, names: [quoted])
    console = Console(record=True, width=200, force_terminal=False)
    present.print_shortfalls(None, console)  # type: ignore[arg-type]  # read only through `shortfalls`
    text = console.export_text()
    assert "case [/]" in text and "the lead says [/bold] Chile]52;c;eA== grew" in text and "\x1b" not in text
