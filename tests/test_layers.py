"""The package's floors: every import of vaekit's own modules points down the order written at
the top of docs/layout.md, and no modules import each other in a cycle. Imports inside
functions count too (they hide a layering mistake, they do not fix it); only those under
``if TYPE_CHECKING:`` are left out, since they never run."""

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "vaekit"
LAYOUT = PACKAGE.parents[1] / "docs" / "layout.md"


def layer_order() -> list[str]:
    """The order as docs/layout.md states it: 'core -> config -> ... -> cli'."""
    line = next(line for line in LAYOUT.read_text().splitlines() if " -> " in line)
    return [name.strip(" `") for name in line.split("->")]


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    return skipped


def _target(name: str) -> str | None:
    """The vaekit module an imported dotted name lives in (a name inside a module: the module)."""
    parts = name.split(".")
    while parts and ".".join(parts) not in MODULES:
        parts.pop()
    return ".".join(parts) or None


def imports_of(module: str) -> set[str]:
    """The vaekit modules ``module`` imports anywhere in its body, TYPE_CHECKING blocks aside.
    ``from package import submodule`` counts as an import of the submodule only."""
    path = MODULES[module]
    tree = ast.parse(path.read_text())
    skipped = _type_checking_nodes(tree)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against the importing package
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            subs = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in MODULES]
            names = subs if len(subs) == len(node.names) else [base, *subs]
        else:
            continue
        for name in names:
            target = _target(name) if name.split(".")[0] == "vaekit" else None
            if target and target != module:
                found.add(target)
    return found


def layer_of(module: str, order: list[str]) -> int:
    """The floor of a module: its subpackage's place in the order; top-level modules (the
    package root, ``__main__``) stand above every floor, unless the order names them."""
    parts = module.split(".")
    if len(parts) > 1 and parts[1] in order:
        return order.index(parts[1])
    return len(order)


def test_the_layout_page_states_an_order_naming_every_subpackage():
    order = layer_order()
    subpackages = {p.parent.name for p in PACKAGE.glob("*/__init__.py")}
    top_modules = {p.stem for p in PACKAGE.glob("*.py")} - {"__init__", "__main__"}
    assert subpackages | top_modules == set(order), "docs/layout.md's order misses a floor"


def test_every_import_points_down_the_order():
    order = layer_order()
    upward = [
        f"{module} imports {target}, a floor above it"
        for module in MODULES
        for target in sorted(imports_of(module))
        if layer_of(target, order) > layer_of(module, order)
    ]
    assert not upward, "imports against the order:\n" + "\n".join(upward)


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components: any of more than one module is a cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    components = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while not component or component[-1] != v:
                component.append(stack.pop())
            components.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return components


def test_no_modules_import_each_other_in_a_cycle():
    graph = {module: imports_of(module) for module in MODULES}
    cycles = [c for c in strongly_connected(graph) if len(c) > 1]
    assert not cycles, "modules in import cycles: " + "; ".join(", ".join(c) for c in cycles)


def test_the_cycle_check_finds_a_planted_cycle():
    assert strongly_connected({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [
        ["a", "b", "c"],
        ["d"],
    ]


def test_no_module_reaches_vaekit_through_importlib():
    dynamic = re.compile(r"(import_module|__import__)\(\s*[\"']vaekit")
    offenders = [name for name, path in MODULES.items() if dynamic.search(path.read_text())]
    assert not offenders


@pytest.mark.parametrize(
    "init", sorted(p for p in PACKAGE.rglob("__init__.py") if p.parent != PACKAGE), ids=str
)
def test_package_inits_only_re_export(init: Path):
    tree = ast.parse(init.read_text())
    allowed = (ast.ImportFrom, ast.Import, ast.Expr)  # Expr: the docstring
    body = [node for node in tree.body if not isinstance(node, allowed)]
    exported = [
        n for n in body if isinstance(n, ast.Assign) and ast.unparse(n.targets[0]) == "__all__"
    ]
    assert body == exported, f"{init}: only imports, a docstring and __all__ belong here"
