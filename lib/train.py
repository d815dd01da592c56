"""One training loop for clean, adversarial and half-half batches, and evaluation.

``train`` is the loop; ``evaluate`` gives standard accuracy (no attack) or
robust accuracy (with one). This module knows no profile and no store: the
runs of a configuration, stored, are :mod:`lib.runs`.

Both ``train`` and ``evaluate`` take any :class:`lib.data.Batches`: a
:class:`lib.data.TensorData` held on the device, or Restricted ImageNet
streamed from image files (:class:`lib.data.imagenet.FolderData`).
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import replace

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from lib import data as data_lib
from lib import runtime
from lib.attacks import PGD, Attack, check_bn_mode
from lib.attacks import cuda_graph as graphs
from lib.attacks.fast import attack_view, kept_modes, restore_layout, to_channels_last
from lib.trades import TradesAttack, trades_loss

MIXES = ("clean", "adversarial", "half", "trades")
OPTIMIZERS = ("sgd", "adam")


class DivergedError(FloatingPointError):
    """Training made the loss or the weights NaN or infinite: the run is not a model."""


def _check_finite(model: torch.nn.Module, loss_sum: torch.Tensor, epoch: int, done: int, lr):
    """A :class:`DivergedError` if the epoch's loss or any weight is not finite.

    Once an epoch (one host sync, with the loss's): a NaN never trains on
    into the next epoch, and a diverged model never reaches the store.
    """
    weights = [t for t in (*model.parameters(), *model.buffers()) if t.is_floating_point()]
    flags = torch.stack([~torch.isfinite(loss_sum), *(~torch.isfinite(t).all() for t in weights)])
    if bool(flags.any()):
        what = "the training loss" if bool(flags[0]) else "the weights"
        bad = [
            name
            for name, t in model.state_dict().items()
            if t.is_floating_point() and not bool(t.isfinite().all())
        ]
        raise DivergedError(
            f"training diverged: {what} became non-finite (NaN or inf) in epoch {epoch} "
            f"(by step {done}, lr {lr:g}){'; weights: ' + ', '.join(bad) if bad else ''}. "
            "The model is not usable and is not stored: lower the learning rate or check the data."
        )


def is_positive_int(value) -> bool:
    """``value`` is an int >= 1 and not a bool (``True`` is an int to Python, not a size)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def check_mix(mix: str) -> str:
    if mix not in MIXES:
        raise ValueError(f"unknown mix {mix!r}; allowed: {', '.join(MIXES)}")
    return mix


def _perturb(attack: Attack, model, x, y, precision: str, generator, bn_mode="eval"):
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


def train(
    model: torch.nn.Module,
    data: data_lib.Batches,
    *,
    epochs: int,
    batch_size: int | None,
    lr: float,
    optimizer: str = "sgd",
    momentum: float = 0.9,
    weight_decay: float = 0.0,
    lr_milestones: tuple[float, ...] = (),
    augment: bool = False,
    mix: str = "clean",
    attack: Attack | None = None,
    seed: int = 0,
    precision: str = "auto",
    max_steps: int | None = None,
    eval_data: data_lib.Batches | None = None,
    bn_mode: str = "eval",
    progress: bool = True,
    eps_ramp: float = 0.0,
    beta: float | None = None,
    eval_every: int | None = None,
) -> list[dict]:
    """Train ``model`` in place and return its history (one dict per epoch).

    Args:
        data: training set on the device the model lives on (a
            :class:`lib.data.Batches`: tensors in memory or streamed files).
        epochs: epochs of ``data.epoch_size`` images (a pass over the data,
            or 76,800 Restricted ImageNet images at the paper's scale);
            ``max_steps`` stops earlier if given.
        batch_size: images per step; None trains on the full batch.
        lr: initial learning rate, multiplied by 0.1 at each fraction of
            the total steps in ``lr_milestones``.
        optimizer: ``"sgd"`` (with ``momentum``) or ``"adam"``.
        mix: ``"clean"``; ``"adversarial"`` (every example replaced by
            ``attack``'s); ``"half"`` (half of each batch adversarial, the
            other half clean: Table 4 of the paper); ``"trades"`` (the
            TRADES loss, :func:`lib.trades.trades_loss`, with ``beta`` and a
            :class:`lib.trades.TradesAttack`; the history's accuracy is then
            on the clean batch).
        attack: ``(model, x, y) -> x_adv``, e.g. a :class:`lib.attacks.PGD`.
        precision: ``"auto"``, ``"bf16"`` or ``"fp32"`` (see lib.runtime).
        eval_data: if given, standard accuracy on it is recorded each epoch.
        bn_mode: the model's mode while ``attack`` runs: ``"eval"`` (BatchNorm
            running statistics) or ``"train"`` (batch statistics); see
            :func:`lib.attacks.pgd`.
        eps_ramp: fraction of the total steps over which a PGD training
            attack's eps (and step size) grows linearly from
            ``eps / ramp_steps`` to its full value; 0 (the default) trains
            at the full eps from the first step.
        eval_every: with ``eval_data``, also record its standard accuracy
            every this many optimizer steps and after the last one, as the
            epoch entry's ``curve`` (``[step, accuracy]`` pairs): a learning
            curve finer than one point per epoch. Evaluation touches neither
            the weights nor any random stream, so the run trains the same.

    The history records per epoch the mean training loss and accuracy on
    the batches as trained (adversarial ones included), the learning rate,
    the wall time and, with ``eval_data``, the clean test accuracy.
    """
    check_mix(mix)
    check_bn_mode(bn_mode)
    if mix != "clean" and attack is None:
        raise ValueError(f"mix={mix!r} needs an attack")
    if (mix == "trades") != (beta is not None):
        raise ValueError(f"beta is TRADES' weight: give it with mix='trades' only (mix={mix!r})")
    if mix == "trades" and not isinstance(attack, TradesAttack):
        raise ValueError("mix='trades' needs a lib.trades.TradesAttack (the KL adversary)")
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {optimizer!r}; allowed: {', '.join(OPTIMIZERS)}")
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 0:
        raise ValueError(f"epochs must be an int >= 0 (not a bool), got {epochs!r}")
    for name, value in (("batch_size", batch_size), ("max_steps", max_steps)):
        if value is not None and not is_positive_int(value):
            raise ValueError(f"{name} must be a positive int (not a bool) or None, got {value!r}")
    if len(data) == 0:
        raise ValueError(
            f"cannot train on an empty data set ({getattr(data, 'name', '?')} "
            f"{getattr(data, 'split', '')}): it holds no example"
        )
    if not lr > 0:
        raise ValueError(f"lr must be > 0, got {lr!r}")
    if eval_every is not None and not is_positive_int(eval_every):
        raise ValueError(
            f"eval_every must be a positive int (not a bool) or None, got {eval_every!r}"
        )
    if eval_every is not None and eval_data is None:
        raise ValueError("eval_every records accuracy on eval_data: give eval_data too")
    device = data.device
    precision = runtime.resolve_precision(precision, device)
    generator = runtime.seed_everything(seed)
    # Random starts are drawn where the data lives: on a GPU a CPU draw and a
    # copy per batch would cost more than the attack's steps on small models.
    attack_generator = (
        generator if device.type == "cpu" else torch.Generator(device).manual_seed(seed)
    )
    batch_size = batch_size or len(data)
    if (
        batch_size >= len(data)
        and isinstance(data, data_lib.TensorData)
        and data.x.dtype == torch.uint8
    ):
        # A full batch is the whole set every epoch: its float images are made once,
        # not once an epoch (the same values: scaling commutes with the shuffle's
        # gather). The linear chapter's thousands of full-batch epochs spent most
        # of their time here.
        data = replace(data, x=data.inputs())
    # channels_last where it helps (what runtime.fast_model moves), given back at the
    # end in the caller's storage: same data_ptr, the trained values. Tensors in
    # shared memory (Hogwild-style training) are trained where they are.
    tensors = (*model.parameters(), *model.buffers())
    fast = runtime.prefers_channels_last(device, precision) and any(
        p.dim() == 4 for p in model.parameters()
    )
    layout = to_channels_last(tensors, strict=False) if fast else []
    params = [p for p in model.parameters() if p.requires_grad]
    if optimizer == "sgd":
        opt = torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    else:
        opt = torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)

    steps_per_epoch = math.ceil(data.epoch_size / batch_size)
    total = (
        epochs * steps_per_epoch if max_steps is None else min(max_steps, epochs * steps_per_epoch)
    )
    milestones = [round(f * total) for f in lr_milestones]
    if not 0 <= eps_ramp <= 1:
        raise ValueError(f"eps_ramp must be in [0, 1], got {eps_ramp!r}")
    ramp_steps = round(eps_ramp * total) if isinstance(attack, PGD) else 0
    history, done = [], 0
    bar = tqdm(total=total, desc="train", unit="step", disable=not progress, leave=False)
    for epoch in range(epochs):
        if done >= total:
            break
        model.train()
        start = time.perf_counter()
        loss_sum = torch.zeros((), device=device)
        correct = torch.zeros((), device=device)
        seen = 0
        curve = []
        for x, y in data.batches(batch_size, shuffle=True, generator=generator, augment=augment):
            if done >= total:
                break
            current_lr = lr * 0.1 ** sum(done >= m for m in milestones)
            for group in opt.param_groups:
                group["lr"] = current_lr
            step_attack = attack
            if done < ramp_steps:
                f = (done + 1) / ramp_steps
                step_attack = replace(attack, eps=attack.eps * f, step_size=attack.step_size * f)
            # A ramp changes eps every step: a CUDA graph per step would not pay.
            ramping = step_attack is not attack and graphs.graph_mode() == "auto"
            with graphs.cuda_graphs("off") if ramping else contextlib.nullcontext():
                if mix == "adversarial":
                    x = _perturb(step_attack, model, x, y, precision, attack_generator, bn_mode)
                elif mix == "half":
                    k = len(x) // 2
                    x_adv = _perturb(
                        step_attack, model, x[k:], y[k:], precision, attack_generator, bn_mode
                    )
                    x = torch.cat([x[:k], x_adv])
                elif mix == "trades":
                    x_adv = _perturb(attack, model, x, y, precision, attack_generator, bn_mode)
            model.train()
            if mix == "trades":
                loss, logits = trades_loss(model, x, x_adv, y, beta=beta, precision=precision)
            else:
                with runtime.autocast(device, precision):
                    logits = model(x)
                loss = F.cross_entropy(logits.float(), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            # Running sums stay on the device: no host sync inside the epoch.
            loss_sum += loss.detach() * len(y)
            correct += (logits.argmax(1) == y).sum()
            seen += len(y)
            done += 1
            bar.update()
            if eval_every is not None and (done % eval_every == 0 or done == total):
                # evaluate() gives the model back in train mode, as it found it
                curve.append([done, evaluate(model, eval_data, precision=precision)])
        _check_finite(model, loss_sum, epoch + 1, done, current_lr)
        entry = {
            "epoch": epoch + 1,
            "steps": done,
            "loss": (loss_sum / max(seen, 1)).item(),
            "acc": (correct / max(seen, 1)).item(),
            "lr": current_lr,
            "seconds": time.perf_counter() - start,
        }
        if eval_data is not None:
            entry["test_acc"] = (
                curve[-1][1]
                if curve and curve[-1][0] == done
                else evaluate(model, eval_data, precision=precision)
            )
        if eval_every is not None:
            entry["curve"] = curve
        history.append(entry)
        bar.set_postfix(loss=f"{entry['loss']:.3f}", acc=f"{entry['acc']:.3f}")
    bar.close()
    model.eval()
    restore_layout(layout)
    return history


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
    """Accuracy of ``model`` on ``data`` (a ``Batches`` or an ``(x, y)`` pair), in [0, 1].

    Without ``attack`` it is the standard accuracy. With one it is the robust
    accuracy: an example counts only if it is classified correctly both
    clean and after the attack. Only correctly classified examples are
    attacked (the others are errors already). The model is evaluated in eval
    mode and its mode is restored. ``balanced=True`` gives the class-balanced
    accuracy instead (:func:`balanced_accuracy`).
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
    if len(data[1] if isinstance(data, tuple | list) else data) == 0:
        raise ValueError("cannot evaluate on an empty data set")
    if not is_positive_int(batch_size):
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
                    x_adv = _perturb(attack, model, x, y, precision, generator)
                    with torch.no_grad(), runtime.autocast(x.device, precision):
                        ok &= net(x_adv).argmax(1) == y
                elif attack is not None and ok.any():
                    keep = ok.nonzero().flatten()
                    x_adv = _perturb(attack, model, x[keep], y[keep], precision, generator)
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
