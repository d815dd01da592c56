"""Projected gradient descent (Madry et al., 2018) for l_inf and l2, and the
exact worst case of a binary linear model.

The threat model's geometry (random start, step, projection) is kept apart
from the loop, as in MadryLab/robustness. Every eps and step size is in [0, 1]
pixel space: the models normalize inside.

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
import weakref
from collections.abc import Callable
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F

from lib import runtime

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
    if not isinstance(eps, (int, float)) or not eps >= 0 or math.isinf(eps):
        raise ValueError(f"eps must be a finite number >= 0 (pixel space [0, 1]), got {eps!r}")
    return float(eps)


def _check_attack(eps, norm, steps, step_size, restarts):
    norm = check_norm(norm)
    eps = check_eps(eps)
    if not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps must be an int >= 0, got {steps!r}")
    if not isinstance(step_size, (int, float)) or not step_size >= 0:
        raise ValueError(f"step_size must be a number >= 0, got {step_size!r}")
    if not isinstance(restarts, int) or restarts < 1:
        raise ValueError(f"restarts must be an int >= 1, got {restarts!r}")
    return eps, norm


# --------------------------------------------------------------------------
# Geometry of the threat model


def _norms(v: torch.Tensor) -> torch.Tensor:
    """Per-example l2 norms, shaped to broadcast against ``v``."""
    return v.flatten(1).norm(dim=1).view(-1, *([1] * (v.dim() - 1)))


def random_perturb(
    x: torch.Tensor, *, eps: float, norm, generator: torch.Generator | None = None
) -> torch.Tensor:
    """A random start drawn uniformly from the eps-ball around each example.

    l_inf: each coordinate uniform in [-eps, eps]. l2: uniform in the ball
    (not on the sphere): a Gaussian direction scaled to radius eps * U^(1/n),
    n the input dimension. Drawn on the generator's device: a CPU generator
    gives the same start on every device (at the price of a host-to-device
    copy); without a generator the start is drawn on ``x``'s device with the
    global RNG (no copy: what a GPU wants).
    """
    where = generator.device if generator is not None else x.device
    if norm == "inf":
        u = torch.rand(x.shape, generator=generator, device=where) * 2 - 1
        return _to_device(u * eps, x.device)
    direction = torch.randn(x.shape, generator=generator, device=where)
    direction = direction / _norms(direction).clamp_min(1e-12)
    n = x[0].numel()
    radius = torch.rand(x.shape[0], generator=generator, device=where).pow(1 / n) * eps
    return _to_device(direction * radius.view(-1, *([1] * (x.dim() - 1))), x.device)


def _to_device(t: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Copy a CPU tensor to ``device`` without blocking the host.

    A copy from pageable memory to a GPU waits for the GPU; from pinned
    memory it is queued on the stream like any kernel.
    """
    if t.device == device:
        return t
    if device.type == "cuda" and t.device.type == "cpu":
        return t.pin_memory().to(device, non_blocking=True)
    return t.to(device)


def step(delta: torch.Tensor, grad: torch.Tensor, *, norm, step_size: float) -> torch.Tensor:
    """One ascent step: sign of the gradient (l_inf) or its unit direction (l2)."""
    if norm == "inf":
        return delta + step_size * grad.sign()
    return delta + step_size * grad / _norms(grad).clamp_min(1e-12)


def project(x: torch.Tensor, delta: torch.Tensor, *, eps: float, norm) -> torch.Tensor:
    """Project ``delta`` onto the eps-ball, then clip ``x + delta`` to [0, 1].

    Clipping only moves each coordinate of ``delta`` towards 0 (x is in
    [0, 1]), so the result stays inside the ball.
    """
    if norm == "inf":
        delta = delta.clamp(-eps, eps)
    else:
        delta = delta * (eps / _norms(delta).clamp_min(1e-12)).clamp(max=1)
    return (x + delta).clamp(0, 1) - x


