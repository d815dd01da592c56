"""The Ray executor of :mod:`lib.experiments.execute.sweep`: every grid point a Ray task.

``python -m lib.experiments.execute.sweep --executor ray`` runs a grid on a local Ray instance,
or with ``--address`` on an existing cluster (a multi-GPU box, Kubernetes,
Slurm: anything ``ray start`` runs on). Each point is one task that runs the
same papermill execution of ``book/one_run.py`` as the local executor, in a
private folder on its worker, and returns the run's files (``record.json``,
``model.pt``) and its executed notebook to the driver. The driver, the only
writer, puts them in its store and ``runs/sweep/`` through temporary files
and renames, the record last. So the workers need no shared file system, and
a worker killed at any moment, or a Ctrl-C on the driver, leaves either a
complete record or none.

Resources per task: ``cpus_per_run`` cores (1 by default; Ray sets the
task's ``OMP_NUM_THREADS`` to it) and ``gpus_per_run`` GPUs, which may be a
fraction so that several small runs share a GPU (see :func:`gpus_for`).
A task whose worker dies is retried ``retries`` times by Ray; a run that
fails inside its notebook is retried ``retries`` times on its worker, like
the local executor, and its log comes back either way.

This module imports Ray; :mod:`lib.experiments.execute.sweep` imports it only for
``executor="ray"``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import ray

import lib

# The module by its full name: the sweep imports this module, and no module of
# lib.experiments.execute reaches a sibling through a package namespace.
import lib.experiments.execute.runner as runner
from lib import runtime
from lib.experiments.runs import Plan, RunConfig, plan_of
from lib.experiments.store import Store
from lib.experiments.store_format import CHECKPOINT, RECORD, atomic_write_bytes

#: GPUs a run asks for on a cluster with GPUs, unless ``gpus_per_run`` says
#: otherwise: a whole GPU for the paper profile's ResNets (CIFAR-10 and
#: Restricted ImageNet), a quarter for everything smaller (MNIST's CNN, the
#: cpu and smoke profiles), so that four of those share one GPU.
FULL_GPU = 1.0
SMALL_RUN_GPUS = 0.25

#: What a cluster's workers never need from the project folder (``--address``
#: ships the rest to them as Ray's ``working_dir``): results, data, builds.
EXCLUDES = [".git", ".venv", "runs", "data", "build", "_build", "results", "*.pt"]

#: The environment variables the workers' notebooks read, passed on from the driver.
FORWARDED_ENV = ("ODDS_DATA", "ODDS_OFFLINE")


def check_options(address=None, gpus_per_run=None, cpus_per_run=None) -> None:
    """Fail at once on a bad Ray option, saying what is allowed."""
    if address is not None and (not isinstance(address, str) or not address):
        raise ValueError(
            f"address must be 'host:port', 'ray://host:port' or 'auto', not {address!r}"
        )
    if gpus_per_run is not None and not (
        isinstance(gpus_per_run, (int, float)) and gpus_per_run >= 0
    ):
        raise ValueError(
            f"gpus_per_run must be a number >= 0 (a fraction shares a GPU), got {gpus_per_run!r}"
        )
    if cpus_per_run is not None and not (
        isinstance(cpus_per_run, (int, float)) and cpus_per_run > 0
    ):
        raise ValueError(f"cpus_per_run must be a number > 0, got {cpus_per_run!r}")


def gpus_for(config: RunConfig, gpus_per_run: float | None, cluster_gpus: float) -> float:
    """The GPUs one run asks Ray for: ``gpus_per_run`` if given, else by the run's size."""
    if gpus_per_run is not None:
        return float(gpus_per_run)
    if not cluster_gpus:
        return 0.0
    if config.profile == "paper" and config.dataset != "mnist":
        return FULL_GPU
    return SMALL_RUN_GPUS


def runtime_env(address: str | None) -> dict:
    """The Ray runtime environment that makes every worker import this project's ``lib``.

    A local instance's workers read this folder (``PYTHONPATH``); a cluster's
    get a copy of it (Ray's ``working_dir``, less :data:`EXCLUDES`), and the
    driver's git commit for their records' provenance, since the copy has no
    ``.git``.
    """
    root = Path(lib.__file__).resolve().parents[1]
    env = {name: os.environ[name] for name in FORWARDED_ENV if name in os.environ}
    env["ODDS_GIT_COMMIT"] = runtime.git_commit()
    if address is None:
        path = os.environ.get("PYTHONPATH")
        env["PYTHONPATH"] = str(root) + (os.pathsep + path if path else "")
        return {"env_vars": env}
    return {"working_dir": str(root), "excludes": EXCLUDES, "env_vars": env}


