"""The gradient-masking audit: is a model as robust as its training attack says?

As AutoAttack does before it reports a number, a model's robust accuracy is
measured against a suite of attacks: the training PGD, a strong PGD (many
steps, restarts), and the AutoAttack components APGD-CE, APGD-T, FAB-T and the
gradient-free Square (from torchattacks, the peer library). A model counts as
robust on an image only if it survives every attack. Two flags say masking:
input gradients that are exactly zero, or the gradient-free Square beating
the strong PGD by more than :data:`SQUARE_MARGIN`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from lib import runtime
from lib.attacks.fast import eval_view
from lib.attacks.protocol import check_norm
from lib.attacks.strong import restarted_pgd

#: Square above strong PGD by more than this (in accuracy) flags masking.
SQUARE_MARGIN = 0.02

AttackFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class AuditBudget:
    """How hard the audit attacks."""

    strong_steps: int  # strong PGD: steps of 2.5 * eps / steps ...
    strong_restarts: int  # ... from this many random starts
    steps: int  # APGD-CE, APGD-T and FAB-T iterations
    targets: int  # target classes of APGD-T and FAB-T
    queries: int  # Square's queries
    n_classes: int = 10


def survives(model, attack_fn: AttackFn, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per image: classified correctly before the attack and after it."""
    with torch.no_grad():
        ok = model(x).argmax(1) == y
    x_adv = attack_fn(x, y)
    with torch.no_grad():
        return ok & (model(x_adv).argmax(1) == y)


def suite(model, *, norm, eps: float, training_attack, budget: AuditBudget, seed: int = 0):
    """The audit's attacks, each a function ``(x, y) -> x_adv``, by name.

    ``training_attack`` is the model's own training adversary (an
    :class:`~lib.attacks.Attack`); it runs in fp32 with a seeded start.
    """
    import torchattacks  # the peer library, used by the audit only

    norm = check_norm(norm)
    ta_norm = "Linf" if norm == "inf" else "L2"
    if any(p.is_cuda for p in model.parameters()):
        runtime.strict_fp32()  # fp32 means fp32 for torchattacks' attacks too, not TF32
    # torchattacks' attacks see the fast eval-mode forward (fp32: folded or
    # channels_last, as pgd's own); survival is judged on ``model`` itself.
    view = eval_view(model)
    apgdt = torchattacks.APGDT(
        view, norm=ta_norm, eps=eps, steps=budget.steps, n_classes=budget.n_classes, seed=seed
    )
    apgdt.n_target_classes = budget.targets
    fab = torchattacks.FAB(
        view,
        norm=ta_norm,
        eps=eps,
        steps=budget.steps,
        multi_targeted=True,
        n_classes=budget.n_classes,
        seed=seed,
    )
    fab.n_target_classes = budget.targets

    def training_pgd(x, y):
        g = torch.Generator().manual_seed(seed)
        return training_attack(model, x, y, precision="fp32", generator=g)

    strong_pgd = restarted_pgd(
        model,
        eps=eps,
        norm=norm,
        steps=budget.strong_steps,
        restarts=budget.strong_restarts,
        precision="fp32",
        seed=seed,
    )
    return {
        "training PGD": training_pgd,
        "strong PGD": strong_pgd,
        "APGD-CE": torchattacks.APGD(
            view, norm=ta_norm, eps=eps, steps=budget.steps, loss="ce", seed=seed
        ),
        "APGD-T": apgdt,
        "FAB-T": fab,
        "Square": torchattacks.Square(
            view, norm=ta_norm, eps=eps, n_queries=budget.queries, seed=seed
        ),
    }


#: The suite's attacks, in order (:func:`suite`).
ATTACKS = ("training PGD", "strong PGD", "APGD-CE", "APGD-T", "FAB-T", "Square")

#: Relative cost of each attack of the suite at the `cpu` budget (one MNIST
#: model, one thread: strong PGD ~120 s, FAB-T and Square ~85-130 s, APGD-T
#: ~55 s, APGD-CE ~18 s), for scheduling (:func:`lib.experiments.execute.parallel.in_workers`).
COSTS = {
    "training PGD": 0.02,
    "strong PGD": 1.0,
    "APGD-CE": 0.15,
    "APGD-T": 0.45,
    "FAB-T": 0.9,
    "Square": 0.9,
}


def accuracies(survived: dict[str, torch.Tensor]) -> dict:
    """Robust accuracy under each attack, and under all of them (``"all"``), from
    each attack's per-image :func:`survives`."""
    robust = dict(survived)
    robust["all"] = torch.stack(list(robust.values())).all(0)
    return {name: r.float().mean().item() for name, r in robust.items()}


def robust_accuracies(model, attacks: dict[str, AttackFn], x, y, progress=None) -> dict:
    """Robust accuracy under each attack, and under all of them (``"all"``)."""
    it = (progress or (lambda it: it))(attacks.items())
    return accuracies({name: survives(model, attack, x, y) for name, attack in it})


def zero_gradient_fraction(model, x, y) -> float:
    """The fraction of input-gradient entries that are exactly zero."""
    from lib import saliency

    return saliency.zero_gradient_fraction(saliency.input_gradient(model, x, y))


def flags_of(zero_fraction: float, accs: dict) -> dict:
    """The two signs of gradient masking, from their measurements."""
    return {
        "zero-gradient fraction": zero_fraction,
        "Square beats strong PGD by": accs["strong PGD"] - accs["Square"],
    }


def masking_flags(model, x, y, accs: dict) -> dict:
    """The two signs of gradient masking: zero input gradients, Square above strong PGD."""
    return flags_of(zero_gradient_fraction(model, x, y), accs)


def masked(flags: dict) -> bool:
    """Whether the flags say masking (see :func:`masking_flags`)."""
    return (
        flags["zero-gradient fraction"] > 0 or flags["Square beats strong PGD by"] > SQUARE_MARGIN
    )
