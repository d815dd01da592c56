"""Restricted ImageNet's class tables (Table 1 of the paper) and the ImageNet
class index order they refer to (``imagenet_wnids.txt``, shipped beside)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from lib.paper.tables import TABLE1

#: Table 1 of the paper: Restricted ImageNet super-classes and the ImageNet
#: class indices (inclusive ranges) each one gathers. Label = position here.
#: Typed once, in :mod:`lib.paper.tables`.
RESTRICTED_IMAGENET_RANGES = TABLE1

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

    Read from ``lib/data/imagenet_wnids.txt`` (public ILSVRC-2012 metadata). Class
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
