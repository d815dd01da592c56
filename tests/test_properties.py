"""Invariants that hold for every input, checked on inputs Hypothesis draws.

The attack's geometry (any shape, eps and norm), the store key (equal settings,
equal key; other settings, another key) and the standard errors of lib.verdicts.noise
(against simulation). Few examples each and no deadline: a few seconds in all.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lib.attacks import geometry, pgd
from lib.experiments import runs
from lib.experiments.runs import RunConfig, run_key
from lib.verdicts import noise

FEW = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NORMS = st.sampled_from(["inf", 2])
SHAPES = st.lists(st.integers(1, 5), min_size=1, max_size=3).map(tuple)


def _size(delta: torch.Tensor, norm) -> torch.Tensor:
    flat = delta.flatten(1).double()
    return flat.abs().amax(1) if norm == "inf" else flat.norm(dim=1)


def _in_ball_and_box(x, x_adv, eps, norm):
    assert x_adv.shape == x.shape
    assert x_adv.min() >= 0 and x_adv.max() <= 1
    assert (_size(x_adv - x, norm) <= eps * (1 + 1e-5) + 1e-6).all()


def _inputs(seed: int, n: int, shape: tuple, corners: bool) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    x = torch.rand((n, *shape), generator=g)
    if corners:  # pixels at exactly 0 and 1, where the box binds
        x = (x > 0.5).float()
    return x


@FEW
@given(
    seed=st.integers(0, 2**31),
    n=st.integers(1, 4),
    shape=SHAPES,
    eps=st.floats(0, 4),
    norm=NORMS,
    corners=st.booleans(),
)
def test_the_start_and_any_projection_stay_in_the_ball_and_the_box(
    seed, n, shape, eps, norm, corners
):
    x = _inputs(seed, n, shape, corners)
    g = torch.Generator().manual_seed(seed + 1)
    start = geometry.start_delta(x, eps=eps, norm=norm, random_start=True, generator=g)
    _in_ball_and_box(x, x + start, eps, norm)
    # any perturbation, however far out, projects into both
    far = torch.randn(x.shape, generator=g) * 3
    once = geometry.project(x, far, eps=eps, norm=norm)
    _in_ball_and_box(x, x + once, eps, norm)
    # and projecting again changes nothing
    twice = geometry.project(x, once, eps=eps, norm=norm)
    assert torch.allclose(twice, once, atol=1e-6)


@FEW
@given(seed=st.integers(0, 2**31), shape=SHAPES, eps=st.floats(0.01, 1), norm=NORMS)
def test_pgd_stays_in_the_ball_and_the_box_for_any_shape(seed, shape, eps, norm):
    torch.manual_seed(seed)
    x = _inputs(seed, 3, shape, corners=False)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(math.prod(shape), 3))
    y = torch.tensor([0, 1, 2])
    g = torch.Generator().manual_seed(seed)
    x_adv = pgd(model, x, y, eps=eps, norm=norm, steps=3, step_size=eps, generator=g)
    _in_ball_and_box(x, x_adv, eps, norm)


def test_the_random_start_fills_the_ball():
    # l_inf: every coordinate uniform on [-eps, eps], both signs, up to the edge
    # (catches a start on [0, eps] or [-eps, 0], or a smaller box).
    g = torch.Generator().manual_seed(0)
    x = torch.full((200, 50), 0.5)
    u = geometry.random_perturb(x, eps=0.2, norm="inf", generator=g)
    assert u.abs().max() <= 0.2 and u.min() < -0.19 and u.max() > 0.19
    assert abs(float(u.mean())) < 0.005 and float(u.std()) == pytest.approx(0.2 / 3**0.5, rel=0.02)
    # l2: uniform in the disc, not on its circle: P(r < eps/2) = 1/4 in 2-d (catches a
    # start on the sphere, or a radius eps * U without the 1/n power).
    v = geometry.random_perturb(torch.zeros(20000, 2), eps=0.4, norm=2, generator=g)
    r = v.norm(dim=1)
    assert r.max() <= 0.4 * (1 + 1e-6)
    assert float((r < 0.2).float().mean()) == pytest.approx(0.25, abs=0.015)
    assert v.mean(0).abs().max() < 0.01  # no preferred direction


# -- the store key ---------------------------------------------------------------------
CONFIGS = st.builds(
    lambda dataset, mix, eps, norm, seed, n_train, eps_eval, steps, bn: RunConfig(
        dataset,
        "cpu",
        mix,
        norm="inf" if dataset == "binary_mnist" else norm,  # Table 2 has binary MNIST l_inf only
        eps_train=0.0 if mix == "clean" else eps,
        eps_eval=eps_eval,
        n_train=n_train,
        max_steps=steps,
        bn_mode=bn,
        seed=seed,
        precision="fp32",
        beta=6.0 if mix == "trades" else None,
    ),
    dataset=st.sampled_from(["mnist", "binary_mnist", "cifar10"]),
    mix=st.sampled_from(["clean", "adversarial", "half", "trades"]),
    eps=st.sampled_from([0.1, 0.3]),
    norm=NORMS,
    seed=st.integers(0, 2),
    n_train=st.sampled_from([None, 100]),
    eps_eval=st.sampled_from([None, 0.1, 0.3]),
    steps=st.sampled_from([None, 50]),
    bn=st.sampled_from(["eval", "train"]),
)


def _resolved(config: RunConfig) -> RunConfig:
    """The configuration with what its profile fills in written out: two configurations
    are the same run exactly when these are equal."""
    plan = runs.plan_of(config, "cpu")
    return replace(config, n_train=plan.n_train, max_steps=plan.steps, eps_eval=plan.eps_eval)


@settings(max_examples=60, deadline=None)
@given(a=CONFIGS, b=CONFIGS)
def test_keys_are_equal_exactly_when_the_settings_are(a, b):
    prints = {"train": "0123456789abcdef", "test": "fedcba9876543210"}
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(runs.data_lib, "fingerprints", lambda dataset, **_: prints)
        same = run_key(a, "cpu") == run_key(b, "cpu")
        # what the profile would fill in, written out: the same run
        assert run_key(_resolved(a), "cpu") == run_key(a, "cpu")
    assert same == (_resolved(a) == _resolved(b))


# -- standard errors against simulation --------------------------------------------------
@settings(max_examples=10, deadline=None)
@given(acc=st.floats(0.1, 0.9), n=st.integers(200, 2000), seed=st.integers(0, 2**31))
def test_binomial_se_is_the_spread_of_measured_accuracies(acc, n, seed):
    measured = np.random.default_rng(seed).binomial(n, acc, size=4000) / n
    assert noise.binomial_se(acc, n) == pytest.approx(measured.std(), rel=0.08)


@settings(max_examples=10, deadline=None)
@given(
    p_a=st.floats(0.5, 0.95),
    flip=st.floats(0.02, 0.3),
    n=st.integers(200, 1000),
    seed=st.integers(0, 2**31),
)
def test_paired_and_independent_se_are_the_spread_of_differences(p_a, flip, n, seed):
    # Model b disagrees with a on a random share `flip` of the images: the paired SE,
    # from one test set, must match the spread of mean(a) - mean(b) over many test
    # sets; diff_se must match it over independent test sets.
    rng = np.random.default_rng(seed)
    a = rng.random((2000, n)) < p_a
    b = a ^ (rng.random((2000, n)) < flip)
    spread = (a.mean(1) - b.mean(1)).std()
    paired = np.sqrt(np.mean([noise.paired_diff_se(a[i], b[i]) ** 2 for i in range(200)]))
    assert paired == pytest.approx(spread, rel=0.1)
    other = rng.random((2000, n)) < p_a  # a's accuracy on another, independent test set
    spread_ind = (other.mean(1) - b.mean(1)).std()
    assert noise.diff_se(p_a, n, b.mean(), n) == pytest.approx(spread_ind, rel=0.1)


@settings(max_examples=10, deadline=None)
@given(k=st.integers(2, 8), sigma=st.floats(0.005, 0.05), seed=st.integers(0, 2**31))
def test_seed_spread_is_the_error_of_the_mean_over_seeds(k, sigma, seed):
    rng = np.random.default_rng(seed)
    draws = rng.normal(0.8, sigma, (4000, k))
    ses = np.array([noise.seed_spread(row).se for row in draws[:400]])
    # the sample SE^2 is unbiased for the variance of the mean
    assert np.sqrt(np.mean(ses**2)) == pytest.approx(draws.mean(1).std(), rel=0.12)
