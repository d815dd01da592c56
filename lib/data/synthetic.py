"""The synthetic distribution D of Section 2.1 (eq. 3)."""

from __future__ import annotations

import torch


def check_distribution(p: float, d: int, eta: float) -> None:
    if not 0.5 <= p <= 1:
        raise ValueError(f"p must lie in [0.5, 1], got {p!r}")
    if not isinstance(d, int) or d < 1:
        raise ValueError(f"d (number of weak features) must be an int >= 1, got {d!r}")
    if not eta >= 0:
        raise ValueError(f"eta must be >= 0, got {eta!r}")


def sample_d(
    n: int,
    *,
    p: float,
    d: int,
    eta: float,
    generator: torch.Generator | None = None,
    device: torch.device | str = "cpu",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw ``n`` samples of the distribution D (eq. 3 of the paper).

    y is uniform in {-1, +1}; x1 = y with probability p and -y otherwise (the
    robust feature); x2..x_{d+1} are i.i.d. N(eta * y, 1) (the weak
    features). Returns ``x`` float32 ``[n, d + 1]`` and ``y`` float32 in
    {-1, +1}. Sampling happens on the CPU with ``generator`` (so a seed gives
    the same draw on every device), then moves to ``device``.
    """
    check_distribution(p, d, eta)
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    y = torch.randint(0, 2, (n,), generator=generator).float() * 2 - 1
    agree = torch.rand(n, generator=generator) < p
    x1 = torch.where(agree, y, -y)
    weak = torch.randn(n, d, generator=generator) + eta * y[:, None]
    x = torch.cat([x1[:, None], weak], dim=1)
    return x.to(device), y.to(device)
