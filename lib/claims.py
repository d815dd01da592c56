"""The claims ledger: every claim ID of the paper the book reproduces.

A copy of the IDs of the project's ``CLAIMS.md``, each with a one-line
statement and the chapters whose reproduction tables report it. The
scorecard lists every claim here, so a claim no chapter reports is shown as
such instead of silently missing.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Claim:
    """One claim of the paper: where it is stated and which chapters test it."""

    section: str  # where the paper states it
    statement: str  # the claim in one line (the ledger's wording, shortened)
    chapters: tuple[str, ...]  # book/<chapter>.py files whose reproduction table has a row for it


CLAIMS: dict[str, Claim] = {
    "T1": Claim(
        "Section 2.1, eq. 3",
        "Distribution D: x1 = y w.p. p, weak features x2.. ~ N(eta y, 1); running example p = 0.95",
        ("theory",),
    ),
    "T2": Claim(
        "Section 2.1",
        "f_avg has standard accuracy Phi(eta sqrt(d)), above 99% once eta >= 3/sqrt(d)",
        ("theory",),
    ),
    "T3": Claim(
        "Section 2.1",
        "against l_inf eps = 2 eta, f_avg's accuracy is Phi(-eta sqrt(d)), below 1%",
        ("theory",),
    ),
    "T4": Claim(
        "Theorem 2.1",
        "standard accuracy >= 1 - delta implies robust accuracy <= p/(1-p) delta; "
        "std 99% => robust <= 19%, std 96% => robust <= 76%",
        ("theory",),
    ),
    "T5": Claim(
        "Theorem 2.2, Appendix D",
        "the standard SVM has std > 99% and adv < 1%; the adversarial SVM puts no weight on "
        "x2.. and has std = adv = p",
        ("theory",),
    ),
    "T6": Claim(
        "Section 2.2",
        "adversarial examples that shift the weak features transfer across classifiers",
        ("theory",),
    ),
    "P1": Claim(
        "Fig 1, Fig 6",
        "few samples: adversarial training helps standard accuracy; many samples: robust models "
        "fall below the standard one",
        ("price_of_robustness",),
    ),
    "P2": Claim(
        "Fig 7",
        "standard accuracy of adversarially trained models falls as eps_train grows",
        ("price_of_robustness",),
    ),
    "P3": Claim(
        "Table 4, Appendix B",
        "half natural / half adversarial batches: standard accuracy slightly up, robust accuracy "
        "down",
        ("price_of_robustness",),
    ),
    "P4": Claim(
        "Table 2",
        "eps l_inf: binary MNIST 0.2, MNIST 0.3, CIFAR-10 4/255, RI 0.005; l2: MNIST 1.5, "
        "CIFAR-10 0.314, RI 1; PGD with a random start",
        ("setup", "price_of_robustness"),
    ),
    "L1": Claim(
        "Table 5, Appendix E",
        "linear 5-vs-7 model: standard 92.10% std / 14.95% adv test, ||w||_1 41.08; adversarial "
        "70.05% / 74.65%, ||w||_1 13.69",
        ("linear_mnist",),
    ),
    "L2": Claim(
        "Fig 5(a)",
        "the adversarially trained linear model's weights are sparse",
        ("linear_mnist",),
    ),
    "L3": Claim(
        "Fig 5(b)",
        "the robust model puts no weight on pixels whose correlation with the label is below a "
        "threshold set by eps",
        ("linear_mnist",),
    ),
    "L4": Claim(
        "Fig 5(c)",
        "standard training on the k most correlated pixels: standard accuracy rises and "
        "adversarial accuracy falls with k",
        ("linear_mnist",),
    ),
    "B1": Claim(
        "Fig 2, Fig 10",
        "input gradients of robust models align with edges and shape; l_inf gradients are sparser "
        "than l2 ones",
        ("unexpected_benefits",),
    ),
    "B2": Claim(
        "Fig 3, Fig 8, Fig 9, Table 3",
        "large-eps PGD turns images into members of another class for robust models, into noise "
        "for standard ones",
        ("unexpected_benefits",),
    ),
    "B3": Claim(
        "Fig 4",
        "interpolating to the large-eps example is a smooth path between classes",
        ("unexpected_benefits",),
    ),
    "B4": Claim(
        "Section 3",
        "robust models do not owe their robustness to obfuscated gradients",
        ("unexpected_benefits",),
    ),
    "S1": Claim(
        "Appendix A",
        "models: linear; the mnist_challenge CNN; the (16, 16, 32, 64) x 5 CIFAR ResNet; ResNet-50",
        ("setup",),
    ),
    "S2": Claim(
        "Table 1",
        "Restricted ImageNet: 9 super-classes; 203 classes (robustness library) or 96 "
        "(the paper's code)",
        ("setup",),
    ),
    "S3": Claim(
        "Appendix A (authors' code)",
        "PGD settings: mnist_challenge 40 steps of 0.01; cifar10_challenge trains with 7 steps "
        "of eps/4, evaluates with 20 of eps/8; robust-features-code 8 steps of eps/4",
        ("setup",),
    ),
    "S4": Claim(
        "Appendix A (make_visualizations.py)",
        "gradients clipped to +-3 sigma (CIFAR, ImageNet), blue/red sign on MNIST; "
        "untargeted large-eps examples; Fig 4 has 20 frames from 0 to 1",
        ("unexpected_benefits",),
    ),
}


# Beyond the paper: what later work found, with the published numbers
# (the project's ``CLAIMS_BEYOND.md``). Kept apart from ``CLAIMS`` so that the
# paper's ledger stays a copy of ``CLAIMS.md``; ``ALL`` holds both.
BEYOND: dict[str, Claim] = {
    "X1": Claim(
        "Yang et al. 2020, Table 1 (numbers from the authors' slides)",
        "real data are l_inf-separated beyond 2 eps: min distance between differently labelled "
        "points, train-train / test-train, MNIST 0.737 / 0.812, CIFAR-10 0.212 / 0.220",
        ("trade_off_inherent",),
    ),
    "X2": Claim(
        "Yang et al. 2020",
        "on r-separated data a classifier is both accurate and robust at radius r (distances to "
        "the classes); D of Section 2.1 is not separated at eps = 2 eta",
        ("trade_off_inherent",),
    ),
    "X3": Claim(
        "Zhang et al. 2019 (TRADES)",
        "CE + beta max KL(f(x) || f(x')): larger beta, more robust and less accurate; MNIST 0.3 "
        "99.48 / 96.07, CIFAR-10 0.031 84.92 / 56.61 (natural / robust)",
        ("trade_off_inherent",),
    ),
    "X4": Claim(
        "Raghunathan et al. 2020, Table 1, Fig 1",
        "robust self-training shrinks the price (CIFAR-10 8/255: PGD-AT 45.8 / 87.3, RST + TRADES "
        "63.1 / 89.7, robust / standard); the standard-accuracy cost falls with more labelled data",
        ("trade_off_inherent",),
    ),
}

ALL: dict[str, Claim] = {**CLAIMS, **BEYOND}


def chapters() -> tuple[str, ...]:
    """Every chapter that reports a claim, in the order of their first claim."""
    return tuple(dict.fromkeys(c for claim in CLAIMS.values() for c in claim.chapters))


def check_claim(claim_id: str) -> str:
    if claim_id not in ALL:
        raise ValueError(f"unknown claim ID {claim_id!r}; the ledger has {sorted(ALL)}")
    return claim_id
