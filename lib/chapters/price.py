"""The price-of-robustness chapter's tables, figure data, glued values and claim rows.

``book/price_of_robustness.py`` carries the argument; this module computes
what it shows from the grid's runs (a :class:`lib.results.Results`) and from
Table 4's strong evaluations, which the chapter hands in as a function
``strong_of(dataset, norm, eps, model) -> (strong, profile PGD, n images)``
(:func:`lib.price.strong_cell` with the configs and device bound), so that
everything here runs on fake records too. Accuracies are fractions in
[0, 1] unless a name says points (percentage points); eps is in [0, 1] pixel
space. Glued values come back as ``{name: value}`` of plain Python numbers
(the chapter glues them with :func:`glue_all`); the verdicts are
:mod:`lib.price`'s.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from lib import grids, price, profiles, sweep, verdicts
from lib.chapter import eps_key, eps_label, norm_key, norm_label, verdict

NORMS = ("inf", 2)  # Table 4's order: l_inf rows, then l2
FLAG_GAP = 0.03  # a robust accuracy overstated by more than this (3 points) is flagged (!)
APGD = ("APGD-CE", "APGD-T")  # the adaptive attacks of the strong cascade
PAPER_FIGURE = {2: "Paper Fig. 1", "inf": "Paper Fig. 6"}  # standard accuracy against n


def glue_all(values: dict) -> None:
    """Glue every ``{name: value}`` without showing it (the prose shows them)."""
    from myst_nb import glue

    for name, value in values.items():
        glue(name, value, display=False)


# --------------------------------------------------------------------------
# The grid


def grid_runs(profile: str, seed: int = 0) -> tuple:
    """The chapter's grid, its runs by part, and every run once: ``(grid, parts,
    configs)``. A nonzero ``seed`` shifts every run's seed; the grid's structure stays."""
    grid = grids.price_grid(profile)
    parts = grids.price_configs(profile)
    if seed:
        parts = {k: [replace(c, seed=c.seed + seed) for c in v] for k, v in parts.items()}
    return grid, parts, sweep.unique(c for part in parts.values() for c in part)


def train_minutes(*results) -> float:
    """The summed training time of every run of ``results``, in minutes."""
    return sum(m["train_seconds"] for r in results for m in r.runs.values()) / 60


def subset_warnings(results, datasets) -> list[str]:
    """A MyST warning for each data set whose runs drew a subset of the official data."""
    notes = []
    for dataset in datasets:
        n_max, n_test, subset = results.sizes(dataset)
        if subset:
            notes.append(
                f":::{{warning}}\n{dataset}: the runs use at most {n_max:,} training and "
                f"{n_test:,} test images from a subset of the official data set. The numbers "
                "are reduced-scale, not the paper's.\n:::"
            )
    return notes


def _std(results, *args, **kwargs) -> tuple[float, float]:
    """Standard accuracy: the mean over seeds and its spread."""
    return results.mean_spread("std_acc", *args, **kwargs)


# --------------------------------------------------------------------------
# P1: standard accuracy against the number of training images (Fig 1, 6)


@dataclass(frozen=True)
class Line:
    """One line of a figure: its label, x values, y values and error bars."""

    label: str
    x: list
    y: list
    err: list


def vs_n_lines(grid, results, dataset: str, norm) -> list[Line]:
    """Fig 1 (l2) or Fig 6 (l_inf) of one data set: one line per training eps,
    eps 0 (standard training) first; x is each run's training-set size."""
    ns = grid.n_values[dataset]
    lines = []
    for eps in (0.0, *grid.fig_eps[(dataset, norm)]):
        ys = [_std(results, dataset, norm, eps, n=n) for n in ns]
        lines.append(
            Line(
                f"eps_train = {eps_label(dataset, eps)}",
                [results.metrics(dataset, norm, eps, n=n)[0]["n_train"] for n in ns],
                [y[0] for y in ys],
                [y[1] for y in ys],
            )
        )
    return lines


def p1_gains(grid, results, dataset: str, norm) -> tuple[float, float]:
    """Standard accuracy of the figure's largest-eps model minus the standard model's,
    at the fewest and at the most training images."""
    ns = grid.n_values[dataset]
    eps = grid.fig_eps[(dataset, norm)][-1]
    return tuple(
        _std(results, dataset, norm, eps, n=n)[0] - _std(results, dataset, n=n)[0]
        for n in (ns[0], ns[-1])
    )


