"""The store keys of known configurations, pinned.

A run is found in the store by a hash of its settings, so a refactoring that
changes a key silently orphans every stored run. These literals were computed
from the code before the redesign of issue 16, then updated once, on purpose,
when the schema gained the recipe version and the data fingerprint (issues 14
and 19), and the six MNIST and CIFAR-10 `cpu` literals once more when those recipes
went from one epoch to three (issue 14: a recipe change must change the key),
and the five MNIST CNN literals when that model's input gradient changed
(``runs.ARCH_VERSIONS``: its runs only); a move must leave them as they are.
The data fingerprints are fixed here, so the literals do not depend on the
data this machine holds.

Every key goes through :func:`key`, the one place that says how a key is made.
Configurations use ``precision="fp32"``: ``"auto"`` resolves per machine (bf16
where the CPU has it), which would make the pinned keys machine-dependent.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from lib.data import TensorData
from lib.experiments import runs
from lib.experiments.evals import robust_eval_key
from lib.experiments.runs import RunConfig, run_key


def key(config: RunConfig, eps: float | None = None, norm=None) -> str:
    """The store key of ``config`` on the CPU; with ``eps``, of its robust_eval."""
    if eps is None:
        return run_key(config, device="cpu")
    return robust_eval_key(config, eps, norm=norm, device="cpu")


def _c(dataset, profile, mix="clean", **kw):
    return RunConfig(dataset, profile, mix, precision="fp32", **kw)


CASES = {
    "mnist-smoke-clean": (_c("mnist", "smoke"), None, None),
    "mnist-cpu-adv-inf": (_c("mnist", "cpu", "adversarial", eps_train=0.3), None, None),
    "mnist-cpu-half-l2": (_c("mnist", "cpu", "half", norm=2, eps_train=2.5), None, None),
    "mnist-cpu-clean-n100-eval": (_c("mnist", "cpu", n_train=100, eps_eval=0.1), None, None),
    "cifar10-smoke-adv": (_c("cifar10", "smoke", "adversarial", eps_train=8 / 255), None, None),
    "cifar10-cpu-clean": (_c("cifar10", "cpu"), None, None),
    "cifar10-cpu-adv-bntrain": (
        _c("cifar10", "cpu", "adversarial", eps_train=8 / 255, bn_mode="train"),
        None,
        None,
    ),
    "binary_mnist-smoke-adv": (
        _c("binary_mnist", "smoke", "adversarial", eps_train=0.1),
        None,
        None,
    ),
    "binary_mnist-cpu-clean": (_c("binary_mnist", "cpu"), None, None),
    "ri-smoke-variant": (
        _c("restricted_imagenet", "smoke", variant="robustness"),
        None,
        None,
    ),
    "ri-cpu-adv-l2-seed1": (
        _c("restricted_imagenet", "cpu", "adversarial", norm=2, eps_train=1.0, seed=1),
        None,
        None,
    ),
    "robust-eval-mnist-cpu-clean-l2": (_c("mnist", "cpu"), 1.5, 2),
    "robust-eval-cifar10-smoke-adv": (
        _c("cifar10", "smoke", "adversarial", eps_train=8 / 255),
        4 / 255,
        None,
    ),
    "robust-eval-binary_mnist-cpu": (_c("binary_mnist", "cpu"), 0.2, "inf"),
}

PINNED = {
    "binary_mnist-cpu-clean": "f91a35bd1cb036f4",
    "binary_mnist-smoke-adv": "8a0eb7957df692ad",
    "cifar10-cpu-adv-bntrain": "880b554bad036468",
    "cifar10-cpu-clean": "30c052200917709c",
    "cifar10-smoke-adv": "8ed610d823267c4f",
    "mnist-cpu-adv-inf": "284306aeb0845f42",
    "mnist-cpu-clean-n100-eval": "e2ad0814609c0e64",
    "mnist-cpu-half-l2": "ae6a4b3df6729e8b",
    "mnist-smoke-clean": "bb5f12f4d4b24a2b",
    "ri-cpu-adv-l2-seed1": "eec4875029f30d3b",
    "ri-smoke-variant": "1190905882019c6a",
    "robust-eval-binary_mnist-cpu": "82e82d7378118a4d",
    "robust-eval-cifar10-smoke-adv": "a2dc2f771699005b",
    "robust-eval-mnist-cpu-clean-l2": "f5a60549df30d9eb",
}


FIXED_DATA = {"train": "0123456789abcdef", "test": "fedcba9876543210"}


@pytest.fixture
def fixed_data(monkeypatch):
    """Keys independent of the data on this machine: every data set's fingerprint fixed."""
    monkeypatch.setattr(
        runs.data_lib,
        "fingerprints",
        lambda dataset, **_: None if "imagenet" in dataset else FIXED_DATA,
    )


@pytest.mark.parametrize("name", sorted(CASES))
def test_store_key_is_pinned(name, fixed_data):
    config, eps, norm = CASES[name]
    assert key(config, eps, norm) == PINNED[name]


def test_the_key_changes_with_the_recipe_version(fixed_data, monkeypatch):
    config = _c("mnist", "cpu", "adversarial", eps_train=0.3)
    before = key(config)
    monkeypatch.setattr(runs, "RECIPE_VERSION", runs.RECIPE_VERSION + 1)
    assert key(config) != before


