"""Gradient helpers and the scores of the benefits chapter, on inputs with known answers."""

from __future__ import annotations

import pytest
import torch

from lib import models, plots, saliency
from lib.attacks import pgd


def _square(n=2, size=16):
    """Images of a bright square on black: edges on the square's border."""
    x = torch.zeros(n, 1, size, size)
    x[:, :, 4:12, 4:12] = 1.0
    return x


def test_a_gradient_equal_to_the_edge_map_scores_highest():
    x = _square()
    edges = saliency.sobel_edges(x)[:, None]
    noise = torch.rand(x.shape, generator=torch.Generator().manual_seed(0))
    assert saliency.edge_alignment(edges, x) == pytest.approx(torch.ones(2), abs=1e-6)
    assert (saliency.edge_alignment(noise, x) < 0.3).all()
    assert (saliency.edge_alignment(-edges, x) > 0.99).all()  # magnitude, not sign


def test_sparsity_of_known_gradients():
    g = torch.zeros(1, 1, 10, 10)
    g[0, 0, 0, 0] = 5.0  # all mass on one pixel
    assert saliency.sparsity(g, top=0.05).item() == pytest.approx(1.0)
    flat = torch.ones(1, 3, 10, 10)  # mass spread evenly: the top 5% hold 5%
    assert saliency.sparsity(flat, top=0.05).item() == pytest.approx(0.05)
    assert saliency.sparsity(torch.zeros(1, 1, 4, 4)).item() == 0
    with pytest.raises(ValueError, match="top must lie"):
        saliency.sparsity(g, top=0)


def test_input_gradient_shapes_mode_and_no_parameter_gradient():
    torch.manual_seed(0)
    model = models.CifarResNet(widths=(4, 4, 8, 8), units=1).train()
    x, y = torch.rand(3, 3, 32, 32), torch.tensor([0, 1, 2])
    g = saliency.input_gradient(model, x, y)
    assert g.shape == x.shape and g.abs().sum() > 0
    assert model.training and all(p.grad is None for p in model.parameters())
    assert torch.equal(g, saliency.input_gradient(model, x, y))  # deterministic
    assert saliency.zero_gradient_fraction(g) == 0
    assert saliency.zero_gradient_fraction(torch.zeros(4, 1, 2, 2)) == 1


def test_large_eps_example_stays_in_ball_and_box():
    torch.manual_seed(0)
    model = models.MnistCNN(channels=(4, 8), hidden=16)
    x, y = torch.rand(4, 1, 28, 28), torch.tensor([0, 1, 2, 3])
    for norm, eps in (("inf", 0.3), (2, 4.0)):
        x_adv = pgd(
            model,
            x,
            y,
            eps=eps,
            norm=norm,
            steps=10,
            step_size=2.5 * eps / 10,
            random_start=False,
            precision="fp32",
        )
        d = (x_adv - x).flatten(1)
        size = d.abs().amax(1) if norm == "inf" else d.norm(dim=1)
        assert (size <= eps + 1e-5).all() and x_adv.min() >= 0 and x_adv.max() <= 1


def test_gradient_displays():
    g = torch.randn(3, 8, 8, generator=torch.Generator().manual_seed(0))
    img = plots.gradient_image(g, style="clip3")
    assert img.shape == (8, 8, 3) and img.min() >= 0 and img.max() <= 1
    div = plots.gradient_image(g[:1], style="diverging")
    assert div.shape == (8, 8) and abs(div).max() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="style must be"):
        plots.gradient_image(g, style="heat")


def test_mean_ci():
    mean, half = saliency.mean_ci(torch.tensor([1.0, 2.0, 3.0, 4.0]))
    assert mean == 2.5 and half == pytest.approx(1.96 * 1.2909944 / 2)
