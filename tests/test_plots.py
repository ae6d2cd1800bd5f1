import io
from html.parser import HTMLParser

import numpy as np
import pytest
import torch
from PIL import Image

import vaekit
from vaekit.images import grid
from vaekit.plots import KINDS, manifold_grid, render
from vaekit.report import SECTIONS, build_report
from vaekit.train import train


@pytest.fixture(scope="module")
def runs(tmp_path_factory, make_config):
    """Tiny trained runs: MLP and conv on images, MLP on a table."""
    from vaekit import progress

    tiny_config = make_config
    progress.QUIET = True
    root = tmp_path_factory.mktemp("plots")
    rng = np.random.default_rng(0)
    table = rng.normal(size=(120, 2)) @ rng.normal(size=(2, 5)) + 3
    np.save(root / "table.npy", table)
    configs = {
        "mlp": tiny_config(model={"latent_dim": 3}),
        "conv": tiny_config(model={"arch": "conv", "channels": [4, 8], "latent_dim": 2}),
        "tabular": tiny_config(data={"source": str(root / "table.npy")}),
    }
    return {name: train(config, root / name) for name, config in configs.items()}


def _png_size(png: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(png)) as image:
        assert image.format == "PNG"
        return image.size


@pytest.mark.parametrize("name", ["mlp", "conv", "tabular"])
@pytest.mark.parametrize("kind", [k for k in KINDS if k != "compare"])
def test_every_plot_kind_renders_a_png(runs, name, kind):
    width, height = _png_size(render(runs[name], kind))
    assert width >= 250 and height >= 150


def test_compare_plot_shows_every_run(runs):
    one = _png_size(render(runs["mlp"], "compare", others=[]))
    two = _png_size(render(runs["mlp"], "compare", others=[runs["conv"]]))
    assert two[1] > one[1]  # one more row of reconstructions


def test_manifold_centre_tile_is_the_decoded_origin(runs):
    run = runs["mlp"]
    x = run.data("test").x
    z, _, dims = manifold_grid(run, x, n=15)
    centre = (15 // 2) * 15 + 15 // 2
    assert np.array_equal(z[centre], np.zeros(3, dtype=np.float32))
    decoded = run.decode(z)
    mosaic = grid(decoded, 15)  # the mosaic the plot draws
    h, w = decoded.shape[-2:]
    y0, x0 = 1 + 7 * (h + 1), 1 + 7 * (w + 1)
    tile = mosaic[y0 : y0 + h, x0 : x0 + w, 0]
    origin = run.decode(np.zeros((1, 3), dtype=np.float32))[0, 0]
    assert np.array_equal(tile, (np.clip(origin, 0, 1) * 255 + 0.5).astype(np.uint8))
    assert len(dims) == 2


class _Checker(HTMLParser):
    VOID = {"meta", "img", "br", "hr", "link", "input"}

    def __init__(self):
        super().__init__()
        self.stack, self.ids, self.problems = [], set(), []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        for key in ("src", "href"):
            value = attrs.get(key) or ""
            if value and not value.startswith("data:"):
                self.problems.append(f"external {key}: {value[:40]}")
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack.pop() != tag:
            self.problems.append(f"unbalanced </{tag}>")


def test_report_is_valid_self_contained_html_with_every_section(runs):
    text = build_report(runs["mlp"])
    assert text.startswith("<!DOCTYPE html>")
    assert "http://" not in text and "https://" not in text
    checker = _Checker()
    checker.feed(text)
    assert not checker.problems and not checker.stack
    assert {"run", "evaluation", *(kind for kind, _, _ in SECTIONS)} <= checker.ids
    assert text.count("data:image/png;base64,") == len(SECTIONS)


def test_train_command_writes_the_report(tmp_path):
    from vaekit.cli import main

    run = tmp_path / "run"
    assert main(["--quiet", "train", "--epochs", "2", "--hidden", "16", "--out", str(run)]) == 0
    assert (run / "report.html").stat().st_size > 10_000
    assert (run / "evaluation.jsonl").exists()
    loaded = vaekit.load(run)
    assert torch.is_tensor(loaded.model.sample(2))
