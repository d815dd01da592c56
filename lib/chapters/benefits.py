"""The unexpected-benefits chapter (B1-B4, S4): tables, figure data, glued values, claim rows.

The measurements and verdict rules are :mod:`lib.benefits`; this module
gathers them per section of ``book/unexpected_benefits.py``. Each
``b*_section`` function returns a :class:`Section`: the table the chapter
shows, the judged rows (one per data set, or data set and norm), the values
the chapter glues, and what a later section reuses. B2 and B3 (the judges)
are :mod:`lib.chapters.benefits_judges`, B4 (the audit)
:mod:`lib.chapters.benefits_audit`. Images are in [0, 1] pixel space; eps are
in the same units.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import torch

from lib import benefits, chapter, saliency
from lib import verdicts as V
from lib.data import load_split
from lib.experiments import profiles
from lib.experiments import runs as runs_lib
from lib.experiments.execute import parallel
from lib.paper import code as paper_code
from lib.verdicts import benefits as VB

DATASETS = ("mnist", "cifar10")
MODELS = ("standard", "l2", "linf")
#: Figure 3's rows: (attacked model, attack norm); the standard model under both norms.
PANELS = (("standard", "inf"), ("linf", "inf"), ("standard", 2), ("l2", 2))
#: Each robust model with its own norm: B2 and B3 compare it with the standard model.
ROBUST = (("linf", "inf"), ("l2", 2))
#: The paper's gradient display: MNIST by sign (blue/red), CIFAR-10 clipped to +-3 sigma.
STYLE = {"mnist": "diverging", "cifar10": "clip3"}
#: Figure 4: 20 frames x + t delta, t from 0 to 1.
FRAMES = np.linspace(0, 1, paper_code.FIG4_FRAMES)
CONTROL = "control (edge energy)"
RANDOM = "random-init"


@dataclasses.dataclass
class Section:
    """One measured section: the table shown, judged rows, glued values, and data reused later."""

    table: pd.DataFrame
    rows: dict  # row label (data set, or data set and norm) -> lib.verdicts.judgement.Judgement
    glued: dict  # glue name -> Python number or text
    data: dict = dataclasses.field(default_factory=dict)


def load_models(profile: str, seed: int, device):
    """The price chapter's standard, l2 and linf runs on both data sets (trained once, then
    from the store), and the test sets: ``(nets, runs, tests)`` keyed by (data set, model)."""
    configs = {(d, m): benefits.run_config(d, m, profile, seed) for d in DATASETS for m in MODELS}
    parallel.train_all(list(configs.values()), device=device)
    nets, runs, tests = {}, {}, {}
    for d in DATASETS:
        tests[d] = load_split(d, "test", None, seed=0, device=device)
        for m in MODELS:
            nets[d, m], runs[d, m] = runs_lib.train_run(
                configs[d, m], device=device, progress=False
            )
    return nets, runs, tests


def random_nets(profile: str, device, count: int = 4) -> dict:
    """Per data set, ``count`` untrained networks of the runs' architecture (seeds 0, 1, ...):
    B1's null model (seed 0) and the null's spread (:func:`b1_section`)."""
    return {
        d: [benefits.random_init(d, profile, s, device) for s in range(count)] for d in DATASETS
    }


def models_table(runs: dict) -> pd.DataFrame:
    """One row per model: its training eps, standard and robust test accuracy (fractions),
    the evaluation attack and the training-set size, from the stored runs."""
    rows = [
        {
            "data set": d,
            "model": m,
            "eps_train": run.settings["run"]["eps_train"],
            "standard accuracy": run.metrics["std_acc"],
            "robust accuracy": run.metrics["adv_acc"],
            "evaluation": run.metrics["eval_attack"],
            "training images": run.metrics["n_train"],
            "optimizer steps": run.metrics.get("steps"),
        }
        for (d, m), run in runs.items()
    ]
    return pd.DataFrame(rows).set_index(["data set", "model"])


def steps_text(runs: dict) -> str:
    """The models' optimizer steps per data set, in words: "1,407 (mnist) and 1,173
    (cifar10)", or a range where a data set's models differ."""
    parts = []
    for d in DATASETS:
        steps = sorted({run.metrics.get("steps") for (ds, _), run in runs.items() if ds == d})
        if not steps or None in steps:
            continue
        span = f"{steps[0]:,}" if len(steps) == 1 else f"{steps[0]:,} to {steps[-1]:,}"
        parts.append(f"{span} ({d})")
    return " and ".join(parts) or "an unrecorded number of"


def paper_steps_text() -> str:
    """The `paper` profile's optimizer steps per data set, in words (lib.profiles)."""
    return " and ".join(f"{profiles.settings(d, 'paper').steps:,} ({d})" for d in DATASETS)


