"""The price-of-robustness chapter's judging: Table 4's strong cells and P1-P4.

The chapter (``book/price_of_robustness.py``) draws the figures and tables;
this module turns its numbers into verdicts with the rules of
:mod:`lib.verdicts` (effects beyond 2 standard errors, one row per data set).
Accuracies are fractions in [0, 1].

Noise: a single trained model's accuracy has its test set's binomial SE widened
by the training seed's spread (:func:`lib.verdicts.widened`), measured on the
grid's second-seed runs per data set and kind (``spread[(dataset, "std" |
"rob")]``, :func:`lib.verdicts.pair_spread`); a mean over several seeds has
their own spread (:func:`lib.verdicts.seeds_and_test_set`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

import numpy as np

from lib import verdicts
from lib.attacks import check_norm
from lib.attacks.strong import COMPONENTS  # re-exported for the chapter
from lib.chapter import eps_label, norm_key
from lib.experiments import evals

MODELS = ("standard", "half", "robust")
MIX = {"standard": "clean", "half": "half", "robust": "adversarial"}


def table4_configs(configs, dataset, norm, eps, model) -> list:
    """The Table 4 runs of one cell (one per seed)."""
    mix, norm = MIX[model], check_norm(norm)
    return [
        c
        for c in configs
        if c.dataset == dataset
        and c.mix == mix
        and (mix == "clean" or (c.norm == norm and np.isclose(c.eps_train, eps)))
    ]


def strong_cells(configs, rows) -> list[tuple]:
    """The strong evaluations that Table 4's ``rows`` ((dataset, norm, eps)) read from
    ``configs``: ``(config, eps, norm)`` per model and seed, as :func:`strong_cell` asks."""
    return [
        (c, eps, norm)
        for dataset, norm, eps in rows
        for model in MODELS
        for c in table4_configs(configs, dataset, norm, eps, model)
    ]


def _strong_evals(configs, dataset, norm, eps, model, device) -> list[dict]:
    """The strong evaluations of one Table 4 cell, one per seed (stored, else run)."""
    return [
        evals.strong_eval(c, eps, norm=norm, device=device, progress=False)
        for c in table4_configs(configs, dataset, norm, eps, model)
    ]


def strong_cell(configs, dataset, norm, eps, model, device) -> tuple[float, float, int]:
    """Robust accuracy of one Table 4 cell at the row's eps, mean over seeds: the strong
    evaluation, the profile's PGD alone, and the number of test images."""
    ms = _strong_evals(configs, dataset, norm, eps, model, device)
    return (
        float(np.mean([m["adv_acc"] for m in ms])),
        float(np.mean([m["pgd_acc"] for m in ms])),
        ms[0]["n"],
    )


def strong_images(configs, dataset, norm, eps, model, device) -> list[str]:
    """Per seed, the stored strong evaluation's per-image outcome of one Table 4 cell
    (``"1"`` robust, ``"0"`` not, on the same test images for every model of a row)."""
    return [m["robust"] for m in _strong_evals(configs, dataset, norm, eps, model, device)]


def strong_breakdown(configs, dataset, norm, eps, model, device) -> dict[str, float]:
    """Where one Table 4 cell's profile-PGD survivors fall, mean over seeds (fractions).

    ``"profile PGD"``: robust accuracy under the profile's PGD alone; then, per
    component of the cascade (:data:`lib.attacks.strong.COMPONENTS`, in order),
    the accuracy it removes from the images still robust; ``"strong"``: what is
    left. So ``profile PGD`` minus the components equals ``strong`` (up to
    rounding), and the components say which attack the PGD gap is made of.
    Reads the stored strong evaluations (:func:`strong_cell` runs them).
    """
    ms = _strong_evals(configs, dataset, norm, eps, model, device)
    out = {"profile PGD": float(np.mean([m["pgd_acc"] for m in ms]))}
    for name in COMPONENTS:
        removed = []
        for m in ms:
            names = list(m["after"])
            if name not in names:  # a component the budget skips removes nothing
                removed.append(0.0)
                continue
            i = names.index(name)
            before = m["pgd_acc"] if i == 0 else m["after"][names[i - 1]]
            removed.append(before - m["after"][name])
        out[name] = float(np.mean(removed))
    out["strong"] = float(np.mean([m["adv_acc"] for m in ms]))
    return out


StdEst = Callable[..., verdicts.Estimate]  # (dataset, norm, eps, n=, mix=) -> accuracy ± SE


def judge_p1(grid, std_est: StdEst) -> dict:
    """P1, one judgement per data set, on the sample-size evidence of Fig 1/6: with the
    most images every robust model is below the standard one (beyond 2 SE); on MNIST,
    with the fewest, adversarial training helps (the better of the two norms). The
    SEs are ``std_est``'s: widened by the seed spread, or over the seeds run."""
    rows = {}
    for dataset in grid.datasets:
        ns = grid.n_values[dataset]
        parts = {}
        for norm in ("inf", 2):
            eps = grid.fig_eps[(dataset, norm)][-1]
            below = std_est(dataset) - std_est(dataset, norm, eps)  # > 0 expected
            parts[f"{norm_key(norm)}, most images"] = verdicts.signed_effect(
                below, name=f"{norm_key(norm)}: standard - robust, n={ns[-1] or 'all'}"
            )
        if dataset == "mnist":
            helps = {
                norm: std_est(dataset, norm, grid.fig_eps[(dataset, norm)][-1], n=ns[0])
                - std_est(dataset, n=ns[0])
                for norm in ("inf", 2)
            }
            best = max(helps, key=lambda k: helps[k].value)
            parts["fewest images"] = verdicts.signed_effect(
                helps[best], name=f"{norm_key(best)}: robust - standard, n={ns[0]}"
            )
        rows[dataset] = verdicts.all_hold(parts)
    return rows


