"""A positive and a negative control for every verdict rule of the book (issue 39).

- **Positive**: the rule fed the paper's own reported numbers (at the paper's
  test-set sizes: 10,000 MNIST / CIFAR-10 test images, 1,920 binary-MNIST test
  and 11,686 training images) says ``reproduced`` wherever the paper reports its
  claim as holding (a rule capped by a proxy: its ceiling, ``qualitatively
  reproduced``). Where the paper gives only a figure, the control uses the
  book's own committed measurement (``results/claims/cpu``) and says so.
- **Negative**: the rule fed null data (the same model twice, identical arms,
  chance-level models, noise of a realistic standard error around an effect
  of 0) says ``inconclusive``: never ``reproduced``, and never ``not
  reproduced`` for a null. Where the null is noise, the control draws it many
  times (seeded) and asks that each of the two wrong verdicts comes out at most
  :data:`NULL_RATE` of the time (one rule at Z = 2 gives 2.3% each way).
- A setup fact (:func:`lib.verdicts.rules.checked`) has no null: its negative control is
  a fact found different, which must say ``not reproduced``.

A control the current rule fails is marked ``xfail(strict=True)`` with the
reason, so it turns into a failure (XPASS) the day the rule is fixed and the
mark must go. ``docs/rule_controls.md`` tabulates the controls. Pure
arithmetic: no training, no data files.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch

from lib import benefits_proxy as proxy
from lib import bootstrap, price
from lib import theory as T
from lib import verdicts as V
from lib.attacks import PGD, pgd
from lib.chapters import benefits as B
from lib.chapters import linear_mnist as L
from lib.chapters import linear_mnist_topk as LK
from lib.chapters import price_table4 as T4
from lib.chapters import setup as S
from lib.chapters import setup_facts as SF
from lib.chapters import theory as C
from lib.chapters import theory_claims as TC
from lib.chapters import trade_off as X
from lib.chapters import trade_off_trades as X3
from lib.experiments import profiles as P
from lib.experiments.results import Results
from lib.experiments.runs import RunConfig
from lib.judging import Rate
from lib.verdicts import benefits as VB

N_TEST = 10_000  # MNIST and CIFAR-10 test sets (Table 4's cells)
N_BINARY_TRAIN, N_BINARY_TEST = 11_686, 1_920  # MNIST 5 vs 7 (Table 5)
NULL_RATE = 0.05  # a null may give either wrong verdict at most this often
DRAWS = 2000  # draws of a noise null


def issue39(why: str):
    """A control the current rule fails: expected to fail until the rule is fixed."""
    return pytest.mark.xfail(strict=True, raises=AssertionError, reason=f"issue 39: {why}")


def shares(judge, *, draws: int = DRAWS, seed: int = 0) -> dict[str, float]:
    """How often ``judge(rng)`` gives each verdict over ``draws`` seeded draws."""
    rng = np.random.default_rng(seed)
    counts = Counter(judge(rng).verdict for _ in range(draws))
    return {v: counts[v] / draws for v in V.VOCABULARY}


def assert_null(s: dict[str, float]) -> None:
    """A noise null: neither reproduced nor not reproduced more than NULL_RATE of the time."""
    assert s[V.REPRODUCED] + s[V.QUALITATIVE] <= NULL_RATE, s
    assert s[V.NOT_REPRODUCED] <= NULL_RATE, s


def acc(percent: float, n: int = N_TEST) -> V.Estimate:
    """A reported accuracy in % as a fraction with its binomial SE on ``n`` images."""
    return V.accuracy(percent / 100, n)


def null_acc(rng, level: float, n: int = N_TEST) -> V.Estimate:
    """An accuracy whose true value is ``level``, measured on ``n`` images."""
    return V.accuracy(float(np.clip(rng.binomial(n, level) / n, 0, 1)), n)


# -- signed_effect: P1, P2, L1-L4, B1-B3, X3, X4 -----------------------------------
def test_signed_effect_positive_table4_standard_above_robust():
    # Table 4, MNIST l_inf 0.3: standard 99.31% vs robust 97.37% on 10,000 images
    assert V.signed_effect(acc(99.31) - acc(97.37)).verdict == V.REPRODUCED


def test_signed_effect_negative_identical_arms_and_noise():
    assert V.signed_effect(acc(99.31) - acc(99.31)).verdict == V.INCONCLUSIVE
    assert V.signed_effect(V.Estimate(0.01, math.nan)).verdict == V.INCONCLUSIVE
    assert_null(shares(lambda r: V.signed_effect(null_acc(r, 0.9) - null_acc(r, 0.9))))


# -- exceeds / below: T2, T3, T5 (standard SVM), T6, X1 (> 2 eps) ------------------
def test_exceeds_below_positive_closed_forms():
    d = T.Distribution.scaled(0.95, 1000, 3.0)
    assert V.exceeds(T.f_avg_std_acc(d), 0.99).verdict == V.REPRODUCED  # T2: Phi(3)
    assert V.below(1 - T.f_avg_std_acc(d), 0.01).verdict == V.REPRODUCED  # T3: Phi(-3)


def test_exceeds_below_negative_at_the_level():
    assert V.exceeds(0.99, 0.99).verdict == V.INCONCLUSIVE
    assert V.below(V.accuracy(0.01, N_TEST), 0.01).verdict == V.INCONCLUSIVE
    assert_null(shares(lambda r: V.exceeds(null_acc(r, 0.99), 0.99)))
    assert_null(shares(lambda r: V.below(null_acc(r, 0.01), 0.01), seed=1))


# -- matches: T1, T2/T3 (Monte Carlo), T4, T5 (= p), L1 (numbers), L3, X1 ----------
def test_matches_positive_paper_value_measured():
    # T1: P[x1 = y] = 0.95 measured on 100,000 samples (2 SE = 0.0014), within the
    # paper's two digits (tol 0.005: an equivalence test needs a tolerance above 2 SE)
    assert V.matches(V.accuracy(0.9502, 100_000), 0.95, tol=5e-3).verdict == V.REPRODUCED
    # T4's footnote: p / (1 - p) delta at 99% and 96%
    assert V.matches(T.tradeoff_bound(0.99, 0.95), 0.19, tol=5e-3).verdict == V.REPRODUCED
    assert V.matches(T.tradeoff_bound(0.96, 0.95), 0.76, tol=5e-3).verdict == V.REPRODUCED


def test_matches_refutes_a_wrong_number():
    # Not a null: a precise measurement far from the paper's number is a refutation.
    assert V.matches(V.accuracy(0.70, N_TEST), 0.95, tol=0).verdict == V.NOT_REPRODUCED


def test_matches_negative_uninformative_measurement():
    # 9 of 10 samples: the interval (2 SE = 0.19) is wider than any tolerance of 2 digits
    for tol in (0, 5e-3):
        j = V.matches(V.accuracy(0.9, 10), 0.95, tol=tol)
        assert j.verdict == V.INCONCLUSIVE and j.why_inconclusive == V.UNDERPOWERED
    # a noise null of an equivalence test: the true value at the tolerance's edge (0.955
    # for 0.95 +- 0.005), measured on 10,000 images: neither verdict beyond 2.3% + noise
    assert_null(shares(lambda r: V.matches(null_acc(r, 0.955), 0.95, tol=5e-3)))
    # at tol 0 a measured number never matches
    assert V.matches(V.accuracy(0.95, 10**9), 0.95, tol=0).verdict == V.INCONCLUSIVE


# -- all_hold / combine: every claim of several parts or data sets -----------------
def test_combine_positive_all_parts_hold_rows_not_run_left_out():
    parts = {
        "mnist": V.signed_effect(acc(99.31) - acc(97.37)),
        "cifar10": V.signed_effect(acc(92.20) - acc(79.57)),
        "restricted imagenet": V.Judgement(V.NOT_RUN, (), "no ImageNet here"),
    }
    assert V.combine(parts).verdict == V.REPRODUCED
    assert V.all_hold(parts).verdict == V.REPRODUCED


def _null_parts(r, k: int) -> V.Judgement:
    return V.all_hold({f"part {i}": V.signed_effect(V.Estimate(r.normal(), 1.0)) for i in range(k)})


def test_combine_negative_two_null_parts():
    # X3 (std drop and robust gain), L2 (Hoyer and top 10%): 1 - 0.977^2 = 4.5%
    assert_null(shares(lambda r: _null_parts(r, 2), draws=10_000))


def test_combine_negative_six_null_parts():
    assert_null(shares(lambda r: _null_parts(r, 6), draws=2000))


# -- numbers_and_direction: L1, L3 -------------------------------------------------
def test_numbers_and_direction_positive_and_qualitative():
    direction = V.signed_effect(acc(92.10, N_BINARY_TEST) - acc(70.05, N_BINARY_TEST))
    numbers = V.matches(acc(92.10, N_BINARY_TEST), 0.9210, tol=0.02)
    assert V.numbers_and_direction(numbers, direction).verdict == V.REPRODUCED
    off = V.matches(acc(98.59, N_BINARY_TEST), 0.9210, tol=0.02)
    assert V.numbers_and_direction(off, direction).verdict == V.QUALITATIVE


def test_numbers_and_direction_negative_null_direction():
    same = acc(92.10, N_BINARY_TEST)
    numbers = V.matches(same, 0.9210, tol=0.02)
    j = V.numbers_and_direction(numbers, V.signed_effect(same - same))
    assert j.verdict == V.INCONCLUSIVE


# -- at_most: B2, B3 (a model judge proxies how images look) -----------------------
def test_at_most_positive_caps_at_the_ceiling():
    j = V.at_most(V.signed_effect(acc(90) - acc(10)), V.QUALITATIVE, "a proxy")
    assert j.verdict == V.QUALITATIVE


def test_at_most_negative_null_stays_inconclusive():
    j = V.at_most(V.signed_effect(acc(50) - acc(50)), V.QUALITATIVE, "a proxy")
    assert j.verdict == V.INCONCLUSIVE


def test_at_most_negative_proxy_cannot_refute():
    # B2's committed mnist l_inf row: 8 of 16 (robust) vs 173 of 200 (standard)
    j = V.at_most(
        V.signed_effect(Rate(8, 16).estimate - Rate(173, 200).estimate), V.QUALITATIVE, "proxy"
    )
    assert j.verdict != V.NOT_REPRODUCED


# -- checked: S1, S2, S3, S4, P4 (setup facts) -------------------------------------
def test_checked_positive_papers_setup():
    facts = {
        "S1 mnist_challenge CNN parameters": (3_274_634, 3_274_634),
        "S2 super-classes": (9, 9),
        "P4 cifar10 l_inf eps": (4 / 255, 0.01568627450980392),
        "S3 random start": (True, True),
        "S4 display": ("clip3", "clip3"),
    }
    assert V.checked(facts).verdict == V.CHECKED


def test_checked_negative_a_differing_fact_and_none():
    assert V.checked({"P4 mnist l_inf eps": (0.3, 0.2)}).verdict == V.NOT_REPRODUCED
    assert V.checked({"S3 random start": (False, True)}).verdict == V.NOT_REPRODUCED
    assert V.checked({}).verdict == V.NOT_RUN


def test_checked_negative_unread_fact_is_not_a_difference():
    j = V.checked({"S2 training images": (None, 123_629), "S2 super-classes": (9, 9)})
    assert j.verdict == V.NOT_RUN and "S2 training images" in j.reason


def test_checked_a_difference_by_design_is_declared():
    # the cpu profile's smaller CNN: checked when declared, not reproduced when not
    fact = (857_738, 3_274_634)
    j = V.checked({"S1 MNIST CNN parameters": V.Fact(*fact, by_design="the cpu profile's CNN")})
    assert j.verdict == V.CHECKED and "differs by design: " in j.reason
    assert V.checked({"S1 MNIST CNN parameters": fact}).verdict == V.NOT_REPRODUCED


# -- P3: pooled_rule, count_rule, roughly_proportional, judge_p3 (Table 4) ---------
KEYS = list(V.PAPER_TABLE4)
LABELS = [f"{d} {n} {e:.4g}" for d, n, e in KEYS]


def table4_cells(*, half_is_robust: bool = False) -> dict:
    """Table 4's cells as accuracies on 10,000 test images; optionally the half-half
    model replaced by the robust one (the same model twice)."""
    cells = {}
    for key, (std, rob) in V.PAPER_TABLE4.items():
        for kind, row in (("std", std), ("rob", rob)):
            for model, value in zip(price.MODELS, row, strict=True):
                if half_is_robust and model == "half":
                    value = row[2]
                cells[(*key, kind, model)] = acc(value)
    return cells


def table4_effects(cells) -> tuple[list, list]:
    gains = [cells[(*k, "std", "half")] - cells[(*k, "std", "robust")] for k in KEYS]
    losses = [cells[(*k, "rob", "robust")] - cells[(*k, "rob", "half")] for k in KEYS]
    return gains, losses


PAPER_P3 = [V.paper_half_half()[k] for k in KEYS]


def test_pooled_rule_positive_table4():
    # the mean over Table 4's 12 rows: standard accuracy up 1.47 points, robust down 1.79,
    # each many SEs beyond 0 on 10,000 test images per cell
    gains, losses = table4_effects(table4_cells())
    for effects in (gains, losses):
        j = V.pooled_rule(effects, labels=LABELS, paper_k=11)
        assert j.verdict == V.REPRODUCED and "the paper: 11 of 12" in j.reason


def test_pooled_rule_negative_identical_arms_and_noise():
    gains, losses = table4_effects(table4_cells(half_is_robust=True))
    assert V.pooled_rule(gains).verdict == V.INCONCLUSIVE
    assert V.pooled_rule(losses).verdict == V.INCONCLUSIVE

    def null(r):
        return V.pooled_rule([null_acc(r, 0.9) - null_acc(r, 0.9) for _ in KEYS])

    assert_null(shares(null, draws=1000))


def test_count_rule_positive_table4():
    # the paper's count at the same noise as the rows it is compared with: 5 and 6 of 12
    gains, losses = table4_effects(table4_cells())
    for effects, i in ((gains, 0), (losses, 1)):
        k = V.paper_count([p[i] for p in PAPER_P3], [100 * e.se for e in effects])
        assert k == (5, 6)[i]
        assert V.count_rule(effects, paper_k=k, labels=LABELS).verdict == V.REPRODUCED


def test_count_rule_negative_identical_arms_and_noise():
    gains, losses = table4_effects(table4_cells(half_is_robust=True))
    assert V.count_rule(gains, paper_k=11).verdict == V.INCONCLUSIVE
    assert V.count_rule(losses, paper_k=11).verdict == V.INCONCLUSIVE

    def null(r):
        return V.count_rule([null_acc(r, 0.9) - null_acc(r, 0.9) for _ in KEYS], paper_k=11)

    assert_null(shares(null, draws=500))


def test_roughly_proportional_positive_table4():
    gains, losses = table4_effects(table4_cells())
    j = V.roughly_proportional(
        gains, losses, [p[0] for p in PAPER_P3], [p[1] for p in PAPER_P3], labels=LABELS
    )
    assert j.verdict == V.REPRODUCED


def test_roughly_proportional_negative_identical_arms_and_noise():
    gains, losses = table4_effects(table4_cells(half_is_robust=True))
    paper = [p[0] for p in PAPER_P3], [p[1] for p in PAPER_P3]
    assert V.roughly_proportional(gains, losses, *paper).verdict == V.INCONCLUSIVE

    def null(r):
        g = [null_acc(r, 0.9) - null_acc(r, 0.9) for _ in KEYS]
        lo = [null_acc(r, 0.6) - null_acc(r, 0.6) for _ in KEYS]
        return V.roughly_proportional(g, lo, *paper)

    assert_null(shares(null, draws=300))


def test_judge_p3_positive_table4():
    j, _, _ = price.judge_p3(KEYS, table4_cells(), LABELS)
    assert j.verdict == V.REPRODUCED
    # and with a seed spread of 0.5 point per model (both data sets, both kinds)
    spread = {(d, k): 0.005 for d in ("mnist", "cifar10") for k in ("std", "rob")}
    assert price.judge_p3(KEYS, table4_cells(), LABELS, spread=spread)[0].verdict == V.REPRODUCED


def test_judge_p3_negative_same_model_twice():
    j, _, _ = price.judge_p3(KEYS, table4_cells(half_is_robust=True), LABELS)
    assert j.verdict == V.INCONCLUSIVE

    def null(r):  # every half-half and robust model at the same true accuracies
        cells = {}
        for key in KEYS:
            for kind, level in (("std", 0.9), ("rob", 0.5)):
                for model in price.MODELS:
                    cells[(*key, kind, model)] = null_acc(r, level)
        return price.judge_p3(KEYS, cells, LABELS)[0]

    assert_null(shares(null, draws=500))


# -- P1, P2: judge_p1, judge_p2 ----------------------------------------------------
GRID = SimpleNamespace(
    datasets=("mnist", "cifar10"),
    n_values={"mnist": (100, None), "cifar10": (1000, None)},
    fig_eps={k[:2]: (k[2],) for k in KEYS if k[2] in (0.3, 2.5, 8 / 255, 320 / 255)},
    table4_eps={
        (d, n): tuple(e for dd, nn, e in KEYS if (dd, nn) == (d, n))
        for d in ("mnist", "cifar10")
        for n in ("inf", 2)
    },
)
# P1's small-sample side is a figure (Fig 1a) without numbers: the book's committed
# measurement stands in (MNIST l_inf, 100 images: robust 0.071 above standard).
FEW_STANDARD, FEW_ROBUST = 0.700, 0.771


def std_est_table4(*, same: bool = False):
    """Standard accuracy as Table 4 reports it (robust models: their 'std: Robust' cell),
    on 10,000 images; ``same``: every robust model is the standard model."""

    def std_est(dataset, norm=None, eps=None, n=None):
        if n == GRID.n_values[dataset][0]:
            few = FEW_STANDARD if same or norm is None else FEW_ROBUST
            return V.accuracy(few, N_TEST)
        std = V.PAPER_TABLE4[next(k for k in KEYS if k[0] == dataset)][0][0]
        if norm is None or same:
            return acc(std)
        return acc(V.PAPER_TABLE4[(dataset, norm, eps)][0][2])

    return std_est


def test_judge_p1_positive_table4():
    rows = price.judge_p1(GRID, std_est_table4())
    assert {d: j.verdict for d, j in rows.items()} == dict.fromkeys(GRID.datasets, V.REPRODUCED)


def test_judge_p1_negative_robust_is_standard():
    rows = price.judge_p1(GRID, std_est_table4(same=True))
    assert {j.verdict for j in rows.values()} == {V.INCONCLUSIVE}


def noisy_std_est(rng, level: float = 0.9):
    """Every model of the grid at the same true accuracy, each measured once on 10,000
    images (the standard model shared by the parts that use it)."""
    measured = {}

    def std_est(dataset, norm=None, eps=None, n=None):
        key = (dataset, norm, eps, n)
        if key not in measured:
            measured[key] = null_acc(rng, level)
        return measured[key]

    return std_est


def test_judge_p1_p2_negative_noise():
    # three parts on MNIST (two norms at the largest n, the better norm at the fewest)
    assert_null(shares(lambda r: price.judge_p1(GRID, noisy_std_est(r))["mnist"]))
    assert_null(shares(lambda r: price.judge_p2(GRID, noisy_std_est(r))["mnist"], draws=1000))


def test_judge_p2_positive_table4():
    rows = price.judge_p2(GRID, std_est_table4())
    assert {d: j.verdict for d, j in rows.items()} == dict.fromkeys(GRID.datasets, V.REPRODUCED)


def test_judge_p2_negative_flat_sweep():
    rows = price.judge_p2(GRID, std_est_table4(same=True))
    assert {j.verdict for j in rows.values()} == {V.INCONCLUSIVE}


# -- P4: judge_p4 (setup fact from each run's description) --------------------------
def _p4(eps_config: float, described: str):
    c = RunConfig("mnist", "cpu", mix="adversarial", norm="inf", eps_train=eps_config)
    return price.judge_p4([c], {c: {"train_attack": described}})[0].verdict


def test_judge_p4_positive_paper_attack():
    assert _p4(0.3, "PGD l_inf eps=0.3: 40 steps of 0.01, random start") == V.CHECKED


def test_judge_p4_negative_no_random_start():
    assert _p4(0.3, "PGD l_inf eps=0.3: 40 steps of 0.01") == V.NOT_REPRODUCED


def test_judge_p4_negative_other_eps():
    # the run's stored eps read as a number: 0.35 is not 0.3 (nor 0.03 nor 3)
    for other in ("0.35", "0.03", "3"):
        described = f"PGD l_inf eps={other}: 40 steps of 0.01, random start"
        assert _p4(0.3, described) == V.NOT_REPRODUCED
    # 4 significant digits, as PGD.describe writes eps: 8/255 is 0.03137
    c = RunConfig("cifar10", "cpu", mix="adversarial", norm="inf", eps_train=8 / 255)
    runs = {c: {"train_attack": "PGD l_inf eps=0.03137: 1 steps of 0.03922, random start"}}
    assert price.judge_p4([c], runs)[0].verdict == V.CHECKED


def test_judge_p4_an_unread_run_is_no_key_error():
    c = RunConfig("mnist", "cpu", mix="adversarial", norm="inf", eps_train=0.3)
    for runs in ({}, {c: {}}, {c: {"train_attack": None}}):
        judged, facts = price.judge_p4([c], runs)
        assert judged.verdict != V.CHECKED
        assert facts["mnist adversarial linf 0.3: eps"] == (None, 0.3)


# -- B1: b1_judgement (per-image scores, paired SEs, floors, Bonferroni) -----------
MODELS = ("standard", "l2", "linf", "random")


def b1_scores(means: dict, rng, n: int = 1000, sd: float = 0.1) -> dict:
    """Per-image edge alignment and sparsity around ``means[model] = (alignment,
    sparsity)``, independent noise of ``sd`` per image."""
    return {
        m: {
            "edge alignment": torch.tensor(a + sd * rng.standard_normal(n)),
            "sparsity": torch.tensor(s + sd * rng.standard_normal(n)),
        }
        for m, (a, s) in means.items()
    }


def test_b1_positive_robust_gradients_align():
    # Fig 2 is a figure: standard and untrained gradients as noise (alignment 0, the
    # book's cpu CIFAR-10 standard model: -0.04), robust ones as the book's MNIST
    # models (alignment 0.54 / 0.40, sparsity 0.35 / 0.76 for l2 / l_inf), 1,000 images
    means = {
        "standard": (0.0, 0.25),
        "l2": (0.54, 0.35),
        "linf": (0.40, 0.76),
        "random": (0.0, 0.25),
    }
    j = VB.b1_judgement(b1_scores(means, np.random.default_rng(0)), tests=10)
    assert j.verdict == V.REPRODUCED


def test_b1_negative_same_model_four_times():
    one = b1_scores({"standard": (0.3, 0.3)}, np.random.default_rng(0))["standard"]
    assert VB.b1_judgement(dict.fromkeys(MODELS, one)).verdict == V.INCONCLUSIVE


def test_b1_negative_a_tiny_significant_difference():
    # the committed cpu CIFAR-10 row: l_inf sparser than l2 by 0.0063 (paired SE 0.00073)
    rng = np.random.default_rng(0)
    means = {"standard": (0.0, 0.2), "l2": (0.5, 0.18), "linf": (0.5, 0.1863), "random": (0.0, 0.2)}
    j = VB.b1_judgement(b1_scores(means, rng, sd=0.01), tests=10)
    assert j.verdict == V.INCONCLUSIVE and "linf sparser" in j.reason


def test_b1_negative_random_init_models():
    def null(r):
        rows = {
            d: VB.b1_judgement(b1_scores(dict.fromkeys(MODELS, (0.0, 0.3)), r, n=50), tests=10)
            for d in ("mnist", "cifar10")
        }
        return V.combine(rows)

    assert_null(shares(null, draws=400))


# -- B2, B3: lib.benefits_proxy.proxy_judgement (judges, validated, capped) ----------
def arms(k_robust: int, k_standard: int, n: int = 200):
    """Per-image outcomes of both arms on the same n images."""
    return torch.arange(n) < k_robust, torch.arange(n) < k_standard


VALIDATED = proxy.Controls(Rate(190, 200), Rate(180, 200))


def test_b2_b3_positive_robust_examples_look_like_the_class():
    # Fig 3 / 4 are figures: a validated judge that sees the new class in 90% of the
    # robust model's examples and 10% of the standard model's, on the same 200 images
    j = proxy.proxy_judgement(*arms(180, 20), VALIDATED, name="B2", z=2.67, why="proxy")
    assert j.verdict == V.QUALITATIVE


def test_b2_b3_negative_same_model_twice():
    a, _ = arms(120, 0)
    assert proxy.proxy_judgement(a, a, VALIDATED, name="B2", z=2.67, why="p").verdict == (
        V.INCONCLUSIVE
    )


def test_b2_b3_negative_proxy_measures_transfer():
    # the committed mnist l_inf rows: the judge adopted the standard model's new class
    # 173 of 200 times (it fails the control "standard examples keep its class"); on 16
    # and 200 images then, on the same 100 images here
    transfer = proxy.Controls(Rate(95, 100), Rate(13, 100))
    j = proxy.proxy_judgement(*arms(50, 86, n=100), transfer, name="B2", z=2.67, why="p")
    assert j.verdict == V.INCONCLUSIVE
    j = proxy.proxy_judgement(*arms(8, 14, n=16), VALIDATED, name="B2", z=2.67, why="p")
    assert j.verdict == V.INCONCLUSIVE  # 16 images: below the rule's power


# -- B4: no_masking (lib.verdicts), b4_judgement (lib.benefits) ---------------------
def test_no_masking_positive_robust_model():
    # the book's mnist l_inf audit: strong PGD 89.0%, all attacks 87.2%, 500 images
    j = V.no_masking(flagged=False, strong_pgd=0.890, worst=0.872, n_images=500)
    assert j.verdict == V.REPRODUCED


def test_no_masking_negative_chance_model_with_a_chance_floor():
    j = V.no_masking(
        flagged=False,
        strong_pgd=V.accuracy(0.10, 500),
        worst=V.accuracy(0.10, 500),
        n_images=500,
        floor=0.10,
    )
    assert j.verdict == V.INCONCLUSIVE


def test_no_masking_refutes_a_masked_model():
    j = V.no_masking(flagged=True, strong_pgd=0.60, worst=0.02, n_images=500)
    assert j.verdict == V.NOT_REPRODUCED


def audit_survival(k: dict, n: int = 500) -> dict:
    """Per-image survival of each B4 attack: the first ``k[attack]`` of ``n`` images."""
    attacks = (*VB.GRADIENT_ATTACKS, VB.GRADIENT_FREE, VB.TRANSFER)
    return {a: torch.arange(n) < k.get(a, k["gradient"]) for a in attacks}


def test_b4_judgement_positive_robust_model():
    # the book's mnist l_inf audit: all attacks 87.2% of 500 images (436), Square and
    # the transfer attack no stronger; at the large eps the accuracy falls to 0
    survived = audit_survival({"gradient": 436, "Square": 445, VB.TRANSFER: 480})
    falls = torch.zeros(200, dtype=torch.bool)
    j = VB.b4_judgement(
        survived, zero_fraction=0.0, large=falls, at_train=survived["training PGD"][:200], tests=12
    )
    assert j.verdict == V.REPRODUCED


def test_b4_judgement_negative_random_init_model():
    # a random-init model at chance (10%), which no attack can lower
    survived = audit_survival({"gradient": 50})
    falls = torch.zeros(200, dtype=torch.bool)
    j = VB.b4_judgement(
        survived, zero_fraction=0.0, large=falls, at_train=survived["training PGD"][:200], tests=12
    )
    assert j.verdict == V.INCONCLUSIVE


def test_b4_judgement_refutes_a_masked_model():
    # gradient attacks leave 60%, Square 2%; the accuracy does not fall with eps
    survived = audit_survival({"gradient": 300, "Square": 10})
    kept = torch.ones(200, dtype=torch.bool)
    j = VB.b4_judgement(
        survived, zero_fraction=0.0, large=kept, at_train=survived["training PGD"][:200], tests=12
    )
    assert j.verdict == V.NOT_REPRODUCED


# -- T1-T6: lib.chapters.theory_claims.claim_rows ------------------------------------------
D = T.Distribution.scaled(0.95, 1000, 3.0)  # the running example
# Trained SVMs at their optimum (the cpu chapter's: hinge loss within 1e-4 of it)
STD_SVM = {"standard": 0.99998, "shift adversary": 0.0001, "hinge loss above the optimum": 1e-5}
ADV_SVM = {
    "standard": 0.95,
    "worst case in the ball": 0.95,
    "||w_2..||_1": 0.0,
    "hinge loss above the optimum": 1e-4,
}
# T6 at a training size where the weak signs differ (n = 100: the book's SVMs disagree on
# about 19% of them, each SVM is 99.95% accurate, the attacks transfer about 95%)
T6_SMALL_N = C.transfer_row(np.full((5, 5), 0.95) + 0.04 * np.eye(5), [0.9995] * 5, 0.19, 100)


def transfer(success, std_acc=0.9995, differ=0.19, n=100) -> list[dict]:
    """One T6 size: a transfer matrix, its SVMs' standard accuracy and sign disagreement."""
    return [C.transfer_row(success, [std_acc] * len(success), differ, n)]


