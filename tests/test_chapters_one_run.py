"""lib.chapters.one_run on a fake run record: the summary, glued values, the gap's
convergence verdict and the figures."""

from __future__ import annotations

from types import SimpleNamespace

import matplotlib
import pytest

from lib.chapters import one_run
from lib.experiments.runs import RunConfig

matplotlib.use("Agg")

CONFIG = RunConfig("mnist", "smoke", "adversarial", "inf", 0.3, seed=1, eval_every=50)
SETTINGS = SimpleNamespace(
    data={}, arch="mnist_cnn", model_kwargs={"hidden": 16}, batch_size=64, optimizer="adam", lr=1e-3
)
METRICS = {
    "std_acc": 0.9,
    "adv_acc": 0.6,
    "std_acc_balanced": 0.89,
    "adv_acc_balanced": 0.59,
    "n_train": 512,
    "n_test": 10_000,
    "train_complete": False,
    "steps": 400,
    "train_attack": "PGD",
    "eval_attack": "PGD-20",
    "eps_eval": 0.3,
    "train_seconds": 12.4,
}


def history(accs, loss=0.5):
    """A run's history with one curve point every 50 steps up to 400."""
    return [
        {"steps": 50 * (i + 1), "loss": loss, "acc": 0.5, "curve": [(50 * (i + 1), a)]}
        for i, a in enumerate(accs)
    ]


def fake_run(accs):
    provenance = {"precision": "fp32", "device": "cpu"}
    return SimpleNamespace(
        metrics=METRICS, record={"provenance": provenance}, history=history(accs)
    )


def test_summary_and_glued():
    s = one_run.summary(CONFIG, SETTINGS, "k" * 16, True, fake_run([0.5]))
    assert s["data set"] == (
        "mnist (512 training, 10,000 test images; from a subset of the official training set)"
    )
    assert s["training"] == "adversarial, 400 steps of 64 images, adam lr 0.001"
    assert s["robust test accuracy (eps 0.3)"] == "60.00%"
    assert s["class-balanced standard / robust accuracy"] == "89.00% / 59.00%"
    assert s["training time"] == "12 s" and s["reused from the store"]
    old = {k: v for k, v in METRICS.items() if "balanced" not in k}
    run = SimpleNamespace(metrics=old, record=fake_run([0.5]).record, history=[])
    summary = one_run.summary(CONFIG, SETTINGS, "k", False, run)
    assert summary["class-balanced standard / robust accuracy"] == "not recorded"
    glued = one_run.run_glued("k", METRICS)
    assert glued == {
        "run_key": "k",
        "run_std_acc": 0.9,
        "run_adv_acc": 0.6,
        "run_n_train": 512,
        "run_steps": 400,
    }


def _status(robust):
    curves = one_run.curves(history(robust), history([0.9] * len(robust)), "this run")
    return curves, *one_run.gap_status(curves, 10_000)


def test_gap_status_settled_moving_unmeasured():
    curves, drift, status = _status([0.6, 0.7, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8])
    assert list(curves) == ["standard", "this run"] and status == "settled"
    assert one_run.gap_glued(drift, status)["run_gap_end"] == pytest.approx(0.1)
    _, drift, status = _status([0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.6, 0.8])
    assert status == "still moving" and drift.drift.value == pytest.approx(-0.2)
    _, drift, status = _status([0.8])
    glued = one_run.gap_glued(drift, status)
    assert status == "unmeasured" and glued["run_gap_points"] == 1
    assert glued["run_gap_spread"] == 0
    assert "cannot be measured" in one_run.gap_text(drift, status)


def test_figures():
    fig = one_run.history_figure(history([0.5, 0.6]))
    assert [ax.get_title() for ax in fig.axes] == ["loss", "accuracy"]
    curves, *_ = _status([0.6, 0.7, 0.8])
    fig = one_run.gap_figure(curves)
    assert len(fig.axes[0].get_lines()) == 2 and fig.axes[1].get_title().startswith("standard")
