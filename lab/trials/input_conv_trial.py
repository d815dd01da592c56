"""What does the MNIST CNN's fast input gradient buy? Measured in one process.

``lib.models.InputConv2d`` computes the first conv's input gradient as a
depthwise conv summed over the filters, where oneDNN's backward-data kernel
for one input channel is slow on the CPU. This times the `cpu` MNIST recipe's
model with that layer and with a conv that takes oneDNN's input gradient
(:class:`lib.attacks.fast.OneDnnConv2d`, the same parameters), interleaved over rounds
(medians, :func:`lib.bench.measure.interleaved`):

- ``attack_bf16``: ``lib.attacks.pgd``, PGD-10 l_inf at eps 0.3, batch 128,
  bf16 autocast (the profile's evaluation, the attack of a training step);
- ``attack_fp32``: the same in fp32 (the strong evaluation's cascade runs in
  fp32);
- ``train``: one epoch of ``--images`` random images of :func:`lib.train.train`
  with the profile's PGD-5 training attack, batch, optimizer and precision.

Each ratio is the plain layer's median time over the fast one's (> 1: the
fast layer wins). ``--threads 1`` (the default) is a build worker's setting.

    .venv/bin/python lab/trials/input_conv_trial.py --out lab/results/input-conv-cpu.json
"""

from __future__ import annotations

import argparse
import copy
import functools

import torch

from lib import attacks, models, runtime
from lib.attacks import fast
from lib.bench import measure
from lib.bench.sections import _random_data, _train_epoch
from lib.experiments import profiles


def with_plain_conv(model: models.MnistCNN) -> models.MnistCNN:
    """A copy of ``model`` whose first conv takes oneDNN's input gradient (same parameters)."""
    plain = copy.deepcopy(model)
    conv = plain.conv1
    plain.conv1 = fast.OneDnnConv2d(1, conv.out_channels, conv.kernel_size, padding=conv.padding)
    plain.conv1.load_state_dict(conv.state_dict())
    return plain


def trial(images: int, rounds: int) -> dict:
    cpu = profiles.settings("mnist", "cpu")
    torch.manual_seed(0)
    fast = models.build(cpu.arch, **cpu.model_kwargs)
    plain = with_plain_conv(fast)
    data = _random_data(images, (1, 28, 28), 10, "cpu")
    x, y = data.x[:128].float() / 255, data.y[:128]
    pgd = dict(eps=0.3, norm="inf", steps=10, step_size=2.5 * 0.3 / 10)
    train_attack = cpu.attack(0.3, "inf")
    nets = {
        name: runtime.fast_model(copy.deepcopy(m).eval(), "cpu", "auto")
        for name, m in (("fast", fast), ("plain", plain))
    }

    def attack(name, precision):
        return lambda: attacks.pgd(nets[name], x, y, **pgd, precision=precision)

    def epoch(model):  # one epoch of a fresh copy, as every bench's training section
        return functools.partial(
            _train_epoch,
            model,
            data,
            cpu.batch_size,
            train_attack,
            "adversarial",
            "auto",
            lr=cpu.lr,
            optimizer=cpu.optimizer,
        )

    variants = {}
    for name, model in (("fast", fast), ("plain", plain)):
        variants[f"attack_bf16_{name}"] = attack(name, "auto")
        variants[f"attack_fp32_{name}"] = attack(name, "fp32")
        variants[f"train_{name}"] = epoch(model)
    timing = measure.interleaved(variants, torch.device("cpu"), rounds)
    median = {k: v["seconds"] for k, v in timing.items()}
    return {
        "model": "mnist_cnn",
        "cpu_kwargs": cpu.model_kwargs,
        "images": images,
        "training_attack": train_attack.describe(),
        "median_s": median,
        "plain/fast": {
            what: median[f"{what}_plain"] / median[f"{what}_fast"]
            for what in ("attack_bf16", "attack_fp32", "train")
        },
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--images", type=int, default=1280, help="images per timed training epoch")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--threads", type=int, default=1, help="1: a build worker's")
    p.add_argument("--out", default=None, help="write the row with its provenance here")
    args = p.parse_args()
    measure.refuse_below_one(p, args, ("images", "rounds", "threads"))
    torch.set_num_threads(args.threads)
    runtime.keep_freed_memory()  # as a build's workers do
    provenance = {**measure.provenance("cpu"), "args": vars(args)}
    measure.run_trial(
        ["mnist_cnn"], lambda _: trial(args.images, args.rounds), provenance, args.out
    )


if __name__ == "__main__":
    main()
