"""The layers of the code stay as drawn in docs/architecture.md: a wrong import fails here, not in review.

Read from the source with `ast`, so a lazy import inside a function counts as much as one at the top
(imports under `if TYPE_CHECKING:` are types only and do not).

- Base (anything may import it): settings, schema, naming, options, providers, catalog, domains, weburls,
  controls, database, timeline, pricing, engine_settings, unpickling, private_files and their private helpers.
- Engine: agents, workflows, search, corpus, fetching, citations, prompts, the offline model, ...
- Runtime: DBOS configuration and the worker.
- Clients: the client, the supervisor, the UI, the CLI. They reach runs through the database only. The CLI
  is also the worker's and the indexer's command, so those commands (and only those) load the runtime,
  the corpus or the evaluation suite inside their own function.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

BASE = {
    "research_agent",
    "research_agent.settings",
    "research_agent.schema",
    "research_agent.naming",
    "research_agent.options",
    "research_agent.providers",
    "research_agent.catalog",
    "research_agent.domains",
    "research_agent.weburls",
    "research_agent.controls",
    "research_agent.database",
    "research_agent.timeline",
    "research_agent.pricing",
    "research_agent.engine_settings",
    "research_agent._dbos",
    "research_agent._completion_wakeups",
    "research_agent._advisory_lock",
    "research_agent.heartbeats",
    "research_agent._retry_after",
    "research_agent.unpickling",
    "research_agent.private_files",
    "research_agent.trace_store",
    "research_agent.trace_tree",
}
BASE_PACKAGES = {"research_agent.exports"}
"""Base packages: every module in them is base (the exports: the CLI, the UI and the API all call them)."""
RUNTIME = {"research_agent.runtime", "research_agent._logging", "research_agent._queue_wakeups"}
CLIENTS = {
    "research_agent.client",
    "research_agent.supervisor",
    "research_agent.cli",
    "research_agent.doctor",
    "research_agent.__main__",
    "research_agent.trace_terminal",
    "research_agent.mcp_server",
    "research_agent._mcp_http",
    "research_agent._mcp_progress",
}
CLIENT_PACKAGES = {"research_agent.api"}
"""Client packages: every module in them is a client (the HTTP API)."""
APPS = {"research_agent.evaluation"}
"""Programs of their own that run a worker in process and submit to it (the evaluation suite)."""
CLI_LAZY = {"research_agent.runtime", "research_agent.corpus", "research_agent.evaluation"}
"""What the CLI's worker, run, index and eval commands may load inside their function."""


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _layer(module: str) -> str:
    if module.startswith("ui"):
        return "client"
    if any(module == m or module.startswith(m + ".") for m in APPS):
        return "app"
    if module in BASE or any(module == m or module.startswith(m + ".") for m in BASE_PACKAGES):
        return "base"
    if module in RUNTIME:
        return "runtime"
    if module in CLIENTS or any(module == m or module.startswith(m + ".") for m in CLIENT_PACKAGES):
        return "client"
    return "engine"


ALLOWED = {
    "base": {"base"},
    "engine": {"base", "engine"},
    "runtime": {"base", "engine", "runtime"},
    "client": {"base", "client"},
    "app": {"base", "engine", "runtime", "client", "app"},
}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


class _Imports(ast.NodeVisitor):
    """Every import of a module: (imported module, whether it is inside a function)."""

    def __init__(self, module: str, is_package: bool) -> None:
        self.package = module if is_package else module.rpartition(".")[0]
        self.found: list[tuple[str, bool]] = []
        self._depth = 0

    def visit_If(self, node: ast.If) -> None:
        if _is_type_checking(node):
            for child in node.orelse:
                self.visit(child)
            return
        self.generic_visit(node)

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self._depth += 1
        self.generic_visit(node)
        self._depth -= 1

    visit_FunctionDef = _function
    visit_AsyncFunctionDef = _function

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.found.append((alias.name, self._depth > 0))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            base = self.package.split(".")
            base = base[: len(base) - (node.level - 1)]
            target = ".".join([*base, node.module] if node.module else base)
        else:
            target = node.module or ""
        for alias in node.names:
            # `from . import agents` imports a module; `from .schema import Phase` a name of one.
            candidate = f"{target}.{alias.name}"
            self.found.append((candidate if candidate in MODULES else target, self._depth > 0))