def theory_inputs(**changes) -> dict:
    """claim_rows' inputs at the paper's own values (closed forms, 100,000 samples)."""
    std = T.f_avg_std_acc(D)
    inputs = dict(
        n_moments=100_000,
        agree=0.9502,
        weak_mean=D.eta,
        mc={("f_avg", "standard"): (std, std), ("f_avg", "shift adversary"): (1 - std, 1 - std)},
        n_test=100_000,
        excess=[0.0, -0.1],
        bound={"T4_slack_at_p": 0.0, "T4_slack_at_99": 2.2e-6},
        grid_slack=np.array([2.2e-6, 1e-3]),
        t5=(STD_SVM, ADV_SVM),
        transfer=[T6_SMALL_N],
    )
    return inputs | changes


def theory_verdicts(**changes) -> dict[str, str]:
    return {r["claim"]: r["verdict"] for r in TC.claim_rows(D, **theory_inputs(**changes))}


def test_theory_positive_papers_values():
    assert theory_verdicts() == dict.fromkeys(("T1", "T2", "T3", "T4", "T5", "T6"), V.REPRODUCED)


def test_theory_negative_closed_forms_at_their_levels():
    at = {("f_avg", "standard"): (0.99, 0.99), ("f_avg", "shift adversary"): (0.01, 0.01)}
    v = theory_verdicts(mc=at)
    assert v["T2"] == v["T3"] == V.INCONCLUSIVE


