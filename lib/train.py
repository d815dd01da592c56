"""One training loop for clean, adversarial and half-half batches, and evaluation.

``train`` is the loop; ``evaluate`` gives standard accuracy (no attack) or
robust accuracy (with one); ``train_run`` ties profiles, data, models and the
store together: it returns the stored run for a configuration or trains it.

Both ``train`` and ``evaluate`` take any :class:`lib.data.Batches`: a
:class:`lib.data.TensorData` held on the device, or Restricted ImageNet
streamed from image files (:class:`lib.imagenet.FolderData`).
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
from lib.attacks import PGD, LinearWorstCase, check_bn_mode, check_eps, check_norm
from lib.store import Run, Store
from lib.trades import TradesAttack, trades_loss

MIXES = ("clean", "adversarial", "half", "trades")
OPTIMIZERS = ("sgd", "adam")

Attack = Callable[..., torch.Tensor]


def check_mix(mix: str) -> str:
    if mix not in MIXES:
        raise ValueError(f"unknown mix {mix!r}; allowed: {', '.join(MIXES)}")
    return mix


def _perturb(attack: Attack, model, x, y, precision: str, generator, bn_mode="eval"):
    if isinstance(attack, PGD | TradesAttack):
        return attack(model, x, y, precision=precision, generator=generator, bn_mode=bn_mode)
    return attack(model, x, y)


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
    beta: float | None = None,
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
    if not isinstance(epochs, int) or epochs < 0:
        raise ValueError(f"epochs must be an int >= 0, got {epochs!r}")
    if not lr > 0:
        raise ValueError(f"lr must be > 0, got {lr!r}")
    device = data.device
    precision = runtime.resolve_precision(precision, device)
    generator = runtime.seed_everything(seed)
    # Random starts are drawn where the data lives: on a GPU a CPU draw and a
    # copy per batch would cost more than the attack's steps on small models.
    attack_generator = (
        generator if device.type == "cpu" else torch.Generator(device).manual_seed(seed)
    )
    batch_size = batch_size or len(data)
    runtime.fast_model(model, device, precision)  # channels_last where it helps
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
                x = _perturb(attack, model, x, y, precision, attack_generator, bn_mode)
            elif mix == "half":
                k = len(x) // 2
                x_adv = _perturb(attack, model, x[k:], y[k:], precision, attack_generator, bn_mode)
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
    device = _device_of(data)
    precision = runtime.resolve_precision(precision, device)
    was_training = model.training
    model.eval()
    oks, ys = [], []
    try:
        for x, y in _eval_batches(data, batch_size):
            with torch.no_grad(), runtime.autocast(x.device, precision):
                ok = model(x).argmax(1) == y
            if attack is not None and ok.any():
                keep = ok.nonzero().flatten()
                x_adv = _perturb(attack, model, x[keep], y[keep], precision, generator)
                with torch.no_grad(), runtime.autocast(x.device, precision):
                    ok[keep] = model(x_adv).argmax(1) == y[keep]
            oks.append(ok)
            ys.append(y)
    finally:
        model.train(was_training)
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
    eps_eval: float | None = None  # evaluation eps; None: eps_train, or Table 2's if that is 0
    n_train: int | None = None  # training images; None = the profile's
    max_steps: int | None = None  # optimizer steps; None = the profile's
    bn_mode: str = "eval"  # model mode while the training attack runs: "eval" or "train"
    seed: int = 0  # seeds model initialization, batch order, augmentation, attack starts
    precision: str = "auto"  # "auto", "bf16" or "fp32"
    variant: str | None = None  # Restricted ImageNet: "paper" or "robustness"; None: the profile's
    beta: float | None = None  # TRADES' weight of the KL term, with mix="trades" only

    def __post_init__(self):
        data_lib.check_dataset(self.dataset)
        profiles.check_profile(self.profile)
        check_mix(self.mix)
        check_bn_mode(self.bn_mode)
        runtime.resolve_precision(self.precision, "cpu")  # validates the name
        object.__setattr__(self, "norm", check_norm(self.norm))
        check_eps(self.eps_train)
        if self.eps_eval is not None:
            check_eps(self.eps_eval)
        if self.mix == "clean" and self.eps_train != 0:
            raise ValueError("mix='clean' trains without an attack: set eps_train=0")
        if self.mix != "clean" and self.eps_train == 0:
            raise ValueError(f"mix={self.mix!r} needs eps_train > 0")
        for name in ("n_train", "max_steps"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ValueError(f"{name} must be a positive int or None, got {value!r}")
        if self.variant is not None:
            if self.dataset != "restricted_imagenet":
                raise ValueError(
                    f"variant is a Restricted ImageNet option; {self.dataset} has none: use None"
                )
            data_lib.check_variant(self.variant)
        if (self.mix == "trades") != (self.beta is not None):
            raise ValueError("beta is TRADES' weight: set it with mix='trades' only")
        if self.beta is not None and not self.beta >= 0:
            raise ValueError(f"beta must be >= 0, got {self.beta!r}")

    def key_dict(self) -> dict:
        """The fields that key the store; ``variant`` only when set, so that the keys
        of runs stored before it existed stay the same."""
        d = dict(self.__dict__)
        for name in ("variant", "beta"):  # added later: keys of older runs unchanged
            if d[name] is None:
                del d[name]
        return d


def _attack_for(settings: profiles.DatasetSettings, eps: float, norm, kind: str):
    if settings.arch == "linear":
        return LinearWorstCase(eps)
    return settings.attack(eps, norm, kind=kind)


@dataclass(frozen=True)
class _Plan:
    """A RunConfig resolved against its profile and device: what will run, and its key."""

    config: RunConfig
    settings: profiles.DatasetSettings
    device: torch.device
    precision: str
    n_train: int | None
    steps: int | None
    epochs: int
    eps_eval: float

    @property
    def data_options(self) -> dict:
        """Loader options of lib.data.load: the profile's, with the config's variant."""
        options = dict(self.settings.data)
        if self.config.variant is not None:
            options["variant"] = self.config.variant
        return options

    @property
    def key_settings(self) -> dict:
        run = self.config.key_dict()
        if "variant" in run and run["variant"] == self.settings.data.get("variant"):
            del run["variant"]  # the profile's own variant, named: the same run
        return {
            "run": {
                **run,
                "precision": self.precision,
                "n_train": self.n_train,
                "max_steps": self.steps,
                "epochs": self.epochs,
                "eps_eval": self.eps_eval,
            },
            "profile_settings": self.settings.to_dict(),
        }


def _plan(config: RunConfig, device=None) -> _Plan:
    device = torch.device(device) if device is not None else runtime.default_device()
    settings = profiles.settings(config.dataset, config.profile)
    eps_eval = config.eps_eval
    if eps_eval is None:
        eps_eval = config.eps_train or profiles.table2_eps(config.dataset, config.norm)
    return _Plan(
        config=config,
        settings=settings,
        device=device,
        precision=runtime.resolve_precision(config.precision, device),
        n_train=config.n_train if config.n_train is not None else settings.n_train,
        steps=config.max_steps if config.max_steps is not None else settings.steps,
        epochs=settings.epochs,
        eps_eval=eps_eval,
    )


def run_key(config: RunConfig, device=None) -> str:
    """The store key of ``config`` on ``device``, without training anything."""
    from lib.store import key_of

    return key_of(_plan(config, device).key_settings)


def load_split(
    dataset: str, split: str, n: int | None, *, seed: int, device, **options
) -> data_lib.Batches:
    """A data split, cut to a seeded class-balanced subset of ``n`` when n is smaller.

    ``options`` go to :func:`lib.data.load` (Restricted ImageNet's loader options).
    """
    ds = data_lib.load(dataset, split, device=device, **options)
    if n is not None and n < len(ds):
        ds = ds.subset(n, seed=seed, balanced=split == "train")
    elif n is not None and n > len(ds):
        raise ValueError(f"n={n} is larger than the {dataset} {split} set ({len(ds)} examples)")
    return ds


def run_data(
    config: RunConfig,
    split: str,
    *,
    device: torch.device | str | None = None,
    whole: bool = False,
) -> data_lib.Batches:
    """The data a run of ``config`` trains on (``"train"``) or is evaluated on (``"test"``).

    ``whole=True``: the whole split, read the same way (for figures that pick
    their own images), instead of the run's subset.
    """
    plan = _plan(config, device)
    if data_lib.check_split(split) == "train":
        n, seed = plan.n_train, config.seed
    else:
        n, seed = plan.settings.n_test, 0
    n = None if whole else n
    return load_split(config.dataset, split, n, seed=seed, device=plan.device, **plan.data_options)


def train_run(
    config: RunConfig,
    *,
    store: Store | None = None,
    device: torch.device | str | None = None,
    progress: bool = True,
) -> tuple[torch.nn.Module, Run]:
    """The model and stored run of ``config``: loaded if stored, else trained and saved.

    Metrics: standard test accuracy, and robust test accuracy against the
    profile's evaluation attack (stronger than the training one) at
    ``eps_eval``, each also class-balanced (``*_balanced``). Training runs
    the profile's number of steps whatever the training-set size (several
    epochs of a small set), else its epochs.
    """
    store = store or Store()
    plan = _plan(config, device)
    settings, device = plan.settings, plan.device

    def compute() -> dict:
        options = plan.data_options
        train_set = load_split(
            config.dataset, "train", plan.n_train, seed=config.seed, device=device, **options
        )
        test_set = load_split(
            config.dataset, "test", settings.n_test, seed=0, device=device, **options
        )
        batch = settings.batch_size or len(train_set)
        epochs = plan.epochs
        if plan.steps is not None:
            epochs = math.ceil(plan.steps / math.ceil(train_set.epoch_size / batch))
        runtime.seed_everything(config.seed)
        model = models.build(settings.arch, **settings.model_kwargs).to(device)
        attack = None
        if config.mix != "clean":
            attack = _attack_for(settings, config.eps_train, config.norm, "train")
            if config.mix == "trades":
                attack = TradesAttack.like(attack)
        start = time.perf_counter()
        history = train(
            model,
            train_set,
            epochs=epochs,
            max_steps=plan.steps,
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
            precision=plan.precision,
            bn_mode=config.bn_mode,
            progress=progress,
            beta=config.beta,
        )
        train_seconds = time.perf_counter() - start
        eval_attack = _attack_for(settings, plan.eps_eval, config.norm, "eval")
        g = torch.Generator().manual_seed(config.seed)
        kw = dict(precision=plan.precision, batch_size=settings.eval_batch_size)
        std_ok, std_y = outcomes(model, test_set, **kw)
        adv_ok, adv_y = outcomes(model, test_set, eval_attack, generator=g, **kw)
        metrics = {
            "std_acc": int(std_ok.sum()) / len(std_ok),
            "adv_acc": int(adv_ok.sum()) / len(adv_ok),
            "std_acc_balanced": balanced_accuracy(std_ok, std_y),
            "adv_acc_balanced": balanced_accuracy(adv_ok, adv_y),
            "eps_eval": plan.eps_eval,
            "train_attack": attack.describe() if attack is not None else None,
            "eval_attack": eval_attack.describe(),
            "n_train": len(train_set),
            "n_test": len(test_set),
            "train_complete": train_set.complete,
            "test_complete": test_set.complete,
            "steps": history[-1]["steps"] if history else 0,
            "train_seconds": train_seconds,
        }
        return {
            "metrics": metrics,
            "history": history,
            "state_dict": model.state_dict(),
            "provenance": {"device": runtime.device_name(device), "precision": plan.precision},
        }

    run = store.get_or_run(plan.key_settings, compute)
    model = models.build(settings.arch, **settings.model_kwargs)
    model.load_state_dict(run.state_dict())
    return model.to(device).eval(), run


def robust_eval(
    config: RunConfig,
    eps: float,
    *,
    norm=None,
    store: Store | None = None,
    device: torch.device | str | None = None,
    progress: bool = True,
) -> float:
    """Robust test accuracy of ``config``'s model at another ``eps`` (and ``norm``), stored too.

    ``norm`` defaults to the config's own; a standard model (``mix="clean"``)
    has no threat model of its own, so pass the one to evaluate. The
    evaluation attack is the profile's (as in :func:`train_run`); the model
    is trained first if it is not in the store.
    """
    store = store or Store()
    plan = _plan(config, device)
    norm = check_norm(norm) if norm is not None else config.norm
    attack = _attack_for(plan.settings, check_eps(eps), norm, "eval")
    key = {
        "robust_eval_of": run_key(config, plan.device),
        "attack": attack.describe(),
        "n_test": plan.settings.n_test,
        "seed": config.seed,
    }

    def compute() -> dict:
        model, _ = train_run(config, store=store, device=plan.device, progress=progress)
        test_set = load_split(
            config.dataset,
            "test",
            plan.settings.n_test,
            seed=0,
            device=plan.device,
            **plan.data_options,
        )
        g = torch.Generator().manual_seed(config.seed)
        ok, y = outcomes(
            model,
            test_set,
            attack,
            precision=plan.precision,
            generator=g,
            batch_size=plan.settings.eval_batch_size,
        )
        metrics = {
            "adv_acc": int(ok.sum()) / len(ok),
            "adv_acc_balanced": balanced_accuracy(ok, y),
            "eps": eps,
            "attack": attack.describe(),
        }
        return {"metrics": metrics}

    return store.get_or_run(key, compute).metrics["adv_acc"]
