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

from lib import attacks, models, train
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


def _plain_input_gradient(model: nn.Module) -> nn.Module:
    """A copy of ``model`` whose one-channel convs keep oneDNN's input gradient."""
    net = copy.deepcopy(model)
    for conv in fast.one_channel_convs(net):
        conv.__class__ = fast.OneDnnConv2d
    return net


@pytest.mark.parametrize("norm, eps", [("inf", 0.1), (2, 1.0)])
def test_fast_paths_give_fp32_eager_robust_accuracy(bn_cnn, mnist_small, norm, eps):
    """Folded + channels_last, in fp32 and bf16, and the one-channel conv's fast
    input gradient, within 0.5 point of fp32 eager (no fold, the plain op's
    input gradient)."""
    _, te = mnist_small
    attack = attacks.PGD.relative(eps, norm, 10, 0.25)
    acc = {}
    paths = {
        "eager_fp32": ("fp32", functools.partial(attack, fold=False), _plain_input_gradient),
        "input_grad_fp32": ("fp32", functools.partial(attack, fold=False), copy.deepcopy),
        "folded_fp32": ("fp32", attack, copy.deepcopy),
        "folded_bf16": ("bf16", attack, copy.deepcopy),
    }
    for label, (precision, adversary, copy_of) in paths.items():
        g = torch.Generator().manual_seed(0)
        net = copy_of(bn_cnn)
        acc[label] = train.evaluate(net, te, adversary, precision=precision, generator=g)
    assert 0.05 < acc["eager_fp32"] < 0.95, acc
    for label in ("input_grad_fp32", "folded_fp32", "folded_bf16"):
        assert abs(acc[label] - acc["eager_fp32"]) <= 0.005, acc


def _user_cnn(conv: nn.Conv2d) -> nn.Sequential:
    """A grayscale CNN as a user writes it, with ``conv`` (one channel in) first."""
    torch.manual_seed(0)
    return nn.Sequential(
        conv,
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(4),
        nn.Flatten(),
        nn.Linear(conv.out_channels * 16, 10),
    )


@pytest.mark.parametrize(
    "kernel, padding", [(5, 2), (5, 0), (3, 1), (5, 4), ((3, 5), (1, 2)), ((3, 5), (0, 3))]
)
@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_a_plain_one_channel_conv_takes_the_fast_input_gradient_for_the_call(
    kernel, padding, precision
):
    """Any stride-1 zero-padded one-channel ``nn.Conv2d`` (not only the MNIST
    CNN's own layer) gets :class:`lib.models.InputConv2d`'s forward inside the
    attack's view: the model's logits are the same bits, its input gradient the
    plain op's up to rounding, and the caller's layer is a plain conv again
    afterwards (also when the block raises)."""
    net = _user_cnn(nn.Conv2d(1, 16, kernel, padding=padding)).eval()
    reference = _plain_input_gradient(net)
    assert fast.one_channel_convs(net) == [net[0]] and not fast.one_channel_convs(reference)
    x = torch.rand(8, 1, 28, 28)
    seen = []
    net[0].register_forward_hook(lambda m, i, o: seen.append(type(m)))
    grads, logits = [], []
    for model in (net, reference):
        with fast.attack_view(model, "cpu", "eval") as view:
            xx = x.clone().requires_grad_(True)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
                out = view(xx)
            (g,) = torch.autograd.grad(out.float().logsumexp(1).sum(), [xx])
        grads.append(g)
        logits.append(out.detach())
    assert seen == [models.InputConv2d] and type(net[0]) is nn.Conv2d
    assert torch.equal(logits[0], logits[1])
    tol = 1e-4 if precision == "fp32" else 2e-2
    assert (grads[0] - grads[1]).norm() / grads[1].norm() < tol
    with pytest.raises(RuntimeError, match="inside"), fast.attack_view(net, "cpu", "eval"):
        assert type(net[0]) is models.InputConv2d
        raise RuntimeError("inside the view")
    assert type(net[0]) is nn.Conv2d


def test_only_convs_whose_transpose_is_a_same_size_conv_are_taken():
    taken = [
        nn.Conv2d(1, 8, 5, padding=2),
        nn.Conv2d(1, 8, 3),
        nn.Conv2d(1, 8, (3, 5), padding=(2, 4)),
    ]
    left = [
        nn.Conv2d(3, 8, 5, padding=2),  # three channels: oneDNN's kernel is fine there
        nn.Conv2d(1, 8, 5, padding=2, stride=2),
        nn.Conv2d(1, 8, 5, padding=2, dilation=2),
        nn.Conv2d(1, 8, 5, padding="same"),  # padding given as a word
        nn.Conv2d(1, 8, 3, padding=3),  # more padding than the kernel's size - 1
        nn.Conv2d(1, 8, 5, padding=2, padding_mode="reflect"),
    ]
    assert all(models.InputConv2d.takes(c) for c in taken)
    assert not any(models.InputConv2d.takes(c) for c in left)
    model = nn.Sequential(*taken, *left, fast.OneDnnConv2d(1, 8, 5, padding=2))
    assert fast.one_channel_convs(model) == taken


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
    """On CUDA the default (graph) path gives the eager loop's adversarial points from the
    same random starts (one seeded generator each): equal up to rounding in fp32, and the
    same predictions on them for all but a few images in bf16. (It compared two different
    random starts' accuracies against a one-image tolerance before.)"""
    _, te = mnist_small
    model = copy.deepcopy(bn_cnn).cuda()
    x, y = te.inputs()[:256].cuda(), te.y[:256].cuda()
    kw = dict(eps=0.1, norm="inf", steps=10, step_size=0.025, precision=precision)
    out = {}
    for graph in (True, False):
        g = torch.Generator("cuda").manual_seed(0)
        out[graph] = attacks.pgd(model, x, y, **kw, generator=g, cuda_graph=graph)
    with torch.no_grad():
        same = (model(out[True]).argmax(1) == model(out[False]).argmax(1)).float().mean()
    if precision == "fp32":
        torch.testing.assert_close(out[True], out[False], atol=1e-5, rtol=0)
    assert same >= 0.99, f"graph and eager disagree on {1 - same:.1%} of the images"
