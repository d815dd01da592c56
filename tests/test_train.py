"""The training loop, evaluation, and one run end to end through the store."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lib import attacks, data, models, train
from lib.attacks import PGD
from lib.experiments import evals, runs
from lib.experiments.runs import RunConfig, train_run
from lib.experiments.store import Store
from lib.train import evaluate


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


class _SetTo:
    """An "attack" that moves each input to a one-hot point of the class it names.

    ``fool``: the class after ``y`` where ``x0 + x1 > 1``, ``y`` itself elsewhere;
    with the identity model that is a wrong answer there and a right one elsewhere.
    """

    def __init__(self, fool):
        self.fool, self.seen = fool, 0

    def __call__(self, model, x, y, **_):
        self.seen += len(x)
        target = torch.where(self.fool(x), (y + 1) % 2, y)
        return torch.nn.functional.one_hot(target, 2).float()


def test_robust_accuracy_counts_only_examples_right_before_and_after():
    # The identity model on 2-d inputs: argmax of the input. An attack that makes
    # every example right must not lift the examples already wrong (catches robust
    # counting that ignores the clean answer); one that fools some must lower exactly
    # those (catches an adversarial answer not written back per example).
    model = torch.nn.Linear(2, 2)
    with torch.no_grad():
        model.weight.copy_(torch.eye(2))
        model.bias.zero_()
    g = torch.Generator().manual_seed(0)
    x = torch.rand(53, 2, generator=g)
    y = torch.randint(0, 2, (53,), generator=g)
    clean_ok = x.argmax(1) == y
    assert 0 < int(clean_ok.sum()) < 53
    help_all = _SetTo(lambda x: torch.zeros(len(x), dtype=torch.bool))
    fool_some = _SetTo(lambda x: x.sum(1) > 1)
    kw = dict(batch_size=10, precision="fp32")
    assert evaluate(model, (x, y), **kw) == int(clean_ok.sum()) / 53
    assert evaluate(model, (x, y), help_all, **kw) == int(clean_ok.sum()) / 53
    assert help_all.seen == int(clean_ok.sum())  # only the clean-correct are attacked
    robust_ok = clean_ok & ~(x.sum(1) > 1)
    assert evaluate(model, (x, y), fool_some, **kw) == int(robust_ok.sum()) / 53
    ok, labels = train.outcomes(model, (x, y), fool_some, **kw)
    assert torch.equal(ok, robust_ok) and torch.equal(labels, y)
    per_class = [float(robust_ok[y == c].float().mean()) for c in (0, 1)]
    balanced = evaluate(model, (x, y), fool_some, balanced=True, **kw)
    assert balanced == pytest.approx(sum(per_class) / 2)
    model.train()
    evaluate(model, (x, y), **kw)
    assert model.training  # its mode is restored


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
        (dict(beta=6.0), "^beta is TRADES' weight: set it with mix='trades' only$"),
        (dict(mix="trades", eps_train=0.1, beta=-1.0), "beta must be a (finite )?number >= 0"),
        (dict(mix="trades", eps_train=0.1), "beta is TRADES' weight"),
        (dict(n_train=0), r"n_train must be a positive int \(1, 2, ...; not a bool\) or None"),
        (dict(seed=-1), r"seed must be an int in \[0, 2\*\*63\)"),
        (dict(variant="paper"), "variant is a Restricted ImageNet option"),
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


def test_half_batches_are_half_clean_half_adversarial(mnist_small):
    tr, _ = mnist_small
    model = _tiny_cnn()
    seen = []

    def marker_attack(model, x, y, **_):  # the Attack protocol: precision etc. ignored
        return torch.ones_like(x)  # adversarial examples are recognizable: all ones

    def count(module, args):
        if module.training:
            x = args[0]
            seen.append(((x.flatten(1) == 1).all(1).sum().item(), len(x)))

    model.register_forward_pre_hook(count)
    train.train(
        model,
        tr.subset(256, seed=0),
        epochs=1,
        batch_size=64,
        lr=0.01,
        mix="half",
        attack=marker_attack,
        progress=False,
    )
    assert seen == [(32, 64)] * 4


@pytest.mark.parametrize("bn_mode", ["eval", "train"])
def test_bn_mode_switches_the_mode_during_the_attack(bn_mode):
    torch.manual_seed(0)
    model = models.CifarResNet(widths=(4, 4, 8, 8), units=1)
    modes = []
    model.bn.register_forward_pre_hook(lambda m, a: modes.append(m.training))
    model.eval()
    before = {k: v.clone() for k, v in model.named_buffers()}
    x, y = torch.rand(8, 3, 32, 32), torch.randint(0, 10, (8,))
    from lib.attacks import pgd

    pgd(model, x, y, eps=0.03, norm="inf", steps=2, step_size=0.01, bn_mode=bn_mode)
    assert modes and all(m == (bn_mode == "train") for m in modes)
    assert not model.training
    assert all(torch.equal(before[k], v) for k, v in model.named_buffers())
    with pytest.raises(ValueError, match="bn_mode must be one of"):
        pgd(model, x, y, eps=0.03, norm="inf", steps=1, step_size=0.01, bn_mode="frozen")


def test_train_loop_passes_bn_mode_to_the_attack(mnist_small):
    torch.manual_seed(0)
    model = models.CifarResNet(widths=(4, 4, 8, 8), units=1)
    modes = []
    model.bn.register_forward_pre_hook(lambda m, a: modes.append(m.training))
    data = mnist_small[0]  # any images: only the modes matter here
    x = data.inputs(slice(0, 64)).expand(-1, 3, -1, -1)
    x = torch.nn.functional.pad(x, (2, 2, 2, 2))
    from lib.data import TensorData

    ds = TensorData("toy", "train", (x * 255).to(torch.uint8), data.y[:64], tuple("0123456789"))
    attack = PGD(eps=0.03, norm="inf", steps=1, step_size=0.03)
    for bn_mode, expect_eval in (("eval", True), ("train", False)):
        modes.clear()
        train.train(
            model,
            ds,
            epochs=1,
            batch_size=32,
            lr=0.01,
            mix="adversarial",
            attack=attack,
            bn_mode=bn_mode,
            progress=False,
        )
        assert (False in modes) == expect_eval


@pytest.mark.parametrize("dataset,eps", [("mnist", 0.3), ("cifar10", 8 / 255)])
def test_paper_profile_models_train_two_steps(dataset, eps):
    """The paper's models, eps, PGD and schedule wiring, two steps on the CPU."""
    from lib import data
    from lib.experiments import profiles
    from lib.experiments.runs import plan_of

    s = profiles.settings(dataset, "paper")
    plan = plan_of(RunConfig(dataset, "paper", mix="adversarial", eps_train=eps))
    assert plan.steps == {"mnist": 100_000, "cifar10": 80_000}[dataset]
    if dataset == "cifar10":
        assert [round(f * plan.steps) for f in s.lr_milestones] == [40_000, 60_000]
        assert (s.lr, s.momentum, s.weight_decay, s.batch_size) == (0.1, 0.9, 2e-4, 128)
    else:
        assert (s.lr, s.batch_size, s.optimizer) == (1e-4, 50, "adam")
    attack = s.attack(eps, "inf")
    assert attack.eps == eps and attack.steps == {"mnist": 40, "cifar10": 7}[dataset]
    torch.manual_seed(0)
    model = models.build(s.arch, **s.model_kwargs)
    assert models.count_parameters(model) == {"mnist": 3_274_634, "cifar10": 464_154}[dataset]
    ds = data.load(dataset, "train").subset(2 * s.batch_size, seed=0)
    recipe = train.Recipe.of(s, epochs=1, max_steps=2, mix="adversarial", attack=attack)
    hist = train.train(model, ds, recipe, progress=False)
    assert hist[-1]["steps"] == 2 and np.isfinite(hist[-1]["loss"])


