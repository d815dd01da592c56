"""TRADES: the loss, its KL adversary, and the training mix."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from lib import models, trades, train
from lib.attacks import PGD
from lib.experiments import runs
from lib.experiments.runs import RunConfig
from lib.train import evaluate


def _tiny_cnn(seed=0):
    torch.manual_seed(seed)
    return models.MnistCNN(channels=(4, 8), hidden=32)


def test_kl_by_hand():
    clean = torch.tensor([[0.0, 0.0], [2.0, 0.0]])
    assert trades.kl_per_example(clean, clean).abs().max() < 1e-7
    p = torch.softmax(clean[1], 0)
    q = torch.softmax(torch.tensor([0.0, 2.0]), 0)
    want = (p * (p / q).log()).sum()
    got = trades.kl_per_example(clean[1:], torch.tensor([[0.0, 2.0]]))
    assert got.item() == pytest.approx(want.item(), rel=1e-5)


def test_loss_is_cross_entropy_at_beta_0(mnist_small, mnist_cnn):
    _, te = mnist_small
    x, y = te.inputs(slice(0, 64)), te.y[:64]
    x_adv = (x + 0.3 * torch.randn_like(x)).clamp(0, 1)
    loss, clean = trades.trades_loss(mnist_cnn, x, x_adv, y, beta=0.0)
    assert torch.equal(loss, F.cross_entropy(mnist_cnn(x), y))
    assert torch.equal(clean, mnist_cnn(x))
    loss6, _ = trades.trades_loss(mnist_cnn, x, x_adv, y, beta=6.0)
    kl = trades.kl_per_example(mnist_cnn(x), mnist_cnn(x_adv)).mean()
    assert loss6.item() == pytest.approx((loss + 6 * kl).item(), rel=1e-5)
    with pytest.raises(ValueError):
        trades.trades_loss(mnist_cnn, x, x_adv, y, beta=-1.0)


def test_kl_attack_increases_kl_and_stays_in_the_ball(mnist_small, mnist_cnn):
    _, te = mnist_small
    x = te.inputs(slice(0, 128))
    attack = trades.TradesAttack(eps=0.3, norm="inf", steps=10, step_size=0.05)
    g = torch.Generator().manual_seed(0)
    grads = [None if p.grad is None else p.grad.clone() for p in mnist_cnn.parameters()]
    mnist_cnn.train()  # the attack runs in eval mode and restores the mode
    x_adv = attack(mnist_cnn, x, None, generator=g)
    assert mnist_cnn.training
    mnist_cnn.eval()
    assert (x_adv - x).abs().max() <= 0.3 + 1e-6 and x_adv.min() >= 0 and x_adv.max() <= 1
    start = (x + trades.INIT_STD * torch.randn(x.shape, generator=g)).clamp(0, 1)
    with torch.no_grad():
        clean = mnist_cnn(x)
        kl_start = trades.kl_per_example(clean, mnist_cnn(start)).mean()
        kl_adv = trades.kl_per_example(clean, mnist_cnn(x_adv)).mean()
    assert kl_adv > 100 * kl_start and kl_adv > 0.1
    for p, before in zip(mnist_cnn.parameters(), grads, strict=True):  # input gradients only
        assert (p.grad is None and before is None) or torch.equal(p.grad, before)
    assert "TRADES" in attack.describe()
    like = trades.TradesAttack.like(PGD(eps=0.3, norm="inf", steps=40, step_size=0.01))
    assert (like.eps, like.steps, like.step_size) == (0.3, 40, 0.01)


def test_trades_training_runs_and_is_more_robust(mnist_small):
    tr, te = mnist_small
    kw = dict(epochs=2, batch_size=50, lr=3e-3, optimizer="adam", progress=False)
    clean_model = _tiny_cnn()
    train.train(clean_model, tr.subset(1000, seed=0), **kw)
    model = _tiny_cnn()
    attack = trades.TradesAttack(eps=0.2, norm="inf", steps=2, step_size=0.1)
    hist = train.train(model, tr.subset(1000, seed=0), mix="trades", attack=attack, beta=6.0, **kw)
    assert len(hist) == 2 and hist[-1]["loss"] < hist[0]["loss"]
    strong = PGD(eps=0.2, norm="inf", steps=10, step_size=0.05)
    assert evaluate(model, te, strong) > evaluate(clean_model, te, strong) + 0.05


def test_trades_mix_arguments_are_checked(mnist_small):
    tr, _ = mnist_small
    data = tr.subset(100, seed=0)
    kw = dict(epochs=1, batch_size=50, lr=1e-3, progress=False)
    attack = trades.TradesAttack(eps=0.1, norm="inf", steps=1, step_size=0.1)
    with pytest.raises(ValueError, match="beta"):
        train.train(_tiny_cnn(), data, mix="trades", attack=attack, **kw)
    with pytest.raises(ValueError, match="beta"):
        train.train(_tiny_cnn(), data, beta=1.0, **kw)
    with pytest.raises(ValueError, match="TradesAttack"):
        pgd = PGD(eps=0.1, norm="inf", steps=1, step_size=0.1)
        train.train(_tiny_cnn(), data, mix="trades", attack=pgd, beta=1.0, **kw)
    with pytest.raises(ValueError, match="beta"):
        RunConfig("mnist", "smoke", mix="trades", eps_train=0.3)
    with pytest.raises(ValueError, match="beta"):
        RunConfig("mnist", "smoke", mix="adversarial", eps_train=0.3, beta=1.0)
    # the store keys of the existing mixes do not change
    assert "beta" not in RunConfig("mnist", "smoke").key_dict()
    assert (
        RunConfig("mnist", "smoke", mix="trades", eps_train=0.3, beta=6.0).key_dict()["beta"] == 6
    )


def test_trades_run_through_the_store():
    config = RunConfig("mnist", "smoke", mix="trades", eps_train=0.3, beta=1.0)
    model, run = runs.train_run(config, progress=False)
    assert run.metrics["train_attack"].startswith("TRADES KL l_inf eps=0.3")
    assert 0 <= run.metrics["adv_acc"] <= run.metrics["std_acc"] + 0.2
