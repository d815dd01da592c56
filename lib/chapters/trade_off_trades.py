"""The trade-off chapter's X3 and frontier: TRADES at several beta, and every stored MNIST
l_inf model's standard against strong robust accuracy.

TRADES trains at the paper's l_inf eps (Table 4's largest; [0, 1] pixel space) and is
evaluated by Table 4's strong evaluation (:func:`trades_runs`); :func:`x3_judgement`
judges whether a larger beta buys robustness for standard accuracy. The frontier
(:func:`frontier_points`) places every stored MNIST l_inf model with its binomial SE.
"""

from __future__ import annotations

import dataclasses
import math

import pandas as pd

from lib import chapter, verdicts
from lib.experiments import evals, grids, profiles
from lib.experiments import runs as runs_lib
from lib.experiments.execute import parallel
from lib.paper import beyond
from lib.paper import tables as paper_tables

DATASETS = ("mnist", "cifar10")
#: The paper's l_inf eps per data set (Table 4's largest): TRADES trains at it.
TRADES_EPS = {ds: paper_tables.TABLE4_EPS[(ds, "inf")][-1] for ds in DATASETS}
#: TRADES' betas per profile: two at cpu (one TRADES run of the cpu MNIST recipe costs
#: about as much as its PGD-AT run); the official betas are 1 (MNIST) and 6 (CIFAR-10).
BETAS = {"smoke": [1.0, 6.0], "cpu": [1.0, 6.0], "paper": [0.1, 1.0, 6.0]}
#: The released TRADES MNIST model (X3, full scale): (standard, robust at 0.3).
TRADES_RELEASED = tuple(round(pct / 100, 4) for pct in beyond.TRADES["mnist"][1:])

# --------------------------------------------------------------------------
# X3: TRADES


def trades_config(dataset: str, profile: str, beta: float, seed: int) -> runs_lib.RunConfig:
    """The TRADES run at ``beta`` on ``dataset``, at the paper's l_inf eps."""
    eps = TRADES_EPS[dataset]
    return runs_lib.RunConfig(dataset, profile, mix="trades", eps_train=eps, beta=beta, seed=seed)


def trades_runs(profile: str, seed: int, betas, device) -> tuple[dict, dict]:
    """Train (or load) the TRADES runs, each evaluated by Table 4's strong evaluation at its
    eps (PGD, APGD-CE, APGD-T; worst case per image), in worker processes on a CPU.
    Returns ``trades[dataset][beta]`` (the run's metrics with ``strong_acc``, ``n_strong``)
    and the glued values (``X3_beta*`` for MNIST, ``X3_cifar10_beta*``)."""
    configs = [trades_config(ds, profile, b, seed) for ds in DATASETS for b in betas]
    parallel.train_all(configs, device=device)
    parallel.strong_eval_all([(c, c.eps_train, "inf") for c in configs], device=device)
    trades, glued = {}, {}
    for ds in DATASETS:
        trades[ds] = {}
        for beta in betas:
            config = trades_config(ds, profile, beta, seed)
            _, run = runs_lib.train_run(config, device=device, progress=False)
            strong = evals.strong_eval(
                config, config.eps_train, norm="inf", device=device, progress=False
            )
            trades[ds][beta] = {
                **run.metrics,
                "strong_acc": strong["adv_acc"],
                "n_strong": strong["n"],
            }
            tag = f"X3_beta{beta:g}" if ds == "mnist" else f"X3_{ds}_beta{beta:g}"
            glued[f"{tag}_std"] = run.metrics["std_acc"]
            glued[f"{tag}_adv"] = strong["adv_acc"]
            glued[f"{tag}_pgd"] = run.metrics["adv_acc"]
            glued[f"{tag}_train_seconds"] = run.metrics["train_seconds"]
    return trades, glued


def trades_table(dataset: str, runs: dict) -> pd.DataFrame:
    """One data set's TRADES runs (``runs[beta]`` from :func:`trades_runs`), one column each."""
    eps = chapter.eps_label(dataset, TRADES_EPS[dataset])
    return pd.DataFrame(
        {
            f"{dataset}, beta = {b:g}": {
                "standard accuracy": m["std_acc"],
                f"robust accuracy at {eps} (strong)": m["strong_acc"],
                "robust accuracy (profile's PGD)": m["adv_acc"],
                "test images (standard / robust)": f"{m['n_test']:,} / {m['n_strong']:,}",
                "training seconds": round(m["train_seconds"]),
            }
            for b, m in runs.items()
        }
    )