def test_theory_refutes_a_crossed_bound():
    # T4 is exact (no null): its negative control is a classifier above the bound
    assert theory_verdicts(excess=[0.01])["T4"] == V.NOT_REPRODUCED


def test_theory_negative_t5_untrained_svms():
    # weights at chance, or trained a little: not at the optimum, so they cannot refute
    chance = {"standard": 0.5, "shift adversary": 0.5, "worst case in the ball": 0.5}
    untrained = chance | {"hinge loss above the optimum": 0.9999}
    assert theory_verdicts(t5=(untrained, untrained | {"||w_2..||_1": 1.0}))["T5"] == (
        V.INCONCLUSIVE
    )
    partly = STD_SVM | {"standard": 0.97, "hinge loss above the optimum": 0.05}
    assert theory_verdicts(t5=(partly, ADV_SVM))["T5"] == V.INCONCLUSIVE


def test_theory_t5_refutes_at_the_optimum():
    # SVMs at their optimum with the accuracies the theorem excludes: a refutation
    assert theory_verdicts(t5=(STD_SVM | {"standard": 0.97}, ADV_SVM))["T5"] == V.NOT_REPRODUCED
    weak = ADV_SVM | {"||w_2..||_1": 0.5, "standard": 0.99}
    assert theory_verdicts(t5=(STD_SVM, weak))["T5"] == V.NOT_REPRODUCED


