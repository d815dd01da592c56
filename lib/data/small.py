"""MNIST, binary MNIST (5 vs 7) and CIFAR-10 as :class:`~lib.data.core.TensorData`:
read by torchvision from the data root (downloaded when online), or CIFAR-10
from ``cifar10.npz``, validated."""

from __future__ import annotations

import os
import warnings
import zipfile
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


#: Per split, MNIST's image and label files under ``<root>/MNIST/raw`` (torchvision's names).
MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def _load_mnist(root: Path, split: str, download: bool) -> TensorData:
    raw = root / "MNIST" / "raw"
    images, labels = (raw / name for name in MNIST_FILES[split])
    if not (images.is_file() and labels.is_file()):
        if not download:
            raise _missing("mnist", root)
        from torchvision.datasets import MNIST

        try:  # downloads and unpacks the idx files into raw/
            MNIST(str(root), train=split == "train", download=True)
        except Exception as err:  # offline: URLError, socket errors, ...
            raise _missing("mnist", root) from err
    x, y = _read_idx(images, 3), _read_idx(labels, 1)
    if x.shape[1:] != (28, 28):
        raise ValueError(f"MNIST file {images}: images of {x.shape[1:]} pixels, expected 28 x 28")
    if len(x) == 0:
        raise ValueError(f"MNIST file {images} holds no image, expected N >= 1 28 x 28 images")
    if len(y) != len(x):
        raise ValueError(
            f"MNIST file {labels} holds {len(y):,} labels for the {len(x):,} images of {images}"
        )
    if y.max() > 9:
        raise ValueError(
            f"MNIST file {labels} holds labels {int(y.min())}..{int(y.max())}, expected 0-9"
        )
    x = torch.from_numpy(x.copy()).unsqueeze(1).contiguous()  # uint8 [N, 1, 28, 28]
    y = torch.from_numpy(y.astype(np.int64))
    return TensorData(
        "mnist", split, x, y, tuple(str(i) for i in range(10)), source=str(root / "MNIST")
    )


def _read_idx(path: Path, ndim: int) -> np.ndarray:
    """An idx file of unsigned bytes with ``ndim`` dimensions (MNIST's format), checked
    against its header: a truncated or padded file is an error naming it."""
    try:
        data = path.read_bytes()
    except OSError as err:
        raise ValueError(f"MNIST file {path} is unreadable ({err})") from err
    header = 4 + 4 * ndim
    magic = 0x0800 + ndim  # 0x08: unsigned bytes
    expected = f"an idx file of unsigned bytes with {ndim} dimension(s), magic number {magic:#06x}"
    if len(data) < header:
        raise ValueError(
            f"MNIST file {path} is truncated: {len(data)} bytes, shorter than the "
            f"{header}-byte header of {expected}"
        )
    found = int.from_bytes(data[:4], "big")
    if found != magic:
        raise ValueError(f"MNIST file {path} has magic number {found:#06x}; expected {expected}")
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    size = header + int(np.prod(dims))
    if len(data) != size:
        what = "truncated" if len(data) < size else "longer than its header says"
        raise ValueError(
            f"MNIST file {path} is {what}: its header says {' x '.join(map(str, dims))} "
            f"({size:,} bytes), the file has {len(data):,} bytes (an interrupted download? "
            "delete it to download it again)"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)


def _load_cifar10(root: Path, split: str, download: bool) -> TensorData:
    from torchvision.datasets import CIFAR10

    train = split == "train"
    folder, npz = root / "cifar-10-batches-py", root / "cifar10.npz"
    folder_error = None
    if folder.is_dir() and any(folder.iterdir()):
        try:
            ds = CIFAR10(str(root), train=train, download=False)
            return _cifar_tensors(ds.data, ds.targets, split, str(folder))
        except Exception as err:  # an interrupted download, a corrupt batch: try the npz
            folder_error = err
    if npz.is_file():
        x, y = _read_npz(npz, split)
        return _cifar_tensors(x, y, split, str(npz))
    if folder_error is not None:
        raise ValueError(
            f"CIFAR-10 in {folder} is incomplete or corrupt ({type(folder_error).__name__}: "
            f"{folder_error}) and there is no {npz} to fall back on: delete the folder to "
            "download it again"
        ) from folder_error
    if download:
        try:
            ds = CIFAR10(str(root), train=train, download=True)
        except Exception as err:
            raise _missing("cifar10", root) from err
        return _cifar_tensors(ds.data, ds.targets, split, str(folder))
    raise _missing("cifar10", root)


def _read_npz(path: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """``x_<split>``, ``y_<split>`` of a CIFAR-10 npz, checked: uint8 NHWC images of
    shape (N, 32, 32, 3) and N integer labels in 0..9. Errors name the file."""
    names = (f"x_{split}", f"y_{split}")
    if not zipfile.is_zipfile(path):
        raise ValueError(f"CIFAR-10 file {path} is corrupt or unreadable: not a zip archive")
    try:
        with np.load(path, allow_pickle=False) as f:
            missing = [n for n in names if n not in f.files]
            if missing:
                raise ValueError(f"it has no array {missing} (it holds {sorted(f.files)})")
            x, y = (f[n] for n in names)
    except ValueError as err:  # also pickled objects, refused
        raise ValueError(f"CIFAR-10 file {path} is unusable: {err}") from err
    except Exception as err:  # a truncated or corrupt zip, an unreadable file
        raise ValueError(
            f"CIFAR-10 file {path} is corrupt or unreadable ({type(err).__name__}: {err})"
        ) from err
    expected = (
        f"expected x_{split} uint8 of shape (N, 32, 32, 3) (NHWC, pixels 0-255) and "
        f"y_{split} N integer labels in 0-9"
    )

    def bad(what: str) -> ValueError:
        return ValueError(f"CIFAR-10 file {path}: {what}; {expected}")

    if x.dtype != np.uint8:
        raise bad(f"x_{split} has dtype {x.dtype}")
    if x.ndim != 4 or x.shape[1:] != (32, 32, 3):
        layout = " (NCHW? transpose it to NHWC)" if x.shape[1:] == (3, 32, 32) else ""
        raise bad(f"x_{split} has shape {x.shape}{layout}")
    if len(x) == 0:
        raise bad(f"x_{split} holds no image (shape {x.shape})")
    if y.ndim != 1 or len(y) != len(x):
        raise bad(f"y_{split} has shape {y.shape} for {len(x)} images")
    if not np.issubdtype(y.dtype, np.integer):
        raise bad(f"y_{split} has dtype {y.dtype}")
    if len(y) and (y.min() < 0 or y.max() > 9):
        raise bad(f"y_{split} holds labels {int(y.min())}..{int(y.max())}")
    return x, y


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
