"""lib.chapters.theory and its figures: the theory chapter's computations on small inputs."""

from __future__ import annotations

import math

import matplotlib
import numpy as np
import pytest
import torch

from lib import theory as T
from lib import verdicts as V
from lib.chapters import theory as C
from lib.chapters import theory_plots as TP

matplotlib.use("Agg")

D = T.Distribution.scaled(0.95, 1000, 3.0)  # the paper's running example
D4 = T.Distribution.scaled(0.95, 1000, 4.0)  # Theorem 2.2's eta = 4 / sqrt(d)


def test_sample_moments_on_hand_samples():
    y = torch.tensor([1.0, -1.0, 1.0, -1.0])
    x = torch.tensor([[1.0, 2.0, 0.0], [1.0, -1.0, -3.0], [1.0, 1.0, 1.0], [-1.0, 0.0, -2.0]])
    agree, weak_mean = C.sample_moments(x, y)
    assert agree == 0.75  # x1 = y in rows 0, 2 and 3
    assert weak_mean == pytest.approx((2 + 0 + 1 + 3 + 1 + 1 + 0 + 2) / 8)


def test_accuracy_table_exact_columns_and_monte_carlo():
    dist = T.Distribution.scaled(0.9, 50, 2.0)
    eps = 2 * dist.eta
    table, mc = C.accuracy_table(
        C.classifiers(dist), dist, eps, 4000, torch.Generator().manual_seed(0)
    )
    assert list(table.index) == ["f_avg", "sign(x1)", "Bayes"] and len(mc) == 9
    assert table.loc["sign(x1)", "standard: exact"] == pytest.approx(0.9)
    w = T.w_bayes(dist)
    assert mc[("Bayes", "worst case in the ball")][0] == T.linear_accuracy(w, dist, eps, "ball")
    values = C.accuracy_glue(mc, 4000)
    assert values["theory_mc_agrees"] is True
    assert values["T2_std_acc_exact"] == T.f_avg_std_acc(dist)
    assert values["T3_adv_acc_mc"] == mc[("f_avg", "shift adversary")][1]


def test_monte_carlo_disagreement_is_caught():
    mc = {("f_avg", c): (0.5, 0.5, 0.01) for c in ("standard", "shift adversary")}
    mc |= {("Bayes", c): (0.9, 0.9, 0.01) for c, _ in C.COLUMNS}
    assert C.accuracy_glue(mc, 10_000)["theory_mc_agrees"] is True
    mc[("Bayes", "standard")] = (0.9, 0.8, 0.01)  # ten standard errors off
    assert C.accuracy_glue(mc, 10_000)["theory_mc_agrees"] is False


def test_family_runs_from_f_avg_to_sign_x1_and_respects_the_bound():
    eps = 2 * D.eta
    family = C.tradeoff_family(D, eps, np.array([0.0, 0.5, 1.0]))
    assert set(family) == set(T.ADVERSARIES) and family["shift"].shape == (3, 2)
    assert family["shift"][0, 0] == pytest.approx(T.f_avg_std_acc(D))
    assert family["ball"][-1, 1] == pytest.approx(0.95)
    points = {
        n: (T.linear_accuracy(w, D), T.linear_accuracy(w, D, eps))
        for n, w in C.classifiers(D).items()
    }
    excess = C.excess_over_bound(points, family, D.p)
    assert len(excess) == 3 + 6 and max(excess) <= 1e-12
    assert C.crossed_text(max(excess)).startswith("the bound is never crossed")


def test_below_two_eta_the_bound_is_crossed():
    """Negative control: at eps = eta Theorem 2.1 does not apply, and f_avg lies above it."""
    eps = D.eta
    points = {"f_avg": (T.linear_accuracy(T.w_avg(D), D), T.linear_accuracy(T.w_avg(D), D, eps))}
    excess = C.excess_over_bound(points, {}, D.p)
    assert excess[0] > 0.4  # robust 0.5 against a bound of 19 x 0.00135
    assert C.crossed_text(max(excess)) == "THE BOUND IS CROSSED"


def test_bound_values_and_the_frontier():
    bayes_std = T.linear_accuracy(T.w_bayes(D), D)
    bound = C.bound_glue(D, 2 * D.eta, bayes_std)
    assert bound["T4_bound_at_99"] == pytest.approx(0.19)
    assert bound["T4_bound_at_96"] == pytest.approx(0.76)
    assert bound["T4_tight_at_p"] == pytest.approx(0.95) == bound["T4_bound_at_p"]
    assert bound["T4_slack_at_p"] == 0 < bound["T4_slack_at_96"] < bound["T4_slack_at_bayes"]
    c_grid, rows = C.exact_frontier(D, D.p, bayes_std, n=5)
    assert c_grid[0] == D.p and rows.shape == (5, 2)
    assert rows[0, 1] == 0 and (rows[1:, 1] > 0).all()


def test_svm_rows_at_the_exact_optima():
    eps = 2 * D4.eta
    w_std = T.svm_weights(D4, *T.svm_optimum(D4))
    w_adv = T.svm_weights(D4, *T.svm_optimum(D4, eps))
    std, adv = C.describe_svm(w_std, D4, eps), C.describe_svm(w_adv, D4, eps)
    assert std["standard"] > 0.99 > 0.01 > std["shift adversary"]
    assert std["v = sum(w_2..)/sqrt(d)"] >= 2**-0.5 and std["spread of w_2.. (std / mean)"] < 1e-9
    assert adv["||w_2..||_1"] == 0 and math.isnan(adv["spread of w_2.. (std / mean)"])
    assert adv["standard"] == pytest.approx(0.95) == adv["worst case in the ball"]
    values = C.svm_glue(w_std, w_std, w_adv, D4, eps)
    assert (
        values["T5_v_svm"] == values["T5_v_exact"] == pytest.approx(std["v = sum(w_2..)/sqrt(d)"])
    )
    assert values["T5_weak_l1_advsvm"] == 0 and values["T5_eta"] == D4.eta


