"""Runs keyed by their settings, kept on disk so no model is trained twice.

A run lives in ``<root>/<key>/``: ``model.pt`` (a state dict) and
``record.json`` (settings, metrics, history, provenance, and the checkpoint's
size and SHA-256). Every file is written to a temporary name and renamed into
place, and ``record.json`` is written last: a run killed at any moment leaves
either a complete record or none, and an incomplete or corrupt run is treated
as missing (recomputed), never half-read. Checkpoints are loaded with
``torch.load(..., weights_only=True)``.

One writer per key: :meth:`Store.get_or_run` and :meth:`Store.save` hold an
exclusive lock on ``<root>/.locks/<key>``, so two processes asking for the same
run compute it once, and a record never pairs one writer's metrics with
another's weights. A record is served only when it has the expected shape and
types and its own key and settings match the folder it sits in (and, through
:meth:`Store.get_or_run`'s ``valid``, what its reader needs of it). A
checkpoint with NaN or infinite values is refused: a diverged run is not
stored. Temporary files left by a killed writer are removed when a store is
first opened (only those of keys nobody holds). Checkpoint bytes are
reproducible: the same weights give the same SHA-256. Files are created
readable by the group and others (umask).

The files' format (keys, atomic writes, checkpoint bytes, the record's and
the weights' checks) is :mod:`lib.experiments.store_format`; this module locks, loads
and saves. The root is ``$ODDS_STORE``, else ``runs/store`` in the project
the user works in (:func:`lib.runtime.project_root`: the current directory's
project).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

try:  # POSIX; elsewhere runs are not locked (one writer per store is then on the user)
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None

import torch

from lib import runtime
from lib.experiments.store_format import (
    CHECKPOINT,
    RECORD,
    atomic_write_bytes,
    atomic_write_json,
    canonical,
    check_finite,
    check_key,
    checkpoint_bytes,
    is_key,
    key_of,
    sha256_of,
    valid_record,
)

LOCKS = ".locks"

_swept: set[Path] = set()


def default_root() -> Path:
    env = os.environ.get("ODDS_STORE")
    return Path(env) if env else runtime.project_root() / "runs" / "store"


def library_versions() -> dict:
    """Versions of what a run's numbers depend on, for its provenance."""
    import numpy

    versions = {"python": platform.python_version(), "torch": torch.__version__}
    versions["numpy"] = numpy.__version__
    with contextlib.suppress(ImportError):
        import torchvision

        versions["torchvision"] = torchvision.__version__
    return versions


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
    """A folder of runs keyed by a hash of their settings, so no model is trained twice.

    Writes are atomic and locked per key (see the module's docstring).

    Args:
        root (str | PathLike | None): the folder. (Default: None:
            ``$ODDS_STORE``, else ``runs/store`` at the repository root)

    Example:
        >>> run = Store().get_or_run({"what": "demo"}, lambda: {"metrics": {"acc": 0.9}})
    """

    def __init__(self, root: str | os.PathLike | None = None):
        self.root = Path(root) if root is not None else default_root()
        if self.root.resolve() not in _swept:
            _swept.add(self.root.resolve())
            self.sweep_temporary()

    def path(self, key: str) -> Path:
        return self.root / check_key(key)

    @contextlib.contextmanager
    def lock(self, key: str) -> Iterator[None]:
        """Hold the exclusive lock of ``key`` (blocks while another process holds it)."""
        with self._lock(key, blocking=True):
            yield

    @contextlib.contextmanager
    def _lock(self, key: str, *, blocking: bool) -> Iterator[bool]:
        check_key(key)
        if fcntl is None:  # pragma: no cover
            yield True
            return
        folder = self.root / LOCKS
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / key, "a") as f:
            flags = fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB)
            try:
                fcntl.flock(f, flags)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    def sweep_temporary(self) -> int:
        """Remove temporary files a killed writer left; those of locked keys stay.

        Returns how many were removed. Runs once per root and process, on opening.
        """
        if not self.root.is_dir():
            return 0
        removed = 0
        for folder in self.root.iterdir():
            if not folder.is_dir() or not is_key(folder.name):
                continue
            stale = list(folder.glob(".*.tmp"))
            if not stale:
                continue
            with self._lock(folder.name, blocking=False) as free:
                if not free:
                    continue
                for tmp in stale:
                    tmp.unlink(missing_ok=True)
                    removed += 1
        return removed

    def check_writable(self) -> None:
        """A PermissionError now, before any training, if runs cannot be saved here."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise PermissionError(
                f"the run store {self.root} cannot be created ({err}); "
                "set ODDS_STORE to a writable folder"
            ) from err
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise PermissionError(
                f"the run store {self.root} is not writable; set ODDS_STORE to a writable folder"
            )

    def get(self, settings: dict) -> Run | None:
        """The finished run with these settings, or None (missing, killed or corrupt)."""
        return self.load(key_of(settings))

    def load(self, key: str) -> Run | None:
        """The finished run of ``key``, or None (missing, killed, corrupt or misplaced)."""
        path = self.path(key)
        try:
            record = json.loads((path / RECORD).read_text())
        except (OSError, ValueError):
            return None
        if not valid_record(record, key):
            return None
        ckpt = record.get("checkpoint")
        if ckpt is not None:
            file = path / CHECKPOINT
            if (
                not file.is_file()
                or file.stat().st_size != ckpt["bytes"]
                or sha256_of(file) != ckpt["sha256"]
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
        """Write a finished run; the record goes last, so it marks completion.

        Holds the key's lock while writing, so two writers never interleave.
        """
        key = key_of(settings)
        if state_dict is not None:
            check_finite(state_dict)  # before the old record is removed
        with self.lock(key):
            return self._save(key, settings, metrics, history, state_dict, provenance)

    def _save(self, key, settings, metrics, history, state_dict, provenance) -> Run:
        path = self.path(key)
        path.mkdir(parents=True, exist_ok=True)
        (path / RECORD).unlink(missing_ok=True)  # a stale record must not outlive a new checkpoint
        checkpoint = None
        if state_dict is not None:
            check_finite(state_dict)
            data = checkpoint_bytes(state_dict)
            atomic_write_bytes(path / CHECKPOINT, data)
            digest = hashlib.sha256(data).hexdigest()
            checkpoint = {"file": CHECKPOINT, "bytes": len(data), "sha256": digest}
        record = {
            "key": key,
            "settings": json.loads(canonical(settings)),
            "metrics": metrics,
            "history": history or [],
            "checkpoint": checkpoint,
            "provenance": {
                "git_commit": runtime.git_commit(),
                "torch": torch.__version__,
                "versions": library_versions(),
                "threads": torch.get_num_threads(),
                "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                **(provenance or {}),
            },
        }
        atomic_write_json(path / RECORD, record)
        return Run(key, path, record)

    def get_or_run(
        self,
        settings: dict,
        compute: Callable[[], dict],
        valid: Callable[[Run], bool] | None = None,
        *,
        key: str | None = None,
    ) -> Run:
        """The stored run for ``settings``, or ``compute()`` saved and returned.

        ``compute`` returns the keyword arguments of :meth:`save` (``metrics``,
        and optionally ``history``, ``state_dict``, ``provenance``). ``valid``:
        what the reader needs of a stored run (fields and their types, the
        checkpoint it was measured on ...); a stored run it refuses is treated
        as missing, recomputed and replaced, never served. ``key``: the key of
        ``settings`` where the caller holds it (a run's plan), not hashed again.
        """

        def usable(run: Run | None) -> bool:
            return run is not None and (valid is None or bool(valid(run)))

        key = key if key is not None else key_of(settings)
        run = self.load(key)
        if usable(run):
            return run
        self.check_writable()  # before the work, not after it
        with self.lock(key):
            run = self.load(key)  # another writer may have finished it while we waited
            if usable(run):
                return run
            out = compute()
            return self._save(
                key,
                settings,
                out["metrics"],
                out.get("history"),
                out.get("state_dict"),
                out.get("provenance"),
            )

    def runs(self) -> list[Run]:
        """Every finished run under the root."""
        if not self.root.is_dir():
            return []
        found = (
            self.load(p.name) for p in sorted(self.root.iterdir()) if p.is_dir() and is_key(p.name)
        )
        return [r for r in found if r is not None]
