"""The house's figures (issue 14): how big the rooms are and how many ways there are to do one
thing, measured from the source with ``ast`` (nothing imported), so that the figures in the
notes can be measured again on any tree.

    python scripts/house_figures.py [ROOT]      # ROOT: a checkout (default: this one)

Prints: the largest module and the longest function under ``bot/``, how many functions run to
50 lines or more, the stage context types and their builders, the writes into a context from
outside it (``x.__dict__[...]``, ``services.<attr> = ...``), the contexts typed ``Any``, and the
readers of the data branch's release and monitor records.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

LONG = 50
# the names a stage context goes by: the handlers' Services and the stages' own environments
CONTEXT_PARAMS = {"services", "env", "ctx", "context"}
SHELL = ("stages", "commands")


def _is_context_type(name: str) -> bool:
    return name in {"Services", "StageContext"} or name.endswith("Env")


def _modules(root: Path) -> list[tuple[Path, ast.Module]]:
    return [(p, ast.parse(p.read_text(encoding="utf-8"), str(p)))
            for p in sorted((root / "bot").rglob("*.py"))]


def _functions(tree: ast.Module) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]


def _in_shell(path: Path, root: Path) -> bool:
    return path.relative_to(root / "bot").parts[0] in SHELL


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} | {
        n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)}


def figures(root: Path) -> dict[str, object]:
    mods = _modules(root)
    rel = {p: str(p.relative_to(root)) for p, _ in mods}
    lines = {p: len(p.read_text(encoding="utf-8").splitlines()) for p, _ in mods}
    largest = max(lines, key=lambda p: lines[p])
    funcs = [(rel[p], f.name, (f.end_lineno or f.lineno) - f.lineno + 1)
             for p, tree in mods for f in _functions(tree)]
    funcs.sort(key=lambda x: -x[2])

    types = sorted({f"{rel[p]}:{n.name}" for p, tree in mods if _in_shell(p, root)
                    for n in ast.walk(tree)
                    if isinstance(n, ast.ClassDef) and _is_context_type(n.name)})
    type_names = {t.rsplit(":", 1)[1] for t in types}
    builders = []
    for p, tree in mods:
        if not _in_shell(p, root):
            continue
        for f in _functions(tree):
            returns = ast.unparse(f.returns) if f.returns else ""
            if returns.strip("'\"") in type_names or (
                    returns == "Any" and f.name.endswith(("_env", "services"))):
                builders.append(f"{rel[p]}:{f.name}")
    dict_writes = []
    outside_writes = []
    any_contexts = []
    readers = []
    for p, tree in mods:
        for n in ast.walk(tree):
            targets = n.targets if isinstance(n, ast.Assign) else (
                [n.target] if isinstance(n, ast.AnnAssign | ast.AugAssign) else [])
            for t in targets:
                if isinstance(t, ast.Subscript) and isinstance(t.value, ast.Attribute) \
                        and t.value.attr == "__dict__":
                    dict_writes.append(f"{rel[p]}:{n.lineno}")
                if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) \
                        and t.value.id == "services":
                    outside_writes.append(f"{rel[p]}:{n.lineno}")
        if not _in_shell(p, root):
            continue
        for f in _functions(tree):
            for a in [*f.args.args, *f.args.kwonlyargs]:
                if a.arg in CONTEXT_PARAMS and a.annotation is not None \
                        and ast.unparse(a.annotation) == "Any":
                    any_contexts.append(f"{rel[p]}:{f.name}({a.arg})")

    # a reader of the records: lists the record paths and reads their blobs, or checks them
    for p, tree in mods:
        if p.relative_to(root / "bot").parts[0] not in ("adapters", *SHELL):
            continue
        for f in _functions(tree):
            used = _names(f)
            if "sort_records" in used or (
                    used & {"RELEASES_DIR", "MONITORS_DIR", "is_record_path"}
                    and used & {"read_blobs", "read_json_files"}):
                readers.append(f"{rel[p]}:{f.name}")
    core = root / "bot" / "core"
    return {
        "largest module": f"{rel[largest]} ({lines[largest]} lines)",
        "modules over 1,000 lines": sum(1 for n in lines.values() if n > 1000),
        "longest function": f"{funcs[0][0]}:{funcs[0][1]} ({funcs[0][2]} lines)",
        f"functions of {LONG}+ lines": sum(1 for f in funcs if f[2] >= LONG),
        "the eight longest functions": [f"{m}:{n} {k}" for m, n, k in funcs[:8]],
        "modules directly in bot/core": sum(1 for p in core.glob("*.py")
                                            if p.name != "__init__.py"),
        "packages in bot/core": sorted(p.name for p in core.iterdir()
                                       if (p / "__init__.py").is_file()),
        "context types": types,
        "context builders": builders,
        "__dict__ writes": dict_writes,
        "writes into services from outside": outside_writes,
        "contexts typed Any": any_contexts,
        "record readers": readers,
    }


def main(argv: list[str]) -> int:
    root = Path(argv[0]).resolve() if argv else Path(__file__).resolve().parents[1]
    for key, value in figures(root).items():
        if isinstance(value, list):
            print(f"{key}: {len(value)}")
            for item in value:
                print(f"    {item}")
        else:
            print(f"{key}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
