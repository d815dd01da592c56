"""What an attack is, and the checks of its arguments.

An attack maps ``(model, x, y)`` to ``x_adv`` in the threat model's ball; the
training loop and evaluation call every attack the same way, with the run's
precision, a seeded generator for random starts, and the BatchNorm mode, so
a new attack class receives them too (it may ignore what it does not need).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Protocol, runtime_checkable

import torch

NORMS = ("inf", 2)
BN_MODES = ("eval", "train")

Loss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def check_norm(norm) -> str | int:
    """Return the canonical norm, ``"inf"`` or ``2``; anything else is an error."""
    if norm in ("inf", "linf") or (isinstance(norm, float) and math.isinf(norm)):
        return "inf"
    if norm in (2, "2", "l2"):
        return 2
    raise ValueError(f'norm must be "inf" or 2, got {norm!r}')


def check_bn_mode(bn_mode: str) -> str:
    if bn_mode not in BN_MODES:
        raise ValueError(f"bn_mode must be one of {BN_MODES}, got {bn_mode!r}")
    return bn_mode


def check_eps(eps: float) -> float:
    """``eps`` as a float (``2`` and ``2.0`` are one eps); a bool is not a number here."""
    if (
        isinstance(eps, bool)
        or not isinstance(eps, (int, float))
        or not eps >= 0
        or math.isinf(eps)
    ):
        raise ValueError(f"eps must be a finite number >= 0 (pixel space [0, 1]), got {eps!r}")
    return float(eps)


def check_attack(eps, norm, steps, step_size, restarts):
    norm = check_norm(norm)
    eps = check_eps(eps)
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps must be an int >= 0 (not a bool), got {steps!r}")
    if (
        isinstance(step_size, bool)
        or not isinstance(step_size, (int, float))
        or not 0 <= step_size < math.inf
    ):
        raise ValueError(f"step_size must be a finite number >= 0, got {step_size!r}")
    if isinstance(restarts, bool) or not isinstance(restarts, int) or restarts < 1:
        raise ValueError(f"restarts must be an int >= 1 (not a bool), got {restarts!r}")
    return eps, norm


@runtime_checkable
class Attack(Protocol):
    """The contract of :class:`~lib.attacks.PGD`, :class:`~lib.attacks.LinearWorstCase`
    and any other attack used by :mod:`lib.train` and :mod:`lib.runs`."""

    def __call__(
        self,
        model: torch.nn.Module,
        x: torch.Tensor,
        y: torch.Tensor,
        *,
        precision: str = "auto",
        generator: torch.Generator | None = None,
        bn_mode: str = "eval",
    ) -> torch.Tensor: ...

    def describe(self) -> str:
        """One line saying what the attack does; stored with every result."""
        ...
