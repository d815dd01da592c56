"""scripts/gpu_first_contact.py on a CPU (issue 40): every CUDA stage says "no
device", every other stage passes; one stage's failure does not hide the rest;
and lib.bench.paper_cost, the estimate its last stage prints.

The compute stages run in this process (their code, at --quick sizes); the
orchestrator runs as CI would run it, on the cheap stages, so the test stays
near a minute on a loaded 2-core machine.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lib import runtime
from lib.bench import paper_cost
from lib.experiments import grids

SCRIPT = runtime.PROJECT_ROOT / "scripts" / "gpu_first_contact.py"


def _script():
    spec = importlib.util.spec_from_file_location("gpu_first_contact", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


fc = _script()
no_cuda = pytest.mark.skipif(
    __import__("torch").cuda.is_available(), reason="checks the CPU's answers"
)


def _args(tmp_path, **kw):
    return argparse.Namespace(
        quick=True, work=str(tmp_path), data=os.environ.get("ODDS_DATA"), wheels=None, **kw
    )


def _run(tmp_path, *stages, env=None):
    out = tmp_path / "first_contact.jsonl"
    cmd = [sys.executable, str(SCRIPT), "--quick", "--out", str(out), "--stages", *stages]
    proc = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        cwd=runtime.PROJECT_ROOT,
        env={**os.environ, **(env or {})},
        timeout=300,
    )
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    printed = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert printed == lines  # the same JSON lines on stdout and in --out
    return proc, {r["stage"]: r for r in lines}


@no_cuda
def test_cuda_stages_say_no_device_and_the_estimate_runs(tmp_path):
    proc, by = _run(tmp_path, "env", "graph_vs_eager", "graph_memory", "estimate")
    assert proc.returncode == 0, proc.stderr
    assert list(by) == ["env", "graph_vs_eager", "graph_memory", "estimate"]
    assert by["env"]["status"] == "ok" and by["env"]["cuda_available"] is False
    assert by["env"]["fp32_strict"] is True  # TF32 off once fp32 runs on CUDA
    assert by["graph_vs_eager"]["status"] == by["graph_memory"]["status"] == "no device"
    est = by["estimate"]
    assert est["status"] == "ok" and est["rates"] == "estimated"  # nothing measured on a CPU
    assert est["chapters"][-1]["chapter"] == "total"
    assert 0 < est["without_imagenet_gpu_hours"] < est["total_gpu_hours"]


def test_one_failing_stage_does_not_hide_the_others(tmp_path):
    proc, by = _run(tmp_path, "env", "estimate", env={"ODDS_FIRST_CONTACT_FAIL": "env"})
    assert proc.returncode == 1  # a failure is the script's exit status
    assert by["env"]["status"] == "failed" and "injected failure" in by["env"]["error"]
    assert by["estimate"]["status"] == "ok"


@pytest.mark.slow
@pytest.mark.parametrize(
    "stage", ["mnist", "cifar10", "restricted_imagenet", "strong_audit", "trades"]
)
def test_compute_stage_passes_on_the_cpu(tmp_path, stage, monkeypatch):
    monkeypatch.setenv("ODDS_WORKERS", "0")
    result = fc.run_stage(stage, _args(tmp_path))
    assert result["status"] == "ok", result
    if stage in ("mnist", "cifar10"):
        # the paper recipe's mixes, BatchNorm in train mode, a partial last batch
        for key in ("clean_eval", "adversarial_eval", "half_eval", "adversarial_train"):
            assert result[f"{key}_step_s"] > 0
        assert result["partial_batch_epoch_ok"] and result["profile"] == "smoke"
    if stage == "restricted_imagenet":
        assert result["graphs_on"] == "ok" and result["tree_images"] > 0
    if stage == "strong_audit":
        assert {"APGD-CE", "APGD-T", "Square"} <= set(result["audit_attacks"])


def test_wheels_go_on_the_path_and_the_carried_files_fit(tmp_path):
    (tmp_path / "w").mkdir()
    (tmp_path / "w" / "torchattacks-3.5.1-py3-none-any.whl").write_bytes(b"0" * 1000)
    assert fc.wheel_paths(str(tmp_path / "w")) == [
        str(tmp_path / "w" / "torchattacks-3.5.1-py3-none-any.whl")
    ]
    assert fc.wheel_paths(str(tmp_path / "none")) == []
    args = argparse.Namespace(data=os.environ.get("ODDS_DATA"), wheels=str(tmp_path / "w"))
    size = fc.carried_bytes(args)
    assert 1000 <= size < fc.CARRY_LIMIT_MIB * 2**20


def test_paper_cost_counts_runs_once_and_takes_measured_rates():
    rows = paper_cost.chapter_hours()
    total = rows[-1]
    price = {c for part in grids.price_configs("paper").values() for c in part}
    ri = grids.ri_configs("paper")["fig"]
    trades = grids.trades_configs("paper")["trades"]
    assert total.runs == len(price) + len(ri) + len(trades)
    assert total.rates == "estimated" and total.hours == pytest.approx(
        sum(r.hours for r in rows[:-1])
    )
    # a measured rate replaces the estimate of its data set: twice as slow, twice the hours
    slow = {k: 2 * v for k, v in paper_cost.ESTIMATED_PASS_SECONDS.items()}
    assert paper_cost.chapter_hours(slow)[-1].hours == pytest.approx(2 * total.hours)
    assert paper_cost.chapter_hours(slow)[-1].rates == "measured"
    assert paper_cost.chapter_hours({"mnist": 1e-3})[-1].rates == "partly measured"
    # without ImageNet: fewer runs, fewer hours
    assert paper_cost.chapter_hours(imagenet=False)[-1].hours < total.hours
    assert "| total |" in paper_cost.table(rows)
    assert "estimate" in paper_cost.summary() and "measured" in paper_cost.summary(slow)


#: A Python with torch and torchvision only, as the device machine's: site-packages
#: replaced by a view of it without these (what a wheel on sys.path brings back).
BLOCKED = ("tqdm", "scipy", "matplotlib", "pandas", "torchattacks", "ipython", "myst_nb")

_BARE = """
import os, sys
view = os.path.join(os.path.dirname(__file__), "site")
sys.path[:] = [view if p.endswith("site-packages") else p for p in sys.path]
"""


def _bare_python(folder):
    """``folder/sitecustomize.py`` and the view of site-packages it puts on the path."""
    import site

    view = folder / "site"
    view.mkdir(parents=True)
    packages = [p for p in site.getsitepackages() if p.endswith("site-packages")]
    for entry in Path(packages[0]).iterdir():
        if entry.name.split("-")[0].split(".")[0].lower() not in BLOCKED:
            (view / entry.name).symlink_to(entry)
    (folder / "sitecustomize.py").write_text(_BARE)


def _wheel(folder, package, dest):
    """A wheel of an installed pure-Python ``package`` (a wheel is a zip of it)."""
    import importlib
    import zipfile

    src = Path(importlib.import_module(package).__file__).parent
    path = dest / f"{package}-0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as z:
        for f in src.rglob("*.py"):
            z.write(f, f.relative_to(src.parent))
    return path


@no_cuda
@pytest.mark.slow
def test_runs_on_a_bare_python_with_carried_wheels(tmp_path):
    """No tqdm, scipy, torchattacks or plotting installed: the wheels carry the first
    two pure-Python ones, a stand-in takes scipy's place, and the stages pass."""
    bare, wheels = tmp_path / "bare", tmp_path / "wheels"
    wheels.mkdir()
    _bare_python(bare)
    for package in ("tqdm", "torchattacks"):
        _wheel(package, package, wheels)
    out = tmp_path / "fc.jsonl"
    cmd = [sys.executable, str(SCRIPT), "--quick", "--wheels", str(wheels), "--out", str(out)]
    cmd += ["--stages", "env", "strong_audit"]  # the stages that import torchattacks
    env = {**os.environ, "PYTHONPATH": str(bare)}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=400)
    by = {r["stage"]: r for r in map(json.loads, out.read_text().splitlines())}
    assert proc.returncode == 0, (proc.stderr, by)
    assert ".whl" in by["env"]["torchattacks"]  # imported from the wheel
    assert by["env"]["scipy"].startswith("missing")
    assert all(r["status"] == "ok" for r in by.values()), by
