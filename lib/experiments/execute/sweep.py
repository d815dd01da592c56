"""Grids of training runs, each a papermill execution of ``book/one_run.py``.

Every grid point is one :class:`lib.experiments.runs.RunConfig`. The sweep converts the
one-run chapter to a notebook once (jupytext), then executes it per point
with papermill, which injects the point's parameters. Each executed notebook
is kept under ``runs/sweep/<key>.ipynb`` as that run's log, and its results go
to the store. The sweep:

- validates every point before anything runs (unknown data set, norm, mix,
  eps < 0 ... fail at once);
- skips points already in the store, so an interrupted sweep resumes;
- retries a failed point once, goes on with the others, and lists the
  failures with their errors at the end;
- shows a progress bar over the grid, and runs ``jobs`` points at once (one
  per GPU by default, one on a CPU; GPU jobs get a device each).

Two executors run the points: ``local`` (the default: threads on this
machine) and ``ray`` (each point a Ray task on a local Ray instance or an
existing cluster; see :mod:`lib.experiments.execute.ray_executor`, imported only when asked for).
Both skip, retry and report the same way.

Usage: ``python -m lib.experiments.execute.sweep --grid price --profile cpu`` (or ``make sweep
GRID=price PROFILE=cpu``); ``--grid`` also takes a JSON file
``{"fixed": {...}, "vary": {"eps_train": [...], ...}}``, whose points are
the product of the ``vary`` lists. ``--executor ray [--address HOST:PORT]``
runs the grid on Ray.
"""

from __future__ import annotations

import argparse
import functools
import itertools
import json
import os
import sys
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import torch
from tqdm.auto import tqdm

from lib.experiments import grids, profiles
from lib.experiments.execute import runner
from lib.experiments.execute.runner import (
    CONFIG_FIELDS,
    RUNS_DIR,
    Outcome,
    execute,
    notebook_of,
    parameters_of,
    short_error,
)
from lib.experiments.runs import Plan, RunConfig, plan_of
from lib.experiments.store import Store

EXECUTORS = ("local", "ray")
DEFAULT_PROFILE = "cpu"  # of a named grid, or a JSON grid that names none


# --------------------------------------------------------------------------
# Grids: the named ones are lib.experiments.grids.GRIDS


def unique(configs) -> list[RunConfig]:
    """The configs in order, without repeats (parts of a grid share runs)."""
    return list(dict.fromkeys(configs))


def grid_from_spec(spec: dict, profile: str | None = None) -> list[RunConfig]:
    """Points of a JSON grid: the product of ``vary``'s lists, each with ``fixed``.

    ``profile`` (``--profile``) applies where the grid names none; a grid that
    names another one is refused, not silently overridden.
    """
    if not isinstance(spec, dict):
        raise ValueError(
            'a JSON grid is an object {"fixed": {...}, "vary": {"name": [...]}}, '
            f"got a {type(spec).__name__}"
        )
    unknown = set(spec) - {"fixed", "vary"}
    if unknown:
        raise ValueError(f"a grid has the keys 'fixed' and 'vary'; unknown: {sorted(unknown)}")
    for part in ("fixed", "vary"):
        if not isinstance(spec.get(part, {}), dict):
            raise ValueError(f"a grid's {part!r} must be an object, got {spec[part]!r}")
    fixed, vary = dict(spec.get("fixed", {})), dict(spec.get("vary", {}))
    bad = (set(fixed) | set(vary)) - set(CONFIG_FIELDS)
    if bad:
        raise ValueError(
            f"unknown grid parameters {sorted(bad)}; allowed: {', '.join(CONFIG_FIELDS)}"
        )
    both = set(fixed) & set(vary)
    if both:
        raise ValueError(f"grid parameters both fixed and varied: {sorted(both)}")
    for name, values in vary.items():
        if not isinstance(values, list) or not values:
            raise ValueError(f"vary[{name!r}] must be a non-empty list, got {values!r}")
    if profile is not None:
        named = set(vary.get("profile", [fixed.get("profile", profile)]))
        if named != {profile}:
            raise ValueError(
                f"the grid sets profile {sorted(named)} but --profile is {profile!r}: "
                "drop one of them"
            )
        if "profile" not in vary:
            fixed["profile"] = profile
    names = list(vary)
    return [
        RunConfig(**fixed, **dict(zip(names, combo, strict=True)))
        for combo in itertools.product(*(vary[n] for n in names))
    ]


