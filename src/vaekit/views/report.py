"""``vaekit report``: one self-contained HTML page about a run — what was trained on what, the
curves, the evaluation with its plain-words diagnosis, and every plot — with the images embedded
so it opens offline and can be mailed around as one file."""

from __future__ import annotations

import base64
import html
import json
import time
from pathlib import Path

from vaekit.core.errors import VaekitError
from vaekit.core.files import append_line, atomic_write_text
from vaekit.core.progress import ProgressBar, log
from vaekit.core.records import read_rows
from vaekit.core.version import __version__
from vaekit.models.words import network_words
from vaekit.runs.folder import EVALUATION
from vaekit.runs.run import Run
from vaekit.views.plots import render
from vaekit.views.summaries import check_evaluation, evaluation_rows, synthetic_rows

SECTIONS = [
    (
        "curves",
        "Training curves",
        "Per-epoch ELBO, reconstruction and KL on the training and "
        "validation data (and β when it follows a schedule).",
    ),
    (
        "recon",
        "Reconstructions",
        "Held-out examples and their reconstructions at the posterior mean.",
    ),
    (
        "samples",
        "Samples",
        "New examples: codes drawn from the N(0, I) prior, and from a Gaussian "
        "mixture fitted to the training codes.",
    ),
    (
        "latent",
        "Latent space",
        "Posterior means of held-out examples, coloured by label, with "
        "the prior's 1σ and 2σ circles.",
    ),
    (
        "manifold",
        "Latent manifold",
        "The decoder over a plane of the latent space (the two most "
        "active dimensions), at evenly spaced quantiles.",
    ),
    (
        "interpolate",
        "Interpolations",
        "Decoded straight-line and spherical paths between pairs of held-out examples.",
    ),
    (
        "traverse",
        "Latent traversals",
        "Each row sweeps one latent dimension from −3σ to +3σ, the others fixed.",
    ),
    ("kl", "KL per latent dimension", "How much each dimension carries; grey ones are unused."),
]
# A conditional run's extra sections: (kind, title, caption, for images only).
CONDITIONAL_SECTIONS = [
    (
        "conditional",
        "Samples by condition",
        "New examples generated for each value of the condition, codes from the mixture "
        "fitted to that value's training codes: one row per class for images; held-out rows "
        "against rows generated for their conditions for a table.",
        False,
    ),
    (
        "restyle",
        "Same style, another label",
        "Held-out images encoded with their own label and decoded with each label in turn.",
        True,
    ),
]


# Data with factors of variation (sprites, a --factors table): which dimension carries which.
FACTORS_SECTION = (
    "factors",
    "Factors of variation",
    "The mutual information between each code dimension (posterior means of held-out "
    "examples) and each factor, as a share of the factor's entropy: one bright cell per "
    "column and per row is a disentangled code. The traversals above name each dimension by "
    "the factor it carries most of. The estimate bins codes in 20 bins; with few examples it "
    "is biased upwards for every cell alike.",
)


# A table run's "Synthetic table" section: its pictures, (kind, title, caption).
SYNTHETIC_PICTURES = [
    (
        "marginals",
        "Column by column",
        "Each column in the held-out rows (blue) and in as many synthetic rows (orange): "
        "histograms on shared bins for numbers, each category's share of the rows for "
        "categories (the rarest put together as “other”). The closer the two, the better. A "
        "panel's shape score is 1 minus the largest gap between the two cumulative "
        "distributions (numbers) or minus the total variation distance (categories): 1 is the "
        "same distribution. Missing values are left out of the score; the title gives their "
        "shares.",
    ),
    (
        "pairs",
        "Column pairs",
        "How strongly each pair of columns goes together — Pearson's r (−1 to 1) for two "
        "numbers, Cramér's V (0 to 1) where a category is involved — in the held-out rows and "
        "in the synthetic rows, on one colour scale, then their absolute difference. Alike "
        "maps mean the synthetic rows keep the real relationships; bright cells of the "
        "difference are relationships the model lost or made up. Dots mark the pairs the "
        "pair-trends score counts (real |r| above 0.5, or Cramér's V above 0.3).",
    ),
]


