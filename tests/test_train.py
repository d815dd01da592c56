"""The training loop, evaluation, and one run end to end through the store."""

from __future__ import annotations

import pytest
import torch

from lib import models, train
from lib.attacks import PGD
from lib.store import Store
from lib.train import RunConfig, evaluate, train_run


def _tiny_cnn(seed=0):
    torch.manual_seed(seed)
    return models.MnistCNN(channels=(4, 8), hidden=32)


def test_clean_training_learns_and_records_history(mnist_small):
    tr, te = mnist_small
    model = _tiny_cnn()
    hist = train.train(
        model,
        tr.subset(1000, seed=0),
        epochs=2,
        batch_size=50,
        lr=3e-3,
        optimizer="adam",
        eval_data=te,
        progress=False,
    )
    assert [h["epoch"] for h in hist] == [1, 2]
    assert hist[1]["loss"] < hist[0]["loss"]
    assert hist[-1]["test_acc"] > 0.7
    assert not model.training


@pytest.mark.parametrize("mix", ["adversarial", "half"])
def test_adversarial_training_runs_and_is_more_robust(mnist_small, mix):
    tr, te = mnist_small
    attack = PGD(eps=0.2, norm="inf", steps=2, step_size=0.1)
    kw = dict(epochs=2, batch_size=50, lr=3e-3, optimizer="adam", progress=False)
    clean_model = _tiny_cnn()
    train.train(clean_model, tr.subset(1000, seed=0), **kw)
    robust_model = _tiny_cnn()
    train.train(robust_model, tr.subset(1000, seed=0), mix=mix, attack=attack, **kw)
    strong = PGD(eps=0.2, norm="inf", steps=10, step_size=0.05)
    assert evaluate(robust_model, te, strong) > evaluate(clean_model, te, strong) + 0.05


def test_training_is_deterministic_under_a_seed(mnist_small):
    tr, _ = mnist_small
    kw = dict(
        epochs=1,
        batch_size=100,
        lr=0.05,
        precision="fp32",
        progress=False,
        mix="adversarial",
        attack=PGD(eps=0.1, norm=2, steps=1, step_size=0.1),
    )
    a, b = _tiny_cnn(), _tiny_cnn()
    train.train(a, tr.subset(500, seed=0), seed=3, **kw)
    train.train(b, tr.subset(500, seed=0), seed=3, **kw)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))


def test_lr_schedule_and_max_steps(mnist_small):
    tr, _ = mnist_small
    hist = train.train(
        _tiny_cnn(),
        tr.subset(500, seed=0),
        epochs=4,
        batch_size=100,
        lr=0.1,
        lr_milestones=(0.5,),
        progress=False,
    )
    assert [h["lr"] for h in hist] == pytest.approx([0.1, 0.1, 0.01, 0.01])
    hist = train.train(
        _tiny_cnn(),
        tr.subset(500, seed=0),
        epochs=4,
        batch_size=100,
        lr=0.1,
        max_steps=7,
        progress=False,
    )
    assert hist[-1]["steps"] == 7 and len(hist) == 2


def test_evaluate_robust_never_above_standard(mnist_cnn, mnist_small):
    _, te = mnist_small
    clean = evaluate(mnist_cnn, te)
    robust = evaluate(mnist_cnn, te, PGD(eps=0.05, norm="inf", steps=3, step_size=0.02))
    assert 0 <= robust <= clean <= 1
    mnist_cnn.train()
    evaluate(mnist_cnn, te)
    assert mnist_cnn.training
    mnist_cnn.eval()


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(mix="both"), "unknown mix 'both'; allowed: clean, adversarial, half"),
        (dict(mix="half"), "needs an attack"),
        (dict(optimizer="lbfgs"), "unknown optimizer"),
        (dict(epochs=-1), "epochs must be"),
        (dict(lr=0.0), "lr must be > 0"),
    ],
)
def test_bad_training_parameters(mnist_small, kwargs, match):
    tr, _ = mnist_small
    args = dict(epochs=1, batch_size=10, lr=0.1) | kwargs
    with pytest.raises(ValueError, match=match):
        train.train(_tiny_cnn(), tr.subset(20, seed=0), **args)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(dataset="svhn"), "unknown dataset"),
        (dict(profile="laptop"), "unknown profile"),
        (dict(norm=1), 'norm must be "inf" or 2'),
        (dict(mix="adversarial", eps_train=-0.1), "eps must be"),
        (dict(mix="clean", eps_train=0.1), "set eps_train=0"),
        (dict(mix="adversarial"), "needs eps_train > 0"),
    ],
)
def test_bad_run_configs(kwargs, match):
    with pytest.raises(ValueError, match=match):
        RunConfig(**({"dataset": "mnist"} | kwargs))


def test_train_run_is_stored_and_reused(tmp_path, monkeypatch):
    store = Store(tmp_path)
    config = RunConfig("mnist", "smoke", mix="adversarial", eps_train=0.3, seed=0)
    model, run = train_run(config, store=store, progress=False)
    m = run.metrics
    assert m["n_train"] == 512 and 0 <= m["adv_acc"] <= m["std_acc"] <= 1
    assert run.record["provenance"]["precision"] in ("bf16", "fp32")

    def no_training(*args, **kwargs):
        raise AssertionError("a stored run must not be trained again")

    monkeypatch.setattr(train, "train", no_training)
    model2, run2 = train_run(config, store=store, progress=False)
    assert run2.key == run.key
    assert all(
        torch.equal(p, q) for p, q in zip(model.parameters(), model2.parameters(), strict=True)
    )
