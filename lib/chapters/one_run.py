"""The one-run chapter's summary, glued values, convergence verdict and figures.

``book/one_run.py`` trains (or loads) one :class:`lib.experiments.runs.RunConfig` and,
when it records a curve, its standard twin; this module turns the run's
record into what the page shows. Accuracies are fractions in [0, 1]; gaps
are the twin's standard accuracy minus this run's; eps is in [0, 1] pixel
space. Glued values come back as ``{name: value}`` of plain Python values.
"""

from __future__ import annotations

import pandas as pd

from lib import convergence, verdicts

#: What the page says of the gap's drift over the last fifth of training, per status.
STATUS_TEXT = {
    "still moving": "**still moving** beyond the noise, so part of this gap is "
    "unequal convergence.",
    "settled": "within the noise, so the gap had **settled**; it is not an "
    "artefact of unequal convergence at this recipe.",
    "unmeasured": "one point only in the last fifth (set a smaller `eval_every`): "
    "the drift **cannot be measured**.",
}


def _data_set(config, settings, m: dict) -> str:
    """The data set, its variant where it has one, and the images the run used."""
    variant = ""
    if "variant" in settings.data:
        variant = f", {config.variant or settings.data['variant']} variant"
    subset = "" if m["train_complete"] else "; from a subset of the official training set"
    images = f"{m['n_train']:,} training, {m['n_test']:,} test images"
    return f"{config.dataset}{variant} ({images}{subset})"


def summary(config, settings, key: str, cached: bool, run) -> pd.Series:
    """The run at a glance: its store key, data, model, training, attacks, accuracies,
    precision, device and training time (``run``: a :class:`lib.experiments.runs.Run`)."""
    m = run.metrics
    balanced = (  # runs stored before class-balanced accuracy was recorded lack it
        f"{m['std_acc_balanced']:.2%} / {m['adv_acc_balanced']:.2%}"
        if "std_acc_balanced" in m
        else "not recorded"
    )
    training = f"{config.mix}, {m['steps']} steps of {settings.batch_size} images"
    return pd.Series(
        {
            "store key": key,
            "reused from the store": cached,
            "data set": _data_set(config, settings, m),
            "model": f"{settings.arch} {settings.model_kwargs or ''}",
            "training": f"{training}, {settings.optimizer} lr {settings.lr}",
            "training attack": m["train_attack"] or "none",
            "attack BatchNorm mode": config.bn_mode,
            "evaluation attack": m["eval_attack"],
            "standard test accuracy": f"{m['std_acc']:.2%}",
            f"robust test accuracy (eps {m['eps_eval']:.4g})": f"{m['adv_acc']:.2%}",
            "class-balanced standard / robust accuracy": balanced,
            "precision": run.record["provenance"]["precision"],
            "device": run.record["provenance"]["device"],
            "training time": f"{m['train_seconds']:.0f} s",
        }
    )


def run_glued(key: str, m: dict) -> dict:
    """The run's key, accuracies, training images and optimizer steps."""
    return {
        "run_key": key,
        "run_std_acc": m["std_acc"],
        "run_adv_acc": m["adv_acc"],
        "run_n_train": m["n_train"],
        "run_steps": m["steps"],
    }


def curves(run_history: list, twin_history: list, label: str) -> dict:
    """Standard test accuracy along training: the standard twin's, then this run's."""
    return {
        "standard": convergence.curve_of(twin_history),
        label: convergence.curve_of(run_history),
    }


def gap_status(curves_: dict, n_test: int) -> tuple:
    """The gap's drift over the last fifth of training (:func:`lib.convergence.gap_drift`)
    and what it says: ``"still moving"`` (beyond 2 SE), ``"settled"`` (within) or
    ``"unmeasured"`` (fewer than two points in the last fifth)."""
    drift = convergence.gap_drift(*curves_.values(), n_test)
    moved = verdicts.signed_effect(drift.drift, name="drift").verdict != verdicts.INCONCLUSIVE
    status = "unmeasured" if len(drift.steps) < 2 else ("still moving" if moved else "settled")
    return drift, status


def gap_glued(drift, status: str) -> dict:
    """The drift's points, value ± SE, spread, last gap and status."""
    return {
        "run_gap_points": len(drift.steps),
        "run_gap_drift": drift.drift.value,
        "run_gap_drift_se": drift.drift.se,
        "run_gap_spread": drift.spread,
        "run_gap_end": drift.gaps[-1],
        "run_gap_status": status,
    }


def gap_text(drift, status: str) -> str:
    """One paragraph: the last gap, how far it moved over the last fifth, and the verdict."""
    return (
        f"Standard-accuracy gap at the end: **{drift.gaps[-1]:.2%}**. Over the last fifth "
        f"({len(drift.steps)} points, steps {drift.steps[0]}-{drift.steps[-1]}) it moved by "
        f"{drift.drift.format(100, 2)} points (spread {drift.spread:.2%}): " + STATUS_TEXT[status]
    )


def history_figure(history: list):
    """Training loss and accuracy on the training batches, side by side."""
    import matplotlib.pyplot as plt

    hist = pd.DataFrame(history)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
    axes[0].plot(hist["steps"], hist["loss"], "o-", ms=3)
    axes[0].set(xlabel="optimizer step", ylabel="training loss", title="loss")
    axes[1].plot(hist["steps"], hist["acc"], "o-", ms=3)
    axes[1].set(xlabel="optimizer step", ylabel="training accuracy", title="accuracy", ylim=(0, 1))
    fig.tight_layout()
    return fig


def gap_figure(curves_: dict):
    """Standard test accuracy of both runs (left) and their gap in points, the last
    fifth of training shaded (right)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
    for name, curve in curves_.items():
        axes[0].plot(*zip(*curve, strict=True), "o-", ms=3, label=name)
    axes[0].set(xlabel="optimizer step", ylabel="standard test accuracy", title="test accuracy")
    axes[0].legend()
    steps, gaps = zip(*convergence.gap_curve(*curves_.values()), strict=True)
    axes[1].plot(steps, [100 * g for g in gaps], "o-", ms=3)
    last = (1 - convergence.LAST_SHARE) * steps[-1]
    axes[1].axvspan(last, steps[-1], alpha=0.15, label="last fifth")
    axes[1].set(xlabel="optimizer step", ylabel="gap (points)", title="standard minus this run")
    axes[1].legend()
    fig.tight_layout()
    return fig