def test_theory_negative_t1_from_ten_samples():
    # 2 SE = 0.19 cannot resolve p = 0.95 to its stated +- 0.005
    assert theory_verdicts(n_moments=10, agree=0.9)["T1"] == V.INCONCLUSIVE


def test_theory_t1_refutes_a_wrong_p():
    # 100,000 samples with P[x1 = y] = 0.90: beyond 0.005 + 2 SE (0.0019)
    assert theory_verdicts(agree=0.90)["T1"] == V.NOT_REPRODUCED


def test_theory_negative_t6_random_classifiers():
    # random weight vectors: about 50% accuracy, their attacks "transfer" half the time
    assert theory_verdicts(transfer=transfer(np.full((5, 5), 0.5), std_acc=0.5))["T6"] == (
        V.INCONCLUSIVE
    )


def test_theory_negative_t6_one_attack_vector():
    # n = 10,000: every SVM's weak signs agree, so transfer is the own attack (cannot fail)
    same = transfer(np.full((5, 5), 0.9999), std_acc=1.0, differ=0.0, n=10_000)
    assert theory_verdicts(transfer=same)["T6"] == V.INCONCLUSIVE


def test_theory_t6_refutes_attacks_that_do_not_transfer():
    # accurate SVMs whose attacks differ and fool the others only 20% (+- spread) of the time
    rng = np.random.default_rng(0)
    success = np.clip(0.2 + 0.03 * rng.standard_normal((5, 5)), 0, 1) + 0.8 * np.eye(5)
    assert theory_verdicts(transfer=transfer(success))["T6"] == V.NOT_REPRODUCED


