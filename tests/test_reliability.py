"""Issue 38: the caller's model left as it was, nothing stale served, diverged
runs refused, bad files named. Each test is one of the failed probes, rerun."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from torch import nn

from lib import attacks, train
from lib.attacks import fast


def _bn_cnn(seed: int = 0) -> nn.Module:
    """A small conv+BN CNN on 1x28x28 images (both CPU paths: folded and plain)."""
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.MaxPool2d(4),
        nn.Flatten(),
        nn.Linear(4 * 7 * 7, 10),
    )


def _batch(n: int = 16, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 1, 28, 28, generator=g), torch.randint(0, 10, (n,), generator=g)


def _pgd(model, x, y, **kw):
    return attacks.pgd(model, x, y, eps=0.1, norm="inf", steps=2, step_size=0.05, **kw)


# --------------------------------------------------------------------------
# 1. The caller's model is left exactly as it was found


def _snapshot(model: nn.Module) -> dict:
    return {
        "modes": [m.training for m in model.modules()],
        "grad": [p.requires_grad for p in model.parameters()],
        "ptr": [t.data_ptr() for t in (*model.parameters(), *model.buffers())],
        "stride": [t.stride() for t in (*model.parameters(), *model.buffers())],
        "class": [type(m) for m in model.modules()],
    }


def _mixed_model() -> nn.Module:
    """Train mode overall, its BatchNorm in eval mode, the first conv frozen."""
    model = _bn_cnn().train()
    model[1].eval()
    model[0].requires_grad_(False)
    return model


@pytest.mark.parametrize("fold", [True, False])
@pytest.mark.parametrize("bn_mode", ["eval", "train"])
def test_pgd_leaves_module_modes_and_requires_grad(fold, bn_mode):
    model = _mixed_model()
    before = _snapshot(model)
    x, y = _batch()
    _pgd(model, x, y, fold=fold, bn_mode=bn_mode, precision="fp32")
    assert _snapshot(model) == before


def test_evaluate_leaves_module_modes_and_requires_grad():
    model = _mixed_model()
    before = _snapshot(model)
    x, y = _batch()
    attack = attacks.PGD(eps=0.1, norm="inf", steps=2, step_size=0.05)
    train.evaluate(model, (x, y), attack, precision="fp32")
    train.evaluate(model, (x, y), precision="fp32")
    assert _snapshot(model) == before


@pytest.mark.parametrize("fold", [True, False])
def test_pgd_keeps_a_shared_memory_model_shared(fold):
    model = _bn_cnn().eval().share_memory()
    before = _snapshot(model)
    x, y = _batch()
    _pgd(model, x, y, fold=fold, precision="fp32")
    train.evaluate(model, (x, y), precision="fp32")
    assert _snapshot(model) == before
    assert all(p.is_shared() for p in model.parameters())


def test_pgd_gives_a_plain_model_its_own_storage_back():
    model = _bn_cnn().eval()
    before = _snapshot(model)
    x, y = _batch()
    _pgd(model, x, y, fold=False, precision="fp32")
    assert _snapshot(model) == before


def test_training_keeps_a_shared_memory_model_shared_and_its_flags():
    model = _bn_cnn().share_memory()
    model[0].requires_grad_(False)
    ptrs = [t.data_ptr() for t in (*model.parameters(), *model.buffers())]
    x, y = _batch(32)
    w = model[5].weight.detach().clone()
    train.train(
        model,
        _tensor_data(x, y),
        epochs=1,
        batch_size=16,
        lr=0.1,
        precision="fp32",
        progress=False,
    )
    assert [t.data_ptr() for t in (*model.parameters(), *model.buffers())] == ptrs
    assert all(p.is_shared() for p in model.parameters())
    assert not model[0].weight.requires_grad and model[5].weight.requires_grad
    assert not torch.equal(model[5].weight, w)  # it trained, in the shared storage


def _tensor_data(x, y):
    from lib.data import TensorData

    return TensorData("mnist", "train", x, y, tuple(str(i) for i in range(10)))


# --------------------------------------------------------------------------
# 2. A prepared copy is never used once it differs from the model's weights


def _edits():
    def data_zero(m):
        m[5].weight.data.zero_()

    def data_assign(m):
        m[5].weight.data = torch.zeros_like(m[5].weight)

    def no_grad_edit(m):
        with torch.no_grad():
            m[0].weight.mul_(-1)

    def load_state(m):
        other = _bn_cnn(seed=1).state_dict()
        m.load_state_dict(other)

    def copy_in(m):
        with torch.no_grad():
            m[5].weight.copy_(torch.randn_like(m[5].weight))

    def bn_stats_data(m):
        m[1].running_var.data.mul_(9.0)

    def inference_mode_edit(m):
        with torch.inference_mode():
            m[0].bias.add_(1.0)

    return [
        data_zero,
        data_assign,
        no_grad_edit,
        load_state,
        copy_in,
        bn_stats_data,
        inference_mode_edit,
    ]


@pytest.mark.parametrize("edit", _edits(), ids=lambda f: f.__name__)
def test_the_folded_copy_follows_any_weight_change(edit):
    model = _bn_cnn().eval()
    x, y = _batch()
    with fast.attack_view(model, "cpu", "eval") as net:  # the folded copy, cached
        assert net is not model
    edit(model)
    with torch.no_grad():
        want = model(x)
    with fast.attack_view(model, "cpu", "eval") as net, torch.no_grad():
        got = net(x)
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4)


def test_evaluate_after_zeroing_the_last_layer_through_data():
    model = _bn_cnn().eval()
    x, _ = _batch(64)
    with torch.no_grad():
        y = model(x).argmax(1)  # the model is right on every image
    assert train.evaluate(model, (x, y), precision="fp32") == 1.0
    model[5].weight.data.zero_()
    model[5].bias.data.zero_()
    model[5].bias.data[3] = 1.0  # now it says 3 to everything
    assert train.evaluate(model, (x, y), precision="fp32") == pytest.approx(
        float((y == 3).float().mean())
    )


# --------------------------------------------------------------------------
# 3. Diverged runs stop and are never stored; records validated by type


def test_a_run_whose_loss_becomes_nan_stops_with_a_clear_error():
    model = _bn_cnn()
    x, y = _batch(32)
    with pytest.raises(train.DivergedError, match="non-finite"):
        train.train(
            model,
            _tensor_data(x, y),
            epochs=3,
            batch_size=16,
            lr=1e30,
            precision="fp32",
            progress=False,
        )


def test_a_run_whose_weights_become_nan_stops():
    model = _bn_cnn()
    model[5].bias.data[0] = float("nan")  # the loss is NaN from the first step
    x, y = _batch(32)
    with pytest.raises(train.DivergedError, match="non-finite"):
        train.train(
            model,
            _tensor_data(x, y),
            epochs=1,
            batch_size=16,
            lr=0.1,
            precision="fp32",
            progress=False,
        )


def test_non_finite_weights_are_never_stored(tmp_path):
    from lib.experiments.store import Store

    s = Store(tmp_path)
    for bad in (float("nan"), float("inf")):
        with pytest.raises(ValueError, match="non-finite"):
            s.save({"k": 1}, metrics={}, state_dict={"w": torch.tensor([1.0, bad])})
        with pytest.raises(ValueError, match="non-finite"):
            s.get_or_run(
                {"k": 2}, lambda b=bad: {"metrics": {}, "state_dict": {"w": torch.tensor([b])}}
            )
    assert s.runs() == []


def test_records_with_wrong_inner_types_are_missing_runs(tmp_path):
    import json

    from lib.experiments import store as store_lib
    from lib.experiments.store import Store

    s = Store(tmp_path)
    run = s.save({"k": 5}, metrics={"acc": 1.0}, state_dict={"w": torch.ones(2)})
    record = json.loads((run.path / store_lib.RECORD).read_text())
    bad = [
        {**record, "history": [1, "two"]},
        {**record, "checkpoint": {**record["checkpoint"], "bytes": True}},
        {**record, "checkpoint": {**record["checkpoint"], "bytes": -1}},
        {**record, "checkpoint": {**record["checkpoint"], "bytes": str(record["checkpoint"])}},
    ]
    for value in bad:
        (run.path / store_lib.RECORD).write_text(json.dumps(value))
        assert s.load(run.key) is None, value


def test_a_reader_s_validation_makes_a_bad_stored_run_recomputed(tmp_path):
    from lib.experiments.store import Store

    s = Store(tmp_path)
    s.save({"k": 6}, metrics={"acc": "high"})  # the wrong type for its reader
    calls = []

    def compute():
        calls.append(1)
        return {"metrics": {"acc": 0.5}}

    def valid(run):
        return isinstance(run.metrics.get("acc"), float)

    assert s.get_or_run({"k": 6}, compute, valid).metrics == {"acc": 0.5}
    assert s.get_or_run({"k": 6}, compute, valid).metrics == {"acc": 0.5}
    assert len(calls) == 1


@pytest.fixture
def fake_training(monkeypatch):
    """train_run without the cost: training does nothing, evaluation counts calls."""
    from lib.experiments import evals, make_run

    calls = {"train": 0, "outcomes": 0}

    def fake_train(model, *a, **k):
        calls["train"] += 1
        return []

    def fake_outcomes(model, data, attack=None, **k):
        calls["outcomes"] += 1
        n = len(data)
        return torch.ones(n, dtype=torch.bool), torch.zeros(n, dtype=torch.long)

    monkeypatch.setattr(make_run, "train", fake_train)
    monkeypatch.setattr(make_run, "outcomes", fake_outcomes)
    monkeypatch.setattr(evals, "outcomes", fake_outcomes)
    return calls


def _smoke():
    from lib.experiments.runs import RunConfig

    return RunConfig("mnist", "smoke", precision="fp32")


def test_a_stored_run_with_a_null_checkpoint_is_retrained(tmp_path, fake_training):
    from lib.experiments import runs
    from lib.experiments.store import Store

    s, config = Store(tmp_path), _smoke()
    plan = runs.plan_of(config, "cpu")
    s.save(plan.key_settings, metrics={"std_acc": 0.9, "adv_acc": 0.1, "n_train": 1, "n_test": 1})
    model, run = runs.train_run(config, store=s, device="cpu", progress=False)  # no TypeError
    assert run.record["checkpoint"] is not None and fake_training["train"] == 1
    runs.train_run(config, store=s, device="cpu", progress=False)
    assert fake_training["train"] == 1  # now stored


@pytest.mark.parametrize(
    "metrics",
    [
        {"std_acc": "0.9", "adv_acc": 0.1, "n_train": 1, "n_test": 1},
        {"std_acc": 0.9, "adv_acc": None, "n_train": 1, "n_test": 1},
        {"std_acc": 0.9, "adv_acc": 0.1, "n_train": True, "n_test": 1},
        {"std_acc": 1.5, "adv_acc": 0.1, "n_train": 1, "n_test": 1},
        {"adv_acc": 0.1, "n_train": 1, "n_test": 1},
    ],
)
def test_a_stored_run_with_metrics_of_the_wrong_type_is_retrained(tmp_path, fake_training, metrics):
    from lib.experiments import runs
    from lib.experiments.store import Store

    s, config = Store(tmp_path), _smoke()
    plan = runs.plan_of(config, "cpu")
    s.save(plan.key_settings, metrics=metrics, state_dict={"w": torch.ones(1)})
    _, run = runs.train_run(config, store=s, device="cpu", progress=False)
    assert fake_training["train"] == 1 and run.metrics["std_acc"] == 1.0


# --------------------------------------------------------------------------
# 4. Stored evaluations bound to their checkpoint; the data fingerprint


def test_a_stored_evaluation_is_refused_after_its_run_is_retrained(tmp_path, fake_training):
    from lib.experiments import evals, runs
    from lib.experiments.store import Store

    s, config = Store(tmp_path), _smoke()
    evals.robust_eval(config, 0.1, norm="inf", store=s, device="cpu", progress=False)
    n = fake_training["outcomes"]
    evals.robust_eval(config, 0.1, norm="inf", store=s, device="cpu", progress=False)
    assert fake_training["outcomes"] == n  # served from the store
    # the run retrained under the same key, with other weights
    plan = runs.plan_of(config, "cpu")
    old = s.load(runs.run_key(config, "cpu"))
    state = {k: v + 1 for k, v in old.state_dict().items() if v.is_floating_point()}
    state |= {k: v for k, v in old.state_dict().items() if not v.is_floating_point()}
    s.save(
        plan.key_settings,
        metrics=old.metrics,
        state_dict=state,
        provenance=old.record["provenance"],
    )
    evals.robust_eval(config, 0.1, norm="inf", store=s, device="cpu", progress=False)
    assert fake_training["outcomes"] > n  # measured again, on the new weights
    stored = s.load(evals.robust_eval_key(config, 0.1, norm="inf", device="cpu"))
    assert (
        stored.record["provenance"]["checkpoint_sha256"]
        == s.load(old.key).record["checkpoint"]["sha256"]
    )


def test_the_content_hash_covers_every_byte(mnist_small):
    train_set, _ = mnist_small
    x = train_set.x.clone()
    sampled = torch.linspace(0, len(x) - 1, steps=min(len(x), 1024)).long()
    other = next(i for i in range(len(x)) if i not in set(sampled.tolist()))
    x[other, 0, 14, 14] ^= 1  # one bit of one image the sampled fingerprint skips
    from dataclasses import replace

    edited = replace(train_set, x=x)
    assert edited.fingerprint() == train_set.fingerprint()  # the key's: unchanged (pinned)
    assert edited.content_hash() != train_set.content_hash()
    y = train_set.y.clone()
    y[other] = (y[other] + 1) % 10
    assert replace(train_set, y=y).content_hash() != train_set.content_hash()


#: torchvision's names of MNIST's idx files (train, test).
MNIST_FILES = (
    ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
)


def _mnist_root(tmp_path, n=20, labels=None, truncate=0):
    """A data root with MNIST idx files of ``n`` images (both splits)."""
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for images, label_file in MNIST_FILES:
        pixels = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        ys = np.asarray(labels if labels is not None else np.arange(n) % 10, dtype=np.uint8)
        img = (0x0803).to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in (n, 28, 28))
        img += pixels.tobytes()
        (raw / images).write_bytes(img[: len(img) - truncate])
        lab = (0x0801).to_bytes(4, "big") + n.to_bytes(4, "big") + ys.tobytes()
        (raw / label_file).write_bytes(lab)
    return tmp_path


def test_the_data_hash_is_cached_by_file_size_and_mtime(tmp_path, monkeypatch):
    import os

    from lib import data

    root = _mnist_root(tmp_path)
    monkeypatch.setenv("ODDS_DATA", str(root))
    first = data.content_hashes("mnist")
    loads = []
    real = data.load
    monkeypatch.setattr(data, "load", lambda *a, **k: loads.append(1) or real(*a, **k))
    assert data.content_hashes("mnist") == first and loads == []  # cached
    path = root / "MNIST" / "raw" / "t10k-images-idx3-ubyte"
    raw = bytearray(path.read_bytes())
    raw[-1] ^= 0xFF
    path.write_bytes(bytes(raw))
    os.utime(path, ns=(1, 1))
    assert data.content_hashes("mnist")["test"] != first["test"] and loads


def test_a_stored_run_of_other_data_bytes_is_retrained(tmp_path, fake_training, monkeypatch):
    from lib.experiments import run_checks, runs
    from lib.experiments.store import Store

    s, config = Store(tmp_path / "store"), _smoke()
    runs.train_run(config, store=s, device="cpu", progress=False)
    runs.train_run(config, store=s, device="cpu", progress=False)
    assert fake_training["train"] == 1
    # usable_run looks the hashes up in lib.experiments.run_checks, where it lives
    monkeypatch.setattr(run_checks, "run_data_hashes", lambda plan: {"train": "x", "test": "y"})
    runs.train_run(config, store=s, device="cpu", progress=False)
    assert fake_training["train"] == 2


# --------------------------------------------------------------------------
# 5. Bad files and values


def test_a_truncated_mnist_file_is_named_not_missing(tmp_path):
    from lib import data

    root = _mnist_root(tmp_path, truncate=100)
    with pytest.raises(ValueError, match="truncated") as err:
        data.load("mnist", "train", root=root, download=False)
    assert "train-images-idx3-ubyte" in str(err.value)
    assert not isinstance(err.value, data.DataNotFoundError)


def test_mnist_labels_outside_0_to_9_are_refused(tmp_path):
    from lib import data

    root = _mnist_root(tmp_path, n=3, labels=[0, 12, 3])
    with pytest.raises(ValueError, match="0-9") as err:
        data.load("mnist", "test", root=root, download=False)
    assert "t10k-labels-idx1-ubyte" in str(err.value)


def test_a_valid_mnist_root_loads(tmp_path):
    from lib import data

    d = data.load("mnist", "train", root=_mnist_root(tmp_path, n=20), download=False)
    assert d.x.shape == (20, 1, 28, 28) and d.y.tolist() == [i % 10 for i in range(20)]


def test_an_empty_npz_split_is_refused(tmp_path):
    from lib import data

    x = np.zeros((0, 32, 32, 3), dtype=np.uint8)
    y = np.zeros(0, dtype=np.int64)
    np.savez(tmp_path / "cifar10.npz", x_train=x, y_train=y, x_test=x, y_test=y)
    with pytest.raises(ValueError, match="no image") as err:
        data.load("cifar10", "train", root=tmp_path, download=False)
    assert str(tmp_path / "cifar10.npz") in str(err.value)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"n_train": True},
        {"n_train": 0},
        {"n_train": -5},
        {"max_steps": True},
        {"max_steps": -1},
        {"eval_every": False},
    ],
)
def test_sizes_must_be_positive_ints(kwargs):
    from lib.experiments.runs import RunConfig

    with pytest.raises(ValueError, match="positive int") as err:
        RunConfig("mnist", "smoke", **kwargs)
    assert "not a bool" in str(err.value)


@pytest.mark.parametrize("eps", [True, False])
def test_a_bool_is_not_an_eps(eps):
    from lib.experiments.runs import RunConfig

    with pytest.raises(ValueError, match="eps"):
        RunConfig("mnist", "smoke", "adversarial", eps_train=eps)
    with pytest.raises(ValueError, match="eps"):
        attacks.PGD(eps=eps, norm="inf", steps=1, step_size=0.1)


def test_a_bool_is_not_a_step_count():
    with pytest.raises(ValueError, match="steps"):
        attacks.PGD(eps=0.1, norm="inf", steps=True, step_size=0.1)
    with pytest.raises(ValueError, match="restarts"):
        attacks.PGD(eps=0.1, norm="inf", steps=1, step_size=0.1, restarts=True)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": -4}, "batch_size"),
        ({"batch_size": True}, "batch_size"),
        ({"max_steps": -1}, "max_steps"),
        ({"epochs": True}, "epochs"),
    ],
)
def test_training_refuses_bad_sizes(kwargs, match):
    x, y = _batch(8)
    args = dict(epochs=1, batch_size=4, lr=0.1, precision="fp32", progress=False) | kwargs
    with pytest.raises(ValueError, match=match):
        train.train(_bn_cnn(), _tensor_data(x, y), **args)


def test_training_on_empty_data_is_an_error():
    x, y = _batch(8)
    with pytest.raises(ValueError, match="empty"):
        train.train(
            _bn_cnn(),
            _tensor_data(x[:0], y[:0]),
            epochs=1,
            batch_size=None,
            lr=0.1,
            precision="fp32",
            progress=False,
        )


def test_subset_sizes_refuse_bools(mnist_small):
    from lib import data

    train_set, _ = mnist_small
    with pytest.raises(ValueError, match="positive int"):
        train_set.subset(True)
    with pytest.raises(ValueError, match="positive int"):
        data.load_split("mnist", "test", True, seed=0, device="cpu")
    with pytest.raises(ValueError, match="positive int"):
        next(train_set.batches(True))


def test_equal_eps_make_equal_keys(monkeypatch):
    from lib.experiments import runs
    from lib.experiments.runs import RunConfig, run_key

    monkeypatch.setattr(runs.data_lib, "fingerprints", lambda d, **_: {"train": "a", "test": "b"})
    a = RunConfig("mnist", "cpu", "adversarial", norm=2, eps_train=2, precision="fp32")
    b = RunConfig("mnist", "cpu", "adversarial", norm=2, eps_train=2.0, precision="fp32")
    assert a == b and run_key(a, "cpu") == run_key(b, "cpu")
    c = RunConfig("mnist", "cpu", eps_eval=1, precision="fp32")
    d = RunConfig("mnist", "cpu", eps_eval=1.0, precision="fp32")
    assert run_key(c, "cpu") == run_key(d, "cpu")
    assert isinstance(a.eps_train, float) and isinstance(c.eps_eval, float)


# --------------------------------------------------------------------------
# 6. Sweep kernels import the swept project's lib


def test_local_sweep_kernels_import_this_project_s_lib(tmp_path, monkeypatch):
    from pathlib import Path

    import lib
    from lib.experiments.execute import sweep
    from lib.experiments.runs import RunConfig
    from lib.experiments.store import Store

    root = str(Path(lib.__file__).resolve().parents[1])
    monkeypatch.setenv("PYTHONPATH", "/somewhere/else")
    seen = []

    def fake_execute(notebook, out, params, cwd=None):
        seen.append(os.environ["PYTHONPATH"])

    monkeypatch.setattr(sweep, "execute", fake_execute)
    monkeypatch.setattr(sweep, "notebook_of", lambda out_dir=None: tmp_path / "nb.ipynb")
    config = RunConfig("mnist", "smoke", precision="fp32")
    sweep.sweep(
        [config],
        store=Store(tmp_path / "store"),
        out_dir=tmp_path / "out",
        progress=False,
        retries=0,
    )
    assert seen and seen[0].split(os.pathsep)[0] == root
    assert seen[0].split(os.pathsep)[1] == "/somewhere/else"
    assert os.environ["PYTHONPATH"] == "/somewhere/else"  # given back


@pytest.mark.parametrize("text", ['{"chapter": "theory", "prof', "[1, 2]", "\udcff"])
def test_a_corrupt_claim_file_is_named(tmp_path, text):
    """Before: a truncated claim file raised a bare JSONDecodeError naming no file."""
    from lib import chapter

    folder = chapter.claims_dir("smoke", tmp_path)
    folder.mkdir(parents=True)
    path = folder / "theory.json"
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    with pytest.raises(ValueError, match=r"claim file .*theory\.json.*re-run chapter 'theory'"):
        chapter.load_results("smoke", tmp_path)
