"""The unexpected-benefits chapter's B2 and B3: judges of the large-eps examples and paths.

Each row (data set and norm) compares the robust model's large-eps example with
the standard model's on the same images, under each judge: the other norm's
robust model, and on MNIST the nearest training image
(:mod:`lib.benefits_proxy`). A judge counts only after its negative controls.
:func:`b2_section` and :func:`b3_section` return :class:`lib.chapters.benefits.Section`.
Images and eps in [0, 1] pixel space.
"""

from __future__ import annotations

import math

import pandas as pd
import torch

from lib import benefits, chapter, verdicts
from lib import benefits_proxy as proxy
from lib.chapters.benefits import (
    DATASETS,
    FRAMES,
    MODELS,
    PANELS,
    ROBUST,
    Section,
    first,
    large_eps,
    panel_name,
)
from lib.experiments import runs as runs_lib
from lib.judging import Rate
from lib.verdicts import benefits as VB

#: The judge of another kind: the robust model of the other norm (lib.benefits.JUDGE).
MODEL_JUDGE = "other-norm model"
#: MNIST's pixel-space judge: the nearest training image (lib.benefits_proxy).
PIXEL_JUDGE = "1-NN pixels"


def _rows_and_table(parts: dict, table: dict) -> tuple[dict, pd.DataFrame]:
    """B2's or B3's claim rows (one per data set and norm, from its judges' verdicts) and
    its per-judge table, indexed by row and judge."""
    rows = {
        f"{d} {chapter.norm_label(norm)}": proxy.judges_row(js) for (d, norm), js in parts.items()
    }
    frame = pd.DataFrame(table).T
    frame.index.names = ["row", "judge"]
    return rows, frame


def pixel_judges(profile: str, seed: int, device) -> dict:
    """Per data set, the pixel-space judges: MNIST's nearest training image
    (:class:`lib.benefits_proxy.NearestNeighbour`) over the standard run's training set."""
    train = runs_lib.run_data(benefits.run_config("mnist", "standard", profile, seed), "train")
    x, y = train.inputs(), train.y
    return {"mnist": proxy.NearestNeighbour(x, y).to(device)}


def judges_of(nets: dict, dataset: str, norm, pixel: dict) -> dict:
    """The judges of a row: the other norm's robust model, and the data set's pixel-space
    judge where it has one."""
    judges = {MODEL_JUDGE: nets[dataset, benefits.JUDGE[norm]]}
    if dataset in pixel:
        judges[PIXEL_JUDGE] = pixel[dataset]
    return judges


def _predict(net, x) -> torch.Tensor:
    with torch.no_grad():
        return net(x).argmax(1)


def b2_section(nets: dict, tests: dict, n: int, *, steps: int, pixel: dict | None = None):
    """B2 on the first ``n`` test images, symmetric: per data set, norm and judge, on the
    images where the standard and robust models and the judge are right before and both
    attacks moved the class (:func:`lib.benefits_proxy.symmetric_items`), how often the
    judge sees the robust example's new class against the standard example's (paired);
    and the judge's negative controls on the same images (noise of the robust
    perturbation's norm, the standard model's examples). ``pixel``: the pixel-space
    judges (:func:`pixel_judges`). ``data``: the examples (``large``), new classes
    (``new``), each row's images (``items``), controls, and each robust model's
    correctness under its large-eps attack, at B4's fall eps where it differs
    (:func:`lib.benefits.fall_eps`; ``large_correct``, for B4)."""
    pixel = pixel or {}
    large, new, items, controls, hits, large_correct = {}, {}, {}, {}, {}, {}
    for dataset in DATASETS:
        x, y = first(tests[dataset], n)
        clean = {m: _predict(nets[dataset, m], x) for m in MODELS}
        for model, norm in PANELS:
            net = nets[dataset, model]
            large[dataset, model, norm] = large_eps(
                dataset, net, x, y, norm, steps=steps, batch=100
            )
            new[dataset, model, norm] = _predict(net, large[dataset, model, norm])
        for r, norm in ROBUST:
            xr, xs = large[dataset, r, norm], large[dataset, "standard", norm]
            nr, ns = new[dataset, r, norm], new[dataset, "standard", norm]
            fell = nr
            if benefits.fall_eps(dataset, norm) != benefits.large_eps(dataset, norm):
                attack = benefits.fall_attack(dataset, norm, steps=steps)
                fell = _predict(nets[dataset, r], attack(nets[dataset, r], x, y, precision="fp32"))
            large_correct[dataset, r] = ((clean[r] == y) & (fell == y)).cpu()
            noise = proxy.same_norm_noise(x, xr, norm)
            for name, judge in judges_of(nets, dataset, norm, pixel).items():
                jc, jr, js, jn = (_predict(judge, v) for v in (x, xr, xs, noise))
                s = proxy.symmetric_items(y, [clean["standard"], clean[r], jc], nr, ns)
                key = (dataset, norm, name)
                items[key] = s
                hits[key] = ((jr == nr)[s].cpu(), (js == ns)[s].cpu())
                controls[key] = proxy.controls_of(y[s].cpu(), jn[s].cpu(), js[s].cpu())
    z = verdicts.z_for(len(items))
    table, glued, parts = {}, {"B2_tests": len(items), "B2_z": z}, {}
    for key, (a, b) in hits.items():
        dataset, norm, name = key
        j = parts.setdefault((dataset, norm), {})[name] = proxy.proxy_judgement(
            a, b, controls[key], name="agreement robust - standard", z=z, why=VB.PROXY
        )
        label = f"{dataset} {chapter.norm_label(norm)}"
        table[label, name] = {
            "images": len(a),
            "robust: judge sees the new class": str(Rate(int(a.sum()), len(a))),
            "standard: judge sees the new class": str(Rate(int(b.sum()), len(b))),
            "control: keeps its class on noise": str(controls[key].noise),
            "control: keeps its class on standard examples": str(controls[key].standard),
            "judge validated": controls[key].passed(z),
            "verdict": j.verdict,
        }
        tag = f"B2_{dataset}_{'linf' if norm == 'inf' else 'l2'}_{_tag(name)}"
        glued[f"{tag}_images"] = len(a)
        glued[f"{tag}_validated"] = "yes" if controls[key].passed(z) else "no"
        if name == MODEL_JUDGE:  # each panel's rate: the model judge on the row's images
            r = next(m for m, nm in ROBUST if nm == norm)
            for arm, hit in ((r, a), ("standard", b)):
                glued[f"B2_{dataset}_{panel_name(arm, norm)}_transfer_rate"] = _mean(hit)
    rows, table = _rows_and_table(parts, table)
    data = {
        "large": large,
        "new": new,
        "items": items,
        "controls": controls,
        "hits": hits,
        "large_correct": large_correct,
        "z": z,
    }
    return Section(table, rows, glued, data)


