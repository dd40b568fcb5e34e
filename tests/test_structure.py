"""The shape of the code, kept by a test: the stages side by side, Prefect only in flows/, and no
import cycle between packages or between files.

Every import of src/arhiva counts, also those inside functions and under TYPE_CHECKING: a lazy
import is still a dependency.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"

# What every part may use: the shared modules and the data the stages pass each other.
FOUNDATION = ("arhiva", "errors", "atomic", "checksum", "text", "proc", "config", "schemas")
# The stages a page goes through. Each uses only the foundation: none imports another, and the
# flow composes them. (indexing/ reads what archive/ wrote: the index is derived from the archive.)
STAGES = ("ingest", "ocr", "archive")


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted((SRC / "arhiva").rglob("*.py")):
        parts = path.relative_to(SRC).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


MODULES = _modules()


def _imports(path: Path) -> Iterator[tuple[str, int]]:
    """(module imported, line) of every import in the file, submodules of `from x import y` resolved."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                yield (sub if sub in MODULES else node.module), node.lineno


def _part(module: str) -> str:
    """The package (or top-level module) a module of arhiva belongs to: 'ocr', 'cli', 'arhiva'."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "arhiva"


def _graph() -> dict[str, set[str]]:
    return {
        name: {imported for imported, _ in _imports(path) if imported in MODULES and imported != name}
        for name, path in MODULES.items()
    }


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan), i.e. the cycles."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_module_table_sees_the_code() -> None:
    # A test that finds no modules (a moved source tree) would pass whatever the code does.
    assert {"arhiva.cli", "arhiva.flows.ingest", "arhiva.ocr.page", "arhiva.archive.pdfa"} <= set(MODULES)
    assert "arhiva.archive.pdfa" in _graph()["arhiva.archive.assemble"]


def test_prefect_is_imported_only_under_flows() -> None:
    wrong = [
        f"{path.relative_to(SRC)}:{line} imports {imported}"
        for name, path in MODULES.items()
        for imported, line in _imports(path)
        if imported.split(".")[0] in ("prefect", "prefect_dask") and _part(name) != "flows"
    ]
    assert not wrong, wrong


def test_stages_use_only_the_foundation_and_the_foundation_no_stage() -> None:
    wrong = []
    for name, path in MODULES.items():
        part = _part(name)
        if part in STAGES:
            allowed = {*FOUNDATION, part}
        elif part in FOUNDATION:
            allowed = set(FOUNDATION)
        else:
            continue
        for imported, line in _imports(path):
            if imported in MODULES and _part(imported) not in allowed:
                wrong.append(f"{path.relative_to(SRC)}:{line} ({part}) imports {imported}")
    assert not wrong, wrong


def test_no_import_cycle_between_files() -> None:
    assert not _cycles(_graph())


def test_no_import_cycle_between_packages() -> None:
    packages: dict[str, set[str]] = {}
    for name, imported in _graph().items():
        packages.setdefault(_part(name), set()).update(_part(i) for i in imported if _part(i) != _part(name))
    assert not _cycles(packages)
