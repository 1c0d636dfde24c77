"""The layers stay apart: the engine never imports a GUI toolkit; the panels never import torch or the CLI.

The engine is a library, checked two ways: statically (every import statement in every file,
including imports inside functions) and dynamically (importing every engine module in a fresh
interpreter leaves no GUI module in sys.modules). Panels only draw: every file under rgviz/ui is
checked statically for torch and ``engine.cli`` (the engine itself imports torch, so only the
import statements can tell).
"""

import ast
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import engine

FORBIDDEN = {"PySide6", "shiboken6", "pyqtgraph", "vispy", "PyQt5", "PyQt6", "qtpy"}
ENGINE_DIR = Path(engine.__file__).parent
UI_DIR = ENGINE_DIR.parent / "rgviz" / "ui"
#: What a panel may not import: tensors stay in the engine, and the CLI is a face, not a library.
UI_FORBIDDEN = {"torch", "engine.cli"}
#: Panels not yet moved onto engine studies; drop an entry when its file passes.
UI_NOT_YET: set[str] = set()


def imported_modules(path: Path) -> set[str]:
    """Every absolute module an import statement in ``path`` names (``from a import b`` gives a and a.b)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in (
                "import_module", "__import__") and node.args and isinstance(node.args[0], ast.Constant):
            names.add(str(node.args[0].value))
    return names


def imported_roots(path: Path) -> set[str]:
    return {name.split(".")[0] for name in imported_modules(path)}


def forbidden_in(path: Path, forbidden: set[str]) -> list[str]:
    """The names ``path`` imports that are in ``forbidden`` or inside it (torch covers torch.nn)."""
    return sorted(name for name in imported_modules(path) if any(name == f or name.startswith(f + ".")
                                                                  for f in forbidden))


def test_no_engine_file_imports_a_gui_toolkit():
    files = sorted(ENGINE_DIR.rglob("*.py"))
    assert len(files) > 5
    offenders = {str(f.relative_to(ENGINE_DIR)): sorted(imported_roots(f) & FORBIDDEN) for f in files}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_static_check_catches_a_forbidden_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from PySide6 import QtCore\n    import importlib\n"
                   "    importlib.import_module('vispy.scene')\n")
    assert imported_roots(bad) & FORBIDDEN == {"PySide6", "vispy"}


def test_importing_every_engine_module_loads_no_gui_module():
    names = [m.name for m in pkgutil.walk_packages([str(ENGINE_DIR)], prefix="engine.")
             if not m.name.endswith("__main__")]
    code = (
        "import importlib, json, sys\n"
        f"for n in {names!r}: importlib.import_module(n)\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {sorted(FORBIDDEN)!r})))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=ENGINE_DIR.parent)
    assert json.loads(out.stdout) == []


def test_no_panel_imports_torch_or_the_cli():
    files = sorted(f for f in UI_DIR.rglob("*.py") if f.name not in UI_NOT_YET)
    assert len(files) > 5
    offenders = {str(f.relative_to(UI_DIR)): forbidden_in(f, UI_FORBIDDEN) for f in files}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_ui_check_catches_torch_and_the_cli(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import torch.nn\nfrom engine import cli\nfrom engine.errors import ParameterError\n"
                   "def f():\n    from engine.cli.sweep import summarise\n")
    assert forbidden_in(bad, UI_FORBIDDEN) == ["engine.cli", "engine.cli.sweep", "engine.cli.sweep.summarise",
                                               "torch.nn"]
    good = tmp_path / "good.py"
    good.write_text("import numpy as np\nfrom engine.studies.sweep import summarise\nimport torchvision_like\n")
    assert forbidden_in(good, UI_FORBIDDEN) == []


# --- no import loops --------------------------------------------------------------------------
#
# Every import statement counts, those inside functions included: a lazy import that closes a loop
# hides the loop from the interpreter, not from the design (the two modules still need each other,
# and neither can be understood, tested or moved alone).

ROOT = ENGINE_DIR.parent
PACKAGES = ("engine", "rgviz")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_within(path: Path, modules: set[str]) -> set[str]:
    """The modules of ``modules`` that ``path`` imports (relative imports resolved; ``from p import m``
    names the submodule p.m when there is one, else the package p)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base)
    return {m for m in found if m in modules and m != name}


def import_graph() -> dict[str, set[str]]:
    files = [f for package in PACKAGES for f in sorted((ROOT / package).rglob("*.py"))]
    modules = {module_name(f) for f in files}
    return {module_name(f): imports_within(f, modules) for f in files}


def loops(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
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
    return sorted(found)


def test_no_import_loops_in_engine_or_rgviz():
    graph = import_graph()
    assert len(graph) > 50 and "rgviz.ui.phase" in graph["rgviz.ui.registry"]
    assert loops(graph) == []


def test_loop_finder_sees_a_loop_through_a_function_level_import(tmp_path, monkeypatch):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from . import b\n")
    (package / "b.py").write_text("def f():\n    from .c import g\n")
    (package / "c.py").write_text("import pkg.a\nfrom pkg import b\n")
    (package / "d.py").write_text("from pkg.a import x\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    modules = {module_name(f) for f in package.glob("*.py")}
    graph = {module_name(f): imports_within(f, modules) for f in package.glob("*.py")}
    assert graph["pkg.d"] == {"pkg.a"}
    assert loops(graph) == [["pkg.a", "pkg.b", "pkg.c"]]
