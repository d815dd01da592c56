"""Runs keyed by their settings, kept on disk so no model is trained twice.

A run lives in ``<root>/<key>/``: ``model.pt`` (a state dict) and
``record.json`` (settings, metrics, history, provenance, and the checkpoint's
size and SHA-256). Every file is written to a temporary name and renamed into
place, and ``record.json`` is written last: a run killed at any moment leaves
either a complete record or none, and an incomplete or corrupt run is treated
as missing (recomputed), never half-read. Checkpoints are loaded with
``torch.load(..., weights_only=True)``.

The root is ``$ODDS_STORE``, else ``runs/store`` at the repository root.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from lib import runtime

RECORD = "record.json"
CHECKPOINT = "model.pt"


def default_root() -> Path:
    env = os.environ.get("ODDS_STORE")
    return Path(env) if env else runtime.PROJECT_ROOT / "runs" / "store"


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


def _sha256(path: Path) -> str:
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
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: Path, obj) -> None:
    atomic_write_bytes(Path(path), (json.dumps(obj, indent=1, default=_jsonable) + "\n").encode())


def _atomic_torch_save(path: Path, obj) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        torch.save(obj, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass
class Run:
    """A finished run as stored: its key, settings, metrics, history and record."""

    key: str
    path: Path
    record: dict

    @property
    def settings(self) -> dict:
        return self.record["settings"]

    @property
    def metrics(self) -> dict:
        return self.record["metrics"]

    @property
    def history(self) -> list:
        return self.record["history"]

    def state_dict(self, map_location="cpu") -> dict | None:
        """The checkpoint, loaded with ``weights_only=True``; None if the run has none."""
        if self.record.get("checkpoint") is None:
            return None
        return torch.load(self.path / CHECKPOINT, map_location=map_location, weights_only=True)


class Store:
    """A folder of runs keyed by a hash of their settings."""

    def __init__(self, root: str | os.PathLike | None = None):
        self.root = Path(root) if root is not None else default_root()

    def path(self, key: str) -> Path:
        return self.root / key

    def get(self, settings: dict) -> Run | None:
        """The finished run with these settings, or None (missing, killed or corrupt)."""
        return self.load(key_of(settings))

    def load(self, key: str) -> Run | None:
        path = self.path(key)
        try:
            record = json.loads((path / RECORD).read_text())
        except (OSError, ValueError):
            return None
        ckpt = record.get("checkpoint")
        if ckpt is not None:
            file = path / CHECKPOINT
            if (
                not file.is_file()
                or file.stat().st_size != ckpt["bytes"]
                or _sha256(file) != ckpt["sha256"]
            ):
                return None
        return Run(key, path, record)

    def save(
        self,
        settings: dict,
        *,
        metrics: dict,
        history: list | None = None,
        state_dict: dict | None = None,
        provenance: dict | None = None,
    ) -> Run:
        """Write a finished run; the record goes last, so it marks completion."""
        key = key_of(settings)
        path = self.path(key)
        path.mkdir(parents=True, exist_ok=True)
        (path / RECORD).unlink(missing_ok=True)  # a stale record must not outlive a new checkpoint
        checkpoint = None
        if state_dict is not None:
            _atomic_torch_save(
                path / CHECKPOINT, {k: v.detach().cpu() for k, v in state_dict.items()}
            )
            file = path / CHECKPOINT
            checkpoint = {"file": CHECKPOINT, "bytes": file.stat().st_size, "sha256": _sha256(file)}
        record = {
            "key": key,
            "settings": json.loads(canonical(settings)),
            "metrics": metrics,
            "history": history or [],
            "checkpoint": checkpoint,
            "provenance": {
                "git_commit": runtime.git_commit(),
                "torch": torch.__version__,
                "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                **(provenance or {}),
            },
        }
        atomic_write_json(path / RECORD, record)
        return Run(key, path, record)

    def get_or_run(self, settings: dict, compute: Callable[[], dict]) -> Run:
        """The stored run for ``settings``, or ``compute()`` saved and returned.

        ``compute`` returns the keyword arguments of :meth:`save` (``metrics``,
        and optionally ``history``, ``state_dict``, ``provenance``).
        """
        run = self.get(settings)
        if run is not None:
            return run
        return self.save(settings, **compute())

    def runs(self) -> list[Run]:
        """Every finished run under the root."""
        if not self.root.is_dir():
            return []
        found = (self.load(p.name) for p in sorted(self.root.iterdir()) if p.is_dir())
        return [r for r in found if r is not None]
