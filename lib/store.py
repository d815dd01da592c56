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

The root is ``$ODDS_STORE``, else ``runs/store`` in the project the user works
in (:func:`lib.runtime.project_root`: the current directory's project).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import platform
import re
import tempfile
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

RECORD = "record.json"
CHECKPOINT = "model.pt"
LOCKS = ".locks"

_KEY = re.compile(r"[0-9a-f]{16}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
# The mode new files get: mkstemp makes them 0600, which hides a shared store
# from the rest of a group; the process umask decides, as for open().
_UMASK = os.umask(0)
os.umask(_UMASK)
_FILE_MODE = 0o666 & ~_UMASK
_swept: set[Path] = set()


def check_key(key: str) -> str:
    """``key`` if it is a store key (16 lowercase hex digits); else a ValueError.

    Refusing anything else keeps ``..``, ``/`` and other path tricks out of the store.
    """
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        raise ValueError(f"not a store key: {key!r} (expected 16 lowercase hex digits)")
    return key


def default_root() -> Path:
    env = os.environ.get("ODDS_STORE")
    return Path(env) if env else runtime.project_root() / "runs" / "store"


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
    """Whether ``record`` has the shape :meth:`Store.save` writes, for ``key``.

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
            if not folder.is_dir() or not _KEY.fullmatch(folder.name):
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
    ) -> Run:
        """The stored run for ``settings``, or ``compute()`` saved and returned.

        ``compute`` returns the keyword arguments of :meth:`save` (``metrics``,
        and optionally ``history``, ``state_dict``, ``provenance``). ``valid``:
        what the reader needs of a stored run (fields and their types, the
        checkpoint it was measured on ...); a stored run it refuses is treated
        as missing, recomputed and replaced, never served.
        """

        def usable(run: Run | None) -> bool:
            return run is not None and (valid is None or bool(valid(run)))

        run = self.get(settings)
        if usable(run):
            return run
        self.check_writable()  # before the work, not after it
        key = key_of(settings)
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
            self.load(p.name)
            for p in sorted(self.root.iterdir())
            if p.is_dir() and _KEY.fullmatch(p.name)
        )
        return [r for r in found if r is not None]
