"""The Restricted ImageNet section of the unexpected-benefits chapter (Figures 2c, 3c, 4c).

The standard, l2- and l_inf-trained ResNets of the price chapter's RI runs,
one test image per super-class: input gradients (B1), large-eps examples
(B2's figure) and the straight path to them, asked of the judge of the other
norm (B3). :func:`section` draws the three figures and returns the claim
rows and the numbers to glue; :func:`not_run_rows` says why it did not run.
"""

from __future__ import annotations

import dataclasses

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from lib import benefits, chapter, plots, verdicts
from lib import benefits_proxy as proxy
from lib.experiments import grids, profiles
from lib.experiments import runs as runs_lib
from lib.judging import correct_before, judge_along_path
from lib.verdicts import benefits as VB

RI = "restricted_imagenet"
NORM = {"l2": 2, "linf": "inf"}
PANELS = [("standard", "inf"), ("linf", "inf"), ("standard", 2), ("l2", 2)]
PAPER_B1 = "robust gradients align with perceptual features; l_inf sparser than l2"
PAPER_B3 = "the interpolation is a smooth path between classes"


def not_run_rows() -> list[dict]:
    """B1 and B3's RI rows when there is no ImageNet."""
    return [
        verdicts.Judgement(verdicts.NOT_RUN, (), "no ImageNet here").row(
            f"{c} (Restricted ImageNet)", "as above, for ResNet-50s on Restricted ImageNet"
        )
        for c in ("B1", "B3")
    ]


def _panel_name(model, norm) -> str:
    return model if model != "standard" else f"standard_{'linf' if norm == 'inf' else 'l2'}"


def section(profile: str, device, seed: int, *, frames, large_steps: int):
    """Train (or load) the three RI models, draw the figures; returns (rows, glue values)."""
    eps = grids.ri_grid(profile).eps
    configs = {"standard": runs_lib.RunConfig(RI, profile, seed=seed)}
    for model, norm in NORM.items():
        configs[model] = runs_lib.RunConfig(
            RI, profile, mix="adversarial", norm=norm, eps_train=eps[norm], seed=seed
        )
    nets = {m: runs_lib.train_run(c, device=device, progress=False)[0] for m, c in configs.items()}
    test = runs_lib.run_data(configs["standard"], "test", device=device, whole=True)
    # One test image per super-class, as the evaluation pipeline gives it.
    picks = [int(torch.nonzero(test.y == c)[0]) for c in range(test.num_classes)]
    shown = dataclasses.replace(test, samples=tuple(test.samples[i] for i in picks))
    x, y = next(shown.batches(len(picks)))
    classes, k, glue = test.classes, len(picks), {}

    # B1: gradients, and their two scores per image.
    grads = {m: benefits.saliency.input_gradient(nets[m], x, y) for m in nets}
    plots.gradient_rows(x, grads, style="clip3", suptitle="Restricted ImageNet: input gradients")
    plt.show()
    scores = {m: benefits.gradient_scores(nets[m], x, y) for m in nets}
    b1 = {m: {s: scores[m][s].mean().item() for s in ("sparsity", "edge alignment")} for m in nets}
    for m in nets:
        glue[f"B1_{RI}_{m}_sparsity"] = b1[m]["sparsity"]
        glue[f"B1_{RI}_{m}_edge_alignment"] = b1[m]["edge alignment"]

    # Large-eps examples (the authors' settings; fewer steps at smoke), the paths to them.
    steps = large_steps if profile == "smoke" else None
    fig_rows, labels, reports, switches, path_rows = [(x, y)], [""], {}, {}, []
    paths, moved, news = {}, {}, {}
    for model, norm in PANELS:
        net, judge = nets[model], nets[benefits.JUDGE[norm]]
        attack = profiles.large_eps_attack(RI, norm, steps=steps)
        x_adv = attack(net, x, y, precision="fp32")
        with torch.no_grad():
            fig_rows.append((x_adv, net(x_adv).argmax(1)))
            keep = correct_before(y, net(x).argmax(1), judge(x).argmax(1))
        labels.append(f"{model}\n{chapter.norm_label(norm)} {attack.eps:g}")
        along = benefits.path_predictions(net, x, x_adv, frames)
        judged = benefits.path_predictions(judge, x, x_adv, frames)
        reports[model, norm] = judge_along_path(along, judged, y.cpu(), keep.cpu())
        paths[model, norm], news[model, norm] = judged, along[:, -1]
        moved[model, norm] = keep.cpu() & (along[:, -1] != y.cpu())
        name = _panel_name(model, norm)
        switches[name] = (along[:, 1:] != along[:, :-1]).sum(1).float().mean().item()
        glue[f"B3_{RI}_{name}_switches"] = switches[name]
        if model != "standard":
            t = torch.as_tensor(frames, dtype=x.dtype, device=x.device).view(-1, 1, 1, 1)
            path_rows.append((x[0] + t * (x_adv[0] - x[0]), along[0]))
    title = "Restricted ImageNet: large-eps examples, and the class each model now predicts"
    plots.prediction_rows(fig_rows, classes, labels=labels, truth=y, suptitle=title)
    plt.show()
    title = "Restricted ImageNet: from the image (left) to its large-eps example (right)"
    plots.prediction_rows(
        path_rows, classes, labels=["linf", "l2"], size=(0.75, 0.95), fontsize=6, suptitle=title
    )
    plt.show()
    display_tables = (
        pd.DataFrame(b1).T,
        pd.Series(switches, name="class changes per 20-frame path").to_frame(),
    )
    b3_rows = {}
    for r, n in (("linf", "inf"), ("l2", 2)):
        # both arms on the same images (lib.benefits_proxy); no judge controls here,
        # and 9 images: below the rule's power, so inconclusive
        s = moved[r, n] & moved["standard", n]
        yc = y.cpu()[s]
        one = {m: proxy.one_step(paths[m, n][s], yc, news[m, n][s]) for m in (r, "standard")}
        b3_rows[chapter.norm_label(n)] = proxy.proxy_judgement(
            one[r],
            one["standard"],
            None,
            name="one step robust - standard",
            z=verdicts.Z,
            why=VB.PROXY,
        )
    models = ("standard", "l2", "linf")
    rows = [
        VB.b1_judgement(scores).row(
            "B1 (Restricted ImageNet)",
            PAPER_B1,
            "edge alignment "
            + ", ".join(f"{m} {b1[m]['edge alignment']:.2f}" for m in models)
            + "; sparsity "
            + ", ".join(f"{m} {b1[m]['sparsity']:.2f}" for m in models)
            + f" ({k} images)",
        ),
        verdicts.combine(b3_rows).row(
            "B3 (Restricted ImageNet)",
            PAPER_B3,
            "; ".join(
                f"{chapter.norm_label(n)}: judge one step {reports[m, n].judge_one_step} ({m}) "
                f"vs {reports['standard', n].judge_one_step} (standard)"
                for m, n in (("linf", "inf"), ("l2", 2))
            )
            + f"; class changes per path: robust {np.mean([switches['l2'], switches['linf']]):.2f}",
        ),
    ]
    return rows, glue, display_tables
