"""The trade-off chapter's X4: the price of robustness against the training-set size.

X4's regime (:data:`X4_REGIME`: CIFAR-10 l_inf at small eps, sizes from 1,000 up, equal
optimizer steps, two seeds) as runs (:func:`x4_configs`), trained where the profile
affords them; the price chapter's Fig 1/6 series (:func:`x4_prices`) described beside
them. The price falls when the weighted least-squares slope of the price against
log10 n is below zero beyond 2 SE (:func:`x4_trend`, :func:`x4_parts`). Prices are
standard-accuracy differences (fractions); eps in [0, 1] pixel space.
"""

from __future__ import annotations

import math

import pandas as pd

from lib import chapter, data, verdicts
from lib.experiments import grids, profiles
from lib.experiments import runs as runs_lib
from lib.experiments.execute import parallel

#: X4's source regime (Raghunathan et al. 2020, Fig 1): CIFAR-10, l_inf training at small
#: eps, labelled training sets from 1,000 images up, every run the same optimizer steps
#: (the whole training set's), two seeds; per profile: (eps, sizes (None: all), seeds),
#: and whether the chapter trains them. Not at `cpu`: the cost is
#: :func:`x4_regime_cost`'s (the row says it); `smoke` trains a tiny stand-in so that
#: the path the `paper` profile takes runs.
X4_REGIME = {
    "smoke": ((4 / 255,), (128, None), (0, 1), True),
    "cpu": ((2 / 255, 4 / 255), (1000, 5000, None), (0, 1), False),
    # Table 4's small eps, within 1/255-4/255, at the price grid's sizes from 1,000 up: at
    # `paper` (80,000 steps whatever n) the price grid trains every one of these runs.
    "paper": ((2 / 255, 4 / 255), (1000, 5000, 10_000, 20_000, None), (0, 1), True),
}

#: X4's trend is fitted over these sizes and up (Raghunathan et al.'s sizes start at
#: 1,000 labels; below, adversarial training can *help* standard accuracy, P1).
X4_MIN_N = {"smoke": 0, "cpu": 1000, "paper": 1000}


def equal_steps(dataset: str, profile: str) -> int:
    """The optimizer steps of a run on the whole training set at ``profile``: every X4
    regime run takes these, whatever its size (the profile's ``min_steps`` and epochs
    would otherwise give small sets fewer steps, confounding size with training)."""
    s = profiles.settings(dataset, profile)
    if s.steps is not None:
        return s.steps
    n = s.n_train or data.FULL_SIZES[dataset]["train"]
    return s.epochs * math.ceil(n / (s.batch_size or n))


def x4_configs(profile: str) -> list[runs_lib.RunConfig]:
    """X4's regime (:data:`X4_REGIME`) as runs: per seed and size a standard run and a
    PGD-AT run at each eps, all with :func:`equal_steps` (the whole training set's own
    steps: its runs are the price chapter's Table 4 runs, under their keys)."""
    eps_all, sizes, seeds, _ = X4_REGIME[profile]
    steps = equal_steps("cifar10", profile)
    out = []
    for seed in seeds:
        for n in sizes:
            common = dict(n_train=n, max_steps=None if n is None else steps, seed=seed)
            out.append(runs_lib.RunConfig("cifar10", profile, **common))
            for e in eps_all:
                out.append(
                    runs_lib.RunConfig("cifar10", profile, mix="adversarial", eps_train=e, **common)
                )
    return out


def x4_regime_cost(profile: str, *, store, device) -> tuple[float, int]:
    """X4's regime at ``profile`` still to train: (estimated seconds on one worker, runs).
    The :func:`lib.parallel.run_cost` of its runs not in the store times the seconds per
    unit of cost of the price chapter's stored CIFAR-10 runs (their median; nan seconds
    when none is stored)."""
    missing = [c for c in x4_configs(profile) if store.load(runs_lib.run_key(c, device)) is None]
    rates = []
    for config in grids.price_configs(profile)["fig"]:
        run = store.load(runs_lib.run_key(config, device)) if config.dataset == "cifar10" else None
        if run is not None and run.metrics.get("train_seconds"):
            rates.append(run.metrics["train_seconds"] / parallel.run_cost(config, device))
    if not rates:
        return math.nan, len(missing)
    rate = float(pd.Series(rates).median())
    return rate * sum(parallel.run_cost(c, device) for c in missing), len(missing)