def _mean(hits: torch.Tensor) -> float:
    """The share of True in ``hits``; NaN for none."""
    return float(hits.float().mean()) if len(hits) else math.nan


def _tag(judge: str) -> str:
    return "model" if judge == MODEL_JUDGE else "pixels"


def b3_section(nets, tests, b2: Section, frames=FRAMES, *, pixel=None) -> Section:
    """B3 on B2's images: along both arms' paths x + t delta (the
    robust model's and the standard model's delta, the same images), does the judge go
    from the true class to the new one in one change (:func:`lib.benefits_proxy.one_step`)?
    Paired per row and judge; the judge counts only if it passed B2's controls on these
    images. Also each attacked model's class changes per path (on the model judge's
    images)."""
    pixel = pixel or {}
    z = verdicts.z_for(len(b2.data["items"]))
    table, glued, parts = {}, {"B3_tests": len(b2.data["items"]), "B3_z": z}, {}
    for (dataset, norm, name), s in b2.data["items"].items():
        x, y = first(tests[dataset], len(s))
        r = next(m for m, nm in ROBUST if nm == norm)
        judge = judges_of(nets, dataset, norm, pixel)[name]
        outcome, changes = {}, {}
        for arm in (r, "standard"):
            x_adv, new = b2.data["large"][dataset, arm, norm][s], b2.data["new"][dataset, arm, norm]
            path = benefits.path_predictions(judge, x[s], x_adv, frames)
            outcome[arm] = proxy.one_step(path, y[s].cpu(), new[s].cpu())
            if name == MODEL_JUDGE:
                own = benefits.path_predictions(nets[dataset, arm], x[s], x_adv, frames)
                changes[arm] = (
                    proxy.class_changes(own).float().mean().item() if len(own) else math.nan
                )
                glued[f"B3_{dataset}_{panel_name(arm, norm)}_switches"] = changes[arm]
        a, b = outcome[r], outcome["standard"]
        controls = b2.data["controls"][dataset, norm, name]
        j = parts.setdefault((dataset, norm), {})[name] = proxy.proxy_judgement(
            a, b, controls, name="one step robust - standard", z=z, why=PATH_PROXY
        )
        label = f"{dataset} {chapter.norm_label(norm)}"
        table[label, name] = {
            "paths": len(a),
            "robust: one step to the new class": str(Rate(int(a.sum()), len(a))),
            "standard: one step to the new class": str(Rate(int(b.sum()), len(b))),
            "robust model's changes per path": changes.get(r, math.nan),
            "standard model's changes per path": changes.get("standard", math.nan),
            "judge validated": controls.passed(b2.data["z"]),
            "verdict": j.verdict,
        }
        glued[f"B3_{dataset}_{'linf' if norm == 'inf' else 'l2'}_{_tag(name)}_paths"] = len(a)
        if name == MODEL_JUDGE:
            for arm, hit in ((r, a), ("standard", b)):
                glued[f"B3_{dataset}_{panel_name(arm, norm)}_one_step"] = _mean(hit)
    rows, table = _rows_and_table(parts, table)
    return Section(table, rows, glued, {})


PATH_PROXY = "smoothness of the look: " + VB.PROXY
