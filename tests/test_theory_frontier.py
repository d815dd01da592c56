"""T4: Theorem 2.1's exact frontier over threshold classifiers on D."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from lib import frontier as F
from lib import theory as T

DIST = T.Distribution.scaled(0.95, 1000, 3.0)  # the chapter's running example
P, EPS = DIST.p, 2 * DIST.eta


def _uncapped_bound(std):
    return P / (1 - P) * (1 - std)


def _thresholds(a):
    """w_a = (a, (1-a)/d, ...) as thresholds on the weak-feature mean: m > -a/(1-a) x1."""
    if a == 1:
        return -math.inf, math.inf
    return -a / (1 - a), a / (1 - a)


@pytest.mark.parametrize("a", [0.0, 0.001, 0.01, 0.05, 0.3, 1.0])
def test_linear_family_is_the_symmetric_threshold_family(a):
    w, (tp, tm) = T.w_tradeoff(DIST, a), _thresholds(a)
    for eps in (0.0, EPS, 3 * DIST.eta):
        assert F.threshold_accuracy(DIST, tp, tm, eps) == pytest.approx(
            T.linear_accuracy(w, DIST, eps), abs=1e-12
        )


def test_threshold_accuracy_against_monte_carlo():
    g = torch.Generator().manual_seed(0)
    x, y = DIST.sample(40_000, generator=g)
    x, y = x.double(), y.double()
    tp, tm = -0.05, 0.12  # asymmetric on purpose
    for eps in (0.0, EPS):
        m = x[:, 1:].mean(1) - eps * y
        pred = torch.where(x[:, 0] > 0, m > tp, m > tm).double() * 2 - 1
        mc = (pred == y).double().mean().item()
        exact = F.threshold_accuracy(DIST, tp, tm, eps)
        assert abs(mc - exact) < 4 * math.sqrt(exact * (1 - exact) / len(y))


def test_bound_slack_is_exact():
    rng = np.random.default_rng(0)
    tp, tm = rng.normal(0, 0.1, 500), rng.normal(0, 0.1, 500)
    std = F.threshold_accuracy(DIST, tp, tm)
    rob = F.threshold_accuracy(DIST, tp, tm, EPS)
    slack = F.bound_slack(DIST, tp, tm)
    np.testing.assert_allclose(_uncapped_bound(std) - rob, slack, atol=1e-12)
    # Every threshold classifier lies on or below the bound (Theorem 2.1) ...
    assert (rob <= np.minimum(1, _uncapped_bound(std)) + 1e-12).all()
    # ... and strictly below with a finite threshold; on it only for sign(x1).
    assert (slack > 0).all()
    assert F.bound_slack(DIST, -math.inf, math.inf) == 0
    assert F.threshold_accuracy(DIST, -math.inf, math.inf) == pytest.approx(P)
    assert F.threshold_accuracy(DIST, -math.inf, math.inf, EPS) == pytest.approx(P)


def test_exact_frontier_touches_the_bound_only_at_delta_1_minus_p():
    bayes = T.linear_accuracy(T.w_bayes(DIST), DIST)
    rob, slack = F.frontier_at_2eta(DIST, P)
    assert (rob, slack) == (P, 0.0)
    for c in np.linspace(P, bayes, 50)[1:]:
        rob, slack = F.frontier_at_2eta(DIST, c)
        assert slack > 0
        assert rob == pytest.approx(_uncapped_bound(c) - slack, abs=1e-12)
    with pytest.raises(ValueError):
        F.frontier_at_2eta(DIST, P - 0.01)
    with pytest.raises(ValueError):
        F.frontier_at_2eta(DIST, bayes + 1e-6)


def test_but_it_is_nearly_tight_up_to_99_percent():
    """What the frontier shows beyond the paper: the gap is tiny, not just 0 at 1 - p.

    At the footnote's 96% and 99% standard accuracy, the best threshold
    classifier falls short of 76% and 19% robust accuracy by < 1e-10 and
    < 3e-6; the gap only opens near the Bayes classifier.
    """
    assert 0 < F.frontier_at_2eta(DIST, 0.96)[1] < 1e-10
    assert 0 < F.frontier_at_2eta(DIST, 0.99)[1] < 3e-6
    assert F.frontier_at_2eta(DIST, 0.99)[0] == pytest.approx(0.19, abs=3e-6)
    bayes = T.linear_accuracy(T.w_bayes(DIST), DIST)
    assert F.frontier_at_2eta(DIST, bayes)[1] > 1e-3


def test_two_threshold_grid_never_beats_the_symmetric_exact_frontier():
    # The exact frontier assumes t_minus = -t_plus; asymmetric pairs must not do better.
    bayes = T.linear_accuracy(T.w_bayes(DIST), DIST)
    cs = np.linspace(P, bayes - 1e-5, 40)
    grid = F.threshold_frontier(DIST, EPS, cs)
    exact = np.array([F.frontier_at_2eta(DIST, c)[0] for c in cs])
    assert (grid <= exact + 1e-12).all()
    assert np.nanmax(exact - grid) < 5e-4  # the grid's resolution
    rng = np.random.default_rng(1)
    tp = rng.normal(-0.05, 0.05, 3000)
    tm = rng.normal(0.05, 0.05, 3000)
    std = F.threshold_accuracy(DIST, tp, tm)
    rob = F.threshold_accuracy(DIST, tp, tm, EPS)
    keep = (std >= P) & (std <= bayes)
    for s, r in zip(std[keep][:300], rob[keep][:300], strict=True):
        assert r <= F.frontier_at_2eta(DIST, s)[0] + 1e-12


def test_grid_frontier_below_p_is_sign_x1():
    # With standard accuracy <= p the best is sign(x1), robust accuracy p: below the bound.
    assert F.threshold_frontier(DIST, EPS, 0.9) == pytest.approx(P)
    assert T.tradeoff_bound(0.9, P) - P > 0.04
    assert math.isnan(F.threshold_frontier(DIST, EPS, 0.99999))
