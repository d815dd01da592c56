"""lib.chapters.performance: the performance chapter's tables and glued values on fake files."""

from __future__ import annotations

import json
import math

import pytest

from lib.chapters import performance as perf
from lib.chapters import performance_trials as trials


def _attack_row(model="mnist_cnn", ours=200.0, ta=100.0, floor32=110.0, floor_ours=190.0):
    return {
        "model": model,
        "batch": 128,
        "norm": "inf",
        "variants": {
            "ours": {"throughput": ours},
            "torchattacks": {"throughput": ta},
            "floor_fp32": {"throughput": floor32},
            "floor_ours": {"throughput": floor_ours},
        },
        "ratios": {
            "ours/torchattacks": ours / ta,
            "ours/floor_fp32": ours / floor32,
            "ours/floor_ours": ours / floor_ours,
            "ours_graph/torchattacks": None,  # not measured: left out
        },
    }


def _result(kind="cpu", rows=None, targets=None, **prov):
    return {
        "settings": {"rounds": 3, "steps": 10},
        "provenance": {
            "device": f"a {kind}",
            "torch": "2.14",
            "date": "2026-12-01T10:00:00",
            "commit": "0123456789abcdef+dirty",
            **prov,
        },
        "device_type": kind,
        "attack": rows if rows is not None else [_attack_row(), _attack_row("resnet", 150.0)],
        "train": [],
        "equal": [],
        "targets": targets or [],
    }


def test_files_note_and_machine():
    note = perf.files_note({"cpu-x": _result(cpu_id="EPYC", allocator="keep")})
    assert "`cpu-x.json`: a cpu, torch 2.14, 2026-12-01, commit `0123456789ab`" in note
    assert "(uncommitted changes)" in note and note.endswith("PGD-10; EPYC, keep")
    assert perf.machine_of({}) == ""


def test_load_results_in_name_order(tmp_path):
    for name in ("b", "a"):
        (tmp_path / f"{name}.json").write_text(json.dumps(_result()))
    assert list(perf.load_results(tmp_path)) == ["a", "b"]


def test_attack_table_and_plotted_ratios():
    t = perf.attack_table(_result())
    assert list(t.index) == [("mnist_cnn", 128, "linf"), ("resnet", 128, "linf")]
    assert t.loc[("mnist_cnn", 128, "linf"), "ours/torchattacks"] == 2.0
    assert "ours_graph/torchattacks" not in t  # None ratios are left out
    assert list(perf.plotted_ratios(t).columns) == ["ours"]
    t["ours_graph/torchattacks"] = 3.0
    assert list(perf.plotted_ratios(t).columns) == ["ours", "ours CUDA graph"]


def test_ratio_glued_per_device_type():
    g = perf.ratio_glued({"c": _result("cpu")})
    assert (g["perf_cpu_ours_vs_torchattacks_min"], g["perf_cpu_ours_vs_torchattacks_max"]) == (
        1.5,
        2.0,
    )
    assert math.isnan(g["perf_cuda_ours_vs_torchattacks_min"])  # no GPU file
    assert len(g) == 2 * 5 * 2


def test_ceiling():
    c = perf.ceiling_table({"c": _result("cpu"), "g": _result("cuda")})
    assert len(c) == 2 and set(c["file"]) == {"c"}  # GPU files have no CPU ceiling
    assert c["bf16 floor / fp32 floor"].iloc[0] == pytest.approx(190 / 110)
    g = perf.ceiling_glued(c)
    assert g["perf_ceiling_rows"] == 2 and g["perf_cpu_ceiling_min"] == pytest.approx(190 / 110)
    assert len(perf.ceiling_per_file(c)) == 1
    assert math.isnan(perf.ceiling_glued(perf.ceiling_table({}))["perf_cpu_ceiling_min"])


def test_targets():
    rows = [
        {"target": "2x", "where": "a", "value": 2.5, "met": True, "short_by": 0.0},
        {"target": "2x", "where": "b", "value": 1.5, "met": False, "short_by": 0.5},
    ]
    t = perf.targets_table({"c": _result(targets=rows)})
    assert perf.targets_glued(t) == {"perf_targets_met": 1, "perf_targets": 2}
    s = perf.targets_summary(t)
    assert (s["met"].iloc[0], s["of"].iloc[0], s["worst"].iloc[0]) == (1, 2, 1.5)
    assert perf.targets_glued(perf.targets_table({})) == {"perf_targets_met": 0, "perf_targets": 0}


