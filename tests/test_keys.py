"""The store keys of known configurations, pinned.

A run is found in the store by a hash of its settings, so a refactoring that
changes a key silently orphans every stored run. These literals were computed
from the code before the redesign of issue 16; a move must leave them as they
are. A deliberate change of the key schema (e.g. a recipe version) updates the
literals here, and nothing else.

Every key goes through :func:`key`, the one place that says how a key is made.
Configurations use ``precision="fp32"``: ``"auto"`` resolves per machine (bf16
where the CPU has it), which would make the pinned keys machine-dependent.
"""

from __future__ import annotations

import pytest

from lib.runs import RunConfig, robust_eval_key, run_key


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
    "binary_mnist-cpu-clean": "df55f4a2507d5600",
    "binary_mnist-smoke-adv": "0114e664416ef787",
    "cifar10-cpu-adv-bntrain": "bff1d3584dc6ace2",
    "cifar10-cpu-clean": "a1032895070300d3",
    "cifar10-smoke-adv": "30b0109b290bee60",
    "mnist-cpu-adv-inf": "d75e43797f200f4f",
    "mnist-cpu-clean-n100-eval": "c7f68e14dc047e30",
    "mnist-cpu-half-l2": "d54d19f68ae592e9",
    "mnist-smoke-clean": "4b07c898490ec670",
    "ri-cpu-adv-l2-seed1": "ebb3e9f40cc230c2",
    "ri-smoke-variant": "01c5ec050ca6f43f",
    "robust-eval-binary_mnist-cpu": "22811392f5801b64",
    "robust-eval-cifar10-smoke-adv": "16e88ebc0673bf22",
    "robust-eval-mnist-cpu-clean-l2": "b45462ee92643de9",
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_store_key_is_pinned(name):
    config, eps, norm = CASES[name]
    assert key(config, eps, norm) == PINNED[name]


def test_the_profile_variant_named_is_the_same_run():
    # Restricted ImageNet's variant, when it names the profile's own, keys the same run.
    from lib import profiles

    own = profiles.settings("restricted_imagenet", "smoke").data.get("variant")
    if own is None:
        pytest.skip("the smoke profile names no variant")
    assert key(_c("restricted_imagenet", "smoke", variant=own)) == key(
        _c("restricted_imagenet", "smoke")
    )