def load_grid(grid: str, profile: str | None = None) -> list[RunConfig]:
    """A named grid (see :data:`lib.experiments.grids.GRIDS`) or a JSON grid file, validated.

    A named grid runs at ``profile`` (default ``"cpu"``); a JSON grid at the
    profile it names, else at ``profile``, else ``"cpu"``.
    """
    if grid in grids.GRIDS:
        profile = profile or DEFAULT_PROFILE
        return unique(c for part in grids.GRIDS[grid](profile).values() for c in part)
    path = Path(grid)
    if not path.is_file():
        raise ValueError(
            f"unknown grid {grid!r}: not one of {sorted(grids.GRIDS)} and not a JSON file"
        )
    try:
        spec = json.loads(path.read_text())
    except (ValueError, OSError) as err:
        raise ValueError(f"grid file {path} is not readable JSON: {err}") from err
    if isinstance(spec, dict) and profile is None and "profile" not in spec.get("vary", {}):
        profile = dict(spec.get("fixed") or {}).get("profile", DEFAULT_PROFILE)
    try:
        return unique(grid_from_spec(spec, profile))
    except (ValueError, TypeError) as err:
        raise type(err)(f"grid file {path}: {err}") from err


# --------------------------------------------------------------------------
# Running


@dataclass
class SweepResult:
    """What a sweep did: keys run, keys skipped (already stored), and failures."""

    ran: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[tuple[RunConfig, str]] = field(default_factory=list)

    def summary(self) -> str:
        lines = [
            f"{len(self.ran)} ran, {len(self.skipped)} already stored, {len(self.failed)} failed"
        ]
        for config, error in self.failed:
            lines.append(f"  FAILED {config}: {error}")
        return "\n".join(lines)


def sweep(
    configs: list[RunConfig],
    *,
    jobs: int | None = None,
    retries: int = 1,
    store: Store | None = None,
    out_dir: Path | None = None,
    progress: bool = True,
    executor: str = "local",
    **executor_options,
) -> SweepResult:
    """Run every config not yet in the store, ``jobs`` at a time.

    ``executor`` is ``"local"`` (threads here) or ``"ray"``; the Ray
    executor's own options (``address``, ``gpus_per_run``, ...) are passed
    through to :func:`lib.experiments.execute.ray_executor.run`.
    """
    if executor not in EXECUTORS:
        raise ValueError(f"unknown executor {executor!r}; allowed: {', '.join(EXECUTORS)}")
    if executor == "local" and executor_options:
        raise ValueError(f"options {sorted(executor_options)} need executor='ray'")
    if jobs is not None and (not isinstance(jobs, int) or jobs < 1):
        raise ValueError(f"jobs must be a positive int, got {jobs!r}")
    if not isinstance(retries, int) or retries < 0:
        raise ValueError(f"retries must be an int >= 0, got {retries!r}")
    configs = unique(configs)
    store = store or Store()
    out_dir = Path(out_dir) if out_dir is not None else RUNS_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    runner.sweep_hidden_notebooks(out_dir)  # left by killed runs
    result = SweepResult()
    pending: list[Plan] = []  # each point planned once, here: its key travels with it
    for plan in (plan_of(config) for config in configs):
        if store.load(plan.key) is not None:
            result.skipped.append(plan.key)
        else:
            pending.append(plan)
    if not pending:
        return result
    notebook = notebook_of(out_dir=out_dir / ".nb")
    if executor == "ray":
        from lib.experiments.execute import (
            ray_executor as sweep_ray,  # Ray is imported only when asked for
        )

        run = functools.partial(sweep_ray.run, **executor_options)
    else:
        run = _run_local
    outcomes = run(pending, notebook, store=store, out_dir=out_dir, jobs=jobs, retries=retries)
    bar = tqdm(total=len(pending), desc="sweep", unit="run", disable=not progress)
    try:
        for outcome in outcomes:
            if outcome.skipped:
                result.skipped.append(outcome.key)
            elif outcome.error is None:
                result.ran.append(outcome.key)
            else:
                result.failed.append((outcome.config, outcome.error))
            bar.update()
    finally:
        bar.close()
        outcomes.close()  # an interrupted executor stops its work before we return
    return result