def test_run_config_steps_and_sizes(tmp_path):
    store = Store(tmp_path)
    config = RunConfig("mnist", "smoke", n_train=128, max_steps=5)
    _, run = train_run(config, store=store, progress=False)
    assert run.metrics["n_train"] == 128 and run.metrics["steps"] == 5
    with pytest.raises(ValueError, match="n_train must be a positive int"):
        RunConfig("mnist", "smoke", n_train=0)
    with pytest.raises(ValueError, match="larger than the mnist train set"):
        train_run(RunConfig("mnist", "smoke", n_train=70_000), store=store, progress=False)


def test_robust_eval_uses_the_norm_asked_for(tmp_path):
    store = Store(tmp_path)
    config = RunConfig("mnist", "smoke")
    _, run = train_run(config, store=store, progress=False)
    linf = evals.robust_eval(config, 0.5, norm="inf", store=store, progress=False)
    l2 = evals.robust_eval(config, 0.5, norm=2, store=store, progress=False)
    # l_inf 0.5 lets every pixel flip to mid-grey: nothing survives. l2 0.5 is small.
    assert linf == 0.0 and l2 > linf
    assert evals.robust_eval(config, 0.5, norm=2, store=store, progress=False) == l2  # stored
    assert len(store.runs()) == 3


def test_results_carry_each_runs_key(tmp_path):
    from lib.experiments.results import Results

    config = RunConfig("mnist", "smoke", n_train=64, max_steps=2)
    r = Results.of([config], store=Store(tmp_path), device="cpu")
    assert r.keys == {config: runs.run_key(config, "cpu")}
    assert r.runs[config]["steps"] == 2 and Store(tmp_path).load(r.keys[config]) is not None


