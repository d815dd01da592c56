"""Sparsity of weight vectors (L2, L3); the linear worst case with and without the box (L1, L4)."""

from __future__ import annotations

import math

import pytest
import torch

from lib import attacks, models, sparsity


def test_hoyer_on_hand_made_vectors():
    assert sparsity.hoyer(torch.ones(784)) == pytest.approx(0, abs=1e-12)
    assert sparsity.hoyer(torch.tensor([1.0, -1.0, 1.0, -1.0])) == pytest.approx(0, abs=1e-12)
    one_hot = torch.zeros(784)
    one_hot[17] = -3.0
    assert sparsity.hoyer(one_hot) == pytest.approx(1)
    # Two equal entries of n = 4: (2 - 2 / sqrt(2)) / (2 - 1).
    assert sparsity.hoyer([1.0, 1.0, 0, 0]) == pytest.approx(2 - math.sqrt(2))
    # Scale-free, and more concentrated is sparser.
    w = torch.randn(784, generator=torch.Generator().manual_seed(0))
    assert sparsity.hoyer(5 * w) == pytest.approx(sparsity.hoyer(w))
    assert sparsity.hoyer(w**3) > sparsity.hoyer(w)
    assert math.isnan(sparsity.hoyer(torch.zeros(10)))
    assert sparsity.hoyer([2.0]) == 0.0


def test_top_share_on_hand_made_vectors():
    assert sparsity.top_share(torch.ones(100)) == pytest.approx(0.1)
    assert sparsity.top_share(torch.ones(784)) == pytest.approx(79 / 784)  # ceil(78.4)
    one_hot = torch.zeros(784)
    one_hot[0] = 1
    assert sparsity.top_share(one_hot) == 1
    w = torch.tensor([4.0, -3, 2, 1, 0, 0, 0, 0, 0, 0])
    assert sparsity.top_share(w, 0.1) == pytest.approx(0.4)
    assert sparsity.top_share(w, 0.2) == pytest.approx(0.7)
    assert sparsity.top_share(w, 1.0) == 1
    assert math.isnan(sparsity.top_share(torch.zeros(5)))
    for bad in (0, 1.5):
        with pytest.raises(ValueError):
            sparsity.top_share(w, bad)


def test_share_below():
    w = torch.tensor([1.0, -1, 2, 0])
    corr = torch.tensor([0.1, -0.5, 0.3, 0.0])
    assert sparsity.share_below(w, corr, 0.2) == pytest.approx(0.25)
    assert sparsity.share_below(w, corr, 0.4) == pytest.approx(0.75)  # |-0.5| is not below
    assert sparsity.share_below(w, corr, 0.0) == 0
    assert math.isnan(sparsity.share_below(torch.zeros(4), corr, 0.2))
    with pytest.raises(ValueError):
        sparsity.share_below(w, corr[:3], 0.2)


def _toy(seed=0, n=2000, d=784):
    g = torch.Generator().manual_seed(seed)
    model = models.LinearModel(d)
    with torch.no_grad():
        model.weight.copy_(torch.randn(d, generator=g) / d**0.5)
        model.bias.fill_(0.1)
    # MNIST-like: most pixels exactly 0 or 1, the rest in between.
    x = torch.rand(n, 1, 28, 28, generator=g)
    x = torch.where(x < 0.6, torch.zeros_like(x), torch.where(x > 0.9, torch.ones_like(x), x))
    y = (model.margin(x) > 0).long()  # every clean image correct
    return model, x, y


@pytest.mark.parametrize("eps", [0.05, 0.1, 0.2, 0.3])
def test_linear_worst_case_box_is_never_stronger(eps):
    """L1/L4: adversarial accuracy with the [0, 1] box >= without it, on the same model.

    Without the box the margin drops by exactly eps ||w||_1 (the paper's
    formula); clipping back into [0, 1] undoes part of the move wherever a
    pixel is already at 0 or 1, so the boxed margin is never lower.
    """
    model, x, y = _toy()
    with torch.no_grad():
        s = (2 * y - 1).double()
        margin = s * model.margin(x).double()
        accs = {}
        for box in (True, False):
            x_adv = attacks.LinearWorstCase(eps, box=box)(model, x, y)
            adv_margin = s * model.margin(x_adv).double()
            accs[box] = (model(x_adv).argmax(1) == y).float().mean().item()
            if box:
                boxed = adv_margin
                assert x_adv.min() >= 0 and x_adv.max() <= 1
            else:
                drop = margin - adv_margin
                w_l1 = model.weight.abs().sum().double()
                assert torch.allclose(drop, eps * w_l1.expand_as(drop), atol=1e-4)
                unboxed = adv_margin
    assert (boxed >= unboxed - 1e-5).all()
    assert (boxed > unboxed + 1e-6).float().mean() > 0.5  # most images have saturated pixels
    assert accs[True] >= accs[False]


def test_linear_worst_case_box_can_flip_the_outcome():
    # A black image of class 1 and positive weights: the adversary would push
    # every pixel below 0. The box keeps it black, so the boxed attack fails
    # and the paper's formula (margin - eps ||w||_1) succeeds.
    model = models.LinearModel(4)
    with torch.no_grad():
        model.weight.fill_(1.0)
        model.bias.fill_(0.1)
    x, y = torch.zeros(1, 1, 2, 2), torch.ones(1, dtype=torch.long)
    with torch.no_grad():
        boxed = model(attacks.LinearWorstCase(0.2, box=True)(model, x, y)).argmax(1)
        free = model(attacks.LinearWorstCase(0.2, box=False)(model, x, y)).argmax(1)
    assert boxed.item() == 1 and free.item() == 0