def judge_p2(grid, std_est: StdEst) -> dict:
    """P2, one judgement per data set, on the trend over eps of Fig 7 (not P1's
    endpoint): per norm, the least-squares slope of standard accuracy against eps /
    the largest eps, over eps 0 and every Table 4 eps of the grid
    (:func:`lib.verdicts.trend`), falling beyond 2 SE; a step of the sweep that goes
    up beyond its noise caps the verdict at qualitatively reproduced ("steadily")."""
    rows = {}
    for dataset in grid.datasets:
        parts = {}
        for norm in ("inf", 2):
            axis = (0.0, *grid.table4_eps[(dataset, norm)])
            accs = [std_est(dataset, norm, e) if e else std_est(dataset) for e in axis]
            slope = verdicts.trend([e / axis[-1] for e in axis], accs)
            span = f"eps 0 to {eps_label(dataset, axis[-1])}, {len(axis)} points"
            judged = verdicts.signed_effect(
                -slope, name=f"{norm_key(norm)}: least-squares fall over {span}"
            )
            ups = [
                a
                for a, b in zip(accs, accs[1:], strict=False)
                if verdicts.signed_effect(b - a).verdict == verdicts.REPRODUCED
            ]
            if ups:
                why = f"{len(ups)} step(s) up beyond the noise"
                # not a proxy: the cap is "steadily"; a fall beyond noise may still refute
                judged = verdicts.at_most(judged, verdicts.QUALITATIVE, why, validated=True)
            parts[norm_key(norm)] = judged
        rows[dataset] = verdicts.combine(parts)
    return rows


def _spread(spread, dataset: str, kind: str) -> float:
    return (spread or {}).get((dataset, kind), math.nan)


def _two_models(effect: verdicts.Estimate, spread: float) -> verdicts.Estimate:
    """An effect between two single trained models, each widened by the seed spread."""
    return verdicts.widened(verdicts.widened(effect, spread), spread)


def judge_p3(keys, cells: dict, labels, *, spread=None, paired=None) -> tuple:
    """P3 over Table 4's rows ``keys`` = (dataset, norm, eps): half-half raises standard
    accuracy and lowers robust accuracy, each judged by one pooled effect over the rows
    (:func:`lib.verdicts.pooled_rule`; the count of rows beyond 2 SE, ours and the
    paper's, is its description), and "roughly proportional" row by row.

    ``cells[(dataset, norm, eps, "std"|"rob", model)]`` are accuracies with their SEs;
    ``paired[key]``: the SE of a row's robust-accuracy loss from the per-image outcomes
    (both models on the same images), used instead of the two SEs in quadrature;
    ``spread[(dataset, "std"|"rob")]``: the training seed's spread, added for each of
    the two models of an effect (none where not measured). Returns the judgement and
    the per-row gains and losses with the SEs judged.
    """
    paired = paired or {}
    gains, losses = [], []
    for k in keys:
        gain = cells[(*k, "std", "half")] - cells[(*k, "std", "robust")]
        loss = cells[(*k, "rob", "robust")] - cells[(*k, "rob", "half")]
        if paired.get(k) is not None:
            loss = verdicts.Estimate(loss.value, paired[k])
        gains.append(_two_models(gain, _spread(spread, k[0], "std")))
        losses.append(_two_models(loss, _spread(spread, k[0], "rob")))
    paper = [verdicts.paper_half_half().get(k) for k in keys]
    known = all(p is not None for p in paper)
    parts = {}
    for name, effects, i in (("standard up", gains, 0), ("robust down", losses, 1)):
        paper_k = verdicts.paper_count([p[i] for p in paper]) if known else None
        parts[name] = verdicts.pooled_rule(
            effects, labels=labels, name=f"{name}: mean", paper_k=paper_k
        )
    if known:
        parts["roughly proportional"] = verdicts.roughly_proportional(
            gains, losses, [p[0] for p in paper], [p[1] for p in paper], labels=labels
        )
    return verdicts.combine(parts), gains, losses


#: How a run's description writes its eps (lib.attacks.PGD.describe: 4 significant digits).
_EPS = re.compile(r"eps=([0-9.eE+-]+)")
_EPS_DIGITS_TOL = 5e-4  # the relative rounding of 4 significant digits


def judge_p4(configs, runs: dict) -> tuple:
    """P4, a setup fact, from each stored adversarial run's own description of its
    training attack: the eps it was trained at, read as a number and compared with
    the eps it was asked for (within the description's 4 significant digits), and a
    random start. A run without a record or a description gives None (unread)."""
    facts = {}
    for c in configs:
        if c.mix == "clean":
            continue
        described = (runs.get(c) or {}).get("train_attack")
        found = _EPS.search(described) if described else None
        name = f"{c.dataset} {c.mix} {norm_key(c.norm)} {eps_label(c.dataset, c.eps_train)}"
        facts[f"{name}: eps"] = (float(found.group(1)) if found else None, c.eps_train)
        facts[f"{name}: random start"] = (
            "random start" in described if described else None,
            True,
        )
    return verdicts.checked(facts, rel_tol=_EPS_DIGITS_TOL), facts
