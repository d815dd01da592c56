"""Projected gradient descent (Madry et al., 2018) for l_inf and l2.

Conventions the tests check:

- the returned ``x_adv`` satisfies ``||x_adv - x|| <= eps`` and ``0 <= x_adv <= 1``;
- the model is put in eval mode during the attack (``bn_mode="train"``: train
  mode, with BatchNorm's running statistics restored) and its mode restored;
  gradients are taken w.r.t. the input only (``torch.autograd.grad``), so no
  parameter ``.grad`` is created or changed;
- per example the best iterate is kept: a point where the attack succeeds
  (misclassified, or classified as the target when ``targeted``) beats one
  where it does not; among equals, the higher loss (lower, when targeted) wins;
- restarts keep, per example, the best point of all restarts, so more
  restarts are never weaker than one.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F

from lib import runtime
from lib.attacks.cuda_graph import graphed_run, use_graph
from lib.attacks.fast import attack_view, fast_input, kept_modes
from lib.attacks.geometry import expand, is_better, project, score, start_delta, step
from lib.attacks.protocol import Loss, check_attack, check_bn_mode

#: The relative step rule of Madry et al. (2018): ``steps`` steps of
#: ``STEP_RULE * eps / steps``, so the walk can cross the ball and back.
#: The one place it is written; use :func:`step_factor` or :meth:`PGD.madry`.
STEP_RULE = 2.5


def _rule_steps(steps: int) -> int:
    """``steps``, checked: the rule divides by it, so 0 steps has no step size to give."""
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"the relative step rule needs steps an int >= 1, got {steps!r}")
    return steps


def step_factor(steps: int) -> float:
    """Step size / eps of the relative step rule for ``steps`` steps (an int >= 1)."""
    return STEP_RULE / _rule_steps(steps)


def step_size(eps: float, steps: int) -> float:
    """The relative step rule's step size in [0, 1] pixel space: 2.5 * eps / steps."""
    return STEP_RULE * eps / _rule_steps(steps)  # not step_factor * eps: the same bits as before


def _default_step_size(eps, steps):
    """The relative step rule's step size, or 0 where it has none (0 steps take no step).

    Invalid ``eps`` or ``steps`` pass through untouched for :func:`check_attack` to refuse.
    """
    if isinstance(steps, int) and not isinstance(steps, bool) and steps >= 1:
        if isinstance(eps, int | float) and not isinstance(eps, bool):
            return step_size(eps, steps)
    return 0.0


def _per_example_ce(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits, y, reduction="none")


