"""The CUDA-graph engine of PGD: one step captured once, replayed ``steps`` times.

Used by :func:`lib.attacks.pgd` with ``cuda_graph=True`` on a CUDA device.
Same kernels, same results as the eager loop (tests/test_cuda_graph.py, marked
``gpu``).
"""

from __future__ import annotations

import contextlib
import math
import os
import weakref

import torch

from lib import runtime
from lib.attacks.geometry import expand, is_better, project, score, start_delta, step

#: ``"auto"``: the CUDA-graph step by default on a CUDA device (eval-mode
#: BatchNorm, first run of the restarts: static shapes); ``"on"``: always
#: where it can run; ``"off"``: the eager loop. ``$ODDS_CUDA_GRAPH`` sets it.
GRAPH_MODES = ("auto", "on", "off")
_mode = [os.environ.get("ODDS_CUDA_GRAPH", "auto")]


def graph_mode() -> str:
    """The current switch (see :data:`GRAPH_MODES`)."""
    if _mode[-1] not in GRAPH_MODES:
        raise ValueError(f"ODDS_CUDA_GRAPH must be one of {GRAPH_MODES}, got {_mode[-1]!r}")
    return _mode[-1]


@contextlib.contextmanager
def cuda_graphs(mode: str):
    """Force the CUDA-graph step ``"on"``, ``"off"`` or back to ``"auto"`` in a block."""
    if mode not in GRAPH_MODES:
        raise ValueError(f"mode must be one of {GRAPH_MODES}, got {mode!r}")
    _mode.append(mode)
    try:
        yield
    finally:
        _mode.pop()


def use_graph(cuda_graph: bool | None, device, bn_mode: str, restart: int = 0) -> bool:
    """Whether a PGD run replays the CUDA-graph step.

    ``cuda_graph`` True/False forces it; None follows :func:`graph_mode`. Never
    on the CPU; never with ``bn_mode="train"``; under ``"auto"`` only the
    first run (later restarts attack subsets of varying size).
    """
    if torch.device(device).type != "cuda" or bn_mode != "eval":
        return False
    if cuda_graph is not None:
        return bool(cuda_graph)
    mode = graph_mode()
    return mode == "on" or (mode == "auto" and restart == 0)


def graphs_by_default(device) -> bool:
    """True where an attack with ``cuda_graph=None`` replays a graph (for callers
    that keep their batch shapes static to benefit, e.g. :func:`lib.train.outcomes`)."""
    return use_graph(None, device, "eval")


#: CUDA's stream-capture mode for the step's capture. ``"thread_local"``: only
#: this thread's CUDA calls are checked against the capture, so another
#: thread's work during it (the DataLoader's pin-memory thread allocating
#: pinned host memory for the next Restricted ImageNet batch) cannot fail
#: it; under PyTorch's default ``"global"`` it can. The capture itself makes
#: no unsafe call, which is all the stricter modes would catch.
CAPTURE_MODE = "thread_local"

#: Captured steps kept per model. Each graph holds its own memory pool (its
#: intermediates: at ResNet-50 batch 256 in fp32 about 12-14 GiB), so the
#: cap bounds the memory a model's graphs can keep; the least recently used
#: goes first. A chapter alternates at most a few shapes per model (the
#: training batch, the evaluation batch, the last partial batch).
GRAPHS_PER_MODEL = 3