def p1_glued(grid, results) -> dict:
    """Every point of Fig 1/6 (``P1_<data set>_<norm>_n<n>_eps<eps>_std``) and the
    gains of :func:`p1_gains` (``..._gain_small_n``, ``..._gain_large_n``)."""
    out = {}
    for norm in (2, "inf"):
        for dataset in grid.datasets:
            for eps in (0.0, *grid.fig_eps[(dataset, norm)]):
                for n in grid.n_values[dataset]:
                    key = f"P1_{dataset}_{norm_key(norm)}_n{n or 'all'}_eps{eps_key(dataset, eps)}"
                    out[f"{key}_std"] = _std(results, dataset, norm, eps, n=n)[0]
    for dataset in grid.datasets:
        for norm in ("inf", 2):
            small, large = p1_gains(grid, results, dataset, norm)
            out[f"P1_{dataset}_{norm_key(norm)}_gain_small_n"] = small
            out[f"P1_{dataset}_{norm_key(norm)}_gain_large_n"] = large
    return out


def p1_table(grid, results) -> pd.DataFrame:
    """The gains of :func:`p1_gains`, one row per (data set, norm)."""
    rows = []
    for dataset in grid.datasets:
        for norm in ("inf", 2):
            small, large = p1_gains(grid, results, dataset, norm)
            rows.append(
                {
                    "data set": dataset,
                    "norm": norm_key(norm),
                    "eps_train": eps_label(dataset, grid.fig_eps[(dataset, norm)][-1]),
                    "robust - standard, fewest images": small,
                    "robust - standard, most images": large,
                }
            )
    return pd.DataFrame(rows).set_index(["data set", "norm"])


def draw_vs_n(ax, lines: list[Line], title: str) -> None:
    """One panel of Fig 1/6: a line with error bars per training eps, log x."""
    for i, line in enumerate(lines):
        ax.errorbar(
            line.x, line.y, yerr=line.err, marker="o", capsize=3, color=f"C{i}", label=line.label
        )
    ax.set(xscale="log", xlabel="training images", ylabel="standard test accuracy", title=title)
    ax.legend(fontsize=8)


