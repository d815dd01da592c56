"""What a planned run computes: its schedule, its recipe, its training and its metrics.

:func:`make_run` trains the model of a :class:`lib.experiments.runs.Plan` with
:func:`lib.train.train` (the profile's :class:`lib.train.Recipe`, the run's
mix, attack and seed) and measures it; :func:`lib.experiments.runs.train_run`
stores what it returns under the plan's key. (The ``plan`` arguments are
Plans; not imported, as :mod:`lib.experiments.runs` imports this module.)
"""

from __future__ import annotations

import math
import time

import torch

from lib import models, runtime
from lib.experiments.plan_data import plan_split, robust_images
from lib.experiments.run_checks import run_data_hashes
from lib.trades import TradesAttack
from lib.train import Recipe, balanced_accuracy, outcomes, train


def schedule(plan, per_epoch: int) -> tuple[int, int | None]:
    """``(epochs, max_steps)`` of ``plan`` at ``per_epoch`` steps an epoch: the
    profile's epochs, or its steps; a small training set gets the profile's
    ``min_steps`` at least (more passes over it)."""
    epochs, max_steps = plan.epochs, plan.steps
    if max_steps is None and epochs * per_epoch < plan.settings.min_steps:
        max_steps = plan.settings.min_steps
    if max_steps is not None:
        epochs = math.ceil(max_steps / per_epoch)
    return epochs, max_steps


def make_run(plan, *, progress: bool = True) -> dict:
    """Train and measure ``plan``'s run: the keyword arguments of
    :meth:`lib.experiments.store.Store.save` (metrics, history, weights, provenance).

    Training follows the profile's recipe (model, optimizer, schedule, training
    attack); then the standard test accuracy, and the robust one against the
    profile's evaluation attack (stronger than the training one) at ``eps_eval``.
    """
    config, settings, device = plan.config, plan.settings, plan.device
    train_set, test_set = plan_split(plan, "train"), plan_split(plan, "test")
    per_epoch = math.ceil(train_set.epoch_size / (settings.batch_size or len(train_set)))
    epochs, max_steps = schedule(plan, per_epoch)
    runtime.seed_everything(config.seed)
    model = models.build(settings.arch, **settings.model_kwargs).to(device)
    attack = None
    if config.mix != "clean":
        attack = settings.attack(config.eps_train, config.norm, kind="train")
        if config.mix == "trades":  # the KL adversary with the training PGD's geometry
            attack = TradesAttack.like(attack)
    start = time.perf_counter()
    recipe = Recipe.of(
        settings,  # the profile's optimizer, schedule and augmentation; the run's own:
        epochs=epochs,
        max_steps=max_steps,
        mix=config.mix,
        attack=attack,
        seed=config.seed,
        precision=plan.precision,
        bn_mode=config.bn_mode,
        beta=config.beta,
        eval_every=config.eval_every,
    )
    eval_data = test_set if config.eval_every else None
    history = train(model, train_set, recipe, eval_data=eval_data, progress=progress)
    train_seconds = time.perf_counter() - start
    eval_attack = settings.attack(plan.eps_eval, config.norm, kind="eval")
    g = torch.Generator().manual_seed(config.seed)
    kw = dict(precision=plan.precision, batch_size=settings.eval_batch_size)
    std_ok, std_y = outcomes(model, test_set, **kw)
    robust_set = robust_images(test_set, settings.n_test_robust)
    adv_ok, adv_y = outcomes(model, robust_set, eval_attack, generator=g, **kw)
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
        "n_test_robust": len(robust_set),
        "train_complete": train_set.complete,
        "test_complete": test_set.complete,
        "steps": history[-1]["steps"] if history else 0,
        "train_seconds": train_seconds,
    }
    return {
        "metrics": metrics,
        "history": history,
        "state_dict": model.state_dict(),
        "provenance": {
            "device": runtime.device_name(device),
            # every byte of the data it met: a stored run of other bytes is refused
            "data_sha256": run_data_hashes(plan),
            "precision": plan.precision,
            # the order of floating-point sums depends on it (lib.experiments.execute.parallel)
            "threads": torch.get_num_threads(),
        },
    }