class _StepGraph:
    """One PGD step captured in a CUDA graph, with its static buffers.

    Replaying the graph reads ``x``, ``y``, ``delta`` and the best-so-far
    buffers at fixed addresses and updates them in place, so a run is: copy
    the inputs in, replay ``steps`` times, evaluate the last point eagerly.
    ``capture=False`` builds the buffers and :meth:`body` only (the tests run
    the body eagerly on a CPU).
    """

    def __init__(
        self, model, x, y, *, eps, norm, step_size, targeted, loss_fn, precision, capture=True
    ):
        self.x, self.y = x.clone(), y.clone()
        self.delta = torch.zeros_like(x)
        self.best_x = x.clone()
        self.best_ok = torch.zeros(len(x), dtype=torch.bool, device=x.device)
        self.best_obj = torch.full((len(x),), -math.inf, device=x.device)
        # Autocast's weight cache holds casts made during capture; CUDA
        # graphs need it off (PyTorch's CUDA graphs notes).
        self._cast = (
            (lambda: torch.autocast(x.device.type, dtype=torch.bfloat16, cache_enabled=False))
            if precision == "bf16"
            else contextlib.nullcontext
        )
        # The cache holds this object per model weakly: no strong reference back.
        self._net = weakref.ref(model)
        self._settings = dict(
            eps=eps, norm=norm, step_size=step_size, targeted=targeted, loss_fn=loss_fn
        )
        if precision == "fp32" and x.device.type == "cuda":
            runtime.strict_fp32()  # fp32 means fp32, in the capture as in the eager loop
        self.graph = None
        if capture:
            self._capture()

    def body(self):
        """One step on the static buffers, in place: what the graph records.

        Grad mode is forced on inside: a caller's ``torch.no_grad()`` (an
        evaluation loop) would otherwise make the input gradient fail, at
        capture here but never in the eager loop, which forces it too.
        """
        s = self._settings
        with torch.enable_grad():
            delta = self.delta.detach().requires_grad_(True)
            with self._cast():
                logits = self._net()(self.x + delta)
            obj, ok = score(logits, self.y, targeted=s["targeted"], loss_fn=s["loss_fn"])
            better = is_better(ok, obj.detach(), self.best_ok, self.best_obj)
            self.best_x.copy_(
                torch.where(expand(better, self.x), (self.x + delta).detach(), self.best_x)
            )
            self.best_ok.logical_or_(ok)
            self.best_obj.copy_(torch.where(better, obj.detach(), self.best_obj))
            (grad,) = torch.autograd.grad(obj.sum(), [delta])
        new = step(delta.detach(), grad, norm=s["norm"], step_size=s["step_size"])
        self.delta.copy_(project(self.x, new, eps=s["eps"], norm=s["norm"]))

    def _capture(self):
        """Warm up on a side stream, then capture :meth:`body` on it.

        Everything happens with the buffers' device current, on a stream made
        there: PyTorch's default capture stream is made once, on whatever
        device was current at the first capture of the process, so a model on
        ``cuda:1`` would be captured on a ``cuda:0`` stream. The warm-up lets
        cuDNN pick its algorithms and autograd build its state; its writes
        are reset by every run's copy-in.
        """
        device = self.x.device
        with torch.cuda.device(device):
            side = torch.cuda.Stream(device=device)
            side.wait_stream(torch.cuda.current_stream(device))
            with torch.cuda.stream(side):
                for _ in range(3):
                    self.body()
            self.graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(self.graph, stream=side, capture_error_mode=CAPTURE_MODE):
                self.body()
            torch.cuda.current_stream(device).wait_stream(side)

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


def cached_graphs(model) -> int:
    """How many captured steps are cached for ``model`` (at most :data:`GRAPHS_PER_MODEL`)."""
    return len(_GRAPHS.get(model, {}))


def clear_graphs(model=None) -> None:
    """Drop the captured steps of ``model`` (all models when None), freeing their pools."""
    if model is None:
        _GRAPHS.clear()
    else:
        _GRAPHS.pop(model, None)


def _cached_graph(model, key, make):
    """The graph of ``key`` for ``model``, from the cache or ``make()``.

    A key's last element is the model's parameter and buffer addresses: a
    graph captured at other addresses can never replay again (the model moved
    or changed layout), so it is dropped when a new one is captured, not kept
    until the cap pushes it out. Then the least recently used beyond
    :data:`GRAPHS_PER_MODEL` go.
    """
    graphs = _GRAPHS.setdefault(model, {})
    graph = graphs.pop(key, None)
    if graph is None:
        for stale in [k for k in graphs if k[-1] != key[-1]]:
            del graphs[stale]
        while len(graphs) >= GRAPHS_PER_MODEL:  # room for the new one before capturing it
            graphs.pop(next(iter(graphs)))
        graph = make()
    graphs[key] = graph  # most recently used last
    return graph


def graphed_run(
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
    """One PGD run (as the eager loop of :mod:`lib.attacks.pgd`), the step loop
    replayed from a cached CUDA graph."""
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
    graph = _cached_graph(
        model,
        key,
        lambda: _StepGraph(
            model,
            x,
            y,
            eps=eps,
            norm=norm,
            step_size=step_size,
            targeted=targeted,
            loss_fn=loss_fn,
            precision=precision,
        ),
    )
    delta = start_delta(x, eps=eps, norm=norm, random_start=random_start, generator=generator)
    delta, best_x, best_ok, best_obj = graph.run(x, y, delta, steps)
    # The last point is evaluated, not stepped from (as in the eager loop).
    with torch.no_grad(), runtime.autocast(x.device, precision):
        logits = model(x + delta)
    obj, ok = score(logits, y, targeted=targeted, loss_fn=loss_fn)
    better = is_better(ok, obj, best_ok, best_obj)
    best_x = torch.where(expand(better, x), x + delta, best_x)
    return best_x, best_ok | ok, torch.where(better, obj, best_obj)
