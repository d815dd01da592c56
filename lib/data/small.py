"""MNIST, binary MNIST (5 vs 7) and CIFAR-10 as :class:`~lib.data.core.TensorData`:
read by torchvision from the data root (downloaded when online), or CIFAR-10
from ``cifar10.npz``, validated."""

from __future__ import annotations

import os
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from lib.data.core import (
    CIFAR10_CLASSES,
    FULL_SIZES,
    WARNED,
    DataNotFoundError,
    SubsetWarning,
    TensorData,
    data_root,
)


def load_small(
    name: str, split: str, *, root=None, device="cpu", download: bool | None = None
) -> TensorData:
    """``mnist``, ``binary_mnist`` or ``cifar10``, one split, on ``device``."""
    root = data_root(root)
    if download is None:
        download = not os.environ.get("ODDS_OFFLINE")
    if name in ("mnist", "binary_mnist"):
        data = _load_mnist(root, split, download)
        if name == "binary_mnist":
            keep = (data.y == 5) | (data.y == 7)
            data = replace(
                data,
                name="binary_mnist",
                x=data.x[keep],
                y=(data.y[keep] == 7).long(),
                classes=("5", "7"),
            )
    else:
        data = _load_cifar10(root, split, download)
    return data.to(device)


def _load_mnist(root: Path, split: str, download: bool) -> TensorData:
    from torchvision.datasets import MNIST

    train = split == "train"
    try:
        ds = MNIST(str(root), train=train, download=False)
    except RuntimeError:
        if not download:
            raise _missing("mnist", root) from None
        try:
            ds = MNIST(str(root), train=train, download=True)
        except Exception as err:  # offline: URLError, socket errors, ...
            raise _missing("mnist", root) from err
    x = ds.data.unsqueeze(1).contiguous()  # uint8 [N, 1, 28, 28]
    y = ds.targets.long()
    return TensorData(
        "mnist", split, x, y, tuple(str(i) for i in range(10)), source=str(root / "MNIST")
    )


def _load_cifar10(root: Path, split: str, download: bool) -> TensorData:
    from torchvision.datasets import CIFAR10

    train = split == "train"
    if (root / "cifar-10-batches-py").is_dir():
        ds = CIFAR10(str(root), train=train, download=False)
        return _cifar_tensors(ds.data, ds.targets, split, str(root / "cifar-10-batches-py"))
    npz = root / "cifar10.npz"
    if npz.is_file():
        with np.load(npz, allow_pickle=False) as f:
            x, y = f[f"x_{split}"], f[f"y_{split}"]
        return _cifar_tensors(x, y, split, str(npz))
    if download:
        try:
            ds = CIFAR10(str(root), train=train, download=True)
        except Exception as err:
            raise _missing("cifar10", root) from err
        return _cifar_tensors(ds.data, ds.targets, split, str(root / "cifar-10-batches-py"))
    raise _missing("cifar10", root)


def _cifar_tensors(x, y, split: str, source: str) -> TensorData:
    x = torch.as_tensor(np.asarray(x, dtype=np.uint8)).permute(0, 3, 1, 2).contiguous()
    y = torch.as_tensor(np.asarray(y, dtype=np.int64))
    full = FULL_SIZES["cifar10"][split]
    if len(y) < full and (source, split) not in WARNED:
        WARNED.add((source, split))  # once per file and split: chapters load data many times
        warnings.warn(
            f"CIFAR-10 {split} from {source} holds {len(y):,} of the official {full:,} "
            "images: results on it are reduced-scale and not the paper's numbers.",
            SubsetWarning,
            stacklevel=3,
        )
    return TensorData(
        "cifar10", split, x, y, CIFAR10_CLASSES, complete=len(y) >= full, source=source
    )


def _missing(name: str, root: Path) -> DataNotFoundError:
    expected = {
        "mnist": (
            f"{root}/MNIST/raw/ with train-images-idx3-ubyte, train-labels-idx1-ubyte, "
            "t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte (as torchvision downloads them)"
        ),
        "cifar10": (
            f"either {root}/cifar-10-batches-py/ (torchvision's download of the full set) "
            f"or {root}/cifar10.npz with uint8 NHWC arrays x_train, y_train, x_test, y_test"
        ),
    }[name]
    return DataNotFoundError(
        f"{name} was not found and could not be downloaded (offline?). Expected {expected}. "
        "Point the ODDS_DATA environment variable at a folder holding it."
    )


def feature_label_correlation(ds: TensorData) -> torch.Tensor:
    """E[y x_i] per input feature of a binary data set, y the sign label 2 * class - 1.

    Pixels in [0, 1]. Appendix E: for a linear model, feature i helps
    against an l_inf adversary of radius eps only if |E[y x_i]| >= eps.
    """
    if ds.num_classes != 2:
        raise ValueError(
            f"feature_label_correlation needs a binary data set, {ds.name} has "
            f"{ds.num_classes} classes"
        )
    s = (2 * ds.y - 1).float()
    return (ds.inputs().flatten(1) * s[:, None]).mean(0)
