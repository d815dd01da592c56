"""The strong evaluation: robust accuracy as the per-example worst case of a cascade.

As AutoAttack does, the attacks run one after the other, each on the images
that are still robust after the ones before it (an image broken once stays
broken), so a model that is not robust costs almost nothing. The cascade:
the profile's own evaluation PGD (its result is the stored one), a strong
PGD (many steps of the relative step rule, several random restarts),
APGD-CE and the targeted APGD-T (the first two AutoAttack components,
Croce and Hein 2020, from torchattacks, the peer library). An image counts
as robust only if it survives every attack.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import torch

from lib import runtime
from lib.attacks.fast import eval_view
from lib.attacks.pgd import pgd, step_size
from lib.attacks.protocol import check_norm

#: The cascade's attacks after the profile's PGD, in the order they run.
COMPONENTS = ("strong PGD", "APGD-CE", "APGD-T")

AttackFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class StrongBudget:
    """How hard the strong evaluation attacks (per image still robust); 0 skips a component.

    Args:
        pgd_steps (int): strong PGD's steps of 2.5 * eps / steps (the relative
            step rule). Required.
        pgd_restarts (int): strong PGD's random starts, the best kept per image.
            Required.
        apgd_steps (int): APGD-CE's iterations (one run). Required.
        apgdt_targets (int): APGD-T's target classes (the highest-scoring wrong
            ones). Required.
        apgdt_steps (int): APGD-T's iterations per target. Required.
        n_classes (int): classes of the model. (Default: 10)

    Example:
        >>> from lib.attacks.strong import StrongBudget
        >>> budget = StrongBudget(pgd_steps=100, pgd_restarts=5, apgd_steps=100,
        ...                       apgdt_targets=9, apgdt_steps=100)
    """

    pgd_steps: int  # strong PGD: steps of 2.5 * eps / steps (the relative step rule) ...
    pgd_restarts: int  # ... from this many random starts (the best kept per image)
    apgd_steps: int  # APGD-CE iterations (one run)
    apgdt_targets: int  # APGD-T: target classes (the highest-scoring wrong ones) ...
    apgdt_steps: int  # ... with this many iterations each
    n_classes: int = 10

    def to_dict(self) -> dict:
        return asdict(self)

    def describe(self) -> str:
        return (
            f"strong PGD {self.pgd_steps} steps x {self.pgd_restarts} restarts, "
            f"APGD-CE {self.apgd_steps} steps, APGD-T {self.apgdt_targets} targets x "
            f"{self.apgdt_steps} steps"
        )


class _AtPrecision(torch.nn.Module):
    """``model`` under the autocast of ``precision``, returning fp32 logits (for torchattacks)."""

    def __init__(self, model, precision: str):
        super().__init__()
        self.model, self.precision = model, precision

    def forward(self, x):
        with runtime.autocast(x.device, self.precision):
            return self.model(x).float()


def restarted_pgd(
    model, *, eps: float, norm, steps: int, restarts: int, precision: str, seed: int
) -> AttackFn:
    """PGD with ``restarts`` random starts of ``steps`` steps of 2.5 eps / steps, as
    ``(x, y) -> x_adv``; every call draws its starts from ``seed`` (eps in [0, 1] pixels)."""

    def attack(x, y):
        return pgd(
            model,
            x,
            y,
            eps=eps,
            norm=norm,
            steps=steps,
            step_size=step_size(eps, steps),
            random_start=True,
            restarts=restarts,
            precision=precision,
            generator=torch.Generator().manual_seed(seed),
        )

    return attack


def components(
    model, *, eps: float, norm, budget: StrongBudget, precision: str = "fp32", seed: int = 0
) -> dict[str, AttackFn]:
    """The cascade's attacks after the profile's PGD, each ``(x, y) -> x_adv``, in order.

    Every component runs at ``precision`` (bf16 autocast where the hardware
    has it: the APGD attacks see the model through :class:`_AtPrecision`);
    :func:`cascade` judges their results in fp32. A component with a zero
    budget is left out.
    """
    import torchattacks  # the peer library, used by the evaluations only

    norm = check_norm(norm)
    # torchattacks runs its own loop on a module: give it the fast forward
    # (folded or channels_last, as pgd's own) rather than the caller's layout.
    fast = _AtPrecision(eval_view(model), precision)
    ta_norm = "Linf" if norm == "inf" else "L2"
    out: dict[str, AttackFn] = {}
    if budget.pgd_steps and budget.pgd_restarts:
        out["strong PGD"] = restarted_pgd(
            model,
            eps=eps,
            norm=norm,
            steps=budget.pgd_steps,
            restarts=budget.pgd_restarts,
            precision=precision,
            seed=seed,
        )
    if budget.apgd_steps:
        out["APGD-CE"] = torchattacks.APGD(
            fast, norm=ta_norm, eps=eps, steps=budget.apgd_steps, loss="ce", seed=seed
        )
    if budget.apgdt_targets and budget.apgdt_steps:
        apgdt = torchattacks.APGDT(
            fast,
            norm=ta_norm,
            eps=eps,
            steps=budget.apgdt_steps,
            n_classes=budget.n_classes,
            seed=seed,
        )
        apgdt.n_target_classes = min(budget.apgdt_targets, budget.n_classes - 1)
        out["APGD-T"] = apgdt
    return out


def cascade(
    model,
    attacks: dict[str, AttackFn],
    x: torch.Tensor,
    y: torch.Tensor,
    robust: torch.Tensor,
    *,
    batch_size: int = 500,
    seconds: dict | None = None,
) -> dict[str, torch.Tensor]:
    """Per image, robust after each attack in turn (a running worst case), as bool tensors.

    ``robust``: the images robust so far (e.g. after the profile's PGD);
    each attack runs only on the images still robust, in batches, and an
    image counts as broken when the model (fp32, eval mode) misclassifies
    its adversarial example. The model's mode is restored. ``seconds``, if
    given, receives each attack's wall time.
    """

    was_training = model.training
    model.eval()
    robust = robust.clone()
    out = {}
    try:
        for name, attack in attacks.items():
            t0 = time.perf_counter()
            idx = robust.nonzero().flatten()
            for start in range(0, len(idx), batch_size):
                b = idx[start : start + batch_size]
                x_adv = attack(x[b], y[b]).detach()
                model.eval()  # an attack may leave the model in another mode
                with torch.no_grad(), runtime.autocast(x.device, "fp32"):
                    robust[b] = model(x_adv).argmax(1) == y[b]
            out[name] = robust.clone()
            if seconds is not None:
                seconds[name] = time.perf_counter() - t0
    finally:
        model.train(was_training)
    return out


def evaluate(
    model,
    x: torch.Tensor,
    y: torch.Tensor,
    pgd_ok: torch.Tensor,
    *,
    eps: float,
    norm,
    budget: StrongBudget,
    precision: str = "fp32",
    seed: int = 0,
    batch_size: int = 500,
) -> dict:
    r"""Robust accuracy as the per-image worst case of a cascade of attacks (as AutoAttack).

    After a first PGD (its outcome given as ``pgd_ok``), each attack of the
    cascade (a strong PGD with restarts, then APGD-CE and the targeted APGD-T
    of Croce and Hein 2020, from torchattacks) runs on the images still robust
    after the ones before it; an image counts as robust only if it survives
    every attack, so the result is never above ``pgd_ok``'s. The results are
    judged in fp32.

    Distance measure:
        l_inf or l2 in [0, 1] pixel space:
        :math:`\{x' : \|x' - x\|_p \le \epsilon,\ 0 \le x' \le 1\}`.

    Args:
        model (nn.Module): maps inputs in [0, 1] to logits.
        x (Tensor): test images in [0, 1] pixel space.
        y (Tensor): their labels.
        pgd_ok (Tensor): per image, robust to the first PGD (bool).
        eps (float): radius of the ball in [0, 1] pixel space. Required.
        norm (str | int): ``"Linf"`` or ``"L2"`` (any spelling of
            ``lib.attacks.check_norm``). Required.
        budget (StrongBudget): how hard each attack tries. Required.
        precision (str): the attacks' precision. (Default: "fp32")
        seed (int): seeds every attack's random starts. (Default: 0)
        batch_size (int): images per attack call. (Default: 500)

    Shape:
        - x: :math:`(N, C, H, W)`; y, pgd_ok: :math:`(N)`.

    Returns:
        dict: ``adv_acc`` (the worst case over all attacks), ``pgd_acc`` (the
        first PGD alone), ``after`` (robust accuracy after each attack in
        turn), ``n``, ``robust`` (per image, ``"1"`` when robust to every
        attack), ``eps``, ``norm``, ``strong`` (the budget in words),
        ``seconds_by_attack``.

    Example:
        >>> from lib.attacks import PGD, strong
        >>> from lib.train import outcomes
        >>> pgd_ok, _ = outcomes(model, (x, y), PGD(eps=0.3, norm="Linf", steps=40))
        >>> m = strong.evaluate(model, x, y, pgd_ok, eps=0.3, norm="Linf", budget=budget)
        >>> m["adv_acc"] <= m["pgd_acc"]
        True
    """
    norm = check_norm(norm)
    fns = components(model, eps=eps, norm=norm, budget=budget, precision=precision, seed=seed)
    seconds: dict[str, float] = {}
    after = cascade(model, fns, x, y, pgd_ok, batch_size=batch_size, seconds=seconds)
    worst = list(after.values())[-1] if after else pgd_ok
    n = len(y)
    return {
        "adv_acc": int(worst.sum()) / n,
        "pgd_acc": int(pgd_ok.sum()) / n,
        "after": {name: int(ok.sum()) / n for name, ok in after.items()},
        "n": n,
        "robust": "".join("1" if ok else "0" for ok in worst.tolist()),
        "eps": eps,
        "norm": str(norm),
        "strong": budget.describe(),
        "seconds_by_attack": seconds,
    }
