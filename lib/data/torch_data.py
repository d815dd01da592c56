"""A torch ``DataLoader`` or ``Dataset`` as the library's data.

:func:`lib.train.evaluate` streams one (:class:`LoaderData`: the loader's own
batches, moved to the model's device); :func:`lib.train.train` reads one into
memory once (:func:`to_tensor_data`), so its batches are the library's seeded
ones. Items are ``(x, y)``: x a float tensor in [0, 1] pixel space (e.g.
torchvision's ``ToTensor``, no normalization: that belongs inside the model),
y a class index.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch.utils.data import DataLoader, Dataset, IterableDataset

from lib.data.core import TensorData


def is_torch_data(data) -> bool:
    """Whether ``data`` is a torch ``DataLoader`` or ``Dataset`` (not the library's own)."""
    return isinstance(data, DataLoader | Dataset)


def _loader(data, batch_size: int) -> DataLoader:
    if isinstance(data, DataLoader):
        return data
    return DataLoader(data, batch_size=batch_size, shuffle=False)


def _size(data) -> int:
    dataset = data.dataset if isinstance(data, DataLoader) else data
    if isinstance(dataset, IterableDataset) or not hasattr(dataset, "__len__"):
        raise TypeError(
            "an IterableDataset has no length to evaluate or train on: "
            "give a map-style Dataset, or its (x, y) tensors"
        )
    return len(dataset)


def _on(batch, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    if not isinstance(batch, list | tuple) or len(batch) != 2:
        raise TypeError(f"a batch must be an (x, y) pair, got {type(batch).__name__}")
    x, y = batch
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise TypeError(
            "x must be a float tensor in [0, 1] pixel space (e.g. torchvision's ToTensor), "
            f"got {getattr(x, 'dtype', type(x).__name__)}"
        )
    return x.to(device), torch.as_tensor(y).to(device, torch.int64)


@dataclass(frozen=True)
class LoaderData:
    """A ``DataLoader`` or ``Dataset`` streamed for evaluation, batches on ``device``.

    A ``DataLoader`` keeps its own batches (``batch_size`` in :meth:`batches` is
    ignored); a ``Dataset`` is batched in order, ``batch_size`` at a time.
    """

    source: DataLoader | Dataset
    on: torch.device

    def __len__(self) -> int:
        return _size(self.source)

    @property
    def device(self) -> torch.device:
        return self.on

    def batches(self, batch_size: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for batch in _loader(self.source, batch_size):
            yield _on(batch, self.on)


def to_tensor_data(
    data, *, device: torch.device | str, name: str = "torch", split: str = "train"
) -> TensorData:
    """``data`` read once into a :class:`TensorData` (x float32 in [0, 1]) on ``device``.

    A ``DataLoader``'s batching and shuffling are not kept (the library draws its
    own seeded batches), and a random transform is drawn once, not once an epoch.
    The classes are the dataset's ``classes`` when it has them, else ``0 .. max(y)``.
    """
    if _size(data) == 0:
        raise ValueError("cannot train on an empty data set")
    xs, ys = zip(*(_on(b, torch.device("cpu")) for b in _loader(data, 1024)), strict=True)
    x, y = torch.cat(xs).float(), torch.cat(ys)
    dataset = data.dataset if isinstance(data, DataLoader) else data
    classes = getattr(dataset, "classes", None) or range(int(y.max()) + 1 if len(y) else 0)
    return TensorData(name, split, x, y, tuple(str(c) for c in classes)).to(device)


def model_device(model: torch.nn.Module) -> torch.device:
    """Where ``model``'s parameters (or buffers) live; the CPU for a model with none."""
    for t in (*model.parameters(), *model.buffers()):
        return t.device
    return torch.device("cpu")
