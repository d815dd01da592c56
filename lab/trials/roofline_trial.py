"""How close is a `cpu` recipe's training step to what this CPU can do? Issue 14, measured.

The cold `cpu` build is over its budget, and MNIST's robust runs are its
largest cost. Before asking whether a faster step is possible, this measures
how much of the CPU one step already uses. For each `cpu` recipe (the MNIST
CNN and the CIFAR-10 ResNet at their `cpu` widths, the profile's own training
attack, batch, optimizer and precision):

- the matrix-multiply and convolution FLOPs of one adversarial training step
  (the PGD-k attack's k + 1 forward and k input-gradient backward passes,
  then the training forward and backward), and of one standard step, counted
  by ``torch.utils.flop_counter.FlopCounterMode`` on a real step of
  :func:`lib.train.train` (element-wise work such as BatchNorm and ReLU is
  not counted: it is not what the CPU's peak measures);
- the seconds of one step, the median over interleaved rounds of a training
  epoch of random images (:func:`lib.bench.measure.interleaved`);
- the ceiling: the FLOP rate of a large matrix multiply (``--gemm`` square,
  the best of several calls) on the same threads, at the precision the
  recipe runs at on this CPU (``precision="auto"``: bf16 on a CPU with AVX-512
  BF16 or AMX, fp32 elsewhere).

The FLOP rate of a step over the ceiling says how much is left to gain
without doing less arithmetic. ``--threads 1`` (the default) is what a
build's worker has (two one-thread workers on this 2-core machine).

    .venv/bin/python lab/trials/roofline_trial.py --out lab/results/roofline-cpu.json
"""

from __future__ import annotations

import argparse
import functools
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from lib import models, runtime
from lib.bench import measure
from lib.bench.sections import _random_data, _train_epoch
from lib.bench.settings import CPU_DATASET, MODELS
from lib.experiments import profiles


def gemm_flops_per_s(n: int, dtype: torch.dtype, calls: int = 5) -> float:
    """FLOP/s of the best of ``calls`` ``n x n`` matrix multiplies in ``dtype``."""
    a = torch.randn(n, n, dtype=dtype)
    b = torch.randn(n, n, dtype=dtype)
    torch.mm(a, b)  # warm the library's kernels
    best = float("inf")
    for _ in range(calls):
        start = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best


def trial(name: str, steps: int, rounds: int, gemm: int) -> dict:
    dataset = CPU_DATASET[name]
    cpu = profiles.settings(dataset, "cpu")
    _, shape, classes, _ = MODELS[name]
    norm = "inf"
    eps = max(profiles.TABLE4_EPS[(dataset, norm)])  # Table 4's largest: the build's costliest
    attack = cpu.attack(eps, norm)
    torch.manual_seed(0)
    initial = models.build(cpu.arch, classes=classes, **cpu.model_kwargs)
    data = _random_data(cpu.batch_size * steps, shape, classes, "cpu")
    one_batch = _random_data(cpu.batch_size, shape, classes, "cpu")

    def epoch(mix: str, images):  # one epoch of a fresh copy, as every bench's training section
        return functools.partial(
            _train_epoch,
            initial,
            images,
            cpu.batch_size,
            attack if mix != "clean" else None,
            mix,
            "auto",
            lr=cpu.lr,
            optimizer=cpu.optimizer,
            augment=cpu.augment,
        )

    flops = {}
    for mix in ("adversarial", "clean"):
        with FlopCounterMode(display=False) as counter:
            epoch(mix, one_batch)()
        flops[mix] = counter.get_total_flops()
    timing = measure.interleaved(
        {mix: epoch(mix, data) for mix in flops}, torch.device("cpu"), rounds
    )
    precision = runtime.resolve_precision("auto", "cpu")  # what the recipe's step ran at
    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    ceiling = gemm_flops_per_s(gemm, dtype)
    row = {
        "model": name,
        "dataset": dataset,
        "cpu_kwargs": cpu.model_kwargs,
        "batch_size": cpu.batch_size,
        "training_attack": attack.describe(),
        "steps_per_epoch": steps,
        "gemm_n": gemm,
        "precision": precision,
        "gemm_gflops": ceiling / 1e9,
    }
    for mix, total in flops.items():
        seconds = timing[mix]["seconds"] / steps
        rate = total / seconds
        row[mix] = {
            "gflop_per_step": total / 1e9,
            "ms_per_step": 1e3 * seconds,
            "gflops": rate / 1e9,
            "of_gemm": rate / ceiling,
        }
    row["adversarial/clean"] = {
        "flops": flops["adversarial"] / flops["clean"],
        "seconds": timing["adversarial"]["seconds"] / timing["clean"]["seconds"],
    }
    return row


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", default=list(CPU_DATASET), choices=list(CPU_DATASET))
    p.add_argument("--steps", type=int, default=10, help="training steps per timed epoch")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--gemm", type=int, default=2048, help="the ceiling's square matrix size")
    p.add_argument("--threads", type=int, default=1, help="1: a build worker's")
    p.add_argument("--out", default=None, help="write the rows with their provenance here")
    args = p.parse_args()
    measure.refuse_below_one(p, args, ("steps", "rounds", "gemm", "threads"))
    torch.set_num_threads(args.threads)
    runtime.keep_freed_memory()  # as a build's workers do
    provenance = {**measure.provenance("cpu"), "args": vars(args)}
    measure.run_trial(
        args.models,
        lambda name: trial(name, args.steps, args.rounds, args.gemm),
        provenance,
        args.out,
    )


if __name__ == "__main__":
    main()