def x4_described(outside: dict) -> str:
    """The price chapter's series (:func:`x4_parts` of :func:`x4_prices`) as numbers only:
    outside X4's regime at `cpu`, they describe, they do not judge."""
    return verdicts.combine(outside).ours() if outside else "none stored"


def _sizes(sizes) -> str:
    return ", ".join("all" if n is None else f"{n:,}" for n in sizes)


def x4_status(
    profile: str, row: dict, cost: tuple[float, int], outside: dict, prices: pd.DataFrame
) -> str:
    """X4's sentences (glued as markdown): whether the regime ran at this profile (``cost``:
    :func:`x4_regime_cost`'s seconds and runs to train), and what the tables below show
    (``prices``: :func:`x4_prices`' frame, whose steps per run are named)."""
    eps_all, sizes, seeds, trains = X4_REGIME[profile]
    steps = equal_steps("cifar10", profile)
    regime = (
        f"eps {', '.join(chapter.eps_label('cifar10', e) for e in eps_all)}; sizes "
        f"{_sizes(sizes)}; seeds {', '.join(str(s) for s in seeds)}; {steps:,} steps each"
    )
    if trains:
        return (
            f"At this profile the regime ({regime}: {len(x4_configs(profile))} runs, some "
            f"shared with the price chapter's grid) is trained here: the first table below "
            f"gives its prices, then the price chapter's series (for comparison, not "
            f"judged). X4: {row['verdict']}."
        )
    seconds, missing = cost
    minutes = "an unknown time" if math.isnan(seconds) else f"about {seconds / 60:.0f} minutes"
    steps_text = "no runs stored"
    if not prices.empty and "steps" in prices:
        per = prices.dropna(subset=["steps"]).groupby(["data set", "n"])["steps"].max()
        steps_text = "; ".join(f"{ds} n={n:,}: {int(k):,}" for (ds, n), k in per.items())
    return (
        f"At this profile the regime ({regime}) is not run: its {missing} runs not in the "
        f"store would take {minutes} of training on one worker (estimated from the price "
        f"chapter's stored CIFAR-10 runs). X4 is `not run` here. The table below is the "
        f"price chapter's Fig 1/6 series, outside the claim's regime (other eps and "
        f"norms, MNIST too, and steps that vary with n; optimizer steps of its PGD-AT runs: "
        f"{steps_text}): a description, not a test. Their trends: {x4_described(outside)}."
    )


def _price_rows(pairs, store, device) -> list[dict]:
    """Per (standard, PGD-AT) pair of configs whose runs are stored: the price (standard
    minus PGD-AT standard accuracy at the same training-set size) with its SE."""
    rows = []
    for base, config in pairs:
        a, b = (
            store.load(runs_lib.run_key(base, device)),
            store.load(runs_lib.run_key(config, device)),
        )
        if a is None or b is None:
            continue
        n = a.metrics["n_test"]
        rows.append(
            {
                "data set": config.dataset,
                "norm": chapter.norm_label(config.norm),
                "eps": config.eps_train,
                "seed": config.seed,
                "n": a.metrics["n_train"],
                "steps": b.metrics.get("steps"),
                "price": a.metrics["std_acc"] - b.metrics["std_acc"],
                "se": verdicts.diff_se(a.metrics["std_acc"], n, b.metrics["std_acc"], n),
            }
        )
    return rows


def x4_prices(profile: str, seed: int, *, store, device) -> pd.DataFrame:
    """The price chapter's Fig 1/6 runs from the store (outside X4's regime at `cpu`: eps
    8/255 and l2, MNIST, steps varying with n): per PGD-AT run, the price with its SE.
    Empty when none is stored."""
    pairs = [
        (runs_lib.RunConfig(c.dataset, profile, n_train=c.n_train, seed=seed), c)
        for c in grids.price_configs(profile)["fig"]
        if c.mix == "adversarial" and c.seed == seed
    ]
    return pd.DataFrame(_price_rows(pairs, store, device))