def vs_n_figure(grid, results, norm, profile: str):
    """Paper Fig. 1 (``norm`` 2) or Fig. 6 (``"inf"``) at reduced scale: one panel per
    data set."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(grid.datasets), figsize=(11, 3.6), squeeze=False)
    for ax, dataset in zip(axes[0], grid.datasets, strict=True):
        _, n_test, subset = results.sizes(dataset)
        title = f"{dataset}{' (subset)' if subset else ''}, {n_test:,} test images"
        draw_vs_n(ax, vs_n_lines(grid, results, dataset, norm), title)
    fig.suptitle(f"{PAPER_FIGURE[norm]}: {norm_label(norm)}-trained models, profile {profile}")
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------
# P1 on Restricted ImageNet (Fig 1c, 6c)

RI = "restricted_imagenet"
RI_CLAIM = "P1 (Restricted ImageNet)"
RI_PAPER = "many samples: robust ResNet-50s below the standard one (Fig 1c, 6c)"


def ri_runs(profile: str, seed: int = 0) -> tuple:
    """The Restricted ImageNet grid and its Fig 1c/6c runs, seeds shifted by ``seed``."""
    configs = [replace(c, seed=c.seed + seed) for c in grids.ri_configs(profile)["fig"]]
    return grids.ri_grid(profile), configs


def ri_acc(ri, norm, eps, n, key: str = "std_acc") -> float:
    """Mean over seeds of a metric of the RI runs at one (norm, eps, n); eps 0: standard."""
    return ri.mean_spread(key, RI, norm, eps, n=n)[0]


def ri_lines(ri, ri_grid, norm) -> list[tuple[Line, str]]:
    """Fig 1c/6c's lines with their matplotlib style: per eps (0 and Table 2's) the
    plain accuracy (solid) and the class-balanced one (dashed)."""
    ns = ri_grid.n_values
    xs = [ri.metrics(RI, n=n)[0]["n_train"] for n in ns]
    lines = []
    for eps in (0.0, ri_grid.eps[norm]):
        for key, style in (("std_acc", "o-"), ("std_acc_balanced", "o--")):
            label = f"eps_train = {eps:g}" + (", balanced" if key.endswith("balanced") else "")
            lines.append((Line(label, xs, [ri_acc(ri, norm, eps, n, key) for n in ns], []), style))
    return lines


def ri_gaps(ri, ri_grid) -> dict[str, tuple[float, float]]:
    """Per norm key: the robust model's standard accuracy minus the standard model's, at
    the fewest and at the most training images."""
    ns = ri_grid.n_values
    return {
        norm_key(norm): tuple(
            ri_acc(ri, norm, ri_grid.eps[norm], n) - ri_acc(ri, norm, 0.0, n)
            for n in (ns[0], ns[-1])
        )
        for norm in (2, "inf")
    }


def ri_glued(ri, ri_grid) -> dict:
    """Every point of Fig 1c/6c (``..._std`` plain, ``..._bal`` balanced) and the gains."""
    out = {}
    for norm in (2, "inf"):
        for eps in (0.0, ri_grid.eps[norm]):
            for key, kind in (("std_acc", "std"), ("std_acc_balanced", "bal")):
                for n in ri_grid.n_values:
                    name = f"P1_{RI}_{norm_key(norm)}_n{n or 'all'}_eps{eps_key(RI, eps)}"
                    out[f"{name}_{kind}"] = ri_acc(ri, norm, eps, n, key)
    for name, (small, large) in ri_gaps(ri, ri_grid).items():
        out[f"P1_{RI}_{name}_gain_small_n"] = small
        out[f"P1_{RI}_{name}_gain_large_n"] = large
    return out


def ri_claim_row(gaps: dict | None) -> dict:
    """The reproduction table's RI row: every robust model below the standard one at the
    most images; ``gaps`` None: not run (no ImageNet)."""
    row = {"claim": RI_CLAIM, "paper": RI_PAPER}
    if gaps is None:
        return {**row, "ours": "no ImageNet here", "verdict": "not run"}
    ours = "; ".join(
        f"{name}: {small:+.1%} at fewest, {large:+.1%} at most images"
        for name, (small, large) in gaps.items()
    )
    return {**row, "ours": ours, "verdict": verdict(all(large < 0 for _, large in gaps.values()))}


def ri_figure(ri, ri_grid, profile: str):
    """Paper Fig. 1c and 6c at reduced scale, side by side."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    n_test = ri.sizes(RI)[1]
    for ax, norm in zip(axes, (2, "inf"), strict=True):
        for i, (line, style) in enumerate(ri_lines(ri, ri_grid, norm)):
            ax.plot(line.x, line.y, style, color=f"C{i // 2}", label=line.label)
        title = f"{PAPER_FIGURE[norm]}c: {norm_label(norm)}-trained, {n_test:,} test images"
        ax.set(xscale="log", xlabel="training images", ylabel="standard test accuracy")
        ax.set_title(title)
        ax.legend(fontsize=7)
    fig.suptitle(f"Restricted ImageNet, profile {profile}")
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------
# P2: standard accuracy against the training eps (Fig 7)


def vs_eps(grid, results, dataset: str, norm) -> Line:
    """Fig 7's line of one (data set, norm): eps 0 then Table 4's eps, at the largest
    training set."""
    axis = [0.0, *grid.table4_eps[(dataset, norm)]]
    accs = [_std(results, dataset, norm, eps) for eps in axis]
    return Line(f"{dataset}, {norm_label(norm)}", axis, [a[0] for a in accs], [a[1] for a in accs])


def _panels(grid) -> list[tuple]:
    return [(d, n) for d in grid.datasets for n in ("inf", 2)]


def p2_glued(grid, results) -> dict:
    """Every point of Fig 7 (``P2_<data set>_<norm>_eps<eps>_std``) and each line's total
    drop from eps 0 to the largest eps (``..._drop``)."""
    out = {}
    for dataset, norm in _panels(grid):
        line = vs_eps(grid, results, dataset, norm)
        for eps, mean in zip(line.x, line.y, strict=True):
            out[f"P2_{dataset}_{norm_key(norm)}_eps{eps_key(dataset, eps)}_std"] = mean
        out[f"P2_{dataset}_{norm_key(norm)}_drop"] = line.y[0] - line.y[-1]
    return out


