"""The shape of vaekit's source, as issue #30 counts it: modules directly in src/vaekit/, modules
in import cycles (imports inside functions included, TYPE_CHECKING blocks left out), the largest
module, the longest function, code lines (no blank lines, comments or docstrings).

    python benchmarks/code_shape.py                      # this checkout
    python benchmarks/code_shape.py --ref 1cde534        # a commit, read with git (no checkout)
    python benchmarks/code_shape.py --ref 1cde534 --ref HEAD \
        --out benchmarks/results/code_shape.json

The import graph is parsed the way tests/test_layers.py parses it (that file's functions are
reused), so the cycle count here is the one the test holds at zero.
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import io
import json
import subprocess
import sys
import tempfile
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _layers_module(package: Path):
    spec = importlib.util.spec_from_file_location("test_layers", ROOT / "tests" / "test_layers.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.PACKAGE = package  # point its parser at the tree being measured
    module.MODULES = {module.module_name(p): p for p in sorted(package.rglob("*.py"))}
    return module


def code_lines(source: str) -> int:
    """Lines holding code: not blank, not only a comment, not part of a docstring."""
    tree = ast.parse(source)
    docstrings = set()
    for node in ast.walk(tree):
        kinds = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
        if isinstance(node, kinds) and ast.get_docstring(node, clean=False) is not None:
            first = node.body[0]
            docstrings.update(range(first.lineno, first.end_lineno + 1))
    lines = set()
    skip = (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT)
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type not in skip and token.type != tokenize.ENDMARKER:
            lines.update(range(token.start[0], token.end[0] + 1))
    return len(lines - docstrings)


def measure(package: Path) -> dict:
    """The figures of one source tree (the folder that holds vaekit's __init__.py)."""
    layers = _layers_module(package)
    graph = {m: layers.imports_of(m) for m in layers.MODULES}
    in_cycles = sum(len(c) for c in layers.strongly_connected(graph) if len(c) > 1)
    sizes, functions, total = [], [], 0
    for path in sorted(package.rglob("*.py")):
        source = path.read_text()
        name = path.relative_to(package.parent).as_posix()
        sizes.append((len(source.splitlines()), name))
        total += code_lines(source)
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                functions.append((length, f"{name}:{node.name}"))
    return {
        "top_level_modules": len(list(package.glob("*.py"))),
        "modules": len(sizes),
        "modules_in_cycles": in_cycles,
        "largest_module": dict(zip(("lines", "name"), max(sizes), strict=True)),
        "longest_function": dict(zip(("lines", "name"), max(functions), strict=True)),
        "functions_over_60_lines": sum(length > 60 for length, _ in functions),
        "code_lines": total,
    }


def _tree_at(ref: str, into: Path) -> Path:
    """src/vaekit as it is at ``ref``, written under ``into`` (git archive, no checkout)."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", ref, "src/vaekit"], capture_output=True, check=True
    ).stdout
    into.mkdir(parents=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into / "src" / "vaekit"


def main() -> int:
    """Print the table (one column per ref) and write the JSON when asked."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ref", action="append", help="a git commit (repeatable); default: here")
    parser.add_argument("--out", type=Path, help="write the figures as JSON here")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for i, ref in enumerate(args.ref or [None]):
            if ref is None:
                results["working tree"] = measure(ROOT / "src" / "vaekit")
            else:
                results[ref] = measure(_tree_at(ref, Path(tmp) / str(i)))
    rows = list(next(iter(results.values())))
    print(f"{'':26}" + "".join(f"{name:>42}" for name in results))
    for row in rows:
        cells = []
        for figures in results.values():
            value = figures[row]
            cells.append(f"{value['lines']} {value['name']}" if isinstance(value, dict) else value)
        print(f"{row:26}" + "".join(f"{str(c):>42}" for c in cells))
    if args.out:
        args.out.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
