import base64
import html
import io
import re
import warnings
from html.parser import HTMLParser

import numpy as np
import pytest
import torch
from matplotlib import pyplot as plt
from matplotlib.legend import Legend
from matplotlib.text import Text
from PIL import Image

import vaekit
from vaekit.api import train
from vaekit.core.errors import VaekitError
from vaekit.data.splits import Dataset
from vaekit.views import plots
from vaekit.views.images import grid, save_examples, save_image_grid
from vaekit.views.plot_kinds import KINDS
from vaekit.views.plots import manifold_grid, render
from vaekit.views.report import SECTIONS, build_report, sections


def _write_mixed_csv(path, rows: int = 200) -> None:
    """A table of every kind: text categories, yes/no, counts, amounts, gaps and a label."""
    rng = np.random.default_rng(1)
    colour = rng.choice(["red", "green", "blue"], size=rows)
    children = rng.integers(0, 5, size=rows)
    income = 30 + 10 * children + rng.normal(0, 5, size=rows)
    smoker = np.where(rng.random(rows) < 0.3, "yes", "no")
    weight = np.round(60 + 10 * rng.normal(size=rows), 1).astype(str)
    weight[rng.random(rows) < 0.15] = ""  # missing cells
    species = np.where(income > 50, "big", "small")
    lines = ["colour,smoker,children,income,weight,unit,species"]
    lines += [
        f"{colour[i]},{smoker[i]},{children[i]},{income[i]:.3f},{weight[i]},kg,{species[i]}"
        for i in range(rows)
    ]
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def runs(tmp_path_factory, make_config):
    """Tiny trained runs: MLP and conv on images, MLP on a numeric table, on a table of mixed
    column kinds (with a label column) and on a table too wide for one page."""
    from vaekit.core import progress

    tiny_config = make_config
    progress.QUIET = True
    root = tmp_path_factory.mktemp("plots")
    rng = np.random.default_rng(0)
    table = rng.normal(size=(120, 2)) @ rng.normal(size=(2, 5)) + 3
    np.save(root / "table.npy", table)
    np.save(root / "wide.npy", rng.normal(size=(120, 30)))
    _write_mixed_csv(root / "mixed.csv")
    configs = {
        "mlp": tiny_config(model={"latent_dim": 3}),
        "conv": tiny_config(model={"arch": "conv", "channels": [4, 8], "latent_dim": 2}),
        "tabular": tiny_config(data={"source": str(root / "table.npy")}),
        "mixed": tiny_config(data={"source": str(root / "mixed.csv"), "labels": "species"}),
        "wide": tiny_config(data={"source": str(root / "wide.npy")}),
        "cond-conv": tiny_config(
            model={"arch": "conv", "channels": [4, 8], "latent_dim": 2},
            data={"condition": ["label"]},
        ),
        "cond-mixed": tiny_config(
            data={"source": str(root / "mixed.csv"), "labels": "species", "condition": ["colour"]}
        ),
    }
    return {name: train(config, root / name) for name, config in configs.items()}


def _png_size(png: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(png)) as image:
        assert image.format == "PNG"
        return image.size


def _drawn(png: bytes) -> np.ndarray:
    """``png`` decoded to RGB pixels, checked to hold a picture: a real PNG, not one flat
    colour, in more colours than a few greys (a blank figure is a single white)."""
    with Image.open(io.BytesIO(png)) as image:
        assert image.format == "PNG"
        pixels = np.asarray(image.convert("RGB"), dtype=float)
    assert pixels.std() > 5
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) >= 16
    return pixels


def _render_keeping_figure(monkeypatch, run, kind, **options):
    """``render(run, kind)``'s PNG bytes and the Figure it drew (closed, still readable)."""
    drawn, plotter = [], plots.PLOTTERS[kind]

    def keep(*args, **kwargs):
        drawn.append(plotter(*args, **kwargs))
        return drawn[-1]

    monkeypatch.setitem(plots.PLOTTERS, kind, keep)
    png = render(run, kind, **options)
    return png, drawn[0]


def _words(fig) -> str:
    """Every text drawn on ``fig``: titles, axis and tick labels, legends, table cells."""
    texts = [t.get_text() for t in fig.findobj(Text)]
    tables = [table for ax in fig.get_axes() for table in ax.tables]
    texts += [cell.get_text().get_text() for t in tables for cell in t.get_celld().values()]
    return "\n".join(texts)


def _empty_panels(fig, run) -> list[str]:
    """Titles of the figure's panels that draw nothing: no line, point, bar, image or table.
    A constant column's panel is left out: it holds its value in words, or (plot
    conditional) nothing."""
    columns = run.schema.outputs if run.kind == "table" else []
    constant = {c.name for c in columns if c.kind == "constant"}
    return [
        ax.get_title()
        for ax in fig.get_axes()
        if ax.get_visible()
        and ax.get_title() not in constant | {""}
        and not (ax.lines or ax.collections or ax.images or ax.patches or ax.tables)
    ]


