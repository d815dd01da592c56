"""Does ``torch.compile`` (inductor) pay on this CPU? Issue 17, measured, not assumed.

For each `cpu`-profile model (the MNIST CNN and the CIFAR-10 ResNet at their
`cpu` widths), on random data of the model's shape:

- the attack: ``lib.attacks.pgd`` (PGD-10, l_inf, batch 128, bf16 autocast,
  channels_last) on the eager model and on ``runtime.fast_model(...,
  compile="default")``;
- the training step: ``lib.train.train`` for one epoch of ``--images`` images
  with the profile's own training attack, batch and optimizer, eager and
  compiled.

The compiled model is warmed up first (its compile time is reported apart),
then eager and compiled are timed in interleaved rounds; the ratio is the
median eager time over the median compiled time (> 1: compile wins).

    .venv/bin/python lab/trials/compile_trial.py --out lab/results/compile-cpu.json
"""

from __future__ import annotations

import argparse
import copy

import torch

from lib import attacks, models, runtime
from lib import train as train_lib
from lib.bench import measure
from lib.bench.sections import _random_data
from lib.bench.settings import CPU_DATASET, MODELS
from lib.experiments import profiles


def trial(name: str, images: int, rounds: int, mode: str) -> dict:
    dataset = CPU_DATASET[name]
    cpu = profiles.settings(dataset, "cpu")
    _, shape, classes, eps_of = MODELS[name]
    torch.manual_seed(0)
    initial = models.build(cpu.arch, classes=classes, **cpu.model_kwargs)
    data = _random_data(images, shape, classes, "cpu")
    x, y = data.x[:128].float() / 255, data.y[:128]
    attack = cpu.attack(eps_of["inf"], "inf")

    eager = runtime.fast_model(copy.deepcopy(initial).eval(), "cpu", "auto")
    compiled = runtime.fast_model(copy.deepcopy(initial).eval(), "cpu", "auto", compile=mode)
    pgd = dict(eps=eps_of["inf"], norm="inf", steps=10, step_size=2.5 * eps_of["inf"] / 10)

    def attack_of(model):
        return lambda: attacks.pgd(model, x, y, **pgd, precision="auto")

    def epoch_of(model):
        return lambda: train_lib.train(
            model,
            data,
            epochs=1,
            batch_size=cpu.batch_size,
            lr=cpu.lr,
            optimizer=cpu.optimizer,
            mix="adversarial",
            attack=attack,
            precision="auto",
            progress=False,
        )

    train_eager = runtime.fast_model(copy.deepcopy(initial), "cpu", "auto")
    train_compiled = runtime.fast_model(copy.deepcopy(initial), "cpu", "auto", compile=mode)
    out = {"model": name, "cpu_kwargs": cpu.model_kwargs, "images": images, "mode": mode}
    variants = {
        "attack_eager": attack_of(eager),
        "attack_compiled": attack_of(compiled),
        "train_eager": epoch_of(train_eager),
        "train_compiled": epoch_of(train_compiled),
    }
    # First calls compile (and warm the eager path's oneDNN caches): timed apart.
    first = {k: measure.timed(fn, torch.device("cpu"))[0] for k, fn in variants.items()}
    for what, key in (("attack", "attack_first_call_s"), ("train", "train_first_epoch_s")):
        out[key] = {v: first[f"{what}_{v}"] for v in ("eager", "compiled")}
    timing = measure.interleaved(variants, torch.device("cpu"), rounds, warmup=False)
    med = {k: v["seconds"] for k, v in timing.items()}
    out["median_s"] = med
    out["eager/compiled"] = {
        "attack": med["attack_eager"] / med["attack_compiled"],
        "train": med["train_eager"] / med["train_compiled"],
    }
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", default=list(CPU_DATASET))
    p.add_argument("--images", type=int, default=2560, help="images per timed training epoch")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--mode", default="default", choices=runtime.COMPILE_MODES)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", default=None, help="write the rows with their provenance here")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    provenance = {**measure.provenance("cpu"), "args": vars(args)}
    measure.run_trial(
        args.models,
        lambda name: trial(name, args.images, args.rounds, args.mode),
        provenance,
        args.out,
    )


if __name__ == "__main__":
    main()
