"""The attack's forward on the fast path, without the caller's help.

:func:`attack_view` is what :func:`lib.attacks.pgd` runs its forward passes
through. On the CPU, for a convolutional model:

- with ``bn_mode="eval"`` and BatchNorm layers: a **folded copy** of the model
  (each conv followed only by a BatchNorm becomes one conv,
  ``torch.fx.experimental.optimization.fuse``), in channels_last, with no
  parameter gradients. It is cached per model and refolded whenever any
  parameter or buffer differs from what it was folded from (address,
  version or value: a change through ``.data`` is seen too), and remade when
  the model's modules change, so a training step's attack folds once and an
  evaluation folds once for all its batches. The caller's model is not
  touched.
- otherwise: the caller's model itself, its 4-D parameters and buffers put in
  channels_last (oneDNN's native layout) for the call and given back in the
  layout they had (same parameter objects, same storage, same values; a
  tensor in shared memory stays where it is).
- either way, each plain ``nn.Conv2d`` on a one-channel image (a grayscale
  model's first layer, :meth:`lib.models.InputConv2d.takes`) computes its
  input gradient as :class:`lib.models.InputConv2d` does (a depthwise conv
  of the output gradient, where oneDNN's backward-data kernel for one input
  channel is slow): the same outputs and weight gradients, the input
  gradient up to rounding. The caller's layer gets that forward for the call
  only (:func:`input_gradient_convs`).

On CUDA the model runs as it is (the layout there is the caller's choice:
:func:`lib.runtime.fast_model`; CUDA graphs read parameters at fixed
addresses). ``fold=False`` / ``layout=False`` switch either off.

:func:`eval_view` gives the same fast forward to attacks that run their own
loop on a module (torchattacks' APGD, FAB, Square in the strong evaluation
and the audit): an eval-mode copy, folded or in channels_last, fed
channels_last inputs.
"""

from __future__ import annotations

import contextlib
import copy
import weakref

import torch
import torch.fx
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_weights

from lib.models import InputConv2d

CL = torch.channels_last

#: Per model (weakly held): its :class:`_Folded`, or None when it cannot be traced.
_FOLDED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _tensors(model: nn.Module):
    return (*model.parameters(), *model.buffers())


def is_channels_last(t: torch.Tensor) -> bool:
    """``t`` (4-D) has the strides ``.to(memory_format=channels_last)`` gives it.

    Stricter than ``t.is_contiguous(memory_format=channels_last)``, which
    ignores the strides of size-1 dimensions: a 1-channel conv weight (MNIST's
    first layer) in the default layout passes that test, yet oneDNN takes a
    slower path for it (measured: the attack step 1.5x slower on the MNIST CNN).
    """
    n, c, h, w = t.shape
    return t.stride() == (c * h * w, 1, w * c, c)


