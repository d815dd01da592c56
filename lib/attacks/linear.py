"""Linear models: the exact l_inf worst case of a binary linear model."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from lib.attacks.protocol import check_eps, check_norm


def linear_worst_case(model, x: torch.Tensor, y: torch.Tensor, *, eps: float, box: bool = True):
    r"""The exact l_inf worst case of a binary linear model: no search, no step size.

    The margin s (w^T x + b), s = 2y - 1, is linear and separable in x, so
    the minimizer over the l_inf ball moves every pixel by eps against
    s * sign(w_i); with ``box=True`` each pixel is then clipped to [0, 1],
    which is still the exact minimizer over the ball intersected with the box.
    Without the box the margin drops by exactly eps * ||w||_1.

    Distance measure:
        l_inf in [0, 1] pixel space: :math:`\{x' : \|x' - x\|_\infty \le \epsilon\}`,
        intersected with :math:`0 \le x' \le 1` when ``box``.

    Args:
        model (LinearModel): a binary linear model with ``weight`` (w) and
            ``margin(x)`` (``lib.models.LinearModel``).
        x (Tensor): inputs in [0, 1] pixel space.
        y (Tensor): labels, 0 or 1 (the paper's -1 and +1).
        eps (float): radius of the l_inf ball in [0, 1] pixel space. Required.
        box (bool): clip to [0, 1]. (Default: True)

    Shape:
        - x: :math:`(N, ...)`; y: :math:`(N)`; output: as ``x``.

    Returns:
        Tensor: ``x_adv``, the exact minimizer of the margin.

    Example:
        >>> from lib.attacks import linear_worst_case
        >>> x_adv = linear_worst_case(model, x, y, eps=0.1)
    """
    eps = check_eps(eps)
    w = model.weight.detach().view(x.shape[1:])
    s = (2 * y - 1).to(x.dtype).view(-1, *([1] * (x.dim() - 1)))
    # x - eps * s * sign(w) in one pass, clipped in place: on a full batch (binary
    # MNIST's 11,686 images) each temporary of the image's size was a fresh 37 MB.
    # s * sign(w) is -1, 0 or 1, so every product is exact: the same bits as before.
    x_adv = torch.addcmul(x, s, w.sign(), value=-eps)
    return x_adv.clamp_(0, 1) if box else x_adv


def linear_robust_margin(model, x: torch.Tensor, y: torch.Tensor, *, eps: float) -> torch.Tensor:
    """s (w^T x + b) - eps ||w||_1: the worst-case margin over the l_inf ball (no box).

    Differentiable in the model's parameters: training on the logistic loss
    of this margin is exact adversarial training for a linear model.
    """
    eps = check_eps(eps)
    s = (2 * y - 1).to(x.dtype)
    return s * model.margin(x) - eps * model.weight.abs().sum()


@dataclass(frozen=True)
class LinearWorstCase:
    """The exact l_inf adversary of a binary linear model, as settings.

    Calling it runs :func:`linear_worst_case`; it plays the role of a
    :class:`PGD` in training and evaluation (an :class:`Attack`).

    Distance measure:
        l_inf in [0, 1] pixel space, as :func:`linear_worst_case`.

    Args:
        eps (float): radius of the l_inf ball in [0, 1] pixel space. Required.
        box (bool): clip the adversarial input to [0, 1]. (Default: True)
        norm (str): l_inf only, in any spelling of :func:`check_norm`; stored
            as ``"inf"``. (Default: "inf")

    Shape:
        - x: :math:`(N, ...)` in [0, 1]; y: :math:`(N)`; output: as ``x``.

    Returns:
        LinearWorstCase: the settings; ``attack(model, x, y)`` returns ``x_adv``.

    Example:
        >>> from lib.attacks import LinearWorstCase
        >>> from lib.train import evaluate
        >>> robust = evaluate(model, test_set, LinearWorstCase(eps=0.1))
    """

    eps: float
    box: bool = True  # clip the adversarial input to [0, 1]
    norm: str = "inf"

    def __post_init__(self):
        check_eps(self.eps)
        object.__setattr__(self, "norm", check_norm(self.norm))  # keys hold one spelling
        if self.norm != "inf":
            raise ValueError("the exact linear worst case is implemented for norm 'inf' only")

    def __call__(self, model, x, y, *, precision="auto", generator=None, bn_mode="eval"):
        # Exact and deterministic: no precision, random start or BatchNorm to set.
        return linear_worst_case(model, x, y, eps=self.eps, box=self.box)

    def describe(self) -> str:
        box = ", clipped to [0, 1]" if self.box else ""
        return f"exact l_inf worst case of a linear model, eps={self.eps:.4g}{box}"
