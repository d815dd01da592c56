"""Restricted ImageNet, streamed from an ImageNet folder the user provides.

ImageNet is never downloaded (licence, size). The book looks for it in one
place: the folder named by ``$ODDS_IMAGENET`` when that is set, else
``<data root>/imagenet`` (the data root is ``$ODDS_DATA``, else ``data/``).
That folder holds the usual layout: ``train/<wnid>/*.JPEG`` and
``val/<wnid>/*.JPEG`` (the validation images sorted into wnid folders, as
the common ``valprep.sh`` script does). Only the wnid folders of Table 1's
ranges are read.

Labels: the ImageNet class index of a wnid is its position in the sorted wnid
order (what torchvision's ``ImageFolder`` gives a full ImageNet train folder),
taken from the shipped list ``lib/imagenet_wnids.txt``, so a folder holding
only some classes still maps them right. Restricted ImageNet's label is the
position of the class's range in :data:`lib.data.imagenet_classes.RESTRICTED_IMAGENET_RANGES`.

The input pipeline: torchvision decodes JPEGs in DataLoader worker processes
(as many as the machine has cores, less one, unless told otherwise) into
uint8 tensors: a random-resized crop and a horizontal flip for training, a
resize to 256/224 of the crop and a center crop for evaluation. Batches go to
the device from pinned memory with non-blocking copies and are scaled to
[0, 1] there; normalization is the model's first layer. A training "epoch"
draws ``epoch_size`` images (76,800 in the paper) with a random sampler.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch

# The modules, not ``from lib.data import ...``: lib.data imports this module, so
# reading names from lib.data's namespace here would be a package-level cycle.
import lib.data.core as core
import lib.data.imagenet_classes as classes

#: The paper's "epoch": 76,800 images instead of ImageNet's 1,280,000 (Appendix A.2).
PAPER_EPOCH_IMAGES = 76_800

#: File endings torchvision's ImageFolder accepts as images (compared in lower case).
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")

#: lib.data's split names -> ImageNet's folder names.
SPLIT_DIRS = {"train": "train", "test": "val"}

SUPERCLASSES = tuple(name for name, _, _ in classes.RESTRICTED_IMAGENET_RANGES)


def imagenet_root(root: str | os.PathLike | None = None) -> Path:
    """The ImageNet folder: ``<root>/imagenet`` when a data root is given, else
    ``$ODDS_IMAGENET`` when set, else ``<data root>/imagenet``."""
    if root is None and os.environ.get("ODDS_IMAGENET"):
        return Path(os.environ["ODDS_IMAGENET"])
    return core.data_root(root) / "imagenet"


def has_imagenet(root: str | os.PathLike | None = None) -> bool:
    """True when the ImageNet folder has a ``train/`` holding a wnid folder of Table 1."""
    train = imagenet_root(root) / SPLIT_DIRS["train"]
    if not train.is_dir():
        return False
    return any((train / w).is_dir() for w in classes.restricted_imagenet_wnids("robustness"))


def missing_note(what: str, profile: str) -> str:
    """A MyST admonition: ``what`` needs ImageNet, which is not here, and how to make it."""
    return (
        ":::{admonition} Restricted ImageNet: not run here\n:class: note\n"
        f"{what} need ImageNet, and `{imagenet_root()}` holds none (the book never downloads "
        "it). To produce them, point `ODDS_IMAGENET` at an ImageNet folder (`train/<wnid>/`, "
        "`val/<wnid>/`) or put it at `<ODDS_DATA>/imagenet`; train the runs on a GPU with "
        "`make sweep GRID=ri PROFILE=paper` (ResNet-50, the paper's eps, 150 epochs of "
        "76,800 images: GPU hours per run); then build the book at the same profile "
        f"(`make book PROFILE=paper`; this page was built at profile `{profile}`).\n:::\n"
    )


def default_workers() -> int:
    """DataLoader workers: ``$ODDS_WORKERS`` when set, else the usable cores less one."""
    env = os.environ.get("ODDS_WORKERS")
    if env:
        return check_workers(int(env))
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(cores - 1, 0)


def check_workers(workers: int) -> int:
    if not isinstance(workers, int) or workers < 0:
        raise ValueError(f"workers must be an int >= 0, got {workers!r}")
    return workers


def _not_found(folder: Path) -> core.DataNotFoundError:
    return core.DataNotFoundError(
        f"Restricted ImageNet needs an ImageNet folder, and {folder} is not one. Expected "
        f"{folder}/train/<wnid>/*.JPEG and {folder}/val/<wnid>/*.JPEG (validation images "
        "sorted into wnid folders). ImageNet is never downloaded by this book: point "
        "ODDS_IMAGENET at your ImageNet folder, or put (or link) it at <ODDS_DATA>/imagenet."
    )


def scan(
    folder: Path, wnids: dict[str, int], *, what: str = "Restricted ImageNet"
) -> list[tuple[str, int]]:
    """``(path, label)`` of every image in ``folder/<wnid>/`` for the given wnids.

    Wnids are read in ImageNet class order, files in sorted order, so the
    list (and so a seeded subset or sampler) is the same on every machine.
    A missing or empty wnid folder is an error that names it.
    """
    if not folder.is_dir():
        raise core.DataNotFoundError(
            f"{folder} is missing: {what} reads {folder}/<wnid>/*.JPEG. For val/, sort the "
            "ILSVRC-2012 validation images into wnid folders (e.g. with the usual valprep.sh)."
        )
    missing, empty, samples = [], [], []
    for wnid, label in wnids.items():
        d = folder / wnid
        if not d.is_dir():
            missing.append(wnid)
            continue
        files = sorted(
            e.path
            for e in os.scandir(d)
            if e.is_file() and e.name.lower().endswith(IMAGE_EXTENSIONS)
        )
        if not files:
            empty.append(wnid)
        samples.extend((f, label) for f in files)
    for problem, found in (("lacks", missing), ("has empty", empty)):
        if found:
            shown = ", ".join(found[:8]) + (", ..." if len(found) > 8 else "")
            raise core.DataNotFoundError(
                f"{folder} {problem} {len(found)} of the {len(wnids)} wnid folders of {what}: "
                f"{shown}. Every class of the ranges of Table 1 is needed; is this a complete "
                "ImageNet (ILSVRC-2012) folder?"
            )
    return samples


def check_crop(crop: int) -> int:
    if not isinstance(crop, int) or crop < 8:
        raise ValueError(f"crop must be an int >= 8 (pixels), got {crop!r}")
    return crop


def train_transform(crop: int):
    """Random-resized crop to ``crop`` pixels and a random horizontal flip, as uint8."""
    from torchvision import transforms as T

    return T.Compose([T.RandomResizedCrop(crop), T.RandomHorizontalFlip(), T.PILToTensor()])


def eval_transform(crop: int):
    """Resize the short side to 256/224 of ``crop``, center-crop ``crop``, as uint8."""
    from torchvision import transforms as T

    return T.Compose([T.Resize(round(crop * 256 / 224)), T.CenterCrop(crop), T.PILToTensor()])


class _Images(torch.utils.data.Dataset):
    """Decodes ``samples[i]`` with PIL (RGB) and applies ``transform``; runs in the workers."""

    def __init__(self, samples, transform):
        self.samples, self.transform = samples, transform

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i):
        from PIL import Image

        path, label = self.samples[i]
        with open(path, "rb") as f, Image.open(f) as img:
            return self.transform(img.convert("RGB")), label


@dataclass(frozen=True)
class FolderData:
    """A Restricted ImageNet split read from image files, streamed in batches.

    It has the interface of :class:`lib.data.core.Batches`, like
    :class:`lib.data.TensorData`, so ``lib.train`` trains and evaluates on
    either. ``samples`` holds ``(path, label)``; ``crop`` is the side of the
    square images a batch holds (pixels); ``epoch`` is the number of images a
    training epoch draws (None: one pass over the samples); ``workers`` the
    DataLoader processes that decode (0: in the calling process).
    """

    name: str
    split: str
    samples: tuple[tuple[str, int], ...] = field(repr=False)
    classes: tuple[str, ...]
    variant: str
    crop: int = 224
    epoch: int | None = None
    workers: int = 0
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    complete: bool = True
    source: str = ""

    def __len__(self) -> int:
        return len(self.samples)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def epoch_size(self) -> int:
        return self.epoch or len(self)

    @property
    def y(self) -> torch.Tensor:
        """Every sample's label (int64, on the CPU), without decoding an image."""
        return torch.tensor([label for _, label in self.samples], dtype=torch.int64)

    def to(self, device: torch.device | str) -> FolderData:
        return replace(self, device=torch.device(device))

    def subset(self, n: int, *, seed: int = 0, balanced: bool = False) -> FolderData:
        """A seeded random subset of ``n`` images; ``balanced`` as in :meth:`TensorData.subset`."""
        what = f"{self.name} {self.split} set"
        index = core.subset_index(self.y, n, self.classes, seed=seed, balanced=balanced, what=what)
        return replace(self, samples=tuple(self.samples[i] for i in index.tolist()))

    def batches(
        self,
        batch_size: int,
        *,
        shuffle: bool = False,
        generator: torch.Generator | None = None,
        augment: bool = False,
        drop_last: bool = False,
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Yield ``(x, y)`` on the device, x float in [0, 1] ``[B, 3, crop, crop]``.

        ``augment=True`` uses the training transform, else the evaluation one.
        ``shuffle=True`` draws :attr:`epoch_size` images at random (without
        replacement within each pass over the data); otherwise every image in
        order. ``generator`` (a CPU generator) seeds the order and the
        workers' augmentation.
        """
        from torch.utils.data import DataLoader, RandomSampler, SequentialSampler

        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        transform = train_transform(self.crop) if augment else eval_transform(self.crop)
        images = _Images(self.samples, transform)
        if shuffle:
            sampler = RandomSampler(images, num_samples=self.epoch_size, generator=generator)
        else:
            sampler = SequentialSampler(images)
        cuda = self.device.type == "cuda"
        loader = DataLoader(
            images,
            batch_size=batch_size,
            sampler=sampler,
            num_workers=self.workers,
            pin_memory=cuda,
            drop_last=drop_last,
            generator=generator,
            prefetch_factor=4 if self.workers else None,
        )
        for x, y in loader:
            # uint8 over the bus (a quarter of float32), scaled on the device.
            x = x.to(self.device, non_blocking=cuda).float().div_(255)
            yield x, y.to(self.device, non_blocking=cuda)


def expected_size(variant: str, split: str) -> int | None:
    """The published image count of a variant's split, where one is known.

    Paper variant, train: 123,629 (the authors' list). Validation: 50 per
    ImageNet class (ILSVRC-2012). Robustness variant, train: not published.
    """
    n_classes = len(classes.restricted_imagenet_classes(variant))
    if split == "test":
        return n_classes * classes.IMAGENET_VAL_PER_CLASS
    if variant == "paper":
        return classes.PAPER_VARIANT_TRAIN_IMAGES
    return None


def load_restricted_imagenet(
    split: str = "train",
    *,
    root: str | os.PathLike | None = None,
    device: torch.device | str = "cpu",
    variant: str = "robustness",
    crop: int = 224,
    epoch_size: int | None = None,
    workers: int | None = None,
) -> FolderData:
    """Restricted ImageNet's ``split`` ("train" or "test", read from ``val/``).

    ``variant``: ``"robustness"`` (203 ImageNet classes) or ``"paper"`` (96).
    ``crop``: image side in pixels (224 at the paper's scale). ``epoch_size``:
    images per training epoch (None: one pass). ``workers``: decoding
    processes (None: :func:`default_workers`). A split holding fewer images
    than the published count warns with :class:`lib.data.SubsetWarning` and
    is marked incomplete.
    """
    core.check_split(split)
    classes.check_variant(variant)
    check_crop(crop)
    if epoch_size is not None and (not isinstance(epoch_size, int) or epoch_size < 1):
        raise ValueError(f"epoch_size must be a positive int or None, got {epoch_size!r}")
    workers = default_workers() if workers is None else check_workers(workers)
    folder = imagenet_root(root)
    if not (folder / SPLIT_DIRS["train"]).is_dir():
        raise _not_found(folder)
    split_dir = folder / SPLIT_DIRS[split]
    samples = scan(
        split_dir,
        classes.restricted_imagenet_wnids(variant),
        what=f"Restricted ImageNet ({variant} variant)",
    )
    full = expected_size(variant, split)
    complete = full is None or len(samples) >= full
    if not complete and (str(split_dir), variant) not in core.WARNED:
        core.WARNED.add((str(split_dir), variant))
        warnings.warn(
            f"Restricted ImageNet ({variant}) {split} from {split_dir} holds {len(samples):,} of "
            f"the published {full:,} images: results on it are reduced-scale.",
            core.SubsetWarning,
            stacklevel=3,
        )
    return FolderData(
        "restricted_imagenet",
        split,
        tuple(samples),
        SUPERCLASSES,
        variant,
        crop=crop,
        epoch=epoch_size,
        workers=workers,
        device=torch.device(device),
        complete=complete,
        source=str(split_dir),
    )


def class_counts(variant: str, root: str | os.PathLike | None = None) -> dict[str, dict]:
    """Images per super-class and split of ``variant``, counted from the ImageNet folder."""
    out = {}
    for split in core.SPLITS:
        samples = scan(
            imagenet_root(root) / SPLIT_DIRS[split], classes.restricted_imagenet_wnids(variant)
        )
        counts = torch.bincount(
            torch.tensor([label for _, label in samples]), minlength=len(SUPERCLASSES)
        )
        out[split] = dict(zip(SUPERCLASSES, counts.tolist(), strict=True))
    return out
