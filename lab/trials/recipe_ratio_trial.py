"""The `cpu` recipe's CIFAR-10 training ratio in a fresh process (issue 17).

The same two epoch functions as ``make bench``'s training-throughput
section (ours: ``lib.train.train``; the peer: the torchattacks loop), on
the bench's random data, interleaved, 3 rounds, for each ``--images``.
On an AMD EPYC (2026-12-02) this gave ours/torchattacks 2.13-2.16 while
``make bench`` in the same hour gave 1.56 for the same pair: the peer ran
1.5x faster inside the bench process. The cause is glibc's allocator: it
raises its mmap and trim thresholds as a process frees large buffers, so
the peer's fp32 buffers (8 MB at batch 128) were faulted in and zeroed
afresh at every step in a fresh process, not after the bench's earlier
sections had raised the thresholds. With the thresholds fixed high
(``MALLOC_MMAP_THRESHOLD_=67108864 MALLOC_TRIM_THRESHOLD_=268435456`` in the
environment, or ``lib.runtime.keep_freed_memory``) the peer takes 106-111
ms/step in a fresh process too (ratio 1.62-1.65), ours 64-68; so ``make
bench`` now keeps freed memory for both sides by default (``--allocator``).

    .venv/bin/python lab/trials/recipe_ratio_trial.py --images 1024 4096
"""

from __future__ import annotations

import argparse
import functools

import torch

from lib.bench.measure import interleaved
from lib.bench.sections import _train_epoch
from lib.bench.settings import BenchSettings
from lib.bench.throughput import cpu_recipe_setups, torchattacks_train_epoch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, nargs="+", default=[1024, 4096])
    args = parser.parse_args()
    cpu = torch.device("cpu")
    for images in args.images:
        s = BenchSettings(models=("cifar_resnet",), train_images=images, rounds=3)
        for name, data, initial, attack, batch, _ in cpu_recipe_setups(s, cpu):
            variants = {
                "ours": functools.partial(
                    _train_epoch, initial, data, batch, attack, "adversarial", "auto"
                ),
                "torchattacks": functools.partial(
                    torchattacks_train_epoch,
                    initial,
                    data,
                    batch,
                    eps=attack.eps,
                    steps=attack.steps,
                    step_size=attack.step_size,
                ),
            }
            t = interleaved(variants, cpu, s.rounds)
            ours, peer = t["ours"]["seconds"], t["torchattacks"]["seconds"]
            steps = images / batch
            print(
                f"{images} images, {name}: ours {1000 * ours / steps:.1f} ms/step, "
                f"torchattacks {1000 * peer / steps:.1f} ms/step, ratio {peer / ours:.2f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
