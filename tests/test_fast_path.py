"""The default call is the fast call: pgd/evaluate on a plain model apply the
layout and the folded conv+BatchNorm forward themselves, give the model back
unchanged, and give fp32 eager's robust accuracy; the CUDA-graph switch."""

from __future__ import annotations

import copy
import functools
import sys

import pytest
import torch
from torch import nn

from lib import attacks, train
from lib.attacks import cuda_graph as graphs
from lib.attacks import fast

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


def _bn_cnn():
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1, bias=False),
        nn.BatchNorm2d(16),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(16 * 7 * 7, 10),
    )


@pytest.fixture(scope="module")
def bn_cnn(mnist_small):
    tr, _ = mnist_small
    model = _bn_cnn()
    train.train(
        model,
        tr,
        epochs=2,
        batch_size=64,
        lr=2e-3,
        optimizer="adam",
        precision="fp32",
        progress=False,
    )
    return model.eval()


def _same(a: nn.Module, b: nn.Module) -> bool:
    """Same values and the same strides (the layout given back is the caller's)."""
    sa, sb = a.state_dict(), b.state_dict()
    return all(torch.equal(sa[k], sb[k]) and sa[k].stride() == sb[k].stride() for k in sa)


def test_one_channel_weight_is_put_in_channels_last(mnist_cnn):
    """A 1-channel conv weight passes ``is_contiguous(channels_last)`` in the default
    layout, yet oneDNN is slower on it: the view gives it channels_last strides."""
    net = copy.deepcopy(mnist_cnn).to(memory_format=torch.contiguous_format)
    w = net.conv1.weight
    assert w.shape[1] == 1 and w.is_contiguous(memory_format=torch.channels_last)
    assert not fast.is_channels_last(w)
    before = w.stride()
    with fast.attack_view(net, "cpu", "eval") as view:
        assert all(fast.is_channels_last(p) for p in view.parameters() if p.dim() == 4)
    assert w.stride() == before


def test_plain_model_comes_back_unchanged(mnist_cnn, bn_cnn, mnist_small):
    _, te = mnist_small
    x, y = te.inputs()[:32], te.y[:32]
    for model in (mnist_cnn, bn_cnn):
        net = copy.deepcopy(model).to(memory_format=torch.contiguous_format)
        before = copy.deepcopy(net)
        params = [id(p) for p in net.parameters()]
        x_adv = attacks.pgd(net, x, y, eps=0.1, norm="inf", steps=3, step_size=0.05)
        assert _same(net, before) and [id(p) for p in net.parameters()] == params
        assert x_adv.is_contiguous() and x_adv.shape == x.shape
        assert not net.training and all(p.grad is None for p in net.parameters())
        train.evaluate(net, te, attacks.PGD(eps=0.1, norm="inf", steps=2, step_size=0.05))
        assert _same(net, before)


def test_folded_forward_matches_the_model(bn_cnn, mnist_small):
    _, te = mnist_small
    model = copy.deepcopy(bn_cnn)
    net = fast.folded(model)
    assert len(fast.conv_bn_pairs(model)) == 2
    assert not any(isinstance(m, nn.BatchNorm2d) for m in net.modules())
    x = te.inputs()[:64].clone().requires_grad_(True)
    logits = model(x)
    (g,) = torch.autograd.grad(logits.sum(), [x])
    x2 = x.detach().clone().requires_grad_(True)
    folded_logits = net(x2)
    (g2,) = torch.autograd.grad(folded_logits.sum(), [x2])
    torch.testing.assert_close(folded_logits, logits, rtol=1e-4, atol=1e-4)
    assert (g2 - g).norm() / g.norm() < 1e-3
    # a parameter update refolds the cached copy
    with torch.no_grad():
        model[1].weight.mul_(2)
    torch.testing.assert_close(fast.folded(model)(x2), model(x2), rtol=1e-4, atol=1e-4)
    assert fast.folded(model) is net  # same copy, new weights


