"""The one papermill runner both sweep executors share (local threads, Ray).

A grid point runs as a papermill execution of ``book/one_run.py`` with the
point's parameters; the executed notebook is the run's log. Public, so the
executors (:mod:`lib.sweep`, :mod:`lib.sweep.ray_executor`) use no private name
of each other.
"""

from __future__ import annotations

import os
import tempfile
import traceback
from dataclasses import asdict, fields
from pathlib import Path
from typing import NamedTuple

from lib import runtime
from lib.runs import RunConfig

ONE_RUN = runtime.PROJECT_ROOT / "book" / "one_run.py"
RUNS_DIR = runtime.PROJECT_ROOT / "runs" / "sweep"
CONFIG_FIELDS = tuple(f.name for f in fields(RunConfig))


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
    """One papermill execution; the log is written to a temporary name, then renamed."""
    import papermill

    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.stem}.", suffix=".ipynb")
    os.close(fd)
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
