"""The README's call on a user's own grayscale CNN: ``pgd(model, x, y, ...)`` vs torchattacks.

The bench (``make bench``) attacks the library's own models, whose first conv
already is :class:`lib.models.InputConv2d`, and torchattacks attacks the same
model, so it gets that layer's gain too. A user's model is built from plain
``nn.Conv2d`` layers; :func:`lib.attacks.pgd` gives such a layer on one input
channel the same fast input gradient for the call
(:func:`lib.attacks.fast.one_channel_convs`). This times, on two CNNs written
as a user writes them (``nn.Sequential``, no preparation, fp32 parameters in
the default layout), interleaved over rounds (medians,
:func:`lib.bench.measure.interleaved`):

- ``ours``: ``attacks.pgd(model, x, y, eps=0.3, norm="inf", steps=10, ...)``,
  the default call (bf16 autocast where the CPU has it, channels_last and the
  fast input gradient for the call);
- ``ours_onednn``: the same call on a copy whose first conv is a subclass of
  ``nn.Conv2d`` (left alone: oneDNN's backward-data kernel), the library's
  default call before the fast input gradient applied to any model;
- ``torchattacks``: ``torchattacks.PGD`` with the same eps, step and steps.

Models: ``mnist_challenge`` (conv 5x5x32, pool, conv 5x5x64, pool, fc 1024,
the paper's MNIST network) and ``small`` (conv 3x3x16, pool, conv 3x3x32,
pool, fc 128), both conv-ReLU-pool, random weights (time does not depend on
them). The issue measured this call at 1.30x and 1.31x torchattacks on such
models (batch 256, PGD-10); the target is 2.5x.

    .venv/bin/python lab/trials/user_cnn_trial.py --out lab/results/user-cnn-cpu.json
"""

from __future__ import annotations

import argparse
import copy

import torch
from torch import nn

from lib import attacks, runtime
from lib.attacks import fast
from lib.bench import measure


def user_cnn(name: str) -> nn.Sequential:
    """A grayscale CNN for 28x28 images as a user writes it (seeded weights)."""
    torch.manual_seed(0)
    (c1, c2, k), hidden = {"mnist_challenge": ((32, 64, 5), 1024), "small": ((16, 32, 3), 128)}[
        name
    ]
    return nn.Sequential(
        nn.Conv2d(1, c1, k, padding=k // 2),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(c1, c2, k, padding=k // 2),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(7 * 7 * c2, hidden),
        nn.ReLU(),
        nn.Linear(hidden, 10),
    ).eval()


def with_onednn_conv(model: nn.Sequential) -> nn.Sequential:
    """A copy of ``model`` whose first conv takes oneDNN's input gradient."""
    net = copy.deepcopy(model)
    net[0].__class__ = fast.OneDnnConv2d  # adds no state: the same layer under another name
    return net


def trial(name: str, batch: int, steps: int, rounds: int) -> dict:
    model = user_cnn(name)
    onednn = with_onednn_conv(model)
    torch.manual_seed(1)
    x, y = torch.rand(batch, 1, 28, 28), torch.randint(0, 10, (batch,))
    kw = dict(eps=0.3, norm="inf", steps=steps, step_size=attacks.step_size(0.3, steps))
    peer = measure.torchattacks_pgd(model, **kw)
    variants = {
        "ours": lambda: attacks.pgd(model, x, y, **kw),
        "ours_onednn": lambda: attacks.pgd(onednn, x, y, **kw),
        "torchattacks": lambda: peer(x, y),
    }
    timing = measure.interleaved(variants, torch.device("cpu"), rounds)
    median = {k: v["seconds"] for k, v in timing.items()}
    return {
        "model": name,
        "batch": batch,
        "steps": steps,
        "precision": runtime.resolve_precision("auto", torch.device("cpu")),
        "median_s": median,
        "ours/torchattacks": median["torchattacks"] / median["ours"],
        "ours_onednn/torchattacks": median["torchattacks"] / median["ours_onednn"],
        "ours_onednn/ours": median["ours_onednn"] / median["ours"],
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--threads", type=int, default=None, help="default: torch's (the machine's)")
    p.add_argument("--out", default=None, help="write the rows with their provenance here")
    args = p.parse_args()
    measure.refuse_below_one(p, args, ("batch", "steps", "rounds", "threads"))
    if args.threads:
        torch.set_num_threads(args.threads)
    provenance = {**measure.provenance("cpu"), "args": vars(args)}
    measure.run_trial(
        ["mnist_challenge", "small"],
        lambda name: trial(name, args.batch, args.steps, args.rounds),
        provenance,
        args.out,
    )


if __name__ == "__main__":
    main()
