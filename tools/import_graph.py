"""Module sizes and import cycles of pynenc_nb and kernel_magics, read from the source with ``ast``.

Three graphs are measured, each containing the one before it: imports at module level (run when the
module loads), plus imports inside functions (run when called), plus imports under
``if TYPE_CHECKING:`` (read only by the type checker). A cycle is a strongly connected component of
more than one module. ``python tools/import_graph.py`` prints the figures; ``--edges`` lists the
arrows inside each cycle.
"""

from __future__ import annotations

import argparse
import ast
import statistics
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("pynenc_nb", "kernel_magics")
KINDS = ("module", "function", "type")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def sources() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            found[module_name(path)] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, kind: str, package: str) -> Iterator[tuple[str, str, str]]:
    """Yield (name, its module, kind) for every imported name, the kind set by where it stands.

    `from package import module` imports the module, not the package (as grimp reads it): the
    caller takes the first of the two that is a module of ours.
    """
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                yield from _imports(ast.Module(body=[child], type_ignores=[]), "type", package)
            for child in node.orelse:
                yield from _imports(ast.Module(body=[child], type_ignores=[]), kind, package)
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, alias.name, kind
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base]) if base else ".".join(anchor)
            for alias in node.names:
                yield f"{base}.{alias.name}", base, kind
        inner = "function" if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and kind == "module" else kind
        yield from _imports(node, inner, package)


def edges(modules: dict[str, Path]) -> dict[str, set[tuple[str, str]]]:
    """Every module's arrows to other modules of ours, each with its kind."""
    graph: dict[str, set[tuple[str, str]]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        tree = ast.parse(path.read_text(), str(path))
        for imported, module, kind in _imports(tree, "module", package):
            target = imported if imported in modules else module
            if target in modules and target != name:
                graph[name].add((target, kind))
    return graph


def cycles(graph: dict[str, set[tuple[str, str]]], kinds: tuple[str, ...]) -> list[list[str]]:
    """Strongly connected components of more than one module, over arrows of the given kinds."""
    adjacency = {name: sorted({t for t, k in targets if k in kinds}) for name, targets in graph.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for target in adjacency[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for name in adjacency:
        if name not in index:
            visit(name)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edges", action="store_true", help="list the arrows inside each cycle")
    args = parser.parse_args()
    modules = sources()
    lines = [len(path.read_text().splitlines()) for path in modules.values()]
    print(f"modules: {len(modules)}  lines: {sum(lines)}")
    print(f"module size: mean {statistics.mean(lines):.0f}, median {statistics.median(lines):.0f}, max {max(lines)}")
    graph = edges(modules)
    for depth in range(1, len(KINDS) + 1):
        kinds = KINDS[:depth]
        found = cycles(graph, kinds)
        members = sum(len(c) for c in found)
        print(f"cycles over {' + '.join(kinds)} imports: {len(found)} ({members} modules)")
        if args.edges:
            for component in found:
                inside = set(component)
                print("  - " + ", ".join(component))
                for source in component:
                    for target, kind in sorted(graph[source]):
                        if target in inside and kind in kinds:
                            print(f"      {source} -> {target} ({kind})")


if __name__ == "__main__":
    main()
