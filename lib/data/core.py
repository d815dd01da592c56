"""The data sets' shared core: names, the data root, the :class:`Batches`
interface, :class:`TensorData` (small data sets as uint8 tensors on the
device), seeded class-balanced subsets, and the subset warning.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
import torch

from lib.runtime import PROJECT_ROOT

DATASETS = ("mnist", "binary_mnist", "cifar10", "restricted_imagenet")
SPLITS = ("train", "test")

#: Official split sizes, to tell a full data set from a subset.
FULL_SIZES = {
    "mnist": {"train": 60_000, "test": 10_000},
    "cifar10": {"train": 50_000, "test": 10_000},
}

CIFAR10_CLASSES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)


class SubsetWarning(UserWarning):
    """A data set holds fewer images than the official split."""


#: (source, split) pairs already warned about as subsets: each is warned about once.
WARNED: set[tuple[str, str]] = set()


class DataNotFoundError(FileNotFoundError):
    """A data set is neither under the data root nor downloadable."""


def data_root(root: str | os.PathLike | None = None) -> Path:
    """The data root: ``root`` if given, else ``$ODDS_DATA``, else ``<repo>/data``."""
    if root is not None:
        return Path(root)
    env = os.environ.get("ODDS_DATA")
    return Path(env) if env else PROJECT_ROOT / "data"


def check_dataset(name: str) -> str:
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; allowed: {', '.join(DATASETS)}")
    return name


def check_split(split: str) -> str:
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; allowed: {', '.join(SPLITS)}")
    return split


@runtime_checkable
class Batches(Protocol):
    """What training and evaluation need of a data set, held in memory or streamed.

    ``batches`` yields ``(x, y)`` with x float in [0, 1] pixel space and y
    int64 class indices, both on ``device``. ``epoch_size`` is the number of
    images one training epoch draws (``len`` for data in memory; 76,800 for
    Restricted ImageNet at the paper's scale).
    """

    name: str
    split: str
    classes: tuple[str, ...]
    complete: bool

    def __len__(self) -> int: ...

    @property
    def device(self) -> torch.device: ...

    @property
    def num_classes(self) -> int: ...

    @property
    def epoch_size(self) -> int: ...

    def batches(
        self,
        batch_size: int,
        *,
        shuffle: bool = False,
        generator: torch.Generator | None = None,
        augment: bool = False,
        drop_last: bool = False,
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]: ...

    def subset(self, n: int, *, seed: int = 0, balanced: bool = False) -> Batches: ...


def subset_index(
    y: torch.Tensor, n: int, classes: tuple[str, ...], *, seed: int, balanced: bool, what: str
) -> torch.Tensor:
    """Sorted indices (on the CPU) of a seeded random subset of ``n`` of the labels ``y``.

    With ``balanced=True`` every class gets ``n // len(classes)`` examples
    (the first ``n % len(classes)`` classes one more). ``what`` names the
    data set in errors.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive int (not a bool), got {n!r}")
    if n > len(y):
        raise ValueError(f"n={n} is larger than the {what} ({len(y)} examples)")
    g = torch.Generator().manual_seed(seed)
    y = y.cpu()
    k = len(classes)
    if not balanced:
        index = torch.randperm(len(y), generator=g)[:n]
    else:
        parts = []
        for c in range(k):
            want = n // k + (c < n % k)
            members = torch.nonzero(y == c).flatten()
            if want > len(members):
                raise ValueError(
                    f"balanced subset of n={n} needs {want} examples of class "
                    f"{classes[c]!r}, the {what} has {len(members)}"
                )
            parts.append(members[torch.randperm(len(members), generator=g)[:want]])
        index = torch.cat(parts)
        index = index[torch.randperm(n, generator=g)]
    return index.sort().values


@dataclass(frozen=True)
class TensorData:
    """A labelled data set held in memory as tensors: what :func:`lib.data.load` gives for
    MNIST, binary MNIST and CIFAR-10, and a :class:`Batches`.

    Args:
        name (str): the data set's name, e.g. ``"mnist"``.
        split (str): ``"train"`` or ``"test"``.
        x (Tensor): uint8 images (pixel value / 255 is the [0, 1] pixel space
            attacks work in), or float inputs for synthetic data.
        y (Tensor): int64 class indices.
        classes (tuple[str, ...]): the class names, in index order.
        complete (bool): False when the tensors hold fewer images than the
            official split (a subset), so results can say so. (Default: True)
        source (str): where the data were read from. (Default: "")

    Shape:
        - x: :math:`(N, C, H, W)`; y: :math:`(N)`.

    Example:
        >>> from lib import data
        >>> test_set = data.load("mnist", "test").head(500)
        >>> x, y = test_set.inputs(), test_set.y  # float in [0, 1], int64
    """

    name: str
    split: str
    x: torch.Tensor
    y: torch.Tensor
    classes: tuple[str, ...]
    complete: bool = True
    source: str = ""

    def __len__(self) -> int:
        return len(self.y)

    @property
    def device(self) -> torch.device:
        return self.x.device

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def to(self, device: torch.device | str) -> TensorData:
        return replace(self, x=self.x.to(device), y=self.y.to(device))

    def fingerprint(self) -> str:
        """16 hex digits that change when the data do: sizes and a hash of a fixed sample.

        Hashing all of CIFAR-10 would take seconds per key; 1,024 evenly spaced
        examples, the shapes and the label counts tell apart the data sets a
        run could meet (a 4,000-image subset, another order, other labels).
        """
        n = len(self)
        index = torch.linspace(0, max(n - 1, 0), steps=min(n, 1024)).long()
        h = hashlib.sha256()
        h.update(f"{self.name}/{self.split}/{tuple(self.x.shape)}/{self.x.dtype}".encode())
        h.update(torch.bincount(self.y.cpu(), minlength=self.num_classes).numpy().tobytes())
        h.update(self.x[index].cpu().contiguous().numpy().tobytes())
        h.update(self.y[index].cpu().numpy().tobytes())
        return h.hexdigest()[:16]

    def content_hash(self) -> str:
        """SHA-256 (64 hex digits) of every byte of the images and labels, with
        their shapes and dtypes: any edit anywhere changes it.

        Not in store keys (:meth:`fingerprint` is, so stored runs keep their
        keys): runs record it, and a stored run made from other bytes is
        refused (:func:`lib.data.content_hashes` caches it per file state).
        """
        h = hashlib.sha256()
        for t in (self.x, self.y):
            h.update(f"{tuple(t.shape)}/{t.dtype};".encode())
            h.update(np.ascontiguousarray(t.detach().cpu().numpy()).reshape(-1).view(np.uint8))
        return h.hexdigest()

    def head(self, n: int | None) -> TensorData:
        """The first ``n`` examples (all when ``n`` is None or at least ``len``)."""
        if n is None or n >= len(self):
            return self
        return replace(self, x=self.x[:n], y=self.y[:n])

    def inputs(self, index: torch.Tensor | slice | None = None) -> torch.Tensor:
        """Inputs as float32; uint8 images are scaled to [0, 1]."""
        x = self.x if index is None else self.x[index]
        return x.float().div_(255) if x.dtype == torch.uint8 else x.float()

    @property
    def epoch_size(self) -> int:
        """Images per training epoch: one pass over the data."""
        return len(self)

    def subset(self, n: int, *, seed: int = 0, balanced: bool = False) -> TensorData:
        """A seeded random subset of ``n`` examples.

        With ``balanced=True`` every class gets ``n // num_classes`` examples
        (the first ``n % num_classes`` classes one more), as the
        sample-size experiments of Fig 1/6 need for small ``n``.
        """
        what = f"{self.name} {self.split} set"
        index = subset_index(self.y, n, self.classes, seed=seed, balanced=balanced, what=what)
        index = index.to(self.device)
        return replace(self, x=self.x[index], y=self.y[index])

    def batches(
        self,
        batch_size: int,
        *,
        shuffle: bool = False,
        generator: torch.Generator | None = None,
        augment: bool = False,
        drop_last: bool = False,
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Yield ``(x, y)`` batches, x float in [0, 1], on the data's device.

        ``augment=True`` applies the CIFAR augmentation (random crop after
        4-pixel zero padding, random horizontal flip) per batch on the device.
        ``generator`` (a CPU generator) makes order and augmentation seeded.
        """
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int (not a bool), got {batch_size!r}")
        n = len(self)
        if shuffle:
            order = torch.randperm(n, generator=generator).to(self.device)
        else:
            order = torch.arange(n, device=self.device)
        stop = n - n % batch_size if drop_last else n
        for start in range(0, stop, batch_size):
            index = order[start : start + batch_size]
            x = self.inputs(index)
            if augment:
                x = crop_flip(x, generator=generator)
            yield x, self.y[index]


def crop_flip(x: torch.Tensor, *, pad: int = 4, generator: torch.Generator | None = None):
    """Random crop after ``pad``-pixel zero padding, then random horizontal flip.

    Batched on the tensors' device: one gather, no per-image Python loop.
    """
    n, _, h, w = x.shape
    padded = torch.nn.functional.pad(x, (pad, pad, pad, pad))
    dy = torch.randint(0, 2 * pad + 1, (n,), generator=generator).to(x.device)
    dx = torch.randint(0, 2 * pad + 1, (n,), generator=generator).to(x.device)
    flip = (torch.rand(n, generator=generator) < 0.5).to(x.device)
    rows = dy[:, None] + torch.arange(h, device=x.device)  # [n, h]
    cols = dx[:, None] + torch.arange(w, device=x.device)  # [n, w]
    cols = torch.where(flip[:, None], cols.flip(1), cols)
    batch = torch.arange(n, device=x.device)[:, None, None]
    # Advanced indexing on dims 0, 2, 3 puts the channel dim last: [n, h, w, c].
    out = padded.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]]
    return out.permute(0, 3, 1, 2).contiguous()
