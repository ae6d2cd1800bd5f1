"""Text forms of a run and its evaluation: the rows the terminal tables and the HTML report
share, so the two never disagree."""

from __future__ import annotations

from vaekit.core.errors import fail
from vaekit.core.records import check_fields
from vaekit.models.words import (
    likelihood_words,
    network_words,
    objective_words,
    posterior_words,
    prior_row_words,
)
from vaekit.runs.run import Run


def info_rows(run: Run) -> list[tuple[str, str]]:
    """``vaekit info``'s table: what the run is (model, data, shapes), then how training went."""
    model = run.config.model
    prior, posterior = prior_row_words(model), posterior_words(model)
    objective = objective_words(model)
    rows = [
        ("run", str(run.path)),
        ("model", model.model),
        *([("objective", objective)] if objective else []),
        *([("posterior", posterior)] if posterior else []),
        *([("prior", prior)] if prior else []),
        ("parameters", f"{run.model.parameter_count():,}"),
        ("latent dim", str(model.latent_dim)),
        ("network", network_words(model)),
        ("likelihood", likelihood_words(model)),
        ("data", run.config.data.source),
        ("schema", run.schema.describe(limit=None)),
        *[("rule", rule.describe()) for rule in getattr(run.schema, "rules", [])],
        *([("conditioned on", _conditioned_on(run))] if run.model.conditional else []),
        ("input shape", " x ".join(map(str, run.model.input_shape)) + " (model space)"),
    ]
    return rows + _training_rows(run)


def _training_rows(run: Run) -> list[tuple[str, str]]:
    """The data's split sizes, the training settings, the last epoch's and the best numbers."""
    summary, metrics, rows = run.summary, run.metrics, []
    if summary.get("data"):
        d = summary["data"]
        sizes = f"{d['train']} train / {d['val']} val / {d['test']} test"
        rows.append(("examples", sizes + (" (labelled)" if d.get("labelled") else "")))
    rows.append(("training", run.config.training_summary()))
    if metrics:
        last = metrics[-1]
        rows.append(("epochs run", str(last["epoch"])))
        headline = "recon" if last.get("val_elbo") is None else f"ELBO {last['val_elbo']:.3f} nats"
        terms = (
            f"recon {figure(last.get('val_recon'))}, kl {figure(last.get('val_kl'))}, "
            f"mse {figure(last.get('val_mse'), '.4f')}"
        )
        rows.append(("final val", f"{headline} ({terms})"))
    if summary.get("best"):
        best, at = summary["best"], f"at epoch {summary['best_epoch']} (model.safetensors)"
        rows.append(("best", f"{best['metric']} {best['value']:.3f} {at}"))
        rows.append(("train time", f"{summary['train_seconds']:.1f} s"))
    return rows


def _conditioned_on(run: Run) -> str:
    """What a conditional run takes as its condition, and its prior."""
    names = ", ".join(c.describe() for c in run.schema.conditions)
    prior = "learned p(z|c)" if run.config.model.prior == "conditional" else "N(0, I)"
    return f"{names}; {run.model.condition_dim} numbers per example; prior {prior}"


def render_evaluation(result: dict) -> str:
    """The evaluation as a readable two-column table, then the diagnosis."""
    rows = evaluation_rows(result)
    width = max(len(k) for k, _ in rows)
    lines = [f"{key:<{width}}  {value}" for key, value in rows]
    lines += ["", "diagnosis:"] + [f"  - {note}" for note in result["diagnosis"]]
    return "\n".join(lines)


def figure(value: float | None, spec: str = ".3f") -> str:
    """A number for a table, or a dash where the run has none."""
    return "–" if value is None else format(value, spec)


def check_evaluation(result: dict, where: str) -> None:
    """Refuse a recorded evaluation (an evaluation.jsonl line) that cannot be shown: one line
    naming ``where`` and the field, with the fix."""
    fields = {"run": "text", "data": "text", "examples": "whole number", "diagnosis": "list"}
    check_fields(result, fields, where)
    try:
        evaluation_rows(result)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as err:
        raise fail(
            where,
            f"not an evaluation vaekit can show ({type(err).__name__}: {err}); delete the line "
            "and run `vaekit evaluate` again",
        ) from None


