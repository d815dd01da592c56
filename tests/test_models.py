"""Architectures of Appendix A.2: shapes, parameter counts, the linear model's loss."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from lib import models


def test_mnist_cnn_is_the_mnist_challenge_network():
    m = models.MnistCNN()
    # conv 5x5x1x32 + conv 5x5x32x64 + fc 3136x1024 + fc 1024x10, with biases
    expected = (25 * 32 + 32) + (25 * 32 * 64 + 64) + (3136 * 1024 + 1024) + (1024 * 10 + 10)
    assert models.count_parameters(m) == expected == 3_274_634
    assert m(torch.rand(2, 1, 28, 28)).shape == (2, 10)


def _paper_order(m, x):
    """The mnist_challenge forward as written there: conv - ReLU - pool."""
    x = m.normalize(x)
    x = F.max_pool2d(F.relu(m.conv1(x)), 2)
    x = F.max_pool2d(F.relu(m.conv2(x)), 2)
    return m.fc2(F.relu(m.fc1(x.flatten(1))))


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_mnist_cnn_pool_then_relu_is_the_papers_order_bit_for_bit(precision):
    # ReLU commutes with max: values and gradients (input and parameters) must
    # be the same bits, also where a window ties (flat image regions, ReLU zeros)
    torch.manual_seed(0)
    m = models.MnistCNN(hidden=64).to(memory_format=torch.channels_last)
    x = torch.rand(16, 1, 28, 28)
    x[:8, :, :14] = 0.0  # flat regions: every window ties
    x[8:, :, ::2] = x[8:, :, 1::2]  # pairwise equal rows: ties between a window's rows
    x = x.contiguous(memory_format=torch.channels_last).requires_grad_(True)
    y = torch.randint(0, 10, (16,))
    grads = []
    for forward in (m, lambda v: _paper_order(m, v)):
        m.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
            out = forward(x)
        loss = F.cross_entropy(out.float(), y)
        (gx,) = torch.autograd.grad(loss, [x], retain_graph=True)
        loss.backward()
        grads.append([out.detach(), gx, *(p.grad.clone() for p in m.parameters())])
    assert all(torch.equal(a, b) for a, b in zip(*grads, strict=True))


def test_cifar_resnet_layout():
    m = models.CifarResNet()
    assert len(m.units) == 15  # 3 groups x 5 units
    assert [u.conv2.out_channels for u in m.units[::5]] == [16, 32, 64]
    assert m(torch.rand(2, 3, 32, 32)).shape == (2, 10)
    assert 400_000 < models.count_parameters(m) < 500_000


def test_resnet50_builds_with_nine_classes():
    m = models.build("resnet50")
    assert m(torch.rand(1, 3, 64, 64)).shape == (1, 9)
    # the configurable torchvision ResNet: its default is the same ResNet-50
    same = models.build("resnet", classes=9)
    assert models.count_parameters(same) == models.count_parameters(m)
    assert same.state_dict().keys() == m.state_dict().keys()
    small = models.build("resnet", classes=9, block="basic", layers=(1, 1, 1, 1))
    assert small(torch.rand(2, 3, 32, 32)).shape == (2, 9)
    assert models.count_parameters(small) < models.count_parameters(m) / 4


def test_linear_model_cross_entropy_is_the_logistic_loss():
    torch.manual_seed(0)
    m = models.LinearModel(5)
    with torch.no_grad():
        m.weight.normal_()
        m.bias.fill_(0.3)
    x, y = torch.rand(8, 5), torch.randint(0, 2, (8,))
    s = (2 * y - 1).float()
    ce = F.cross_entropy(m(x), y, reduction="none")
    assert torch.allclose(ce, F.softplus(-s * m.margin(x)), atol=1e-6)
    assert torch.equal(m(x).argmax(1), (m.margin(x) > 0).long())


def test_normalization_is_inside_the_model():
    m = models.MnistCNN(channels=(2, 2), hidden=4)
    assert isinstance(m.normalize, models.Normalize)
    z = torch.zeros(1, 1, 28, 28)
    assert torch.allclose(m.normalize(z), torch.full_like(z, -0.1307 / 0.3081))


def test_unknown_arch():
    with pytest.raises(ValueError, match="unknown arch 'vgg'; allowed: linear"):
        models.build("vgg")


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
@pytest.mark.parametrize("channels_last", [False, True])
def test_the_input_conv_is_the_plain_conv_but_for_the_input_gradient_s_rounding(
    precision, channels_last
):
    # The forward and the weight and bias gradients are the plain op's bits;
    # the input gradient (a depthwise conv summed over the filters) agrees to
    # fp32 rounding, or to one bf16 rounding of the result (the plain op's too).
    torch.manual_seed(0)
    fast = models.InputConv2d(32, 5, padding=2)
    plain = torch.nn.Conv2d(1, 32, 5, padding=2)
    plain.load_state_dict(fast.state_dict())
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    x = torch.rand(8, 1, 28, 28)
    g = torch.randn(8, 32, 28, 28)
    results = []
    for layer in (fast.to(memory_format=fmt), plain.to(memory_format=fmt)):
        xx = x.clone().requires_grad_(True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
            out = layer(xx)
        out.backward(g.to(out.dtype).contiguous(memory_format=fmt))
        results.append((out.detach(), xx.grad, layer.weight.grad, layer.bias.grad))
    (out, gx, gw, gb), (out_p, gx_p, gw_p, gb_p) = results
    assert torch.equal(out, out_p) and torch.equal(gw, gw_p) and torch.equal(gb, gb_p)
    assert gx.dtype == gx_p.dtype == torch.float32
    # bf16: 8 bits of mantissa, so one rounding of a value v is within |v| / 2^8
    tol = 1e-5 if precision == "fp32" else 2**-7
    assert torch.allclose(gx, gx_p, rtol=tol, atol=tol * gx_p.abs().max().item())
    # Without an input gradient (training, evaluation) the plain op runs, and
    # the model keeps the plain conv's parameters under the plain names.
    with torch.no_grad():
        assert torch.equal(fast(x), plain(x))
    assert set(models.MnistCNN().state_dict()) >= {"conv1.weight", "conv1.bias"}


def test_the_mnist_cnn_input_gradient_matches_the_plain_conv_s():
    # The whole model, as an attack sees it: the same loss gradient direction.
    torch.manual_seed(0)
    m = models.MnistCNN(hidden=64).eval()
    plain = models.MnistCNN(hidden=64).eval()
    plain.conv1 = torch.nn.Conv2d(1, 32, 5, padding=2)
    plain.load_state_dict(m.state_dict())
    x, y = torch.rand(16, 1, 28, 28), torch.randint(0, 10, (16,))
    grads = []
    for net in (m, plain):
        xx = x.clone().requires_grad_(True)
        (g,) = torch.autograd.grad(F.cross_entropy(net(xx), y), [xx])
        grads.append(g)
    assert torch.allclose(grads[0], grads[1], rtol=1e-4, atol=1e-6 * grads[1].abs().max().item())
