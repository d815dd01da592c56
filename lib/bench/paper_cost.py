"""What the ``paper`` profile costs on one GPU, per chapter: an estimate from rates.

A run's cost is its optimizer steps times the forward-backward passes of one
step times the seconds of one pass at the recipe's batch; a strong
evaluation's, its attack passes on the test set's batches. The counts come
from the grids (:mod:`lib.experiments.grids`) and the profiles (:mod:`lib.experiments.profiles`), so
they are exact; the seconds per pass are the uncertain part:
:data:`ESTIMATED_PASS_SECONDS` until ``scripts/gpu_first_contact.py`` measures
them (its last stage calls :func:`chapter_hours` with what it measured, and
the result says which rates were measured).

Usage: ``python -m lib.bench.paper_cost`` prints the table (estimated rates).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from lib.experiments import grids, profiles

#: Seconds of one forward-backward pass of a paper-profile batch on one H100, in
#: bf16 with the CUDA-graph attack: ASSUMED, not measured (the first-contact script
#: measures them). mnist: the mnist_challenge CNN, batch 50 (launch-bound: about
#: 0.5 ms); cifar10: the ResNet-32 of cifar10_challenge, batch 128 (about 2 ms);
#: restricted_imagenet: ResNet-50 at 224 pixels, batch 256 (about 0.3 ms an image,
#: 3,300 images/s). An evaluation batch (500 images, 256 on ImageNet) is scaled
#: by its size; a forward pass alone counts as a third of a pass.
ESTIMATED_PASS_SECONDS = {"mnist": 0.5e-3, "cifar10": 2.0e-3, "restricted_imagenet": 77e-3}

#: The models the benefits chapter's masking audit attacks at paper (assumed: the
#: robust l_inf and l2 models of MNIST and CIFAR-10).
AUDITED_MODELS = {"mnist": 2, "cifar10": 2}


@dataclass(frozen=True)
class Cost:
    """One chapter's GPU time at ``paper``: what runs, and how long (hours)."""

    chapter: str
    runs: int  # training runs
    evaluations: int  # strong evaluations (and audits)
    hours: float  # GPU-hours on one GPU
    rates: str  # "estimated" or "measured"


def _train_passes(config) -> float:
    """Forward-backward passes of one optimizer step (PGD-k: k + 1; half: 1 + k/2;
    TRADES: k + 2, the clean and the adversarial forward)."""
    s = profiles.settings(config.dataset, config.profile)
    attack = s.train_attack.get(config.norm)
    k = attack.steps if attack is not None and config.mix != "clean" else 0
    return {"clean": 1, "adversarial": 1 + k, "half": 1 + k / 2, "trades": 2 + k}[config.mix]


def train_steps(config) -> int:
    """Optimizer steps of ``config`` at its profile (the recipe's steps, else its epochs)."""
    s = profiles.settings(config.dataset, config.profile)
    if s.steps is not None:
        return s.steps
    from lib.data import FULL_SIZES

    per_epoch = s.data.get("epoch_size") or config.n_train or FULL_SIZES[config.dataset]["train"]
    return s.epochs * math.ceil(per_epoch / s.batch_size)


def run_seconds(config, pass_seconds: dict) -> float:
    """Seconds of training ``config`` at ``pass_seconds`` (dataset -> s per batch pass)."""
    return train_steps(config) * _train_passes(config) * pass_seconds[config.dataset]


def strong_seconds(cell, pass_seconds: dict) -> float:
    """Seconds of one strong evaluation ``(config, eps, norm)``: every attack step on
    every test batch (an upper bound: the attacks skip images already broken)."""
    config = cell[0]
    s = profiles.settings(config.dataset, config.profile)
    budget = profiles.strong_budget(config.profile)
    steps = (
        budget.pgd_steps * budget.pgd_restarts
        + budget.apgd_steps
        + budget.apgdt_steps * budget.apgdt_targets
    )
    from lib.data import FULL_SIZES

    n = s.n_test_robust or s.n_test or FULL_SIZES[config.dataset]["test"]
    per_batch = pass_seconds[config.dataset] * s.eval_batch_size / s.batch_size
    return steps * math.ceil(n / s.eval_batch_size) * per_batch


