"""Is the price of robustness an artefact of unequal convergence?

Two runs of the same recipe, a standard and an adversarially trained one,
each record their standard test accuracy along training (``eval_every``,
:func:`lib.train.train`). Their gap at the end is the "price" the price
chapter reports. If the gap were still moving over the last part of
training, part of it would be the slower convergence of adversarial
training, not a property of the robust model. This module measures that
drift, with its noise.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from lib.verdicts.noise import Estimate, binomial_se

LAST_SHARE = 0.2  # the last fifth of training is where the gap must have settled


def curve_of(history: Sequence[dict]) -> list[tuple[int, float]]:
    """``(step, standard test accuracy)`` along a run, from its history's ``curve`` entries."""
    return [(int(step), float(acc)) for entry in history for step, acc in entry.get("curve", ())]


@dataclass(frozen=True)
class GapDrift:
    """The standard-accuracy gap over the last share of training, and its drift."""

    steps: tuple[int, ...]  # the steps both curves recorded in the last share
    gaps: tuple[float, ...]  # standard minus robust model's accuracy at those steps
    drift: Estimate  # the gap at the end minus the gap at the first of those steps

    @property
    def spread(self) -> float:
        """max - min of the gap over the last share (0 with one point)."""
        return max(self.gaps) - min(self.gaps)


def gap_curve(
    standard: Sequence[tuple[int, float]], robust: Sequence[tuple[int, float]]
) -> list[tuple[int, float]]:
    """``(step, standard - robust)`` at every step both curves recorded, in order."""
    a, b = dict(standard), dict(robust)
    return [(s, a[s] - b[s]) for s in sorted(set(a) & set(b))]


def gap_drift(
    standard: Sequence[tuple[int, float]],
    robust: Sequence[tuple[int, float]],
    n_test: int,
    *,
    last: float = LAST_SHARE,
) -> GapDrift:
    """How the gap ``standard - robust`` moved over the last ``last`` of training.

    Both curves are ``(step, accuracy)`` on the same ``n_test`` test images,
    and must share their last step. The drift's standard error treats the
    four accuracies it combines as independent binomial estimates (the same
    images make them positively correlated, so this overstates the noise a
    little: a drift beyond it is real).
    """
    if not 0 < last <= 1:
        raise ValueError(f"last must be in (0, 1], got {last!r}")
    if n_test < 1:
        raise ValueError(f"n_test must be >= 1, got {n_test!r}")
    a, b = dict(standard), dict(robust)
    if not a or not b:
        raise ValueError("both curves need at least one point")
    end = max(a)
    if max(b) != end:
        raise ValueError(f"the curves end at different steps: {end} and {max(b)}")
    tail = [(s, g) for s, g in gap_curve(standard, robust) if s >= (1 - last) * end]
    steps, gaps = (tuple(t) for t in zip(*tail, strict=True))
    first, final = steps[0], steps[-1]
    if first == final:  # one point: no drift can be measured
        return GapDrift(steps, gaps, Estimate(0.0, math.nan))
    se = math.sqrt(
        sum(binomial_se(acc, n_test) ** 2 for acc in (a[first], b[first], a[final], b[final]))
    )
    return GapDrift(steps, gaps, Estimate(gaps[-1] - gaps[0], se))
