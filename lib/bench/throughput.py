"""Training throughput: adversarial images per second of PGD-k training, ours
(:func:`lib.train.train`) against a plain PyTorch loop around torchattacks' PGD
at the same k, batch, step rule and optimizer."""

from __future__ import annotations

import copy
import functools

import torch
import torch.nn.functional as F

from lib.bench.measure import interleaved, peak_rss_mb, torchattacks_pgd
from lib.bench.sections import _train_epoch, training_setups
from lib.bench.settings import BenchSettings


def torchattacks_train_epoch(initial, data, batch_size: int, *, eps, steps, step_size) -> None:
    """One PGD-k adversarial epoch as people write it: fp32, default layout,
    torchattacks' PGD (eval mode during the attack), SGD with momentum."""
    model = copy.deepcopy(initial)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    adversary = torchattacks_pgd(model, eps=eps, norm="inf", steps=steps, step_size=step_size)
    g = torch.Generator().manual_seed(0)
    for x, y in data.batches(batch_size, shuffle=True, generator=g):
        x_adv = adversary(x, y)
        model.train()
        loss = F.cross_entropy(model(x_adv), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()


def bench_train_throughput(
    s: BenchSettings, device: torch.device, progress: bool = True
) -> list[dict]:
    """Per model: adversarial images/s of ours (default path) and the torchattacks loop."""
    rows = []
    k = s.train_steps
    for name, data, initial, attack in training_setups(s, device):
        images, eps = len(data), attack.eps
        variants = {
            "ours": functools.partial(
                _train_epoch, initial, data, s.train_batch, attack, "adversarial", "auto"
            ),
            "ours_fp32": functools.partial(
                _train_epoch, initial, data, s.train_batch, attack, "adversarial", "fp32"
            ),
            "torchattacks": functools.partial(
                torchattacks_train_epoch,
                initial,
                data,
                s.train_batch,
                eps=eps,
                steps=k,
                step_size=attack.step_size,
            ),
        }
        if progress:
            print(f"  train throughput {name} ...", flush=True)
        timing = interleaved(variants, device, s.rounds)
        for v in timing.values():
            if "seconds" in v:
                v["images_per_s"] = images / v["seconds"]

        def ratio(a, b, timing=timing):
            if "seconds" not in timing[a] or "seconds" not in timing[b]:
                return None
            return timing[b]["seconds"] / timing[a]["seconds"]

        rows.append(
            {
                "model": name,
                "k": k,
                "batch": s.train_batch,
                "images": images,
                "eps": eps,
                "variants": timing,
                "ratios": {
                    "ours/torchattacks": ratio("ours", "torchattacks"),
                    "ours_fp32/torchattacks": ratio("ours_fp32", "torchattacks"),
                },
                "cpu_peak_rss_mib": peak_rss_mb(),
            }
        )
    return rows
