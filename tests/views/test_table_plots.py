"""The synthetic-table pictures (plot kinds ``marginals`` and ``pairs``) and the report's
"Synthetic table" section, on one tiny table run trained once."""

import io
import re

import numpy as np
import pytest
from matplotlib import pyplot as plt
from matplotlib.text import Text
from PIL import Image

import vaekit
from vaekit.cli.main import main
from vaekit.core.errors import VaekitError
from vaekit.data.table import from_dataframe
from vaekit.evaluation.evaluate import evaluate_run
from vaekit.metrics.fidelity import association_matrix, quality
from vaekit.views import plots
from vaekit.views.report import _synthetic_section, build_report, sections

CITIES = [f"town {k}" for k in range(16)]  # more categories than a marginals panel has bars
GENERATED = ["income", "children", "colour", "smoker", "city"]  # not the label, species


def _write_table(path, rows: int = 200) -> None:
    """A number with gaps, an integer, a category, a yes/no column, a 16-category column and
    a label column (which the model does not generate)."""
    rng = np.random.default_rng(3)
    children = rng.integers(0, 5, size=rows)
    income = (30 + 10 * children + rng.normal(0, 5, size=rows)).round(2).astype(str)
    income[rng.random(rows) < 0.1] = ""
    colour = rng.choice(["red", "green", "blue"], size=rows)
    smoker = np.where(rng.random(rows) < 0.3, "yes", "no")
    city = rng.choice(CITIES, size=rows)
    species = np.where(children > 2, "big", "small")
    lines = ["income,children,colour,smoker,city,species"]
    lines += [
        f"{income[i]},{children[i]},{colour[i]},{smoker[i]},{city[i]},{species[i]}"
        for i in range(rows)
    ]
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def table_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("table-plots")
    _write_table(folder / "people.csv")
    config = vaekit.RunConfig.from_dict(
        {
            "model": {"latent_dim": 2, "hidden": [32]},
            "data": {"source": str(folder / "people.csv"), "labels": "species"},
            "train": {"epochs": 3, "batch_size": 64, "seed": 0, "device": "cpu"},
        }
    )
    return vaekit.train(config, out=folder / "run")


def _draw(run, kind, **options):
    data = run.data()
    return plots.PLOTTERS[kind](run, x=data.x, labels=data.labels, **options)


def _shown(fig):
    """The figure's visible axes (a grid's unused cells are hidden)."""
    return [ax for ax in fig.get_axes() if ax.get_visible()]


def _expected_quality(run, seed=0):
    real = run.table(None)
    fake = from_dataframe(run.sample(len(run.table("train")), seed=seed))
    columns = [c for c in run.schema.columns if c.name in GENERATED]
    return real, fake, columns, quality(real, fake, columns)


def test_marginals_draws_one_titled_panel_per_generated_column(table_run):
    fig = _draw(table_run, "marginals")
    axes = _shown(fig)
    assert len(axes) == len(GENERATED)  # the label column is not generated: no panel
    _, _, _, score = _expected_quality(table_run)
    for ax, name in zip(axes, GENERATED, strict=True):
        title = ax.get_title()
        assert title.startswith(f"{name}  (shape {score.column_scores[name]:.2f})")
        assert ax.get_xlabel() == name
    assert "missing" in axes[0].get_title()  # income has gaps
    assert [axes[0].get_ylabel(), axes[2].get_ylabel()] == ["density", "share of rows"]
    colours = [t.get_text() for t in axes[2].get_xticklabels()]
    assert colours == ["blue", "green", "red"]
    cities = [t.get_text() for t in axes[4].get_xticklabels()]
    assert len(cities) == 12 and cities[-1] == "other (5)" and set(cities[:-1]) <= set(CITIES)
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == ["real (held-out)", "synthetic"]
    assert table_run.path.name in fig.get_suptitle()
    assert f"quality {score.overall:.2f}" in fig.get_suptitle()
    plt.close(fig)


def test_pairs_draws_real_synthetic_and_their_difference(table_run):
    fig = _draw(table_run, "pairs")
    axes = fig.get_axes()
    assert len(axes) == 5  # three heat maps and two colour bars
    real, fake, columns, score = _expected_quality(table_run)
    names, real_matrix = association_matrix(real, columns)
    _, fake_matrix = association_matrix(fake, columns)
    assert names == GENERATED
    expected = [real_matrix, fake_matrix, np.abs(real_matrix - fake_matrix)]
    for ax, matrix, title, scale in zip(
        axes[:3],
        expected,
        ["real (held-out)", "synthetic", "|real − synthetic|"],
        [(-1, 1), (-1, 1), (0, 1)],
        strict=True,
    ):
        assert ax.get_title() == title
        assert [t.get_text() for t in ax.get_xticklabels()] == GENERATED
        assert [t.get_text() for t in ax.get_yticklabels()] == GENERATED
        image = ax.get_images()[0]
        np.testing.assert_allclose(image.get_array().filled(np.nan), matrix)
        assert image.get_clim() == scale
    assert f"pair-trends score {score.column_pair_trends:.2f}" in fig.get_suptitle()
    plt.close(fig)


