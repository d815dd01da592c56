"""Data: the synthetic distribution D, MNIST, binary MNIST, CIFAR-10, Restricted ImageNet.

Small data sets are held as uint8 tensors ``[N, C, H, W]`` on the device they
are used on (:class:`TensorData`), and batches are drawn by indexing with a
permutation: there are no DataLoader workers for data sets this small.
Restricted ImageNet is streamed from an ImageNet folder by DataLoader workers
(:class:`lib.imagenet.FolderData`). Both offer the same small interface,
:class:`Batches`, which is all that ``lib.train`` uses. A batch is converted
to float in [0, 1] pixel space when it is drawn; normalization lives inside
the models.

One data root: the environment variable ``ODDS_DATA``, else ``data/`` at the
repository root. MNIST and CIFAR-10 are downloaded there by torchvision when
the machine is online. ImageNet is never downloaded: see
:func:`lib.imagenet.imagenet_root` for where it is looked for.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, replace
from functools import cache
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

#: Table 1 of the paper: Restricted ImageNet super-classes and the ImageNet
#: class indices (inclusive ranges) each one gathers. Label = position here.
RESTRICTED_IMAGENET_RANGES = (
    ("dog", 151, 268),
    ("cat", 281, 285),
    ("frog", 30, 32),
    ("turtle", 33, 37),
    ("bird", 80, 100),
    ("primate", 365, 382),
    ("fish", 389, 397),
    ("crab", 118, 121),
    ("insect", 300, 319),
)

#: The paper's own training code (robust-features-code, ilsvrc_metadata) keeps
#: only these 11 of the 118 dog classes; MadryLab/robustness keeps all 118.
PAPER_DOG_CLASSES = (156, 184, 200, 202, 204, 213, 216, 248, 259, 264, 268)

RESTRICTED_IMAGENET_VARIANTS = ("robustness", "paper")

#: Training images of the paper variant in the authors' published lists
#: (MadryLab/robust-features-code, ilsvrc_metadata). The robustness variant's
#: count is not published; it is counted from the folder when ImageNet is there.
PAPER_VARIANT_TRAIN_IMAGES = 123_629

#: ILSVRC-2012 has exactly 50 validation images per class.
IMAGENET_VAL_PER_CLASS = 50

#: The shipped list of the 1000 ImageNet wnids in class-index order.
IMAGENET_WNIDS_FILE = Path(__file__).with_name("imagenet_wnids.txt")


class SubsetWarning(UserWarning):
    """A data set holds fewer images than the official split."""


_WARNED: set[tuple[str, str]] = set()


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
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
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
    """A labelled data set held in memory as tensors.

    ``x`` is uint8 ``[N, C, H, W]`` for images (pixel value / 255 is the [0, 1]
    pixel space attacks work in) or float for synthetic data; ``y`` holds
    class indices (int64). ``complete`` is False when the tensors hold fewer
    images than the official split (a subset), so results can say so.
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
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
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


# --------------------------------------------------------------------------
# Loading


def load(
    name: str,
    split: str = "train",
    *,
    root: str | os.PathLike | None = None,
    device: torch.device | str = "cpu",
    download: bool | None = None,
    **options,
) -> Batches:
    """Load a data set split on ``device``: a :class:`TensorData`, or a streamed one.

    ``name`` is one of :data:`DATASETS`. ``binary_mnist`` is MNIST "5" vs "7":
    class 0 is "5" (the paper's label -1) and class 1 is "7" (label +1).
    ``download=None`` downloads when online unless ``$ODDS_OFFLINE`` is set.

    ``restricted_imagenet`` is read from an ImageNet folder (never
    downloaded) and streamed by DataLoader workers; ``options`` go to
    :func:`lib.imagenet.load_restricted_imagenet` (``variant``, ``crop``,
    ``epoch_size``, ``workers``). Other data sets take no options.
    """
    check_dataset(name)
    check_split(split)
    if name == "restricted_imagenet":
        from lib import imagenet

        return imagenet.load_restricted_imagenet(split, root=root, device=device, **options)
    if options:
        raise ValueError(
            f"{name} takes no loader options, got {sorted(options)} "
            "(only restricted_imagenet does: variant, crop, epoch_size, workers)"
        )
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
    if len(y) < full and (source, split) not in _WARNED:
        _WARNED.add((source, split))  # once per file and split: chapters load data many times
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