def test_throughput_table():
    r = _result()
    r["train_throughput"] = [
        {
            "model": "mnist_cnn",
            "k": 7,
            "batch": 128,
            "variants": {
                "ours": {"images_per_s": 800.0},
                "ours_fp32": {"images_per_s": 400.0},
                "torchattacks": {},
            },
            "ratios": {"ours/torchattacks": 2.0, "ours_fp32/torchattacks": 1.0},
            "cpu_run": {"minutes": {"ours": 3.0}},
        }
    ]
    t = perf.throughput_table({"c": r})
    assert t["setup"].iloc[0] == "bench" and t["cpu run min (ours)"].iloc[0] == 3.0
    assert math.isnan(t["torchattacks img/s"].iloc[0])
    assert math.isnan(t["cpu run min (fp32 eager)"].iloc[0])
    assert perf.throughput_table({"c": _result()}).empty


def test_notes():
    r = _result("cuda")
    r["skipped"] = {"train": "no time"}
    r["gpu_checks"] = {
        "checked": True,
        "syncs": 0,
        "graph_auto": {"max_abs_diff_vs_eager": 0.0, "success_graph": 0.5, "success_eager": 0.5},
    }
    lines = perf.notes("g", r)
    assert lines[0] == "- `g`: section *train* not measured: no time"
    assert "no host synchronization" in lines[1] and "0.500 vs 0.500" in lines[1]
    assert perf.notes("c", _result()) == []


def _trial(tmp_path, name, rows, **args):
    prov = {
        "device": "cpu",
        "torch": "2.14",
        "torch_threads": 2,
        "commit": "abc",
        "date": "2026-12-01",
        "cores": 2,
        "args": {"rounds": 3, "jobs": 2, "images": 512, **args},
    }
    (tmp_path / f"{name}.json").write_text(json.dumps({"provenance": prov, "rows": rows}))


def test_trials_rows_caption_and_glued(tmp_path):
    _trial(
        tmp_path,
        "user-cnn-cpu",
        [
            {
                "model": m,
                "batch": 128,
                "steps": 10,
                "precision": "bf16",
                "ours/torchattacks": v,
                "ours_onednn/torchattacks": 1.0,
                "ours_onednn/ours": v / 2,
            }
            for m, v in (("a", 2.0), ("b", 3.0))
        ],
    )
    rows, text = trials.trial("user-cnn-cpu", tmp_path)
    assert [r["model"] for r in rows] == ["a", "b"]
    assert text.startswith("`lab/results/user-cnn-cpu.json`: cpu, torch 2.14, 2 thread(s)")
    assert "PGD-10 l_inf, bf16, median of 3" in text
    g = trials.trial_glued("user-cnn-cpu", rows)
    assert g == {"perf_user_cnn_rows": 2, "perf_user_cnn_best": 3.0, "perf_user_cnn_gain": 1.5}


def test_a_missing_trial_says_how_to_run_it(tmp_path):
    rows, text = trials.trial("compile-cpu", tmp_path)
    assert rows == [] and "lab/trials/compile_trial.py" in text
    g = trials.trial_glued("compile-cpu", rows)
    assert g["perf_compile_rows"] == 0 and math.isnan(g["perf_compile_attack_best"])
    with pytest.raises(ValueError):
        trials.trial_glued("nope", [])


def test_jobs_rows_sum_the_workers(tmp_path):
    row = {
        "model": "m",
        "one process": {"images_per_s": 100.0},
        "2 workers": [{"images_per_s": 60.0}, {"images_per_s": 70.0}],
        "workers/one process": 1.3,
    }
    _trial(tmp_path, "jobs-cpu", [row])
    rows, text = trials.trial("jobs-cpu", tmp_path)
    assert rows[0]["workers: images/s"] == 130.0 and "2 workers of 1 thread(s)" in text


def test_the_committed_trials_read():
    # every committed trial has the fields its view reads
    for name in trials.TRIAL_VIEWS:
        if (trials.TRIALS / f"{name}.json").exists():
            rows, _ = trials.trial(name)
            assert rows and all("model" in r for r in rows)


def test_roofline_reads_the_ceiling_at_the_steps_precision(tmp_path):
    # a file of the fp32 ceiling (a CPU without bf16) and one of 2026-12-06 (bf16 only)
    step = {"gflops": 47.0, "of_gemm": 0.62}
    new = {
        "model": "m",
        "adversarial": step,
        "clean": step,
        "precision": "fp32",
        "gemm_gflops": 76.0,
    }
    _trial(tmp_path, "roofline-cpu", [new])
    rows, _ = trials.trial("roofline-cpu", tmp_path)
    assert rows[0]["ceiling: GFLOP/s"] == 76.0 and rows[0]["precision"] == "fp32"
    old = {"model": "m", "adversarial": step, "clean": step, "gemm_bf16_gflops": 204.0}
    _trial(tmp_path, "roofline-cpu", [old])
    rows, _ = trials.trial("roofline-cpu", tmp_path)
    assert rows[0]["ceiling: GFLOP/s"] == 204.0 and rows[0]["precision"] == "bf16"