def x4_regime_prices(profile: str, *, store, device, train: bool = True) -> pd.DataFrame:
    """X4's regime runs (:func:`x4_configs`), trained here when the profile's regime says
    so (and ``train``), then read from the store: the price per eps, size and seed."""
    configs = x4_configs(profile)
    if train and X4_REGIME[profile][3]:
        parallel.train_all(configs, device=device)
        for c in configs:  # those the workers left (one long run trains here)
            runs_lib.train_run(c, device=device, progress=False)
    std = {(c.n_train, c.seed): c for c in configs if c.mix == "clean"}
    pairs = [(std[(c.n_train, c.seed)], c) for c in configs if c.mix != "clean"]
    return pd.DataFrame(_price_rows(pairs, store, device))


def x4_trend(g: pd.DataFrame) -> verdicts.Estimate:
    """How fast the price falls per decade of n: minus the weighted least-squares slope of
    the price against log10 n (weights 1 / SE^2; the SE of the slope is
    1 / sqrt(sum w (x - mean x)^2)). Prices of several seeds at one size enter as
    separate points. One fit over every size, so no size is picked after seeing the data
    (a peak chosen as the largest of several noisy prices is biased upward)."""
    x = [math.log10(n) for n in g["n"]]
    w = [1 / se**2 if se > 0 else math.nan for se in g["se"]]
    if len(set(x)) < 2 or any(math.isnan(v) for v in w):
        return verdicts.Estimate(math.nan, math.nan)
    sw = sum(w)
    mx = sum(wi * xi for wi, xi in zip(w, x, strict=True)) / sw
    sxx = sum(wi * (xi - mx) ** 2 for wi, xi in zip(w, x, strict=True))
    sxy = sum(wi * (xi - mx) * p for wi, xi, p in zip(w, x, g["price"], strict=True))
    return verdicts.Estimate(-sxy / sxx, 1 / math.sqrt(sxx))


def x4_parts(prices: pd.DataFrame, min_n: int = 0) -> dict:
    """X4 per series (data set, norm, eps): the price falls as n grows, beyond 2 SE of
    :func:`x4_trend`'s fall per decade, over the sizes from ``min_n`` up."""
    parts = {}
    if prices.empty:
        return parts
    for (ds, nm, e), g in prices.groupby(["data set", "norm", "eps"]):
        g = g[g["n"] >= min_n].sort_values("n")
        if g["n"].nunique() >= 2:
            lo, hi = int(g["n"].min()), int(g["n"].max())
            parts[f"{ds} {nm} {e:g}"] = verdicts.signed_effect(
                x4_trend(g), name=f"price fall per decade of n, n={lo:,}-{hi:,}"
            )
    return parts


def x4_row(profile: str, regime: dict, outside: dict, cost: tuple[float, int]) -> dict:
    """X4's row: judged on the regime's runs (:func:`x4_regime_prices`' parts) where the
    profile trains them; otherwise not run, the reason with the regime's estimated cost
    (:func:`x4_regime_cost`: seconds, nan: unknown; runs), and the price chapter's series
    described as outside the claim's regime."""
    eps_all, sizes, seeds, trains = X4_REGIME[profile]
    scope = (
        f"CIFAR-10 l_inf {', '.join(chapter.eps_label('cifar10', e) for e in eps_all)}, "
        f"n {_sizes(sizes)}, "
        f"{equal_steps('cifar10', profile):,} steps each, {len(seeds)} seeds"
    )
    paper = "more data shrinks the standard-accuracy price (RST quoted, not run)"
    if trains:
        judged = verdicts.combine(regime) if regime else None
        if judged is None:
            judged = verdicts.Judgement(verdicts.NOT_RUN, (), "no regime runs in the store")
            return judged.row("X4", paper, "the regime's runs are not stored")
        return judged.row("X4", paper, f"{judged.ours()} ({scope})")
    seconds, missing = cost
    minutes = "an unknown time" if math.isnan(seconds) else f"about {seconds / 60:.0f} min"
    return {
        "claim": "X4",
        "paper": paper,
        "ours": f"outside the claim's regime (the price chapter's Fig 1/6 runs: other eps "
        f"and norms, MNIST too, steps varying with n): {x4_described(outside)}",
        "verdict": verdicts.NOT_RUN,
        "reason": f"not run at {profile}: the claim's regime ({scope}) needs {missing} "
        f"runs not in the store, {minutes} of training on one worker",
    }
