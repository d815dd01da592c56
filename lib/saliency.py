"""Input gradients of a model, and two numbers that describe how they look.

Section 3 of the paper shows that the loss gradient w.r.t. the input of a
robust model looks like the image's edges and shapes, while that of a
standard model looks like noise, and that l_inf-trained gradients are
sparser than l2-trained ones. The two scores here turn those words into
numbers:

- :func:`sparsity`: the share of the gradient's magnitude held by its top
  ``top`` fraction of pixels (1 = all mass on a few pixels; ``top`` = spread
  evenly).
- :func:`edge_alignment`: the Pearson correlation between the gradient's
  magnitude and the image's Sobel edge map (1 = the gradient is the edges).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from lib import runtime


def input_gradient(
    model, x: torch.Tensor, y: torch.Tensor, *, precision: str = "fp32"
) -> torch.Tensor:
    """The raw gradient of the cross-entropy at the true label w.r.t. the input.

    As in the authors' visualization code: no smoothing, no sign. The model is
    evaluated in eval mode (its mode is restored) and no parameter gradient
    is created.
    """
    was_training = model.training
    model.eval()
    try:
        x = x.detach().clone().requires_grad_(True)
        with runtime.autocast(x.device, runtime.resolve_precision(precision, x.device)):
            logits = model(x)
        loss = F.cross_entropy(logits.float(), y, reduction="sum")
        (grad,) = torch.autograd.grad(loss, [x])
    finally:
        model.train(was_training)
    return grad


def pixel_magnitude(g: torch.Tensor) -> torch.Tensor:
    """|g| summed over channels: one non-negative value per pixel, [N, H, W]."""
    return g.abs().sum(1)


def sparsity(g: torch.Tensor, top: float = 0.05) -> torch.Tensor:
    """Per example, the fraction of the gradient's l1 mass in its top ``top`` pixels."""
    if not 0 < top <= 1:
        raise ValueError(f"top must lie in (0, 1], got {top!r}")
    m = pixel_magnitude(g).flatten(1)
    k = max(1, math.ceil(top * m.shape[1]))
    total = m.sum(1)
    return torch.where(
        total > 0, m.topk(k, dim=1).values.sum(1) / total.clamp_min(1e-30), torch.zeros_like(total)
    )


def sobel_edges(x: torch.Tensor) -> torch.Tensor:
    """The Sobel gradient magnitude of the grey-level image, [N, H, W]."""
    grey = x.mean(1, keepdim=True)
    kx = torch.tensor([[-1.0, 0, 1], [-2, 0, 2], [-1, 0, 1]], device=x.device, dtype=x.dtype)
    kernels = torch.stack([kx, kx.T])[:, None]  # [2, 1, 3, 3]
    gxy = F.conv2d(F.pad(grey, (1, 1, 1, 1), mode="replicate"), kernels)
    return gxy.norm(dim=1)


def edge_alignment(g: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Per example, the Pearson correlation of |gradient| with the image's Sobel edges.

    0 where either map is constant (no edges, or a zero gradient).
    """
    a = pixel_magnitude(g).flatten(1)
    b = sobel_edges(x).flatten(1)
    a = a - a.mean(1, keepdim=True)
    b = b - b.mean(1, keepdim=True)
    denom = a.norm(dim=1) * b.norm(dim=1)
    return torch.where(denom > 0, (a * b).sum(1) / denom.clamp_min(1e-30), torch.zeros_like(denom))


def zero_gradient_fraction(g: torch.Tensor) -> float:
    """The fraction of examples whose input gradient is exactly 0 everywhere.

    A flag AutoAttack's authors use for gradient masking: a model that
    gives PGD no gradient to follow looks robust without being so.
    """
    return (g.flatten(1).abs().amax(1) == 0).float().mean().item()


def mean_ci(values: torch.Tensor, z: float = 1.96) -> tuple[float, float]:
    """Mean and the half-width of its normal-approximation 95% interval."""
    v = values.double().flatten()
    if len(v) < 2:
        return v.mean().item(), float("nan")
    return v.mean().item(), (z * v.std() / math.sqrt(len(v))).item()


# --------------------------------------------------------------------------
# Positive controls for edge_alignment (B1): gradients known to sit on the edges


class EdgeEnergyModel(torch.nn.Module):
    """A model whose input gradient is made of the image's edges, and nothing else.

    Class 0's logit is minus the mean squared Sobel edge magnitude of the
    image, the other logits are 0. The cross-entropy gradient at label 0 is
    then proportional to the gradient of the edge energy, S^T S x (S the
    Sobel filters): nonzero only near edges. Used as a positive control:
    :func:`edge_alignment` of its gradient shows what the score gives when
    the gradient is known to follow the edges (on natural images it sits on
    both flanks of an edge, so the score is well below 1).
    """

    def __init__(self, num_classes: int = 10):
        super().__init__()
        if num_classes < 2:
            raise ValueError("need at least 2 classes")
        self.num_classes = num_classes

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        energy = -sobel_edges(x).pow(2).flatten(1).mean(1)
        logits = torch.zeros(len(x), self.num_classes, dtype=x.dtype, device=x.device)
        return torch.cat([energy[:, None], logits[:, 1:]], 1)


def edge_signal_gradient(
    x: torch.Tensor, snr: float, *, generator: torch.Generator | None = None
) -> torch.Tensor:
    """A synthetic "gradient" of known alignment: the image's edges at a given signal-to-noise.

    g = snr * e * s + n per pixel and channel, where e is the Sobel edge map
    scaled to unit root-mean-square per image, s a random sign and n
    standard normal noise. snr = 0 is pure noise (alignment about 0); a large
    snr is the edge map itself (alignment 1). Calibrates the score: the snr at
    which a model's alignment is matched says how much edge signal its
    gradient carries.
    """
    if not snr >= 0:
        raise ValueError(f"snr must be >= 0, got {snr!r}")
    e = sobel_edges(x)[:, None].expand_as(x)
    e = e / e.pow(2).mean((1, 2, 3), keepdim=True).sqrt().clamp_min(1e-12)
    sign = torch.randint(0, 2, x.shape, generator=generator, device="cpu").to(x) * 2 - 1
    noise = torch.randn(x.shape, generator=generator, device="cpu").to(x)
    return snr * e * sign + noise
