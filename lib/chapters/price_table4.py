"""The price-of-robustness chapter's Table 4 (P3, the paper's Appendix B), its companions
(where the profile's PGD overstates, a second seed, BatchNorm's mode) and the chapter's
reproduction-table rows.

Table 4's strong evaluations come in as functions, e.g.
``strong_of(dataset, norm, eps, model) -> (strong, profile PGD, n images)``
(:func:`lib.price.strong_cell` with the configs and device bound), so that everything
here runs on fake records too. Accuracies are fractions in [0, 1] unless a name says
points; glued values come back as ``{name: value}`` of plain Python numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from lib import price, verdicts
from lib.chapter import eps_key, eps_label, norm_key
from lib.chapters.price import std_acc

FLAG_GAP = 0.03  # a robust accuracy overstated by more than this (3 points) is flagged (!)
APGD = ("APGD-CE", "APGD-T")  # the adaptive attacks of the strong cascade


# P3: half clean, half adversarial batches (Table 4)


def table4_rows(grid) -> list[tuple]:
    """Table 4's rows ``(dataset, norm, eps)`` at the grid's profile, in the paper's order."""
    return [(d, n, e) for d in grid.datasets for n in ("inf", 2) for e in grid.table4_eps[(d, n)]]


@dataclass
class Table4:
    """Table 4 as the chapter shows it, and the numbers later sections read.

    ``cells[(dataset, norm, eps, "std"|"rob", model)]``: accuracy with its binomial SE;
    ``gaps``: ``(dataset, norm, eps, model, profile PGD - strong)`` per half-half and
    robust model; ``glued``: the chapter's P3 values.
    """

    frame: pd.DataFrame
    cells: dict
    gaps: list
    glued: dict


def table4(grid, results, strong_of) -> Table4:
    """Table 4: per row the three models' standard accuracy and their strong robust
    accuracy at the row's eps (ours ± SE in %, beside the paper's), and how much the
    profile's PGD alone overstates the half-half and robust models' (flagged (!) over
    :data:`FLAG_GAP`)."""
    rows, cells, gaps, mnist_dist, glued = [], {}, [], [], {}
    for dataset, norm, eps in table4_rows(grid):
        paper = verdicts.PAPER_TABLE4.get((dataset, norm, eps))
        std = {m: std_acc(results, dataset, norm, eps, mix=price.MIX[m])[0] for m in price.MODELS}
        std["standard"] = std_acc(results, dataset)[0]
        strong = {m: strong_of(dataset, norm, eps, m) for m in price.MODELS}
        rob = {m: strong[m][0] for m in price.MODELS}
        row = {"data set": dataset, "norm": norm_key(norm), "eps": eps_label(dataset, eps)}
        for kind, values in (("std", std), ("rob", rob)):
            for i, model in enumerate(price.MODELS):
                n = results.sizes(dataset)[1] if kind == "std" else strong[model][2]
                est = cells[(dataset, norm, eps, kind, model)] = verdicts.accuracy(values[model], n)
                glued[f"P3_{dataset}_{norm_key(norm)}_{eps_key(dataset, eps)}_{kind}_{model}"] = (
                    values[model]
                )
                ref = paper[0 if kind == "std" else 1][i] if paper else None
                row[(kind, model, "ours")] = est.format(100, 1)
                row[(kind, model, "paper")] = f"{ref:.2f}" if ref is not None else "-"
                if dataset == "mnist" and paper and (kind == "std" or model != "standard"):
                    mnist_dist.append(abs(100 * values[model] - ref))
        for model in ("half", "robust"):
            gap = strong[model][1] - strong[model][0]
            gaps.append((dataset, norm, eps, model, gap))
            row[("PGD - strong", model, "")] = f"{100 * gap:.1f}" + (
                " (!)" if gap > FLAG_GAP else ""
            )
        rows.append(row)
    frame = pd.DataFrame(rows).set_index(["data set", "norm", "eps"])
    frame.columns = pd.MultiIndex.from_tuples(frame.columns, names=["accuracy", "training", ""])
    glued |= {
        "P3_rows": len(rows),
        "P3_mnist_mean_distance": float(np.mean(mnist_dist)) if mnist_dist else float("nan"),
        "P3_mnist_cells": len(mnist_dist),
        "P3_max_gap": max(g[-1] for g in gaps),
        "P3_flagged": sum(g[-1] > FLAG_GAP for g in gaps),
    }
    return Table4(frame, cells, gaps, glued)


