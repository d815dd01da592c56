"""The on-disk format of a stored run, and the checks its files pass.

A run's folder is named by its key (:func:`key_of`: a hash of its settings'
:func:`canonical` JSON). Its files are written through a temporary name and a
rename (:func:`atomic_write_bytes`), so a reader sees a whole file or none;
checkpoints are serialized to the same bytes for the same weights
(:func:`checkpoint_bytes`). A record is served only in the shape
:meth:`lib.experiments.store.Store.save` writes, for the key of its folder
(:func:`valid_record`), and weights holding NaN or infinity are never written
(:func:`check_finite`). :mod:`lib.experiments.store` does the locking, loading and saving.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import tempfile
from pathlib import Path

import torch

RECORD = "record.json"
CHECKPOINT = "model.pt"

_KEY = re.compile(r"[0-9a-f]{16}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
# The mode new files get: mkstemp makes them 0600, which hides a shared store
# from the rest of a group; the process umask decides, as for open().
_UMASK = os.umask(0)
os.umask(_UMASK)
_FILE_MODE = 0o666 & ~_UMASK


def is_key(name: str) -> bool:
    """Whether ``name`` is a store key (16 lowercase hex digits)."""
    return isinstance(name, str) and _KEY.fullmatch(name) is not None


def check_key(key: str) -> str:
    """``key`` if it is a store key (16 lowercase hex digits); else a ValueError.

    Refusing anything else keeps ``..``, ``/`` and other path tricks out of the store.
    """
    if not is_key(key):
        raise ValueError(f"not a store key: {key!r} (expected 16 lowercase hex digits)")
    return key


def canonical(settings: dict) -> str:
    """The JSON text a key is hashed from: sorted keys, tuples as lists."""
    return json.dumps(settings, sort_keys=True, default=_jsonable, separators=(",", ":"))


def key_of(settings: dict) -> str:
    """A 16-hex-digit key: equal settings give equal keys, in any key order."""
    return hashlib.sha256(canonical(settings).encode()).hexdigest()[:16]


def _jsonable(value):
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    if isinstance(value, torch.device):
        return str(value)
    if hasattr(value, "to_dict"):
        return value.to_dict()
    raise TypeError(f"settings must be JSON-like; cannot hash {type(value).__name__}: {value!r}")


def sha256_of(path: Path) -> str:
    """The SHA-256 of the file at ``path``, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: Path, obj) -> None:
    atomic_write_bytes(Path(path), (json.dumps(obj, indent=1, default=_jsonable) + "\n").encode())


def checkpoint_bytes(state_dict: dict) -> bytes:
    """A state dict serialized by ``torch.save``, the same bytes for the same weights.

    Saving to a file names the zip entries after the (random) temporary file;
    saving to a buffer names them ``archive/``, so equal weights hash equally.
    """
    buffer = io.BytesIO()
    torch.save({k: v.detach().cpu() for k, v in state_dict.items()}, buffer)
    return buffer.getvalue()


def valid_record(record, key: str) -> bool:
    """Whether ``record`` has the shape :meth:`lib.experiments.store.Store.save` writes.

    Its ``key`` must be ``key`` and its settings must hash to it, so a record
    copied into another run's folder is not served for that run.
    """
    if not isinstance(record, dict):
        return False
    shapes = {
        "key": str,
        "settings": dict,
        "metrics": dict,
        "history": list,
        "provenance": dict,
    }
    if any(not isinstance(record.get(name), kind) for name, kind in shapes.items()):
        return False
    if record["key"] != key or key_of(record["settings"]) != key:
        return False
    if not all(isinstance(entry, dict) for entry in record["history"]):
        return False
    if not all(isinstance(name, str) for name in record["metrics"]):
        return False
    ckpt = record.get("checkpoint", False)
    if ckpt is None:
        return True
    return (
        isinstance(ckpt, dict)
        and ckpt.get("file") == CHECKPOINT
        and _is_count(ckpt.get("bytes"))
        and isinstance(ckpt.get("sha256"), str)
        and _SHA256.fullmatch(ckpt["sha256"]) is not None
    )


def _is_count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def check_finite(state_dict: dict) -> None:
    """A ValueError naming the tensors of ``state_dict`` that hold NaN or infinity.

    A diverged model is not a model: it is never stored as one.
    """
    bad = [
        name
        for name, t in state_dict.items()
        if isinstance(t, torch.Tensor) and t.is_floating_point() and not bool(t.isfinite().all())
    ]
    if bad:
        raise ValueError(
            f"refusing to store a checkpoint with non-finite values (NaN or inf) in {bad}: "
            "the run diverged"
        )