def subset_note(runs: dict, tests: dict) -> str | None:
    """A warning admonition (MyST) naming the data sets whose models were trained or tested
    on a subset of the official data; None when every run used all of it."""
    subsets = sorted(
        {
            d
            for (d, _), run in runs.items()
            if not (run.metrics["train_complete"] and run.metrics["test_complete"])
        }
    )
    if not subsets:
        return None
    sizes = ", ".join(f"{len(tests[d]):,} test images" for d in subsets)
    return (
        f":::{{warning}}\n{', '.join(subsets)}: models trained and tested on a subset of the "
        f"official data set ({sizes}); reduced-scale numbers.\n:::"
    )


def first(test, n: int):
    """The first ``n`` test images and their labels."""
    return test.inputs(slice(0, n)), test.y[:n]


def panel_name(model: str, norm) -> str:
    """standard_linf / standard_l2 for the standard model, else the robust model's name."""
    return model if model != "standard" else f"standard_{'linf' if norm == 'inf' else 'l2'}"


# --------------------------------------------------------------------------
# B1: input gradients


def figure2_gradients(nets: dict, test, dataset: str, n: int) -> tuple[torch.Tensor, dict]:
    """Figure 2's data: the first ``n`` images and each model's input gradient of them."""
    x, y = first(test, n)
    return x, {m: saliency.input_gradient(nets[dataset, m], x, y) for m in MODELS}


def b1_section(nets: dict, tests: dict, n: int, randoms: dict) -> Section:
    """B1 on the first ``n`` test images: each model's gradient sparsity and edge alignment
    (mean and 95% half-width), a random-init network's (``randoms[d][0]``, the null
    model) and the edge-energy control's alignment, and the verdict per data set
    (:func:`lib.verdicts.benefits.b1_judgement`: paired SEs, z over the claim's tests on both
    data sets). The effect-size floors are the null's: no smaller than the largest
    difference between the untrained networks ``randoms[d]`` (different seeds) on the
    same images (:func:`lib.verdicts.benefits.null_floors`), glued per data set."""
    table, rows, glued = {}, {}, {}
    tests_total = len(VB.B1_TESTS) * len(DATASETS)
    for dataset in DATASETS:
        x, y = first(tests[dataset], n)
        scores = {m: benefits.gradient_scores(nets[dataset, m], x, y) for m in MODELS}
        nulls = [benefits.gradient_scores(net, x, y) for net in randoms[dataset]]
        scores["random"] = nulls[0]
        control = {"edge alignment": benefits.edge_control(x)}
        shown = {**{m: scores[m] for m in MODELS}, RANDOM: scores["random"], CONTROL: control}
        for model, sc in shown.items():
            row = {}
            for metric in ("sparsity", "edge alignment"):
                if metric in sc:
                    row[metric], row[f"± {metric}"] = saliency.mean_ci(sc[metric])
                    key = {CONTROL: "control", RANDOM: "random"}.get(model, model)
                    glued[f"B1_{dataset}_{key}_{metric.replace(' ', '_')}"] = row[metric]
            table[dataset, model] = row
        floors = VB.null_floors(nulls)
        rows[dataset] = VB.b1_judgement(scores, tests=tests_total, floors=floors)
        glued[f"B1_{dataset}_align_floor"] = floors["edge alignment"]
        glued[f"B1_{dataset}_sparsity_floor"] = floors["sparsity"]
    table = pd.DataFrame(table).T
    table.index.names = ["data set", "model"]
    glued["B1_tests"] = tests_total
    glued["B1_z"] = V.z_for(tests_total)
    glued["B1_align_floor"] = VB.ALIGN_FLOOR
    glued["B1_sparsity_floor"] = VB.SPARSITY_FLOOR
    glued["B1_random_nets"] = len(randoms[DATASETS[0]])
    return Section(table, rows, glued)


def b1_summary(table: pd.DataFrame, n: int) -> str:
    """B1's "ours" text: edge alignment and sparsity per model and data set."""
    return (
        "; ".join(
            f"{d}: edge alignment "
            + ", ".join(f"{m} {table.loc[(d, m), 'edge alignment']:.2f}" for m in MODELS)
            + f" (random-init {table.loc[(d, RANDOM), 'edge alignment']:.2f}, "
            + f"control {table.loc[(d, CONTROL), 'edge alignment']:.2f})"
            + ", sparsity "
            + ", ".join(f"{m} {table.loc[(d, m), 'sparsity']:.2f}" for m in MODELS)
            for d in DATASETS
        )
        + f" ({n:,} images, paired SEs)"
    )


# --------------------------------------------------------------------------
# B2: large-eps examples, and judges of another kind


def large_eps(dataset: str, net, x, y, norm, *, steps: int, batch: int | None = None):
    """Figure 3's large-eps PGD (:func:`lib.benefits.large_eps_attack`: untargeted, towards
    high loss at the true label, from x itself, ``steps`` steps of 2.5 eps / steps), in
    batches of ``batch`` images if given."""
    attack = benefits.large_eps_attack(dataset, norm, steps=steps)
    if batch is None:
        return attack(net, x, y, precision="fp32")
    parts = zip(x.split(batch), y.split(batch), strict=True)
    return torch.cat([attack(net, xb, yb, precision="fp32") for xb, yb in parts])