def breakdown(gaps, breakdown_of) -> tuple[pd.DataFrame, dict]:
    """Where the profile's PGD overstates each half-half and robust model, largest gap
    first: the points each attack of the strong cascade takes (``breakdown_of(dataset,
    norm, eps, model)``: :func:`lib.price.strong_breakdown`'s dict, fractions) in points.
    Glued: the rows, the largest residual (profile PGD minus the parts minus strong; 0 up
    to rounding) and the share of the flagged models' gap that APGD-CE and APGD-T take
    (NaN when none is flagged)."""
    rows = []
    for dataset, norm, eps, model, gap in sorted(gaps, key=lambda g: -g[-1]):
        b = breakdown_of(dataset, norm, eps, model)
        parts = sum(b[c] for c in price.COMPONENTS)
        rows.append(
            {
                "data set": dataset,
                "norm": norm_key(norm),
                "eps": eps_label(dataset, eps),
                "model": model,
                **{name: 100 * value for name, value in b.items()},
                "flagged": gap > FLAG_GAP,  # as in Table 4
                "residual": 100 * (b["profile PGD"] - parts - b["strong"]),
            }
        )
    table = pd.DataFrame(rows)
    flagged = table[table["flagged"]]
    share = (
        float(
            flagged[list(APGD)].to_numpy().sum()
            / (flagged["profile PGD"] - flagged["strong"]).sum()
        )
        if len(flagged)
        else float("nan")
    )
    glued = {
        "P3_breakdown_rows": len(table),
        "P3_breakdown_max_residual": float(table["residual"].abs().max()),
        "P3_flagged_apgd_share": share,
    }
    return table.drop(columns=["residual", "flagged"]), glued


# --------------------------------------------------------------------------
# A second seed, and BatchNorm's mode during the attack


def seed_table(grid, seed_configs, seed_results, strong_of, cells: dict, n_test, seed: int):
    """Table 4's rows of ``grid.seed_rows`` with their robust model (and, where the grid
    trained it again, the standard model) trained again with another seed: each cell
    beside the first seed's (``cells`` of :class:`Table4`) with the difference ± both
    test-set errors in quadrature. ``strong_of`` reads the other seed's strong
    evaluation, ``n_test(dataset)`` the test size. Returns the table (None without
    rows), the glued values (among them the largest |difference| in standard errors and
    each data set's seed spread) and the spreads ``{(dataset, "std"|"rob"): spread}``
    (:func:`lib.verdicts.pair_spread`: "std" over every model's standard accuracy,
    "rob" over the robust models' strong robust accuracy; a standard model's robust
    accuracy sits at its floor near 0 and says nothing of the seed)."""
    rows, z, glued, pairs = [], [], {}, {}
    for dataset, norm, eps, _ in grid.seed_rows:
        for model in ("standard", "robust"):
            others = price.table4_configs(seed_configs, dataset, norm, eps, model)
            if not others:  # a row whose standard model was not trained again
                continue
            std_other = seed_results.mean_spread(
                "std_acc", dataset, norm, eps, mix=price.MIX[model]
            )[0]
            rob_other = strong_of(dataset, norm, eps, model)
            row = {
                "data set": dataset,
                "norm": norm_key(norm),
                "eps": eps_label(dataset, eps),
                "model": model,
            }
            for kind, value, n in (
                ("std", std_other, n_test(dataset)),
                ("rob", rob_other[0], rob_other[2]),
            ):
                first = cells[(dataset, norm, eps, kind, model)]
                if kind == "std" or model == "robust":
                    pairs.setdefault((dataset, kind), []).append((first.value, value))
                # Errors in quadrature: for two models on the same images an upper bound.
                diff = verdicts.accuracy(value, n) - first
                z.append(abs(diff.z()) if diff.se else 0.0)
                key = f"P3_seed_{dataset}_{norm_key(norm)}_{eps_key(dataset, eps)}"
                glued[f"{key}_{kind}_{model}"] = value
                row[(kind, f"seed {seed}")] = first.format(100, 1)
                row[(kind, "another seed")] = f"{100 * value:.1f} (seed {others[0].seed})"
                row[(kind, "difference")] = diff.format(100, 1)
            rows.append(row)
    spreads = {k: verdicts.pair_spread(v) for k, v in pairs.items()}
    glued |= {
        "P3_seed_rows": len(grid.seed_rows),
        "P3_seed_rows_text": ", ".join(
            f"{d} {norm_key(n)} {eps_label(d, e)}" for d, n, e, _ in grid.seed_rows
        ),
        "P3_seed_max_z": max(z, default=float("nan")),
        "P3_seed_cells": len(z),
    }
    for d in grid.datasets:  # every data set, NaN / 0 where no second seed ran
        for kind in ("std", "rob"):
            glued[f"P3_seed_spread_{d}_{kind}"] = spreads.get((d, kind), float("nan"))
            glued[f"P3_seed_pairs_{d}_{kind}"] = len(pairs.get((d, kind), []))
    if not rows:
        return None, glued, spreads
    table = pd.DataFrame(rows).set_index(["data set", "norm", "eps", "model"])
    table.columns = pd.MultiIndex.from_tuples(table.columns, names=["accuracy", ""])
    return table, glued, spreads