# --------------------------------------------------------------------------
# Restricted ImageNet class lists (Table 1)


def check_variant(variant: str) -> str:
    if variant not in RESTRICTED_IMAGENET_VARIANTS:
        raise ValueError(
            f"unknown Restricted ImageNet variant {variant!r}; allowed: "
            f"{', '.join(RESTRICTED_IMAGENET_VARIANTS)}"
        )
    return variant


@cache
def imagenet_classes() -> tuple[tuple[str, str], ...]:
    """The 1000 ImageNet classes in class-index order, as ``(wnid, name)`` pairs.

    Read from ``lib/imagenet_wnids.txt`` (public ILSVRC-2012 metadata). Class
    index i is the i-th wnid in sorted order, the order torchvision's
    ``ImageFolder`` and ``ImageNet`` data sets give an ImageNet train folder.
    """
    rows = []
    for line in IMAGENET_WNIDS_FILE.read_text().splitlines():
        if line and not line.startswith("#"):
            wnid, _, name = line.partition(" ")
            rows.append((wnid, name))
    return tuple(rows)


def imagenet_wnids() -> tuple[str, ...]:
    """The 1000 ImageNet wnids in class-index order (see :func:`imagenet_classes`)."""
    return tuple(wnid for wnid, _ in imagenet_classes())


def restricted_imagenet_wnids(variant: str = "robustness") -> dict[str, int]:
    """Map wnid -> Restricted ImageNet label for ``variant``, in ImageNet class order."""
    wnids = imagenet_wnids()
    return {wnids[c]: label for c, label in restricted_imagenet_classes(variant).items()}


def restricted_imagenet_classes(variant: str = "robustness") -> dict[int, int]:
    """Map ImageNet class index -> Restricted ImageNet label for ``variant``.

    ``"robustness"``: every class of the Table 1 ranges (203 classes, as in
    MadryLab/robustness). ``"paper"``: the paper's training code, which keeps
    only :data:`PAPER_DOG_CLASSES` in the dog range (96 classes). ImageNet
    class indices follow the sorted wnid order of torchvision's ImageFolder.
    """
    check_variant(variant)
    mapping = {}
    for label, (_, lo, hi) in enumerate(RESTRICTED_IMAGENET_RANGES):
        for c in range(lo, hi + 1):
            if variant == "paper" and label == 0 and c not in PAPER_DOG_CLASSES:
                continue
            mapping[c] = label
    return mapping


# --------------------------------------------------------------------------
# The synthetic distribution D of Section 2.1 (eq. 3)


def check_distribution(p: float, d: int, eta: float) -> None:
    if not 0.5 <= p <= 1:
        raise ValueError(f"p must lie in [0.5, 1], got {p!r}")
    if not isinstance(d, int) or d < 1:
        raise ValueError(f"d (number of weak features) must be an int >= 1, got {d!r}")
    if not eta >= 0:
        raise ValueError(f"eta must be >= 0, got {eta!r}")


def sample_d(
    n: int,
    *,
    p: float,
    d: int,
    eta: float,
    generator: torch.Generator | None = None,
    device: torch.device | str = "cpu",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw ``n`` samples of the distribution D (eq. 3 of the paper).

    y is uniform in {-1, +1}; x1 = y with probability p and -y otherwise (the
    robust feature); x2..x_{d+1} are i.i.d. N(eta * y, 1) (the weak
    features). Returns ``x`` float32 ``[n, d + 1]`` and ``y`` float32 in
    {-1, +1}. Sampling happens on the CPU with ``generator`` (so a seed gives
    the same draw on every device), then moves to ``device``.
    """
    check_distribution(p, d, eta)
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    y = torch.randint(0, 2, (n,), generator=generator).float() * 2 - 1
    agree = torch.rand(n, generator=generator) < p
    x1 = torch.where(agree, y, -y)
    weak = torch.randn(n, d, generator=generator) + eta * y[:, None]
    x = torch.cat([x1[:, None], weak], dim=1)
    return x.to(device), y.to(device)