def _run_local(pending, notebook: Path, *, store: Store, out_dir: Path, jobs, retries: int):
    """The local executor: ``jobs`` threads, each running papermill executions in turn.

    Ctrl-C (or closing this generator) cancels the queued points and
    interrupts the running kernels, then removes what they left half-written:
    only complete runs stay in the store.
    """
    gpus = torch.cuda.device_count()
    jobs = jobs or max(gpus, 1)
    cancel = threading.Event()

    def work(slot: int, plan: Plan) -> Outcome:
        device = f"cuda:{slot % gpus}" if gpus else None
        key, config = plan.key, plan.config
        error = "interrupted"
        for _ in range(1 + retries):
            if cancel.is_set():
                return Outcome(key, config, "interrupted")
            try:
                execute(notebook, out_dir / f"{key}.ipynb", parameters_of(config, device))
                return Outcome(key, config)
            except Exception as err:  # a failed run must not stop the grid
                error = "interrupted" if cancel.is_set() else short_error(err)
        return Outcome(key, config, error)

    # The kernels papermill starts inherit the environment: point them at our
    # store and at this project's lib (as the Ray executor does), and mark them
    # as ours (they run in their own sessions).
    token = uuid.uuid4().hex
    env = {
        "ODDS_STORE": str(store.root),
        runner.SWEEP_TOKEN: token,
        "PYTHONPATH": runner.kernel_pythonpath(),
    }
    previous = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    pool, futures = ThreadPoolExecutor(max_workers=jobs), []
    try:
        for i, plan in enumerate(pending):
            futures.append(pool.submit(work, i, plan))
        for future in as_completed(futures):
            yield future.result()
    except BaseException:  # Ctrl-C, or the caller stopped early
        cancel.set()
        pool.shutdown(wait=False, cancel_futures=True)
        runner.interrupt_kernels(token, lambda: all(f.done() for f in futures))
        raise
    finally:
        pool.shutdown(wait=True)
        if cancel.is_set():
            store.sweep_temporary()
            runner.sweep_hidden_notebooks(out_dir)
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lib.experiments.execute.sweep",
        description="Run a grid of one_run executions through papermill.",
    )
    parser.add_argument(
        "--grid",
        default="price",
        help=f"a named grid ({', '.join(grids.GRIDS)}) or a JSON grid file",
    )
    parser.add_argument(
        "--profile",
        default=None,
        choices=profiles.PROFILES,
        help=f"default: a JSON grid's own, else {DEFAULT_PROFILE!r}",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=None,
        help="runs at once (local: one per GPU, one on a CPU; ray: as many as the cluster fits)",
    )
    parser.add_argument("--retries", type=int, default=1, help="retries of a failed run")
    parser.add_argument("--list", action="store_true", help="list the grid's points and exit")
    parser.add_argument(
        "--out-dir", type=Path, default=None, help=f"the runs' notebooks (default: {RUNS_DIR})"
    )
    parser.add_argument(
        "--executor", default="local", choices=EXECUTORS, help="where the runs go (default: local)"
    )
    parser.add_argument(
        "--address",
        default=None,
        help="ray: the cluster's head, e.g. 10.0.0.1:6379 or 'auto' (default: a local instance)",
    )
    parser.add_argument(
        "--gpus-per-run",
        type=float,
        default=None,
        help="ray: GPUs per run, may be a fraction (default: none on a cluster without GPUs, "
        "else 1 for a paper-profile CIFAR-10/ImageNet run and 0.25 for the rest)",
    )
    parser.add_argument(
        "--cpus-per-run", type=float, default=None, help="ray: CPU cores per run (default: 1)"
    )
    args = parser.parse_args(argv)
    ray_options = {
        name: getattr(args, name)
        for name in ("address", "gpus_per_run", "cpus_per_run")
        if getattr(args, name) is not None
    }
    if ray_options and args.executor != "ray":
        parser.error(f"--{'/--'.join(ray_options).replace('_', '-')} need --executor ray")
    try:
        configs = load_grid(args.grid, args.profile)
        if args.executor == "ray":
            from lib.experiments.execute import ray_executor as sweep_ray

            sweep_ray.check_options(**ray_options)
    except (ValueError, TypeError) as err:
        parser.error(str(err))
    if args.list:
        for config in configs:
            print(plan_of(config).key, config)
        return 0
    at = sorted({c.profile for c in configs})
    print(f"{len(configs)} runs in grid {args.grid!r} at profile {', '.join(at)}", file=sys.stderr)
    try:
        result = sweep(
            configs,
            jobs=args.jobs,
            retries=args.retries,
            executor=args.executor,
            out_dir=args.out_dir,
            **ray_options,
        )
    except ConnectionError as err:  # Ray could not reach the cluster
        parser.exit(2, f"error: {err}\n")
    except KeyboardInterrupt:
        print("interrupted: the runs that finished are stored; rerun to resume", file=sys.stderr)
        return 130
    print(result.summary())
    return 1 if result.failed else 0


if __name__ == "__main__":  # python -m lib.experiments.execute.sweep
    sys.exit(main())