def sections(run: Run) -> list[tuple[str, str, str]]:
    """The plot sections of ``run``'s report: every run's (a table run's samples are its
    synthetic-table section's), and a conditional run's own where they can be drawn (one
    categorical condition)."""
    chosen = list(SECTIONS)
    if run.kind == "table":  # the synthetic-table section's marginals and pairs show it, scored
        chosen = [section for section in chosen if section[0] != "samples"]
    conditions = run.schema.conditions
    one_category = len(conditions) == 1 and conditions[0].kind in ("categorical", "binary")
    if run.model.conditional and one_category:
        for kind, title, caption, images_only in CONDITIONAL_SECTIONS:
            if run.kind == "image" or not images_only:
                chosen.append((kind, title, caption))
    if getattr(run.schema, "factors", None):
        chosen.append(FACTORS_SECTION)
    return chosen


def latest_evaluation(run: Run, k: int = 200, samples: int = 2000) -> dict:
    """The run's last ``vaekit evaluate`` result for its present weights on the whole held-out
    split, or a fresh, quicker one (then recorded). Records of other weights (before a resume,
    ``--weights last``), other data or ``--limit``, and damaged lines, are passed over."""
    file = run.path / EVALUATION
    wanted = {
        "weights_sha256": run.weights_checksum,
        "data": run.split_label(None),
        "examples": len(run.data()),
    }
    for number, record in reversed(list(enumerate(read_rows(file, skip_damaged=True), 1))):
        if all(record.get(key) == value for key, value in wanted.items()):
            try:
                check_evaluation(record, f"{file} record {number}")
            except VaekitError as err:
                log(f"warning: {err}; passed over")
                continue
            return record
    from vaekit.evaluation.evaluate import evaluate_run

    log(f"evaluating {run.path} for the report (K = {k}; run `vaekit evaluate` for more) ...")
    result = evaluate_run(run, k=k, samples=samples)
    append_line(file, json.dumps(result))
    return result