def _expected_words(run, kind) -> list[str]:
    """Names the picture of ``kind`` must show for ``run``: a table's own column names (or
    its model-space columns' for the line plots), the latent dimensions', the condition's,
    or for images the titles of its rows."""
    image = run.kind == "image"
    columns = [] if image else [c.name for c in run.schema.outputs]
    scored = [c.name for c in run.schema.outputs if c.kind != "constant"] if not image else []
    lines = [] if image else [label for _, label in run.schema.model_columns()]
    condition = run.schema.conditions[0].name if run.model.conditional else ""
    return {
        "curves": ["epoch", "nats per example", run.config.model.model],
        "recon": columns or ["originals", "reconstructions"],
        "samples": columns or ["(prior)", "mixture fitted to training codes"],
        "latent": ["posterior means", "prior 1σ"],
        "manifold": columns or ["decoded latent plane"],
        "interpolate": lines or ["straight line", "spherical (slerp)"],
        "traverse": lines + ["z0", "swept from −3σ to +3σ"],
        "kl": ["z0", "latent dimension"],
        "scores": ["anomaly score"] + (columns[:1] or ["most unusual", "least unusual"]),
        "conditional": [f"{condition}="] + columns,
        "restyle": ["original", f"decoded with {condition} ="],
        "marginals": scored + ["synthetic"],
        "pairs": scored + ["|real − synthetic|"],
        "factors": [*(getattr(run.schema, "factors", None) or []), "factor of variation"],
    }[kind]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["mlp", "conv", "tabular", "mixed", "cond-conv", "cond-mixed"])
@pytest.mark.parametrize("kind", [k for k in KINDS if k != "compare"])
def test_every_plot_kind_draws_its_data_with_its_names(monkeypatch, runs, name, kind):
    run = runs[name]
    if kind in ("marginals", "pairs") and run.kind == "image":
        with pytest.raises(VaekitError, match=f"^plot {kind}: is for table runs"):
            render(run, kind)
        return
    if kind in ("conditional", "restyle") and not run.model.conditional:
        with pytest.raises(VaekitError, match=f"^plot {kind}: this run was trained without"):
            render(run, kind)
        return
    if kind == "restyle" and run.kind == "table":
        with pytest.raises(VaekitError, match="^plot restyle: draws images; for a table use"):
            render(run, kind)
        return
    if kind == "factors" and not getattr(run.schema, "factors", None):
        with pytest.raises(VaekitError, match="^plot factors: needs data with factors"):
            render(run, kind)
        return  # drawn for sprites in tests/evaluation/test_evaluate_factors.py
    png, fig = _render_keeping_figure(monkeypatch, run, kind)
    height, width, _ = _drawn(png).shape
    assert width >= 250 and height >= 150
    assert fig.get_axes() and not _empty_panels(fig, run)  # not only frames and words
    words = _words(fig)
    missing = [word for word in _expected_words(run, kind) if word not in words]
    assert not missing, f"{kind} of {name} does not name {missing}"


def test_compare_plot_shows_every_run(runs):
    one = _png_size(render(runs["mlp"], "compare", others=[]))
    two = _png_size(render(runs["mlp"], "compare", others=[runs["conv"]]))
    assert two[1] > one[1]  # one more row of reconstructions