def test_eval_view_computes_the_model_and_stays_in_eval(mnist_cnn, bn_cnn, mnist_small):
    """The view torchattacks runs on: the model's eval-mode logits and input
    gradients (to float rounding), the caller's model untouched, and eval mode
    kept when an attack puts it back in train mode (the folded copy is shared)."""
    import torchattacks

    _, te = mnist_small
    x, y = te.inputs()[:64], te.y[:64]
    for model in (mnist_cnn, bn_cnn):
        net = copy.deepcopy(model).to(memory_format=torch.contiguous_format).eval()
        before = copy.deepcopy(net)
        view = fast.eval_view(net)
        assert view is not net and not view.training
        assert all(fast.is_channels_last(t) for t in view.parameters() if t.dim() == 4)
        assert not any(t.requires_grad for t in view.parameters())
        xg, xv = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
        (g,) = torch.autograd.grad(net(xg).sum(), [xg])
        out = view(xv)
        (gv,) = torch.autograd.grad(out.sum(), [xv])
        torch.testing.assert_close(out, net(x), rtol=1e-4, atol=1e-4)
        assert (gv - g).norm() / g.norm() < 1e-3
        view.train()  # what torchattacks does after a call to a module found in train mode
        assert not view.training and not any(m.training for m in view.modules())
        torchattacks.APGD(view, eps=0.1, steps=3, seed=0)(x, y)
        assert not any(m.training for m in view.modules())
        assert _same(net, before) and not net.training
    assert fast.eval_view(bn_cnn).net is fast.folded(bn_cnn)  # the cached folded copy


def test_unfoldable_model_falls_back(mnist_cnn):
    assert fast.folded(mnist_cnn) is None  # no BatchNorm: nothing to fold


@pytest.mark.parametrize("norm, eps", [("inf", 0.1), (2, 1.0)])
def test_fast_paths_give_fp32_eager_robust_accuracy(bn_cnn, mnist_small, norm, eps):
    """Folded + channels_last, in fp32 and bf16, within 0.5 point of fp32 eager (no fold)."""
    _, te = mnist_small
    attack = attacks.PGD.relative(eps, norm, 10, 0.25)
    acc = {}
    paths = {
        "eager_fp32": ("fp32", functools.partial(attack, fold=False)),
        "folded_fp32": ("fp32", attack),
        "folded_bf16": ("bf16", attack),
    }
    for label, (precision, adversary) in paths.items():
        g = torch.Generator().manual_seed(0)
        net = copy.deepcopy(bn_cnn)
        acc[label] = train.evaluate(net, te, adversary, precision=precision, generator=g)
    assert 0.05 < acc["eager_fp32"] < 0.95, acc
    for label in ("folded_fp32", "folded_bf16"):
        assert abs(acc[label] - acc["eager_fp32"]) <= 0.005, acc


def test_graph_switch_and_guards():
    assert not graphs.use_graph(None, "cpu", "eval")
    assert not graphs.use_graph(True, "cpu", "eval")
    assert graphs.graph_mode() == "auto"
    assert graphs.use_graph(None, "cuda", "eval")
    assert not graphs.use_graph(None, "cuda", "eval", restart=1)
    assert not graphs.use_graph(None, "cuda", "train")
    assert not graphs.use_graph(False, "cuda", "eval")
    with graphs.cuda_graphs("off"):
        assert not graphs.use_graph(None, "cuda", "eval")
        assert not graphs.graphs_by_default("cuda")
        with graphs.cuda_graphs("on"):
            assert graphs.use_graph(None, "cuda", "eval", restart=1)
    assert graphs.graph_mode() == "auto"
    assert not graphs.graphs_by_default("cpu")
    with pytest.raises(ValueError, match="mode"):
        with graphs.cuda_graphs("always"):
            pass


def test_pgd_dataclass_leaves_the_graph_to_the_switch(monkeypatch):
    seen = []
    module = sys.modules["lib.attacks.pgd"]  # the name lib.attacks.pgd is the function
    monkeypatch.setattr(module, "pgd", lambda *a, **kw: seen.append(kw["cuda_graph"]))
    x, y = torch.zeros(2, 1, 4, 4), torch.zeros(2, dtype=torch.long)
    attacks.PGD(eps=0.1, norm="inf", steps=1, step_size=0.1)(None, x, y)
    attacks.PGD(eps=0.1, norm="inf", steps=1, step_size=0.1, cuda_graph=True)(None, x, y)
    attacks.PGD(eps=0.1, norm="inf", steps=1, step_size=0.1)(None, x, y, cuda_graph=False)
    assert seen == [None, True, False]


@pytest.mark.gpu
@needs_cuda
@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_default_graph_path_equals_eager_on_cuda(bn_cnn, mnist_small, precision):
    """On CUDA the default (graph) path gives the eager loop's robust accuracy."""
    _, te = mnist_small
    model = copy.deepcopy(bn_cnn).cuda()
    x, y = te.inputs()[:256].cuda(), te.y[:256].cuda()
    attack = attacks.PGD.relative(0.1, "inf", 10, 0.25)
    acc = {}
    for mode in ("auto", "off"):
        with graphs.cuda_graphs(mode):
            g = torch.Generator("cuda").manual_seed(0)
            acc[mode] = train.evaluate(model, (x, y), attack, precision=precision, generator=g)
    assert abs(acc["auto"] - acc["off"]) <= 0.005, acc
