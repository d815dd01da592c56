"""Does the strong evaluation lose anything on ``fast.eval_view``? Measured on the cpu models.

For each `cpu` Table 4 robust model at the largest eps (read from the run
store, ``$ODDS_STORE``: run ``make book PROFILE=cpu`` first), on the first
``--n`` test images: the profile's PGD-10 (bf16, as the build runs it),
then the strong evaluation's cascade (strong PGD, APGD-CE, APGD-T at the
`cpu` budget; ``lib.attacks.strong``) four ways: torchattacks' components
on the plain model or on ``eval_view(model)``, each in bf16 and in fp32.
Reported per way: the images robust after each attack and each attack's
seconds. The build's strong evaluation is "view bf16" (before be28791:
"plain bf16").

    ODDS_STORE=... .venv/bin/python lab/trials/eval_view_trial.py \
        --out lab/results/eval-view-cpu.json
"""

from __future__ import annotations

import argparse
import json

import torch

from lib import runtime
from lib.attacks import strong
from lib.attacks.fast import eval_view
from lib.attacks.pgd import pgd, step_size
from lib.experiments import profiles, runs

MODELS = (
    ("mnist", "inf", 0.3),
    ("mnist", 2, 2.5),
    ("cifar10", "inf", 8 / 255),
    ("cifar10", 2, 320 / 255),
)
WAYS = (("plain", "bf16"), ("view", "bf16"), ("view", "fp32"), ("plain", "fp32"))


def trial(dataset, norm, eps, n: int) -> dict:
    budget = profiles.strong_budget("cpu")
    config = runs.RunConfig(dataset, "cpu", "adversarial", norm=norm, eps_train=eps)
    model, _ = runs.train_run(config, progress=False)
    model.eval()
    test = runs.run_data(config, "test")
    x, y = test.inputs()[:n], test.y[:n]
    x_adv = pgd(
        model,
        x,
        y,
        eps=eps,
        norm=norm,
        steps=10,
        step_size=step_size(eps, 10),
        random_start=True,
        precision="bf16",
        generator=torch.Generator().manual_seed(0),
    )
    with torch.no_grad():
        start = model(x_adv).argmax(1) == y
    row = {
        "model": f"{dataset} {norm} {eps:.4g}",
        "n": len(y),
        "robust after PGD-10": int(start.sum()),
    }
    for view, precision in WAYS:
        # components() builds torchattacks' attacks on strong.eval_view(model)
        strong.eval_view = eval_view if view == "view" else (lambda m: m)
        attacks = strong.components(model, eps=eps, norm=norm, budget=budget, precision=precision)
        seconds = {}
        robust = strong.cascade(model, attacks, x, y, start, seconds=seconds)
        row[f"{view} {precision}"] = {
            "robust after": {k: int(v.sum()) for k, v in robust.items()},
            "seconds": {k: round(v, 2) for k, v in seconds.items()},
        }
    strong.eval_view = eval_view
    print(row, flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="test images per model")
    parser.add_argument("--out", required=True, help="where the JSON goes")
    args = parser.parse_args()
    commit = runtime.git_commit()  # before anything else can change the tree
    rows = [trial(*m, args.n) for m in MODELS]
    result = {
        "what": __doc__.splitlines()[0],
        "budget": profiles.strong_budget("cpu").to_dict(),
        "provenance": {
            "commit": commit,
            "threads": torch.get_num_threads(),
            "torch": torch.__version__,
        },
        "rows": rows,
    }
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