def connect(address: str | None = None, **init_options) -> bool:
    """Start a local Ray instance (``address=None``) or join a cluster; True if we did.

    When Ray is already initialized (say by a test, with its own resources)
    it is used as it is. ``init_options`` go to ``ray.init`` (e.g.
    ``num_cpus``, ``object_store_memory`` in bytes).
    """
    if ray.is_initialized():
        return False
    address = address or os.environ.get("RAY_ADDRESS") or None  # as ray.init reads it
    options = {"include_dashboard": False, "runtime_env": runtime_env(address)}
    ray.init(address=address, **options, **init_options)
    return True


# --------------------------------------------------------------------------
# On a worker


@contextlib.contextmanager
def _environ(values: dict[str, str]):
    """Set environment variables for the papermill kernels this worker starts."""
    previous = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _kill_when_started(folder: Path, marker: Path, config: RunConfig) -> threading.Event:
    """TEST HOOK: SIGKILL this worker once its notebook is running, if ``marker`` is new.

    The first task to create ``marker`` dies mid-run; every other task, and
    that task's retry, runs normally. The marker holds the point's config and
    the private folder the dead worker leaves behind. Set the returned event
    when the execution is over, so that the watcher stops.
    """
    done = threading.Event()
    try:
        fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return done
    with os.fdopen(fd, "w") as f:
        f.write(json.dumps({"config": config.__dict__, "folder": str(folder)}))

    def kill_once_running():
        # papermill rewrites its output notebook after each cell: once the
        # injected parameters have run, the kernel is training.
        while not done.wait(0.05):
            if any(_parameters_ran(p) for p in folder.glob(".*.ipynb")):
                os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=kill_once_running, daemon=True).start()
    return done


def _parameters_ran(notebook: Path) -> bool:
    """True once papermill's partial output shows the injected parameters executed."""
    try:
        cells = json.loads(notebook.read_text())["cells"]
    except (OSError, ValueError, KeyError):  # not written yet, or half-written
        return False
    return any(
        "injected-parameters" in c.get("metadata", {}).get("tags", [])
        and c.get("execution_count") is not None
        for c in cells
    )


