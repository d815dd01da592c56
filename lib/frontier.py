"""Theorem 2.1's exact frontier over every classifier that thresholds the weak-feature mean.

On the distribution D of :mod:`lib.theory`, a classifier "predict +1 iff
mean(x2..) > t(x1)" has one threshold per value of x1. This module gives
their exact clean and robust accuracies (:func:`threshold_accuracy`), their
slack below the bound (:func:`bound_slack`), the frontier over a grid of
both thresholds (:func:`threshold_frontier`) and the exact frontier at
eps = 2 eta (:func:`frontier_at_2eta`). T4 of the theory chapter.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize

from lib.theory import Distribution, Phi, _check_eps


def _branch(dist: Distribution, t, eta_eff: float):
    """The accuracy contributed by the samples with x1 = +1 when predicting +1 iff m > t.

    m is the mean of the weak features, N(eta_eff * y, 1/d). By the symmetry of
    D the samples with x1 = -1 and threshold s contribute ``_branch(-s)``.
    """
    t = np.asarray(t, dtype=np.float64)
    r = math.sqrt(dist.d)
    with np.errstate(invalid="ignore"):
        return dist.p / 2 * Phi((eta_eff - t) * r) + (1 - dist.p) / 2 * Phi((t + eta_eff) * r)


def threshold_accuracy(dist: Distribution, t_plus, t_minus, eps: float = 0.0):
    """Exact accuracy of "predict +1 iff mean(x2..) > t(x1)", one threshold per value of x1.

    ``t_plus`` applies where x1 = +1, ``t_minus`` where x1 = -1 (either may be
    +-inf: a constant prediction on that half). Clean for ``eps = 0``, else
    under the shift adversary of radius eps, which moves m to N((eta - eps) y,
    1/d). The linear classifiers sign(w1 x1 + v * sum x_i) are the special
    case t_plus = -w1 / v = -t_minus; sign(x1) is t_plus = -inf, t_minus = +inf.
    Vectorized over arrays of thresholds.
    """
    eta_eff = dist.eta - _check_eps(eps)
    return _branch(dist, t_plus, eta_eff) + _branch(dist, -np.asarray(t_minus), eta_eff)


def threshold_errors(dist: Distribution, t_plus, t_minus):
    """Clean error rates of the threshold classifier on the two kinds of samples.

    Returns (e_agree, e_disagree): the error rate where x1 = y (probability
    p) and where x1 = -y (probability 1 - p). Standard error is
    delta = p e_agree + (1 - p) e_disagree.
    """
    r = math.sqrt(dist.d)
    tp, tm, eta = np.asarray(t_plus, float), np.asarray(t_minus, float), dist.eta
    with np.errstate(invalid="ignore"):
        e_agree = (Phi((tp - eta) * r) + Phi((-tm - eta) * r)) / 2
        e_disagree = (Phi((-tp - eta) * r) + Phi((tm - eta) * r)) / 2
    return e_agree, e_disagree


def bound_slack(dist: Distribution, t_plus, t_minus):
    """How far below Theorem 2.1's bound a threshold classifier lies, at eps = 2 eta.

    The shift by 2 eta turns the weak features of class y into those of -y,
    so robust accuracy is p e_disagree + (1 - p) e_agree (a robust hit on a
    sample whose x1 agrees is a clean miss on one whose x1 disagrees, and
    vice versa). With delta = p e_agree + (1 - p) e_disagree this gives
    exactly

        p / (1 - p) * delta - robust = (2p - 1) / (1 - p) * e_agree,

    so the (uncapped) bound is attained iff e_agree = 0: never with a finite
    threshold, only by sign(x1), at delta = 1 - p.
    """
    e_agree, _ = threshold_errors(dist, t_plus, t_minus)
    return (2 * dist.p - 1) / (1 - dist.p) * e_agree


def threshold_frontier(dist: Distribution, eps: float, std_acc, *, n_grid: int = 1201):
    """The most robust accuracy any threshold classifier reaches with standard accuracy >= std_acc.

    Robust accuracy is under the shift adversary of radius ``eps``. Maximized
    over both thresholds on a grid of ``n_grid`` values each (in units of
    m's standard deviation, from -10 to +14 around eta, plus +-inf), so the
    result is attained by a classifier: it can be below the true frontier by
    the grid's resolution, never above it. nan where no classifier reaches
    ``std_acc``.
    """
    r = math.sqrt(dist.d)
    t = dist.eta - np.concatenate([[np.inf], np.linspace(-10, 14, n_grid), [-np.inf]]) / r
    s_branch = _branch(dist, t, dist.eta)
    r_branch = _branch(dist, t, dist.eta - _check_eps(eps))
    # x1 = -1 with threshold s contributes _branch(-s): pair every t with every -s.
    std = (s_branch[:, None] + s_branch[None, :]).ravel()
    rob = (r_branch[:, None] + r_branch[None, :]).ravel()
    order = np.argsort(-std, kind="stable")
    std, best = std[order], np.maximum.accumulate(rob[order])
    c = np.atleast_1d(np.asarray(std_acc, dtype=np.float64))
    # Last index with std >= c (std is sorted descending).
    idx = np.searchsorted(-std, -c, side="right") - 1
    out = np.where(idx >= 0, best[np.clip(idx, 0, None)], np.nan)
    return out if np.ndim(std_acc) else float(out[0])


EXACT = 1e-12  # float64 rounding in the closed forms


def frontier_at_2eta(dist: Distribution, std_acc: float) -> tuple[float, float]:
    """The exact frontier of Theorem 2.1 over threshold classifiers, at eps = 2 eta.

    For standard accuracy c in [p, the Bayes accuracy]: the largest robust
    accuracy of a threshold classifier with standard accuracy c, and its
    slack below the bound, (2p - 1) / (1 - p) * e_agree (see
    :func:`bound_slack`). Minimizing e_agree at a given delta is a
    Neyman-Pearson problem on each half x1 = +-1; the two halves are the same
    problem, so the optimum is symmetric, t_minus = -t_plus (checked against
    the two-threshold grid of :func:`threshold_frontier` in the tests). Solved
    for t_plus in closed form up to a root find. Returns (robust, slack).
    """
    p, eta, r = dist.p, dist.eta, math.sqrt(dist.d)
    if p == 1 or p == 0.5:
        raise ValueError("needs 0.5 < p < 1")

    def errors(t):
        return float(Phi((t - eta) * r)), float(Phi((-t - eta) * r))

    def std(t):
        e_agree, e_disagree = errors(t)
        return 1 - (p * e_agree + (1 - p) * e_disagree)

    t_bayes = -math.log(p / (1 - p)) / (2 * eta * dist.d)  # the most accurate threshold
    if not p <= std_acc <= std(t_bayes) + EXACT:
        raise ValueError(
            f"std_acc must lie in [p, {std(t_bayes):.6f}] (p to Bayes), got {std_acc!r}"
        )
    if std_acc == p:
        return p, 0.0  # sign(x1): t_plus = -inf, e_agree = 0
    # std(t) rises from p (t = -inf) to the Bayes accuracy (t_bayes); bracket in units of 1/r.
    lo = t_bayes - 1.0
    while std(lo) > std_acc:
        lo -= 1.0
    t = optimize.brentq(lambda s: std(s) - std_acc, lo, t_bayes, xtol=1e-15, rtol=1e-15)
    e_agree, e_disagree = errors(t)
    robust = p * e_disagree + (1 - p) * e_agree
    return robust, (2 * p - 1) / (1 - p) * e_agree
