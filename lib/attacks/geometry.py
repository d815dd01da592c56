"""The threat model's geometry (random start, step, projection per norm), and the
per-example bookkeeping that the eager and the CUDA-graph PGD loops share.

Kept apart from the loop, as in MadryLab/robustness. Every eps and step size
is in [0, 1] pixel space: the models normalize inside.
"""

from __future__ import annotations

import torch


def _norms(v: torch.Tensor) -> torch.Tensor:
    """Per-example l2 norms, shaped to broadcast against ``v``."""
    return v.flatten(1).norm(dim=1).view(-1, *([1] * (v.dim() - 1)))


def random_perturb(
    x: torch.Tensor, *, eps: float, norm, generator: torch.Generator | None = None
) -> torch.Tensor:
    """A random start drawn uniformly from the eps-ball around each example.

    l_inf: each coordinate uniform in [-eps, eps]. l2: uniform in the ball
    (not on the sphere): a Gaussian direction scaled to radius eps * U^(1/n),
    n the input dimension. Drawn on the generator's device: a CPU generator
    gives the same start on every device (at the price of a host-to-device
    copy); without a generator the start is drawn on ``x``'s device with the
    global RNG (no copy: what a GPU wants).
    """
    where = generator.device if generator is not None else x.device
    if norm == "inf":
        u = torch.rand(x.shape, generator=generator, device=where) * 2 - 1
        return _to_device(u * eps, x.device)
    direction = torch.randn(x.shape, generator=generator, device=where)
    direction = direction / _norms(direction).clamp_min(1e-12)
    n = x[0].numel()
    radius = torch.rand(x.shape[0], generator=generator, device=where).pow(1 / n) * eps
    return _to_device(direction * radius.view(-1, *([1] * (x.dim() - 1))), x.device)


def _to_device(t: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Copy a CPU tensor to ``device`` without blocking the host.

    A copy from pageable memory to a GPU waits for the GPU; from pinned
    memory it is queued on the stream like any kernel.
    """
    if t.device == device:
        return t
    if device.type == "cuda" and t.device.type == "cpu":
        return t.pin_memory().to(device, non_blocking=True)
    return t.to(device)


def step(delta: torch.Tensor, grad: torch.Tensor, *, norm, step_size: float) -> torch.Tensor:
    """One ascent step: sign of the gradient (l_inf) or its unit direction (l2)."""
    if norm == "inf":
        return delta + step_size * grad.sign()
    return delta + step_size * grad / _norms(grad).clamp_min(1e-12)


def project(x: torch.Tensor, delta: torch.Tensor, *, eps: float, norm) -> torch.Tensor:
    """Project ``delta`` onto the eps-ball, then clip ``x + delta`` to [0, 1].

    Clipping only moves each coordinate of ``delta`` towards 0 (x is in
    [0, 1]), so the result stays inside the ball.
    """
    if norm == "inf":
        delta = delta.clamp(-eps, eps)
    else:
        delta = delta * (eps / _norms(delta).clamp_min(1e-12)).clamp(max=1)
    return (x + delta).clamp(0, 1) - x


def start_delta(x, *, eps, norm, random_start, generator) -> torch.Tensor:
    """The first perturbation: random in the ball (projected into the box), or zero."""
    if random_start and eps > 0:
        delta = random_perturb(x, eps=eps, norm=norm, generator=generator)
        return project(x, delta, eps=eps, norm=norm)
    return torch.zeros_like(x)


def score(logits, y, *, targeted, loss_fn):
    """Per example: the objective PGD ascends, and whether the attack succeeds."""
    logits = logits.float()
    obj = (-1.0 if targeted else 1.0) * loss_fn(logits, y)
    pred = logits.argmax(1)
    return obj, (pred == y if targeted else pred != y)


def is_better(ok, obj, best_ok, best_obj) -> torch.Tensor:
    """Where a point beats the stored one: success first, then the (detached) objective."""
    return (ok & ~best_ok) | ((ok == best_ok) & (obj > best_obj))


def expand(mask: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return mask.view(-1, *([1] * (like.dim() - 1)))
