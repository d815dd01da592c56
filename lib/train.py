"""One training loop for clean, adversarial and half-half batches, and evaluation.

``train`` is the loop; ``evaluate`` gives standard accuracy (no attack) or
robust accuracy (with one); ``train_run`` ties profiles, data, models and the
store together: it returns the stored run for a configuration or trains it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from lib import data as data_lib
from lib import models, profiles, runtime
from lib.attacks import PGD, LinearWorstCase, check_eps, check_norm
from lib.store import Run, Store

MIXES = ("clean", "adversarial", "half")
OPTIMIZERS = ("sgd", "adam")

Attack = Callable[..., torch.Tensor]


def check_mix(mix: str) -> str:
    if mix not in MIXES:
        raise ValueError(f"unknown mix {mix!r}; allowed: {', '.join(MIXES)}")
    return mix


def _perturb(attack: Attack, model, x, y, precision: str, generator) -> torch.Tensor:
    if isinstance(attack, PGD):
        return attack(model, x, y, precision=precision, generator=generator)
    return attack(model, x, y)


def _as_tensors(data) -> tuple[torch.Tensor, torch.Tensor]:
    if isinstance(data, data_lib.TensorData):
        return data.inputs(), data.y
    x, y = data
    return x, y


def _uses_channels_last(model: torch.nn.Module) -> bool:
    return any(p.dim() == 4 for p in model.parameters())


def train(
    model: torch.nn.Module,
    data: data_lib.TensorData,
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
    eval_data: data_lib.TensorData | None = None,
    progress: bool = True,
) -> list[dict]:
    """Train ``model`` in place and return its history (one dict per epoch).

    Args:
        data: training set on the device the model lives on.
        epochs: passes over ``data``; ``max_steps`` stops earlier if given.
        batch_size: images per step; None trains on the full batch.
        lr: initial learning rate, multiplied by 0.1 at each fraction of
            the total steps in ``lr_milestones``.
        optimizer: ``"sgd"`` (with ``momentum``) or ``"adam"``.
        mix: ``"clean"``; ``"adversarial"`` (every example replaced by
            ``attack``'s); ``"half"`` (half of each batch adversarial, the
            other half clean: Table 4 of the paper).
        attack: ``(model, x, y) -> x_adv``, e.g. a :class:`lib.attacks.PGD`.
        precision: ``"auto"``, ``"bf16"`` or ``"fp32"`` (see lib.runtime).
        eval_data: if given, standard accuracy on it is recorded each epoch.

    The history records per epoch the mean training loss and accuracy on
    the batches as trained (adversarial ones included), the learning rate,
    the wall time and, with ``eval_data``, the clean test accuracy.
    """
    check_mix(mix)
    if mix != "clean" and attack is None:
        raise ValueError(f"mix={mix!r} needs an attack")
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {optimizer!r}; allowed: {', '.join(OPTIMIZERS)}")
    if not isinstance(epochs, int) or epochs < 0:
        raise ValueError(f"epochs must be an int >= 0, got {epochs!r}")
    if not lr > 0:
        raise ValueError(f"lr must be > 0, got {lr!r}")
    device = data.device
    precision = runtime.resolve_precision(precision, device)
    generator = runtime.seed_everything(seed)
    batch_size = batch_size or len(data)
    if precision == "bf16" and _uses_channels_last(model):
        model.to(memory_format=torch.channels_last)
    params = [p for p in model.parameters() if p.requires_grad]
    if optimizer == "sgd":
        opt = torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    else:
        opt = torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)

    steps_per_epoch = math.ceil(len(data) / batch_size)
    total = (
        epochs * steps_per_epoch if max_steps is None else min(max_steps, epochs * steps_per_epoch)
    )
    milestones = [round(f * total) for f in lr_milestones]
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
        for x, y in data.batches(batch_size, shuffle=True, generator=generator, augment=augment):
            if done >= total:
                break
            current_lr = lr * 0.1 ** sum(done >= m for m in milestones)
            for group in opt.param_groups:
                group["lr"] = current_lr
            if mix == "adversarial":
                x = _perturb(attack, model, x, y, precision, generator)
            elif mix == "half":
                k = len(x) // 2
                x = torch.cat([x[:k], _perturb(attack, model, x[k:], y[k:], precision, generator)])
            model.train()
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
        entry = {
            "epoch": epoch + 1,
            "steps": done,
            "loss": (loss_sum / max(seen, 1)).item(),
            "acc": (correct / max(seen, 1)).item(),
            "lr": current_lr,
            "seconds": time.perf_counter() - start,
        }
        if eval_data is not None:
            entry["test_acc"] = evaluate(model, eval_data, precision=precision)
        history.append(entry)
        bar.set_postfix(loss=f"{entry['loss']:.3f}", acc=f"{entry['acc']:.3f}")
    bar.close()
    model.eval()
    return history


def evaluate(
    model: torch.nn.Module,
    data,
    attack: Attack | None = None,
    *,
    batch_size: int = 500,
    precision: str = "auto",
    generator: torch.Generator | None = None,
) -> float:
    """Accuracy of ``model`` on ``data`` (a TensorData or an ``(x, y)`` pair), in [0, 1].

    Without ``attack`` it is the standard accuracy. With one it is the robust
    accuracy: an example counts only if it is classified correctly both
    clean and after the attack. Only correctly classified examples are
    attacked (the others are errors already). The model is evaluated in eval
    mode and its mode is restored.
    """
    x_all, y_all = _as_tensors(data)
    if len(y_all) == 0:
        raise ValueError("cannot evaluate on an empty data set")
    precision = runtime.resolve_precision(precision, x_all.device)
    was_training = model.training
    model.eval()
    correct = 0
    try:
        for start in range(0, len(y_all), batch_size):
            x, y = x_all[start : start + batch_size], y_all[start : start + batch_size]
            with torch.no_grad(), runtime.autocast(x.device, precision):
                ok = model(x).argmax(1) == y
            if attack is not None and ok.any():
                keep = ok.nonzero().flatten()
                x_adv = _perturb(attack, model, x[keep], y[keep], precision, generator)
                with torch.no_grad(), runtime.autocast(x.device, precision):
                    ok[keep] = model(x_adv).argmax(1) == y[keep]
            correct += int(ok.sum())
    finally:
        model.train(was_training)
    return correct / len(y_all)


# --------------------------------------------------------------------------
# One configuration, end to end, through the store


@dataclass(frozen=True)
class RunConfig:
    """One training configuration; its dict (with the profile's settings) keys the store."""

    dataset: str  # a name of lib.data.DATASETS
    profile: str = "cpu"  # a name of lib.profiles.PROFILES
    mix: str = "clean"  # "clean", "adversarial" or "half"
    norm: str | int = "inf"  # threat model of training and evaluation: "inf" or 2
    eps_train: float = 0.0  # training eps, [0, 1] pixel space; 0 with mix="clean"
    eps_eval: float | None = None  # evaluation eps; None = Table 2's eps
    n_train: int | None = None  # training images; None = the profile's
    epochs: int | None = None  # None = the profile's
    seed: int = 0  # seeds model initialization, batch order, augmentation, attack starts
    precision: str = "auto"  # "auto", "bf16" or "fp32"

    def __post_init__(self):
        data_lib.check_dataset(self.dataset)
        profiles.check_profile(self.profile)
        check_mix(self.mix)
        object.__setattr__(self, "norm", check_norm(self.norm))
        check_eps(self.eps_train)
        if self.eps_eval is not None:
            check_eps(self.eps_eval)
        if self.mix == "clean" and self.eps_train != 0:
            raise ValueError("mix='clean' trains without an attack: set eps_train=0")
        if self.mix != "clean" and self.eps_train == 0:
            raise ValueError(f"mix={self.mix!r} needs eps_train > 0")


def _attack_for(settings: profiles.DatasetSettings, eps: float, norm, kind: str):
    if settings.arch == "linear":
        return LinearWorstCase(eps)
    return settings.attack(eps, norm, kind=kind)


def train_run(
    config: RunConfig,
    *,
    store: Store | None = None,
    device: torch.device | str | None = None,
    progress: bool = True,
) -> tuple[torch.nn.Module, Run]:
    """The model and stored run of ``config``: loaded if stored, else trained and saved.

    Metrics: standard test accuracy and robust test accuracy against the
    profile's evaluation attack at ``eps_eval`` (Table 2's eps by default).
    """
    store = store or Store()
    device = torch.device(device) if device is not None else runtime.default_device()
    settings = profiles.settings(config.dataset, config.profile)
    precision = runtime.resolve_precision(config.precision, device)
    epochs = config.epochs if config.epochs is not None else settings.epochs
    n_train = config.n_train if config.n_train is not None else settings.n_train
    eps_eval = config.eps_eval
    if eps_eval is None:
        eps_eval = profiles.table2_eps(config.dataset, config.norm)
    key_settings = {
        "run": {
            **config.__dict__,
            "precision": precision,
            "epochs": epochs,
            "n_train": n_train,
            "eps_eval": eps_eval,
        },
        "profile_settings": settings.to_dict(),
    }

    def compute() -> dict:
        train_set = data_lib.load(config.dataset, "train", device=device)
        test_set = data_lib.load(config.dataset, "test", device=device)
        if n_train is not None:
            train_set = train_set.subset(n_train, seed=config.seed, balanced=True)
        if settings.n_test is not None and settings.n_test < len(test_set):
            test_set = test_set.subset(settings.n_test, seed=0)
        runtime.seed_everything(config.seed)
        model = models.build(settings.arch, **settings.model_kwargs).to(device)
        attack = (
            _attack_for(settings, config.eps_train, config.norm, "train")
            if config.mix != "clean"
            else None
        )
        start = time.perf_counter()
        history = train(
            model,
            train_set,
            epochs=epochs,
            batch_size=settings.batch_size,
            lr=settings.lr,
            optimizer=settings.optimizer,
            momentum=settings.momentum,
            weight_decay=settings.weight_decay,
            lr_milestones=settings.lr_milestones,
            augment=settings.augment,
            mix=config.mix,
            attack=attack,
            seed=config.seed,
            precision=precision,
            progress=progress,
        )
        train_seconds = time.perf_counter() - start
        eval_attack = _attack_for(settings, eps_eval, config.norm, "eval")
        g = torch.Generator().manual_seed(config.seed)
        metrics = {
            "std_acc": evaluate(model, test_set, precision=precision),
            "adv_acc": evaluate(model, test_set, eval_attack, precision=precision, generator=g),
            "eval_attack": eval_attack.describe(),
            "n_train": len(train_set),
            "n_test": len(test_set),
            "train_complete": train_set.complete,
            "train_seconds": train_seconds,
        }
        return {
            "metrics": metrics,
            "history": history,
            "state_dict": model.state_dict(),
            "provenance": {"device": runtime.device_name(device), "precision": precision},
        }

    run = store.get_or_run(key_settings, compute)
    model = models.build(settings.arch, **settings.model_kwargs)
    model.load_state_dict(run.state_dict())
    return model.to(device).eval(), run