@pytest.mark.parametrize("kind", ["marginals", "pairs"])
def test_plot_command_writes_the_picture_of_the_run_s_columns(
    table_run, tmp_path, monkeypatch, kind
):
    drawn, plotter = [], plots.PLOTTERS[kind]

    def keep(*args, **kwargs):  # the figure the command draws, to read its words
        drawn.append(plotter(*args, **kwargs))
        return drawn[-1]

    monkeypatch.setitem(plots.PLOTTERS, kind, keep)
    out = tmp_path / f"{kind}.png"
    assert main(["--quiet", "plot", str(table_run.path), kind, "-o", str(out)]) == 0
    with Image.open(io.BytesIO(out.read_bytes())) as image:
        assert image.format == "PNG" and image.width > 500 and image.height > 300
        pixels = np.asarray(image.convert("RGB"), dtype=float)
    # Drawn, not blank: real rows in blue (C0) and synthetic ones in orange (C1) among greys.
    assert pixels.std() > 5 and len(np.unique(pixels.reshape(-1, 3), axis=0)) >= 16
    colourful = (pixels.max(-1) - pixels.min(-1)) > 60
    assert colourful.mean() > 0.01
    (fig,) = drawn
    words = {t.get_text() for t in fig.findobj(Text)}
    names = {name for word in words for name in GENERATED if name in word.split()}
    assert names == set(GENERATED)  # every generated column, named as in the CSV
    assert table_run.path.name in fig.get_suptitle()
    assert "species" not in " ".join(words)  # the label column is not generated


@pytest.mark.parametrize("kind", ["marginals", "pairs"])
def test_image_runs_are_refused_in_one_line(trained_run, tmp_path, capsys, kind):
    out = tmp_path / "x.png"
    assert main(["--quiet", "plot", str(trained_run), kind, "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and not out.exists()
    assert err.strip().splitlines() == [
        f"vaekit: error: plot {kind}: is for table runs (real against synthetic rows); this "
        "run was trained on images"
    ]


def test_a_page_is_refused(table_run):
    with pytest.raises(VaekitError, match="^plot pairs: draws every column on one figure"):
        plots.render(table_run, "pairs", page=2)


def test_a_wide_table_keeps_every_column_named(tmp_path_factory):
    folder = tmp_path_factory.mktemp("wide-table")
    rng = np.random.default_rng(0)
    np.save(folder / "wide.npy", rng.normal(size=(120, 2)) @ rng.normal(size=(2, 20)))
    config = vaekit.RunConfig.from_dict(
        {
            "model": {"latent_dim": 2, "hidden": [16]},
            "data": {"source": str(folder / "wide.npy")},
            "train": {"epochs": 1, "seed": 0, "device": "cpu"},
        }
    )
    run = vaekit.train(config, out=folder / "run")
    names = [f"x{i}" for i in range(20)]
    marginals = _draw(run, "marginals")
    axes = _shown(marginals)
    assert [ax.get_xlabel() for ax in axes] == names  # one figure, no pages
    rows = {ax.get_subplotspec().rowspan.start for ax in axes}
    assert len(rows) == 5  # four panels a row: the figure grows downwards
    pairs = _draw(run, "pairs")
    maps = [ax for ax in pairs.get_axes() if ax.get_images()]
    assert len(maps) == 3 and len(pairs.get_axes()) == 6  # + how to read, two colour bars
    for ax in maps:
        assert [t.get_text() for t in ax.get_yticklabels()] == names
    assert any("How to read" in t.get_text() for ax in pairs.get_axes() for t in ax.texts)
    for fig in (marginals, pairs):
        plt.close(fig)


def _images(html: str) -> int:
    return html.count("data:image/png;base64,")


def test_report_of_a_table_run_has_the_synthetic_table_section(table_run):
    evaluation = evaluate_run(table_run, k=5)
    text = build_report(table_run, evaluation)
    start = text.index('<section id="synthetic"><h2>Synthetic table</h2>')
    section = text[start : text.index("</section>", start)]
    assert _images(section) == 2
    assert '<h3 id="marginals">' in section and '<h3 id="pairs">' in section
    overall = evaluation["synthetic"]["quality"]["overall"]
    assert re.search(rf"<th>quality</th><td>{overall:.3f} ", section)
    assert "closest-row distance" in section
    # The figures are in the section, not twice: the evaluation table leaves them out.
    assert text.count("<th>quality</th>") == 1
    assert _images(text) == len(sections(table_run)) + 2
    # The samples picture would repeat marginals and pairs: a table's report leaves it out.
    assert 'id="samples"' not in text and "marginals" in text


def test_a_recorded_evaluation_without_figures_still_gets_the_pictures(table_run):
    html = "\n".join(_synthetic_section(table_run, {"seed": 0}))
    assert "run <code>vaekit evaluate</code>" in html and _images(html) == 2
