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
from lib.chapters import theory_claims as TC
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
    std, adv = C.describe_svm(w_std, D4, eps), C.describe_svm(w_adv, D4, eps, train_eps=eps)
    assert std["hinge loss above the optimum"] == 0 == adv["hinge loss above the optimum"]
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


def test_hinge_loss_exact_matches_monte_carlo_for_unequal_weights():
    w = np.random.default_rng(0).standard_normal(D4.d + 1)
    w /= np.linalg.norm(w)
    x, y = D4.sample(20_000, generator=torch.Generator().manual_seed(1))
    for eps in (0.0, 2 * D4.eta):
        sampled = T.hinge_loss(torch.as_tensor(w, dtype=x.dtype), x, y, eps=eps)
        assert T.hinge_loss_exact(w, D4, eps) == pytest.approx(sampled, rel=0.02)
    assert T.hinge_loss_exact(-T.w_robust(D4), D4) == pytest.approx(2 * D4.p)


def test_untrained_svm_is_far_from_its_optimum():
    start = np.r_[1e-3, np.zeros(D4.d)]  # train_svm's starting point
    assert C.describe_svm(start, D4, 2 * D4.eta)["hinge loss above the optimum"] > 0.9


def test_transfer_at_small_n_signs_differ_and_examples_transfer():
    """T6 at 100 samples per SVM: the weak weights' signs differ between SVMs, each SVM is
    accurate, and the attacks transfer on most inputs (the verdict reproduced); at
    2,000 samples every sign agrees, so the test is inconclusive (it cannot fail)."""
    eps, g = 2 * D4.eta, torch.Generator().manual_seed(0)
    rows = {}
    for n in (100, 2000):
        ws = [T.train_svm(*D4.sample(n, generator=g), steps=300).double().numpy() for _ in "abc"]
        rows[n], success = C.transfer_at(ws, D4, eps, n)
        assert success.shape == (3, 3)
    small, large = rows[100], rows[2000]
    assert small["weak signs differing"] > 0.1 and large["weak signs differing"] == 0
    assert small["least standard accuracy"] > 0.99
    assert 0.5 < small["transfer"] < large["transfer"] and small["transfer SE"] > 0
    assert TC.t6_part(small).verdict == V.REPRODUCED
    assert TC.t6_part(large).verdict == V.INCONCLUSIVE
    assert TC.t6_judgement([small, large]).verdict == V.INCONCLUSIVE


def test_sign_disagreement_counts_pairs():
    ws = [np.array([9.0, 1, 1, 1, 1]), np.array([9.0, 1, -1, 1, 1]), np.array([9.0, 1, 1, 1, 1])]
    assert C.sign_disagreement(ws) == pytest.approx((0.25 + 0 + 0.25) / 3)


def test_transfer_summary_reads_the_diagonal_apart():
    summary = C.transfer_summary(np.array([[1.0, 0.2], [0.4, 0.8]]))
    assert summary == {
        "T6_self_success": 0.9,
        "T6_transfer_success": pytest.approx(0.3),
        "T6_transfer_success_min": 0.2,
    }


@pytest.fixture(scope="module")
def claim_inputs():
    """The claim rows' inputs at the running example (T5's SVMs apart): the weak mean on
    2,000 samples, Monte Carlo on 20,000 (the smoke profile's; 2 SE = 0.0005 resolves
    MC_TOL = 0.001 near 99.9%)."""
    n, n_mc = 2000, 20_000
    g = torch.Generator().manual_seed(0)
    x, y = D.sample(n, generator=g)
    _, weak_mean = C.sample_moments(x, y)
    eps = 2 * D.eta
    mc = {}  # the two f_avg cells that T2 and T3 read, as accuracy_table gives them
    for column, e in (("standard", 0.0), ("shift adversary", eps)):
        exact = T.linear_accuracy(T.w_avg(D), D, e)
        mc[("f_avg", column)] = (
            exact,
            *T.monte_carlo_accuracy(T.w_avg(D), D, n_mc, eps=e, generator=g),
        )
    bayes_std = T.linear_accuracy(T.w_bayes(D), D)
    _, rows = C.exact_frontier(D, D.p, bayes_std, n=5)
    # T1 on 100,000 samples of x1 and y alone (2 SE = 0.0014 resolves p to 0.005)
    y1 = torch.randint(0, 2, (100_000,), generator=g) * 2 - 1
    x1 = torch.where(torch.rand(100_000, generator=g) < D.p, y1, -y1)
    transfer = C.transfer_row(np.full((2, 2), 0.9), [0.999, 0.999], 0.2, 100)
    return dict(
        n_moments=100_000,
        agree=float((x1 == y1).float().mean()),
        weak_mean=weak_mean,
        mc=mc,
        n_test=n_mc,
        excess=[0.0, -0.1],
        bound=C.bound_glue(D, eps, bayes_std),
        grid_slack=rows[1:, 1],
        transfer=[transfer],
    )


def test_claim_rows_reproduce_at_the_exact_optima_and_fail_when_swapped(claim_inputs):
    eps = 2 * D4.eta
    std, adv = (
        C.describe_svm(T.svm_weights(D4, *T.svm_optimum(D4, e)), D4, eps, train_eps=e)
        for e in (0.0, eps)
    )
    rows = TC.claim_rows(D, t5=(std, adv), **claim_inputs)
    assert [r["claim"] for r in rows] == ["T1", "T2", "T3", "T4", "T5", "T6"]
    assert all(r["verdict"] == V.REPRODUCED for r in rows), rows
    assert (
        "n = 100: 0.9000 ± 0.0000" in rows[-1]["ours"] and "(2 SVMs per size)" in rows[-1]["ours"]
    )
    swapped = {r["claim"]: r["verdict"] for r in TC.claim_rows(D, t5=(adv, std), **claim_inputs)}
    assert swapped["T5"] == V.NOT_REPRODUCED
    crossed = {
        r["claim"]: r["verdict"]
        for r in TC.claim_rows(D, t5=(std, adv), **claim_inputs | {"excess": [0.01]})
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
