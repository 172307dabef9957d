"""The house rules (ARCHITECTURE.md), read from the source: every module under ``bot/`` parsed
(``ast``, nothing imported), its imports collected, and the graph checked.

- no import circle among the bot's modules;
- no stage imports another stage (a stage: a module of ``bot/stages`` with a ``router``, the
  handlers of some events; only the ``handle`` command composes them);
- the core (``bot/core``) imports no adapter, no stage, no command, and nothing that does I/O
  (PyGithub, GitPython, subprocess, os, the file system, the network);
- the adapters import no stage and no command; the stages no command.

Imports under ``if TYPE_CHECKING:`` are for the type checker alone and never run: they count
for the layers, not for the circles. ``importlib.import_module(f"bot.stages.{name}")`` counts as
an import of every module its constant prefix names (the way the stages are composed).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BOT = ROOT / "bot"

# what the core may not import: the outer layers, and the libraries that reach the outside
CORE_FORBIDDEN = ("bot.adapters", "bot.stages", "bot.commands", "bot.cli", "bot.sandbox",
                  "bot.demo", "bot.secrets", "github", "git", "subprocess", "os", "sys",
                  "shutil", "socket", "tempfile", "urllib", "http", "requests", "httpx")
# imports that run the CLI as a program, not one module using another: the sandbox's Actions
# runner forks a step process that runs `improve` as Actions does, and the MCP server runs the
# CLI's commands for an agent as a shell would (both import bot.cli when they run it)
RUNS_THE_CLI = {("bot.sandbox.step_process", "bot.cli"), ("bot.commands._mcp_server", "bot.cli")}
# pathlib's pure paths are strings with manners; a Path reads and writes
CORE_ALLOWED_NAMES = {("pathlib", "PurePosixPath"), ("pathlib", "PurePath")}


def _module_name(path: Path, top: Path) -> str:
    parts = list(path.relative_to(top).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    base = base if is_package else base[:-1]
    base = base[:len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def _constant_prefix(arg: ast.expr) -> str:
    """The leading constant text of a module name given as a string or an f-string."""
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return arg.value
    if isinstance(arg, ast.JoinedStr) and arg.values:
        first = arg.values[0]
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            return first.value
    return ""


class Imports(ast.NodeVisitor):
    """(imported module, imported name or None, type-checking only) for every import."""

    def __init__(self, module: str, is_package: bool) -> None:
        self.module, self.is_package = module, is_package
        self.found: list[tuple[str, str | None, bool]] = []
        self._typing = 0

    def visit_If(self, node: ast.If) -> None:
        if _is_type_checking(node):
            self._typing += 1
            for child in node.body:
                self.visit(child)
            self._typing -= 1
            for child in node.orelse:
                self.visit(child)
        else:
            self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.found.append((alias.name, None, self._typing > 0))

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else (
            func.id if isinstance(func, ast.Name) else "")
        if name == "import_module" and node.args:
            prefix = _constant_prefix(node.args[0])
            if prefix:
                self.found.append((prefix + "*", None, self._typing > 0))
        self.generic_visit(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = _resolve(self.module, self.is_package, node)
        for alias in node.names:
            self.found.append((base, alias.name, self._typing > 0))


def _has_router(tree: ast.Module) -> bool:
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else (
            [node.target] if isinstance(node, ast.AnnAssign) else [])
        if any(isinstance(t, ast.Name) and t.id == "router" for t in targets):
            return True
    return False


def read_tree(root: Path = BOT) -> tuple[dict[str, list[tuple[str, str | None, bool]]],
                                         set[str]]:
    """Each module's imports, and the stages (the modules of bot/stages with a router)."""
    imports: dict[str, list[tuple[str, str | None, bool]]] = {}
    stages: set[str] = set()
    for path in sorted(root.rglob("*.py")):
        module = _module_name(path, root.parent)
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        visitor = Imports(module, path.name == "__init__.py")
        visitor.visit(tree)
        imports[module] = visitor.found
        if module.startswith("bot.stages.") and _has_router(tree):
            stages.add(module)
    return imports, stages


def _targets(imported: str, name: str | None, modules: set[str]) -> set[str]:
    """The bot modules an import loads: ``from bot.stages import monitor`` loads the module
    ``bot.stages.monitor``, ``from bot.stages.monitor import x`` loads ``bot.stages.monitor``;
    a dynamic ``bot.stages.*`` any module under that prefix."""
    if imported.endswith("*"):
        prefix = imported[:-1]
        return {m for m in modules if m.startswith(prefix) and m != prefix.rstrip(".")}
    if name is not None and f"{imported}.{name}" in modules:
        return {f"{imported}.{name}"}
    return {imported} if imported in modules else set()


def edges(imports: dict[str, list[tuple[str, str | None, bool]]], *,
          typing: bool) -> dict[str, set[str]]:
    modules = set(imports)
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for module, found in imports.items():
        for imported, name, type_only in found:
            if type_only and not typing:
                continue
            graph[module] |= _targets(imported, name, modules) - {module}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def stage_imports(imports: dict[str, list[tuple[str, str | None, bool]]],
                  stages: set[str]) -> list[str]:
    graph = edges(imports, typing=True)
    return sorted(f"{m} imports {t}" for m, targets in graph.items() if m.startswith("bot.stages.")
                  for t in targets if t in stages)


