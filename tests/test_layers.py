"""The import graph of ``parity``: one direction, no cycles, no hidden function-local imports.

Layers (README "Layout"): 0 foundation (errors, arrays, files, schema, trace, export) -> 1 domain (decode,
kernels, families, presets) -> 2 impls -> 3 analysis (compare, diagnose, summary, dumps) -> 4 workflows
(case, external, engine, golden, gguf, matrix, sweep) -> 5 rendering (report) -> 6 entry points (cli,
pytest_plugin). A module imports only from its own layer or lower ones.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "parity"

LAYERS = {
    0: ("parity.errors", "parity.arrays", "parity.files", "parity.schema", "parity.trace", "parity.export"),
    1: ("parity.decode", "parity.kernels", "parity.families", "parity.presets"),
    2: ("parity.impls",),
    3: ("parity.compare", "parity.diagnose", "parity.summary", "parity.dumps"),
    4: ("parity.case", "parity.external", "parity.engine", "parity.golden", "parity.gguf", "parity.matrix",
        "parity.sweep"),
    5: ("parity.report",),
    6: ("parity.cli", "parity.pytest_plugin"),
}
#: the only module allowed function-local imports (each command imports what it needs, so the CLI
#: starts fast and its error paths never load torch)
LOCAL_IMPORTS_ALLOWED = ("parity.cli",)


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py")) if "node_modules" not in p.parts}


def layer_of(module: str) -> int | None:
    if module == "parity":  # the package's __init__: a docstring
        return 0
    for layer, prefixes in LAYERS.items():
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return layer
    return None


def resolve(importer: str, node: ast.ImportFrom | ast.Import) -> list[str]:
    """The parity modules an import statement loads."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name.startswith("parity")]
    if node.level:  # relative: from . import x / from .mod import y
        base = importer.split(".")
        if not MODULES[importer].name == "__init__.py":
            base = base[:-1]
        base = base[: len(base) - (node.level - 1)]
        mod = ".".join(base + ([node.module] if node.module else []))
    else:
        mod = node.module or ""
    if not mod.startswith("parity"):
        return []
    out = []
    for alias in node.names:
        sub = f"{mod}.{alias.name}"
        out.append(sub if sub in MODULES else mod)
    return out


def imports(module: str) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """(module-level parity imports, function-local imports of anything) with line numbers."""
    tree = ast.parse(MODULES[module].read_text())
    local_nodes = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for sub in ast.walk(node):
                if isinstance(sub, ast.Import | ast.ImportFrom):
                    local_nodes.add(id(sub))
    top, local = [], []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            if id(node) in local_nodes:
                local.append((ast.unparse(node), node.lineno))
            else:
                top.extend((m, node.lineno) for m in resolve(module, node))
    return top, local


GRAPH = {m: imports(m) for m in MODULES}


def test_every_module_has_a_layer():
    assert [m for m in MODULES if layer_of(m) is None] == []


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_point_down(module):
    up = [f"line {line}: {target} (layer {layer_of(target)})" for target, line in GRAPH[module][0]
          if layer_of(target) is not None and layer_of(target) > layer_of(module)]
    assert up == [], f"{module} (layer {layer_of(module)}) imports upward: {up}"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m not in LOCAL_IMPORTS_ALLOWED))
def test_no_function_local_imports(module):
    assert GRAPH[module][1] == [], f"{module} imports inside functions: {GRAPH[module][1]}"


def test_no_import_cycles():
    edges = {m: sorted({t for t, _ in GRAPH[m][0] if t in MODULES and t != m}) for m in MODULES}
    # a package's __init__ importing its own submodules is not a cycle with them; a submodule importing
    # its package's __init__ for a name would be, and is reported
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for t in edges[m]:
            if state.get(t) == 1:
                cycles.append(stack[stack.index(t):] + [t])
            elif t not in state:
                visit(t)
        stack.pop()
        state[m] = 2

    for m in sorted(edges):
        if m not in state:
            visit(m)
    assert cycles == [], "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_the_check_catches_an_upward_import(tmp_path):
    """The checker itself: an impl importing the report layer is flagged."""
    node = ast.parse("from parity.report.text import render_run").body[0]
    targets = resolve("parity.impls.base", node)
    assert targets == ["parity.report.text"] and layer_of(targets[0]) > layer_of("parity.impls.base")
