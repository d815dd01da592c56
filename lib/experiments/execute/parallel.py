"""Train a chapter's missing runs in parallel worker processes on the CPU.

A small model's training step at batch 128 does not keep two cores busy from
one process: Python's bookkeeping is serial and many kernels are too small to
split. Two processes with one thread each train somewhat more images per
second than one process with two threads (:data:`WORKER_GAIN`; the
measurements: `lab/builds.md`, `lab/trials/jobs_trial.py`). So, before
a chapter walks its configurations in order, :func:`train_all` trains the
ones not yet in the store in ``jobs`` spawned workers, each with
``cores // jobs`` threads; the chapter then loads them from the store.
:func:`strong_eval_all` does the same for strong evaluations, and
:func:`in_workers` maps any picklable function (the B4 audits).

Only where it pays: on a CUDA device, with one job, or with fewer than two
runs to train, nothing is spawned (the chapter trains in its own process,
as before). Nor where the runs are too unequal for the workers to share
them: each run's cost is estimated from its recipe (:func:`run_cost`), and
workers are used only when the longest queue they would get (the runs sorted
longest first, each to the worker free first) beats one process with every
thread on the same work. The one-run chapter's robust run costs about four
times its standard twin: in two workers the twin would end early and leave
one core idle. The decision reads only the recipes, so a run's thread count
(and with it its numbers) does not depend on timing.
``ODDS_JOBS`` sets the number of workers (``1`` turns this off).

A run's numbers depend on the threads it trained with (the order of
floating-point sums in oneDNN's kernels), not only on its seed: a seeded
run reproduces exactly at the same thread count. Each record gives its
thread count under ``provenance["threads"]``.
"""

from __future__ import annotations

import functools
import heapq
import math
import os
import pickle
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context

import torch
from tqdm.auto import tqdm

from lib import data as data_lib
from lib import runtime
from lib.experiments import evals, profiles
from lib.experiments.make_run import schedule
from lib.experiments.runs import Plan, RunConfig, plan_of, train_run
from lib.experiments.store import Store

JOBS_ENV = "ODDS_JOBS"

#: Images per second of ``jobs`` one-thread workers over one ``jobs``-thread
#: process, as measured on whole `cpu` builds (the lower of MNIST's and
#: CIFAR-10's gains; `lab/builds.md`). Only the choice of ``jobs`` reads it.
WORKER_GAIN = 1.08

#: Relative cost of one training image's forward and backward pass per
#: architecture (the `cpu` standard runs: CIFAR-10's ResNet-8 about twice
#: the narrowed MNIST CNN). Unknown architectures count as the costliest.
_ARCH_COST = {"mnist_cnn": 1.0, "cifar_resnet": 2.0}


