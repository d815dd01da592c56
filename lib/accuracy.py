"""Standard and robust accuracy: :func:`evaluate` and the per-example :func:`outcomes`.

Re-exported by :mod:`lib.train` (``lib.train.evaluate``), where they were
first; they take the same data as training: any :class:`lib.data.Batches`, an
``(x, y)`` pair of tensors, or a torch ``DataLoader`` or ``Dataset``.
"""

from __future__ import annotations

import torch

from lib import data as data_lib
from lib import runtime
from lib.attacks import PGD, Attack
from lib.attacks import cuda_graph as graphs
from lib.attacks.fast import attack_view, kept_modes
from lib.data.torch_data import LoaderData, is_torch_data, model_device


def perturb(attack: Attack, model, x, y, precision: str, generator, bn_mode="eval"):
    """``attack(model, x, y)`` with the run's precision, generator and BatchNorm mode."""
    # Every attack takes the run's precision, generator and BatchNorm mode
    # (lib.attacks.Attack); one that needs none of them ignores them.
    return attack(model, x, y, precision=precision, generator=generator, bn_mode=bn_mode)


def _as_tensors(data) -> tuple[torch.Tensor, torch.Tensor]:
    if isinstance(data, data_lib.TensorData):
        return data.inputs(), data.y
    x, y = data
    return x, y


def _eval_batches(data, batch_size: int):
    """``(x, y)`` batches in order: slices of tensors in memory, else the data's own batches."""
    if isinstance(data, data_lib.TensorData | tuple | list):
        x_all, y_all = _as_tensors(data)
        for start in range(0, len(y_all), batch_size):
            yield x_all[start : start + batch_size], y_all[start : start + batch_size]
    else:
        yield from data.batches(batch_size)


def _device_of(data) -> torch.device:
    if isinstance(data, tuple | list):
        return data[0].device
    return data.device


def evaluate(
    model: torch.nn.Module,
    data,
    attack: Attack | None = None,
    *,
    batch_size: int = 500,
    precision: str = "auto",
    generator: torch.Generator | None = None,
    balanced: bool = False,
) -> float:
    """Standard accuracy of ``model`` on ``data``, or robust accuracy against ``attack``.

    Without ``attack``: the fraction of examples classified correctly. With
    one: the fraction classified correctly both clean and after the attack
    (only the correctly classified examples are attacked: the others are errors
    already). The model is evaluated in eval mode and its mode restored.

    Distance measure:
        the ``attack``'s (e.g. :class:`lib.attacks.PGD`: l_inf or l2 ball in
        [0, 1] pixel space); none without one.

    Args:
        model (nn.Module): maps inputs in [0, 1] to logits.
        data (Batches | DataLoader | Dataset | tuple): a :class:`lib.data.Batches`
            (e.g. from :func:`lib.data.load`), an ``(x, y)`` pair of tensors, or a
            torch ``DataLoader`` or map-style ``Dataset`` of ``(x, y)`` with x float
            in [0, 1] (e.g. torchvision's ``ToTensor``), streamed to the model's
            device (a ``DataLoader`` keeps its own batches).
        attack (Attack | None): ``(model, x, y) -> x_adv``, e.g.
            ``PGD(eps=0.3, norm="Linf", steps=40)``. (Default: None, standard accuracy)
        batch_size (int): examples per forward pass (not used for a
            ``DataLoader``). (Default: 500)
        precision (str): ``"auto"`` (bf16 where the hardware has it, else fp32:
            :func:`lib.runtime.resolve_precision` says which), ``"bf16"`` or
            ``"fp32"``; the attack runs at the same precision. (Default: "auto")
        generator (torch.Generator | None): CPU generator for the attack's random
            starts, for a seeded result. (Default: None)
        balanced (bool): the class-balanced accuracy instead (the mean over
            classes of each class's accuracy). (Default: False)

    Shape:
        - x: :math:`(N, C, H, W)` in [0, 1]; y: :math:`(N)` class indices.

    Returns:
        float: the accuracy, in [0, 1].

    Example:
        >>> from torch.utils.data import DataLoader
        >>> from lib.attacks import PGD
        >>> from lib.train import evaluate
        >>> evaluate(model, DataLoader(test_set, batch_size=200))  # standard
        >>> evaluate(model, test_set, PGD(eps=0.3, norm="Linf", steps=40), precision="fp32")
    """
    ok, y = outcomes(
        model, data, attack, batch_size=batch_size, precision=precision, generator=generator
    )
    if balanced:
        return balanced_accuracy(ok, y)
    return int(ok.sum()) / len(ok)


def outcomes(
    model: torch.nn.Module,
    data,
    attack: Attack | None = None,
    *,
    batch_size: int = 500,
    precision: str = "auto",
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per example, in the data's order: ``(correct, label)``, bool and int64 tensors.

    ``correct`` is what :func:`evaluate` averages (see there); one pass over
    the data gives both the plain and the class-balanced accuracy.
    """
    if is_torch_data(data):
        data = LoaderData(data, model_device(model))
    if len(data[1] if isinstance(data, tuple | list) else data) == 0:
        raise ValueError("cannot evaluate on an empty data set")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int (not a bool), got {batch_size!r}")
    device = _device_of(data)
    precision = runtime.resolve_precision(precision, device)
    # CUDA graphs want static shapes: attack the whole batch, count the clean-correct.
    whole = isinstance(attack, PGD) and graphs.graphs_by_default(device)
    oks, ys = [], []
    with kept_modes(model):  # every module's own mode back, as found
        model.eval()
        # On the CPU: the folded (conv+BN) copy or channels_last, once for all batches.
        with attack_view(model, device, "eval") as net:
            for x, y in _eval_batches(data, batch_size):
                with torch.no_grad(), runtime.autocast(x.device, precision):
                    ok = net(x).argmax(1) == y
                if attack is not None and whole:
                    x_adv = perturb(attack, model, x, y, precision, generator)
                    with torch.no_grad(), runtime.autocast(x.device, precision):
                        ok &= net(x_adv).argmax(1) == y
                elif attack is not None and ok.any():
                    keep = ok.nonzero().flatten()
                    x_adv = perturb(attack, model, x[keep], y[keep], precision, generator)
                    with torch.no_grad(), runtime.autocast(x.device, precision):
                        ok[keep] = net(x_adv).argmax(1) == y[keep]
                oks.append(ok)
                ys.append(y)
    return torch.cat(oks), torch.cat(ys)


def balanced_accuracy(correct: torch.Tensor, y: torch.Tensor) -> float:
    """The mean over classes of each class's accuracy (classes absent from ``y`` left out).

    Restricted ImageNet's classes are far from balanced (dogs are 118 of the
    203 ImageNet classes of the robustness variant), so its plain accuracy
    mostly measures the dog class; this one weighs every super-class alike.
    """
    y = y.long()
    totals = torch.bincount(y)
    hits = torch.bincount(y, weights=correct.double(), minlength=len(totals))
    present = totals > 0
    return float((hits[present] / totals[present]).mean())
