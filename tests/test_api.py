"""The calls a torchattacks or RobustBench user writes first work as written (issue 36):
norms in their spellings, the Madry step size by default, torch data in evaluate and
train, and the precision in use said."""

from __future__ import annotations

import logging
import math

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from lib import chapter, runtime, train
from lib.attacks import PGD, LinearWorstCase, check_norm, pgd, step_size
from lib.experiments.runs import RunConfig

LINF = ["Linf", "linf", "LINF", "inf", "l_inf", math.inf, float("inf")]
L2 = ["L2", "l2", "2", 2, 2.0]


@pytest.mark.parametrize("spelling", LINF + L2)
def test_every_spelling_reaches_the_one_canonical_norm(spelling):
    canonical = "inf" if spelling in LINF else 2
    assert check_norm(spelling) == canonical
    assert PGD(eps=0.1, norm=spelling, steps=1).norm == canonical
    assert RunConfig("mnist", "smoke", "adversarial", norm=spelling, eps_train=0.1).norm == (
        canonical
    )
    assert chapter.norm_key(spelling) == ("linf" if canonical == "inf" else "l2")


def test_a_spelling_changes_no_store_key():
    """Keys hold the canonical spelling: "Linf" and "inf" name the same run."""
    configs = [
        RunConfig("mnist", "smoke", "adversarial", norm=n, eps_train=0.1, precision="fp32")
        for n in ("Linf", "inf", math.inf)
    ]
    assert len(set(configs)) == 1
    assert LinearWorstCase(0.1, norm="Linf") == LinearWorstCase(0.1)


@pytest.mark.parametrize("bad", ["l1", "Lp", 1, 3, True, -math.inf, None, "infinity"])
def test_a_bad_norm_fails_listing_the_accepted_spellings(bad):
    with pytest.raises(ValueError, match='norm must be "inf" or 2.*"Linf".*"L2"'):
        check_norm(bad)


def test_pgd_defaults_to_the_madry_step_size():
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3))
    x, y = torch.rand(5, 1, 2, 2), torch.tensor([0, 1, 2, 0, 1])
    g = lambda: torch.Generator().manual_seed(0)  # noqa: E731
    by_default = pgd(model, x, y, eps=0.3, norm="Linf", steps=10, generator=g())
    by_rule = pgd(model, x, y, eps=0.3, norm="inf", steps=10, step_size=0.075, generator=g())
    assert torch.equal(by_default, by_rule)
    assert PGD(eps=0.3, norm="L2", steps=10) == PGD.madry(0.3, 2, 10)
    assert PGD(eps=0.3, norm="L2", steps=10).step_size == step_size(0.3, 10) == 0.075
    assert torch.equal(pgd(model, x, y, eps=0.3, norm="Linf", steps=0, random_start=False), x)


def _toy():
    torch.manual_seed(0)
    x = torch.rand(60, 1, 4, 4)
    y = (x.mean((1, 2, 3)) > 0.5).long()
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 2))
    return model, x, y


def test_evaluate_takes_a_dataloader_and_a_dataset():
    model, x, y = _toy()
    attack = PGD(eps=0.05, norm="Linf", steps=3)

    def acc(data, robust, batch_size=500):
        g = torch.Generator().manual_seed(0)
        return train.evaluate(model, data, robust, batch_size=batch_size, generator=g)

    for robust in (None, attack):
        expected = acc((x, y), robust, batch_size=16)
        assert acc(DataLoader(TensorDataset(x, y), batch_size=16), robust) == expected
        assert acc(TensorDataset(x, y), robust, batch_size=16) == expected


def test_train_takes_a_dataset_as_its_own_data():
    model, x, y = _toy()
    history = train.train(
        model, TensorDataset(x, y), epochs=2, batch_size=20, lr=0.1, progress=False
    )
    assert [h["steps"] for h in history] == [3, 6]


def test_torch_data_must_be_pixels():
    model, x, y = _toy()
    with pytest.raises(TypeError, match=r"float tensor in \[0, 1\]"):
        train.evaluate(model, TensorDataset((x * 255).byte(), y))


def test_the_precision_in_use_is_said_once(caplog, monkeypatch):
    runtime._report.cache_clear()
    monkeypatch.setattr(runtime, "cpu_has_bf16", lambda: True)
    with caplog.at_level(logging.INFO, logger="lib"):
        assert runtime.resolve_precision("auto", "cpu") == "bf16"
        runtime.resolve_precision("auto", "cpu")
        assert runtime.resolve_precision("fp32", "cpu") == "fp32"
    said = [r.getMessage() for r in caplog.records if r.name == "lib"]
    assert said == ["precision='auto' runs at bf16 on cpu; pass precision='fp32' for fp32"]
    runtime._report.cache_clear()
