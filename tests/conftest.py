"""Shared fixtures: a private store, and small models trained once per session."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from lib import data, models, train

#: Images per wnid folder of the fake ImageNet tree (train, val).
FAKE_IMAGENET_IMAGES = {"train": 3, "val": 1}


@pytest.fixture(autouse=True, scope="session")
def _private_store(tmp_path_factory):
    """Runs and claim files made by the tests go to temporary folders, never the user's."""
    mp = pytest.MonkeyPatch()
    mp.setenv("ODDS_STORE", str(tmp_path_factory.mktemp("store")))
    mp.setenv("ODDS_RESULTS", str(tmp_path_factory.mktemp("results")))
    mp.delenv("ODDS_PROFILE", raising=False)
    yield
    mp.undo()


@pytest.fixture(scope="session")
def fake_imagenet(tmp_path_factory):
    """A data root holding imagenet/{train,val}/<wnid>/ for the 203 wnids of Table 1's ranges.

    Tiny JPEGs of varied sizes (3 per training folder, 1 per validation
    folder): every step real ImageNet goes through, in seconds.
    """
    from PIL import Image

    root = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(0)
    for split, n in FAKE_IMAGENET_IMAGES.items():
        for i, wnid in enumerate(data.restricted_imagenet_wnids("robustness")):
            folder = root / "imagenet" / split / wnid
            folder.mkdir(parents=True)
            for k in range(n):
                h, w = 24 + (i + k) % 5, 32 + (i + k) % 7
                pixels = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(folder / f"{wnid}_{k}.JPEG", quality=90)
    return root


@pytest.fixture(scope="session")
def mnist_small():
    """2,000 training and 500 test MNIST images (seeded subsets); the tests that need them
    skip, not error, on a machine without MNIST (a GPU machine may lack the data)."""
    try:
        tr = data.load("mnist", "train").subset(2000, seed=0, balanced=True)
        te = data.load("mnist", "test").subset(500, seed=1)
    except data.DataNotFoundError as err:
        pytest.skip(f"MNIST not found: {err}")
    return tr, te


def _cached(name: str, model: torch.nn.Module, build) -> torch.nn.Module:
    """``build(model)``, or its weights (and the RNG state after it) from
    ``$ODDS_TEST_FIXTURE_CACHE``/<name>.pt when that is set and the file exists.

    ``make mutation`` sets it: each mutant runs a fresh pytest session, and training
    the fixture models again for each would cost most of the run. Unset (``make
    test``), the models are trained as always.
    """
    cache = os.environ.get("ODDS_TEST_FIXTURE_CACHE")
    path = Path(cache) / f"{name}.pt" if cache else None
    if path is not None and path.is_file():
        saved = torch.load(path, weights_only=True)
        model.load_state_dict(saved["state_dict"])
        torch.set_rng_state(saved["rng"])
        return model
    build(model)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        torch.save({"state_dict": model.state_dict(), "rng": torch.get_rng_state()}, tmp)
        os.replace(tmp, path)
    return model


@pytest.fixture(scope="session")
def mnist_cnn(mnist_small):
    """A narrow mnist_challenge CNN trained for 5 epochs in fp32 (about 95% accurate)."""
    tr, _ = mnist_small
    torch.manual_seed(0)
    model = models.MnistCNN(channels=(8, 16), hidden=64)

    def build(model):
        train.train(
            model,
            tr,
            epochs=5,
            batch_size=64,
            lr=2e-3,
            optimizer="adam",
            precision="fp32",
            progress=False,
        )

    return _cached("mnist_cnn", model, build).eval()


@pytest.fixture(scope="session")
def binary_linear():
    """A linear model trained on binary MNIST (5 vs 7) with plain gradient descent."""
    tr = data.load("binary_mnist", "train").subset(2000, seed=0)
    torch.manual_seed(0)
    model = models.LinearModel(784)
    train.train(
        model,
        tr,
        epochs=30,
        batch_size=None,
        lr=0.5,
        momentum=0.0,
        precision="fp32",
        progress=False,
    )
    return model.eval(), tr
