"""Training throughput: adversarial images per second of PGD-k training, ours
(:func:`lib.train.train`) against a plain PyTorch loop around torchattacks' PGD
at the same k, batch, step rule and optimizer."""

from __future__ import annotations

import copy
import functools

import torch
import torch.nn.functional as F

from lib import models
from lib.bench.measure import interleaved, peak_rss_mb, torchattacks_pgd
from lib.bench.sections import _random_data, _train_epoch, training_setups
from lib.bench.settings import CPU_DATASET, MODELS, TINY_KWARGS, BenchSettings
from lib.data.core import FULL_SIZES
from lib.experiments import profiles


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


def cpu_recipe_setups(s: BenchSettings, device: torch.device):
    """Per model of ``s`` with a `cpu` recipe: (name, random data, the profile's
    model, its training attack at the largest l_inf eps, its batch size, the
    images one Table 4 run trains on: epochs x the full training set)."""
    for name in s.models:
        if name not in CPU_DATASET:
            continue
        dataset = CPU_DATASET[name]
        cpu = profiles.settings(dataset, "cpu")
        _, shape, classes, eps_of = MODELS[name]
        data = _random_data(s.train_images, shape, classes, device)
        torch.manual_seed(0)
        kwargs = TINY_KWARGS[name] if s.tiny else cpu.model_kwargs
        initial = models.build(cpu.arch, classes=classes, **kwargs).to(device)
        run_images = cpu.epochs * (cpu.n_train or FULL_SIZES[dataset]["train"])
        attack = cpu.attack(eps_of["inf"], "inf")
        yield name, data, initial, attack, cpu.batch_size, run_images


def _setups(s: BenchSettings, device: torch.device):
    """The bench's PGD-k setups, then the `cpu` recipes' own (attack, model, batch)."""
    for name, data, initial, attack in training_setups(s, device):
        yield "bench", name, data, initial, attack, s.train_batch, None
    for name, data, initial, attack, batch, run_images in cpu_recipe_setups(s, device):
        yield "cpu recipe", name, data, initial, attack, batch, run_images


def bench_train_throughput(
    s: BenchSettings, device: torch.device, progress: bool = True
) -> list[dict]:
    """Per model: adversarial images/s of ours (default path) and the torchattacks loop,
    at the bench's PGD-k and at the `cpu` profile's own recipe. A `cpu`-recipe row
    also gives the cost of one Table 4 run at each variant's measured rate
    (``cpu_run``): fp32 eager is the path before the speed work."""
    rows = []
    for setup, name, data, initial, attack, batch, run_images in _setups(s, device):
        images, eps, k = len(data), attack.eps, attack.steps
        variants = {
            "ours": functools.partial(
                _train_epoch, initial, data, batch, attack, "adversarial", "auto"
            ),
            "ours_fp32": functools.partial(
                _train_epoch, initial, data, batch, attack, "adversarial", "fp32"
            ),
            "torchattacks": functools.partial(
                torchattacks_train_epoch,
                initial,
                data,
                batch,
                eps=eps,
                steps=k,
                step_size=attack.step_size,
            ),
        }
        if progress:
            print(f"  train throughput {name} ({setup}) ...", flush=True)
        timing = interleaved(variants, device, s.rounds)
        for v in timing.values():
            if "seconds" in v:
                v["images_per_s"] = images / v["seconds"]

        def ratio(a, b, timing=timing):
            if "seconds" not in timing[a] or "seconds" not in timing[b]:
                return None
            return timing[b]["seconds"] / timing[a]["seconds"]

        row = {
            "model": name,
            "setup": setup,
            "k": k,
            "batch": batch,
            "images": images,
            "eps": eps,
            "variants": timing,
            "ratios": {
                "ours/torchattacks": ratio("ours", "torchattacks"),
                "ours_fp32/torchattacks": ratio("ours_fp32", "torchattacks"),
            },
            "cpu_peak_rss_mib": peak_rss_mb(),
        }
        if run_images is not None:
            row["cpu_run"] = {
                "images": run_images,
                "minutes": {
                    v: run_images / timing[v]["images_per_s"] / 60
                    for v in timing
                    if "images_per_s" in timing[v]
                },
            }
        rows.append(row)
    return rows
