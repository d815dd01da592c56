"""Attacks in [0, 1] pixel space: PGD (Madry et al., 2018) for l_inf and l2, the
exact worst case of a binary linear model, and the gradient-masking audit.

Modules: ``protocol`` (what an attack is; argument checks), ``geometry``
(random start, step, projection per norm), ``pgd`` (the loop, :class:`PGD`,
the relative step rule), ``cuda_graph`` (the step replayed from a CUDA graph),
``linear`` (the exact linear worst case), ``audit`` (strong PGD, AutoAttack
components, masking flags). The names below are the public surface:
``lib.attacks.pgd(...)``, ``lib.attacks.PGD``, ``lib.attacks.LinearWorstCase``.
"""

from lib.attacks.geometry import project, random_perturb, step
from lib.attacks.linear import LinearWorstCase, linear_robust_margin, linear_worst_case
from lib.attacks.pgd import PGD, STEP_RULE, pgd, step_factor, step_size
from lib.attacks.protocol import (
    BN_MODES,
    NORMS,
    Attack,
    Loss,
    check_attack,
    check_bn_mode,
    check_eps,
    check_norm,
)

__all__ = [
    "BN_MODES",
    "NORMS",
    "PGD",
    "STEP_RULE",
    "Attack",
    "LinearWorstCase",
    "Loss",
    "check_attack",
    "check_bn_mode",
    "check_eps",
    "check_norm",
    "linear_robust_margin",
    "linear_worst_case",
    "pgd",
    "project",
    "random_perturb",
    "step",
    "step_factor",
    "step_size",
]
