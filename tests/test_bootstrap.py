"""lib.bootstrap: resamples, the widened bootstrap SE, and paired test-set differences.

The SE is checked against what it estimates: the spread of a statistic over
fresh, disjoint samples of the same size (for a mean, and for the linear chapter's
own fit on synthetic data)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from lib import bootstrap, data
from lib import verdicts as V
from lib.chapters import linear_mnist as L


def test_resample_indices_are_seeded_with_replacement():
    a = bootstrap.resample_indices(50, 4, seed=3)
    assert a.shape == (4, 50) and a.dtype == torch.int64
    assert 0 <= a.min() and a.max() < 50
    assert torch.equal(a, bootstrap.resample_indices(50, 4, seed=3))
    assert not torch.equal(a, bootstrap.resample_indices(50, 4, seed=4))
    # with replacement: some index repeats in every resample (P(no repeat) ~ 1e-21)
    assert all(len(set(row.tolist())) < 50 for row in a)
    with pytest.raises(ValueError):
        bootstrap.resample_indices(0, 4, seed=0)
    with pytest.raises(ValueError):
        bootstrap.resample_indices(10, True, seed=0)


def test_widening_is_the_t_quantile_over_z():
    assert bootstrap.widening(8) == pytest.approx(2.4288 / 2, abs=1e-3)  # t_7(0.97725)
    assert bootstrap.widening(2) > bootstrap.widening(8) > bootstrap.widening(100) > 1
    assert bootstrap.widening(10_000) == pytest.approx(1, abs=1e-3)
    assert math.isnan(bootstrap.widening(1))


def test_bootstrap_se_from_replicates():
    v = [1.0, 2.0, 3.0, 4.0]
    assert bootstrap.bootstrap_se(v) == pytest.approx(np.std(v, ddof=1) * bootstrap.widening(4))
    assert bootstrap.bootstrap_se([5.0] * 6) == 0
    assert math.isnan(bootstrap.bootstrap_se([1.0]))


def test_bootstrap_se_of_a_mean_matches_the_spread_over_fresh_samples():
    """On 200 draws of an exponential, the bootstrap SE of the mean is sd / sqrt(n), as
    is the spread of the mean over disjoint samples: within 15% at B = 400."""
    rng = np.random.default_rng(0)
    pool = rng.exponential(size=(40, 200))  # 40 disjoint samples of n = 200
    spread = pool.mean(1).std(ddof=1)
    x = pool[0]
    index = bootstrap.resample_indices(len(x), 400, seed=1).numpy()
    se = bootstrap.bootstrap_se(x[index].mean(1)) / bootstrap.widening(400)  # the raw sd
    assert se == pytest.approx(x.std(ddof=0) / math.sqrt(len(x)), rel=0.15)
    assert 0.6 < se / spread < 1.6


def _pool(n: int, seed: int) -> data.TensorData:
    """n binary 28x28 images: 20 pixels carry the label with noise, the rest are noise."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 2, (n,), generator=g)
    x = torch.randint(0, 256, (n, 784), generator=g, dtype=torch.int64)
    signal = (y[:, None] * 120 + torch.randint(0, 136, (n, 20), generator=g)).clamp(0, 255)
    x[:, :20] = signal
    return data.TensorData(
        "binary_mnist", "train", x.to(torch.uint8).view(n, 1, 28, 28), y, ("5", "7")
    )


def test_bootstrap_se_of_a_linear_fit_matches_the_spread_over_disjoint_training_sets():
    """The control of the linear chapter's SE: its recipe (gradient descent and the exact
    adversarial loss) fitted on disjoint training sets of the same size gives the true
    spread of ||w||_1 and of test accuracy; the bootstrap SE from one training set, at
    the chapter's B = 8, must be of that size (within a factor of 2 either way, taken as
    the median over four training sets). 1,000 images of 784 pixels: more images than
    weights, as in the chapter (11,686). (Measured: both ratios 0.97; with 150 images
    the bootstrap overstates ||w||_1's spread 1.6-fold, the noise pixels' weights
    growing on resamples with repeats.)"""
    recipe = L.Recipe(0.2, epochs=5, lr=0.1, converge_epochs=4)
    n, k = 1000, 16
    pool, test_set = _pool(n * k, 0), _pool(400, 1)
    index = torch.arange(n * k).view(k, n)

    def stats(ds):
        model, _ = recipe.fit(ds, adversarial=True)
        return model.weight.abs().sum().item(), recipe.accuracy(model, test_set, recipe.margin)

    true = np.array([stats(L.resample(pool, i)) for i in index]).std(0, ddof=1)
    ratios = []
    for i in index[:4]:
        train_set = L.resample(pool, i)
        reps = [
            stats(L.resample(train_set, r))
            for r in bootstrap.resample_indices(n, 8, seed=int(i[0]))
        ]
        se = [bootstrap.bootstrap_se(col) for col in zip(*reps, strict=True)]
        ratios.append(np.array(se) / true)
    median = np.median(ratios, axis=0)
    assert ((0.5 < median) & (median < 2)).all(), (median, true)


def test_paired_difference():
    a = np.array([1, 1, 0, 1, 0, 1], dtype=bool)
    b = np.array([1, 0, 0, 1, 1, 1], dtype=bool)
    d = bootstrap.paired_difference(a, b)
    assert d.value == pytest.approx(0) and d.se == pytest.approx(V.paired_diff_se(a, b))
    wide = bootstrap.paired_difference(a, b, spread_a=0.03, spread_b=0.04)
    assert wide.se == pytest.approx(math.sqrt(d.se**2 + 0.03**2 + 0.04**2))
    same = bootstrap.paired_difference(a, a, spread_a=0.0, spread_b=0.0)
    assert same.value == 0 and same.se == 0
    assert V.signed_effect(same).verdict == V.INCONCLUSIVE
