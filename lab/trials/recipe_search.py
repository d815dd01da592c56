"""Measure candidate `cpu` training recipes (issue 14): accuracy, robustness, time.

Trains one candidate with lib.train.train on the full training set (not via
the store), then reports standard accuracy, robust accuracy under the
training-style PGD, and a strong evaluation (lib.experiments.evals.strong_metrics: the
library's cascade on the PGD-20 survivors: PGD with many steps and restarts, APGD-CE and APGD-T from
torchattacks; per-example worst case), at a budget above the `cpu` profile's.

    ODDS_DATA=... ODDS_OFFLINE=1 .venv/bin/python lab/trials/recipe_search.py \
        --dataset mnist --eps 0.3 --epochs 2 --train-steps 10 --ramp 0.3

One JSON line per candidate goes to stdout (and to --log when given).
"""

from __future__ import annotations

import argparse
import json
import os
import time

import torch

from lib import models, runtime
from lib.attacks import PGD
from lib.attacks.strong import StrongBudget
from lib.data import load_split
from lib.experiments import evals
from lib.train import evaluate, train

#: This search's strong evaluation: heavier than the `cpu` profile's (it ran on 500 images).
SEARCH_BUDGET = StrongBudget(
    pgd_steps=50, pgd_restarts=2, apgd_steps=30, apgdt_targets=3, apgdt_steps=30
)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--dataset", default="mnist")
    p.add_argument("--arch", default=None)
    p.add_argument("--kwargs", default="{}", help="JSON model kwargs")
    p.add_argument("--norm", default="inf")
    p.add_argument("--eps", type=float, default=0.0, help="0: standard training")
    p.add_argument("--mix", default="adversarial")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--max-steps", type=int, default=None)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--opt", default="adam")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--wd", type=float, default=0.0)
    p.add_argument("--milestones", default="")
    p.add_argument("--augment", action="store_true")
    p.add_argument("--train-steps", type=int, default=10)
    p.add_argument("--train-factor", type=float, default=None, help="step size / eps")
    p.add_argument("--ramp", type=float, default=0.0)
    p.add_argument("--n-train", type=int, default=None)
    p.add_argument("--n-std", type=int, default=10_000)
    p.add_argument("--n-strong", type=int, default=500)
    p.add_argument("--no-strong", action="store_true")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--log", default=None)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    norm = "inf" if a.norm == "inf" else int(a.norm)
    arch = a.arch or ("mnist_cnn" if a.dataset == "mnist" else "cifar_resnet")
    kwargs = json.loads(a.kwargs)
    for k, v in kwargs.items():
        if isinstance(v, list):
            kwargs[k] = tuple(v)
    train_set = load_split(a.dataset, "train", a.n_train, seed=a.seed, device="cpu")
    test_set = load_split(a.dataset, "test", None, seed=0, device="cpu")
    runtime.seed_everything(a.seed)
    model = models.build(arch, **kwargs)
    attack = None
    mix = "clean"
    if a.eps > 0:
        factor = a.train_factor or 2.5 / a.train_steps
        attack = PGD.relative(a.eps, norm, a.train_steps, factor)
        mix = a.mix
    milestones = tuple(float(m) for m in a.milestones.split(",") if m)
    load = os.getloadavg()[0]
    start = time.perf_counter()
    history = train(
        model,
        train_set,
        epochs=a.epochs,
        max_steps=a.max_steps,
        batch_size=a.batch,
        lr=a.lr,
        optimizer=a.opt,
        weight_decay=a.wd,
        lr_milestones=milestones,
        augment=a.augment,
        mix=mix,
        attack=attack,
        seed=a.seed,
        eval_data=load_split(a.dataset, "test", 1000, seed=0, device="cpu"),
        eps_ramp=a.ramp,
        progress=False,
    )
    seconds = time.perf_counter() - start
    train_seconds = sum(h["seconds"] for h in history)
    images = history[-1]["steps"] * a.batch
    res = {
        "dataset": a.dataset,
        "arch": arch,
        "kwargs": a.kwargs,
        "norm": a.norm,
        "eps": a.eps,
        "mix": mix,
        "epochs": a.epochs,
        "max_steps": a.max_steps,
        "batch": a.batch,
        "opt": a.opt,
        "lr": a.lr,
        "wd": a.wd,
        "milestones": a.milestones,
        "augment": a.augment,
        "train_steps": a.train_steps,
        "train_factor": a.train_factor,
        "ramp": a.ramp,
        "seconds": round(seconds, 1),
        "train_seconds": round(train_seconds, 1),
        "img_per_s": round(images / train_seconds, 1),
        "load_start": round(load, 2),
        "load_end": round(os.getloadavg()[0], 2),
        "curve": [round(h.get("test_acc", 0), 4) for h in history],
    }
    model.eval()
    res["std_acc"] = evaluate(model, test_set)
    if a.eps > 0 or a.dataset == "mnist":
        eps = a.eps or 0.3
        n = a.n_strong
        x, y = test_set.inputs()[:n], test_set.y[:n]
        t = time.perf_counter()
        g = torch.Generator().manual_seed(0)
        res["pgd_train_rob"] = evaluate(
            model, (x, y), PGD.relative(eps, norm, a.train_steps, 2.5 / a.train_steps), generator=g
        )
        pgd20 = PGD.relative(eps, norm, 20, 2.5 / 20)
        if not a.no_strong and a.eps > 0:
            # PGD-20 at the run's precision, then the library's cascade in fp32 on its survivors.
            m = evals.strong_metrics(
                model,
                test_set.head(n),
                pgd20,
                eps=eps,
                norm=norm,
                budget=SEARCH_BUDGET,
                seed=a.seed,
                precision=runtime.resolve_precision("auto", "cpu"),
                batch_size=500,
            )
            res["pgd20_rob"] = m["pgd_acc"]
            res["strong_rob"] = m["adv_acc"]
            res["strong_after"] = m["after"]
        else:
            res["pgd20_rob"] = evaluate(model, (x, y), pgd20, generator=g)
        res["eval_seconds"] = round(time.perf_counter() - t, 1)
    line = json.dumps(res)
    print(line, flush=True)
    if a.log:
        with open(a.log, "a") as f:
            f.write(line + "\n")


if __name__ == "__main__":
    main()
