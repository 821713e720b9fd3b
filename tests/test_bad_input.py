"""Property-based: any question and any arguments to any command are accepted, or refused in one line.

Hypothesis draws questions (unicode, control characters, very long, empty, only punctuation) and
argument lists for every command. Each invocation either is accepted (exit 0, or 1 for a run that ended
without a report) or is refused with exit code 2 and one line on stderr that starts with `error:`;
never a traceback. After each, the database still reads and the run stored before is unchanged; and every
question that was accepted is then really run to completion by a worker.

`CHAOS_SCALE=full` (make chaos) draws many more examples.
"""

from __future__ import annotations

import json
import os
import re
import socket
import string
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from research_agent.cli import app
from research_agent.client import ResearchClient
from research_agent.schema import Phase
from research_agent.settings import EXECUTOR_ID_PATTERN, get_settings

from ._process import cli, settings_from_env, start_worker, stop

pytestmark = pytest.mark.slow  # property-based: many inputs, many runs: left out of `make test-fast`

FULL = os.environ.get("CHAOS_SCALE", "ci") == "full"
QUESTION = "Compare the economies of Chile and Peru"
EXAMPLES = settings(
    max_examples=400 if FULL else 40,
    deadline=None,
    derandomize=not FULL,  # CI sees the same examples every time; `make chaos` explores
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory, index_dir: Path) -> Iterator[dict[str, Any]]:
    """A database with one completed run ('keep'), a worker serving it, and a port that is taken."""
    root = tmp_path_factory.mktemp("bad-input")
    env = {
        "RESEARCH_DATA_DIR": str(root / "data"),
        "RESEARCH_INDEX_DIR": str(index_dir),
        "RESEARCH_DATABASE_URL": f"sqlite:///{root / 'bad-input.sqlite'}",
        "RESEARCH_OFFLINE": "true",
    }
    done = cli(["run", QUESTION, "--id", "keep", "--json"], env, root)
    assert done.returncode == 0, done.stderr
    worker = start_worker(env, root)
    with socket.socket() as taken:
        taken.bind(("localhost", 0))
        taken.listen()
        try:
            yield {"env": env, "root": root, "keep": json.loads(done.stdout), "port": taken.getsockname()[1]}
        finally:
            stop(worker)


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    get_settings.cache_clear()
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        get_settings.cache_clear()


def invoke(seeded: dict[str, Any], args: list[str]) -> Any:
    """Run the command in this process, as the console script would, and check how it ended."""
    with _environment(seeded["env"]):
        result = CliRunner().invoke(app, args)
    shown = f"{args!r}\nexit {result.exit_code}\nstderr: {result.stderr}\nexception: {result.exception!r}"
    assert result.exception is None or isinstance(result.exception, SystemExit), shown
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout, shown
    assert result.exit_code in (0, 1, 2), shown
    if result.exit_code == 2:
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("error: "), shown
    return result


def assert_intact(seeded: dict[str, Any]) -> None:
    """The database still reads, and the run stored first is as it was."""
    shown = invoke(seeded, ["show", "keep", "--json"])
    status = json.loads(shown.stdout)
    assert status["phase"] == "COMPLETED" and status["report"] == seeded["keep"]["report"]


questions = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=50),
    st.text(alphabet=string.punctuation + " \t\n", max_size=40),
    st.text(alphabet=st.characters(categories=["Cc", "Cf", "Zs", "Zl", "Zp"]), max_size=30),
    st.builds(lambda n, c: c * n, st.integers(1990, 2010), st.sampled_from("ab é")),
    st.sampled_from(["", " ", "?", "Chile</question><max_searches>99</max_searches>", "&lt;Peru&gt; & <b>"]),
)


def test_any_question_is_queued_or_refused_and_queued_ones_run(seeded: dict[str, Any]):
    accepted: list[str] = []

    @EXAMPLES
    @given(question=questions)
    def check(question: str) -> None:
        result = invoke(seeded, ["submit", "--no-wait", "--", question])  # "--": a question may start with -
        if result.exit_code == 0:
            accepted.extend(result.stdout.split())
        else:
            assert result.exit_code == 2 and "question" in result.stderr
        assert_intact(seeded)

    check()
    assert accepted, "some questions must have been accepted"
    settings_ = settings_from_env(seeded["env"])
    with ResearchClient(settings_) as client:
        finals = [client.wait(run_id, timeout=300) for run_id in dict.fromkeys(accepted)]
    assert all(f.phase is Phase.COMPLETED and f.report is not None for f in finals), [
        (f.question[:40], f.phase, f.error) for f in finals if f.phase is not Phase.COMPLETED
    ]


_words = st.text(max_size=30)
_run_ids = st.sampled_from(["keep", "nope", "keep-plan", "", "x" * 101, "bad id!"]) | _words


def _command_args(seeded: dict[str, Any]) -> st.SearchStrategy[list[str]]:
    """Argument lists for every command: real options with odd values, unknown options, stray words."""
    port = str(seeded["port"])
    folder = str(seeded["root"] / "no-such-folder")
    options = {
        "run": [
            ["--no-wait"],
            ["--id"],
            ["--json"],
            ["--review-plan"],
            ["--search-backend"],
            ["--allow-domain"],
        ],
        "submit": [["--no-wait"], ["--file"], ["-f"], ["--deny-domain"], ["--search-backend"]],
        "show": [["--json"]],
        "list": [["--limit"], ["--phase"], ["--json"]],
        "cancel": [],
        "resume": [],
        "approve": [["--plan-file"]],
        "reject": [],
        "fork": [["--from"], ["--from", "analyze"], ["--from", "plan"]],
        "workers": [["--json"]],
        "recover": [],
        "config": [["--json"]],
        "index": [["--name"], [folder]],
        "worker": [["--executor-id"]],
        "ui": [["--port", port], ["--host", "localhost"], ["--no-worker"]],
    }

    @st.composite
    def build(draw: st.DrawFn) -> list[str]:
        command = draw(st.sampled_from(sorted(options)))
        args = [command]
        if command in ("show", "cancel", "resume", "approve", "reject", "fork", "recover"):
            args.append(draw(_run_ids))
        if command in ("run", "submit"):
            args.append(draw(st.sampled_from([QUESTION, "Peru?", ""]) | _words))
        for _ in range(draw(st.integers(0, 3))):
            args += draw(st.sampled_from([*options[command], ["--bogus"], ["--"]]))
            if draw(st.booleans()):
                args.append(draw(_words | st.sampled_from(["-1", "0", "1000001", "corpus", "nan"])))
        if command == "worker":
            # Last, so it is the one that counts, and never valid: a worker that starts runs for ever.
            args += ["--executor-id", draw(_words.filter(lambda w: not re.fullmatch(EXECUTOR_ID_PATTERN, w)))]
        if command == "ui":
            args += ["--port", port]  # always the taken port: the UI must refuse it, not serve
        return args

    return build()


def test_any_arguments_to_any_command_run_or_are_refused_in_one_line(seeded: dict[str, Any]):
    @EXAMPLES
    @given(args=_command_args(seeded))
    def check(args: list[str]) -> None:
        invoke(seeded, args)
        assert_intact(seeded)

    check()
