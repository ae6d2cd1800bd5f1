"""Write docs/layout.md, the map of the package, from the docstrings of its modules.

    python docs/make_layout.py          # rewrite docs/layout.md
    python docs/make_layout.py --check  # exit 1 if docs/layout.md is not what the code says

tests/test_docs.py runs the check, so the page cannot go stale; tests/test_layers.py reads the
order from the page and checks every import against it.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

PAGE = Path(__file__).with_name("layout.md")
PACKAGE = Path(__file__).resolve().parents[1] / "src" / "vaekit"
# The floors, lowest first: a module imports from its own floor or those before it, never after.
ORDER = (
    "core",
    "config",
    "data",
    "models",
    "metrics",
    "runs",
    "training",
    "evaluation",
    "views",
    "api",
    "cli",
)


def summary(path: Path) -> str:
    """The first sentence of a module's docstring, on one line."""
    doc = ast.get_docstring(ast.parse(path.read_text())) or ""
    paragraph = " ".join(doc.split("\n\n")[0].split())
    paragraph = re.sub(r":\w+:`~?([^`]+)`", r"`\1`", paragraph).replace("``", "`")
    end = paragraph.find(". ")
    return (paragraph if end < 0 else paragraph[: end + 1]).replace("|", "/")


def _rows(folder: Path) -> list[str]:
    rows = []
    for path in sorted(folder.glob("*.py")):
        if path.name != "__init__.py":
            name = path.relative_to(PACKAGE).as_posix()
            rows.append(f"| `{name}` | {summary(path)} |")
    for sub in sorted(p.parent for p in folder.glob("*/__init__.py")):
        name = sub.relative_to(PACKAGE).as_posix()
        rows.append(f"| `{name}/` | {summary(sub / '__init__.py')} |")
        rows += _rows(sub)
    return rows


def build() -> str:
    """The page's Markdown."""
    lines = [
        "# Where the code lives",
        "",
        "Written by `python docs/make_layout.py` from the module docstrings (tests/test_docs.py",
        "fails when it is stale). The folders are the pipeline's floors. Imports point down this",
        "order and never up, imports inside functions included (tests/test_layers.py checks it,",
        "and that no modules import each other in a cycle):",
        "",
        "    " + " -> ".join(ORDER),
        "",
        "`vaekit/__init__.py` re-exports the public API from the floors; every `__init__.py`",
        "only re-exports. Tests mirror the package: `tests/<floor>/test_<subject>.py`.",
        "",
    ]
    for floor in ORDER:
        folder = PACKAGE / floor
        if not folder.is_dir():  # a module at the top, e.g. api.py
            path = PACKAGE / f"{floor}.py"
            lines += [f"## {floor}", "", summary(path), ""]
            continue
        lines += [f"## {floor}/", "", summary(folder / "__init__.py"), ""]
        lines += ["| module | what it is |", "| --- | --- |", *_rows(folder), ""]
    return "\n".join(lines)


def main() -> int:
    """Rewrite the page, or with --check report whether it is current."""
    text = build()
    if "--check" in sys.argv:
        current = PAGE.read_text() == text
        print("docs/layout.md is current" if current else "docs/layout.md is stale")
        return 0 if current else 1
    PAGE.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
