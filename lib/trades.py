"""TRADES (Zhang, Yu, Jiao, Xing, El Ghaoui, Jordan, ICML 2019): the trade-off as a knob.

The training loss is

    CE(f(x), y) + beta * max_{x' in B(x, eps)} KL(softmax f(x) || softmax f(x'))

with the inner maximization done as in the official code
(yaodongyu/TRADES, ``trades.py``): start at ``x + 0.001 N(0, I)``, take
``steps`` sign-gradient steps of ``step_size`` on the KL term with the model
in eval mode, projecting onto the l_inf ball and the [0, 1] box after each,
and keep the last iterate. The KL is averaged over the batch
(``batchmean``). Larger beta: more robust, less accurate; beta = 0 is
standard training.

Why not :func:`lib.attacks.pgd` with ``loss=``: its loss is called as
``loss(logits, y)`` with ``y`` also deciding which iterate counts as a
success (``argmax != y``), and it keeps the best iterate per example and
starts uniformly in the ball. The KL objective needs the clean logits, and
TRADES keeps the last iterate from a tiny Gaussian start, so the attack is
written here with the same geometry helpers (:func:`lib.attacks.step`,
:func:`lib.attacks.project`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from lib import runtime
from lib.attacks import check_attack, check_bn_mode, project, step

INIT_STD = 0.001  # the official start: x + 0.001 * N(0, I), in [0, 1] pixel space


def kl_per_example(clean_logits: torch.Tensor, adv_logits: torch.Tensor) -> torch.Tensor:
    """KL(softmax(clean) || softmax(adv)) per example, ``[N]``, in fp32."""
    p_log = F.log_softmax(clean_logits.float(), dim=1)
    q_log = F.log_softmax(adv_logits.float(), dim=1)
    return (p_log.exp() * (p_log - q_log)).sum(1)


def kl_attack(
    model: torch.nn.Module,
    x: torch.Tensor,
    *,
    eps: float,
    steps: int,
    step_size: float,
    norm="inf",
    init_std: float = INIT_STD,
    generator: torch.Generator | None = None,
    precision: str = "auto",
    bn_mode: str = "eval",
) -> torch.Tensor:
    """TRADES' inner maximization: ascend KL(f(x) || f(x')) within the eps-ball of ``x``.

    The model runs in eval mode (``bn_mode="train"``: train mode, BatchNorm
    running statistics restored) and its mode is restored; gradients are
    taken w.r.t. the input only. Returns the last iterate, detached, within
    the ball and in [0, 1]. ``generator``: a CPU generator for the start.
    """
    eps, norm = check_attack(eps, norm, steps, step_size, 1)
    check_bn_mode(bn_mode)
    precision = runtime.resolve_precision(precision, x.device)
    x = x.detach()
    was_training = model.training
    buffers = {k: v.clone() for k, v in model.named_buffers()} if bn_mode == "train" else None
    model.train(bn_mode == "train")
    try:
        with torch.no_grad(), runtime.autocast(x.device, precision):
            clean = model(x).float()
        where = generator.device if generator is not None else x.device
        noise = torch.randn(x.shape, generator=generator, device=where).to(x.device)
        delta = project(x, init_std * noise, eps=eps, norm=norm)
        for _ in range(steps):
            delta.requires_grad_(True)
            with runtime.autocast(x.device, precision):
                adv = model(x + delta)
            (grad,) = torch.autograd.grad(kl_per_example(clean, adv).sum(), [delta])
            delta = project(
                x, step(delta.detach(), grad, norm=norm, step_size=step_size), eps=eps, norm=norm
            )
    finally:
        model.train(was_training)
        if buffers is not None:
            with torch.no_grad():
                for k, v in model.named_buffers():
                    v.copy_(buffers[k])
    return (x + delta).detach()


@dataclass(frozen=True)
class TradesAttack:
    """TRADES' KL adversary as settings; calling it runs :func:`kl_attack` (``y`` unused)."""

    eps: float
    norm: str | int
    steps: int
    step_size: float

    def __post_init__(self):
        eps, norm = check_attack(self.eps, self.norm, self.steps, self.step_size, 1)
        object.__setattr__(self, "norm", norm)
        object.__setattr__(self, "eps", eps)

    @classmethod
    def like(cls, pgd) -> TradesAttack:
        """The KL adversary with a PGD adversary's radius, norm, steps and step size."""
        return cls(pgd.eps, pgd.norm, pgd.steps, pgd.step_size)

    def __call__(self, model, x, y=None, *, precision="auto", generator=None, bn_mode="eval"):
        return kl_attack(
            model,
            x,
            eps=self.eps,
            steps=self.steps,
            step_size=self.step_size,
            norm=self.norm,
            generator=generator,
            precision=precision,
            bn_mode=bn_mode,
        )

    def describe(self) -> str:
        name = "l_inf" if self.norm == "inf" else "l2"
        return (
            f"TRADES KL {name} eps={self.eps:.4g}: {self.steps} steps of {self.step_size:.4g} "
            f"from x + {INIT_STD} N(0, I)"
        )


def trades_loss(
    model: torch.nn.Module,
    x: torch.Tensor,
    x_adv: torch.Tensor,
    y: torch.Tensor,
    *,
    beta: float,
    precision: str = "fp32",
) -> tuple[torch.Tensor, torch.Tensor]:
    """``CE(f(x), y) + beta * mean KL(f(x) || f(x_adv))`` and the clean logits.

    The model is called as it is (train mode in training); the gradient
    flows through both the clean and the adversarial logits, as in the
    official code. Two forward passes, as there (BatchNorm sees each batch
    on its own).
    """
    if not beta >= 0:
        raise ValueError(f"beta must be >= 0, got {beta!r}")
    with runtime.autocast(x.device, runtime.resolve_precision(precision, x.device)):
        clean = model(x).float()
        adv = model(x_adv).float() if beta > 0 else clean.detach()
    loss = F.cross_entropy(clean, y) + beta * kl_per_example(clean, adv).mean()
    return loss, clean