def audit_seconds(pass_seconds: dict) -> float:
    """Seconds of the benefits chapter's masking audit at paper (strong PGD and
    AutoAttack on :data:`AUDITED_MODELS`; Square's queries as forward passes)."""
    b = grids.benefits_sizes("paper")
    a = b.autoattack
    passes = (
        b.strong_steps * b.strong_restarts + a["steps"] * (1 + 2 * a["targets"]) + a["queries"] / 3
    )
    total = 0.0
    for dataset, models in AUDITED_MODELS.items():
        s = profiles.settings(dataset, "paper")
        per_image = pass_seconds[dataset] / s.batch_size
        total += models * b.n_audit * passes * per_image
    return total


def chapter_hours(pass_seconds: dict | None = None, *, imagenet: bool = True) -> list[Cost]:
    """The ``paper`` profile's GPU-hours per chapter, one GPU, runs counted once.

    ``pass_seconds``: dataset -> seconds of one forward-backward pass of the
    recipe's batch (measured ones; missing data sets take
    :data:`ESTIMATED_PASS_SECONDS`). ``imagenet=False`` leaves out the
    Restricted ImageNet runs. The last row is the total.
    """
    measured = dict(pass_seconds or {})
    rates = {**ESTIMATED_PASS_SECONDS, **measured}
    label = (
        "measured"
        if set(measured) >= set(ESTIMATED_PASS_SECONDS)
        else ("partly measured" if measured else "estimated")
    )
    price = list(dict.fromkeys(c for part in grids.price_configs("paper").values() for c in part))
    ri = grids.ri_configs("paper")["fig"] if imagenet else []
    trades = grids.trades_configs("paper")["trades"]
    strong = grids.strong_evals("paper")
    table4 = grids.unique_cells(strong["table4"])
    other = grids.unique_cells(strong["trades"] + strong["frontier"])

    def hours(seconds):
        return seconds / 3600

    rows = [
        Cost(
            "price_of_robustness: MNIST, CIFAR-10 (Fig 1, 6, 7, Table 4)",
            len(price),
            len(table4),
            hours(
                sum(run_seconds(c, rates) for c in price)
                + sum(strong_seconds(c, rates) for c in table4)
            ),
            label,
        ),
        Cost(
            "price_of_robustness: Restricted ImageNet (Fig 1c, 6c; the benefits' models)",
            len(ri),
            0,
            hours(sum(run_seconds(c, rates) for c in ri)),
            label,
        ),
        Cost(
            "trade_off_inherent (X3 TRADES, the frontier)",
            len(trades),
            len(other),
            hours(
                sum(run_seconds(c, rates) for c in trades)
                + sum(strong_seconds(c, rates) for c in other)
            ),
            label,
        ),
        Cost(
            "unexpected_benefits (the masking audit; models shared)",
            0,
            sum(AUDITED_MODELS.values()),
            hours(audit_seconds(rates)),
            label,
        ),
    ]
    rows = [r for r in rows if r.runs or r.evaluations]  # imagenet=False: no empty row
    rows.append(
        Cost(
            "total",
            sum(r.runs for r in rows),
            sum(r.evaluations for r in rows),
            sum(r.hours for r in rows),
            label,
        )
    )
    return rows


def table(rows: list[Cost]) -> str:
    """The rows as a Markdown table."""
    lines = ["| chapter | runs | evaluations | GPU-hours | rates |", "|---|---:|---:|---:|---|"]
    lines += [
        f"| {r.chapter} | {r.runs} | {r.evaluations} | {r.hours:.0f} | {r.rates} |" for r in rows
    ]
    return "\n".join(lines)


def summary(pass_seconds: dict | None = None) -> str:
    """Markdown for a page (the Performance chapter): the table per chapter, the
    total without Restricted ImageNet, and what the rates are."""
    rows = chapter_hours(pass_seconds)
    without = chapter_hours(pass_seconds, imagenet=False)[-1]
    rates = rows[-1].rates
    note = (
        "Rates measured on a GPU by `make gpu-first-contact`."
        if rates == "measured"
        else "An **estimate**: the run counts are the grids', the seconds per pass are "
        "assumed for one H100 (`lib.bench.paper_cost.ESTIMATED_PASS_SECONDS`) until "
        "`make gpu-first-contact` measures them."
    )
    return (
        f"{table(rows)}\n\nWithout Restricted ImageNet: {without.hours:.0f} GPU-hours "
        f"({without.runs} runs). {note}"
    )


if __name__ == "__main__":
    print(summary())
