"""Data: the synthetic distribution D, MNIST, binary MNIST, CIFAR-10, Restricted ImageNet.

Small data sets are held as uint8 tensors ``[N, C, H, W]`` on the device they
are used on (:class:`TensorData`), and batches are drawn by indexing with a
permutation: there are no DataLoader workers for data sets this small.
Restricted ImageNet is streamed from an ImageNet folder by DataLoader workers
(:class:`lib.data.imagenet.FolderData`). Both offer the same small interface,
:class:`Batches`, which is all that ``lib.train`` uses. A batch is converted
to float in [0, 1] pixel space when it is drawn; normalization lives inside
the models.

One data root: the environment variable ``ODDS_DATA``, else ``data/`` at the
repository root. MNIST and CIFAR-10 are downloaded there by torchvision when
the machine is online. ImageNet is never downloaded: see
:func:`lib.data.imagenet.imagenet_root` for where it is looked for.

Modules, imported one way (``core`` <- ``imagenet_classes``, ``small``,
``synthetic`` <- ``imagenet`` <- this package's :func:`load`): ``core`` (names,
data root, :class:`Batches`, :class:`TensorData`, subsets), ``small`` (MNIST,
binary MNIST, CIFAR-10), ``imagenet_classes`` (Table 1's class tables),
``imagenet`` (Restricted ImageNet streamed from an ImageNet folder),
``synthetic`` (the distribution D).
"""

from __future__ import annotations

import contextlib
import functools
import os
from pathlib import Path

import torch

from lib.data import imagenet
from lib.data.core import (
    CIFAR10_CLASSES,
    DATASETS,
    FULL_SIZES,
    SPLITS,
    WARNED,
    Batches,
    DataNotFoundError,
    SubsetWarning,
    TensorData,
    check_dataset,
    check_split,
    crop_flip,
    data_root,
    subset_index,
)
from lib.data.imagenet_classes import (
    IMAGENET_VAL_PER_CLASS,
    IMAGENET_WNIDS_FILE,
    PAPER_DOG_CLASSES,
    PAPER_VARIANT_TRAIN_IMAGES,
    RESTRICTED_IMAGENET_RANGES,
    RESTRICTED_IMAGENET_VARIANTS,
    check_variant,
    imagenet_classes,
    imagenet_wnids,
    restricted_imagenet_classes,
    restricted_imagenet_wnids,
)
from lib.data.small import feature_label_correlation, load_small
from lib.data.synthetic import check_distribution, sample_d

# --------------------------------------------------------------------------
# Loading


__all__ = [
    "Batches",
    "CIFAR10_CLASSES",
    "DATASETS",
    "DataNotFoundError",
    "FULL_SIZES",
    "IMAGENET_VAL_PER_CLASS",
    "IMAGENET_WNIDS_FILE",
    "PAPER_DOG_CLASSES",
    "PAPER_VARIANT_TRAIN_IMAGES",
    "RESTRICTED_IMAGENET_RANGES",
    "RESTRICTED_IMAGENET_VARIANTS",
    "SPLITS",
    "SubsetWarning",
    "TensorData",
    "WARNED",
    "check_dataset",
    "check_distribution",
    "check_split",
    "check_variant",
    "crop_flip",
    "data_root",
    "feature_label_correlation",
    "imagenet",
    "imagenet_classes",
    "imagenet_wnids",
    "content_hashes",
    "load",
    "load_split",
    "load_small",
    "restricted_imagenet_classes",
    "restricted_imagenet_wnids",
    "sample_d",
    "subset_index",
]


def load(
    name: str,
    split: str = "train",
    *,
    root: str | os.PathLike | None = None,
    device: torch.device | str = "cpu",
    download: bool | None = None,
    **options,
) -> Batches:
    """Load one split of a data set on ``device``, as batches of [0, 1] pixels.

    MNIST, binary MNIST and CIFAR-10 are held in memory as uint8 tensors (a
    :class:`TensorData`); Restricted ImageNet is read from an ImageNet folder
    (never downloaded) and streamed by DataLoader workers. Either way the
    result is a :class:`Batches`, which is what :func:`lib.train.train` and
    :func:`lib.train.evaluate` take; pixels reach them as floats in [0, 1]
    (normalization belongs inside the model).

    Args:
        name (str): ``"mnist"``, ``"binary_mnist"`` (MNIST "5" vs "7": class 0
            is "5", the paper's label -1; class 1 is "7", label +1),
            ``"cifar10"`` or ``"restricted_imagenet"``. Required.
        split (str): ``"train"`` or ``"test"``. (Default: "train")
        root (str | PathLike | None): the data root. (Default: None:
            ``$ODDS_DATA``, else ``data/`` at the repository root)
        device (torch.device | str): where the tensors are held and batches
            are delivered. (Default: "cpu")
        download (bool | None): let torchvision download MNIST or CIFAR-10
            into the root. (Default: None: when online, unless
            ``$ODDS_OFFLINE`` is set)
        **options: Restricted ImageNet only: ``variant`` (``"robustness"``,
            203 ImageNet classes, or ``"paper"``, 96), ``crop`` (image side in
            pixels, 224 at the paper's scale), ``epoch_size`` (images per
            training epoch), ``workers`` (decoding processes).

    Shape:
        - MNIST: x :math:`(N, 1, 28, 28)`; CIFAR-10: :math:`(N, 3, 32, 32)`;
          Restricted ImageNet: :math:`(N, 3, crop, crop)`; y :math:`(N)`.

    Returns:
        Batches: the split; a :class:`TensorData` for the small data sets.

    Example:
        >>> from lib import data
        >>> test_set = data.load("mnist", "test")  # 10,000 images
        >>> small = data.load("mnist", "train").subset(500, seed=0, balanced=True)
        >>> x, y = small.inputs(), small.y  # float [500, 1, 28, 28] in [0, 1]
    """
    check_dataset(name)
    check_split(split)
    if name == "restricted_imagenet":
        return imagenet.load_restricted_imagenet(split, root=root, device=device, **options)
    if options:
        raise ValueError(
            f"{name} takes no loader options, got {sorted(options)} "
            "(only restricted_imagenet does: variant, crop, epoch_size, workers)"
        )
    return load_small(name, split, root=root, device=device, download=download)