def paired_losses(rows, images_of) -> dict:
    """Per Table 4 row ``(dataset, norm, eps)``, the SE of its robust-accuracy loss
    rob(robust) - rob(half) from the per-image outcomes of the two strong evaluations
    (``images_of(dataset, norm, eps, model)``: per seed, a string of "1"/"0" on the same
    images, :func:`lib.price.strong_images`), :func:`lib.verdicts.paired_diff_se`. Rows
    with several seeds or outcomes of other lengths are left out (their SE stays the
    two in quadrature)."""
    out = {}
    for row in rows:
        robust, half = (images_of(*row, model) for model in ("robust", "half"))
        if len(robust) != 1 or len(half) != 1 or len(robust[0]) != len(half[0]):
            continue
        a, b = ([c == "1" for c in s[0]] for s in (robust, half))
        out[row] = verdicts.paired_diff_se(a, b)
    return out


def bn_table(grid, results) -> tuple[pd.DataFrame, dict]:
    """The runs of ``grid.bn_probe`` trained with the attack's BatchNorm in eval and in
    train mode: standard and robust accuracy (means over seeds). None without a probe."""
    rows, glued = [], {}
    for dataset, norm, eps in grid.bn_probe:
        for mode in ("eval", "train"):
            ms = results.metrics(dataset, norm, eps, bn_mode=mode)
            std, rob = (float(np.mean([m[k] for m in ms])) for k in ("std_acc", "adv_acc"))
            key = f"P3_bn_{dataset}_{norm_key(norm)}_{eps_key(dataset, eps)}_{mode}"
            glued |= {f"{key}_std": std, f"{key}_rob": rob}
            rows.append(
                {
                    "data set": dataset,
                    "norm": norm_key(norm),
                    "eps": eps_label(dataset, eps),
                    "bn_mode during the attack": mode,
                    "standard accuracy": std,
                    "robust accuracy": rob,
                }
            )
    glued["P3_bn_rows"] = len(grid.bn_probe)
    if not rows:  # a profile without the probe
        return None, glued
    return pd.DataFrame(rows).set_index(
        ["data set", "norm", "eps", "bn_mode during the attack"]
    ), glued


def paper_p3_glued(rows=None, n_test: int = 10_000) -> dict:
    """The paper's own Table 4 as P3 reads it: its rows, how many show each effect (> 0),
    how many show it beyond 2 SE at ``n_test`` test images per cell (the noise the
    paper's numbers would carry), and its rows against, in words; with ``rows`` (the
    profile's Table 4 rows), how many of the paper's are left out and their largest
    effect either way in points (NaN: none left out)."""
    half = verdicts.paper_half_half()
    keys = list(half)
    left_out = [k for k in keys if rows is not None and k not in set(rows)]
    glued = {
        "P3_paper_rows": len(keys),
        "P3_paper_left_out": len(left_out),
        "P3_paper_left_out_max": max(
            (abs(e) for k in left_out for e in half[k]), default=float("nan")
        ),
    }
    against = []
    for i, (name, kind) in enumerate((("up", "std"), ("down", "rob"))):
        effects = [half[k][i] for k in keys]
        ses = []
        for k in keys:
            cell = verdicts.PAPER_TABLE4[k][0 if kind == "std" else 1]
            a, b = (verdicts.accuracy(cell[j] / 100, n_test) for j in (1, 2))
            ses.append(100 * (a - b).se)
        glued[f"P3_paper_{name}_rows"] = verdicts.paper_count(effects)
        glued[f"P3_paper_{name}_beyond"] = verdicts.paper_count(effects, ses)
        for k, e in zip(keys, effects, strict=True):
            if e <= 0:
                cell = verdicts.PAPER_TABLE4[k][0 if kind == "std" else 1]
                sign = "<" if kind == "std" else ">"
                label = f"{k[0]} {norm_key(k[1])} {eps_label(k[0], k[2])}"
                words = "standard" if kind == "std" else "robust"
                against.append(f"{label}: {cell[1]:.2f} {sign} {cell[2]:.2f} {words}")
    glued["P3_paper_against"] = "; ".join(against)
    return glued


