"""The paper's Tables 1-5 as data.

eps are in [0, 1] pixel space (l2 norms for norm 2); norms are ``"inf"`` or
``2``; accuracies are in percent, as the paper prints them.
"""

from __future__ import annotations

#: The data sets' short names, as the ledger's statements write them.
SHORT_NAMES = {
    "binary_mnist": "binary MNIST",
    "mnist": "MNIST",
    "cifar10": "CIFAR-10",
    "restricted_imagenet": "RI",
}

#: Table 1 (Appendix A.1): Restricted ImageNet's super-classes and the ImageNet
#: class indices (inclusive ranges) each gathers, in the paper's order.
TABLE1 = (
    ("dog", 151, 268),
    ("cat", 281, 285),
    ("frog", 30, 32),
    ("turtle", 33, 37),
    ("bird", 80, 100),
    ("primate", 365, 382),
    ("fish", 389, 397),
    ("crab", 118, 121),
    ("insect", 300, 319),
)

#: Table 2 (Appendix A.3): eps for adversarial training and evaluation.
TABLE2_EPS = {
    ("binary_mnist", "inf"): 0.2,
    ("mnist", "inf"): 0.3,
    ("cifar10", "inf"): 4 / 255,
    ("restricted_imagenet", "inf"): 0.005,
    ("mnist", 2): 1.5,
    ("cifar10", 2): 0.314,
    ("restricted_imagenet", 2): 1.0,
}

#: Table 3 (Appendix A.4): the large eps of the Figure 3 examples.
TABLE3_EPS = {
    ("mnist", "inf"): 0.3,
    ("cifar10", "inf"): 0.125,
    ("restricted_imagenet", "inf"): 0.25,
    ("mnist", 2): 4.0,
    ("cifar10", 2): 4.7,
    ("restricted_imagenet", 2): 40.0,
}

#: Table 4 (Appendix B), in %: (data set, norm, eps) -> ((standard accuracy of the
#: standard, half-half, robust model), (robust accuracy of the same three)), in the
#: paper's row order. Its eps = 0 rows are the standard model alone (99.31, 92.20).
TABLE4 = {
    ("mnist", "inf", 0.1): ((99.31, 99.43, 99.36), (29.45, 95.29, 95.05)),
    ("mnist", "inf", 0.2): ((99.31, 99.22, 98.99), (0.05, 90.79, 92.86)),
    ("mnist", "inf", 0.3): ((99.31, 99.17, 97.37), (0.00, 89.51, 89.92)),
    ("mnist", 2, 0.5): ((99.31, 99.35, 99.41), (94.67, 97.60, 97.70)),
    ("mnist", 2, 1.5): ((99.31, 99.29, 99.24), (56.42, 87.71, 88.59)),
    ("mnist", 2, 2.5): ((99.31, 99.12, 97.79), (46.36, 60.27, 63.73)),
    ("cifar10", "inf", 2 / 255): ((92.20, 90.13, 89.64), (0.99, 69.10, 69.92)),
    ("cifar10", "inf", 4 / 255): ((92.20, 88.27, 86.54), (0.08, 55.60, 57.79)),
    ("cifar10", "inf", 8 / 255): ((92.20, 84.72, 79.57), (0.00, 37.56, 41.93)),
    ("cifar10", 2, 20 / 255): ((92.20, 92.04, 91.77), (45.60, 83.94, 84.70)),
    ("cifar10", 2, 80 / 255): ((92.20, 88.95, 88.38), (8.80, 67.29, 68.69)),
    ("cifar10", 2, 320 / 255): ((92.20, 81.74, 75.75), (3.30, 34.45, 39.76)),
}

#: Table 4's model columns, in the order of each cell triple.
TABLE4_MODELS = ("standard", "half", "robust")

#: Table 4's test-set size per data set: the paper does not state it; its accuracies
#: have two decimals of a percent, as from the whole official test sets (10,000
#: images each), which is what is assumed here.
TABLE4_TEST_IMAGES = {"mnist": 10_000, "cifar10": 10_000}

#: Table 4's eps per data set and norm (also Fig 7's x axis), in the paper's order.
TABLE4_EPS = {
    key: tuple(eps for (ds, norm, eps) in TABLE4 if (ds, norm) == key)
    for key in dict.fromkeys((ds, norm) for ds, norm, _ in TABLE4)
}

#: Table 5 (Appendix G, the linear binary-MNIST models of Appendix E, l_inf eps 0.2):
#: accuracies in % (train / test, standard / adversarial), then ||w||_1.
TABLE5_COLUMNS = ("std train", "std test", "adv train", "adv test", "||w||_1")
TABLE5 = {
    name: dict(zip(TABLE5_COLUMNS, values, strict=True))
    for name, values in (
        ("standard", (98.38, 92.10, 13.69, 14.95, 41.08)),
        ("adversarial", (94.05, 70.05, 76.05, 74.65, 13.69)),
    )
}
#: Table 5's l_inf eps (its caption).
TABLE5_EPS = 0.2