def test_manifold_centre_tile_is_the_decoded_origin(runs):
    run = runs["mlp"]
    x = run.data().x
    z, _, dims = manifold_grid(run, x, n=15)
    centre = (15 // 2) * 15 + 15 // 2
    assert np.array_equal(z[centre], np.zeros(3, dtype=np.float32))
    decoded = run.decode(z, model_space=True)
    mosaic = grid(decoded, 15)  # the mosaic the plot draws
    h, w = decoded.shape[-2:]
    y0, x0 = 1 + 7 * (h + 1), 1 + 7 * (w + 1)
    tile = mosaic[y0 : y0 + h, x0 : x0 + w, 0]
    origin = run.decode(np.zeros((1, 3), dtype=np.float32), model_space=True)[0, 0]
    assert np.array_equal(tile, (np.clip(origin, 0, 1) * 255 + 0.5).astype(np.uint8))
    assert len(dims) == 2


def _figure(run, kind, data=None, **options):
    data = data if data is not None else run.data()
    return plots.PLOTTERS[kind](run, x=data.x, labels=data.labels, **options)


def _panel(fig, title):
    """The one axes of ``fig`` (subfigures included) whose title is ``title``."""
    found = [ax for ax in fig.get_axes() if ax.get_title() == title]
    assert len(found) == 1, [ax.get_title() for ax in fig.get_axes()]
    return found[0]


def _legends(fig):
    inside = [a for ax in fig.get_axes() for a in ax.get_children() if isinstance(a, Legend)]
    return inside + fig.legends


def _legend_texts(legend):
    return [t.get_text() for t in legend.get_texts()]


@pytest.mark.parametrize("kind", ["recon", "samples", "manifold"])
def test_table_panels_are_titled_with_every_output_column(runs, kind):
    run = runs["mixed"]
    fig = _figure(run, kind, page=1)
    titles = {ax.get_title() for ax in fig.get_axes()}
    names = [c.name for c in run.schema.outputs]
    assert names == ["colour", "smoker", "children", "income", "weight", "unit"]
    assert set(names) <= titles
    plt.close(fig)


def test_table_samples_name_categories_and_compare_data_with_samples(runs):
    run = runs["mixed"]
    fig = _figure(run, "samples")
    for name, categories in (("colour", ["blue", "green", "red"]), ("smoker", ["no", "yes"])):
        ticks = [t.get_text() for t in _panel(fig, name).get_xticklabels()]
        assert ticks == categories
    assert ["data", "generated"] in [_legend_texts(legend) for legend in _legends(fig)]
    heat = _panel(fig, "data correlations (model space)")
    labels = [label for _, label in run.schema.model_columns()]
    assert [t.get_text() for t in heat.get_yticklabels()] == labels
    assert "weight missing" in labels and "colour=red" in labels
    plt.close(fig)


def test_table_recon_scatters_numbers_in_the_data_units(runs):
    run = runs["mixed"]
    fig = _figure(run, "recon")
    ax = _panel(fig, "income")
    assert ax.get_ylabel() == "reconstruction" and ax.get_xlabel().startswith("original")
    points = ax.collections[0].get_offsets()
    income = run.schema.decode(run.data().x.numpy()).column("income")
    assert np.isclose(points[:, 0].min(), income.min()) and points[:, 0].min() > 10
    ticks = [t.get_text() for t in _panel(fig, "colour").get_xticklabels()]
    assert ticks == ["blue", "green", "red"]
    plt.close(fig)


def test_table_manifold_names_categories_in_a_legend_and_numbers_on_a_colorbar(runs):
    run = runs["mixed"]
    fig = _figure(run, "manifold")
    legend = _panel(fig, "colour").get_legend()
    assert set(_legend_texts(legend)) <= {"blue", "green", "red"}
    assert _panel(fig, "income").get_images()[0].colorbar.ax.get_ylabel() == "income"
    plt.close(fig)


@pytest.mark.parametrize("kind", ["interpolate", "traverse"])
def test_table_lines_are_standardised_and_labelled_by_model_column(runs, kind):
    run = runs["mixed"]
    fig = _figure(run, kind)
    labels = [label for _, label in run.schema.model_columns()]
    assert _legend_texts(fig.legends[0]) == labels
    assert all(ax.get_ylabel().startswith("standardised value") for ax in fig.get_axes())
    plt.close(fig)


def test_wide_table_is_paged_and_a_missing_page_is_refused(runs):
    run = runs["wide"]
    first, second = _figure(run, "samples", page=1), _figure(run, "samples", page=2)
    assert "columns 1–24 of 30 (page 1 of 2)" in first.get_suptitle()
    titles = {ax.get_title() for ax in second.get_axes()}
    assert {f"x{i}" for i in range(24, 30)} <= titles and "x0" not in titles
    lines = _figure(run, "traverse", page=2)
    assert _legend_texts(lines.legends[0]) == [f"x{i}" for i in range(24, 30)]
    for fig in (first, second, lines):
        plt.close(fig)
    with pytest.raises(VaekitError, match="page 3 of 2 does not exist"):
        _figure(run, "recon", page=3)
    with pytest.raises(VaekitError, match="page 2 of 1 does not exist"):
        render(runs["mixed"], "traverse", page=2)


def test_table_correlations_of_a_column_that_never_varies_are_not_nan(runs):
    run = runs["mixed"]
    data = run.data()
    red = [label for _, label in run.schema.model_columns()].index("colour=red")
    reds = data.x[data.x[:, red] == 1]  # the colour=red column never varies in these rows
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        fig = _figure(run, "samples", data=Dataset(reds, None))
    heat = _panel(fig, "data correlations (model space)").get_images()[0].get_array()
    assert np.isfinite(heat).all()
    plt.close(fig)


@pytest.mark.parametrize(
    "name, classes", [("mlp", [str(i) for i in range(10)]), ("mixed", ["big", "small"])]
)
def test_latent_legend_names_the_classes(runs, name, classes):
    run = runs[name]
    fig = _figure(run, "latent")
    present = sorted({classes[i] for i in run.data().labels.tolist()}, key=classes.index)
    assert _legend_texts(fig.axes[0].get_legend()) == present  # the axes' own: never clipped
    assert not any(ax.get_ylabel() == "label" for ax in fig.get_axes())  # no colorbar
    plt.close(fig)


@pytest.mark.slow
@pytest.mark.parametrize(
    "name, options, axes",
    [
        ("mlp", {}, ("PC1", "PC2")),  # 3 latent dimensions: the PCA projection
        ("mlp", {"projection": "tsne"}, ("t-SNE 1", "t-SNE 2")),
        ("conv", {}, ("z0", "z1")),  # 2 latent dimensions: drawn as they are
        ("conv", {"projection": "tsne"}, ("z0", "z1")),  # nothing to project
    ],
)
def test_latent_axes_say_what_is_plotted(runs, name, options, axes):
    fig = _figure(runs[name], "latent", **options)
    ax = fig.axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == axes
    plt.close(fig)


def test_prior_circles_are_drawn_above_the_points(runs):
    fig = _figure(runs["mlp"], "latent")
    ax = fig.axes[0]
    circles = [p for p in ax.patches if p.get_label().startswith("prior")]
    assert [c.get_label() for c in circles] == ["prior 1σ", "prior 2σ"]
    assert min(c.get_zorder() for c in circles) > max(s.get_zorder() for s in ax.collections)
    assert all(c.get_linewidth() >= 1.5 for c in circles)
    plt.close(fig)


def test_latent_dimensions_are_named_from_z0_in_every_plot(runs):
    run = runs["mlp"]  # 3 latent dimensions
    kl = _figure(run, "kl")
    assert [t.get_text() for t in kl.axes[0].get_xticklabels()] == ["z0", "z1", "z2"]
    traverse = _figure(run, "traverse")
    assert sorted(t.get_text() for t in traverse.axes[0].get_yticklabels()) == ["z0", "z1", "z2"]
    manifold = _figure(runs["mixed"], "manifold")  # 2 latent dimensions
    assert {ax.get_xlabel() for ax in manifold.axes if ax.get_xlabel()} <= {"z0", "z1"}
    assert "(z0, z1;" in manifold.get_suptitle() or "(z1, z0;" in manifold.get_suptitle()
    for fig in (kl, traverse, manifold):
        plt.close(fig)


def test_example_pictures_carry_their_titles_and_heading(runs, tmp_path):
    schema = runs["mlp"].schema
    blocks = [np.zeros((16, 1, 8, 8), np.float32), np.ones((16, 1, 8, 8), np.float32)]
    bare = tmp_path / "bare.png"
    save_image_grid(np.concatenate(blocks), bare, columns=16)  # the two blocks, no words
    titled, headed = tmp_path / "titled.png", tmp_path / "headed.png"
    save_examples(blocks, ["original", "reconstruction"], schema, titled)
    save_examples(blocks, ["original", "reconstruction"], schema, headed, heading="run r, seed 0")
    with Image.open(bare) as a, Image.open(titled) as b, Image.open(headed) as c:
        assert b.height > a.height and c.height > b.height and a.width == b.width == c.width
        pixels = np.asarray(b)
    # The first block's tiles are black, its pad white: above them, a white band with text.
    first_tile_row = np.flatnonzero((pixels == 0).sum(1) > pixels.shape[1] // 2)[0]
    band = pixels[:first_tile_row]
    assert first_tile_row > 10 and (band < 128).any() and (band == 255).mean() > 0.5
    # A title wider than its grid widens the picture instead of being cut.
    narrow = tmp_path / "narrow.png"
    save_examples([blocks[0][:2]], ["a title longer than two tiles"], schema, narrow)
    with Image.open(narrow) as d:
        assert d.width > (2 * (8 + 1) + 1) * 4  # two 8-pixel tiles, padded, scaled to 32


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


@pytest.mark.slow
def test_train_command_writes_the_report(tmp_path):
    from vaekit.cli.main import main

    run = tmp_path / "digits-report-run"
    assert main(["--quiet", "train", "--epochs", "2", "--hidden", "16", "--out", str(run)]) == 0
    assert (run / "evaluation.jsonl").exists()
    loaded = vaekit.load(run)
    assert torch.is_tensor(loaded.model.sample(2))
    text = (run / "report.html").read_text()
    assert "<title>vaekit report — digits-report-run</title>" in text
    headings = re.findall(r"<h2>(.*?)</h2>", text)
    titles = [html.escape(title) for _, title, _ in sections(loaded)]
    assert headings == ["What was trained", "Evaluation", *titles]
    images = re.findall(r'<img alt="([^"]*)" src="data:image/png;base64,([^"]+)"', text)
    assert [alt for alt, _ in images] == titles  # one picture per section, in its order
    for _, encoded in images:
        _drawn(base64.b64decode(encoded, validate=True))
