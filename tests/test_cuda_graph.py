"""The CUDA-graph path of PGD: its guards on the CPU, and graph == eager on a GPU.

The ``gpu`` tests are skipped without CUDA; ``make gpu-test`` runs them.
"""

from __future__ import annotations

import contextlib
import sys
import types

import pytest
import torch

import lib.attacks.pgd  # noqa: F401 (the module, not the function lib.attacks.pgd)
from lib import attacks
from lib.attacks import cuda_graph

pgd_module = sys.modules["lib.attacks.pgd"]

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


# --------------------------------------------------------------------------
# The capture and the cache, on the CPU: torch.cuda's capture calls replaced by
# recorders, the captured body run eagerly (issue 40: items 1 to 4).


class _Recorder:
    """Stands in for the torch.cuda calls of a capture and records them in order."""

    def __init__(self):
        self.calls = []
        test = self

        class Stream:
            def __init__(self, device=None):
                test.calls.append(("Stream", device))
                self.device = device

            def wait_stream(self, other):
                test.calls.append(("wait_stream", self.device))

        class CUDAGraph:
            def replay(self):
                raise AssertionError("not replayed in these tests")

        @contextlib.contextmanager
        def device(d):
            test.calls.append(("device", d))
            yield

        @contextlib.contextmanager
        def stream(s):
            test.calls.append(("stream", s.device))
            yield

        @contextlib.contextmanager
        def graph(g, pool=None, stream=None, capture_error_mode="global"):
            test.calls.append(("graph", stream.device, capture_error_mode))
            yield

        self.Stream, self.CUDAGraph, self.device, self.stream, self.graph = (
            Stream,
            CUDAGraph,
            device,
            stream,
            graph,
        )

    def current_stream(self, device=None):
        self.calls.append(("current_stream", device))
        current = self.Stream.__new__(self.Stream)  # no record of its making
        current.device = ("current", device)
        return current

    def install(self, monkeypatch):
        for name in ("Stream", "CUDAGraph", "device", "stream", "graph", "current_stream"):
            monkeypatch.setattr(torch.cuda, name, getattr(self, name))


def _step_graph(net, x, y, capture=True, precision="fp32"):
    return cuda_graph._StepGraph(
        net,
        x,
        y,
        eps=0.1,
        norm="inf",
        step_size=0.05,
        targeted=False,
        loss_fn=pgd_module._per_example_ce,
        precision=precision,
        capture=capture,
    )


def test_capture_is_thread_local_on_a_side_stream_of_the_models_device(monkeypatch):
    rec = _Recorder()
    rec.install(monkeypatch)
    net, (x, y) = _net(), _batch()
    _step_graph(net, x, y)
    names = [c[0] for c in rec.calls]
    # the buffers' device is made current first, and the side stream is made on it
    assert rec.calls[0] == ("device", x.device)
    assert ("Stream", x.device) in rec.calls
    assert names.index("device") < names.index("Stream")
    # the capture runs on that side stream, in thread_local mode (the pin-memory race)
    graphs = [c for c in rec.calls if c[0] == "graph"]
    assert graphs == [("graph", x.device, "thread_local")]
    assert cuda_graph.CAPTURE_MODE == "thread_local"
    # the warm-up ran on the side stream too, before the capture
    assert names.index("stream") < names.index("graph")


def test_the_captured_body_runs_under_a_callers_no_grad():
    net, (x, y) = _net(), _batch()
    g = _step_graph(net, x, y, capture=False)
    before = g.delta.clone()
    with torch.no_grad():
        g.body()  # raised "element 0 of tensors does not require grad" before issue 40
    assert not torch.equal(g.delta, before)
    assert g.delta.abs().max() <= 0.1 + 1e-6


def _eager_replay(monkeypatch):
    """Captures that record nothing and replay the body eagerly: the graph path's
    bookkeeping, run on the CPU."""

    def capture(self):
        self.graph = types.SimpleNamespace(replay=self.body)

    monkeypatch.setattr(cuda_graph._StepGraph, "_capture", capture)


@pytest.mark.parametrize("norm", ["inf", 2])
def test_graph_path_equals_eager_loop_from_the_same_start(monkeypatch, norm):
    _eager_replay(monkeypatch)
    net, (x, y) = _net(), _batch(n=32)
    eps = 0.1 if norm == "inf" else 1.0
    kw = dict(
        eps=eps,
        norm=norm,
        steps=4,
        step_size=attacks.step_size(eps, 4),
        random_start=True,
        targeted=False,
        loss_fn=pgd_module._per_example_ce,
        precision="fp32",
    )
    eager = pgd_module._one_run(net, x, y, **kw, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():  # and under a caller's no_grad
        graphed = cuda_graph.graphed_run(
            net, x, y, **kw, generator=torch.Generator().manual_seed(3)
        )
    cuda_graph.clear_graphs(net)
    for a, b in zip(graphed, eager, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-6)


def test_graph_cache_is_capped_and_drops_stale_layouts():
    net = _net()
    made = []

    def make():
        made.append(object())
        return made[-1]

    # four shapes at one layout: the least recently used goes beyond the cap
    for shape in range(cuda_graph.GRAPHS_PER_MODEL + 1):
        cuda_graph._cached_graph(net, (shape, "layout-a"), make)
    assert cuda_graph.cached_graphs(net) == cuda_graph.GRAPHS_PER_MODEL
    # a hit does not capture again
    n = len(made)
    cuda_graph._cached_graph(net, (cuda_graph.GRAPHS_PER_MODEL, "layout-a"), make)
    assert len(made) == n
    # the model moved: every graph of the old layout is dropped at the new capture
    cuda_graph._cached_graph(net, (0, "layout-b"), make)
    assert cuda_graph.cached_graphs(net) == 1
    cuda_graph.clear_graphs(net)
    assert cuda_graph.cached_graphs(net) == 0


@pytest.mark.gpu
@needs_cuda
def test_graph_equals_eager_on_cuda_under_no_grad():
    net, (x, y) = _net("cuda"), _batch("cuda", n=64)
    eager = _attack(net, x, y, cuda_graph=False)
    with torch.no_grad():  # an evaluation loop's context: raised on the graph path before
        graphed = _attack(net, x, y, cuda_graph=True)
    torch.testing.assert_close(graphed, eager, rtol=0, atol=1e-6)


@pytest.mark.gpu
@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs two CUDA devices")
def test_graph_on_the_second_device():
    net, (x, y) = _net("cuda:1"), _batch("cuda:1", n=32)
    eager = _attack(net, x, y, cuda_graph=False)
    torch.testing.assert_close(_attack(net, x, y, cuda_graph=True), eager, rtol=0, atol=1e-6)


@pytest.mark.gpu
@needs_cuda
def test_relayout_drops_the_stale_graphs_and_their_memory():
    net, (x, y) = _net("cuda"), _batch("cuda", n=32)
    _attack(net, x, y, cuda_graph=True)
    _attack(net, x[:16], y[:16], cuda_graph=True)
    assert cuda_graph.cached_graphs(net) == 2
    net = net.cpu().cuda()  # the same object (Module.cpu/cuda are in place), new addresses
    _attack(net, x, y, cuda_graph=True)
    assert cuda_graph.cached_graphs(net) == 1
    cuda_graph.clear_graphs(net)
    assert cuda_graph.cached_graphs(net) == 0
