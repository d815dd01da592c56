"""The library behind the book "Robustness May Be at Odds with Accuracy", reproduced.

Modules (import them directly, e.g. ``from lib import attacks``), one way down:
chapters -> chapter / experiments -> train/attacks/data/models -> runtime.

- ``data``: MNIST, binary MNIST, CIFAR-10, Restricted ImageNet (``data.imagenet``), D
- ``models``: linear, the mnist_challenge CNN, the cifar10_challenge ResNet, ResNet-50
- ``attacks``: the Attack protocol, PGD (l_inf, l2), the exact linear worst case, the audit
- ``train``: clean, adversarial and half-half training; ``evaluate``
- ``experiments``: a run's life, settings -> key -> store -> metrics: ``runs`` (RunConfig,
  its plan and store key, ``train_run``), ``profiles`` (smoke / cpu / paper, Tables 2
  and 3), ``grids`` (what each chapter runs), ``store``, ``evals`` (``robust_eval``,
  ``strong_eval``), ``results``; ``experiments.execute``: CPU workers, the papermill
  runner, the sweep and its Ray executor
- ``chapter``: a chapter's start and finish, claim files, labels
- ``runtime``: device, precision (bf16 / fp32), seeds, provenance; ``bench``: throughput
- ``plots``, ``saliency``, ``claims``, ``theory``: figures, input gradients, the ledger, section 2
- ``paper``: the paper's tables, constants and claims ledger, typed once (imports no lib)
"""

__version__ = "0.1.0"