def evaluation_rows(result: dict) -> list[tuple[str, str]]:
    """One evaluation record (``evaluate_run``'s dict) as the terminal's and report's rows."""
    e, ll, lat = result["elbo"], result["log_likelihood"], result["latent"]
    rows = [
        ("run", result["run"]),
        ("model", result["model"]),
        ("data", f"{result['data']} ({result['examples']} examples)"),
        ("ELBO (nats)", f"{figure(e['elbo'])}  (recon {figure(e['recon'])}, KL {figure(e['kl'])})"),
        ("ELBO bits/dim", figure(e["bits_per_dim"], ".4f")),
        (
            "log p(x) (nats)",
            "–"
            if ll is None
            else f"{ll['mean']:.3f} ± {figure(ll['stderr'])}  (K = {ll['k']} importance samples"
            f"{', bf16' if ll.get('precision') == 'bf16' else ''})",
        ),
        ("log p(x) bits/dim", "–" if ll is None else f"{ll['bits_per_dim']:.4f}"),
        ("recon MSE", figure(e["mse"], ".4f")),
        ("active units", _active_words(lat)),
        (
            "KL per dim",
            "–" if lat["kl_per_dim"] is None else " ".join(f"{v:.2f}" for v in lat["kl_per_dim"]),
        ),
        ("aggregate mean", " ".join(f"{v:+.2f}" for v in lat["aggregate_mean"])),
        ("aggregate var", " ".join(f"{v:.2f}" for v in lat["aggregate_var"])),
    ]
    if lat.get("lower"):
        low = lat["lower"]
        rows.insert(
            rows.index(("recon MSE", figure(e["mse"], ".4f"))) + 1,
            (
                "lower layer z1",
                f"{low['active_units']} of {low['latent_dim']} active, KL "
                f"{sum(low['kl_per_dim']):.2f} nats (the rows below: the top layer z2)",
            ),
        )
    c = result["continuity"]
    if c:
        rows.append(
            (
                "continuity",
                f"roughness {c['roughness']:.3f}, output change per latent "
                f"std {c['change_per_std']:.3f}",
            )
        )
    if "synthetic" in result:
        rows += synthetic_rows(result["synthetic"])
    else:
        rows += _sample_quality_rows(result["sample_quality"])
    rows += _conditional_rows(result)
    rows += disentanglement_rows(result.get("disentanglement"))
    rows.append(("seconds", f"{result['seconds']}"))
    return rows


def disentanglement_rows(report: dict | None) -> list[tuple[str, str]]:
    """The disentanglement metrics, and which factor each code dimension carries."""
    if not report:
        return []
    d = report["dci"]
    carried = [
        f"z{i}: {name}" for i, name in enumerate(report["dimension_factor"]) if name is not None
    ]
    return [
        ("MIG", f"{report['mig']:.3f}  ({_per_factor(report['mig_per_factor'])})"),
        ("SAP", f"{report['sap']:.3f}"),
        (
            "DCI",
            f"disentanglement {d['disentanglement']:.3f}, completeness {d['completeness']:.3f}, "
            f"informativeness {d['informativeness']:.3f}",
        ),
        (
            "FactorVAE score",
            f"{report['factor_vae_score']:.3f}  (beta-VAE score {report['beta_vae_score']:.3f}; "
            f"interventions {report['interventions']})",
        ),
        ("dimensions carry", ", ".join(carried) or "no factor"),
    ]


def _per_factor(values: dict[str, float]) -> str:
    return ", ".join(
        f"{name} {'–' if value != value else f'{value:.2f}'}" for name, value in values.items()
    )


def _active_words(lat: dict) -> str:
    """Active units (the posterior mean varies: Var > 0.01, Burda et al.) beside how many
    dimensions carry information (KL > 0.1 nats): a unit can vary yet carry little."""
    words = f"{lat['active_units']} of {lat['latent_dim']}"
    if lat["kl_per_dim"] is None:
        return words
    carrying = sum(kl > 0.1 for kl in lat["kl_per_dim"])
    return f"{words} (posterior mean varies; {carrying} carry > 0.1 nats of KL)"


def _sample_quality_rows(q: dict) -> list[tuple[str, str]]:
    """The sample-quality judge's figures (labelled images), or why there are none."""
    if "skipped" in q:
        return [("sample quality", f"skipped: {q['skipped']}")]
    return [
        ("classifier acc.", f"{q['classifier_accuracy']:.4f} (the judge's own test accuracy)"),
        ("Fréchet distance", f"{q['frechet_distance']:.3f}"),
        ("precision/recall", f"{q['precision']:.3f} / {q['recall']:.3f}"),
        (
            "classes covered",
            f"{q['classes_covered']} of {q['classes']} (total variation "
            f"{q['total_variation']:.3f})",
        ),
        ("class histogram", " ".join(f"{v:.2f}" for v in q["generated_histogram"])),
        ("data histogram", " ".join(f"{v:.2f}" for v in q["data_histogram"])),
    ]


