"""Numbers with noise: a measured value and its standard error.

An accuracy measured on n test images has the binomial standard error
:func:`binomial_se`; a mean over seeds has the seed spread
:func:`seed_spread`; independent errors add in quadrature
(:func:`combined_se`); two models' per-image results on the same images give
the paired error :func:`paired_diff_se`. The verdict rules
(:mod:`lib.verdicts.rules`, :mod:`lib.verdicts`) take these :class:`Estimate` values.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Estimate:
    """A measured number and its standard error (0: exact; nan: unknown)."""

    value: float
    se: float = 0.0

    def __post_init__(self):
        if not self.se >= 0 and not math.isnan(self.se):
            raise ValueError(f"a standard error must be >= 0, got {self.se!r}")

    def __sub__(self, other: Estimate | float) -> Estimate:
        """The difference of two independent estimates (errors in quadrature)."""
        other = as_estimate(other)
        return Estimate(self.value - other.value, combined_se(self.se, other.se))

    def __add__(self, other: Estimate | float) -> Estimate:
        other = as_estimate(other)
        return Estimate(self.value + other.value, combined_se(self.se, other.se))

    def __neg__(self) -> Estimate:
        return Estimate(-self.value, self.se)

    def z(self) -> float:
        """value / se: how many standard errors from 0 (inf if exact and nonzero)."""
        if math.isnan(self.se):
            return math.nan
        if self.se == 0:
            return 0.0 if self.value == 0 else math.copysign(math.inf, self.value)
        return self.value / self.se

    def format(self, scale: float = 1.0, digits: int = 3) -> str:
        """``"0.912 ± 0.009"``; ``scale=100, digits=1`` gives points: ``"91.2 ± 0.9"``."""
        v = f"{self.value * scale:.{digits}f}"
        if self.se == 0:
            return v
        if math.isnan(self.se):
            return f"{v} ± ?"
        return f"{v} ± {self.se * scale:.{digits}f}"

    def __str__(self) -> str:
        return self.format()


def as_estimate(x: Estimate | float) -> Estimate:
    """A number without an error is exact."""
    return x if isinstance(x, Estimate) else Estimate(float(x), 0.0)


def binomial_se(acc: float, n: int) -> float:
    """Standard error of an accuracy measured on ``n`` independent test images.

    Uses the Agresti-Coull estimate (two successes and two failures added),
    so an accuracy of exactly 0 or 1 still has an error of order 1/n, and two
    perfect scores are never called different.
    """
    if not 0 <= acc <= 1:
        raise ValueError(f"an accuracy must lie in [0, 1], got {acc!r}")
    if int(n) != n or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    p = (acc * n + 2) / (n + 4)
    return math.sqrt(p * (1 - p) / (n + 4))


def accuracy(acc: float, n: int) -> Estimate:
    """An accuracy on ``n`` test images, with its binomial standard error."""
    return Estimate(float(acc), binomial_se(acc, n))


def diff_se(a: float, n_a: int, b: float, n_b: int) -> float:
    """SE of a - b for accuracies on independent test sets of n_a and n_b images.

    On the *same* test set the two are positively correlated in practice
    (the same hard images), so this is an upper bound there: use
    :func:`paired_diff_se` when the per-image results are at hand.
    """
    return combined_se(binomial_se(a, n_a), binomial_se(b, n_b))


def paired_diff_se(correct_a, correct_b) -> float:
    """SE of mean(a) - mean(b) measured on the same images, from per-image values.

    The standard error of the mean of d_i = a_i - b_i. For correctness (0 or
    1) only images on which the two models disagree add noise; it works as
    well for any per-image score (B1's alignment and sparsity).
    """
    a = np.asarray(correct_a, dtype=np.float64).ravel()
    b = np.asarray(correct_b, dtype=np.float64).ravel()
    if a.shape != b.shape or len(a) < 2:
        raise ValueError("need two per-image vectors of the same length, at least 2")
    d = a - b
    return float(d.std(ddof=1) / math.sqrt(len(d)))


def seed_spread(values: Iterable[float]) -> Estimate:
    """Mean over seeds ± its standard error (sample std / sqrt(k)); one seed: se nan."""
    v = np.asarray(list(values), dtype=np.float64)
    if len(v) == 0:
        raise ValueError("no values")
    if len(v) == 1:
        return Estimate(float(v[0]), math.nan)
    return Estimate(float(v.mean()), float(v.std(ddof=1) / math.sqrt(len(v))))


def seeds_and_test_set(accs: Sequence[float], n_test: int) -> Estimate:
    """The mean accuracy of several seeds on one test set of ``n_test`` images.

    Two independent noises: the seeds' spread (training), and the test
    set's sampling, which averaging over seeds on the *same* images does not
    reduce. With one seed only the latter is known, and it is used alone.
    """
    spread = seed_spread(accs)
    test = binomial_se(spread.value, n_test)
    if math.isnan(spread.se):
        return Estimate(spread.value, test)
    return Estimate(spread.value, combined_se(spread.se, test))


def combined_se(*ses: float) -> float:
    """Independent errors in quadrature; nan (unknown) if any is nan."""
    return math.sqrt(sum(float(s) ** 2 for s in ses))
