"""The benchmark at a tiny size (correctness only: no timing is asserted) and
the fast path's equal results."""

from __future__ import annotations

import copy
import json

import pytest
import torch

from lib import attacks, bench, runtime
from lib.experiments import profiles
from lib.train import evaluate


def test_tiny_bench_writes_every_section(tmp_path):
    device = torch.device("cpu")
    settings = bench.settings_for("tiny", device)
    path = tmp_path / "bench.json"
    result = bench.run(settings, device, progress=False, path=path, strict=True)
    saved = json.loads(path.read_text())
    assert saved["provenance"]["commit"] == result["provenance"]["commit"]
    assert len(saved["attack"]) == len(settings.models) * len(settings.batches) * 2
    for row in saved["attack"]:
        for name in ("ours", "ours_fp32", "torchattacks", "floor_fp32", "floor_ours"):
            assert row["variants"][name]["throughput"] > 0, (name, row["variants"][name])
        assert all(v is None or v > 0 for v in row["ratios"].values())
    assert {r["path"] for r in saved["train"]} == {"auto", "fp32"}
    assert all(r["overhead"] > 0 for r in saved["train"])
    # the bench's PGD-k for every model, then the cpu recipe of each model that has one
    rows = saved["train_throughput"]
    assert [(r["setup"], r["model"]) for r in rows] == [
        *(("bench", m) for m in settings.models),
        *(("cpu recipe", m) for m in settings.models if m in ("mnist_cnn", "cifar_resnet")),
    ]
    for r in rows:
        assert r["variants"]["torchattacks"]["images_per_s"] > 0
        assert r["ratios"]["ours/torchattacks"] > 0
    recipe = {r["model"]: r for r in rows if r["setup"] == "cpu recipe"}
    for model, dataset, n in (("mnist_cnn", "mnist", 60_000), ("cifar_resnet", "cifar10", 50_000)):
        cpu = profiles.settings(dataset, "cpu")
        row = recipe[model]
        assert row["k"] == cpu.train_attack["inf"].steps and row["batch"] == cpu.batch_size
        # one run: the recipe's epochs over the full training set, at the measured rate
        assert row["cpu_run"]["images"] == cpu.epochs * n
        ours = row["variants"]["ours"]["images_per_s"]
        assert row["cpu_run"]["minutes"]["ours"] == pytest.approx(cpu.epochs * n / ours / 60)
    assert len(saved["equal"]) == 2
    assert saved["targets"] and all(isinstance(t["met"], bool) for t in saved["targets"])
    assert "attack throughput" in bench.table(saved)


def test_bad_settings_fail_at_once():
    with pytest.raises(ValueError, match="unknown model"):
        bench.BenchSettings(models=("vgg",))
    with pytest.raises(ValueError, match="norm"):
        bench.BenchSettings(norms=(1,))
    with pytest.raises(ValueError, match="unknown size"):
        bench.settings_for("huge", torch.device("cpu"))
    with pytest.raises(ValueError, match="compile"):
        bench.BenchSettings(compile="fastest")
    with pytest.raises(ValueError, match="unknown section"):
        bench.run(bench.SIZES["tiny"], "cpu", sections=("speed",))


def test_floor_is_a_valid_attack(mnist_cnn, mnist_small):
    _, te = mnist_small
    x, y = te.inputs()[:64], te.y[:64]
    x_adv = bench.floor_pgd(mnist_cnn, x, y, eps=0.1, norm="inf", steps=5, step_size=0.03)
    assert (x_adv - x).abs().max() <= 0.1 + 1e-6
    assert x_adv.min() >= 0 and x_adv.max() <= 1


@pytest.mark.parametrize("norm, eps", [("inf", 0.1), (2, 1.0)])
def test_fast_path_gives_fp32_robust_accuracy(mnist_cnn, mnist_small, norm, eps):
    """bf16 autocast + channels_last, eager and compiled, within 0.5 point of fp32."""
    _, te = mnist_small
    attack = attacks.PGD.relative(eps, norm, 10, 0.25)
    device = torch.device("cpu")
    acc = {}
    paths = {"fp32": ("fp32", None), "bf16": ("bf16", None), "compiled": ("bf16", "default")}
    for label, (precision, mode) in paths.items():
        net = copy.deepcopy(mnist_cnn).to(memory_format=torch.contiguous_format)
        net = runtime.fast_model(net, device, precision, compile=mode)
        g = torch.Generator().manual_seed(0)
        acc[label] = evaluate(net, te, attack, precision=precision, generator=g)
    assert 0.05 < acc["fp32"] < 0.95, acc  # an informative eps: neither all nor none broken
    assert abs(acc["bf16"] - acc["fp32"]) <= 0.005, acc
    assert abs(acc["compiled"] - acc["fp32"]) <= 0.005, acc
