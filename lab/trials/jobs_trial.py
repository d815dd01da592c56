"""Do two one-thread training processes beat one two-thread process? (execute.parallel)

For each `cpu`-profile recipe (the MNIST CNN and the CIFAR-10 ResNet at their
`cpu` widths, their own training attack, batch and optimizer), on random
data of the model's shape, adversarial images per second of the whole
machine:

- ``one process``: ``lib.train.train`` here, with every core's thread;
- ``N workers``: N spawned workers (``lib.experiments.execute.parallel.in_workers``), each with
  ``cores // N`` threads, training at the same time.

Each variant warms up with one epoch and then times ``--rounds`` epochs of
``--images`` images; a worker's rate is its images over its median epoch,
and the workers' rates add up (they run side by side for all their timed
epochs). The ratio is the workers' images/s over the one process's.

    .venv/bin/python lab/trials/jobs_trial.py --out lab/results/jobs-cpu.json
"""

from __future__ import annotations

import argparse
import functools
import statistics

import torch

from lib import models, runtime
from lib.bench import measure
from lib.bench.sections import _random_data, _train_epoch
from lib.bench.settings import CPU_DATASET, MODELS
from lib.experiments import profiles
from lib.experiments.execute import parallel


def epochs_per_s(name: str, images: int, rounds: int, worker: int = 0) -> dict:
    """Images/s of one process training the `cpu` recipe of ``name`` (median epoch)."""
    dataset = CPU_DATASET[name]
    cpu = profiles.settings(dataset, "cpu")
    _, shape, classes, eps_of = MODELS[name]
    torch.manual_seed(worker)
    initial = models.build(cpu.arch, classes=classes, **cpu.model_kwargs)
    data = _random_data(images, shape, classes, "cpu")
    attack = cpu.attack(eps_of["inf"], "inf")
    epoch = functools.partial(
        _train_epoch, initial, data, cpu.batch_size, attack, "adversarial", "auto"
    )
    epoch()  # warm-up
    seconds = [epoch() for _ in range(rounds)]
    return {
        "threads": torch.get_num_threads(),
        "epoch_s": seconds,
        "images_per_s": images / statistics.median(seconds),
    }


def trial(name: str, images: int, rounds: int, jobs: int) -> dict:
    cores = parallel.cpu_cores()
    torch.set_num_threads(cores)
    one = epochs_per_s(name, images, rounds)
    fn = functools.partial(epochs_per_s, name, images, rounds)
    workers = parallel.in_workers(fn, list(range(jobs)), device="cpu", jobs=jobs, progress=False)
    total = sum(w["images_per_s"] for w in workers)
    return {
        "model": name,
        "images": images,
        "rounds": rounds,
        "one process": one,
        f"{jobs} workers": workers,
        "workers/one process": total / one["images_per_s"],
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", default=list(CPU_DATASET))
    # Long epochs: a short one is dominated by its fixed costs (model copy, layout,
    # optimizer, first-call kernels), which parallel workers hide and a real run does not have.
    p.add_argument("--images", type=int, default=12_800, help="images per timed epoch")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--out", default=None, help="write the rows with their provenance here")
    args = p.parse_args()
    # As a chapter does; the workers follow this process (lib.experiments.execute.parallel), so both
    # sides of the ratio run with freed memory kept, as in the build.
    runtime.keep_freed_memory()
    provenance = {**measure.provenance("cpu"), "cores": parallel.cpu_cores(), "args": vars(args)}
    measure.run_trial(
        args.models,
        lambda name: trial(name, args.images, args.rounds, args.jobs),
        provenance,
        args.out,
    )


if __name__ == "__main__":
    main()
