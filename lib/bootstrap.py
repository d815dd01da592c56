"""The bootstrap over training images: how much a fitted model's numbers move with the
training sample.

A deterministic fit (the linear chapter's: weights start at 0, every step uses the
whole training set) gives the same model for every seed, up to the order of
floating-point sums, so a spread over seeds measures rounding. What does move a
fit is which training images were drawn. The bootstrap refits on ``B`` resamples
of the training set (``n`` images drawn with replacement from the ``n``) and takes
the spread of a statistic over the refits as its standard error (Efron and
Tibshirani 1993, ch. 6).

- :func:`resample_indices`: the ``B`` resamples, seeded, the same for every caller
  with the same ``(n, B, seed)``, so several loops refit on the same resamples.
- :func:`bootstrap_se`: the standard error from the replicates, widened for a
  small ``B`` so that a difference beyond ``z`` of it keeps the level ``z`` has
  for a known SE (see there).
- :func:`paired_difference`: the difference of two models' accuracies on the same
  test images, with the paired test-set SE and each model's training spread.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import torch
from scipy import stats

from lib.verdicts.judgement import Z
from lib.verdicts.noise import Estimate, combined_se, paired_diff_se


def resample_indices(n: int, resamples: int, seed: int) -> torch.Tensor:
    """``resamples`` bootstrap resamples of ``range(n)``: an int64 [resamples, n] tensor on
    the CPU, each row ``n`` indices drawn uniformly with replacement (seeded)."""
    for name, v in (("n", n), ("resamples", resamples)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{name} must be a positive int, got {v!r}")
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, n, (resamples, n), generator=g)


def widening(resamples: int, z: float = Z) -> float:
    """t_{B-1}(Phi(z)) / z: how much wider an SE from ``resamples`` replicates must be
    for "beyond z SE" to keep the one-sided level Phi(-z) (2.3% at z = 2) that it
    has for a known SE. The spread of B replicates is itself an estimate with
    B - 1 degrees of freedom; at B = 8 the factor is 1.21, and it falls to 1 as B grows."""
    if resamples < 2:
        return math.nan
    return float(stats.t.ppf(stats.norm.cdf(z), resamples - 1) / z)


def bootstrap_se(replicates: Iterable[float], *, z: float = Z) -> float:
    """The bootstrap standard error of a statistic from its replicates (one per resample):
    their standard deviation (ddof 1) times :func:`widening`. nan from fewer than two
    replicates (no spread to measure). Replicates that are all equal give 0."""
    v = np.asarray(list(replicates), dtype=np.float64)
    if len(v) < 2:
        return math.nan
    return float(v.std(ddof=1) * widening(len(v), z))


def paired_difference(
    correct_a, correct_b, *, spread_a: float = 0.0, spread_b: float = 0.0
) -> Estimate:
    """mean(a) - mean(b) for two models' per-image correctness on the same test images.

    The SE adds, in quadrature, the paired test-set SE (:func:`lib.verdicts.noise.paired_diff_se`:
    only images the two models disagree on add noise) and each model's training spread
    (``spread_a``, ``spread_b``: e.g. :func:`bootstrap_se` of its test accuracy), the
    two fits taken as independent. Fits on the same training images are positively
    correlated in practice, so that part is an upper bound.
    """
    a = np.asarray(correct_a, dtype=np.float64).ravel()
    b = np.asarray(correct_b, dtype=np.float64).ravel()
    test = paired_diff_se(a, b)
    return Estimate(float(a.mean() - b.mean()), combined_se(test, spread_a, spread_b))