@functools.lru_cache(maxsize=32)
def _fingerprints(dataset: str, root: str, options: tuple) -> dict | None:
    if dataset == "restricted_imagenet":
        # Image folders are not hashed (a million files); the variant and the
        # class tables are in the key, and the loader checks every class folder.
        return None
    return {
        split: load(dataset, split, root=root, **dict(options)).fingerprint() for split in SPLITS
    }


def fingerprints(dataset: str, **options) -> dict | None:
    """The fingerprint of each split of ``dataset`` under the data root, for store keys.

    None for Restricted ImageNet (image folders). Cached per process.
    """
    return _fingerprints(check_dataset(dataset), str(data_root()), tuple(sorted(options.items())))


#: Per data set, root, options and the state (path, size, mtime) of its files:
#: :func:`content_hashes`, so a file is hashed again only when it changed.
_CONTENT: dict[tuple, dict] = {}


def _source_files(dataset: str, root: Path) -> tuple:
    """(path, size, mtime) of every file a small data set may be read from."""
    places = {
        "mnist": [root / "MNIST"],
        "binary_mnist": [root / "MNIST"],
        "cifar10": [root / "cifar-10-batches-py", root / "cifar10.npz"],
    }[dataset]
    found = []
    for place in places:
        files = sorted(f for f in place.rglob("*") if f.is_file()) if place.is_dir() else [place]
        for f in files:
            with contextlib.suppress(OSError):
                st = f.stat()
                found.append((str(f), st.st_size, st.st_mtime_ns))
    return tuple(found)


def content_hashes(dataset: str, **options) -> dict | None:
    """Per split, the SHA-256 of every byte of ``dataset``'s arrays under the data root.

    :meth:`TensorData.content_hash` of each whole split, cached by the size
    and modification time of the files it is read from, so it is computed
    once per file state (about a second for CIFAR-10). None for Restricted
    ImageNet (image folders). Stored runs record it and are refused when it
    changed (:func:`lib.experiments.runs.train_run`); keys keep the sampled
    :func:`fingerprints`, so stored runs keep their keys.
    """
    check_dataset(dataset)
    if dataset == "restricted_imagenet":
        return None
    root = data_root()
    key = (dataset, str(root), tuple(sorted(options.items())), _source_files(dataset, root))
    if key not in _CONTENT:
        _CONTENT[key] = {
            split: load(dataset, split, root=root, **options).content_hash() for split in SPLITS
        }
    return _CONTENT[key]


def load_split(dataset: str, split: str, n: int | None, *, seed: int, device, **options) -> Batches:
    """A data split cut to ``n`` examples: the split as :func:`load` gives it, then a seeded subset.

    The training split's subset is class-balanced (``n // classes`` per
    class), the test split's a seeded random one, as the runs of the book use.

    Args:
        dataset (str): a name :func:`load` takes. Required.
        split (str): ``"train"`` or ``"test"``. Required.
        n (int | None): examples to keep; None keeps them all; more than the
            split holds is an error. Required.
        seed (int): seeds the subset. Required.
        device (torch.device | str): as :func:`load`. Required.
        **options: as :func:`load`.

    Returns:
        Batches: the (cut) split.

    Example:
        >>> from lib import data
        >>> train_set = data.load_split("mnist", "train", 1000, seed=0, device="cpu")
    """
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
        raise ValueError(f"n must be a positive int (not a bool) or None, got {n!r}")
    ds = load(dataset, split, device=device, **options)
    if n is not None and n < len(ds):
        ds = ds.subset(n, seed=seed, balanced=split == "train")
    elif n is not None and n > len(ds):
        raise ValueError(f"n={n} is larger than the {dataset} {split} set ({len(ds)} examples)")
    return ds