def p3_glued(grid, t4: Table4, *, spread=None, paired=None) -> dict:
    """P3's pooled effects as :func:`lib.price.judge_p3` judges them (fractions): the
    mean gain and loss over the rows with their SEs, and how many rows are paired."""
    keys = table4_rows(grid)
    labels = [str(k) for k in keys]
    _, gains, losses = price.judge_p3(keys, t4.cells, labels, spread=spread, paired=paired)
    gain, loss = verdicts.pooled_effect(gains), verdicts.pooled_effect(losses)
    return {
        "P3_gain_mean": gain.value,
        "P3_gain_se": gain.se,
        "P3_loss_mean": loss.value,
        "P3_loss_se": loss.se,
        "P3_paired_rows": len(paired or {}),
    }


# --------------------------------------------------------------------------
# The reproduction table


def std_est(results, spread=None):
    """``(dataset, norm, eps, n=, mix=) -> standard accuracy ± SE``, as
    :func:`lib.price.judge_p1` and :func:`lib.price.judge_p2` ask: over several seeds
    their mean with the seeds' spread and the test set's SE
    (:func:`lib.verdicts.seeds_and_test_set`); one seed, its binomial SE widened by
    ``spread[(dataset, "std")]`` (:func:`lib.verdicts.widened`; none where not
    measured)."""

    def est(dataset, norm="inf", eps=0.0, n=None, mix=None):
        values = [m["std_acc"] for m in results.metrics(dataset, norm, eps, mix=mix, n=n)]
        n_test = results.sizes(dataset)[1]
        if len(values) > 1:
            return verdicts.seeds_and_test_set(values, n_test)
        spread_std = (spread or {}).get((dataset, "std"), float("nan"))
        return verdicts.widened(verdicts.accuracy(values[0], n_test), spread_std)

    return est


def claim_rows(grid, results, t4: Table4, table4_configs, *, spread=None, paired=None):
    """The reproduction table's rows P1 (per data set), P2 (per data set), P3 and P4, with
    :mod:`lib.price`'s verdicts; ``spread`` and ``paired`` as :func:`lib.price.judge_p3`
    takes them (the seed spread also widens P1's and P2's single models)."""
    estimate = std_est(results, spread)
    keys = table4_rows(grid)
    labels = [f"{d} {norm_key(n)} {eps_label(d, e)}" for d, n, e in keys]
    p3, gains, losses = price.judge_p3(keys, t4.cells, labels, spread=spread, paired=paired)
    p4, p4_facts = price.judge_p4(table4_configs, results.runs)
    n_rows = len(keys)
    gain, loss = verdicts.pooled_effect(gains), verdicts.pooled_effect(losses)
    return [
        *(
            j.row(
                f"P1 ({dataset})",
                "few samples: adversarial training helps standard accuracy (most on MNIST); "
                "many samples: robust models below the standard one",
            )
            for dataset, j in price.judge_p1(grid, estimate).items()
        ),
        *(
            j.row(f"P2 ({dataset})", "standard accuracy falls steadily as eps_train grows")
            for dataset, j in price.judge_p2(grid, estimate).items()
        ),
        p3.row(
            "P3",
            "half-half: standard accuracy slightly up, robust accuracy down by a roughly "
            "proportional amount (Table 4: 11 of 12 rows each way)",
            ours=f"over {n_rows} rows, standard accuracy up {gain.format(100, 2)} points and "
            f"robust accuracy down {loss.format(100, 2)} points on average; "
            f"{sum(g.z() > verdicts.Z for g in gains)} of {n_rows} rows up and "
            f"{sum(lo.z() > verdicts.Z for lo in losses)} down beyond 2 SE on their own",
        ),
        p4.row(
            "P4",
            "Table 2 eps; PGD with a random start; images in [0, 1]",
            ours=f"{len(p4_facts) // 2} adversarial runs: eps and random start read from each "
            "run's stored attack",
        ),
    ]