def test_theory_negative_t6_noise_around_half():
    # accurate SVMs whose transfer is truly 1/2 (a null for "most inputs"), 5 attackers
    def judge(rng):
        off = np.clip(0.5 + 0.05 * rng.standard_normal((5, 5)), 0, 1)
        return TC.t6_judgement(transfer(off * (1 - np.eye(5)) + np.eye(5)))

    assert_null(shares(judge))


# -- L1-L4: lib.chapters.linear_mnist (_table5_rule, claim_rows) ---------------------
# The linear fits are deterministic (weights start at 0, full-batch steps): their SEs are
# the spread over bootstrap refits on resampled training images (lib.bootstrap; B = 8,
# widened by t_7 / 2), a test accuracy's with its binomial SE added. The spreads below
# are the book's, measured on all 11,686 training images after 100 epochs of GD (8
# resamples, seed 0: lab/results/linear-bootstrap-cpu.json, lab/trials/linear_bootstrap_trial.py).
BOOT_SE = {  # model -> measure -> bootstrap SE (accuracies in points)
    "standard": {
        "std train": 0.12, "std test": 0.11, "adv train": 0.55, "adv test": 0.27,
        "||w||_1": 0.12, "Hoyer": 0.0017, "top 10% share": 0.0017, "share below eps": 0.010,
    },
    "adversarial": {
        "std train": 0.59, "std test": 0.46, "adv train": 2.2, "adv test": 1.9,
        "||w||_1": 0.15, "Hoyer": 0.0053, "top 10% share": 0.013, "share below eps": 0.016,
    },
}  # fmt: skip
# The book's measured sparsity (Fig 5a/b are figures without numbers)
STD_SPARSE = {"Hoyer": 0.42, "top 10% share": 0.42, "share below eps": 0.79}
ADV_SPARSE = {"Hoyer": 0.76, "top 10% share": 0.62, "share below eps": 0.01}


def linear_est(scores: dict, boot_se: dict = BOOT_SE) -> dict:
    """LS.estimates' shape from Table 5-like scores (accuracies in %, ||w||_1 and the
    sparsity measures as they are): each value with its bootstrap SE, test accuracies
    with their binomial SE on the 1,920 test images added, training accuracies floored at
    theirs on the 11,686 training images. Both recipes alike."""

    def one(model: str, column: str, value: float) -> V.Estimate:
        if column not in L.ACCURACIES:
            return V.Estimate(value, boot_se[model][column])
        v, se = value / 100, boot_se[model][column] / 100
        if column.endswith("test"):
            se = math.hypot(se, V.binomial_se(v, N_BINARY_TEST))
        else:  # a training accuracy: floored at its binomial SE (LS.estimates)
            se = max(se, V.binomial_se(v, N_BINARY_TRAIN))
        return V.Estimate(v, se)

    return {
        (t, m): {c: one(m, c, v) for c, v in scores[m].items()}
        for t in L.TRAININGS
        for m in L.MODELS
    }


def topk_evidence(arms: dict, spread: float = 0.005, n: int = N_BINARY_TEST) -> LK.TopK:
    """L4's evidence: arm -> (adv, std) test accuracy; each image's correctness placed
    at random (seeded, no pairing benefit), every accuracy with ``spread`` of training
    spread. An arm given as another arm's name is that arm's model, image for image."""
    rng = np.random.default_rng(0)

    def correct(p):
        c = np.zeros(n, dtype=bool)
        c[rng.permutation(n)[: round(p * n)]] = True
        return c

    made = {a: v for a, v in arms.items() if not isinstance(v, str)}
    correct_of = {
        a: {"adv test": correct(v[0]), "std test": correct(v[1])} for a, v in made.items()
    }
    correct_of |= {a: correct_of[v] for a, v in arms.items() if isinstance(v, str)}
    return LK.TopK(
        best_k=2,
        n_val=1_948,
        correct=correct_of,
        spread={a: {"adv test": spread, "std test": spread} for a in arms},
    )


# Fig 5(c) is a figure: its right end from Table 5 (standard training on all 784 pixels:
# 14.95% adv, 92.10% std), adversarial training from Table 5 (74.65% adv, 70.05% std),
# the best k (80% adv, 81.7% std) in the shape the book measures
TOPK = {
    "best k": (0.80, 0.817),
    "all pixels": (0.1495, 0.921),
    "adversarial training": (0.7465, 0.7005),
}


def linear_verdicts(scores=None, sparse=None, topk=None) -> dict[str, str]:
    scores = scores or L.PAPER_TABLE5
    sparse = sparse or {"standard": STD_SPARSE, "adversarial": ADV_SPARSE}
    est = linear_est({m: dict(scores[m], **sparse[m]) for m in L.MODELS})
    rows = L.claim_rows(
        est=est,
        topk=topk or topk_evidence(TOPK),
        resamples=8,
        n_train=N_BINARY_TRAIN,
        n_test=N_BINARY_TEST,
    )
    return {r["claim"]: r["verdict"] for r in rows}


def test_linear_positive_table5():
    assert set(linear_verdicts().values()) == {V.REPRODUCED}


def test_linear_negative_same_model_twice():
    same = {m: L.PAPER_TABLE5["standard"] for m in L.MODELS}
    # standard training on k pixels is the standard model, and so is "adversarial training"
    flat = topk_evidence({"all pixels": (0.1495, 0.921), "best k": "all pixels",
                          "adversarial training": "all pixels"})  # fmt: skip
    v = linear_verdicts(scores=same, sparse={m: STD_SPARSE for m in L.MODELS}, topk=flat)
    assert set(v.values()) == {V.INCONCLUSIVE}, v


def test_linear_negative_l1_two_standard_fits():
    """Two standard models whose ||w||_1 differ by 0.22 (41.08 and 41.30) and whose test
    accuracies differ by 0.05 points: within the training spread (||w||_1's bootstrap
    SE 0.12 each), so L1 is inconclusive, not 'not reproduced'."""
    other = dict(L.PAPER_TABLE5["standard"], **{"std test": 92.05, "||w||_1": 41.30})
    v = linear_verdicts(scores={"standard": L.PAPER_TABLE5["standard"], "adversarial": other},
                        sparse={m: STD_SPARSE for m in L.MODELS})  # fmt: skip
    assert {v[c] for c in v if c.startswith("L1")} == {V.INCONCLUSIVE}, v


def test_linear_negative_l1_noise_two_fits_with_bootstrap_ses():
    """Two standard fits on two training samples: identical accuracies, ||w||_1 each
    drawn around one true value with the book's spread (0.12), and each SE estimated
    from 8 replicates (lib.bootstrap.bootstrap_se, widened by t_7): L1 refutes (the
    ||w||_1 drop below 0) or confirms at most NULL_RATE of the time."""
    paper = L.PAPER_TABLE5["standard"]
    sd = BOOT_SE["standard"]["||w||_1"] / bootstrap.widening(8)  # the raw spread

    def judge(rng):
        boot_se = {m: dict(BOOT_SE["standard"]) for m in L.MODELS}
        w = {}
        for m in L.MODELS:
            w[m] = paper["||w||_1"] + sd * rng.standard_normal()
            boot_se[m]["||w||_1"] = bootstrap.bootstrap_se(sd * rng.standard_normal(8))
        scores = {m: dict(paper, **{"||w||_1": w[m]}, **STD_SPARSE) for m in L.MODELS}
        return L._table5_rule(L.by_model(linear_est(scores, boot_se), "100 epochs"))

    assert_null(shares(judge))


