"""Positive controls for B1's edge-alignment score: it sees alignment where it exists."""

from __future__ import annotations

import pytest
import torch

from lib import saliency


def _planted_edges(n=64, size=32, seed=0):
    """Colour images with one planted bright rectangle each, on a textured dark background."""
    g = torch.Generator().manual_seed(seed)
    x = 0.2 * torch.rand(n, 3, size, size, generator=g)
    for i in range(n):
        r0, c0 = torch.randint(2, size // 2, (2,), generator=g).tolist()
        h, w = torch.randint(6, size // 2, (2,), generator=g).tolist()
        x[i, :, r0 : r0 + h, c0 : c0 + w] += 0.6 + 0.2 * torch.rand(3, 1, 1, generator=g)
    return x.clamp(0, 1)


def _gradient(model, x):
    return saliency.input_gradient(model, x, torch.zeros(len(x), dtype=torch.long))


def test_edge_energy_model_is_detected():
    x = _planted_edges()
    aligned = saliency.edge_alignment(_gradient(saliency.EdgeEnergyModel(), x), x)
    # A model of the same input size whose gradient ignores the image: random weights.
    torch.manual_seed(0)
    blind = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 32 * 32, 10))
    unaligned = saliency.edge_alignment(_gradient(blind, x), x)
    a, a_ci = saliency.mean_ci(aligned)
    u, u_ci = saliency.mean_ci(unaligned)
    assert a > 0.3 and abs(u) < 0.1
    assert a - a_ci > u + u_ci + 0.2  # separated far beyond the intervals


def test_edge_energy_model_has_no_gradient_without_edges():
    flat = torch.full((2, 3, 16, 16), 0.5)
    g = _gradient(saliency.EdgeEnergyModel(), flat)
    assert g.abs().max() == 0
    assert (saliency.edge_alignment(g, flat) == 0).all()
    with pytest.raises(ValueError):
        saliency.EdgeEnergyModel(1)


def test_a_linear_model_with_edge_weights_aligns_on_its_template():
    # The input gradient of a linear model is its weight vector: make it the edge map.
    x = _planted_edges(n=1)
    edges = saliency.sobel_edges(x)[:, None].expand_as(x)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(x[0].numel(), 2))
    with torch.no_grad():
        model[1].weight.zero_()
        model[1].weight[1] = edges.flatten()
    g = _gradient(model, x)
    assert saliency.edge_alignment(g, x).item() == pytest.approx(1, abs=1e-5)


def test_edge_signal_gradient_calibrates_the_score():
    x = _planted_edges()
    gen = torch.Generator().manual_seed(1)
    scores = [
        saliency.edge_alignment(saliency.edge_signal_gradient(x, snr, generator=gen), x).mean()
        for snr in (0.0, 0.25, 0.5, 1.0, 2.0, 1e6)
    ]
    assert abs(scores[0]) < 0.05  # pure noise
    assert all(b > a for a, b in zip(scores, scores[1:], strict=False))  # more signal, higher
    assert scores[-1] > 0.999  # the edge map itself
    with pytest.raises(ValueError):
        saliency.edge_signal_gradient(x, -1.0)