def x3_judgement(
    runs: dict, betas, spread: dict | None = None
) -> tuple[verdicts.Judgement, list, list]:
    """X3 on one data set: with the largest beta against the smallest, standard accuracy
    falls and robust accuracy rises, each beyond 2 SE. One run per beta: the SE of each
    difference is the test sets' (binomial, in quadrature), widened by ``spread``
    (``{"standard": sd, "robust": sd}``, one model's seed-to-seed standard deviation, from
    :func:`seed_spread`) for each of the two models when given. Returns (judgement,
    standard accuracies, strong robust accuracies), per beta."""
    stds = [runs[b]["std_acc"] for b in betas]
    advs = [runs[b]["strong_acc"] for b in betas]
    n_std, n_adv = runs[betas[0]]["n_test"], runs[betas[0]]["n_strong"]
    sd = spread or {}
    drop_se = verdicts.diff_se(stds[0], n_std, stds[-1], n_std)
    gain_se = verdicts.diff_se(advs[-1], n_adv, advs[0], n_adv)
    if "standard" in sd:  # two models, each with its own training noise
        drop_se = verdicts.combined_se(drop_se, sd["standard"], sd["standard"])
    if "robust" in sd:
        gain_se = verdicts.combined_se(gain_se, sd["robust"], sd["robust"])
    drop = verdicts.Estimate(stds[0] - stds[-1], drop_se)
    gain = verdicts.Estimate(advs[-1] - advs[0], gain_se)
    judged = verdicts.all_hold(
        {
            "standard": verdicts.signed_effect(drop, name="std acc drop"),
            "robust": verdicts.signed_effect(gain, name="robust acc gain"),
        }
    )
    if sd:
        why = f"SEs widened by a seed spread ({sd['source']})" if "source" in sd else ""
        judged = dataclasses.replace(judged, reason=f"{judged.reason}; {why}")
    return judged, stds, advs


def epochs(dataset: str, profile: str) -> int:
    """Passes over the training set of a run on the whole of it at ``profile``."""
    return profiles.settings(dataset, profile).epochs


def spread_text(spread: dict, seconds: float) -> str:
    """X3's sentence on seeds (glued as markdown): the spread the MNIST SEs are widened by,
    or why they are not. ``seconds``: the MNIST TRADES runs' training time, what a second
    seed at every beta would cost again."""
    took = f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} minutes"
    cost = f"about {took} of training (what the first seed's took)"
    if not spread:
        return (
            f"A second TRADES seed at every beta would cost {cost}, and the price chapter's "
            "second seed of Table 4's MNIST l_inf row is not in the store: X3's standard "
            "errors are the test sets' alone, and a verdict near 2 SE is fragile."
        )
    return (
        f"A second TRADES seed at every beta would cost {cost}; instead the MNIST standard "
        f"errors are widened by the seed-to-seed spread of a model trained alike "
        f"({spread['source']}: {spread['standard']:.4f} standard, {spread['robust']:.4f} "
        f"robust, as one model's standard deviation, |a - b| / sqrt 2), once for each "
        f"beta's model. CIFAR-10 has no second seed at this profile: its standard errors "
        f"are the test set's alone."
    )


def seed_pair(profile: str) -> tuple[runs_lib.RunConfig, runs_lib.RunConfig] | None:
    """The price chapter's MNIST l_inf PGD-AT model at the paper's eps (Table 4's row) and
    the same row trained again with another seed (``grids.PriceGrid.seed_rows``); None
    when the profile trains no second seed of that row."""
    price = grids.price_configs(profile)
    eps = TRADES_EPS["mnist"]

    def row(c):
        return (
            c.dataset == "mnist"
            and c.mix == "adversarial"
            and c.norm == "inf"
            and (abs(c.eps_train - eps) < 1e-12)
        )

    first = [c for c in price["table4"] if row(c)]
    other = [c for c in price["seeds"] if row(c) and c.seed != first[0].seed] if first else []
    return (first[0], other[0]) if first and other else None


def seed_spread(profile: str, *, store, device) -> dict:
    """One MNIST model's seed-to-seed standard deviation, from the two seeds of Table 4's
    MNIST l_inf row at the paper's eps (:func:`seed_pair`): |a - b| / sqrt(2) of the
    standard accuracy and of the strong robust accuracy at that eps. Two seeds give a
    rough spread; it also holds some of the test set's noise (the two models disagree on
    some images), so widening by it is conservative. ``{}`` when either run is not stored
    (the price chapter trains them)."""
    pair = seed_pair(profile)
    if pair is None or any(store.load(runs_lib.run_key(c, device)) is None for c in pair):
        return {}
    eps = TRADES_EPS["mnist"]
    parallel.strong_eval_all([(c, eps, "inf") for c in pair], device=device)
    std, rob = [], []
    for c in pair:
        std.append(store.load(runs_lib.run_key(c, device)).metrics["std_acc"])
        rob.append(evals.strong_eval(c, eps, norm="inf", device=device, progress=False)["adv_acc"])
    return {
        "standard": abs(std[0] - std[1]) / math.sqrt(2),
        "robust": abs(rob[0] - rob[1]) / math.sqrt(2),
        "source": f"MNIST PGD-AT {eps:g}, seeds {pair[0].seed} and {pair[1].seed}",
    }