def test_eps_sweep_finds_where_the_weak_features_are_dropped():
    sweep = C.svm_eps_sweep(D4, np.linspace(0, 3, 7))
    assert sweep.shape == (7, 5) and sweep[0, 0] == 0 and sweep[-1, 0] == pytest.approx(3)
    assert sweep[0, 2] > 0 and 0 < C.switch_eps(sweep) <= 2
    assert math.isnan(C.switch_eps(sweep[:1]))  # at eps = 0 the weak features are used


def test_transfer_between_standard_svms_and_not_to_the_robust_one():
    eps = 2 * D4.eta
    w = T.svm_weights(D4, *T.svm_optimum(D4))
    rng = np.random.default_rng(0)
    ws = [w * (1 + 0.1 * rng.standard_normal(w.shape)) for _ in range(3)]
    success = C.transfer_matrix(ws, D4, eps)
    assert success.shape == (3, 3) and (success > 0.99).all()
    summary = C.transfer_summary(success)
    assert summary["T6_transfer_success_min"] <= summary["T6_transfer_success"]
    assert C.transfer_to(T.w_robust(D4), ws, D4, eps) == pytest.approx(0.05)
    hit = C.transfer_monte_carlo(ws[0], ws[1], D4, eps, 2000, torch.Generator().manual_seed(0))
    assert hit == pytest.approx(success[0, 1], abs=0.01)


def test_transfer_summary_reads_the_diagonal_apart():
    summary = C.transfer_summary(np.array([[1.0, 0.2], [0.4, 0.8]]))
    assert summary == {
        "T6_self_success": 0.9,
        "T6_transfer_success": pytest.approx(0.3),
        "T6_transfer_success_min": 0.2,
    }


@pytest.fixture(scope="module")
def claim_inputs():
    """The claim rows' inputs at the running example, on 2,000 samples (T5's SVMs apart)."""
    n = 2000
    g = torch.Generator().manual_seed(0)
    x, y = D.sample(n, generator=g)
    agree, weak_mean = C.sample_moments(x, y)
    eps = 2 * D.eta
    _, mc = C.accuracy_table(C.classifiers(D), D, eps, n, g)
    bayes_std = T.linear_accuracy(T.w_bayes(D), D)
    _, rows = C.exact_frontier(D, D.p, bayes_std, n=5)
    w = T.svm_weights(D4, *T.svm_optimum(D4))
    return dict(
        n_moments=n,
        agree=agree,
        weak_mean=weak_mean,
        mc=mc,
        n_test=n,
        excess=[0.0, -0.1],
        bound=C.bound_glue(D, eps, bayes_std),
        grid_slack=rows[1:, 1],
        success=C.transfer_matrix([w, w], D4, 2 * D4.eta),
        n_train=10_000,
    )


def test_claim_rows_reproduce_at_the_exact_optima_and_fail_when_swapped(claim_inputs):
    eps = 2 * D4.eta
    std, adv = (
        C.describe_svm(T.svm_weights(D4, *T.svm_optimum(D4, e)), D4, eps) for e in (0.0, eps)
    )
    rows = C.claim_rows(D, t5=(std, adv), **claim_inputs)
    assert [r["claim"] for r in rows] == ["T1", "T2", "T3", "T4", "T5", "T6"]
    assert all(r["verdict"] == V.REPRODUCED for r in rows), rows
    assert "(2 SVMs, n = 10,000 each)" in rows[-1]["ours"]
    swapped = {r["claim"]: r["verdict"] for r in C.claim_rows(D, t5=(adv, std), **claim_inputs)}
    assert swapped["T5"] == V.NOT_REPRODUCED
    crossed = {
        r["claim"]: r["verdict"]
        for r in C.claim_rows(D, t5=(std, adv), **claim_inputs | {"excess": [0.01]})
    }
    assert crossed["T4"] == V.NOT_REPRODUCED


def test_figures_draw():
    dist = T.Distribution.scaled(0.9, 20, 3.0)
    x, y = dist.sample(500, generator=torch.Generator().manual_seed(0))
    assert len(TP.marginals(x, y, dist, 2.0).axes) == 3
    family = C.tradeoff_family(dist, 2 * dist.eta, np.linspace(0, 1, 5))
    points = {n: (T.linear_accuracy(w, dist), 0.5) for n, w in C.classifiers(dist).items()}
    frontier = C.exact_frontier(dist, dist.p, 0.99, n=3)
    assert len(TP.tradeoff(dist, 2.0, family, points, frontier).axes) == 1
    assert len(TP.svm_sweep(C.svm_eps_sweep(dist, np.linspace(0, 3, 4))).axes) == 2
    assert len(TP.transfer(np.eye(3)).axes) == 2  # the map and its colour bar
    assert len(TP.frontier_grid((0.9,), (1.0, 2.0), 20, 3.0).axes) == 2
    matplotlib.pyplot.close("all")