def run_point(
    notebook_text: str,
    plan: Plan,
    retries: int,
    stored_keys: frozenset[str],
    test_kill_marker: str | None = None,
) -> dict:
    """One grid point on a worker: the papermill execution, and the files it made.

    Returns ``{"key", "skipped", "error", "files", "log"}``: ``files`` maps
    ``record.json`` and ``model.pt`` to their bytes (empty if the run failed)
    and ``log`` holds the executed notebook's bytes. The driver's plan is
    used as it is on a worker of the driver's device; a worker with another
    device plans the point for its own (the precision ``auto`` resolves to,
    and with it the key, depends on it), and a point the driver's store already
    holds under that key is skipped.
    """
    if plan.device != runtime.default_device():
        plan = plan_of(plan.config)  # this worker's device, not the driver's
    key, config = plan.key, plan.config
    if key in stored_keys:
        return {"key": key, "skipped": True, "error": None, "files": {}, "log": None}
    root = Path(lib.__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory(prefix="odds-sweep-") as tmp:
        tmp = Path(tmp)
        notebook = tmp / "one_run.ipynb"
        notebook.write_text(notebook_text)
        log = tmp / f"{key}.ipynb"
        env = {
            "ODDS_STORE": str(tmp / "store"),  # private: only the driver writes the real store
            "PYTHONPATH": runner.kernel_pythonpath(root),  # the kernel's lib
        }
        executed = threading.Event()
        if test_kill_marker is not None:
            executed = _kill_when_started(tmp, Path(test_kill_marker), config)
        error = None
        with _environ(env):
            for _ in range(1 + retries):
                try:
                    runner.execute(notebook, log, runner.parameters_of(config, None), tmp)
                    error = None
                    break
                except Exception as err:  # reported to the driver with the log
                    error = runner.short_error(err)
        executed.set()
        files = {}
        if error is None:
            folder = Store(tmp / "store").path(key)
            files = {
                n: (folder / n).read_bytes() for n in (RECORD, CHECKPOINT) if (folder / n).is_file()
            }
            if RECORD not in files:
                error = f"the notebook ran but stored no run under key {key}"
        return {
            "key": key,
            "skipped": False,
            "error": error,
            "files": files,
            "log": log.read_bytes() if log.is_file() else None,
        }


# --------------------------------------------------------------------------
# On the driver


def put_run(store: Store, key: str, files: dict[str, bytes]) -> None:
    """Write a run made on a worker into ``store``: checkpoint first, record last.

    The checkpoint's bytes are checked against the record's size and SHA-256
    before anything is written, so a mangled transfer is an error, not a run.
    """
    record = json.loads(files[RECORD])
    if record.get("key") != key:
        raise ValueError(f"the record says key {record.get('key')!r}, expected {key!r}")
    ckpt = record.get("checkpoint")
    if ckpt is not None:
        data = files.get(CHECKPOINT, b"")
        if len(data) != ckpt["bytes"] or hashlib.sha256(data).hexdigest() != ckpt["sha256"]:
            raise ValueError(f"run {key}: the checkpoint does not match its record")
    path = store.path(key)
    with store.lock(key):  # one writer per key, as Store.save
        (path / RECORD).unlink(missing_ok=True)  # a stale record must not outlive a new one
        if ckpt is not None:
            atomic_write_bytes(path / CHECKPOINT, files[CHECKPOINT])
        atomic_write_bytes(path / RECORD, files[RECORD])


def _receive(reply: dict, config: RunConfig, store: Store, out_dir: Path) -> runner.Outcome:
    key = reply["key"]
    if reply["skipped"]:
        return runner.Outcome(key, config, skipped=True)
    if reply["log"] is not None:  # the log first: a record without its log would never rerun
        atomic_write_bytes(out_dir / f"{key}.ipynb", reply["log"])
    if reply["error"] is not None:
        return runner.Outcome(key, config, reply["error"])
    try:
        put_run(store, key, reply["files"])
    except (ValueError, KeyError) as err:
        return runner.Outcome(key, config, f"{type(err).__name__}: {err}")
    return runner.Outcome(key, config)


def _ray_error(err: Exception) -> str:
    """A one-line error for a task Ray gave up on (its worker died, or it raised)."""
    cause = getattr(err, "cause", None)
    if isinstance(cause, Exception):
        return runner.short_error(cause)
    first = str(err).strip().splitlines()
    return f"{type(err).__name__}: {first[0] if first else ''}"


def run(
    pending: list[Plan],
    notebook: Path,
    *,
    store: Store,
    out_dir: Path,
    jobs: int | None,
    retries: int,
    address: str | None = None,
    gpus_per_run: float | None = None,
    cpus_per_run: float | None = None,
    test_kill_marker: Path | None = None,
) -> Iterator[runner.Outcome]:
    """Run the pending points as Ray tasks; yield each point's outcome as it finishes.

    ``jobs`` caps the tasks in flight (default: all, and Ray runs as many as
    the cluster's resources fit). ``test_kill_marker`` is a test hook: the
    first task to create that file kills its own worker mid-run (see
    :func:`_kill_when_started`). Stopping the iteration (Ctrl-C) cancels the
    tasks in flight; a local Ray instance started here is shut down.
    """
    check_options(address, gpus_per_run, cpus_per_run)
    started = connect(address)
    in_flight: dict = {}
    try:
        cluster_gpus = ray.cluster_resources().get("GPU", 0)
        task = ray.remote(run_point)
        resources = {"num_cpus": cpus_per_run or 1, "max_retries": retries}
        text = notebook.read_text()
        # Keys with a record, for workers whose device gives a point another key.
        stored = ray.put(frozenset(p.name for p in store.root.glob("*") if (p / RECORD).is_file()))
        marker = str(test_kill_marker) if test_kill_marker is not None else None
        queue = list(pending)
        limit = jobs or len(queue)
        while queue or in_flight:
            while queue and len(in_flight) < limit:
                plan = queue.pop(0)
                gpus = gpus_for(plan.config, gpus_per_run, cluster_gpus)
                ref = task.options(num_gpus=gpus, **resources).remote(
                    text, plan, retries, stored, marker
                )
                in_flight[ref] = plan
            (ref,), _ = ray.wait(list(in_flight), num_returns=1)
            plan = in_flight.pop(ref)
            try:
                reply = ray.get(ref)
            except ray.exceptions.RayError as err:
                yield runner.Outcome(plan.key, plan.config, _ray_error(err))
                continue
            yield _receive(reply, plan.config, store, out_dir)
    finally:
        for ref in in_flight:  # only after an interruption
            ray.cancel(ref, force=True)
        if started:
            ray.shutdown()
