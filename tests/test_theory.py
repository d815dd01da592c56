"""Closed forms for D against hand values and Monte Carlo; Theorems 2.1 and 2.2."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from lib import theory as T

D = T.Distribution.scaled(0.95, 1000, 3.0)  # the paper's running example
D4 = T.Distribution.scaled(0.95, 1000, 4.0)  # Theorem 2.2's eta = 4 / sqrt(d)


def test_hand_values_at_the_running_example():
    # eta sqrt(d) = 3: Phi(3) = 0.99865, Phi(-3) = 0.00135
    assert T.f_avg_std_acc(D) == pytest.approx(0.99865, abs=5e-6)
    assert T.f_avg_adv_acc(D, 2 * D.eta) == pytest.approx(0.00135, abs=5e-6)
    assert T.linear_accuracy(T.w_avg(D), D) == pytest.approx(T.f_avg_std_acc(D), abs=1e-12)
    for adversary in T.ADVERSARIES:
        assert T.linear_accuracy(T.w_avg(D), D, 2 * D.eta, adversary) == pytest.approx(
            T.f_avg_adv_acc(D, 2 * D.eta), abs=1e-12
        )
    # sign(x1): p at every eps < 1, against either adversary
    for eps in (0.0, 0.5, 0.99):
        assert T.linear_accuracy(T.w_robust(D), D, eps, "ball") == 0.95
    assert T.linear_accuracy(T.w_robust(D), D, 1.0, "ball") == 0.0


def _within(mc, se, exact, k=4.5):
    return abs(mc - exact) <= k * se + 1e-12


@pytest.mark.parametrize("adversary", T.ADVERSARIES)
@pytest.mark.parametrize("name", ["avg", "robust", "bayes", "tradeoff", "random"])
def test_closed_forms_match_monte_carlo(name, adversary):
    dist = T.Distribution.scaled(0.9, 50, 2.0)
    rng = np.random.default_rng(0)
    w = {
        "avg": T.w_avg(dist),
        "robust": T.w_robust(dist),
        "bayes": T.w_bayes(dist),
        "tradeoff": T.w_tradeoff(dist, 0.3),
        "random": rng.normal(size=dist.d + 1) + 0.2,
    }[name]
    g = torch.Generator().manual_seed(1)
    for eps in (0.0, dist.eta, 2 * dist.eta):
        exact = T.linear_accuracy(w, dist, eps, adversary)
        mc, se = T.monte_carlo_accuracy(w, dist, 40_000, eps=eps, adversary=adversary, generator=g)
        assert _within(mc, max(se, 1e-4), exact), (name, eps, mc, exact)


def test_ball_adversary_never_weaker_than_shift():
    rng = np.random.default_rng(1)
    for _ in range(50):
        w = rng.normal(size=D.d + 1)
        eps = rng.uniform(0, 3 * D.eta)
        assert T.linear_accuracy(w, D, eps, "ball") <= T.linear_accuracy(w, D, eps, "shift") + 1e-12


def test_bayes_classifier_is_the_most_accurate_linear_one():
    bayes = T.linear_accuracy(T.w_bayes(D), D)
    for a in np.linspace(0, 1, 21):
        assert T.linear_accuracy(T.w_tradeoff(D, a), D) <= bayes + 1e-12


def test_theorem_2_1_bound_holds_and_is_tight():
    assert T.tradeoff_bound(0.99, 0.95) == pytest.approx(0.19)
    assert T.tradeoff_bound(0.96, 0.95) == pytest.approx(0.76)
    # tight at delta = 1 - p: sign(x1)
    std = T.linear_accuracy(T.w_robust(D), D)
    assert T.tradeoff_bound(std, D.p) == pytest.approx(D.p)
    assert T.linear_accuracy(T.w_robust(D), D, 2 * D.eta) == pytest.approx(D.p)
    # never violated, by any classifier we can build, at any eps >= 2 eta
    rng = np.random.default_rng(2)
    candidates = [T.w_avg(D), T.w_robust(D), T.w_bayes(D)]
    candidates += [T.w_tradeoff(D, a) for a in np.linspace(0, 1, 41)]
    candidates += [rng.normal(size=D.d + 1) + rng.uniform(0, 0.5) for _ in range(30)]
    for w in candidates:
        std = T.linear_accuracy(w, D)
        for eps in (2 * D.eta, 3 * D.eta):
            for adversary in T.ADVERSARIES:
                assert T.linear_accuracy(w, D, eps, adversary) <= T.tradeoff_bound(std, D.p) + 1e-9


def test_theorem_2_2_exact_optimum():
    w1, v = T.svm_optimum(D4)
    assert v >= 1 / math.sqrt(2)  # Lemma D.2
    w = T.svm_weights(D4, w1, v)
    assert T.linear_accuracy(w, D4) > 0.99  # Lemma D.3
    assert T.linear_accuracy(w, D4, 2 * D4.eta) < 0.01  # Lemma D.4
    w1, v = T.svm_optimum(D4, eps=2 * D4.eta)
    assert (w1, v) == (1.0, 0.0)  # Lemma D.5
    w = T.svm_weights(D4, w1, v)
    for eps in (0.0, 2 * D4.eta, 0.9):
        assert T.linear_accuracy(w, D4, eps, "ball") == pytest.approx(D4.p)


def test_distributional_hinge_loss_matches_monte_carlo():
    w1, v = 0.4, math.sqrt(1 - 0.16)
    w = torch.as_tensor(T.svm_weights(D4, w1, v))
    x, y = D4.sample(100_000, generator=torch.Generator().manual_seed(0))
    for eps in (0.0, D4.eta):
        mc = T.hinge_loss(w, x.double(), y.double(), eps=eps)
        assert mc == pytest.approx(T.svm_distributional_loss(w1, v, D4, eps), rel=0.03, abs=2e-4)


def test_trained_svms_follow_theorem_2_2():
    dist = T.Distribution.scaled(0.95, 200, 4.0)
    x, y = dist.sample(4000, generator=torch.Generator().manual_seed(0))
    w_std = T.train_svm(x, y, steps=300).double().numpy()
    assert T.linear_accuracy(w_std, dist) > 0.99
    assert T.linear_accuracy(w_std, dist, 2 * dist.eta) < 0.01
    assert w_std[1:].sum() / math.sqrt(dist.d) >= 1 / math.sqrt(2)
    w_adv = T.train_svm(x, y, eps=2 * dist.eta, steps=300).double().numpy()
    assert np.abs(w_adv[1:]).sum() < 1e-6 and w_adv[0] > 0
    assert T.linear_accuracy(w_adv, dist, 2 * dist.eta, "ball") == pytest.approx(dist.p)


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: T.Distribution(0.3, 10, 0.1), r"p must lie in \[0.5, 1\]"),
        (lambda: T.Distribution(0.9, 0, 0.1), "d .* must be an int >= 1"),
        (lambda: T.Distribution(0.9, 10, -1.0), "eta must be >= 0"),
        (lambda: T.Distribution.scaled(0.9, 10, -1.0), "eta_scale must be >= 0"),
        (lambda: T.linear_accuracy(T.w_avg(D), D, eps=-0.1), "eps must be >= 0"),
        (lambda: T.linear_accuracy(T.w_avg(D), D, adversary="l2"), "unknown adversary"),
        (lambda: T.linear_accuracy(np.ones(3), D), "w must have shape"),
        (lambda: T.tradeoff_bound(1.2, 0.9), "std_acc must lie"),
        (lambda: T.w_tradeoff(D, 1.5), "a must lie"),
    ],
)
def test_bad_parameters(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# -- found by mutation testing (issue 41, lab/mutation/) ----------------------------------
def test_svm_defaults_are_the_standard_problem():
    # eps defaults to 0: the standard loss (catches another default); float64 samples
    # give float64 weights (catches weights made in the default float32)
    dist = T.Distribution(p=0.9, d=20, eta=0.5)
    assert T.svm_distributional_loss(0.5, 0.5, dist) == T.svm_distributional_loss(
        0.5, 0.5, dist, eps=0.0
    )
    x, y = dist.sample(64, generator=torch.Generator().manual_seed(0))
    w = T.train_svm(x.double(), y.double(), steps=5)
    assert w.dtype == torch.float64