def test_results_query_and_summaries():
    from lib.experiments.results import Results

    def m(acc, n_test=100):
        return {"std_acc": acc, "n_test": n_test, "n_train": 64, "train_complete": False}

    r = Results(
        {
            RunConfig("mnist", "smoke", seed=0): m(0.9),
            RunConfig("mnist", "smoke", seed=1): m(0.8),
            RunConfig("mnist", "smoke", "adversarial", eps_train=0.3): m(0.5),
        }
    )
    assert len(r.metrics("mnist")) == 2 and len(r.metrics("mnist", "inf", 0.3)) == 1
    mean, spread = r.mean_spread("std_acc", "mnist")
    assert mean == pytest.approx(0.85) and spread == pytest.approx(0.05)
    assert r.mean_se("std_acc", "mnist")[1] == pytest.approx(0.05)  # sample std / sqrt(2)
    assert r.mean_se("std_acc", "mnist", "inf", 0.3)[1] == pytest.approx(0.05)  # binomial
    with pytest.raises(KeyError):
        r.metrics("mnist", 2, 0.3)


@pytest.mark.parametrize("ramp,expect", [(0.0, [0.3] * 4), (0.5, [0.15, 0.3, 0.3, 0.3])])
def test_eps_ramp_grows_the_training_eps(mnist_small, monkeypatch, ramp, expect):
    seen = []

    def record(attack, model, x, y, *args):
        seen.append((attack.eps, attack.step_size / attack.eps))
        return x

    monkeypatch.setattr(train, "_perturb", record)
    attack = PGD(eps=0.3, norm="inf", steps=2, step_size=0.15)
    train.train(
        _tiny_cnn(),
        mnist_small[0].subset(128, seed=0),
        epochs=1,
        batch_size=32,
        lr=1e-3,
        optimizer="adam",
        mix="adversarial",
        attack=attack,
        eps_ramp=ramp,
        progress=False,
    )
    assert [e for e, _ in seen] == pytest.approx(expect)
    assert [f for _, f in seen] == pytest.approx([0.5] * 4)  # step size stays 0.5 eps


def test_eps_ramp_is_checked_and_left_out_of_keys_at_zero(mnist_small):
    with pytest.raises(ValueError, match="eps_ramp"):
        train.train(_tiny_cnn(), mnist_small[0], epochs=1, batch_size=32, lr=0.1, eps_ramp=2.0)
    from lib.experiments import profiles

    assert "eps_ramp" not in runs._settings_dict(profiles.settings("mnist", "smoke"))


