"""No import cycles inside riskd/: the module-level import graph is a DAG.

Every module's AST is walked for the imports that run when it is imported: module-level
statements, including those under ``if``/``try``/``with`` and in class bodies, but not those
under ``if TYPE_CHECKING:`` nor inside functions. ``from a.b import c`` is an edge to ``a.b.c``
when that is a module, else to ``a.b``. A package's implicit import of its parent
``__init__`` is not an edge (Python resolves that without a cycle).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "riskd"

#: Cycles in packages another helper is rewriting right now (issue 16). Each entry names its
#: owner; remove it when that rewrite lands and the test is strict again. Entries that no
#: longer match a cycle fail the test, so the list can only shrink.
KNOWN: dict[frozenset[str], str] = {}


def module_name(path: Path, root: Path = PACKAGE) -> str:
    """``riskd/daemon/app.py`` → ``riskd.daemon.app``; ``riskd/sim/__init__.py`` → ``riskd.sim``."""
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def _runtime_imports(body: list[ast.stmt]) -> Iterator[ast.Import | ast.ImportFrom]:
    """The import statements of ``body`` that run at import time."""
    for node in body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.If):
            if not _is_type_checking(node.test):
                yield from _runtime_imports(node.body)
            yield from _runtime_imports(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody):
                yield from _runtime_imports(block)
            for handler in node.handlers:
                yield from _runtime_imports(handler.body)
        elif isinstance(node, ast.With | ast.ClassDef):
            yield from _runtime_imports(node.body)


def _base(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    parts = module.split(".")
    keep = len(parts) - node.level + (1 if is_package else 0)
    base = ".".join(parts[:keep])
    return f"{base}.{node.module}" if node.module else base


def import_graph(root: Path = PACKAGE) -> dict[str, set[str]]:
    """Module → the modules of ``root``'s package it imports at import time."""
    files = {module_name(p, root): p for p in sorted(root.rglob("*.py"))}
    graph: dict[str, set[str]] = {m: set() for m in files}
    for module, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        is_package = path.name == "__init__.py"
        for node in _runtime_imports(tree.body):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = _base(module, is_package, node)
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    targets.append(sub if sub in files else base)
            graph[module].update(t for t in targets if t in files and t != module)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
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
            component: list[str] = []
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
    return sorted(found)


def test_riskd_has_no_import_cycles() -> None:
    """No module of riskd/ imports itself back through other modules at import time."""
    found = cycles(import_graph())
    unexpected = [c for c in found if frozenset(c) not in KNOWN]
    assert unexpected == [], "import cycles: " + "; ".join(" ↔ ".join(c) for c in unexpected)
    stale = [owner for members, owner in KNOWN.items() if sorted(members) not in found]
    assert stale == [], f"known cycles that are gone (remove them from KNOWN): {stale}"


def _write(root: Path, files: dict[str, str]) -> Path:
    pkg = root / "pkg"
    for name, text in files.items():
        path = pkg / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return pkg


def test_a_cycle_is_found(tmp_path: Path) -> None:
    """A two-module cycle (relative and absolute imports) is reported as one component."""
    pkg = _write(
        tmp_path,
        {
            "__init__.py": "",
            "a.py": "from pkg.b import thing\n",
            "b.py": "from . import c\n",
            "c.py": "import pkg.a\n",
            "d.py": "from pkg import a\n",
        },
    )
    assert cycles(import_graph(pkg)) == [["pkg.a", "pkg.b", "pkg.c"]]


@pytest.mark.parametrize(
    "guarded",
    [
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.a import x\n",
        "import typing\nif typing.TYPE_CHECKING:\n    from pkg.a import x\n",
        "def f():\n    from pkg.a import x\n    return x\n",
    ],
)
def test_type_checking_and_function_imports_do_not_count(tmp_path: Path, guarded: str) -> None:
    """An import under `if TYPE_CHECKING:` or inside a function is not a module-level edge."""
    pkg = _write(tmp_path, {"__init__.py": "", "a.py": "import pkg.b\n", "b.py": guarded})
    assert cycles(import_graph(pkg)) == []


def test_imports_in_try_and_class_bodies_count(tmp_path: Path) -> None:
    """Imports under try/except, else-branches and class bodies run at import time."""
    pkg = _write(
        tmp_path,
        {
            "__init__.py": "",
            "a.py": "try:\n    import pkg.b\nexcept ImportError:\n    pass\n",
            "b.py": "class K:\n    from pkg.sub import c\n",
            "sub/__init__.py": "",
            "sub/c.py": "if False:\n    pass\nelse:\n    from ..a import x\n",
        },
    )
    assert cycles(import_graph(pkg)) == [["pkg.a", "pkg.b", "pkg.sub.c"]]
