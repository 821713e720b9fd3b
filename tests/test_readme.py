"""The README's command list matches the CLI: every command listed exists with the flags shown, and every
command the CLI has is listed."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import typer.core
import typer.main

from research_agent.cli import app

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