# --------------------------------------------------------------------------
# The attack


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
    step_size: float,
    random_start: bool = True,
    restarts: int = 1,
    targeted: bool = False,
    loss: Loss | None = None,
    precision: str = "auto",
    generator: torch.Generator | None = None,
    bn_mode: str = "eval",
    cuda_graph: bool = False,
) -> torch.Tensor:
    """Projected gradient descent on the loss, within the eps-ball of ``x``.

    Args:
        model: maps inputs in [0, 1] to logits. Put in eval mode during the
            attack (BatchNorm uses running statistics); its mode is restored.
        x: inputs in [0, 1], any shape with the batch first.
        y: the true labels (untargeted), or the target labels (``targeted``).
            Never the model's predictions: that would leak the clean answer.
        eps: radius of the ball in [0, 1] pixel space (l_inf) or its l2 norm.
        norm: ``"inf"`` or ``2``.
        steps: number of gradient steps; 0 returns the start point.
        step_size: l_inf: size of each signed step per pixel; l2: l2 length
            of each step.
        random_start: start uniformly inside the ball (see
            :func:`random_perturb`) instead of at ``x``.
        restarts: independent runs; per example the best is kept. Runs
            after the first attack only the examples not yet broken.
        targeted: descend the loss towards ``y`` instead of ascending it away.
        loss: per-example loss ``loss(logits, y) -> [N]``; cross-entropy
            when None.
        precision: ``"auto"`` (bf16 where the hardware has it, see
            :func:`lib.runtime.resolve_precision`), ``"bf16"`` (autocast; the
            perturbation, the projection and the loss stay fp32) or ``"fp32"``.
        generator: CPU generator for the random starts.
        bn_mode: ``"eval"`` (default): the model is in eval mode, BatchNorm
            uses its running statistics. ``"train"``: the model is in train
            mode, BatchNorm normalizes with the attacked batch's own
            statistics (as when the attack is built inside a training graph,
            e.g. MadryLab/cifar10_challenge). The running statistics are
            restored afterwards, so the attack never updates them.
        cuda_graph: on a CUDA device, capture one step (forward, input
            gradient, bookkeeping, step, projection) in a CUDA graph and
            replay it ``steps`` times: one launch per step instead of
            hundreds, which is what small models on a fast GPU are bound by.
            The graph is cached per model, shapes and settings, so the
            capture is paid once. Needs ``bn_mode="eval"``; ignored on the
            CPU. Same kernels, same results as the eager loop.

    Returns:
        ``x_adv``, detached, same shape and dtype as ``x``.
    """
    eps, norm = _check_attack(eps, norm, steps, step_size, restarts)
    check_bn_mode(bn_mode)
    if cuda_graph and bn_mode != "eval":
        raise ValueError('cuda_graph=True needs bn_mode="eval" (batch statistics change in place)')
    graphed = cuda_graph and x.device.type == "cuda"
    loss_fn = loss or _per_example_ce
    precision = runtime.resolve_precision(precision, x.device)
    x = x.detach()
    was_training = model.training
    buffers = {k: v.clone() for k, v in model.named_buffers()} if bn_mode == "train" else None
    model.train(bn_mode == "train")
    try:
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
            run = (_graphed_run if graphed else _one_run)(
                model,
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
                better = _better(rok, robj, best_ok[idx], best_obj[idx])
                best_x[idx] = torch.where(_expand(better, rx), rx, best_x[idx])
                best_obj[idx] = torch.where(better, robj, best_obj[idx])
                best_ok[idx] = best_ok[idx] | rok
    finally:
        model.train(was_training)
        if buffers is not None:
            with torch.no_grad():
                for k, v in model.named_buffers():
                    v.copy_(buffers[k])
    return best_x


def _start(x, *, eps, norm, random_start, generator) -> torch.Tensor:
    """The first perturbation: random in the ball (projected into the box), or zero."""
    if random_start and eps > 0:
        delta = random_perturb(x, eps=eps, norm=norm, generator=generator)
        return project(x, delta, eps=eps, norm=norm)
    return torch.zeros_like(x)


def _score(logits, y, *, targeted, loss_fn):
    """Per example: the objective PGD ascends, and whether the attack succeeds."""
    logits = logits.float()
    obj = (-1.0 if targeted else 1.0) * loss_fn(logits, y)
    pred = logits.argmax(1)
    return obj, (pred == y if targeted else pred != y)


def _better(ok, obj, best_ok, best_obj) -> torch.Tensor:
    """Where a point beats the stored one: success first, then the (detached) objective."""
    return (ok & ~best_ok) | ((ok == best_ok) & (obj > best_obj))


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
    delta = _start(x, eps=eps, norm=norm, random_start=random_start, generator=generator)
    for i in range(steps + 1):
        last = i == steps  # the last point is evaluated, not stepped from
        delta.requires_grad_(not last)
        with torch.set_grad_enabled(not last), runtime.autocast(x.device, precision):
            logits = model(x + delta)
        obj, ok = _score(logits, y, targeted=targeted, loss_fn=loss_fn)
        # Keep the better of the stored and the current point. No host sync:
        # everything stays on the device.
        better = _better(ok, obj.detach(), best_ok, best_obj)
        best_x = torch.where(_expand(better, x), (x + delta).detach(), best_x)
        best_ok = best_ok | ok
        best_obj = torch.where(better, obj.detach(), best_obj)
        if last:
            break
        (grad,) = torch.autograd.grad(obj.sum(), [delta])
        delta = project(
            x, step(delta.detach(), grad, norm=norm, step_size=step_size), eps=eps, norm=norm
        )
    return best_x, best_ok, best_obj


class _StepGraph:
    """One PGD step captured in a CUDA graph, with its static buffers.

    Replaying the graph reads ``x``, ``y``, ``delta`` and the best-so-far
    buffers at fixed addresses and updates them in place, so a run is: copy
    the inputs in, replay ``steps`` times, evaluate the last point eagerly.
    """

    def __init__(self, model, x, y, *, eps, norm, step_size, targeted, loss_fn, precision):
        self.x, self.y = x.clone(), y.clone()
        self.delta = torch.zeros_like(x)
        self.best_x = x.clone()
        self.best_ok = torch.zeros(len(x), dtype=torch.bool, device=x.device)
        self.best_obj = torch.full((len(x),), -math.inf, device=x.device)
        # Autocast's weight cache holds casts made during capture; CUDA
        # graphs need it off (PyTorch's CUDA graphs notes).
        cast = (
            torch.autocast("cuda", dtype=torch.bfloat16, cache_enabled=False)
            if precision == "bf16"
            else contextlib.nullcontext()
        )

        # The cache holds this object per model weakly: no strong reference back.
        net = weakref.ref(model)

        def body():
            delta = self.delta.detach().requires_grad_(True)
            with cast:
                logits = net()(self.x + delta)
            obj, ok = _score(logits, self.y, targeted=targeted, loss_fn=loss_fn)
            better = _better(ok, obj.detach(), self.best_ok, self.best_obj)
            self.best_x.copy_(
                torch.where(_expand(better, self.x), (self.x + delta).detach(), self.best_x)
            )
            self.best_ok.logical_or_(ok)
            self.best_obj.copy_(torch.where(better, obj.detach(), self.best_obj))
            (grad,) = torch.autograd.grad(obj.sum(), [delta])
            new = step(delta.detach(), grad, norm=norm, step_size=step_size)
            self.delta.copy_(project(self.x, new, eps=eps, norm=norm))

        # Warm up on a side stream (cuDNN picks its algorithms, autograd
        # builds its state), then capture; the warm-up's writes are reset by
        # every run's copy-in.
        side = torch.cuda.Stream(device=x.device)
        side.wait_stream(torch.cuda.current_stream(x.device))
        with torch.cuda.stream(side):
            for _ in range(3):
                body()
        torch.cuda.current_stream(x.device).wait_stream(side)
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            body()

    def run(self, x, y, delta, steps):
        self.x.copy_(x)
        self.y.copy_(y)
        self.delta.copy_(delta)
        self.best_x.copy_(x)
        self.best_ok.zero_()
        self.best_obj.fill_(-math.inf)
        for _ in range(steps):
            self.graph.replay()
        return self.delta.clone(), self.best_x.clone(), self.best_ok.clone(), self.best_obj.clone()


#: Captured steps per model (weakly held): key -> _StepGraph, oldest first.
_GRAPHS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_GRAPHS_PER_MODEL = 8


def _graphed_run(
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
    """:func:`_one_run` with the step loop replayed from a cached CUDA graph."""
    # The graph reads parameters and buffers at the addresses it was captured
    # with: moving the model (``.to``, a new layout) must capture anew.
    addresses = tuple(t.data_ptr() for t in (*model.parameters(), *model.buffers()))
    key = (
        tuple(x.shape),
        x.dtype,
        tuple(y.shape),
        x.device,
        eps,
        norm,
        step_size,
        targeted,
        loss_fn,
        precision,
        addresses,
    )
    graphs = _GRAPHS.setdefault(model, {})
    graph = graphs.pop(key, None)
    if graph is None:
        graph = _StepGraph(
            model,
            x,
            y,
            eps=eps,
            norm=norm,
            step_size=step_size,
            targeted=targeted,
            loss_fn=loss_fn,
            precision=precision,
        )
    graphs[key] = graph  # most recently used last
    while len(graphs) > _GRAPHS_PER_MODEL:
        graphs.pop(next(iter(graphs)))
    delta = _start(x, eps=eps, norm=norm, random_start=random_start, generator=generator)
    delta, best_x, best_ok, best_obj = graph.run(x, y, delta, steps)
    # The last point is evaluated, not stepped from (as in _one_run).
    with torch.no_grad(), runtime.autocast(x.device, precision):
        logits = model(x + delta)
    obj, ok = _score(logits, y, targeted=targeted, loss_fn=loss_fn)
    better = _better(ok, obj, best_ok, best_obj)
    best_x = torch.where(_expand(better, x), x + delta, best_x)
    return best_x, best_ok | ok, torch.where(better, obj, best_obj)


def _expand(mask: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return mask.view(-1, *([1] * (like.dim() - 1)))


@dataclass(frozen=True)
class PGD:
    """A PGD adversary as settings; calling it runs :func:`pgd`.

    eps and step_size are in [0, 1] pixel space (l2 norm for ``norm=2``).
    """

    eps: float
    norm: str | int
    steps: int
    step_size: float
    random_start: bool = True
    restarts: int = 1
    cuda_graph: bool = False  # how it runs, not what it computes (see pgd)

    def __post_init__(self):
        eps, norm = _check_attack(self.eps, self.norm, self.steps, self.step_size, self.restarts)
        object.__setattr__(self, "norm", norm)
        object.__setattr__(self, "eps", eps)

    @classmethod
    def relative(cls, eps: float, norm, steps: int, step_factor: float, **kwargs) -> PGD:
        """Settings with ``step_size = step_factor * eps``."""
        return cls(eps=eps, norm=norm, steps=steps, step_size=step_factor * eps, **kwargs)

    def __call__(self, model, x, y, *, precision: str = "auto", generator=None, **kwargs):
        return pgd(model, x, y, **asdict(self), precision=precision, generator=generator, **kwargs)

    def describe(self) -> str:
        name = "l_inf" if self.norm == "inf" else "l2"
        start = ", random start" if self.random_start else ""
        rs = f", {self.restarts} restarts" if self.restarts > 1 else ""
        return (
            f"PGD {name} eps={self.eps:.4g}: {self.steps} steps of {self.step_size:.4g}{start}{rs}"
        )


# --------------------------------------------------------------------------
# Linear models: the exact worst case


def linear_worst_case(model, x: torch.Tensor, y: torch.Tensor, *, eps: float, box: bool = True):
    """The exact l_inf worst case for a binary :class:`~lib.models.LinearModel`.

    The margin s (w^T x + b), s = 2y - 1, is linear and separable in x, so
    the minimizer over the l_inf ball moves every pixel by eps against
    s * sign(w_i); with ``box=True`` each pixel is then clipped to [0, 1],
    which is still the exact minimizer over the ball intersected with the box.
    Without the box the margin drops by exactly eps * ||w||_1.
    """
    eps = check_eps(eps)
    w = model.weight.detach().view(x.shape[1:])
    s = (2 * y - 1).to(x.dtype).view(-1, *([1] * (x.dim() - 1)))
    x_adv = x - eps * s * w.sign()
    return x_adv.clamp(0, 1) if box else x_adv


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
    :class:`PGD` in training and evaluation.
    """

    eps: float
    box: bool = True  # clip the adversarial input to [0, 1]
    norm: str = "inf"

    def __post_init__(self):
        check_eps(self.eps)
        if check_norm(self.norm) != "inf":
            raise ValueError("the exact linear worst case is implemented for norm 'inf' only")

    def __call__(self, model, x, y, **_):
        return linear_worst_case(model, x, y, eps=self.eps, box=self.box)

    def describe(self) -> str:
        box = ", clipped to [0, 1]" if self.box else ""
        return f"exact l_inf worst case of a linear model, eps={self.eps:.4g}{box}"