def test_bootstrap_se_negative_same_fit_and_noise_null():
    """The bootstrap SE's own controls: a difference of one fit with itself is exactly 0
    and inconclusive; a difference of two independent fits, each SE from 8 replicates
    of its own spread, crosses 2 SE in either direction at most NULL_RATE of the time
    (measured: 1.6% and 1.5% of 4,000 draws; 3.3% and 3.0% without the t_7 widening)."""
    same = V.Estimate(
        41.08, bootstrap.bootstrap_se([41.0, 41.2, 40.9, 41.1, 41.3, 41.0, 41.1, 40.95])
    )
    assert V.signed_effect(same - same).verdict == V.INCONCLUSIVE

    def judge(rng):
        a, b = rng.standard_normal(2)
        se_a, se_b = (bootstrap.bootstrap_se(rng.standard_normal(8)) for _ in range(2))
        return V.signed_effect(V.Estimate(a, se_a) - V.Estimate(b, se_b))

    s = shares(judge, draws=4000)
    assert_null(s)
    assert s[V.NOT_REPRODUCED] < 0.035 and s[V.REPRODUCED] < 0.035, s


def test_linear_l4_refutes_k_pixels_below_adversarial_training():
    # k pixels at 70% adversarial accuracy do not beat adversarial training's 74.65%
    topk = topk_evidence(dict(TOPK, **{"best k": (0.70, 0.817)}))
    assert linear_verdicts(topk=topk)["L4"] == V.NOT_REPRODUCED


# -- X1, X3, X4: the lib rules that lib.chapters.trade_off assembles ---------------
# The lib rules fed the published numbers (CLAIMS_BEYOND.md); the assembled rules
# (x1_part, x1_judgement, x3_judgement, x4_parts) have their own controls below.
def test_x1_rules_positive_published_separations():
    # Yang et al. 2020 (slides), train-train / test-train, against 2 eps
    for sep, two_eps in ((0.737, 0.6), (0.812, 0.6), (0.212, 2 * 8 / 255), (0.220, 2 * 8 / 255)):
        assert V.exceeds(sep, two_eps).verdict == V.REPRODUCED
        assert V.matches(sep, sep, tol=0.02).verdict == V.REPRODUCED


def test_x1_rules_negative_at_twice_eps():
    assert V.exceeds(0.6, 0.6).verdict == V.INCONCLUSIVE


def test_x4_rules_positive_rst_shrinks_the_price():
    # RST Table 1, CIFAR-10 l_inf 8/255 on 10,000 test images: the standard-accuracy price
    # of PGD-AT (95.2 - 87.3) against RST + PGD-AT's (95.2 - 91.8)
    standard = acc(95.2)
    shrink = (standard - acc(87.3)) - (standard - acc(91.8))
    assert V.signed_effect(shrink).verdict == V.REPRODUCED


def test_x3_x4_rules_negative_identical_arms():
    same = acc(87.3) - acc(87.3)
    j = V.all_hold({"standard": V.signed_effect(same), "robust": V.signed_effect(same)})
    assert j.verdict == V.INCONCLUSIVE


# == The rules moved out of the chapters into lib/chapters (issue 39) ===============
# -- X1: trade_off.x1_part, trade_off.x1_judgement ----------------------------------
def searches(mins: dict, *, sampled: bool = False) -> dict:
    """X1's search results per data set (the shape :func:`trade_off.searched` stores): the
    test-train and train-train minima ``mins[name] = (test_train, train_train)``.
    ``sampled``: the nearest-class searches of 4 test and 4 training queries only (their
    minima ``mins``, the cpu profile's kind of search), else also the exact threshold
    search over every pair (:func:`lib.exact_separation.exact_min_distance`) with those minima.
    The test and training sets are whole (10,000 and 60,000 images)."""
    out = {}
    for name, (test_train, train_train) in mins.items():
        d_other = [test_train, *np.linspace(test_train, 1.0, 4)[1:]]
        tt = [train_train, *np.linspace(train_train, 1.0, 4)[1:]]
        metrics = {
            "d_same": [0.1] * len(d_other),
            "d_other": d_other,
            "tt_dists": tt,
            "tt_of": 60_000,
            "n_ref": 60_000,
            "n_test": 10_000,
            "seconds": 0.0,
        }
        if not sampled:
            metrics["exact"] = {
                kind: {
                    "min_dist": v,
                    "pair": [0, 1],
                    "bound": v,
                    "pairs": 10**9,
                    "candidates": 10**6,
                    "seconds": 0.0,
                }
                for kind, v in (("test-train", test_train), ("train-train", train_train))
            }
        out[name] = X.from_metrics(metrics)
    return out


PUBLISHED_MINS = {name: (test, train) for name, (train, test) in X.PUBLISHED.items()}
CPU_MINS = {"mnist": (0.898, 0.910), "cifar10": (0.314, 0.349)}  # results/claims/cpu


def test_x1_positive_published_separations_found_by_an_exact_search():
    # Yang et al.'s Table 1 (slides): MNIST 0.737 / 0.812, CIFAR-10 0.212 / 0.220
    assert X.x1_judgement(searches(PUBLISHED_MINS)).verdict == V.REPRODUCED
    assert X.x1_part(0.737, 0.737, X.EXACT, "MNIST train-train").verdict == V.REPRODUCED


def test_x1_negative_a_sampled_search_above_the_published_minima():
    # the committed cpu searches (300 / 500 and 100 / 200 queries) found minima above the
    # published ones: a sample only bounds the full minimum from above
    assert X.x1_judgement(searches(CPU_MINS, sampled=True)).verdict == V.INCONCLUSIVE
    assert X.x1_part(0.910, 0.737, X.BOUND, "MNIST train-train").verdict == V.INCONCLUSIVE
    # a sample's minimum at the published one is no match either: the full one may be lower
    assert X.x1_part(0.737, 0.737, X.BOUND, "MNIST train-train").verdict == V.INCONCLUSIVE


def test_x1_refutes_an_exact_search_off_the_published_minimum():
    # not a null: an exact search that finds another minimum is a refutation
    assert X.x1_part(0.5, 0.737, X.EXACT, "MNIST train-train").verdict == V.NOT_REPRODUCED


def test_x1_negative_a_sampled_minimum_above_two_eps():
    # the committed cpu searches: MNIST's minima 0.898 / 0.910 over 500 / 300 queries
    reason = X.x1_judgement(searches(CPU_MINS, sampled=True)).reason
    assert f"MNIST > 2 eps: {V.REPRODUCED}" not in reason, reason
    assert f"MNIST > 2 eps: {V.INCONCLUSIVE}" in reason, reason


# -- X2: trade_off.x2_judgement (a check of the theorem's premises) ---------------
def x2_verdict(results: dict, d_population: float = 0.0) -> str:
    # D of the theory chapter against eps = 2 eta = 2 x 3 / sqrt(1000) (Section 2.1)
    dsep = SimpleNamespace(eps=2 * 3 / math.sqrt(1000), population=d_population, sample=0.0)
    rows = X.reproduction_rows(results, dsep, {}, X.x4_row("cpu", {}, {}, (math.nan, 18)), [])
    return next(r for r in rows if r["claim"] == "X2")["verdict"]


def test_x2_positive_separated_data_and_overlapping_d():
    # MNIST's training points at least 0.737 apart across classes (> 2 x 0.3) over every
    # pair, D's classes overlapping (a population separation of 0)
    assert x2_verdict(searches(PUBLISHED_MINS)) == V.REPRODUCED


def test_x2_refutes_a_pair_within_two_eps():
    # not a null: two training points of different classes 0.5 apart (< 0.6)
    assert x2_verdict(searches({"mnist": (0.812, 0.5), "cifar10": (0.22, 0.212)})) == (
        V.NOT_REPRODUCED
    )
    # a sampled search that finds such a pair refutes as well (the pair is real)
    low = searches({"mnist": (0.812, 0.5), "cifar10": (0.22, 0.212)}, sampled=True)
    assert x2_verdict(low) == V.NOT_REPRODUCED