def test_the_arch_version_changes_that_model_s_keys_only(fixed_data, monkeypatch):
    mnist, cifar = _c("mnist", "cpu", "adversarial", eps_train=0.3), _c("cifar10", "cpu")
    before = key(mnist), key(cifar)
    monkeypatch.setitem(runs.ARCH_VERSIONS, "mnist_cnn", runs.ARCH_VERSIONS["mnist_cnn"] + 1)
    assert key(mnist) != before[0] and key(cifar) == before[1]
    monkeypatch.setitem(runs.ARCH_VERSIONS, "mnist_cnn", 1)
    version_1 = key(mnist)
    monkeypatch.delitem(runs.ARCH_VERSIONS, "mnist_cnn")
    assert key(mnist) == version_1  # version 1 is what keys without the entry had


def test_the_strong_eval_key_changes_with_its_version(fixed_data, monkeypatch):
    from lib.experiments import evals

    config = _c("mnist", "cpu", "adversarial", eps_train=0.3)
    before = evals.strong_eval_key(config, device="cpu")
    monkeypatch.setattr(evals, "STRONG_VERSION", evals.STRONG_VERSION + 1)
    assert evals.strong_eval_key(config, device="cpu") != before
    assert key(config) == PINNED["mnist-cpu-adv-inf"]  # the run's own key unchanged


def _cifar_root(root, *, x_tr, y_tr, x_te, y_te):
    root.mkdir()
    np.savez(root / "cifar10.npz", x_train=x_tr, y_train=y_tr, x_test=x_te, y_test=y_te)
    return root


@pytest.mark.filterwarnings("ignore::lib.data.core.SubsetWarning")
def test_the_key_changes_with_the_data(tmp_path, monkeypatch):
    # Real fingerprints of a real data root (a 20 + 10 image cifar10.npz), no stub: a
    # change to either split's pixels, or to which image carries which label (the same
    # label counts), gives another key; the same data the same key.
    rng = np.random.default_rng(0)
    base = dict(
        x_tr=rng.integers(0, 256, (20, 32, 32, 3), dtype=np.uint8),
        y_tr=np.arange(20) % 10,
        x_te=rng.integers(0, 256, (10, 32, 32, 3), dtype=np.uint8),
        y_te=np.arange(10),
    )
    test_pixel = base["x_te"].copy()
    test_pixel[9, 31, 31, 2] ^= 1
    swapped = base["y_tr"].copy()
    swapped[[0, 19]] = swapped[[19, 0]]
    variants = {
        "same": base,
        "test pixel": base | {"x_te": test_pixel},  # catches fingerprinting the train split only
        "train labels": base | {"y_tr": swapped},  # catches labels counted, not hashed
    }
    config = _c("cifar10", "cpu")
    keys = {}
    for name, arrays in {"base": base, **variants}.items():
        monkeypatch.setenv(
            "ODDS_DATA", str(_cifar_root(tmp_path / name.replace(" ", "_"), **arrays))
        )
        keys[name] = key(config)
    assert keys["same"] == keys["base"]
    assert len({keys[k] for k in ("base", "test pixel", "train labels")}) == 3


def _tensor_data(n=3000, split="train", seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 256, (n, 1, 4, 4), generator=g, dtype=torch.uint8)
    y = torch.arange(n) % 10
    return TensorData("mnist", split, x, y, tuple(str(c) for c in range(10)))


def test_fingerprints_tell_a_subset_from_the_whole():
    ds = _tensor_data()
    fp = ds.fingerprint()
    assert fp == _tensor_data().fingerprint()  # equal data, equal print
    # the whole vs a subset; two subsets of the same size drawn with other seeds
    # (catches a print of the shapes alone)
    assert ds.subset(2000, seed=0).fingerprint() not in (fp, ds.subset(2000, seed=1).fingerprint())
    # the last image changed by one bit (catches a sample of the first 1,024 images only)
    x = ds.x.clone()
    x[-1, 0, 3, 3] ^= 1
    assert replace(ds, x=x).fingerprint() != fp
    # two images' labels swapped: the same label counts (catches labels left out of the hash)
    y = ds.y.clone()
    y[[0, -1]] = y[[-1, 0]]
    assert bool(y[0] != ds.y[0]) and replace(ds, y=y).fingerprint() != fp
    # the same images in another order; the same tensors called the test split
    order = torch.arange(len(ds)).flip(0)
    assert replace(ds, x=ds.x[order], y=ds.y[order]).fingerprint() != fp
    assert replace(ds, split="test").fingerprint() != fp


def test_the_profile_variant_named_is_the_same_run():
    # Restricted ImageNet's variant, when it names the profile's own, keys the same run.
    from lib.experiments import profiles

    own = profiles.settings("restricted_imagenet", "smoke").data.get("variant")
    if own is None:
        pytest.skip("the smoke profile names no variant")
    assert key(_c("restricted_imagenet", "smoke", variant=own)) == key(
        _c("restricted_imagenet", "smoke")
    )


def test_the_audit_key_changes_with_its_version(fixed_data, monkeypatch):
    from lib import benefits
    from lib.attacks import audit

    budget = audit.AuditBudget(100, 5, steps=50, targets=3, queries=500)
    kw = dict(profile="cpu", seed=0, n_audit=500, budget=budget, device="cpu")
    task = ("mnist", "linf", "APGD-T")
    before = benefits.audit_key_settings(task, **kw)
    # the model it attacks is the price chapter's run, by its own key
    assert before["audit_of"] == run_key(benefits.run_config("mnist", "linf", "cpu", 0), "cpu")
    monkeypatch.setattr(benefits, "AUDIT_VERSION", benefits.AUDIT_VERSION + 1)
    assert benefits.audit_key_settings(task, **kw) != before
