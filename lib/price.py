"""The price-of-robustness chapter's judging: Table 4's strong cells and P1-P4.

The chapter (``book/price_of_robustness.py``) draws the figures and tables;
this module turns its numbers into verdicts with the rules of
:mod:`lib.verdicts` (differences beyond 2 standard errors, one row per data
set). Accuracies are fractions in [0, 1].
"""

from __future__ import annotations

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
    """P1, one judgement per data set: with the most images every robust model is below
    the standard one (beyond 2 SE); on MNIST, with the fewest, adversarial training helps
    (the better of the two norms)."""
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
    """P2, one judgement per data set: standard accuracy falls from eps 0 to the largest
    eps (beyond 2 SE); a step of the sweep that goes up beyond its noise caps the verdict
    at qualitatively reproduced."""
    rows = {}
    for dataset in grid.datasets:
        parts = {}
        for norm in ("inf", 2):
            axis = (0.0, *grid.table4_eps[(dataset, norm)])
            accs = [std_est(dataset, norm, e) if e else std_est(dataset) for e in axis]
            judged = verdicts.signed_effect(accs[0] - accs[-1], name=f"{norm_key(norm)} drop")
            ups = [
                a
                for a, b in zip(accs, accs[1:], strict=False)
                if verdicts.signed_effect(b - a).verdict == verdicts.REPRODUCED
            ]
            if ups:
                why = f"{len(ups)} step(s) up beyond the noise"
                judged = verdicts.at_most(judged, verdicts.QUALITATIVE, why)
            parts[norm_key(norm)] = judged
        rows[dataset] = verdicts.combine(parts)
    return rows


def judge_p3(keys, cells: dict, labels) -> tuple:
    """P3 over Table 4's rows ``keys`` = (dataset, norm, eps): half-half raises standard
    accuracy and lowers robust accuracy, counted against the paper's own count (11 of its
    12 rows each way), and "roughly proportional" row by row (:mod:`lib.verdicts`).

    ``cells[(dataset, norm, eps, "std"|"rob", model)]`` are accuracies with their SEs.
    Returns the judgement and the per-row gains and losses.
    """
    gains = [cells[(*k, "std", "half")] - cells[(*k, "std", "robust")] for k in keys]
    losses = [cells[(*k, "rob", "robust")] - cells[(*k, "rob", "half")] for k in keys]
    paper = [verdicts.paper_half_half().get(k) for k in keys]
    known = all(p is not None for p in paper)
    parts = {}
    for name, effects, i in (("standard up", gains, 0), ("robust down", losses, 1)):
        paper_k = verdicts.paper_count([p[i] for p in paper]) if known else len(keys)
        parts[name] = verdicts.count_rule(effects, paper_k=paper_k, labels=labels)
    if known:
        parts["roughly proportional"] = verdicts.roughly_proportional(
            gains, losses, [p[0] for p in paper], [p[1] for p in paper], labels=labels
        )
    return verdicts.combine(parts), gains, losses


def judge_p4(configs, runs: dict) -> tuple:
    """P4, a setup fact, from each stored adversarial run's own description of its
    training attack: the eps it was asked for, and a random start."""
    facts = {}
    for c in configs:
        if c.mix == "clean":
            continue
        described = runs[c]["train_attack"]
        name = f"{c.dataset} {c.mix} {norm_key(c.norm)} {eps_label(c.dataset, c.eps_train)}"
        facts[f"{name}: eps"] = (f"eps={c.eps_train:.4g}" in described, True)
        facts[f"{name}: random start"] = ("random start" in described, True)
    return verdicts.checked(facts), facts
