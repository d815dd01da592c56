"""The CUDA-graph path of PGD: its guards on the CPU, and graph == eager on a GPU.

The ``gpu`` tests are skipped without CUDA; ``make gpu-test`` runs them.
"""

from __future__ import annotations

import pytest
import torch

from lib import attacks

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


def _net(device="cpu"):
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Flatten(), torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 4)
    ).to(device)


def _batch(device="cpu", n=16):
    g = torch.Generator().manual_seed(1)
    x = torch.rand(n, 1, 8, 8, generator=g).to(device)
    y = torch.randint(0, 4, (n,), generator=g).to(device)
    return x, y


def _attack(net, x, y, *, cuda_graph, norm="inf", restarts=1, precision="fp32"):
    eps = 0.1 if norm == "inf" else 1.0
    return attacks.pgd(
        net,
        x,
        y,
        eps=eps,
        norm=norm,
        steps=5,
        step_size=attacks.step_size(eps, 5),
        restarts=restarts,
        precision=precision,
        generator=torch.Generator().manual_seed(0),
        cuda_graph=cuda_graph,
    )


def test_cuda_graph_is_ignored_on_the_cpu():
    net, (x, y) = _net(), _batch()
    assert torch.equal(_attack(net, x, y, cuda_graph=True), _attack(net, x, y, cuda_graph=False))


def test_cuda_graph_needs_eval_batchnorm():
    net, (x, y) = _net(), _batch()
    with pytest.raises(ValueError, match='cuda_graph=True needs bn_mode="eval"'):
        attacks.pgd(
            net,
            x,
            y,
            eps=0.1,
            norm="inf",
            steps=2,
            step_size=0.05,
            bn_mode="train",
            cuda_graph=True,
        )


@pytest.mark.gpu
@needs_cuda
@pytest.mark.parametrize("norm", ["inf", 2])
@pytest.mark.parametrize("restarts", [1, 3])
def test_graph_equals_eager_on_cuda(norm, restarts):
    net, (x, y) = _net("cuda"), _batch("cuda", n=64)
    eager = _attack(net, x, y, cuda_graph=False, norm=norm, restarts=restarts)
    graphed = _attack(net, x, y, cuda_graph=True, norm=norm, restarts=restarts)
    again = _attack(net, x, y, cuda_graph=True, norm=norm, restarts=restarts)  # cached graph
    torch.testing.assert_close(graphed, eager, rtol=0, atol=1e-6)
    torch.testing.assert_close(again, graphed, rtol=0, atol=0)


@pytest.mark.gpu
@needs_cuda
def test_graph_equals_eager_on_cuda_bf16():
    net, (x, y) = _net("cuda"), _batch("cuda", n=64)
    eager = _attack(net, x, y, cuda_graph=False, precision="bf16")
    graphed = _attack(net, x, y, cuda_graph=True, precision="bf16")
    torch.testing.assert_close(graphed, eager, rtol=0, atol=1e-6)


@pytest.mark.gpu
@needs_cuda
def test_graph_recaptures_when_the_model_moves():
    net, (x, y) = _net("cuda"), _batch("cuda", n=32)
    first = _attack(net, x, y, cuda_graph=True)
    net = net.cpu().cuda()  # new parameter addresses: the graph must be captured anew
    torch.testing.assert_close(_attack(net, x, y, cuda_graph=True), first, rtol=0, atol=1e-6)