def test_x2_negative_nothing_searched():
    # no training point searched: the premise is not checked
    empty = searches(PUBLISHED_MINS, sampled=True)
    empty["mnist"]["tt"] = replace(empty["mnist"]["tt"], dists=torch.zeros(0), queries=0)
    assert x2_verdict(empty) == V.NOT_RUN


def test_x2_negative_a_sampled_search():
    # the committed cpu searches: 300 of 60,000 training points all beyond 2 eps prove
    # nothing about the others
    assert x2_verdict(searches(CPU_MINS, sampled=True)) == V.INCONCLUSIVE


# -- X3: trade_off.x3_judgement ------------------------------------------------------
def trades(std: dict, strong: dict, n_std: int = N_TEST, n_strong: int = 1000) -> dict:
    return {
        b: {"std_acc": std[b], "strong_acc": strong[b], "n_test": n_std, "n_strong": n_strong}
        for b in std
    }


def test_x3_positive_larger_beta_more_robust_less_accurate():
    # The TRADES paper states the direction only: the book's committed cpu MNIST runs stand
    # in (beta 1: 98.2% / 83.9%, beta 6: 97.2% / 88.1%; 10,000 / 1,000 test images)
    runs = trades({1.0: 0.982, 6.0: 0.972}, {1.0: 0.839, 6.0: 0.881})
    assert X3.x3_judgement(runs, [1.0, 6.0])[0].verdict == V.REPRODUCED


def test_x3_negative_same_model_and_noise():
    same = trades({1.0: 0.982, 6.0: 0.982}, {1.0: 0.881, 6.0: 0.881})
    assert X3.x3_judgement(same, [1.0, 6.0])[0].verdict == V.INCONCLUSIVE

    def null(r):
        std = {b: null_acc(r, 0.98).value for b in (1.0, 6.0)}
        strong = {b: null_acc(r, 0.85, 1000).value for b in (1.0, 6.0)}
        return X3.x3_judgement(trades(std, strong), [1.0, 6.0])[0]

    assert_null(shares(null))


# -- X4: trade_off.x4_parts (the shrink from the peak over the smaller sizes) --------
def prices(series: dict) -> pd.DataFrame:
    """``series[(data set, norm, eps)] = [(n, price, se), ...]`` as x4_prices' frame."""
    return pd.DataFrame(
        [
            {"data set": d, "norm": nm, "eps": e, "n": n, "price": p, "se": se}
            for (d, nm, e), rows in series.items()
            for n, p, se in rows
        ]
    )


def price_se(standard: float, robust: float, n: int = N_TEST) -> float:
    return V.diff_se(standard, n, robust, n)


def test_x4_positive_rst_shrinks_the_price():
    # RST Table 1, CIFAR-10 l_inf 8/255 on 10,000 test images: PGD-AT's standard-accuracy
    # price 95.2 - 87.3 with 50,000 labelled images against 95.2 - 91.8 with 500,000
    # unlabelled images added
    series = {
        ("cifar10", "l_inf", 8 / 255): [
            (50_000, 0.952 - 0.873, price_se(0.952, 0.873)),
            (550_000, 0.952 - 0.918, price_se(0.952, 0.918)),
        ]
    }
    parts = X.x4_parts(prices(series))
    assert [j.verdict for j in parts.values()] == [V.REPRODUCED]


PAPER_NS = (100, 300, 1000, 3000, 10_000, 60_000)  # the paper grid's MNIST sizes (Fig 1, 6)
FLAT_SE = price_se(0.99, 0.98)  # a price of one point at every size, on 10,000 images


def test_x4_negative_a_flat_price():
    flat = {("mnist", "l_inf", 0.3): [(n, 0.01, FLAT_SE) for n in PAPER_NS]}
    assert [j.verdict for j in X.x4_parts(prices(flat)).values()] == [V.INCONCLUSIVE]


def test_x4_negative_four_null_series_combined():
    def null(r):  # four series, combined as the chapter does (the weakest wins)
        series = {
            (d, nm, 0.3): [(n, r.normal(0.01, FLAT_SE), FLAT_SE) for n in PAPER_NS]
            for d in ("mnist", "cifar10")
            for nm in ("l_inf", "l2")
        }
        return V.combine(X.x4_parts(prices(series)))

    assert_null(shares(null, draws=100))


def test_x4_negative_one_flat_series_winners_curse():
    # one fit over every size (no peak picked after seeing the prices): the null gives
    # either wrong verdict about 2.3% of the time, over all six sizes and from 1,000 up
    def null(r, min_n=0):
        rows = [(n, r.normal(0.01, FLAT_SE), FLAT_SE) for n in PAPER_NS]
        (j,) = X.x4_parts(prices({("mnist", "l_inf", 0.3): rows}), min_n).values()
        return j

    assert_null(shares(null, draws=300))  # was 9.3% reproduced with the peak of five
    assert_null(shares(lambda r: null(r, X.X4_MIN_N["paper"]), draws=300, seed=1))


# -- S4: benefits.s4_judgement (the setup of Figures 2-4) ----------------------------
def test_s4_positive_the_chapters_setup():
    # the committed cpu row: large-eps PGD l_inf 0.3, 100 steps, no random start
    judged, attack = B.s4_judgement(100)
    assert judged.verdict == V.CHECKED and not attack.random_start


def test_s4_negative_a_differing_fact(monkeypatch):
    assert B.s4_judgement(100, style=B.STYLE | {"mnist": "clip3"})[0].verdict == (V.NOT_REPRODUCED)
    assert B.s4_judgement(100, frames=np.linspace(0, 1, 10))[0].verdict == V.NOT_REPRODUCED
    # an attack that starts at random
    attack = PGD(eps=0.4, norm="inf", steps=100, random_start=True)
    monkeypatch.setattr(B.benefits, "large_eps_attack", lambda *a, **k: attack)
    assert B.s4_judgement(100)[0].verdict == V.NOT_REPRODUCED


class TargetedPGD(PGD):
    """The large-eps PGD's settings, but run targeted (towards the label it is given)."""

    def __call__(self, model, x, y, **kwargs):
        return pgd(
            model,
            x,
            y,
            eps=self.eps,
            norm=self.norm,
            steps=self.steps,
            targeted=True,
            random_start=self.random_start,
            precision="fp32",
        )


def test_s4_negative_untargeted_is_read_from_the_attack(monkeypatch):
    # "untargeted" is what the attack does (it raises the loss at the label it is
    # given), not a field: the same settings run targeted differ
    attack = TargetedPGD(eps=0.4, norm="inf", steps=100, random_start=False)
    monkeypatch.setattr(B.benefits, "large_eps_attack", lambda *a, **k: attack)
    judged, _ = B.s4_judgement(100)
    assert judged.verdict == V.NOT_REPRODUCED and "untargeted" in judged.reason


# -- S1, S2, P4, S3: lib.chapters.setup.claim_rows ------------------------------------
# Parameter counts at the paper's width: the mnist_challenge CNN (3,274,634), the CIFAR
# ResNet (16, 16, 32, 64) x 5 units (464,154) and ResNet-50 with 9 outputs (23,526,473)
PAPER_PARAMS = {"mnist": 3_274_634, "cifar10": 464_154, "restricted_imagenet": 23_526_473}


def setup_verdicts(params=PAPER_PARAMS, counted=None) -> dict[str, str]:
    # the cpu variants' counts in the profile's column (only shown, never judged)
    cpu = {"mnist": 857_738, "cifar10": 75_290, "restricted_imagenet": 11_181_129}
    table = pd.DataFrame({"parameters (paper)": params, "parameters (cpu)": cpu})
    return {r["claim"]: r["verdict"] for r in SF.claim_rows(table, "cpu", counted)}


