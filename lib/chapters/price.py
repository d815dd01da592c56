"""The price-of-robustness chapter's runs, figure data, tables and glued values for
P1 (standard accuracy against the number of training images, the paper's Fig. 1, 6
and 1c, 6c) and P2 (against the training eps, Fig. 7).

``book/price_of_robustness.py`` carries the argument; this module computes what it
shows from the grid's runs (a :class:`lib.experiments.results.Results`, so that fake records do
too). Accuracies are fractions in [0, 1]; eps is in [0, 1] pixel space. Glued values
come back as ``{name: value}`` of plain Python numbers. Table 4, its companions and
the reproduction-table rows are :mod:`lib.chapters.price_table4`; the committed MNIST
l2 trials :mod:`lib.chapters.price_l2`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import pandas as pd

from lib.chapter import eps_key, eps_label, norm_key, norm_label, verdict
from lib.experiments import grids
from lib.experiments.execute import sweep

PAPER_FIGURE = {2: "Paper Fig. 1", "inf": "Paper Fig. 6"}  # standard accuracy against n


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


def std_acc(results, *args, **kwargs) -> tuple[float, float]:
    """Standard accuracy of one configuration (:meth:`lib.experiments.results.Results.metrics`'s
    arguments): the mean over seeds and its spread."""
    return results.mean_spread("std_acc", *args, **kwargs)


# --------------------------------------------------------------------------
# P1: standard accuracy against the number of training images (Fig 1, 6)


@dataclass(frozen=True)
class Line:
    """One line of a figure: its label, x values, y values and error bars (and, for
    Fig 1/6, each point's optimizer steps, read from its runs)."""

    label: str
    x: list
    y: list
    err: list
    steps: list = field(default_factory=list)


def run_steps(results, *args, **kwargs) -> int | None:
    """The optimizer steps of one configuration's runs (as each record states them);
    None when a record does not say, or its seeds differ."""
    steps = {m.get("steps") for m in results.metrics(*args, **kwargs)}
    return steps.pop() if len(steps) == 1 else None


def vs_n_lines(grid, results, dataset: str, norm) -> list[Line]:
    """Fig 1 (l2) or Fig 6 (l_inf) of one data set: one line per training eps,
    eps 0 (standard training) first; x is each run's training-set size; the error bar
    is the spread over seeds where there are several (0 for one)."""
    ns = grid.n_values[dataset]
    lines = []
    for eps in (0.0, *grid.fig_eps[(dataset, norm)]):
        ys = [std_acc(results, dataset, norm, eps, n=n) for n in ns]
        lines.append(
            Line(
                f"eps_train = {eps_label(dataset, eps)}",
                [results.metrics(dataset, norm, eps, n=n)[0]["n_train"] for n in ns],
                [y[0] for y in ys],
                [y[1] for y in ys],
                [run_steps(results, dataset, norm, eps, n=n) for n in ns],
            )
        )
    return lines


def p1_steps(grid, results) -> tuple[pd.DataFrame, dict]:
    """The optimizer steps of Fig 1/6's runs per data set and training-set size, and the
    seeds each point averages: the standard and every robust model of a size alike, or
    the table says which. Glued ``P1_<data set>_n<n>_steps`` (-1: the runs differ) and
    ``P1_<data set>_n<n>_seeds``, and the same at the fewest and most images as
    ``P1_<data set>_fewest_steps`` ... ``_most_seeds``."""
    rows, glued = [], {}
    for dataset in grid.datasets:
        for n in grid.n_values[dataset]:
            configs = [(0.0, "inf")] + [
                (eps, norm) for norm in ("inf", 2) for eps in grid.fig_eps[(dataset, norm)]
            ]
            steps = {run_steps(results, dataset, norm, eps, n=n) for eps, norm in configs}
            seeds = {len(results.metrics(dataset, norm, eps, n=n)) for eps, norm in configs}
            same = steps.pop() if len(steps) == 1 else None
            ms = results.metrics(dataset, n=n)
            key = f"P1_{dataset}_n{n or 'all'}"
            glued[f"{key}_steps"] = same if same is not None else -1
            glued[f"{key}_seeds"] = max(seeds)
            ns = grid.n_values[dataset]
            for end, at in (("fewest", ns[0]), ("most", ns[-1])):
                if n == at:  # the same values under a name that every profile has
                    glued[f"P1_{dataset}_{end}_steps"] = glued[f"{key}_steps"]
                    glued[f"P1_{dataset}_{end}_seeds"] = glued[f"{key}_seeds"]
            rows.append(
                {
                    "data set": dataset,
                    "training images": ms[0]["n_train"],
                    "optimizer steps (every model)": same if same is not None else "differ",
                    "seeds": max(seeds),
                }
            )
    return pd.DataFrame(rows).set_index(["data set", "training images"]), glued


def p1_gains(grid, results, dataset: str, norm) -> tuple[float, float]:
    """Standard accuracy of the figure's largest-eps model minus the standard model's,
    at the fewest and at the most training images."""
    ns = grid.n_values[dataset]
    eps = grid.fig_eps[(dataset, norm)][-1]
    return tuple(
        std_acc(results, dataset, norm, eps, n=n)[0] - std_acc(results, dataset, n=n)[0]
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
                    out[f"{key}_std"] = std_acc(results, dataset, norm, eps, n=n)[0]
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
    """One panel of Fig 1/6: a line with error bars per training eps, log x; each
    size's tick names its optimizer steps (the first line's runs; :func:`p1_steps`
    says whether every line's are the same)."""
    for i, line in enumerate(lines):
        ax.errorbar(
            line.x, line.y, yerr=line.err, marker="o", capsize=3, color=f"C{i}", label=line.label
        )
    ax.set(xscale="log", xlabel="training images (optimizer steps)", title=title)
    ax.set_ylabel("standard test accuracy")
    if lines and lines[0].steps:
        first = lines[0]
        labels = [
            f"{x:,}\n({s:,})" if s is not None else f"{x:,}"
            for x, s in zip(first.x, first.steps, strict=True)
        ]
        ax.set_xticks(first.x, labels, fontsize=8)
        ax.minorticks_off()
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
    accs = [std_acc(results, dataset, norm, eps) for eps in axis]
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