def pgd(
    model: torch.nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    eps: float,
    norm,
    steps: int,
    step_size: float | None = None,
    random_start: bool = True,
    restarts: int = 1,
    targeted: bool = False,
    loss: Loss | None = None,
    precision: str = "auto",
    generator: torch.Generator | None = None,
    bn_mode: str = "eval",
    cuda_graph: bool | None = None,
    fold: bool = True,
    check_range: bool = True,
) -> torch.Tensor:
    r"""Projected gradient descent (Madry et al., 2018) within the eps-ball of ``x``.

    Ascends the loss (descends it towards ``y`` when ``targeted``) by ``steps``
    signed (l_inf) or normalized (l2) gradient steps, projecting back onto the
    ball and the pixel box after each; per example the best point seen is kept
    (a success beats a failure; among equals, the higher loss), over all
    ``restarts``. The model is in eval mode during the attack and its mode is
    restored; only input gradients are taken, so no parameter ``.grad`` changes.

    Distance measure:
        l_inf (``norm="Linf"``) or l2 (``norm="L2"``), in [0, 1] pixel space:
        ``x_adv`` lies in :math:`\{x' : \|x' - x\|_p \le \epsilon,\ 0 \le x' \le 1\}`.

    Args:
        model (nn.Module): maps inputs in [0, 1] to logits; normalization, if
            any, belongs inside it.
        x (Tensor): inputs in [0, 1] pixel space (refused otherwise).
        y (Tensor): the true labels (untargeted) or the target labels
            (``targeted``); never the model's predictions.
        eps (float): radius of the ball in [0, 1] pixel space: the largest
            change of one pixel (l_inf) or the l2 length of the change. Required.
        norm (str | int | float): ``"Linf"``, ``"linf"``, ``"inf"`` or
            ``math.inf`` for l_inf; ``"L2"``, ``"l2"``, ``2`` or ``"2"`` for l2
            (see :func:`check_norm`). Required.
        steps (int): gradient steps; 0 returns the start point. Required.
        step_size (float | None): length of one step in [0, 1] pixel space
            (per pixel for l_inf, l2 length for l2). (Default: None, the
            relative step rule of Madry et al., ``2.5 * eps / steps``, so the
            walk can cross the ball and back.)
        random_start (bool): start uniformly inside the ball instead of at
            ``x``. (Default: True)
        restarts (int): independent runs, the best kept per example; runs after
            the first attack only the examples not yet broken. (Default: 1)
        targeted (bool): descend the loss towards ``y``. (Default: False)
        loss (callable | None): per-example loss ``loss(logits, y) -> [N]``.
            (Default: None, cross-entropy)
        precision (str): ``"fp32"``, ``"bf16"`` (autocast; the perturbation,
            the projection and the loss stay fp32) or ``"auto"``: bf16 where the
            hardware has it (CUDA with bf16, a CPU with AMX or AVX-512 BF16),
            else fp32. ``lib.runtime.resolve_precision("auto", device)`` says
            which. Pass ``"fp32"`` for results comparable across machines.
            (Default: "auto")
        generator (torch.Generator | None): CPU generator for the random
            starts, for a seeded attack. (Default: None, the global one)
        bn_mode (str): ``"eval"``: BatchNorm uses its running statistics;
            ``"train"``: the attacked batch's own statistics, as when the attack
            is built inside a training graph (MadryLab/cifar10_challenge); the
            running statistics are restored. (Default: "eval")
        cuda_graph (bool | None): on CUDA, capture one step in a CUDA graph
            and replay it (same kernels, same results; one launch per step).
            None follows ``lib.attacks.cuda_graph``'s switch (``"auto"``: on
            for CUDA with ``bn_mode="eval"``); ignored on the CPU. (Default: None)
        fold (bool): on the CPU with ``bn_mode="eval"``, run a cached copy
            with each conv+BatchNorm folded into one conv, in channels_last;
            the caller's model is left as it was. (Default: True)
        check_range (bool): refuse ``x`` outside [0, 1] (one host sync per
            call). (Default: True)

    Shape:
        - x: :math:`(N, ...)`, e.g. :math:`(N, C, H, W)`, values in [0, 1].
        - y: :math:`(N)`, int64 class indices.
        - output: the shape and dtype of ``x``.

    Returns:
        Tensor: ``x_adv``, detached, with ``||x_adv - x||_p <= eps`` and
        ``0 <= x_adv <= 1``.

    Example:
        >>> from lib.attacks import pgd
        >>> x_adv = pgd(model, x, y, eps=0.3, norm="Linf", steps=10)  # step 0.075
        >>> x_adv = pgd(model, x, y, eps=2.0, norm="L2", steps=20, precision="fp32")
    """
    step_size = _default_step_size(eps, steps) if step_size is None else step_size
    eps, norm = check_attack(eps, norm, steps, step_size, restarts)
    check_bn_mode(bn_mode)
    check_pixels(x, check_range)
    if cuda_graph and bn_mode != "eval":
        raise ValueError('cuda_graph=True needs bn_mode="eval" (batch statistics change in place)')
    loss_fn = loss or _per_example_ce
    precision = runtime.resolve_precision(precision, x.device)
    x_in = x.detach()
    x = fast_input(x_in, model)
    buffers = {k: v.clone() for k, v in model.named_buffers()} if bn_mode == "train" else None
    views = contextlib.ExitStack()
    views.enter_context(kept_modes(model))  # every module's own mode back, last
    model.train(bn_mode == "train")
    try:
        net = views.enter_context(attack_view(model, x.device, bn_mode, fold=fold))
        best_x = x.clone()
        best_ok = torch.zeros(len(x), dtype=torch.bool, device=x.device)
        best_obj = torch.full((len(x),), -math.inf, device=x.device)
        for restart in range(restarts):
            # A restart only attacks the examples no earlier run has broken
            # (as AutoAttack does): the others already have their worst case.
            # One host sync per restart, none inside the step loop.
            idx = None if restart == 0 else (~best_ok).nonzero().flatten()
            if idx is not None and len(idx) == 0:
                break
            xs, ys = (x, y) if idx is None else (x[idx], y[idx])
            graphed = use_graph(cuda_graph, x.device, bn_mode, restart)
            run = (graphed_run if graphed else _one_run)(
                net,
                xs,
                ys,
                eps=eps,
                norm=norm,
                steps=steps,
                step_size=step_size,
                random_start=random_start,
                targeted=targeted,
                loss_fn=loss_fn,
                precision=precision,
                generator=generator,
            )
            if idx is None:
                best_x, best_ok, best_obj = run
            else:
                rx, rok, robj = run
                better = is_better(rok, robj, best_ok[idx], best_obj[idx])
                best_x[idx] = torch.where(expand(better, rx), rx, best_x[idx])
                best_obj[idx] = torch.where(better, robj, best_obj[idx])
                best_ok[idx] = best_ok[idx] | rok
    finally:
        if buffers is not None:
            with torch.no_grad():
                for k, v in model.named_buffers():
                    v.copy_(buffers[k])
        views.close()
    return best_x if x is x_in else best_x.contiguous()