def cpu_cores() -> int:
    """The cores this process may run on (its affinity mask, else the machine's)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover (not Linux)
        return os.cpu_count() or 1


def jobs_for(device) -> int:
    """Worker processes for training on ``device``: ``$ODDS_JOBS``, else 2 on a
    CPU with at least 2 cores, else 1 (a GPU trains one run at a time)."""
    value = os.environ.get(JOBS_ENV, "").strip()
    if value:
        if not value.isdigit() or int(value) < 1:
            raise ValueError(f"{JOBS_ENV} must be a positive integer, got {value!r}")
        jobs = int(value)
    else:
        jobs = 2 if cpu_cores() >= 2 else 1
    return jobs if torch.device(device).type == "cpu" else 1


def _init_worker(threads: int, filters: list, keep_freed_memory: bool) -> None:
    torch.set_num_threads(threads)
    # As the caller does (a chapter keeps freed memory, lib.chapter.start): a
    # fresh one-thread worker trains the CIFAR-10 recipe about 10% faster with
    # it (lib.runtime.keep_freed_memory), and a caller that measures the C
    # library's default gets it in its workers too.
    if keep_freed_memory:
        runtime.keep_freed_memory()
    # The caller's warning filters (a chapter silences what it reports itself):
    # a worker's warnings reach the notebook cell as stderr, which the book's
    # build turns into an error.
    warnings.filters[:] = filters


def _picklable_filters() -> list:
    out = []
    for f in warnings.filters:
        try:
            pickle.dumps(f)
        except Exception:  # noqa: BLE001 (a filter the worker cannot receive is dropped)
            continue
        out.append(f)
    return out


def _train_one(plan: Plan, root: str) -> None:
    train_run(plan, store=Store(root), progress=False)


def _strong_one(cell: tuple, root: str) -> None:
    plan, eps, norm = cell
    evals.strong_eval(plan, eps, norm=norm, store=Store(root), progress=False)


def in_workers(
    fn, tasks, *, device=None, jobs: int | None = None, desc="tasks", progress=True, costs=None
):
    """``[fn(task) for task in tasks]``, in ``jobs`` spawned workers on a CPU.

    ``fn`` must be picklable (a module-level function, or a ``functools.partial``
    of one); so must the tasks and the results. On a GPU, with one job or one
    task, the list is computed here. A worker's error is raised here, naming
    its task, after the other workers finish. With ``costs`` (one per task,
    relative), the tasks start longest first, so that the last to finish are
    short ones; the results keep the order of ``tasks``.
    """
    tasks = list(tasks)
    order = list(range(len(tasks)))
    if costs is not None:
        costs = list(costs)
        if len(costs) != len(tasks):
            raise ValueError(f"{len(costs)} costs for {len(tasks)} tasks")
        order.sort(key=lambda i: -costs[i])  # stable: equal costs keep their order
    device, jobs = _device_jobs(device, jobs)
    if device.type != "cpu" or jobs < 2 or len(tasks) < 2:
        return [fn(t) for t in tqdm(tasks, desc=desc, disable=not progress or len(tasks) < 2)]
    jobs = min(jobs, len(tasks))
    threads = max(1, cpu_cores() // jobs)
    results, failures = [None] * len(tasks), []
    ctx = get_context("spawn")  # fork would copy the parent's threads (and its OpenMP pool)
    with ProcessPoolExecutor(
        jobs,
        mp_context=ctx,
        initializer=_init_worker,
        initargs=(threads, _picklable_filters(), runtime.freed_memory_kept()),
    ) as pool:
        futures = {pool.submit(fn, tasks[i]): i for i in order}
        bar = tqdm(total=len(tasks), desc=f"{desc} ({jobs} workers)", disable=not progress)
        for f in as_completed(futures):
            i = futures[f]
            if f.exception() is not None:
                failures.append((i, f.exception()))
            else:
                results[i] = f.result()
            bar.update()
        bar.close()
    if failures:
        i, err = min(failures, key=lambda e: e[0])
        task = getattr(tasks[i], "config", tasks[i])  # a run's plan is named by its config
        raise RuntimeError(
            f"{len(failures)} of {len(tasks)} {desc} failed; the first: {task} "
            f"({type(err).__name__}: {err})"
        ) from err
    return results


def _arch_cost(arch: str) -> float:
    return _ARCH_COST.get(arch, max(_ARCH_COST.values()))


def run_cost(config: RunConfig | Plan, device="cpu") -> float:
    """Relative cost of training ``config``: images seen x forward-backward passes
    per image x the architecture's cost, plus the curve's evaluations. Only ratios
    between runs are used (to start the costliest first), so an estimate off
    by a constant factor changes nothing. A PGD-k training
    image costs k + 1 passes (k + 2 for TRADES: the clean and the adversarial
    forward), half of that attack for the half-half mix."""
    plan = plan_of(config, device)
    config, s = plan.config, plan.settings
    n = plan.n_train or data_lib.FULL_SIZES.get(config.dataset, {}).get("train", 100_000)
    batch = s.batch_size or n
    per_epoch = math.ceil(n / batch)
    epochs, max_steps = schedule(plan, per_epoch)  # as lib.experiments.runs.train_run trains it
    steps = max_steps if max_steps is not None else epochs * per_epoch
    attack = s.train_attack.get(config.norm)
    k = attack.steps if attack is not None and config.mix != "clean" else 0
    passes = {"clean": 1, "adversarial": 1 + k, "half": 1 + k / 2, "trades": 2 + k}[config.mix]
    cost = steps * batch * passes
    if config.eval_every:  # the test set's accuracy every eval_every steps
        n_test = s.n_test or data_lib.FULL_SIZES.get(config.dataset, {}).get("test", 10_000)
        # measured at `cpu`: an evaluated image costs about 2/3 of a training pass
        cost += steps / config.eval_every * n_test * 2 / 3
    return cost * _arch_cost(s.arch)


def strong_cost(cell: tuple, device="cpu") -> float:
    """Relative cost of a strong evaluation ``(config, eps, norm)``: its attack
    steps on its images; a standard model's falls at the first attacks' early
    steps (each attack stops on images already broken), so it counts a fifth."""
    plan = plan_of(cell[0], device)
    config = plan.config
    budget = profiles.strong_budget(config.profile)
    steps = (
        budget.pgd_steps * budget.pgd_restarts
        + budget.apgd_steps
        + budget.apgdt_steps * budget.apgdt_targets
    )
    n = plan.settings.n_test_robust or plan.settings.n_test or 10_000
    cost = steps * n * _arch_cost(plan.settings.arch)
    return cost / 5 if config.mix == "clean" else cost


def makespan(costs, jobs: int) -> float:
    """The time ``jobs`` workers take for tasks of ``costs`` (one unit of cost per
    unit of time each), longest first, each to the worker free first."""
    free = [0.0] * jobs
    for c in sorted(costs, reverse=True):
        heapq.heappush(free, heapq.heappop(free) + c)
    return max(free)


def workers_pay(costs, jobs: int) -> bool:
    """Whether ``jobs`` one-thread workers finish tasks of ``costs`` before one
    process with all the threads, which runs at ``jobs / WORKER_GAIN`` workers'
    speed (see :data:`WORKER_GAIN`)."""
    costs = list(costs)
    if jobs < 2 or len(costs) < 2:
        return False
    return makespan(costs, jobs) < sum(costs) * WORKER_GAIN / jobs


def _missing(items, key, store: Store) -> list:
    out, seen = [], set()
    for item in items:
        k = key(item)
        if k not in seen and store.load(k) is None:
            out.append(item)
        seen.add(k)
    return out


def _planned_cell(cell: tuple, device) -> tuple:
    config, eps, norm = cell
    return plan_of(config, device), eps, norm


def _device_jobs(device, jobs):
    device = torch.device(device) if device is not None else runtime.default_device()
    jobs = jobs if jobs is not None else jobs_for(device)
    if not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be a positive int, got {jobs!r}")
    return device, jobs


def _run_missing(items, plan, key, cost, fn, *, device, store, jobs, desc, progress) -> list:
    """``fn(plan(item), root=...)`` in workers for every item whose ``key`` is not in
    the store; [] (nothing run) where workers would not pay (see the module doc).

    Each item is planned once here (``plan(item, device)``: its run's Plan, key
    included); its key, its cost and its worker all read that plan.
    """
    device, jobs = _device_jobs(device, jobs)
    store = store or Store()
    planned = [(item, plan(item, device)) for item in items]
    missing = _missing(planned, lambda pair: key(pair[1]), store)
    if device.type != "cpu":
        return []
    tasks = [task for _, task in missing]
    costs = [cost(task, device) for task in tasks]
    if not workers_pay(costs, min(jobs, len(missing))):
        return []
    fn = functools.partial(fn, root=str(store.root))
    in_workers(fn, tasks, device=device, jobs=jobs, desc=desc, progress=progress, costs=costs)
    return [item for item, _ in missing]


def train_all(
    configs,
    *,
    device=None,
    store: Store | None = None,
    jobs: int | None = None,
    progress: bool = True,
) -> list[RunConfig]:
    """Train every config of ``configs`` that is not in ``store``, ``jobs`` at a time.

    Returns the configs trained here (none when nothing was spawned, or when one
    run is so long that the workers would not pay (:func:`workers_pay`): the
    caller's own :func:`lib.experiments.runs.train_run` calls then train them). A worker's
    error is raised here, naming its config, after the other workers finish.
    """
    return _run_missing(
        configs,
        plan_of,
        lambda plan: plan.key,
        run_cost,
        _train_one,
        device=device,
        store=store,
        jobs=jobs,
        desc="runs",
        progress=progress,
    )


def _strong_key(cell: tuple) -> str:
    plan, eps, norm = cell
    return evals.strong_eval_key(plan, eps, norm=norm)


def strong_eval_all(
    cells,
    *,
    device=None,
    store: Store | None = None,
    jobs: int | None = None,
    progress: bool = True,
) -> list[tuple]:
    """:func:`lib.experiments.evals.strong_eval` of every ``(config, eps, norm)`` not in ``store``,
    ``jobs`` at a time (as :func:`train_all`; a model not yet trained is trained
    by its worker). Returns the cells evaluated here."""
    return _run_missing(
        cells,
        _planned_cell,
        _strong_key,
        strong_cost,
        _strong_one,
        device=device,
        store=store,
        jobs=jobs,
        desc="strong evaluations",
        progress=progress,
    )