def p2_table(grid, results) -> pd.DataFrame:
    """Per (data set, norm): the standard model, the largest eps, the drop between them,
    and how many steps of the eps axis drop."""
    rows = {}
    for dataset, norm in _panels(grid):
        y = vs_eps(grid, results, dataset, norm).y
        drops = [a - b for a, b in zip(y, y[1:], strict=False)]
        rows[(dataset, norm_key(norm))] = {
            "standard (eps 0)": y[0],
            "largest eps": y[-1],
            "total drop": y[0] - y[-1],
            "steps that drop": f"{sum(d > 0 for d in drops)} of {len(drops)}",
        }
    return pd.DataFrame(rows).T


def vs_eps_figure(grid, results, profile: str):
    """Paper Fig. 7 at reduced scale: one panel per (data set, norm), two rows."""
    import matplotlib.pyplot as plt

    panels = _panels(grid)
    fig, axes = plt.subplots(2, len(panels) // 2, figsize=(9, 6.4), squeeze=False)
    for ax, (dataset, norm) in zip(axes.flat, panels, strict=True):
        line = vs_eps(grid, results, dataset, norm)
        ax.errorbar(line.x, line.y, yerr=line.err, marker="o", capsize=3)
        ax.set(xlabel="eps_train", ylabel="standard test accuracy", title=line.label)
        ax.set_xticks(line.x, [eps_label(dataset, e) for e in line.x], fontsize=8)
    fig.suptitle(f"Paper Fig. 7: standard accuracy against eps_train, profile {profile}")
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------
# P3: half clean, half adversarial batches (Table 4)


def table4_rows(grid) -> list[tuple]:
    """Table 4's rows ``(dataset, norm, eps)`` at the grid's profile, in the paper's order."""
    return [(d, n, e) for d, n in _panels(grid) for e in grid.table4_eps[(d, n)]]


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
        std = {m: _std(results, dataset, norm, eps, mix=price.MIX[m])[0] for m in price.MODELS}
        std["standard"] = _std(results, dataset)[0]
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
# The committed MNIST l2 2.5 trials (lab/results/l2-gap-cpu.json)

_CHANGED = ("attack", "train_steps", "step_factor", "epochs", "hidden", "train_eps", "trades")


def l2_changes(args: dict) -> tuple:
    """What a trial changed: (attack, PGD steps, step factor, epochs, hidden units,
    training eps, TRADES beta, PGD loss, seed); None = the recipe's (the loss "ce" and the
    seed 0 are the recipe's; options added later are absent from earlier rows, which kept
    the recipe's)."""
    loss, seed = args.get("loss"), args.get("seed")
    return (*(args.get(k) for k in _CHANGED), None if loss == "ce" else loss, seed or None)


L2_RECIPE = l2_changes({"attack": "pgd"})  # the cpu recipe itself, changed in nothing


#: How :func:`l2_rows`' numeric columns read (one Styler.format call: a second resets
#: the columns it does not name).
L2_FORMAT = {
    **{c: "{:.1f}" for c in ("standard", "profile PGD", "strong", "gap")},
    "time / the recipe's": "{:.2f}",
    "training eps": "{:g}",
    "step / eps": "{:.3g}",
}


def l2_recipe():
    """The recipe the trials change one thing of: MNIST's ``cpu`` settings."""
    return profiles.settings("mnist", "cpu")


def l2_adversary(args: dict, recipe) -> tuple[int, float, float]:
    """A trial's training PGD: (steps, eps, step / eps), the recipe's where it kept them."""
    steps = args["train_steps"] or recipe.train_attack[2].steps
    factor = args["step_factor"] or profiles.step_factor(steps)
    return steps, args["eps"] if args.get("train_eps") is None else args["train_eps"], factor


def l2_stronger(args: dict, recipe) -> bool:
    """A PGD-trained trial whose adversary is stronger than the recipe's: more steps,
    larger steps or a larger training eps (TRADES, APGD and margin trials are other
    losses)."""
    if args["attack"] != "pgd" or args.get("trades") is not None:
        return False
    if args.get("loss", "ce") != "ce":
        return False
    steps, train_eps, factor = l2_adversary(args, recipe)
    pgd = recipe.train_attack[2]
    return steps > pgd.steps or train_eps > args["eps"] or factor > pgd.step_factor


def _first_of(trials: list[dict], changes: tuple) -> dict | None:
    """The first trial of one recipe (``changes`` as :func:`l2_changes` gives them)."""
    return next((r for r in trials if l2_changes(r["args"]) == changes), None)


def l2_rows(trials: list[dict], recipe) -> list[dict]:
    """One row per trial: what it trained with, its accuracies in %, its gap (profile PGD
    minus strong, points) and its training time over the recipe's own first trial's."""
    own = _first_of(trials, L2_RECIPE)
    rows = []
    for r in trials:
        a = r["args"]
        steps, train_eps, factor = l2_adversary(a, recipe)
        attack = f"PGD-{steps}" if a["attack"] == "pgd" else f"APGD-CE-{a['steps']}"
        if a.get("trades") is not None:
            attack = f"TRADES (β = {a['trades']:g}), KL {attack}"
        if a.get("loss") == "margin":
            attack = f"{attack} on the CW margin"
        rows.append(
            {
                "training attack": attack,
                "training eps": train_eps,
                "step / eps": factor if a["attack"] == "pgd" else float("nan"),
                "epochs": a["epochs"] or recipe.epochs,
                "hidden units": a["hidden"] or recipe.model_kwargs["hidden"],
                "seed": a["seed"],
                "standard": 100 * r["std_acc"],
                "profile PGD": 100 * r["pgd_acc"],
                "strong": 100 * r["strong_acc"],
                "gap": 100 * (r["pgd_acc"] - r["strong_acc"]),
                "time / the recipe's": (
                    r["train_seconds"] / own["train_seconds"] if own else float("nan")
                ),
                "date": r["provenance"]["date"],
            }
        )
    return rows


def l2_glued(trials: list[dict], recipe) -> dict:
    """The trials' glued values: how many, the smallest gap and largest cost (of
    :func:`l2_rows`), the paper's robust accuracy of the cell (%), PGD-40's change of the
    strong and PGD readings against the recipe (points; NaN without both trials), the
    recipe's repeats, and the strong accuracy range (%) of the stronger adversaries."""
    rows = l2_rows(trials, recipe)
    own = _first_of(trials, L2_RECIPE)
    pgd40 = _first_of(trials, l2_changes({"attack": "pgd", "train_steps": 40}))
    band = [100 * r["strong_acc"] for r in trials if l2_stronger(r["args"], recipe)]
    out = {
        "P3_l2_trials": len(rows),
        "P3_l2_trial_min_gap": min((r["gap"] for r in rows), default=float("nan")),
        "P3_l2_trial_max_cost": max((r["time / the recipe's"] for r in rows), default=float("nan")),
        "P3_l2_paper_rob": verdicts.PAPER_TABLE4[("mnist", 2, 2.5)][1][2],
    }
    for name in ("strong", "pgd"):
        delta = 100 * (pgd40[f"{name}_acc"] - own[f"{name}_acc"]) if own and pgd40 else None
        out[f"P3_l2_pgd40_{name}_delta"] = float("nan") if delta is None else delta
    return out | {
        "P3_l2_recipe_repeats": len(l2_repeats(trials)),
        "P3_l2_stronger_trials": len(band),
        "P3_l2_stronger_min": min(band, default=float("nan")),
        "P3_l2_stronger_max": max(band, default=float("nan")),
        "P3_l2_own_strong": 100 * own["strong_acc"] if own else float("nan"),
    }


def l2_repeats(trials: list[dict]) -> list[dict]:
    """The recipe's own trial, each time it was run (another session, the same seed)."""
    return [r for r in trials if l2_changes(r["args"]) == L2_RECIPE]


def l2_repeats_note(trials: list[dict]) -> str | None:
    """Whether the recipe's repeats gave the same numbers, and the machine's speed drift
    between them; None with fewer than two repeats."""
    repeats = l2_repeats(trials)
    if len(repeats) < 2:
        return None
    accs = {(r["std_acc"], r["pgd_acc"], r["strong_acc"]) for r in repeats}
    secs = [r["train_seconds"] for r in repeats]
    return (
        f"The recipe's trial was run {len(repeats)} times (seed 0): "
        + ("the same accuracies each time" if len(accs) == 1 else "different accuracies")
        + f"; its training took {min(secs):.0f}-{max(secs):.0f} s, "
        f"so time ratios under {max(secs) / min(secs):.2f} are within the machine's drift."
    )


# --------------------------------------------------------------------------
# A second seed, and BatchNorm's mode during the attack


def seed_table(grid, seed_configs, seed_results, strong_of, cells: dict, n_test, seed: int):
    """Table 4's rows of ``grid.seed_rows`` with their standard and robust models trained
    again with another seed: each cell beside the first seed's (``cells`` of
    :class:`Table4`) with the difference ± both test-set errors in quadrature.
    ``strong_of`` reads the other seed's strong evaluation, ``n_test(dataset)`` the test
    size. Returns the table (None without rows) and the glued values, among them the
    largest |difference| in standard errors."""
    rows, z, glued = [], [], {}
    for dataset, norm, eps, _ in grid.seed_rows:
        for model in ("standard", "robust"):
            other = price.table4_configs(seed_configs, dataset, norm, eps, model)[0].seed
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
                # Errors in quadrature: for two models on the same images an upper bound.
                diff = verdicts.accuracy(value, n) - first
                z.append(abs(diff.z()) if diff.se else 0.0)
                key = f"P3_seed_{dataset}_{norm_key(norm)}_{eps_key(dataset, eps)}"
                glued[f"{key}_{kind}_{model}"] = value
                row[(kind, f"seed {seed}")] = first.format(100, 1)
                row[(kind, "another seed")] = f"{100 * value:.1f} (seed {other})"
                row[(kind, "difference")] = diff.format(100, 1)
            rows.append(row)
    glued |= {
        "P3_seed_rows": len(grid.seed_rows),
        "P3_seed_max_z": max(z, default=float("nan")),
        "P3_seed_cells": len(z),
    }
    if not rows:
        return None, glued
    table = pd.DataFrame(rows).set_index(["data set", "norm", "eps", "model"])
    table.columns = pd.MultiIndex.from_tuples(table.columns, names=["accuracy", ""])
    return table, glued


def bn_table(grid, results) -> tuple[pd.DataFrame, dict]:
    """The runs of ``grid.bn_probe`` trained with the attack's BatchNorm in eval and in
    train mode: standard and robust accuracy (means over seeds)."""
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
    return pd.DataFrame(rows).set_index(
        ["data set", "norm", "eps", "bn_mode during the attack"]
    ), glued


# --------------------------------------------------------------------------
# The reproduction table


def std_est(results):
    """``(dataset, norm, eps, n=, mix=) -> standard accuracy ± binomial SE`` (mean over
    seeds), as :func:`lib.price.judge_p1` and :func:`lib.price.judge_p2` ask."""

    def est(dataset, norm="inf", eps=0.0, n=None, mix=None):
        mean, _ = _std(results, dataset, norm, eps, n=n, mix=mix)
        return verdicts.accuracy(mean, results.sizes(dataset)[1])

    return est


def claim_rows(grid, results, t4: Table4, table4_configs) -> list[dict]:
    """The reproduction table's rows P1 (per data set), P2 (per data set), P3 and P4, with
    :mod:`lib.price`'s verdicts."""
    estimate = std_est(results)
    keys = table4_rows(grid)
    labels = [f"{d} {norm_key(n)} {eps_label(d, e)}" for d, n, e in keys]
    p3, gains, losses = price.judge_p3(keys, t4.cells, labels)
    p4, p4_facts = price.judge_p4(table4_configs, results.runs)
    n_rows = len(keys)
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
            ours=f"{sum(g.z() > verdicts.Z for g in gains)} of {n_rows} rows up beyond 2 SE, "
            f"{sum(loss.z() > verdicts.Z for loss in losses)} of {n_rows} down beyond 2 SE",
        ),
        p4.row(
            "P4",
            "Table 2 eps; PGD with a random start; images in [0, 1]",
            ours=f"{len(p4_facts) // 2} adversarial runs: eps and random start read from each "
            "run's stored attack",
        ),
    ]
