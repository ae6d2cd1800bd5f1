"""The README and docs/ stay true: every command block runs (or says why it cannot here), the
API page is what the docstrings say, and every public name has a docstring."""

import dataclasses
import functools
import importlib.util
import inspect
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import vaekit
from vaekit.models.autoencoder import AE
from vaekit.models.base import Autoencoder
from vaekit.models.pca import PCA
from vaekit.models.vae import VAE

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SKIP = re.compile(r"<!-- not run by the tests: (.+?) -->\s*$")
BLOCK = re.compile(r"^```bash\n(.*?)^```", re.S | re.M)


def _blocks(page: Path) -> list[tuple[str, str | None]]:
    """Each ```bash block of ``page`` with the reason it is not run (None: it runs)."""
    text = page.read_text()
    out = []
    for match in BLOCK.finditer(text):
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        reason = SKIP.match(before.strip())
        out.append((match.group(1), reason.group(1) if reason else None))
    return out


def test_every_skipped_block_says_why():
    for page in PAGES:
        for block, reason in _blocks(page):
            assert reason is None or len(reason.split()) >= 2, (page.name, block[:60])


def _run_page(page: Path, folder: Path) -> str | None:
    """The blocks of ``page`` in order in one empty folder (a block may use the runs an earlier
    one trained), with vaekit and this Python first on the PATH; what failed, or None."""
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        # Two pages run at once on a 2-core machine: one thread each, not two oversubscribed.
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }
    for block, reason in _blocks(page):
        if reason is not None:
            continue
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", block],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if done.returncode != 0:
            return f"{page.name}:\n{block}\n{done.stderr[-3000:]}"
    return None


@pytest.fixture(scope="module")
def page_runs(tmp_path_factory):
    """Every page's blocks, started together on first use, two pages at a time (they are
    mostly process start-up, which one core does alone); the longest page first."""
    pages = [page for page in PAGES if any(reason is None for _, reason in _blocks(page))]
    pages.sort(key=lambda page: -len(page.read_text()) if page.name != "README.md" else -1e9)
    pool = ThreadPoolExecutor(max_workers=2)
    runs = {
        page: pool.submit(_run_page, page, tmp_path_factory.mktemp(page.stem)) for page in pages
    }
    yield runs
    pool.shutdown(wait=True, cancel_futures=True)


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_command_blocks_run(page, page_runs):
    """The blocks of one page run in order in one empty folder (see :func:`_run_page`)."""
    if page not in page_runs:
        pytest.skip(f"{page.name} has no block the tests run")
    failure = page_runs[page].result()
    assert failure is None, failure


@pytest.mark.parametrize("page", ["api", "layout"])
def test_generated_pages_are_current(page):
    """docs/api.md and docs/layout.md are what docs/make_api.py and docs/make_layout.py write."""
    spec = importlib.util.spec_from_file_location(page, ROOT / "docs" / f"make_{page}.py")
    maker = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(maker)
    assert (ROOT / "docs" / f"{page}.md").read_text() == maker.build(), (
        f"docs/{page}.md is out of date: run python docs/make_{page}.py"
    )


def _public_members(cls) -> list[tuple[str, object]]:
    out = []
    for klass in cls.__mro__:
        if not klass.__module__.startswith("vaekit"):
            continue
        for name, value in vars(klass).items():
            if name.startswith("_"):
                continue
            if isinstance(value, property):
                out.append((f"{klass.__name__}.{name}", value.fget))
            elif isinstance(value, functools.cached_property):
                out.append((f"{klass.__name__}.{name}", value.func))
            elif inspect.isfunction(value) or isinstance(value, (classmethod, staticmethod)):
                out.append((f"{klass.__name__}.{name}", getattr(value, "__func__", value)))
    return out


def test_every_public_name_has_a_docstring():
    missing = []
    for name in vaekit.__all__:
        obj = getattr(vaekit, name)
        if callable(obj) and not (obj.__doc__ or "").strip():
            missing.append(name)
        if dataclasses.is_dataclass(obj) and obj.__doc__.startswith(f"{obj.__name__}("):
            missing.append(f"{name} (only the generated signature)")
    for cls in (vaekit.Run, Autoencoder, VAE, AE, PCA, vaekit.RunConfig):
        if not (cls.__doc__ or "").strip():
            missing.append(cls.__name__)
        missing += [n for n, f in _public_members(cls) if not (f.__doc__ or "").strip()]
    assert not missing, f"no docstring: {sorted(set(missing))}"


def test_pydoc_of_run_reads_well():
    text = subprocess.run(
        [sys.executable, "-m", "pydoc", "vaekit.Run"], capture_output=True, text=True
    ).stdout
    for method in ("sample", "reconstruct", "encode", "decode", "score", "to_model", "restyle"):
        assert re.search(rf"\n \|  {method}\(self", text), method
    assert "Raises VaekitError" in text
