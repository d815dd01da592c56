"""Is shuffled-label data a null for L2 (the robust linear model's weights are sparser)?

Issue 39 asked each rule to say "inconclusive" on null data, and listed permuted labels
among the nulls. L2 compares two training methods on the same data, so this measures
what the methods do when the labels carry nothing: the linear chapter's recipe
(:class:`lib.chapters.linear_mnist.Recipe` at Table 2's eps, 100 epochs of full-batch
gradient descent, and the same trained to convergence) fitted with and without the
adversary on all 11,686 MNIST 5s and 7s with their labels shuffled
(:func:`lib.chapters.linear_mnist.shuffle_labels`), for two shuffles. For each model:
‖w‖₁, L2's two measures (Hoyer sparsity and the top-10% weight share,
:mod:`lib.sparsity`) and the weights above 1e-6.

    OMP_NUM_THREADS=1 PYTHONPATH=$PWD .venv/bin/python lab/trials/l2_null_trial.py \
        --out lab/results/l2-null-cpu.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from lib import data, sparsity
from lib.bench import measure
from lib.chapters import linear_mnist as L
from lib.experiments import profiles


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--shuffles", type=int, nargs="+", default=[0, 1], help="label-shuffle seeds")
    p.add_argument("--out", default=None, help="write the rows with their provenance here")
    args = p.parse_args()
    eps = profiles.table2_eps("binary_mnist", "inf")
    train_set = data.load("binary_mnist", "train", device="cpu")
    recipe = L.Recipe(eps, 100, 0.1, 300, device="cpu", precision="fp32")  # the chapter's
    rows = []
    for seed in args.shuffles:
        shuffled = L.shuffle_labels(train_set, seed)
        for converge in (False, True):
            for adversarial in (False, True):
                model, _ = recipe.fit(
                    shuffled, adversarial=adversarial, converge=converge, seed=seed
                )
                w = model.weight.detach()
                rows.append(
                    {
                        "shuffle": seed,
                        "training": "converged" if converge else "100 epochs",
                        "model": "adversarial" if adversarial else "standard",
                        "w_l1": w.abs().sum().item(),
                        "hoyer": sparsity.hoyer(w),
                        "top_10pct_share": sparsity.top_share(w),
                        "weights_above_1e-6": int((w.abs() > 1e-6).sum()),
                    }
                )
                print(json.dumps(rows[-1]), flush=True)
    if args.out:
        out = {"provenance": {**measure.provenance("cpu"), "args": vars(args)}, "rows": rows}
        Path(args.out).write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()
