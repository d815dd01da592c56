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


#: Every accepted spelling of each norm (strings in any case), mapped to the
#: canonical one that settings and store keys hold: ``"inf"`` or ``2``.
NORM_SPELLINGS = {"inf": ("inf", "linf", "l_inf", math.inf), 2: ("2", "l2", 2)}


def check_norm(norm) -> str | int:
    """The canonical norm, ``"inf"`` or ``2``, of any accepted spelling.

    The one normaliser of every entry point that takes a norm (attacks,
    :class:`~lib.experiments.runs.RunConfig`, profiles, evaluations), so a norm reaches
    keys and comparisons in one spelling whatever the caller wrote.

    Args:
        norm (str | int | float): l_inf as ``"inf"``, ``"Linf"`` (RobustBench's
            and AutoAttack's spelling), ``"linf"``, ``"l_inf"`` or ``math.inf``;
            l2 as ``2``, ``"2"``, ``"L2"`` or ``"l2"``. Strings in any case.

    Returns:
        str | int: ``"inf"`` or ``2``.

    Any other value (``"l1"``, ``1``, ``True``...) raises a ``ValueError``
    that lists the accepted spellings.

    Example:
        >>> check_norm("Linf"), check_norm("L2"), check_norm(float("inf"))
        ('inf', 2, 'inf')
    """
    if isinstance(norm, str):
        spelled = norm.strip().lower()
        for canonical, spellings in NORM_SPELLINGS.items():
            if spelled in spellings:
                return canonical
    elif isinstance(norm, int | float) and not isinstance(norm, bool):
        if math.isinf(norm) and norm > 0:
            return "inf"
        if norm == 2:
            return 2
    raise ValueError(
        f'norm must be "inf" or 2, got {norm!r}; accepted spellings: l_inf as "inf", '
        '"Linf", "linf", "l_inf" or math.inf; l2 as 2, "2", "L2" or "l2" (strings in any case)'
    )


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
    """What an attack is: the contract of :class:`PGD`, :class:`LinearWorstCase` and any
    other attack that ``lib.train`` and ``lib.experiments.runs`` use.

    A callable ``attack(model, x, y, *, precision, generator, bn_mode) -> x_adv``
    (an attack that needs none of the keywords ignores them) with a
    ``describe()`` that says in one line what it does, stored with every result.

    Distance measure:
        the attack's own; ``x_adv`` stays in [0, 1] pixel space.

    Shape:
        - x: :math:`(N, ...)` in [0, 1]; y: :math:`(N)`; output: as ``x``.

    Example:
        >>> from lib.attacks import PGD, Attack
        >>> isinstance(PGD(eps=0.3, norm="Linf", steps=10), Attack)
        True
    """

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
