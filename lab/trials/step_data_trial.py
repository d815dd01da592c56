"""Does the build's data path make a `cpu` training step slower than the bench's?

The previous cold build's CIFAR-10 runs trained at about 155 ms per step in
their one-thread workers, while ``lab/trials/recipe_ratio_trial.py`` had given
108-116 ms for the same recipe hours before, on the bench's random data
with the bench's optimizer and no augmentation. This trial times, in one
process and in interleaved rounds (so the machine's drift hits every
variant alike), ``lib.train.train`` for ``--steps`` steps of the `cpu`
recipe of ``--dataset`` (its model, batch and training attack, from the
same initial weights) with:

- ``random, bench``: the bench's random uint8 images, SGD 0.01, no augmentation;
- ``real, bench``: the real training images, the same optimizer;
- ``real, recipe``: the real images with the profile's own optimizer, weight
  decay and augmentation (what a build's run does), l_inf;
- ``real, recipe, l2``: the same at l2 (half of Table 4's runs);
- ``random, recipe``: the random images with the recipe's options.

Freed memory is kept, as in the build's workers; ``--threads 1`` (the
default) is a worker's thread count.

    .venv/bin/python lab/trials/step_data_trial.py --out lab/results/step-data-cpu.json
"""

from __future__ import annotations

import argparse
import functools

import torch

from lib import data as data_lib
from lib import models, runtime
from lib.bench import measure
from lib.bench.sections import _random_data, _train_epoch
from lib.bench.settings import CPU_DATASET, MODELS
from lib.experiments import profiles

VARIANTS = ("random, bench", "real, bench", "real, recipe", "real, recipe, l2", "random, recipe")


def trial(name: str, steps: int, rounds: int) -> dict:
    dataset = CPU_DATASET[name]
    cpu = profiles.settings(dataset, "cpu")
    _, shape, classes, eps_of = MODELS[name]
    real = data_lib.load_split(dataset, "train", None, seed=0, device="cpu")
    random = _random_data(len(real), shape, classes, "cpu")
    torch.manual_seed(0)
    initial = models.build(cpu.arch, classes=classes, **cpu.model_kwargs)
    bench = dict(lr=0.01)
    recipe = dict(
        lr=cpu.lr,
        optimizer=cpu.optimizer,
        momentum=cpu.momentum,
        weight_decay=cpu.weight_decay,
        augment=cpu.augment,
    )
    linf, l2 = cpu.attack(eps_of["inf"], "inf"), cpu.attack(eps_of[2], 2)
    setups = {
        "random, bench": (random, linf, bench),
        "real, bench": (real, linf, bench),
        "real, recipe": (real, linf, recipe),
        "real, recipe, l2": (real, l2, recipe),
        "random, recipe": (random, linf, recipe),
    }
    variants = {
        k: functools.partial(
            _train_epoch, initial, d, cpu.batch_size, a, "adversarial", "auto", max_steps=steps, **o
        )
        for k, (d, a, o) in setups.items()
    }
    t = measure.interleaved(variants, torch.device("cpu"), rounds)
    errors = {k: v["error"] for k, v in t.items() if "error" in v}
    if errors:
        raise RuntimeError(f"variants failed: {errors}")
    ms = {k: 1000 * v["seconds"] / steps for k, v in t.items()}
    return {
        "model": name,
        "dataset": dataset,
        "steps": steps,
        "rounds": rounds,
        "threads": torch.get_num_threads(),
        "ms_per_step": ms,
        "real recipe / random bench": ms["real, recipe"] / ms["random, bench"],
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", default=["cifar_resnet"])
    p.add_argument("--steps", type=int, default=30, help="training steps per timed call")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default=None, help="write the rows with their provenance here")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    runtime.keep_freed_memory()  # as the build's workers do
    provenance = {**measure.provenance("cpu"), "args": vars(args)}
    measure.run_trial(
        args.models, lambda name: trial(name, args.steps, args.rounds), provenance, args.out
    )


if __name__ == "__main__":
    main()