def to_channels_last(tensors, *, strict: bool = True) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Put each 4-D tensor in channels_last, in place (``.data``); return what moved.

    Each moved tensor comes with its old ``.data`` (its storage), for
    :func:`restore_layout`. A tensor in shared memory (``share_memory()``,
    Hogwild-style training) is left where it is: other processes read and
    write that storage, so a private copy would silently stop the sharing.
    ``strict=False`` moves only what ``Module.to(memory_format=channels_last)``
    moves (:func:`is_channels_last` is stricter about size-1 dimensions).
    """
    moved = []
    with torch.no_grad():
        for t in tensors:
            if t.dim() != 4 or _shared(t) or (strict and is_channels_last(t)):
                continue
            new = t.data.to(memory_format=CL)  # ``to`` gives the tensor itself when it aliases
            if new.data_ptr() != t.data_ptr() or new.stride() != t.stride():
                moved.append((t, t.data))
                t.data = new
    return moved


def _shared(t: torch.Tensor) -> bool:
    # CUDA storage always reports itself shared: only CPU shared memory counts here.
    return t.device.type == "cpu" and t.is_shared()


def restore_layout(moved: list[tuple[torch.Tensor, torch.Tensor]]) -> None:
    """Give each tensor of :func:`to_channels_last` its old storage back, holding
    its current values (so a training step's updates are kept, and the caller's
    ``data_ptr`` is the one it had)."""
    with torch.no_grad():
        for t, old in moved:
            if t.data_ptr() != old.data_ptr():
                old.copy_(t.data)
            t.data = old


@contextlib.contextmanager
def kept_modes(model: nn.Module):
    """The block may change any module's train/eval mode; each gets its own back.

    ``model.train(was_training)`` would give every submodule the top module's
    mode: a BatchNorm the caller had put in eval mode would come back in train
    mode.
    """
    modes = [(m, m.training) for m in model.modules()]
    try:
        yield
    finally:
        for m, mode in modes:
            m.training = mode


def is_conv_model(model: nn.Module) -> bool:
    return any(isinstance(m, nn.Conv2d) for m in model.modules())


def has_conv_bn(model: nn.Module) -> bool:
    mods = list(model.modules())
    return any(isinstance(m, nn.Conv2d) for m in mods) and any(
        isinstance(m, nn.BatchNorm2d) for m in mods
    )


def one_channel_convs(model: nn.Module) -> list[nn.Conv2d]:
    """``model``'s plain ``nn.Conv2d`` layers (that class exactly: a subclass
    may have its own forward) whose input gradient :class:`InputConv2d` can
    compute (:meth:`InputConv2d.takes`)."""
    return [m for m in model.modules() if type(m) is nn.Conv2d and InputConv2d.takes(m)]


class OneDnnConv2d(nn.Conv2d):
    """``nn.Conv2d`` under another name, which :func:`one_channel_convs` leaves
    alone (a subclass): its input gradient stays oneDNN's. To opt a layer out,
    and the reference that the trials and tests measure the fast one against."""


def give_input_gradients(model: nn.Module) -> list[nn.Conv2d]:
    """Give each of :func:`one_channel_convs` of ``model`` :class:`InputConv2d`'s
    forward; return them (for :func:`input_gradient_convs` to give back).

    The layer's class is swapped, not the layer: ``InputConv2d`` adds no state
    and overrides only ``forward``, so the parameters, buffers, hooks and
    state-dict names stay, and the outputs are the plain op's bits. For good
    on the library's own copies (folded, :func:`eval_view`).
    """
    convs = one_channel_convs(model)
    for conv in convs:
        conv.__class__ = InputConv2d
    return convs


@contextlib.contextmanager
def input_gradient_convs(model: nn.Module):
    """:func:`give_input_gradients` on the caller's ``model`` for the block, then
    the plain ``nn.Conv2d`` forward back (also when the block raises)."""
    convs = give_input_gradients(model)
    try:
        yield
    finally:
        for conv in convs:
            conv.__class__ = nn.Conv2d


def _state_key(model: nn.Module) -> tuple:
    return tuple((t.data_ptr(), t._version, t.dtype, t.shape) for t in _tensors(model))


def _same_values(seen: list[torch.Tensor], model: nn.Module) -> bool:
    """Whether ``model``'s parameters and buffers hold exactly the values of ``seen``.

    The version counters miss changes made through ``.data`` (its version
    counter is not the parameter's), so the values themselves are compared:
    one read of the weights, a small fraction of one forward pass.
    """
    tensors = _tensors(model)
    return len(seen) == len(tensors) and all(
        a.shape == b.shape and torch.equal(a, b) for a, b in zip(seen, tensors, strict=True)
    )


def conv_bn_pairs(model: nn.Module) -> list[tuple[str, str]]:
    """``(conv, bn)`` module names where the conv's output feeds only that BatchNorm."""
    gm = torch.fx.symbolic_trace(model)
    mods = dict(model.named_modules())
    pairs = []
    for node in gm.graph.nodes:
        if node.op != "call_module" or not isinstance(mods.get(node.target), nn.BatchNorm2d):
            continue
        src = node.args[0]
        if (
            isinstance(src, torch.fx.Node)
            and src.op == "call_module"
            and isinstance(mods.get(src.target), nn.Conv2d)
            and len(src.users) == 1
        ):
            pairs.append((src.target, node.target))
    return pairs


def _structure(model: nn.Module) -> tuple:
    """The modules of ``model`` by name, object and class: a copy made from
    other modules (a layer replaced, a class swapped) is remade."""
    return tuple((name, id(m), type(m)) for name, m in model.named_modules())


class _Folded:
    """A copy of a model with its conv+BN pairs folded, refreshed from the model."""

    def __init__(self, model: nn.Module):
        self.structure = _structure(model)
        self.pairs = conv_bn_pairs(model)
        self.net = copy.deepcopy(model).eval()
        for conv_name, bn_name in self.pairs:
            conv = self.net.get_submodule(conv_name)
            if conv.bias is None:
                conv.bias = nn.Parameter(torch.zeros(conv.out_channels, device=conv.weight.device))
            parent, _, leaf = bn_name.rpartition(".")
            setattr(self.net.get_submodule(parent) if parent else self.net, leaf, nn.Identity())
        self.net.requires_grad_(False)
        self.net.to(memory_format=CL)
        give_input_gradients(self.net)
        self.key = None
        self.seen: list[torch.Tensor] = []

    @torch.no_grad()
    def refresh(self, model: nn.Module) -> nn.Module:
        """The copy, made to hold ``model``'s current weights: refolded unless the
        model's tensors are the same objects, versions and values as last time."""
        key = _state_key(model)
        if key == self.key and _same_values(self.seen, model):
            return self.net
        mine = dict(self.net.named_parameters()) | dict(self.net.named_buffers())
        theirs = dict(model.named_parameters()) | dict(model.named_buffers())
        for name, t in mine.items():
            if name in theirs:
                t.copy_(theirs[name])
        for conv_name, bn_name in self.pairs:
            conv, bn = model.get_submodule(conv_name), model.get_submodule(bn_name)
            w, b = fuse_conv_bn_weights(
                conv.weight,
                conv.bias,
                bn.running_mean,
                bn.running_var,
                bn.eps,
                bn.weight,
                bn.bias,
            )
            target = self.net.get_submodule(conv_name)
            target.weight.copy_(w)
            target.bias.copy_(b)
        self.key = key
        self.seen = [t.detach().clone() for t in _tensors(model)]
        return self.net


def folded(model: nn.Module) -> nn.Module | None:
    """The eval-mode copy of ``model`` with conv+BN folded, in channels_last (cached).

    None where the model cannot be traced by ``torch.fx`` or has no foldable
    pair (then the caller attacks the model itself).
    """
    hit = _FOLDED.get(model, ...)
    if hit is not ... and hit is not None and hit.structure != _structure(model):
        hit = ...
    if hit is ...:
        try:
            hit = _Folded(model)
            if not hit.pairs:
                hit = None
        except Exception:  # noqa: BLE001 (not traceable: the unfolded model is used)
            hit = None
        _FOLDED[model] = hit
    return None if hit is None else hit.refresh(model)


@contextlib.contextmanager
def attack_view(model: nn.Module, device, bn_mode: str, *, fold: bool = True, layout: bool = True):
    """The module to run the attack's forward passes on (see the module doc)."""
    if torch.device(device).type != "cpu" or not is_conv_model(model):
        yield model
        return
    if fold and bn_mode == "eval" and has_conv_bn(model):
        net = folded(model)
        if net is not None:
            yield net
            return
    moved = to_channels_last(_tensors(model)) if layout else []
    try:
        with input_gradient_convs(model):
            yield model
    finally:
        restore_layout(moved)


def fast_input(x: torch.Tensor, model: nn.Module) -> torch.Tensor:
    """``x`` in channels_last for a conv model on the CPU, else unchanged."""
    if x.device.type == "cpu" and x.dim() == 4 and is_conv_model(model):
        return x.contiguous(memory_format=CL)
    return x


class _LayoutView(nn.Module):
    """``net`` fed channels_last inputs (see :func:`eval_view`)."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net
        self.eval()

    def train(self, mode: bool = True) -> _LayoutView:
        # Always eval: torchattacks puts a module back in train mode after a
        # call when it found it so, and the folded copy is shared with pgd.
        return super().train(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(fast_input(x, self.net))


def eval_view(model: nn.Module) -> nn.Module:
    """``model``'s eval-mode forward on the fast path, for attacks with their own loop.

    On the CPU, for a conv model: the cached folded copy (:func:`folded`) when
    it has conv+BN pairs, else an eval-mode copy with its 4-D tensors in
    channels_last; either without parameter gradients and taking inputs in
    any layout. Elsewhere, ``model`` itself. The view computes what ``model``
    computes in eval mode up to float rounding. Measured on the `cpu` Table 4
    robust models (``lab/trials/eval_view_trial.py``, 1,000 images): APGD-CE and
    APGD-T 1.59-1.80x faster in bf16, and the strong evaluation's survivors
    the same on MNIST, one more of 1,000 on each CIFAR-10 model. It is a
    snapshot: made before the attack, not kept across training steps (the
    folded copy refreshes; the plain copy does not).
    """
    tensors = _tensors(model)
    device = tensors[0].device if tensors else torch.device("cpu")
    if device.type != "cpu" or not is_conv_model(model):
        return model
    net = folded(model) if has_conv_bn(model) else None
    if net is None:
        net = copy.deepcopy(model).eval().requires_grad_(False)
        to_channels_last(_tensors(net))
        give_input_gradients(net)
    return _LayoutView(net)
