"""The library behind the book "Robustness May Be at Odds with Accuracy", reproduced.

Modules (import them directly, e.g. ``from lib import attacks``):

- ``data``: the synthetic distribution D, MNIST, binary MNIST, CIFAR-10, Restricted ImageNet
- ``imagenet``: Restricted ImageNet streamed from an ImageNet folder (DataLoader workers)
- ``models``: linear, the mnist_challenge CNN, the cifar10_challenge ResNet, ResNet-50
- ``attacks``: PGD for l_inf and l2; the exact worst case of a linear model
- ``train``: clean, adversarial and half-half training; ``evaluate``
- ``profiles``: the smoke / cpu / paper profiles, Tables 2 and 3
- ``store``: runs keyed by their settings, written atomically
- ``runtime``: device, precision (bf16 / fp32), seeds, provenance
- ``plots``: figure helpers
"""

__version__ = "0.1.0"