def figure3_rows(nets: dict, test, dataset: str, n: int, *, steps: int):
    """Figure 3's data for the first ``n`` images: the rows (images, predicted classes) and
    their labels, the clean images first; and each panel's (x, x_adv) for Figure 4."""
    x, y = first(test, n)
    rows, labels, examples = [(x, y)], [""], {}
    for model, norm in PANELS:
        net = nets[dataset, model]
        x_adv = large_eps(dataset, net, x, y, norm, steps=steps)
        examples[model, norm] = (x, x_adv)
        with torch.no_grad():
            rows.append((x_adv, net(x_adv).argmax(1)))
        labels.append(f"{model}\n{chapter.norm_label(norm)} {benefits.large_eps(dataset, norm):g}")
    return rows, labels, examples


# --------------------------------------------------------------------------
# B3: the straight path to the large-eps example


def figure4_rows(nets: dict, examples: dict, dataset: str, frames=FRAMES, *, per_row: int = 10):
    """Figure 4's data: the path x + t (x_adv - x) of the first two images of each robust
    panel of :func:`figure3_rows`, each cut into rows of ``per_row`` frames (legible at
    book width); ``(rows, labels)``, the label on a path's first row only."""
    rows, labels = [], []
    for model, norm in ROBUST:
        for j in (0, 1):
            x, x_adv = examples[model, norm]
            path = torch.stack([x[j] + t * (x_adv[j] - x[j]) for t in frames])
            with torch.no_grad():
                pred = nets[dataset, model](path).argmax(1)
            for start in range(0, len(frames), per_row):
                rows.append((path[start : start + per_row], pred[start : start + per_row]))
                labels.append(f"{model} #{j + 1}" if start == 0 else "")
    return rows, labels


# --------------------------------------------------------------------------
# The reproduction table


def s4_judgement(large_steps: int, frames=FRAMES, style: dict = STYLE):
    """S4, the setup of Figures 2-4 as run: ``(judgement, large-eps attack)``. "Untargeted"
    is read from what the attack does (:func:`lib.benefits.untargeted`)."""
    attack = benefits.large_eps_attack("mnist", "inf", steps=large_steps)
    facts = {
        "mnist display": (style["mnist"], "diverging"),
        "cifar display": (style["cifar10"], "clip3"),
        "frames": (len(frames), 20),
        "first frame": (float(frames[0]), 0.0),
        "last frame": (float(frames[-1]), 1.0),
        "untargeted": (benefits.untargeted(attack), True),
        "no random start": (attack.random_start, False),
    }
    return V.checked(facts), attack


def _judged(section: Section) -> str:
    """B2 or B3's "ours": per row and judge, the robust arm vs the standard arm."""
    t = section.table
    robust, standard = (c for c in t.columns if c.startswith(("robust:", "standard:")))
    return "; ".join(
        f"{row} ({judge}{'' if t.loc[(row, judge), 'judge validated'] else ', not validated'}):"
        f" {t.loc[(row, judge), robust]} (robust) vs {t.loc[(row, judge), standard]} (standard)"
        for row, judge in t.index
    )


def reproduction_rows(
    b1: Section, b2: Section, b3: Section, b4: Section, *, n_metrics, n_audit, aa, large_steps
) -> list[dict]:
    """The chapter's rows B1-B4 and S4, each claim's per-data-set rows combined so that the
    weakest wins (B2 and B3: only judges that passed their controls count, and at most
    qualitatively reproduced: a judge is a proxy)."""
    s4, attack = s4_judgement(large_steps)
    return [
        V.combine(b1.rows).row(
            "B1",
            "robust gradients align with perceptual features; l_inf sparser than l2",
            b1_summary(b1.table, n_metrics),
        ),
        V.combine(b2.rows).row(
            "B2",
            "large-eps examples of robust models look like another class; noise for standard ones",
            "the judge sees the new class, same images: " + _judged(b2),
        ),
        V.combine(b3.rows).row(
            "B3",
            "the interpolation is a smooth, perceptual path between classes",
            "the judge in one step to the new class, same images: " + _judged(b3),
        ),
        V.combine(b4.rows).row(
            "B4",
            "robustness is not obfuscated gradients",
            f"largest drop from training PGD to all attacks {b4.data['gaps'].max():.1%} (a "
            f"fact); masking flagged for {b4.glued['B4_masking_flags']} of "
            f"{len(b4.data['flags'])} models; {n_audit} images, Square {aa['queries']} queries, "
            "transfer from the standard model",
        ),
        s4.row(
            "S4",
            "display: MNIST gradients blue/red by sign, CIFAR/ImageNet clipped to "
            f"+-{paper_code.GRADIENT_CLIP_SIGMA} sigma; untargeted large-eps PGD at the true "
            f"label; Fig 4: {paper_code.FIG4_FRAMES} frames x + t delta, t in [0, 1]",
            f"gradient display {STYLE}; large-eps PGD {attack.describe()}; {len(FRAMES)} frames "
            f"from t = {FRAMES[0]:g} to {FRAMES[-1]:g}",
        ),
    ]
