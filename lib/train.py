"""One training loop for clean, adversarial and half-half batches, and evaluation.

``train`` is the loop, taking one frozen :class:`Recipe`; ``evaluate`` gives
standard accuracy (no attack) or robust accuracy (with one). This module knows
no profile and no store: the runs of a configuration, stored, are
:mod:`lib.experiments.runs`.

Both ``train`` and ``evaluate`` take any :class:`lib.data.Batches`: a
:class:`lib.data.TensorData` held on the device, or Restricted ImageNet
streamed from image files (:class:`lib.data.imagenet.FolderData`); and a torch
``DataLoader`` or ``Dataset`` of ``(x, y)`` in [0, 1] (:mod:`lib.data.torch_data`).
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from lib import data as data_lib
from lib import runtime
from lib.accuracy import balanced_accuracy, evaluate, outcomes
from lib.accuracy import perturb as _perturb
from lib.attacks import PGD, Attack, check_bn_mode
from lib.attacks import cuda_graph as graphs
from lib.attacks.fast import restore_layout, to_channels_last
from lib.data.torch_data import is_torch_data, model_device, to_tensor_data
from lib.trades import TradesAttack, trades_loss

__all__ = [
    "MIXES",
    "OPTIMIZERS",
    "Recipe",
    "balanced_accuracy",
    "check_mix",
    "evaluate",
    "outcomes",
    "train",
]

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


#: The fields of a :class:`Recipe` that a profile's settings name the same way
#: (:class:`lib.experiments.profiles.DatasetSettings`): :meth:`Recipe.of` reads them.
SETTINGS_FIELDS = tuple(
    "epochs batch_size lr optimizer momentum weight_decay lr_milestones augment eps_ramp".split()
)


@dataclass(frozen=True)
class Recipe:
    """How :func:`train` trains: one frozen object, checked when it is made.

    Args:
        epochs (int): epochs of ``data.epoch_size`` images (a pass over the data,
            or 76,800 Restricted ImageNet images at the paper's scale). Required.
        batch_size (int | None): images per step; None trains on the full batch.
            Required.
        lr (float): initial learning rate, multiplied by 0.1 at each fraction of
            the total steps in ``lr_milestones``. Required.
        optimizer (str): ``"sgd"`` (with ``momentum``) or ``"adam"``. (Default: "sgd")
        momentum (float): SGD momentum. (Default: 0.9)
        weight_decay (float): L2 weight decay. (Default: 0.0)
        lr_milestones (tuple[float, ...]): fractions of the total steps at which
            the learning rate drops tenfold. (Default: ())
        augment (bool): CIFAR augmentation (4-pixel pad, random crop, flip).
            (Default: False)
        mix (str): ``"clean"``; ``"adversarial"`` (every example replaced by
            ``attack``'s); ``"half"`` (half of each batch adversarial: Table 4 of
            the paper); ``"trades"`` (``lib.trades.trades_loss`` with ``beta``
            and a ``lib.trades.TradesAttack``; the history's accuracy is then
            on the clean batch). (Default: "clean")
        attack (Attack | None): ``(model, x, y) -> x_adv``, e.g.
            ``PGD(eps=0.3, norm="Linf", steps=7)``; needed unless ``mix="clean"``.
            (Default: None)
        seed (int): seeds the weights' stream, the batch order and the attack's
            random starts. (Default: 0)
        precision (str): ``"auto"`` (bf16 where the hardware has it, else fp32:
            :func:`lib.runtime.resolve_precision` says which), ``"bf16"`` or
            ``"fp32"``. (Default: "auto")
        max_steps (int | None): stop after this many optimizer steps. (Default: None)
        bn_mode (str): the model's mode while ``attack`` runs: ``"eval"``
            (BatchNorm running statistics) or ``"train"`` (batch statistics); see
            :func:`lib.attacks.pgd`. (Default: "eval")
        eps_ramp (float): fraction of the total steps over which a PGD training
            attack's eps (and step size) grows linearly to its full value; 0
            trains at the full eps from the first step. (Default: 0.0)
        beta (float | None): TRADES' weight of the robust term; with
            ``mix="trades"`` only. (Default: None)
        eval_every (int | None): with :func:`train`'s ``eval_data``, also record
            its standard accuracy every this many optimizer steps and after the
            last one, as the epoch entry's ``curve`` (``[step, accuracy]``
            pairs). Evaluation touches neither the weights nor any random
            stream. (Default: None)

    Example:
        >>> from lib.attacks import PGD
        >>> from lib.train import Recipe
        >>> recipe = Recipe(epochs=1, batch_size=50, lr=1e-3, optimizer="adam",
        ...                 mix="adversarial", attack=PGD(eps=0.3, norm="Linf", steps=7))
    """

    epochs: int
    batch_size: int | None
    lr: float
    optimizer: str = "sgd"
    momentum: float = 0.9
    weight_decay: float = 0.0
    lr_milestones: tuple[float, ...] = ()
    augment: bool = False
    mix: str = "clean"
    attack: Attack | None = None
    seed: int = 0
    precision: str = "auto"
    max_steps: int | None = None
    bn_mode: str = "eval"
    eps_ramp: float = 0.0
    beta: float | None = None
    eval_every: int | None = None

    def __post_init__(self):
        mix, attack, beta, epochs = self.mix, self.attack, self.beta, self.epochs
        check_mix(mix)
        check_bn_mode(self.bn_mode)
        if mix != "clean" and attack is None:
            raise ValueError(f"mix={mix!r} needs an attack")
        if (mix == "trades") != (beta is not None):
            raise ValueError(
                f"beta is TRADES' weight: give it with mix='trades' only (mix={mix!r})"
            )
        if mix == "trades" and not isinstance(attack, TradesAttack):
            raise ValueError("mix='trades' needs a lib.trades.TradesAttack (the KL adversary)")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(
                f"unknown optimizer {self.optimizer!r}; allowed: {', '.join(OPTIMIZERS)}"
            )
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 0:
            raise ValueError(f"epochs must be an int >= 0 (not a bool), got {epochs!r}")
        for name in ("batch_size", "max_steps"):
            value = getattr(self, name)
            if value is not None and not is_positive_int(value):
                raise ValueError(
                    f"{name} must be a positive int (not a bool) or None, got {value!r}"
                )
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr!r}")
        if self.eval_every is not None and not is_positive_int(self.eval_every):
            raise ValueError(
                f"eval_every must be a positive int (not a bool) or None, got {self.eval_every!r}"
            )
        if not 0 <= self.eps_ramp <= 1:
            raise ValueError(f"eps_ramp must be in [0, 1], got {self.eps_ramp!r}")

    @classmethod
    def of(cls, settings, **fields) -> Recipe:
        """The recipe of a profile's ``settings`` (its :data:`SETTINGS_FIELDS`, read by
        name), with ``fields`` (the run's mix, attack, seed ...) given or overriding."""
        return cls(**{**{f: getattr(settings, f) for f in SETTINGS_FIELDS}, **fields})


def train(
    model: torch.nn.Module,
    data: data_lib.Batches,
    recipe: Recipe | None = None,
    *,
    eval_data: data_lib.Batches | None = None,
    progress: bool = True,
    **fields,
) -> list[dict]:
    """Train ``model`` in place (clean, adversarial, half-half or TRADES) and return its history.

    Each step draws a batch (seeded by the recipe's ``seed``), replaces it by
    the ``attack``'s adversarial examples as ``mix`` says, and takes one
    optimizer step on the cross-entropy (the TRADES loss for ``mix="trades"``).
    The model is left in eval mode, its parameters in the caller's memory layout.

    Distance measure:
        the recipe's ``attack``'s (e.g. :class:`lib.attacks.PGD`: l_inf or l2
        ball in [0, 1] pixel space); none for ``mix="clean"``.

    Args:
        model (nn.Module): maps inputs in [0, 1] to logits; trained in place.
        data (Batches | DataLoader | Dataset): the training set on the model's
            device: a :class:`lib.data.Batches` (e.g. from :func:`lib.data.load`),
            or a torch ``DataLoader`` or ``Dataset`` of ``(x, y)``, x float in
            [0, 1], read once into memory on the model's device (its own
            batching, shuffling and random transforms are not used).
        recipe (Recipe | None): how to train (epochs, batch size, learning rate,
            mix, attack, seed, precision ...: see :class:`Recipe`). Or, instead,
            its fields as keywords: ``train(model, data, epochs=3,
            batch_size=50, lr=1e-3)``. (Default: None: the keywords)
        eval_data (Batches | DataLoader | Dataset | None): if given, standard
            accuracy on it is recorded each epoch (and every ``eval_every``
            steps). (Default: None)
        progress (bool): show a tqdm bar. (Default: True)

    Shape:
        - batches of ``data``: x :math:`(N, C, H, W)` in [0, 1], y :math:`(N)`.

    Returns:
        list[dict]: one entry per epoch: ``epoch``, ``steps`` (optimizer steps so
        far), ``loss`` and ``acc`` (mean on the batches as trained, adversarial
        ones included), ``lr``, ``seconds``, and with ``eval_data`` the clean
        ``test_acc`` (and ``curve`` with ``eval_every``).

    Example:
        >>> from lib import data, models, train
        >>> from lib.attacks import PGD
        >>> tr = data.load("mnist", "train").subset(500, seed=0, balanced=True)
        >>> model = models.MnistCNN()
        >>> history = train.train(model, tr, epochs=3, batch_size=50, lr=1e-3,
        ...                       optimizer="adam", precision="fp32")
        >>> robust = train.Recipe(epochs=1, batch_size=50, lr=1e-3, optimizer="adam",
        ...                       mix="adversarial", attack=PGD(eps=0.3, norm="Linf", steps=7))
        >>> history = train.train(model, tr, robust)
    """
    if recipe is None:
        recipe = Recipe(**fields)
    elif fields:
        raise TypeError(f"give a recipe or its fields, not both (got {sorted(fields)} too)")
    elif not isinstance(recipe, Recipe):
        raise TypeError(f"recipe must be a lib.train.Recipe, got {type(recipe).__name__}")
    r = recipe
    if len(data) == 0:
        raise ValueError(
            f"cannot train on an empty data set ({getattr(data, 'name', '?')} "
            f"{getattr(data, 'split', '')}): it holds no example"
        )
    if r.eval_every is not None and eval_data is None:
        raise ValueError("eval_every records accuracy on eval_data: give eval_data too")
    # the recipe's fields, as the loop names them
    epochs, max_steps, batch_size, lr = r.epochs, r.max_steps, r.batch_size, r.lr
    mix, attack, beta, bn_mode = r.mix, r.attack, r.beta, r.bn_mode
    seed, eval_every = r.seed, r.eval_every
    if is_torch_data(data):
        data = to_tensor_data(data, device=model_device(model))
    device = data.device
    precision = runtime.resolve_precision(r.precision, device)
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
    if r.optimizer == "sgd":
        opt = torch.optim.SGD(params, lr=lr, momentum=r.momentum, weight_decay=r.weight_decay)
    else:
        opt = torch.optim.Adam(params, lr=lr, weight_decay=r.weight_decay)

    steps_per_epoch = math.ceil(data.epoch_size / batch_size)
    total = (
        epochs * steps_per_epoch if max_steps is None else min(max_steps, epochs * steps_per_epoch)
    )
    milestones = [round(f * total) for f in r.lr_milestones]
    ramp_steps = round(r.eps_ramp * total) if isinstance(attack, PGD) else 0
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
        for x, y in data.batches(batch_size, shuffle=True, generator=generator, augment=r.augment):
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
