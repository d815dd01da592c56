"""Direct measures of how sparse a weight vector is (L2, L3: the linear models of Fig 5).

- :func:`hoyer`: Hoyer's sparsity, (sqrt(n) - ||w||_1 / ||w||_2) / (sqrt(n) - 1):
  0 for a vector whose entries all have the same magnitude, 1 for a vector
  with one nonzero entry (Hoyer 2004, "Non-negative matrix factorization with
  sparseness constraints").
- :func:`top_share`: the share of ||w||_1 held by the largest ``frac`` of the
  entries (by magnitude): ``frac`` (rounded up to whole entries) for a flat
  vector, 1 for a one-hot one.
- :func:`share_below`: the share of ||w||_1 on the entries whose feature-label
  correlation is below a threshold (L3's measure: a robust model should put
  none below eps).

Each takes a 1-D weight vector (a tensor or an array); an all-zero vector
has no sparsity to measure and gives nan.
"""

from __future__ import annotations

import math

import torch


def _flat(w) -> torch.Tensor:
    w = torch.as_tensor(w).detach().double().flatten()
    if w.numel() == 0:
        raise ValueError("an empty weight vector")
    return w


def hoyer(w) -> float:
    """Hoyer's sparsity in [0, 1]; nan for an all-zero vector, 0 for a single entry."""
    w = _flat(w)
    n = w.numel()
    l2 = w.norm().item()
    if l2 == 0:
        return math.nan
    if n == 1:
        return 0.0
    return (math.sqrt(n) - w.abs().sum().item() / l2) / (math.sqrt(n) - 1)


def top_share(w, frac: float = 0.1) -> float:
    """The share of ||w||_1 in the top ceil(frac * n) entries by magnitude; nan if w = 0."""
    if not 0 < frac <= 1:
        raise ValueError(f"frac must lie in (0, 1], got {frac!r}")
    a = _flat(w).abs()
    total = a.sum().item()
    if total == 0:
        return math.nan
    k = max(1, math.ceil(frac * a.numel() - 1e-9))
    return a.topk(k).values.sum().item() / total


def share_below(w, correlation, threshold: float) -> float:
    """The share of ||w||_1 on entries with |correlation| < threshold; nan if w = 0."""
    a, c = _flat(w).abs(), _flat(correlation).abs()
    if a.shape != c.shape:
        raise ValueError(f"w and correlation differ in size: {a.numel()} vs {c.numel()}")
    total = a.sum().item()
    if total == 0:
        return math.nan
    return a[c < threshold].sum().item() / total
