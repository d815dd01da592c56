"""lib.experiments.execute.parallel: a chapter's missing runs trained in CPU worker processes."""

import concurrent.futures
import math
import os
import warnings

import pytest

from lib import runtime
from lib.experiments import evals
from lib.experiments.execute import parallel
from lib.experiments.runs import RunConfig, run_key, train_run
from lib.experiments.store import Store


def test_jobs_come_from_the_environment_or_the_cores(monkeypatch):
    monkeypatch.delenv(parallel.JOBS_ENV, raising=False)
    assert parallel.jobs_for("cpu") == (2 if parallel.cpu_cores() >= 2 else 1)
    assert parallel.jobs_for("cuda") == 1  # a GPU trains one run at a time
    monkeypatch.setenv(parallel.JOBS_ENV, "3")
    assert parallel.jobs_for("cpu") == 3
    for bad in ("0", "-1", "two", "1.5"):
        monkeypatch.setenv(parallel.JOBS_ENV, bad)
        with pytest.raises(ValueError, match="ODDS_JOBS must be a positive integer"):
            parallel.jobs_for("cpu")
    with pytest.raises(ValueError, match="jobs must be a positive int"):
        parallel.train_all([], device="cpu", store=Store(), jobs=0)


def test_missing_runs_are_trained_by_workers_and_then_loaded(tmp_path, monkeypatch):
    store = Store(tmp_path)
    configs = [RunConfig("mnist", "smoke", n_train=128, max_steps=3, seed=s) for s in (0, 1)] + [
        RunConfig("mnist", "smoke", n_train=128, max_steps=3, seed=0)
    ]  # a duplicate
    trained = parallel.train_all(configs, device="cpu", store=store, jobs=2, progress=False)
    assert trained == configs[:2]
    for c in configs:
        run = store.load(run_key(c, "cpu"))
        assert run is not None and run.metrics["steps"] == 3
        # each worker ran with its share of the cores, and says so
        assert run.record["provenance"]["threads"] == max(1, parallel.cpu_cores() // 2)
    # nothing left to train: no worker is spawned, and train_run loads
    assert parallel.train_all(configs, device="cpu", store=store, jobs=2) == []

    def no_training(*args, **kwargs):
        raise AssertionError("a stored run must not be trained again")

    monkeypatch.setattr("lib.experiments.make_run.train", no_training)
    _, run = train_run(configs[1], store=store, progress=False)
    assert run.metrics["steps"] == 3


def test_one_job_or_one_run_trains_nothing_here(tmp_path):
    store = Store(tmp_path)
    configs = [RunConfig("mnist", "smoke", n_train=128, max_steps=2, seed=s) for s in (0, 1)]
    assert parallel.train_all(configs, device="cpu", store=store, jobs=1) == []
    assert parallel.train_all(configs[:1], device="cpu", store=store, jobs=2) == []
    assert store.load(run_key(configs[0], "cpu")) is None  # left to the caller's train_run


def test_a_workers_error_names_its_config(tmp_path):
    # Configs that pass the parent's checks and fail in the workers: their
    # store's folder has become a file.
    configs = [RunConfig("mnist", "smoke", n_train=128, max_steps=2, seed=s) for s in (0, 1)]
    root = tmp_path / "store"
    store = Store(root)  # not created until written to
    root.write_text("not a folder")
    with pytest.raises(RuntimeError, match=r"2 of 2 runs failed; the first: RunConfig\("):
        parallel.train_all(configs, device="cpu", store=store, jobs=2, progress=False)


def test_missing_strong_evaluations_are_run_by_workers(tmp_path, monkeypatch):
    store = Store(tmp_path)
    config = RunConfig("mnist", "smoke", "adversarial", eps_train=0.3, n_train=128, max_steps=3)
    cells = [(config, 0.1, "inf"), (config, 0.3, "inf"), (config, 0.3, "inf")]
    # the model is trained first here: two workers must not train it twice
    train_run(config, store=store, progress=False)
    done = parallel.strong_eval_all(cells, device="cpu", store=store, jobs=2, progress=False)
    assert done == cells[:2]
    for c, eps, norm in cells:
        assert store.load(evals.strong_eval_key(c, eps, norm=norm, device="cpu")) is not None

    def no_attack(*args, **kwargs):
        raise AssertionError("a stored evaluation must not run again")

    monkeypatch.setattr("lib.attacks.strong.evaluate", no_attack)
    assert 0 <= evals.strong_eval(config, 0.3, store=store, progress=False)["adv_acc"] <= 1
    assert parallel.strong_eval_all(cells, device="cpu", store=store, jobs=2) == []


@pytest.mark.parametrize("jobs", [1, 2])
def test_in_workers_keeps_the_order_and_names_a_failing_task(jobs):
    assert parallel.in_workers(abs, [-3, 1, -2], device="cpu", jobs=jobs, progress=False) == [
        3,
        1,
        2,
    ]
    error = RuntimeError if jobs > 1 else ValueError  # here: the task's own error
    with pytest.raises(error, match="math domain error"):
        parallel.in_workers(math.sqrt, [4.0, -1.0], device="cpu", jobs=jobs, progress=False)
    if jobs > 1:
        with pytest.raises(RuntimeError, match=r"1 of 2 tasks failed; the first: -1\.0"):
            parallel.in_workers(math.sqrt, [4.0, -1.0], device="cpu", jobs=jobs, progress=False)


def test_workers_follow_the_callers_warning_filters():
    # A chapter silences the warnings it reports itself; its workers must too,
    # since their stderr reaches the notebook cell (an error in the book's build).
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        with pytest.raises(RuntimeError, match="UserWarning: a"):
            parallel.in_workers(warnings.warn, ["a", "b"], device="cpu", jobs=2, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        assert parallel.in_workers(warnings.warn, ["a", "b"], device="cpu", jobs=2) == [None, None]


def test_makespan_is_longest_first_to_the_worker_free_first():
    assert parallel.makespan([], 2) == 0
    assert parallel.makespan([5], 2) == 5
    assert parallel.makespan([3, 3, 2, 2], 2) == 5  # {3, 2} and {3, 2}
    assert parallel.makespan([2, 2, 3, 3, 2], 2) == 7  # greedy: {3, 2, 2} and {3, 2}
    assert parallel.makespan([1, 4, 1, 1, 1], 2) == 4  # the long task alone
    assert parallel.makespan([1, 2, 3], 1) == 6


def test_workers_pay_only_where_they_beat_one_process_with_every_thread():
    assert parallel.WORKER_GAIN > 1
    assert parallel.workers_pay([1, 1], 2)  # 1 < 2 * gain / 2
    assert parallel.workers_pay([1] * 10, 2)
    # one run four times the other (the one-run chapter's pair): one process wins
    assert not parallel.workers_pay([1, 4], 2)  # 4 > 5 * gain / 2
    assert not parallel.workers_pay([1, 1], 1) and not parallel.workers_pay([1], 2)


def test_run_cost_follows_the_recipe():
    cost = parallel.run_cost
    std = RunConfig("mnist", "cpu")
    robust = RunConfig("mnist", "cpu", "adversarial", eps_train=0.3)
    half = RunConfig("mnist", "cpu", "half", eps_train=0.3)
    k = 5  # the cpu MNIST training attack's PGD steps (lib.experiments.profiles)
    assert cost(robust) / cost(std) == pytest.approx(1 + k)
    assert cost(half) / cost(std) == pytest.approx(1 + k / 2)
    assert cost(RunConfig("mnist", "cpu", n_train=10_000)) < cost(std)  # fewer images
    curve = RunConfig("mnist", "cpu", "adversarial", eps_train=0.3, eval_every=50)
    assert cost(curve) > cost(robust)  # its evaluations cost too
    assert cost(RunConfig("cifar10", "cpu")) > cost(RunConfig("cifar10", "cpu", n_train=100))
    # the one-run chapter's pair at cpu is too unequal for two workers
    assert not parallel.workers_pay([cost(curve.standard_twin()), cost(curve)], 2)
    # a standard model's strong evaluation is short: its images fall at once
    cells = [(std, 0.3, "inf"), (robust, 0.3, "inf")]
    assert parallel.strong_cost(cells[0]) < parallel.strong_cost(cells[1])


def test_longest_tasks_are_submitted_first_and_results_keep_their_order(tmp_path, monkeypatch):
    # The pool's queue is first in, first out, so the submission order is the
    # start order; a recording executor checks it without racing real workers
    # (which start on a loaded machine at times that a test cannot pin: a late
    # second worker, still importing, can write its start after a later task's).
    submitted = []

    class Recording:
        def __init__(self, *args, **kwargs):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def submit(self, fn, task):
            submitted.append(task)
            future = concurrent.futures.Future()
            future.set_result(fn(task))
            return future

    tasks = [f"t{i}" for i in range(4)]
    with monkeypatch.context() as m:
        m.setattr(parallel, "ProcessPoolExecutor", Recording)
        out = parallel.in_workers(
            str.upper, tasks, device="cpu", jobs=2, progress=False, costs=[1, 3, 2, 3]
        )
    assert out == ["T0", "T1", "T2", "T3"]
    assert submitted == ["t1", "t3", "t2", "t0"]  # longest first; equal costs keep their order
    # real workers: every result comes back in the order of the tasks
    paths = [str(tmp_path / f"t{i}") for i in range(4)]
    out = parallel.in_workers(
        _start_order, paths, device="cpu", jobs=2, progress=False, costs=[1, 3, 2, 4]
    )
    assert out == paths and all(os.path.exists(p) for p in paths)
    with pytest.raises(ValueError, match="2 costs for 4 tasks"):
        parallel.in_workers(abs, [1, 2, 3, 4], device="cpu", jobs=2, costs=[1, 2])


def test_an_unbalanced_pair_is_left_to_the_caller(tmp_path):
    store = Store(tmp_path)
    short = RunConfig("mnist", "smoke", n_train=128, max_steps=2)
    long = RunConfig("mnist", "smoke", n_train=128, max_steps=20)
    assert not parallel.workers_pay([parallel.run_cost(short), parallel.run_cost(long)], 2)
    assert parallel.train_all([short, long], device="cpu", store=store, jobs=2) == []
    assert store.load(run_key(long, "cpu")) is None  # left to the caller's train_run


def _start_order(path: str) -> str:
    import time

    with open(path, "w") as f:
        f.write(str(time.perf_counter_ns()))
    time.sleep(0.2)
    return path


def _allocator(_):
    from lib import runtime

    return runtime.allocator()


@pytest.mark.parametrize("kept", [True, False])
def test_workers_follow_the_callers_allocator(monkeypatch, kept):
    # A chapter keeps freed memory (a fresh one-thread worker trains faster with
    # it, lib.runtime); its workers must too, and a caller that does not gets
    # the C library's default in its workers as well.
    monkeypatch.setattr(runtime, "_kept", kept)
    out = parallel.in_workers(_allocator, [0, 1], device="cpu", jobs=2, progress=False)
    assert all(("kept" in a) == kept for a in out), out