def build_report(run: Run, evaluation: dict | None = None) -> str:
    """The report's HTML text."""
    evaluation = evaluation or latest_evaluation(run)
    data = run.data()  # the held-out split
    facts = _facts(run)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>vaekit report — {html.escape(run.path.name)}</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>vaekit report: {html.escape(str(run.path))}</h1>",
        '<section id="run"><h2>What was trained</h2>',
        _table(facts),
        "</section>",
        '<section id="evaluation"><h2>Evaluation</h2>',
        f"<p>On the {html.escape(evaluation['data'])} ({evaluation['examples']} examples)."
        " Likelihoods in nats per example; higher is better.</p>",
        _table(_without_synthetic(evaluation)),
        "<h3>Diagnosis</h3><ul>",
        *[f"<li>{html.escape(note)}</li>" for note in evaluation["diagnosis"]],
        "</ul></section>",
    ]
    pictures = len(sections(run)) + (len(SYNTHETIC_PICTURES) if run.kind == "table" else 0)
    bar = ProgressBar(pictures, "report pictures")
    if run.kind == "table":
        parts += _synthetic_section(run, evaluation, bar)
    for kind, title, caption in sections(run):
        bar.update(note=kind)
        parts += [
            f'<section id="{kind}"><h2>{html.escape(title)}</h2>',
            f"<p>{html.escape(caption)}</p>",
            _image(render(run, kind, data), title),
            "</section>",
        ]
    bar.close()
    parts.append(f"<footer>vaekit {__version__}, {time.strftime('%Y-%m-%d %H:%M')}</footer>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _facts(run: Run) -> list[tuple[str, str]]:
    """What was trained on what: the report's first table."""
    config = run.config
    summary = run.summary
    d = summary.get("data", {})
    return [
        ("model", config.model.model),
        ("network", network_words(config.model)),
        ("latent dimensions", str(config.model.latent_dim)),
        ("likelihood", config.model.likelihood),
        (
            "data",
            f"{config.data.source} — {d.get('train', '?')} train / {d.get('val', '?')} "
            f"validation / {d.get('test', 0)} test examples of shape "
            f"{' × '.join(map(str, d.get('shape', [])))}",
        ),
        ("data schema", run.schema.describe()),
        ("training", config.training_summary()),
        ("parameters", f"{summary.get('parameters', run.model.parameter_count()):,}"),
        (
            "best epoch",
            f"{summary.get('best_epoch', '?')} "
            f"({summary.get('best', {}).get('metric', '')} "
            f"{summary.get('best', {}).get('value', float('nan')):.3f})",
        ),
        ("training time", f"{summary.get('train_seconds', 0):.1f} s"),
    ]


def _without_synthetic(evaluation: dict) -> list[tuple[str, str]]:
    """The evaluation's rows for its table, less the synthetic-table rows: a table run's
    report gives those in a section of their own."""
    rows = evaluation_rows(evaluation)[2:]
    if "synthetic" not in evaluation:
        return rows
    own = synthetic_rows(evaluation["synthetic"])
    return [row for row in rows if row not in own]


def _synthetic_section(run: Run, evaluation: dict, bar: ProgressBar | None = None) -> list[str]:
    """A table run's "Synthetic table" section: quality, privacy and usefulness as the
    evaluation recorded them, and the marginals and pairs pictures, drawn with the
    evaluation's seed so their scores are the same figures."""
    bar = bar or ProgressBar(len(SYNTHETIC_PICTURES), "report pictures")
    parts = ['<section id="synthetic"><h2>Synthetic table</h2>']
    if "synthetic" in evaluation:
        figures = evaluation["synthetic"]
        parts += [
            "<p>Rows the model generates, scored against real rows as <code>vaekit "
            "evaluate</code> scores them. Quality: SDMetrics' Quality Report, 0 to 1, 1 = "
            "alike. Privacy: how near synthetic rows come to the rows the model trained on. "
            "Usefulness (with <code>--target</code>): a model trained on synthetic rows "
            "against one trained on real rows, both tested on real held-out rows.</p>",
            _table(synthetic_rows(figures)),
        ]
    else:
        parts.append(
            "<p>The recorded evaluation has no synthetic-table figures; run <code>vaekit "
            "evaluate</code> on this run for its quality, privacy and usefulness.</p>"
        )
    seed = evaluation.get("seed", 0)
    for kind, title, caption in SYNTHETIC_PICTURES:
        bar.update(note=kind)
        parts += [
            f'<h3 id="{kind}">{html.escape(title)}</h3>',
            f"<p>{html.escape(caption)}</p>",
            _image(render(run, kind, seed=seed), title),
        ]
    parts.append("</section>")
    return parts


def _image(png: bytes, title: str) -> str:
    """``png`` as an embedded image, so the page stays one self-contained file."""
    encoded = base64.b64encode(png).decode("ascii")
    return f'<img alt="{html.escape(title)}" src="data:image/png;base64,{encoded}">'


def write_report(run: Run, path: Path | None = None) -> Path:
    """Write ``run``'s report (default RUN/report.html) and return where it went."""
    path = Path(path) if path else run.path / "report.html"
    if path.suffix.lower() not in (".html", ".htm"):
        raise VaekitError(f"{path}: the report is HTML; name it .html")
    atomic_write_text(path, build_report(run))
    return path


def _table(rows) -> str:
    body = "".join(
        f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>" for k, v in rows
    )
    return f"<table>{body}</table>"


STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; color: #222;
       line-height: 1.45; padding: 0 1em; }
h1 { font-size: 1.5em; } h2 { border-bottom: 1px solid #ddd; padding-bottom: .2em; }
table { border-collapse: collapse; margin: .5em 0 1em; }
th { text-align: left; padding: .2em 1em .2em 0; color: #555; font-weight: 600;
     vertical-align: top; }
td { padding: .2em 0; font-family: ui-monospace, monospace; font-size: .9em; }
img { max-width: 100%; border: 1px solid #eee; }
footer { color: #888; margin-top: 3em; font-size: .85em; }
"""