def synthetic_rows(s: dict) -> list[tuple[str, str]]:
    """A table run's synthetic-table figures (see
    :func:`vaekit.metrics.synthetic.synthetic_table_figures`) as table rows: quality, the columns
    generated least alike, privacy, usefulness."""
    q, n = s["quality"], s["rows"]
    rows = [
        (
            "synthetic table",
            f"{n['synthetic']} rows generated, compared with {n['real']} {s['compared_with']}",
        ),
        (
            "quality",
            f"{figure(q['overall'])}  (column shapes {figure(q['column_shapes'])}, pair trends "
            f"{figure(q['column_pair_trends'])}; SDMetrics' Quality Report, 1 = alike)",
        ),
    ]
    worst = sorted(q["columns"].items(), key=lambda item: item[1])[:3]
    if worst:
        rows.append(("  least alike", ", ".join(f"{name} {v:.3f}" for name, v in worst)))
    rows += _validity_rows(s)
    p = s["privacy"]
    if p is not None:
        rows += [
            (
                "closest-row distance",
                f"median {p['synthetic_to_train']:.4f} synthetic, {p['holdout_to_train']:.4f} "
                "held-out (to the training rows; 0 = a copy)",
            ),
            (
                "exact copies",
                f"{p['synthetic_copies']:.2%} of synthetic rows, {p['holdout_copies']:.2%} of "
                "held-out rows (the data's own repeats)",
            ),
            (
                "closer to training",
                f"{p['closer_to_train']:.1%} of synthetic rows (50 % when the model did not "
                f"memorise; overfitting protection {p['overfitting_protection']:.3f})",
            ),
        ]
    u = s["usefulness"]
    if u is not None:
        scores = ", ".join(
            f"{name} {u['synthetic'][name]:.3f} vs {u['real'][name]:.3f}" for name in u["real"]
        )
        rows.append((f"usefulness ({u['target']})", f"{scores}  (trained on synthetic vs real)"))
    return rows


def _validity_rows(s: dict) -> list[tuple[str, str]]:
    """SDMetrics' Diagnostic figures and the rules' broken rows (runs from before rules were
    scored have neither)."""
    rows = []
    d = s.get("diagnostic")
    if d is not None:
        worst = sorted(
            ((n, v) for n, v in d["columns"].items() if v == v and v < 1), key=lambda i: i[1]
        )[:3]
        below = "; below 1: " + ", ".join(f"{n} {v:.3f}" for n, v in worst) if worst else ""
        rows.append(
            (
                "validity",
                f"{figure(d['overall'])}  (data validity {figure(d['data_validity'])}, structure "
                f"{figure(d['data_structure'])}; SDMetrics' Diagnostic Report, 1 = valid{below})",
            )
        )
    for rule in s.get("rules") or []:
        again = f", {rule['drawn_again']:.1%} drawn again" if rule["drawn_again"] else ""
        how = f"{rule['origin']}, kept {rule['kept']}{again}"
        rows.append(("rule", f"{rule['rule']}: {rule['broken']} rows break it ({how})"))
    return rows


def _conditional_rows(result: dict) -> list[tuple[str, str]]:
    """A conditional run's rows: what it is conditioned on and how well samples follow it."""
    if "conditional" not in result:
        return []
    rows = [("conditioned on", ", ".join(result["conditioned_on"]) + "  (log p(x) is log p(x|c))")]
    c = result["conditional"]
    if "skipped" in c:
        rows.append(("conditional acc.", f"skipped: {c['skipped']}"))
    elif "prior" in c:
        for sampler, words in (("prior", "z from the prior"), ("gmm", "z from class mixtures")):
            part = c[sampler]
            rows.append(
                (
                    f"conditional acc. ({sampler})",
                    f"{part['accuracy']:.4f} of {c['samples']} samples ({words}) classified as "
                    "the class asked for",
                )
            )
            per_class = " ".join(f"{name} {v:.3f}" for name, v in part["per_class"].items())
            rows.append(("  per class", per_class))
    else:
        rows.append(
            (
                "column shapes",
                f"{figure(c['column_shapes'])} (generated for held-out rows' conditions)",
            )
        )
        for value, part in c["by_condition"].items():
            rows.append((f"  {value}", f"{figure(part['column_shapes'])}  ({part['rows']} rows)"))
    return rows


COMPARE_KEYS = [
    "model",
    "ELBO (nats)",
    "log p(x) (nats)",
    "recon MSE",
    "active units",
    "continuity",
    "Fréchet distance",
    "precision/recall",
    "classes covered",
]
