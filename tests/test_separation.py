"""The pruned l_inf search against brute force; the certified-margin rule by hand."""

from __future__ import annotations

import math

import pytest
import torch

from lib import exact_separation as E
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


# -- the exact minimum over all pairs (threshold search) ------------------------------
def _sparse_images(n, *, seed, side=12, ink=0.25):
    """MNIST-like uint8 images: a blank background with ``ink`` of the pixels lit."""
    g = torch.Generator().manual_seed(seed)
    lit = torch.rand(n, 1, side, side, generator=g) < ink
    level = torch.randint(1, 256, (n, 1, side, side), generator=g, dtype=torch.int32)
    return (lit * level).to(torch.uint8), torch.randint(0, 4, (n,), generator=g)


def _brute_min(qx, qy, rx, ry, symmetric=False):
    d = S.brute_force(qx, rx, qy, ry).dist if not symmetric else None
    if symmetric:  # every unordered pair i < j of different labels
        q = qx.flatten(1).float() / 255
        full = S._linf(q, q).masked_fill_(qy[:, None] == qy[None, :], math.inf)
        return float(full.min())
    return float(d.min())


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("symmetric", [False, True])
def test_exact_minimum_equals_brute_force(seed, symmetric):
    qx, qy = _sparse_images(150, seed=seed)
    rx, ry = (qx, qy) if symmetric else _sparse_images(300, seed=seed + 10)
    got = E.exact_min_distance(qx, qy, rx, ry, symmetric=symmetric, block=32, pool=2)
    assert got.min_dist == pytest.approx(_brute_min(qx, qy, rx, ry, symmetric), abs=1e-6)
    i, j = got.pair
    assert qy[i] != ry[j] and (not symmetric or i != j)
    assert got.min_dist == pytest.approx(
        float((qx[i].float() - rx[j].float()).abs().max()) / 255, abs=1e-9
    )
    classes = torch.bincount(qy, minlength=4)
    want_pairs = (
        (150**2 - int((classes * classes).sum())) // 2
        if symmetric
        else int((qy[:, None] != ry[None, :]).sum())
    )
    assert got.pairs == want_pairs and 0 <= got.candidates <= got.pairs


def test_exact_minimum_finds_a_planted_pair():
    # positive control: two images of different classes planted 37 / 255 apart, far nearer
    # than any other pair, are found at exactly that distance, wherever they sit
    rx, ry = _sparse_images(400, seed=5)
    rx[123] = rx[7]
    v = int(rx[7, 0, 3, 4])
    rx[123, 0, 3, 4] = v - 37 if v >= 37 else v + 37  # one pixel 37 levels off
    ry[7], ry[123] = 0, 1
    got = E.exact_min_distance(rx, ry, rx, ry, symmetric=True, block=64, pool=1)
    assert got.min_dist == pytest.approx(37 / 255) and set(got.pair) == {7, 123}
    assert got.bound >= got.min_dist and got.pruned > 0.5  # the prefilter did the work


def test_exact_minimum_ignores_a_near_pair_of_one_class():
    # negative control: the same planted pair with one label is no separation at all; the
    # minimum is the brute-force one over the differently labelled pairs
    rx, ry = _sparse_images(200, seed=6)
    rx[50] = rx[3]
    ry[50] = ry[3]
    got = E.exact_min_distance(rx, ry, rx, ry, symmetric=True, block=64)
    assert got.min_dist == pytest.approx(_brute_min(rx, ry, rx, ry, symmetric=True), abs=1e-6)
    assert got.min_dist > 0


def test_exact_minimum_stops_where_the_prefilter_cannot_prune():
    # natural-image-like data have no blank background: nothing is pruned, and a cap on
    # the kept pairs stops the search instead of silently running brute force
    g = torch.Generator().manual_seed(0)
    x = torch.randint(1, 256, (100, 3, 8, 8), generator=g, dtype=torch.int32).to(torch.uint8)
    y = torch.arange(100) % 2
    with pytest.raises(RuntimeError, match="does not prune"):
        E.exact_min_distance(x, y, x, y, symmetric=True, max_candidates=100)


def test_exact_minimum_float_images_and_upper_bound():
    qx, qy = _sparse_images(80, seed=8)
    rx, ry = _sparse_images(120, seed=9)
    want = _brute_min(qx, qy, rx, ry)
    got = E.exact_min_distance(qx.float() / 255, qy, rx.float() / 255, ry, block=16)
    assert got.min_dist == pytest.approx(want, abs=1e-6)
    ub, (i, j) = E.upper_bound(qx, qy, rx, ry, n=10)
    assert ub >= want - 1e-9 and qy[i] != ry[j]


def test_exact_minimum_the_published_mnist_minima():
    # positive control on the real data: Yang et al.'s MNIST minima, train-train 0.737 and
    # test-train 0.812 (188 / 255 and 207 / 255), are those of the pairs the full search
    # finds (training images 3,532 and 33,406; test image 3,040 and training image
    # 25,562). A subset holding a pair has the pair's distance as its minimum exactly when
    # no pair of the subset is nearer, as none of all of MNIST is.
    from lib import data

    try:
        tr, te = data.load("mnist", "train"), data.load("mnist", "test")
    except data.DataNotFoundError as err:
        pytest.skip(f"MNIST not found: {err}")
    pick = torch.cat([torch.arange(3000), torch.tensor([3532, 33406, 25562])])
    rx, ry = tr.x[pick], tr.y[pick]
    tt = E.exact_min_distance(rx, ry, rx, ry, symmetric=True)
    assert round(tt.min_dist * 255) == 188 and round(0.737 * 255) == 188
    assert {int(pick[k]) for k in tt.pair} == {3532, 33406}
    q = torch.cat([torch.arange(500), torch.tensor([3040])])
    te_tr = E.exact_min_distance(te.x[q], te.y[q], rx, ry)
    assert round(te_tr.min_dist * 255) == 207 and round(0.812 * 255) == 207
    assert (int(q[te_tr.pair[0]]), int(pick[te_tr.pair[1]])) == (3040, 25562)
    # without the pairs (the first 3,000 training images alone) the minimum is larger
    alone = E.exact_min_distance(tr.x[:3000], tr.y[:3000], tr.x[:3000], tr.y[:3000], symmetric=True)
    assert alone.min_dist > tt.min_dist