def test_eval_every_records_a_curve_and_trains_the_same(mnist_small):
    tr, te = mnist_small
    data, test = tr.subset(600, seed=0), te.head(200)
    attack = PGD.relative(0.3, "inf", 2, 1.25)
    kw = dict(epochs=1, batch_size=50, lr=3e-3, optimizer="adam", mix="adversarial")
    kw.update(attack=attack, progress=False, seed=3)
    plain, curved = _tiny_cnn(), _tiny_cnn()
    train.train(plain, data, **kw)
    hist = train.train(curved, data, eval_every=5, eval_data=test, **kw)
    # Evaluating along the way touches no weight and no random stream.
    for p, q in zip(plain.state_dict().values(), curved.state_dict().values(), strict=True):
        assert torch.equal(p, q)
    curve = hist[0]["curve"]
    assert [s for s, _ in curve] == [5, 10, 12]  # 600 / 50 = 12 steps: 5, 10, and the last
    assert hist[0]["steps"] == 12 and hist[0]["test_acc"] == evaluate(curved, test)
    with pytest.raises(ValueError, match="eval_data"):
        train.train(_tiny_cnn(), data, eval_every=5, **kw)
    with pytest.raises(ValueError, match="positive int"):
        train.train(_tiny_cnn(), data, eval_every=0, eval_data=test, **kw)


class _Uncached:
    """A TensorData seen only through batches(): train cannot cache its floats."""

    def __init__(self, data):
        self.data = data

    def __len__(self):
        return len(self.data)

    @property
    def device(self):
        return self.data.device

    @property
    def epoch_size(self):
        return self.data.epoch_size

    def batches(self, *args, **kwargs):
        return self.data.batches(*args, **kwargs)


def test_full_batch_floats_made_once_train_the_same_bits():
    # train() converts a full batch's uint8 images to floats once, not every
    # epoch: the same values, so the same weights to the bit.
    tr = data.load("binary_mnist", "train").subset(500, seed=0)
    assert tr.x.dtype == torch.uint8
    kw = dict(epochs=4, batch_size=None, lr=0.1, optimizer="sgd", momentum=0.0, seed=0)
    kw.update(precision="fp32", progress=False, mix="adversarial")
    kw["attack"] = attacks.LinearWorstCase(0.2)
    nets = []
    for d in (tr, _Uncached(tr)):
        torch.manual_seed(0)
        nets.append(models.LinearModel(784))
        train.train(nets[-1], d, **kw)
    for p, q in zip(nets[0].parameters(), nets[1].parameters(), strict=True):
        assert torch.equal(p, q)


def test_the_whole_batch_path_counts_as_the_per_example_one(monkeypatch):
    # With CUDA graphs (the default on a GPU) a PGD attacks the whole batch and the clean
    # answer is and-ed in; forced here on the CPU, it must count as the CPU path does
    # (catches the attack or the model not passed on that path)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(8, 3))
    x, y = torch.rand(40, 8), torch.randint(0, 3, (40,))
    attack = PGD(eps=0.1, norm="inf", steps=2, step_size=0.05, random_start=False)
    kw = dict(batch_size=16, precision="fp32")
    per_example = train.outcomes(model, (x, y), attack, **kw)[0]
    monkeypatch.setattr(train.graphs, "graphs_by_default", lambda device: True)
    whole = train.outcomes(model, (x, y), attack, **kw)[0]
    assert torch.equal(whole, per_example) and 0 < int(whole.sum()) < 40


def test_train_takes_one_recipe_or_its_fields(mnist_small):
    """train(model, data, recipe) or train(model, data, **fields): the same run; both at
    once is refused, and the signature stays short (issue 36: one settings object)."""
    import inspect

    from lib.experiments import profiles

    assert len(inspect.signature(train.train).parameters) <= 8
    kw = dict(epochs=1, batch_size=64, lr=0.05, seed=3, max_steps=3, precision="fp32")
    a, b = _tiny_cnn(), _tiny_cnn()
    b.load_state_dict(a.state_dict())
    ha = train.train(a, mnist_small[0], progress=False, **kw)
    hb = train.train(b, mnist_small[0], train.Recipe(**kw), progress=False)
    assert ha[-1]["loss"] == hb[-1]["loss"]
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    with pytest.raises(TypeError, match="not both"):
        train.train(a, mnist_small[0], train.Recipe(**kw), epochs=2)
    with pytest.raises(ValueError, match="needs an attack"):
        train.Recipe(epochs=1, batch_size=8, lr=0.1, mix="adversarial")
    settings = profiles.settings("mnist", "smoke")
    recipe = train.Recipe.of(settings, epochs=2)
    assert (recipe.epochs, recipe.lr, recipe.optimizer) == (2, settings.lr, settings.optimizer)
