"""Models of Appendix A.2, each taking inputs in [0, 1] pixel space.

Normalization (per-channel mean and standard deviation) is the first layer of
every image model, so an attack's eps is always measured in [0, 1] pixels.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

ARCHS = ("linear", "mnist_cnn", "cifar_resnet", "resnet50", "resnet")

#: Per-channel statistics of the training sets (pixel space [0, 1]).
MNIST_MEAN, MNIST_STD = (0.1307,), (0.3081,)
CIFAR10_MEAN, CIFAR10_STD = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


class Normalize(nn.Module):
    """(x - mean) / std per channel; buffers, so they follow ``.to(device)``."""

    def __init__(self, mean, std):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, -1, 1, 1))

    def forward(self, x):
        return (x - self.mean) / self.std


class LinearModel(nn.Module):
    """Binary linear classifier f(x) = w^T x + b on flattened inputs.

    It returns two logits ``(0, w^T x + b)``, so softmax cross-entropy on them
    is exactly the logistic loss log(1 + exp(-s (w^T x + b))) with the
    paper's sign label s = 2 * class - 1, and class 1 is predicted when
    w^T x + b > 0. No normalization: the paper's model acts on raw pixels.
    """

    def __init__(self, in_features: int):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(in_features))
        self.bias = nn.Parameter(torch.zeros(()))

    def margin(self, x: torch.Tensor) -> torch.Tensor:
        """w^T x + b, one value per example."""
        return x.flatten(1) @ self.weight + self.bias

    def forward(self, x):
        z = self.margin(x)
        return torch.stack([torch.zeros_like(z), z], dim=1)


class _OneChannelInputGradient(torch.autograd.Function):
    """The identity on a one-channel conv's output ``out``, whose backward gives
    the conv's input ``x`` its gradient fast.

    For one input channel, oneDNN's backward-data kernel is slow on the CPU:
    on MNIST's first layer (32 filters of 5x5, batch 128, one thread) it took
    14 ms in bf16 and 27 ms in fp32, against 2.2 ms for the forward. The same
    sums, the output gradient correlated with each flipped filter (a depthwise
    conv, groups = filters) and summed over the filters, take 2.8 ms in either
    precision, and an attack takes one input gradient per step. The forward,
    and the weight and bias gradients (through ``out``'s own graph, computed
    only when asked for), are the library's ops as without this function; the
    input gradient differs in rounding only (the order of the sum; in bf16,
    each filter's term is rounded before the sum, which runs in fp32).
    """

    @staticmethod
    def forward(ctx, x, out, weight, padding):
        ctx.save_for_backward(weight.detach().to(out.dtype))  # as autocast cast it
        ctx.padding, ctx.x_dtype = padding, x.dtype
        return out.view_as(out)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad):
        (weight,) = ctx.saved_tensors
        gx = None
        if ctx.needs_input_grad[0]:
            c, _, kh, kw = weight.shape
            kernel = weight.flip(-1, -2)  # correlation with the flipped filter: the transpose
            if grad.stride(1) == 1 and c > 1:  # channels_last: the kernel's layout alike
                kernel = kernel.contiguous(memory_format=torch.channels_last)
            # Same-size output: pad by kernel - 1 - padding on each side.
            pad = (kh - 1 - ctx.padding[0], kw - 1 - ctx.padding[1])
            terms = F.conv2d(grad.to(weight.dtype), kernel, padding=pad, groups=c)
            gx = terms.sum(1, keepdim=True).to(ctx.x_dtype)
        return gx, grad, None, None


class InputConv2d(nn.Conv2d):
    """An ``nn.Conv2d`` for a one-channel image (stride 1, zero padding given as
    numbers): the same layer, parameters and outputs, whose input gradient on
    the CPU is computed by :class:`_OneChannelInputGradient` (5-10x faster there)."""

    def __init__(self, out_channels: int, kernel_size: int, padding: int):
        super().__init__(1, out_channels, kernel_size, padding=padding)

    @staticmethod
    def takes(conv: nn.Conv2d) -> bool:
        """Whether ``conv``'s input gradient can be computed this way: one input
        channel, one group, stride and dilation 1, and zero padding given as
        numbers below the kernel size (so the transpose is a same-size conv).
        :mod:`lib.attacks.fast` gives such a layer of any model this forward
        for an attack's call."""
        return (
            conv.in_channels == 1
            and conv.groups == 1
            and tuple(conv.stride) == (1, 1)
            and tuple(conv.dilation) == (1, 1)
            and conv.padding_mode == "zeros"
            and isinstance(conv.padding, tuple)
            and all(0 <= p < k for p, k in zip(conv.padding, conv.kernel_size, strict=True))
        )

    def forward(self, x):
        # Only where an input gradient will be asked for (an attack): training
        # and evaluation take the plain op. FX tracing passes proxies: plain.
        # A batch only (the backward sums over dim 1, the filters).
        if (
            isinstance(x, torch.Tensor)
            and x.requires_grad
            and x.device.type == "cpu"
            and x.dim() == 4
        ):
            out = super().forward(x.detach())
            return _OneChannelInputGradient.apply(x, out, self.weight, self.padding)
        return super().forward(x)


class MnistCNN(nn.Module):
    """The MNIST network of MadryLab/mnist_challenge (the TensorFlow tutorial).

    conv 5x5 x32 (same padding) - ReLU - max-pool 2 - conv 5x5 x64 - ReLU -
    max-pool 2 - fc 1024 - ReLU - fc 10. ``channels`` and ``hidden`` shrink it
    for the CPU profiles; the defaults are the paper's.
    """

    def __init__(self, channels: tuple[int, int] = (32, 64), hidden: int = 1024, classes: int = 10):
        super().__init__()
        c1, c2 = channels
        self.normalize = Normalize(MNIST_MEAN, MNIST_STD)
        self.conv1 = InputConv2d(c1, 5, padding=2)
        self.conv2 = nn.Conv2d(c1, c2, 5, padding=2)
        self.fc1 = nn.Linear(7 * 7 * c2, hidden)
        self.fc2 = nn.Linear(hidden, classes)

    def forward(self, x):
        x = self.normalize(x)
        # Pool, then ReLU: the paper's conv-ReLU-pool, since ReLU is monotone
        # (max of ReLUs = ReLU of max). Values and gradients are the same bits,
        # max-pool's first-maximum pick included; the ReLU and its backward run
        # on a quarter of the elements (lab/results/mnist-pool-relu-cpu.json).
        x = F.relu(F.max_pool2d(self.conv1(x), 2))
        x = F.relu(F.max_pool2d(self.conv2(x), 2))
        x = F.relu(self.fc1(x.flatten(1)))
        return self.fc2(x)


class _PreActUnit(nn.Module):
    """A residual unit of cifar10_challenge: BN-ReLU-conv3x3-BN-ReLU-conv3x3.

    When the width or resolution changes, the shortcut average-pools with the
    stride and zero-pads the new channels (no parameters), as in that model.
    ``activate_before`` feeds the shortcut the activated input (first unit).
    """

    def __init__(self, c_in: int, c_out: int, stride: int, activate_before: bool):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(c_in)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.stride, self.extra = stride, c_out - c_in
        self.activate_before = activate_before

    def forward(self, x):
        a = F.relu(self.bn1(x))
        shortcut = a if self.activate_before else x
        out = self.conv2(F.relu(self.bn2(self.conv1(a))))
        if self.stride > 1:
            shortcut = F.avg_pool2d(shortcut, self.stride)
        if self.extra:
            half = self.extra // 2
            shortcut = F.pad(shortcut, (0, 0, 0, 0, half, self.extra - half))
        return out + shortcut


class CifarResNet(nn.Module):
    """The CIFAR-10 ResNet of MadryLab/cifar10_challenge.

    An initial 3x3 conv with ``widths[0]`` filters, then three groups of
    ``units`` pre-activation residual units with ``widths[1:]`` filters and
    strides 1, 2, 2; final BN-ReLU, global average pooling, fc. The paper's
    model is widths (16, 16, 32, 64) with 5 units (a ResNet-32).
    """

    def __init__(
        self,
        widths: tuple[int, int, int, int] = (16, 16, 32, 64),
        units: int = 5,
        classes: int = 10,
    ):
        super().__init__()
        self.normalize = Normalize(CIFAR10_MEAN, CIFAR10_STD)
        self.conv = nn.Conv2d(3, widths[0], 3, 1, 1, bias=False)
        layers, c_in = [], widths[0]
        for group, (c_out, stride) in enumerate(zip(widths[1:], (1, 2, 2), strict=True)):
            for i in range(units):
                first = i == 0
                layers.append(
                    _PreActUnit(c_in, c_out, stride if first else 1, first and group == 0)
                )
                c_in = c_out
        self.units = nn.Sequential(*layers)
        self.bn = nn.BatchNorm2d(c_in)
        self.fc = nn.Linear(c_in, classes)

    def forward(self, x):
        x = self.units(self.conv(self.normalize(x)))
        x = F.relu(self.bn(x))
        return self.fc(x.mean(dim=(2, 3)))


def resnet50(classes: int = 9) -> nn.Module:
    """torchvision's ResNet-50 with normalization in front; no weights downloaded."""
    from torchvision.models import resnet50 as tv_resnet50

    return nn.Sequential(Normalize(IMAGENET_MEAN, IMAGENET_STD), tv_resnet50(num_classes=classes))


RESNET_BLOCKS = ("basic", "bottleneck")


def resnet(
    classes: int = 9, *, block: str = "bottleneck", layers: tuple[int, ...] = (3, 4, 6, 3)
) -> nn.Module:
    """A torchvision ResNet of any depth, with normalization in front; no weights downloaded.

    ``block="bottleneck"`` with ``layers=(3, 4, 6, 3)`` is ResNet-50 (the same
    modules as :func:`resnet50`); ``"basic"`` with ``(2, 2, 2, 2)`` is
    ResNet-18 and with ``(1, 1, 1, 1)`` a ResNet-10, the reduced profiles'
    Restricted ImageNet models.
    """
    from torchvision.models.resnet import BasicBlock, Bottleneck, ResNet

    if block not in RESNET_BLOCKS:
        raise ValueError(f"unknown block {block!r}; allowed: {', '.join(RESNET_BLOCKS)}")
    if len(layers) != 4 or not all(isinstance(n, int) and n >= 1 for n in layers):
        raise ValueError(f"layers must be 4 ints >= 1 (blocks per stage), got {layers!r}")
    net = ResNet(BasicBlock if block == "basic" else Bottleneck, list(layers), num_classes=classes)
    return nn.Sequential(Normalize(IMAGENET_MEAN, IMAGENET_STD), net)


def build(arch: str, **kwargs) -> nn.Module:
    """Construct a model by name: one of :data:`ARCHS`; ``kwargs`` go to its class."""
    if arch == "linear":
        return LinearModel(kwargs.pop("in_features", 784), **kwargs)
    if arch == "mnist_cnn":
        return MnistCNN(**kwargs)
    if arch == "cifar_resnet":
        return CifarResNet(**kwargs)
    if arch == "resnet50":
        return resnet50(**kwargs)
    if arch == "resnet":
        return resnet(**kwargs)
    raise ValueError(f"unknown arch {arch!r}; allowed: {', '.join(ARCHS)}")


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
