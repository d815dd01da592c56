"""The library behind the book "Robustness May Be at Odds with Accuracy", reproduced.

Modules (import them directly, e.g. ``from lib import attacks``), one way down:
chapters -> chapter/grids/runs -> train/attacks/data/models -> runtime/store.

- ``data``: MNIST, binary MNIST, CIFAR-10, Restricted ImageNet (``data.imagenet``), D
- ``models``: linear, the mnist_challenge CNN, the cifar10_challenge ResNet, ResNet-50
- ``attacks``: the Attack protocol, PGD (l_inf, l2), the exact linear worst case, the audit
- ``train``: clean, adversarial and half-half training; ``evaluate``
- ``runs``: RunConfig, the store-key schema, ``train_run``
- ``evals``: ``robust_eval`` and ``strong_eval`` of a stored run
- ``profiles``: the smoke / cpu / paper profiles, Tables 2 and 3
- ``grids``: what each chapter runs at each profile
- ``chapter``: a chapter's start and finish, claim files, labels
- ``store``: runs keyed by their settings, written atomically
- ``runtime``: device, precision (bf16 / fp32), seeds, provenance
- ``sweep``: grids of one-run notebooks (local or Ray); ``bench``: throughput
- ``plots``, ``saliency``, ``claims``, ``theory``: figures, input gradients, the ledger, section 2
- ``paper``: the paper's tables, constants and claims ledger, typed once (imports no lib)
"""

__version__ = "0.1.0"
