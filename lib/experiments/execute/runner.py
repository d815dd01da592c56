"""The one papermill runner both sweep executors share (local threads, Ray).

A grid point runs as a papermill execution of ``book/one_run.py`` with the
point's parameters; the executed notebook is the run's log. Public, so the
executors (:mod:`lib.experiments.execute.sweep`,
:mod:`lib.experiments.execute.ray_executor`) use no private name of each other.
"""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
import time
import traceback
from dataclasses import asdict, fields
from pathlib import Path
from typing import NamedTuple

from lib import runtime
from lib.experiments.runs import RunConfig

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None

ONE_RUN = runtime.PROJECT_ROOT / "book" / "one_run.py"
RUNS_DIR = runtime.PROJECT_ROOT / "runs" / "sweep"
CONFIG_FIELDS = tuple(f.name for f in fields(RunConfig))
#: Set in the environment the kernels of one sweep inherit, so it can find them.
SWEEP_TOKEN = "ODDS_SWEEP_TOKEN"


def kernel_pythonpath(root: Path = runtime.PROJECT_ROOT) -> str:
    """``PYTHONPATH`` for a run's kernel: this project's root first, so the kernel
    imports the ``lib`` of the project being swept, not whichever one the
    environment would find (an editable install of another checkout)."""
    path = os.environ.get("PYTHONPATH")
    return str(root) + (os.pathsep + path if path else "")


def notebook_of(source: Path = ONE_RUN, out_dir: Path | None = None) -> Path:
    """The one-run chapter as an .ipynb (jupytext), for papermill."""
    import jupytext
    import nbformat

    out_dir = Path(out_dir) if out_dir is not None else runtime.PROJECT_ROOT / "build" / "nb"
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / (source.stem + ".ipynb")
    nbformat.write(jupytext.read(source), target)
    return target


def parameters_of(config: RunConfig, device: str | None) -> dict:
    params = asdict(config)
    params["device"] = device
    return params


def execute(notebook: Path, out: Path, params: dict, cwd: Path = ONE_RUN.parent) -> None:
    """One papermill execution; the log is written to a temporary name, then renamed.

    The temporary (hidden) notebook is locked while it runs, so
    :func:`sweep_hidden_notebooks` removes only those a killed sweep left.
    """
    import papermill

    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.stem}.", suffix=".ipynb")
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            papermill.execute_notebook(
                str(notebook),
                tmp,
                parameters=params,
                kernel_name="python3",
                cwd=str(cwd),
                progress_bar=False,
            )
        finally:
            # The executed notebook is the run's log, kept even when it failed.
            os.replace(tmp, out)
    finally:
        os.close(fd)


def sweep_hidden_notebooks(out_dir: Path) -> int:
    """Remove the hidden temporary notebooks of killed runs (unlocked); how many."""
    removed = 0
    for path in Path(out_dir).glob(".*.ipynb"):
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            continue
        try:
            if fcntl is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # a live run's
            path.unlink(missing_ok=True)
            removed += 1
        finally:
            os.close(fd)
    return removed


def _kernels(token: str) -> list:
    """This process's descendants started with ``SWEEP_TOKEN=token``: the sweep's kernels."""
    import psutil

    found = []
    for proc in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):
            if proc.environ().get(SWEEP_TOKEN) == token:
                found.append(proc)
    return found


def _signal(pid: int, sig: int) -> None:
    """``sig`` to a kernel, and to its process group when it leads one (its own session)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)


def interrupt_kernels(token: str, done, *, grace: float = 5.0, poll: float = 0.2) -> None:
    """Interrupt the sweep's kernels until ``done()``: SIGINT first (the cell stops,
    papermill reports it), SIGKILL after ``grace`` seconds or a second Ctrl-C.

    The kernels run in their own sessions, so a Ctrl-C at the terminal never
    reaches them; they are signalled here by pid.
    """
    start, interrupted = time.monotonic(), set()
    while not done():
        try:
            late = time.monotonic() - start > grace
            for proc in _kernels(token):
                if late:
                    _signal(proc.pid, signal.SIGKILL)
                elif proc.pid not in interrupted:
                    interrupted.add(proc.pid)
                    _signal(proc.pid, signal.SIGINT)
            time.sleep(poll)
        except KeyboardInterrupt:  # asked again: no more grace
            grace = 0.0


class Outcome(NamedTuple):
    """What an executor reports for one point: it ran, was found stored, or failed."""

    key: str
    config: RunConfig
    error: str | None = None  # the last attempt's error; None if the run is stored
    skipped: bool = False  # the worker found it stored already (under its own key)


def short_error(err: Exception) -> str:
    """The last line of a kernel's error (papermill wraps it), or the exception itself."""
    name = getattr(err, "ename", None)
    if name:
        return f"{name}: {getattr(err, 'evalue', '')}"
    return "".join(traceback.format_exception_only(type(err), err)).strip()
