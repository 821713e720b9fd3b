"""The README's command list matches the CLI: every command listed exists with the flags shown, and every
command the CLI has is listed."""

from __future__ import annotations

import ast
import re
import shlex
from pathlib import Path
from typing import Any

import typer.core
import typer.main

from research_agent.cli import app
from research_agent.settings import Settings

README = Path(__file__).resolve().parents[1] / "README.md"


def _readme_commands() -> list[list[str]]:
    """Each `deep-research ...` line of the README's shell blocks, split like a shell would (comments off)."""
    text = README.read_text(encoding="utf-8")
    lines = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        for line in block.splitlines():
            line = line.split(" #", 1)[0].strip()
            if "deep-research " in line:
                words = shlex.split(line[line.index("deep-research ") :].rstrip("&").strip())
                lines.append(words[1:])
    return lines


def _cli() -> dict[str, Any]:
    group = typer.main.get_command(app)
    assert isinstance(group, typer.core.TyperGroup)
    return dict(group.commands)


def _flags(command: Any) -> set[str]:
    return {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)}


def test_every_readme_command_exists_with_its_flags() -> None:
    commands = _cli()
    for words in _readme_commands():
        name, *rest = words
        assert name in commands, f"README shows `deep-research {name}`, which the CLI does not have"
        unknown = [
            w.split("=")[0]
            for w in rest
            if w.startswith("--") and w.split("=")[0] not in _flags(commands[name])
        ]
        assert not unknown, f"README shows `deep-research {name}` with {unknown}, which it does not take"


def test_every_command_is_in_the_readme() -> None:
    listed = {words[0] for words in _readme_commands()}
    assert sorted(set(_cli()) - listed) == []


# --- the README's table of tested models -------------------------------------------------------------------


def _tested_models_table() -> list[list[str]]:
    """The rows of the README's "Tested models" table, each a list of its cells."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("**Tested models.**") :]
    rows: list[list[str]] = []
    for line in section.splitlines()[1:]:
        if rows and not line.startswith("|"):
            break
        if line.startswith("|") and not line.startswith("|---"):
            rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows[1:]  # the header row off


def _test_functions(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {node.name for node in tree.body if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)}


def test_every_test_the_tested_models_table_names_exists() -> None:
    rows = _tested_models_table()
    assert len(rows) >= 10, rows
    root = README.parent
    for *_, proof in rows:
        match = re.fullmatch(r"`(tests/\w+\.py)::(test_\w+)`", proof)
        assert match, f"the README's tested-models table names {proof!r}: expected `tests/FILE.py::test_name`"
        path, name = root / match[1], match[2]
        assert path.is_file(), f"the README's tested-models table names {match[1]}, which does not exist"
        assert name in _test_functions(path), f"the README's tested-models table names {proof}: no such test"


def test_the_tested_models_table_lists_the_default_models() -> None:
    models = {row[1].strip("`") for row in _tested_models_table()}
    for role in ("planner_model", "search_model", "analyst_model"):
        default = Settings.model_fields[role].default
        assert default in models, f"the default {role} {default} is not in the README's tested-models table"
