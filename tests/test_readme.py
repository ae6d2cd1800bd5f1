"""The README's commands and code must stay true: CI runs its test command, and its Python
snippet runs here against a real trained run."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _bash_blocks() -> list[str]:
    return re.findall(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)


def test_ci_runs_the_readme_test_command():
    test_command = next(b.strip() for b in _bash_blocks() if "pytest" in b)
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert test_command in ci_lines


def test_readme_python_snippet_runs(trained_run, monkeypatch):
    snippet = re.search(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S).group(1)
    monkeypatch.chdir(trained_run.parent)
    snippet = snippet.replace('"runs/digits"', f'"{trained_run.name}"')
    scope: dict = {}
    exec(compile(snippet, "README.md", "exec"), scope)
    assert tuple(scope["images"].shape) == (16, 1, 8, 8)
    assert scope["decoded"].shape == (8, 1, 8, 8)