def ri_counted(train_images: int) -> dict:
    """An ImageNet folder's count: the paper variant's training images over its 96 classes."""
    per_class = [train_images // 96] * 96
    per_class[0] += train_images - sum(per_class)
    return {"paper": {"train": dict(enumerate(per_class))}}


def test_setup_positive_papers_setup():
    assert setup_verdicts() == dict.fromkeys(("S1", "S2", "P4", "S3"), V.CHECKED)
    # Table 1's paper variant: 123,629 training images
    assert setup_verdicts(counted=ri_counted(123_629))["S2"] == V.CHECKED


def test_setup_negative_a_differing_fact(monkeypatch):
    # S1: the cpu variant of the MNIST CNN counted as the paper's
    assert setup_verdicts(PAPER_PARAMS | {"mnist": 857_738})["S1"] == V.NOT_REPRODUCED
    # S2: an ImageNet folder with other training images
    assert setup_verdicts(counted=ri_counted(123_000))["S2"] == V.NOT_REPRODUCED
    # P4: MNIST l_inf trained at 0.35 instead of Table 2's 0.3; an eps Table 2 lacks
    eps = dict(S.profiles.TABLE2_EPS)
    monkeypatch.setattr(S.profiles, "TABLE2_EPS", eps | {("mnist", "inf"): 0.35})
    assert setup_verdicts()["P4"] == V.NOT_REPRODUCED
    monkeypatch.setattr(S.profiles, "TABLE2_EPS", eps | {("binary_mnist", 2): 1.0})
    assert setup_verdicts()["P4"] == V.NOT_REPRODUCED
    monkeypatch.undo()
    # S3: MNIST trained with 40 steps of 2.5 eps / 40 (Madry's rule) instead of 0.01 / 0.3
    pgd = SF.authors_pgd_ours
    ours = pgd() | {("mnist", "train"): (40, 2.5 / 40)}
    monkeypatch.setattr(SF, "authors_pgd_ours", lambda p="paper": ours if p == "paper" else pgd(p))
    assert setup_verdicts()["S3"] == V.NOT_REPRODUCED


def test_setup_p4_negative_an_eps_left_out(monkeypatch):
    # P4's own facts: an eps of Table 2 the profiles lack (MNIST l2, which S3 does not
    # read) is a fact that differs, not a KeyError
    eps = {k: v for k, v in S.profiles.TABLE2_EPS.items() if k != ("mnist", 2)}
    monkeypatch.setattr(S.profiles, "TABLE2_EPS", eps)
    assert setup_verdicts()["P4"] == V.NOT_REPRODUCED


def test_setup_negative_an_eps_left_out(monkeypatch):
    eps = {k: v for k, v in S.profiles.TABLE2_EPS.items() if k[0] != S.RI}
    monkeypatch.setattr(S.profiles, "TABLE2_EPS", eps)
    try:
        verdict = setup_verdicts()["P4"]
    except KeyError as missing:
        raise AssertionError(f"P4 raises KeyError {missing}") from missing
    assert verdict == V.NOT_REPRODUCED


def setup_rows(profile: str) -> dict[str, dict]:
    return {r["claim"]: r for r in SF.claim_rows(S.model_table(profile), profile, None)}


def test_setup_positive_cpu_runs_differ_by_design():
    # the cpu runs depart from the paper where the profile declares it: checked, with the
    # departure's numbers read from the cpu settings (never typed)
    rows = setup_rows("cpu")
    assert {c: rows[c]["verdict"] for c in ("S1", "P4", "S3")} == dict.fromkeys(
        ("S1", "P4", "S3"), V.CHECKED
    )
    mnist, cifar = (P.settings(ds, "cpu") for ds in ("mnist", "cifar10"))
    hidden = S.models.count_parameters(S.models.build(mnist.arch, **mnist.model_kwargs))
    assert f"mnist parameters at cpu {hidden:,}, paper 3,274,634" in rows["S1"]["reason"]
    s3 = rows["S3"]["reason"]
    assert f"mnist train steps at cpu {mnist.train_attack['inf'].steps}, paper 40" in s3
    assert f"eps ramp (share of training) at cpu {mnist.eps_ramp:g}, paper 0" in s3
    assert f"cifar10 train steps at cpu {cifar.train_attack['inf'].steps}, paper 7" in s3
    assert "differs by design" in s3 and "not run: restricted_imagenet" in s3


def test_setup_positive_smoke_eps_differ_by_design():
    # smoke trains only Table 4's largest eps: Table 2's CIFAR-10 eps never trains, declared
    p4 = setup_rows("smoke")["P4"]
    assert p4["verdict"] == V.CHECKED and "differs by design: cifar10 l_inf" in p4["reason"]


def test_setup_negative_an_undeclared_difference(monkeypatch):
    # the same cpu runs without their declarations: differences, not reproduced
    for claim, ds in (("S1", "mnist"), ("S3", "cifar10")):
        monkeypatch.delitem(SF.BY_DESIGN, ("cpu", claim, ds))
        assert setup_rows("cpu")[claim]["verdict"] == V.NOT_REPRODUCED
    monkeypatch.delitem(SF.BY_DESIGN, ("smoke", "P4", "cifar10"))
    assert setup_rows("smoke")["P4"]["verdict"] == V.NOT_REPRODUCED


# -- P1-P4 through the chapter: price_table4.table4 (the cells), std_est, claim_rows ---
def table4_results(*, same: bool = False):
    """The price chapter's records at the paper's numbers, one seed, 10,000 test images:
    each Table 4 row's half-half and PGD-AT runs at its 'std' cells, the standard run at
    Table 4's standard accuracy, and Fig 1's fewest images (MNIST, 100) at the book's
    committed measurement (:data:`FEW_STANDARD`, :data:`FEW_ROBUST`). ``same``: every run
    is the standard model. Returns (results, the adversarial configs, strong_of)."""
    runs, adversarial = {}, []

    def record(c: RunConfig, std: float) -> None:
        described = f"PGD eps={c.eps_train:.4g}: 40 steps, random start"
        runs[c] = {
            "std_acc": std,
            "n_train": c.n_train or 60_000,
            "n_test": N_TEST,
            "train_complete": True,
            "test_complete": True,
            "train_attack": "" if c.mix == "clean" else described,
        }

    for dataset in GRID.datasets:
        (std, *_), _ = V.PAPER_TABLE4[next(k for k in KEYS if k[0] == dataset)]
        record(RunConfig(dataset, "paper"), std / 100)
        few = GRID.n_values[dataset][0]
        record(RunConfig(dataset, "paper", n_train=few), FEW_STANDARD)
        for norm in ("inf", 2):
            (eps,) = GRID.fig_eps[(dataset, norm)]
            c = RunConfig(dataset, "paper", "adversarial", norm, eps, n_train=few)
            record(c, FEW_STANDARD if same else FEW_ROBUST)
    for (dataset, norm, eps), (std, _) in V.PAPER_TABLE4.items():
        for model, value in zip(price.MODELS[1:], std[1:], strict=True):
            c = RunConfig(dataset, "paper", price.MIX[model], norm, eps)
            record(c, (std[0] if same else value) / 100)
            adversarial.append(c)

    def strong_of(dataset, norm, eps, model):
        rob = V.PAPER_TABLE4[(dataset, norm, eps)][1]
        value = rob[2 if same else price.MODELS.index(model)] / 100
        return value, value, N_TEST

    return Results(runs), adversarial, strong_of


def chapter_verdicts(results, adversarial, strong_of) -> dict[str, str]:
    t4 = T4.table4(GRID, results, strong_of)
    return {r["claim"]: r["verdict"] for r in T4.claim_rows(GRID, results, t4, adversarial)}


def test_table4_cells_positive_paper_numbers():
    results, adversarial, strong_of = table4_results()
    # every cell the chapter builds is the paper's number with its SE on 10,000 images
    # (so the judge_p3 controls above hold for the chapter's cells)
    cells = T4.table4(GRID, results, strong_of).cells
    assert cells == table4_cells()
    v = chapter_verdicts(results, adversarial, strong_of)
    assert v == {
        "P1 (mnist)": V.REPRODUCED,
        "P1 (cifar10)": V.REPRODUCED,
        "P2 (mnist)": V.REPRODUCED,
        "P2 (cifar10)": V.REPRODUCED,
        "P3": V.REPRODUCED,
        "P4": V.CHECKED,
    }


def test_table4_cells_negative_every_run_is_the_standard_model():
    v = chapter_verdicts(*table4_results(same=True))
    assert {c: v[c] for c in v if c != "P4"} == dict.fromkeys(
        ("P1 (mnist)", "P1 (cifar10)", "P2 (mnist)", "P2 (cifar10)", "P3"), V.INCONCLUSIVE
    )