def check_pixels(x: torch.Tensor, check_range: bool = True) -> None:
    """Refuse inputs that are not floating point, or (``check_range``) not in [0, 1]."""
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise TypeError(
            "pgd needs floating-point inputs in [0, 1] pixel space, got "
            f"{getattr(x, 'dtype', type(x).__name__)}"
        )
    if check_range and x.numel():
        lo, hi = (float(v) for v in torch.aminmax(x.detach()))  # the one sync
        if not 0.0 <= lo <= hi <= 1.0:  # also False for NaN
            raise ValueError(
                f"pgd inputs must be in [0, 1] pixel space, got values in [{lo:.4g}, {hi:.4g}]: "
                "normalization belongs inside the model, not in its inputs"
            )


def _one_run(
    model,
    x,
    y,
    *,
    eps,
    norm,
    steps,
    step_size,
    random_start,
    targeted,
    loss_fn,
    precision,
    generator,
):
    """One PGD run from one start; per example its best point, success and objective."""
    best_x = x.clone()
    best_ok = torch.zeros(len(x), dtype=torch.bool, device=x.device)
    best_obj = torch.full((len(x),), -math.inf, device=x.device)
    delta = start_delta(x, eps=eps, norm=norm, random_start=random_start, generator=generator)
    for i in range(steps + 1):
        last = i == steps  # the last point is evaluated, not stepped from
        delta.requires_grad_(not last)
        with torch.set_grad_enabled(not last), runtime.autocast(x.device, precision):
            logits = model(x + delta)
        obj, ok = score(logits, y, targeted=targeted, loss_fn=loss_fn)
        # Keep the better of the stored and the current point. No host sync:
        # everything stays on the device.
        better = is_better(ok, obj.detach(), best_ok, best_obj)
        best_x = torch.where(expand(better, x), (x + delta).detach(), best_x)
        best_ok = best_ok | ok
        best_obj = torch.where(better, obj.detach(), best_obj)
        if last:
            break
        (grad,) = torch.autograd.grad(obj.sum(), [delta])
        delta = project(
            x, step(delta.detach(), grad, norm=norm, step_size=step_size), eps=eps, norm=norm
        )
    return best_x, best_ok, best_obj


