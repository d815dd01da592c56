"""Restricted ImageNet on a GPU: the input pipeline and ResNet-50 training, measured.

No ImageNet is needed: a fake tree of ImageNet-sized JPEGs (the paper
variant's 96 wnid folders) is made first. Prints images/s of the pipeline
alone (decoding in DataLoader workers), of PGD-8 training on data already on
the GPU, and of training end to end; then one short paper-profile training
and evaluation through lib, with plain and class-balanced accuracy.

Usage, on a GPU machine: ``PYTHONPATH=. python scripts/gpu_ri_check.py OUT_DIR``
(about 3 minutes; not a pytest module, since CI has no GPU).
``RI_CHECK_DRY=1`` runs a few images at the smoke profile on the CPU, to test
the script itself.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import torch

from lib import data, models, runtime, train
from lib.data import imagenet
from lib.experiments import profiles


def make_images(args):
    folder, seed, n = args
    from PIL import Image

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        h, w = rng.integers(300, 500), rng.integers(375, 500)
        # smooth colour fields plus noise: JPEG sizes near ImageNet's (~110 KB)
        base = rng.integers(0, 256, (h // 16 + 1, w // 16 + 1, 3)).astype(np.uint8)
        img = Image.fromarray(base).resize((w, h), Image.BICUBIC)
        arr = np.asarray(img).astype(np.int16) + rng.integers(-20, 20, (h, w, 3))
        Image.fromarray(arr.clip(0, 255).astype(np.uint8)).save(folder / f"{i}.JPEG", quality=90)


def timed(fn, sync=True):
    if sync and torch.cuda.is_available():
        torch.cuda.synchronize()
    t = time.perf_counter()
    out = fn()
    if sync and torch.cuda.is_available():
        torch.cuda.synchronize()
    return out, time.perf_counter() - t


DRY = bool(os.environ.get("RI_CHECK_DRY"))


def main(out_dir: str) -> None:
    out = Path(out_dir)
    root = Path("/tmp/fake_data")
    wnids = data.restricted_imagenet_wnids("paper")
    n_train, n_val = (2, 1) if DRY else (48, 8)
    jobs = [(root / "imagenet" / "train" / w, i, n_train) for i, w in enumerate(wnids)]
    jobs += [(root / "imagenet" / "val" / w, 10_000 + i, n_val) for i, w in enumerate(wnids)]
    (_, t_make) = timed(lambda: list(ProcessPoolExecutor(16).map(make_images, jobs)), sync=False)
    size = sum(f.stat().st_size for f in (root / "imagenet").rglob("*.JPEG"))
    n_files = sum(1 for _ in (root / "imagenet").rglob("*.JPEG"))
    report = {
        "device": runtime.device_name("cpu" if DRY else "cuda"),
        "cores": imagenet.default_workers() + 1,
        "fake_tree": {"images": n_files, "mean_kb": size / n_files / 1e3, "make_s": t_make},
    }
    print(report, flush=True)
    device = torch.device("cpu" if DRY else "cuda")
    s = profiles.settings("restricted_imagenet", "smoke" if DRY else "paper")
    opts = dict(s.data)
    tr = data.load("restricted_imagenet", "train", root=root, device=device, **opts)
    te = data.load("restricted_imagenet", "test", root=root, device=device, **opts)
    workers = tr.workers
    bs = s.batch_size

    # 1. the pipeline alone: decode, crop, flip, pin, copy (3 passes over 4,608 images)
    def drain(ds, n_batches):
        seen = 0
        for i, (_, y) in enumerate(ds.batches(bs, shuffle=True, augment=True)):
            seen += len(y)
            if i + 1 == n_batches:
                break
        return seen

    small = imagenet.FolderData(**{**tr.__dict__, "epoch": 3 * len(tr)})
    drain(small, 2)  # warm-up: worker start
    seen, t = timed(lambda: drain(small, 10**9))
    report["pipeline_img_per_s"] = seen / t
    report["pipeline_workers"] = workers
    print("pipeline", seen / t, "img/s with", workers, "workers", flush=True)

    # 2. training on data already on the GPU (the GPU's own rate)
    torch.manual_seed(0)
    model = models.build(s.arch, **s.model_kwargs).to(device)
    x_gpu = torch.rand(bs, 3, opts["crop"], opts["crop"], device=device)
    y_gpu = torch.randint(0, 9, (bs,), device=device)

    class OnGpu:
        name, split, classes, complete = "gpu", "train", imagenet.SUPERCLASSES, True
        device = x_gpu.device
        num_classes = 9

        def __init__(self, steps):
            self.epoch_size = steps * bs

        def __len__(self):
            return self.epoch_size

        def batches(self, batch_size, **kw):
            for _ in range(self.epoch_size // bs):
                yield x_gpu, y_gpu

    eps = profiles.table2_eps("restricted_imagenet", "inf")
    attack = s.attack(eps, "inf")
    kw = dict(batch_size=bs, lr=0.1, augment=True, progress=False)
    for mix, steps in (("clean", 30), ("adversarial", 8)):
        run = functools.partial(
            train.train, model, epochs=1, mix=mix, attack=attack if mix != "clean" else None, **kw
        )
        run(OnGpu(3))  # warm-up
        _, t = timed(lambda run=run, steps=steps: run(OnGpu(steps)))
        report[f"gpu_only_{mix}_img_per_s"] = steps * bs / t
        print("gpu only", mix, steps * bs / t, "img/s", flush=True)

    # 3. end to end: files -> workers -> GPU -> PGD-8 training (2 epochs of 1,536 images)
    e2e = imagenet.FolderData(**{**tr.__dict__, "epoch": 6 * bs})
    hist, t = timed(
        lambda: train.train(
            model, e2e, epochs=2, mix="adversarial", attack=attack, eval_data=te, **kw
        )
    )
    report["end_to_end_adversarial_img_per_s"] = 12 * bs / t
    report["end_to_end_history"] = hist
    print("end to end", 12 * bs / t, "img/s", hist, flush=True)

    # 4. evaluation as train_run does it: standard and PGD, plain and class-balanced
    g = torch.Generator().manual_seed(0)
    ok, y = train.outcomes(model, te, batch_size=s.eval_batch_size)
    adv_ok, adv_y = train.outcomes(
        model, te, s.attack(eps, "inf", kind="eval"), generator=g, batch_size=s.eval_batch_size
    )
    report["eval"] = {
        "n": len(te),
        "std_acc": ok.float().mean().item(),
        "std_acc_balanced": train.balanced_accuracy(ok, y),
        "adv_acc": adv_ok.float().mean().item(),
        "adv_acc_balanced": train.balanced_accuracy(adv_ok, adv_y),
    }
    report["max_memory_gb"] = torch.cuda.max_memory_allocated() / 1e9 if not DRY else 0
    print(report["eval"], report["max_memory_gb"], flush=True)
    (out / "ri_gpu_check.json").write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main(sys.argv[1])
