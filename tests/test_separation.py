"""The pruned l_inf search against brute force; the certified-margin rule by hand."""

from __future__ import annotations

import math

import pytest
import torch

from lib import separation as S
from lib import theory


def _data(m, n, d, classes, *, seed, levels=None):
    g = torch.Generator().manual_seed(seed)
    if levels is None:
        q, r = torch.rand(m, d, generator=g), torch.rand(n, d, generator=g)
    else:  # few distinct values: many exact ties
        q = torch.randint(0, levels, (m, d), generator=g).float() / (levels - 1)
        r = torch.randint(0, levels, (n, d), generator=g).float() / (levels - 1)
    return (
        q,
        r,
        torch.randint(0, classes, (m,), generator=g),
        torch.randint(0, classes, (n,), generator=g),
    )


@pytest.mark.parametrize(
    "m,n,d,classes,levels",
    [
        (1, 1, 1, 2, None),
        (7, 13, 3, 2, None),
        (40, 300, 16, 3, None),
        (25, 200, 50, 10, 3),
        (30, 120, 2, 2, 2),
        (64, 500, 784, 10, None),
    ],
)
@pytest.mark.parametrize("same", [False, True])
def test_pruned_search_equals_brute_force(m, n, d, classes, levels, same):
    q, r, qy, ry = _data(m, n, d, classes, seed=m + n + d, levels=levels)
    got = S.nearest_linf(q, r, qy, ry, same=same, memory_mb=0.01)  # many small chunks
    want = S.brute_force(q, r, qy, ry, same=same)
    assert torch.allclose(got.dist, want.dist, atol=1e-6, rtol=0, equal_nan=False)
    assert 0 <= got.stats.exact <= m * n and got.stats.pruned >= 0
    ok = torch.isfinite(want.dist)
    assert torch.equal(got.index[~ok], torch.full_like(got.index[~ok], -1))
    # the index returned is one at the minimum distance (ties: any of them)
    if ok.any():
        at = (q[ok] - r[got.index[ok]]).abs().amax(1)
        assert torch.allclose(at, want.dist[ok], atol=1e-6)
        assert torch.all((qy[ok] == ry[got.index[ok]]) == same)


def test_pruning_both_paths_and_uint8():
    # Clustered data: the l2 bound prunes, the sparse path runs.
    g = torch.Generator().manual_seed(0)
    centers = torch.rand(20, 2, generator=g)
    lab = torch.arange(2000) % 20
    r = (centers[lab] + 0.01 * torch.randn(2000, 2, generator=g)).clamp(0, 1)
    q, qy = r[:50] + 0.001, lab[:50]
    got = S.nearest_linf(q, r, qy, lab)
    assert got.stats.pruned > 0.5
    assert torch.allclose(got.dist, S.brute_force(q, r, qy, lab).dist, atol=1e-6)
    # uint8 pixels are divided by 255
    qu = torch.randint(0, 256, (10, 3, 4, 4), generator=g, dtype=torch.uint8)
    ru = torch.randint(0, 256, (30, 3, 4, 4), generator=g, dtype=torch.uint8)
    qyu, ryu = torch.arange(10) % 2, torch.arange(30) % 2
    got = S.nearest_linf(qu, ru, qyu, ryu)
    want = S.brute_force(qu.float() / 255, ru.float() / 255, qyu, ryu)
    assert torch.allclose(got.dist, want.dist, atol=1e-6)


def test_no_allowed_reference():
    q, r = torch.rand(3, 5), torch.rand(4, 5)
    got = S.nearest_linf(q, r, torch.zeros(3), torch.zeros(4))  # one class: no other
    assert torch.isinf(got.dist).all() and (got.index == -1).all()


def test_separations_by_hand():
    # 1-d points: class 0 at 0.0, 0.1; class 1 at 0.5, 0.9. Closest pair: 0.1 - 0.5.
    x = torch.tensor([[0.0], [0.1], [0.5], [0.9]])
    y = torch.tensor([0, 0, 1, 1])
    sep = S.separation_train_train(x, y)
    assert sep.min_dist == pytest.approx(0.4) and sep.r == pytest.approx(0.2)
    assert sep.dists.tolist() == pytest.approx([0.5, 0.4, 0.4, 0.8])
    tx, ty = torch.tensor([[0.3], [1.0]]), torch.tensor([0, 1])
    st = S.separation_test_train(tx, ty, x, y)
    assert st.dists.tolist() == pytest.approx([0.2, 0.9]) and st.min_dist == pytest.approx(0.2)
    sample = S.separation_train_train(x, y, n_queries=2, seed=1)
    assert sample.queries == 2 and sample.of == 4 and sample.min_dist >= sep.min_dist


def test_certified_margin_rule():
    # dyadic values, so that float32 margins are exact
    d_same = torch.tensor([0.125, 0.125, 0.125, 0.5, 0.375])
    d_other = torch.tensor([0.875, 0.625, 0.375, 0.5, 0.125])
    # margins 0.75, 0.5, 0.25, 0 (tie: an error), -0.25 (wrong)
    assert S.certified(d_same, d_other, 0.0).tolist() == [True, True, True, False, False]
    assert S.certified(d_same, d_other, 0.0625).tolist() == [True, True, True, False, False]
    assert S.certified(d_same, d_other, 0.125).tolist() == [True, True, False, False, False]
    assert S.certified(d_same, d_other, 0.25).tolist() == [True, False, False, False, False]
    assert S.certified(d_same, d_other, 0.375).tolist() == [False] * 5  # 0.75 > 0.75 fails
    with pytest.raises(ValueError):
        S.certified(d_same, d_other, -0.1)


def test_nearest_class_classifier_and_its_certificate():
    x = torch.tensor([[0.0], [0.1], [0.5], [0.9]])
    y = torch.tensor([0, 0, 1, 1])
    tx = torch.tensor([[0.05], [0.3], [0.35], [0.8]])
    ty = torch.tensor([0, 0, 0, 0])  # the last two are nearer class 1: errors
    nc = S.nearest_class(tx, ty, x, y)
    assert nc.d_same.tolist() == pytest.approx([0.05, 0.2, 0.25, 0.7])
    assert nc.d_other.tolist() == pytest.approx([0.45, 0.2, 0.15, 0.1])
    assert nc.std_acc == 0.25  # the tie at 0.3 counts as an error
    assert nc.certified_acc(0.19) == 0.25 and nc.certified_acc(0.2) == 0.0
    # A certified point really is robust: every point of its ball is classified right.
    for shift in torch.linspace(-0.19, 0.19, 39):
        xs = tx[:1] + shift
        d = (xs - x).abs().amax(1)
        assert y[d.argmin()] == 0


def test_d_is_not_separated_at_2_eta():
    dist = theory.Distribution.scaled(0.95, 100, 3.0)
    sep = S.d_separation(dist, n=200)
    assert sep.eps == pytest.approx(2 * dist.eta)
    assert sep.population == 0.0 and not sep.separated_at_eps
    assert math.isfinite(sep.sample) and sep.sample > 0  # a finite sample looks separated
    assert S.d_separation(theory.Distribution(1.0, 10, 0.1), n=50).separated_at_eps