@dataclass(frozen=True)
class PGD:
    """A PGD adversary as settings; calling it runs :func:`pgd`.

    The form training and evaluation take (an :class:`Attack`): the settings
    are fixed and go into store keys; the call adds the run's precision,
    generator and BatchNorm mode. The norm is stored in its canonical
    spelling (``"inf"`` or ``2``) whatever the caller wrote.

    Distance measure:
        l_inf or l2 in [0, 1] pixel space, as :func:`pgd`.

    Args:
        eps (float): radius of the ball in [0, 1] pixel space. Required.
        norm (str | int | float): ``"Linf"`` or ``"L2"`` (any spelling of
            :func:`check_norm`). Required.
        steps (int): gradient steps. Required.
        step_size (float | None): step length in [0, 1] pixel space.
            (Default: None, the relative step rule ``2.5 * eps / steps``)
        random_start (bool): start uniformly inside the ball. (Default: True)
        restarts (int): independent runs, the best kept per example. (Default: 1)
        cuda_graph (bool): True forces the CUDA-graph step; False leaves it to
            ``lib.attacks.cuda_graph``'s switch. (Default: False)

    Shape:
        - x: :math:`(N, ...)` in [0, 1]; y: :math:`(N)`; output: as ``x``.

    Returns:
        PGD: the settings; ``attack(model, x, y, precision="auto", generator=None,
        bn_mode="eval")`` returns ``x_adv`` as :func:`pgd`.

    Example:
        >>> from lib.attacks import PGD
        >>> attack = PGD(eps=0.3, norm="Linf", steps=40)  # step_size 2.5 * 0.3 / 40
        >>> attack.describe()
        'PGD l_inf eps=0.3: 40 steps of 0.01875, random start'
        >>> x_adv = attack(model, x, y, precision="fp32")
    """

    eps: float
    norm: str | int
    steps: int
    step_size: float | None = None
    random_start: bool = True
    restarts: int = 1
    # How it runs, not what it computes: True forces the CUDA-graph step;
    # False leaves it to the switch of lib.attacks.cuda_graph (default "auto").
    # The field stays a bool: it is part of the store's keys.
    cuda_graph: bool = False

    def __post_init__(self):
        if self.step_size is None:
            object.__setattr__(self, "step_size", _default_step_size(self.eps, self.steps))
        eps, norm = check_attack(self.eps, self.norm, self.steps, self.step_size, self.restarts)
        object.__setattr__(self, "norm", norm)
        object.__setattr__(self, "eps", eps)

    @classmethod
    def relative(cls, eps: float, norm, steps: int, step_factor: float, **kwargs) -> PGD:
        """Settings with ``step_size = step_factor * eps``."""
        return cls(eps=eps, norm=norm, steps=steps, step_size=step_factor * eps, **kwargs)

    @classmethod
    def madry(cls, eps: float, norm, steps: int, **kwargs) -> PGD:
        """``steps`` steps of the relative step rule: ``step_size = 2.5 * eps / steps``."""
        return cls(eps=eps, norm=norm, steps=steps, step_size=step_size(eps, steps), **kwargs)

    def __call__(self, model, x, y, *, precision: str = "auto", generator=None, **kwargs):
        settings = asdict(self)
        settings["cuda_graph"] = kwargs.pop("cuda_graph", True if self.cuda_graph else None)
        return pgd(model, x, y, **settings, precision=precision, generator=generator, **kwargs)

    def describe(self) -> str:
        """One line saying what the attack does (stored with every result)."""
        name = "l_inf" if self.norm == "inf" else "l2"
        start = ", random start" if self.random_start else ""
        rs = f", {self.restarts} restarts" if self.restarts > 1 else ""
        return (
            f"PGD {name} eps={self.eps:.4g}: {self.steps} steps of {self.step_size:.4g}{start}{rs}"
        )