def core_violations(imports: dict[str, list[tuple[str, str | None, bool]]]) -> list[str]:
    bad = []
    for module, found in imports.items():
        if not module.startswith("bot.core"):
            continue
        for imported, name, _ in found:
            if (imported, name) in CORE_ALLOWED_NAMES:
                continue
            if any(imported == f or imported.startswith(f + ".") for f in CORE_FORBIDDEN):
                bad.append(f"{module} imports {imported}" + (f".{name}" if name else ""))
    return sorted(bad)


def layer_violations(imports: dict[str, list[tuple[str, str | None, bool]]]) -> list[str]:
    """Adapters import no stage or command; stages no command."""
    above = {"bot.adapters": ("bot.stages", "bot.commands", "bot.cli"),
             "bot.stages": ("bot.commands", "bot.cli")}
    graph = edges(imports, typing=True)
    return sorted(f"{m} imports {t}" for m, targets in graph.items() for layer, banned in
                  above.items() if m.startswith(layer + ".") for t in targets
                  if t.startswith(banned))


@pytest.fixture(scope="module")
def tree() -> tuple[dict[str, list[tuple[str, str | None, bool]]], set[str]]:
    return read_tree()


def test_the_stages_are_found(tree: tuple[dict, set[str]]) -> None:
    """The rule below means something only if it sees the stages the ``handle`` command
    composes."""
    from bot.commands.handle import STAGES

    _, stages = tree
    assert stages == {f"bot.stages.{name}" for name, _ in STAGES}


def test_no_import_circle(tree: tuple[dict, set[str]]) -> None:
    imports, _ = tree
    graph = edges(imports, typing=False)
    for module, target in RUNS_THE_CLI:
        assert target in graph[module], "no longer imported: drop it from RUNS_THE_CLI"
        graph[module].discard(target)
    assert cycles(graph) == []


def second_homes(core: Path) -> list[str]:
    """Modules of the core named like another one of it (``stats.py`` beside
    ``comparison/stats.py``): a module that moved into a package leaves no shim behind, so each
    has one home and one import path."""
    homes: dict[str, list[str]] = {}
    for path in sorted(core.rglob("*.py")):
        if path.name != "__init__.py" and "__pycache__" not in path.parts:
            homes.setdefault(path.stem, []).append(path.relative_to(core).as_posix())
    return [" and ".join(paths) for paths in homes.values() if len(paths) > 1]


def test_each_core_module_has_one_home() -> None:
    assert second_homes(BOT / "core") == []
    assert {p.name for p in (BOT / "core").iterdir() if (p / "__init__.py").is_file()} >= {
        "comparison", "release", "analytics"}


def test_no_stage_imports_another_stage(tree: tuple[dict, set[str]]) -> None:
    imports, stages = tree
    assert stage_imports(imports, stages) == []


def test_the_core_does_no_io(tree: tuple[dict, set[str]]) -> None:
    imports, _ = tree
    assert core_violations(imports) == []


def test_each_layer_imports_only_those_below(tree: tuple[dict, set[str]]) -> None:
    imports, _ = tree
    assert layer_violations(imports) == []


def test_the_checks_catch_what_they_are_for(tmp_path: Path) -> None:
    """A small tree with one of each fault: the checks must name each one."""
    pkg = tmp_path / "bot"
    for sub in ("core", "stages", "adapters"):
        (pkg / sub).mkdir(parents=True)
        (pkg / sub / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "core" / "a.py").write_text("import subprocess\nfrom bot.adapters import io_\n")
    (pkg / "adapters" / "io_.py").write_text("from bot.core import b\n")
    (pkg / "core" / "b.py").write_text("def f():\n    from bot.core import c\n")
    (pkg / "core" / "c.py").write_text("from bot.core.b import f\n")
    (pkg / "stages" / "compose.py").write_text(
        "import importlib\ndef all_():\n    importlib.import_module(f'bot.stages.{1}')\n")
    (pkg / "stages" / "three.py").write_text("from bot.stages import compose\n")
    (pkg / "stages" / "one.py").write_text("router = 1\nfrom bot.stages import two\n")
    (pkg / "stages" / "two.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from bot.stages.one import x\n"
        "router: int = 2\n")
    imports, stages = read_tree(pkg)
    assert stages == {"bot.stages.one", "bot.stages.two"}
    assert cycles(edges(imports, typing=False)) == [
        ["bot.core.b", "bot.core.c"], ["bot.stages.compose", "bot.stages.three"]]
    assert stage_imports(imports, stages) == ["bot.stages.compose imports bot.stages.one",
                                              "bot.stages.compose imports bot.stages.two",
                                              "bot.stages.one imports bot.stages.two",
                                              "bot.stages.two imports bot.stages.one"]
    assert core_violations(imports) == ["bot.core.a imports bot.adapters.io_",
                                        "bot.core.a imports subprocess"]
    (pkg / "core" / "grouped").mkdir()
    (pkg / "core" / "grouped" / "a.py").write_text("")
    assert second_homes(pkg / "core") == ["a.py and grouped/a.py"]