def x3_verdict(x3_by_ds: dict) -> str:
    """X3's verdict over the data sets (the weakest wins), from :func:`x3_judgement`'s."""
    return verdicts.combine({ds: j for ds, (j, _, _) in x3_by_ds.items()}).verdict


# --------------------------------------------------------------------------
# The frontier of MNIST l_inf models


def frontier_configs(profile: str, seed: int) -> list[runs_lib.RunConfig]:
    """The price chapter's MNIST runs on the whole training set: standard, and the l_inf
    half-half and PGD-AT runs."""
    price = grids.price_configs(profile)
    return [
        c
        for c in price["table4"] + price["fig"]
        if c.dataset == "mnist"
        and c.seed == seed
        and c.n_train is None
        and (c.mix == "clean" or c.norm == "inf")
    ]


def point_label(config: runs_lib.RunConfig) -> str:
    """A frontier point's label: standard, half-half <eps> or PGD-AT <eps>."""
    label = {"clean": "standard", "adversarial": "PGD-AT", "half": "half-half"}[config.mix]
    return label if config.mix == "clean" else f"{label} {config.eps_train:g}"


def frontier_points(profile: str, seed: int, trades_mnist: dict, *, store, device) -> pd.DataFrame:
    """Every stored MNIST l_inf model and the MNIST TRADES runs as (std, n_std, adv, n_adv)
    with binomial SEs, robust accuracy under the strong evaluation at eps 0.3 (computed once
    and stored; a model the price chapter has not trained yet is left out)."""
    configs = frontier_configs(profile, seed)
    stored = [c for c in configs if store.load(runs_lib.run_key(c, device))]
    parallel.strong_eval_all([(c, 0.3, "inf") for c in stored], device=device)
    points = {}
    for config in configs:
        run = store.load(runs_lib.run_key(config, device))
        if run is None:
            continue
        s = evals.strong_eval(config, 0.3, norm="inf", device=device, progress=False)
        m = run.metrics
        points[point_label(config)] = {
            "std": m["std_acc"],
            "n_std": m["n_test"],
            "adv": s["adv_acc"],
            "n_adv": s["n"],
        }
    for b, m in trades_mnist.items():
        points[f"TRADES {b:g}"] = {
            "std": m["std_acc"],
            "n_std": m["n_test"],
            "adv": m["strong_acc"],
            "n_adv": m["n_strong"],
        }
    return with_se(pd.DataFrame(points).T)


def with_se(frontier: pd.DataFrame) -> pd.DataFrame:
    """The points with their binomial SEs (``std_se``, ``adv_se``) added."""
    frontier["std_se"] = [
        verdicts.binomial_se(a, int(n)) for a, n in frontier[["std", "n_std"]].values
    ]
    frontier["adv_se"] = [
        verdicts.binomial_se(a, int(n)) for a, n in frontier[["adv", "n_adv"]].values
    ]
    return frontier


def pareto(frontier: pd.DataFrame) -> list:
    """The points no other point dominates (at least as good in both accuracies, better in one)."""
    return [
        i
        for i, row in frontier.iterrows()
        if not (
            (frontier["std"] >= row["std"])
            & (frontier["adv"] >= row["adv"])
            & ((frontier["std"] > row["std"]) | (frontier["adv"] > row["adv"]))
        ).any()
    ]


def frontier_figure(frontier: pd.DataFrame):
    """The frontier's figure: each point with 2 SE bars and its label, the Pareto frontier
    (dashed) and the released TRADES model (a star); returns the figure."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4.5))
    ax.errorbar(
        frontier["std"],
        frontier["adv"],
        xerr=2 * frontier["std_se"],
        yerr=2 * frontier["adv_se"],
        fmt="o",
        ms=4,
        label="the book's models (2 SE)",
    )
    for label, row in frontier.iterrows():
        ax.annotate(
            label, (row["std"], row["adv"]), fontsize=7, xytext=(3, 3), textcoords="offset points"
        )
    pf = frontier.loc[pareto(frontier)].sort_values("std")
    ax.plot(pf["std"], pf["adv"], "k--", lw=1, label="Pareto frontier")
    ax.scatter(*TRADES_RELEASED, marker="*", s=80, color="C3")
    ax.annotate(
        "TRADES released (X3, full scale)",
        TRADES_RELEASED,
        xytext=(-6, -12),
        textcoords="offset points",
        ha="right",
        fontsize=7,
        color="C3",
    )
    ax.set_xlabel("standard accuracy")
    ax.set_ylabel("robust accuracy at eps = 0.3 (strong evaluation)")
    ax.set_title("MNIST, l_inf")
    ax.legend(fontsize=8, loc="best")  # where it hides the fewest points
    return fig


def points_text(frontier: pd.DataFrame) -> str:
    """The points as "label std / adv; ..." (glued as ``frontier_points``)."""
    return "; ".join(f"{k} {r['std']:.3f} / {r['adv']:.3f}" for k, r in frontier.iterrows())