def _sources() -> dict[str, Path]:
    files = [*ROOT.joinpath("research_agent").rglob("*.py"), *ROOT.joinpath("ui").rglob("*.py")]
    return {_module_name(path): path for path in files}


MODULES = _sources()


def _owner(name: str) -> str | None:
    """The project module `name` refers to (itself, or the package holding a name imported from it)."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def _graph() -> dict[str, list[tuple[str, bool]]]:
    graph: dict[str, list[tuple[str, bool]]] = defaultdict(list)
    for module, path in MODULES.items():
        visitor = _Imports(module, path.name == "__init__.py")
        visitor.visit(ast.parse(path.read_text(encoding="utf-8")))
        for name, lazy in visitor.found:
            target = _owner(name)
            if target is not None and target != module:
                graph[module].append((target, lazy))
    return graph


def _violations(graph: dict[str, list[tuple[str, bool]]]) -> list[str]:
    wrong = []
    for module, imports in graph.items():
        for target, lazy in imports:
            allowed = ALLOWED[_layer(module)]
            if module == "research_agent.cli" and lazy and _owner(target) and _layer_root(target) in CLI_LAZY:
                continue
            if _layer(target) not in allowed:
                how = "lazily " if lazy else ""
                wrong.append(f"{module} ({_layer(module)}) {how}imports {target} ({_layer(target)})")
    return sorted(wrong)


def _layer_root(module: str) -> str:
    for root in CLI_LAZY:
        if module == root or module.startswith(root + "."):
            return root
    return module


def _cycles(graph: dict[str, list[tuple[str, bool]]]) -> list[list[str]]:
    """Import cycles (lazy imports included: a lazy import only hides a cycle), one path per cycle found."""
    found: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(module: str) -> None:
        state[module] = 1
        stack.append(module)
        for target, _ in graph.get(module, []):
            # A package's own modules importing its __init__ (or the reverse) is how packages work.
            if target.startswith(module + ".") or module.startswith(target + "."):
                continue
            if state.get(target) == 1:
                found.append([*stack[stack.index(target) :], target])
            elif target not in state:
                visit(target)
        stack.pop()
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)
    return found


def test_every_import_respects_the_layers() -> None:
    assert _violations(_graph()) == []


def test_there_are_no_import_cycles() -> None:
    assert _cycles(_graph()) == []


def test_the_engine_never_imports_the_ui() -> None:
    graph = _graph()
    assert [
        m
        for m, imports in graph.items()
        if m.startswith("research_agent") and any(t.startswith("ui") for t, _ in imports)
    ] == []


@pytest.mark.parametrize(
    ("module", "source", "problem"),
    [
        (
            "research_agent.client",
            "from .workflows import deep_research\n",
            "imports research_agent.workflows",
        ),
        ("ui.views.run", "def f():\n    from research_agent.runtime import worker\n", "lazily imports"),
        ("research_agent.options", "from .corpus import open_collection\n", "imports research_agent.corpus"),
        ("research_agent.cli", "from .agents import planner\n", "imports research_agent.agents"),
    ],
)
def test_a_wrong_import_is_caught(module: str, source: str, problem: str) -> None:
    """The rule test itself bites: each of these added imports is reported."""
    graph = _graph()
    path = MODULES[module]
    visitor = _Imports(module, path.name == "__init__.py")
    visitor.visit(ast.parse(source))
    graph[module] = graph[module] + [(_owner(name) or name, lazy) for name, lazy in visitor.found]
    assert any(problem in line and line.startswith(module) for line in _violations(graph))


def test_a_cycle_is_caught() -> None:
    graph = _graph()
    graph["research_agent.schema"] = [*graph["research_agent.schema"], ("research_agent.naming", True)]
    assert _cycles(graph)


def test_the_catalog_names_the_bundled_collections() -> None:
    """`catalog` lists the bundled collections without loading them; it must agree with `corpus`."""
    from research_agent.catalog import BUNDLED_NAMES
    from research_agent.corpus import BUNDLED

    assert tuple(BUNDLED) == BUNDLED_NAMES
