"""The claims ledger: every claim ID of the paper the book reproduces.

A copy of the IDs of the project's ``CLAIMS.md``, each with where the paper
states it and a one-line statement, and the chapters whose reproduction tables
report it. The scorecard lists every claim here, so a claim no chapter reports
is shown as such instead of silently missing. Statements that quote a number
format it from :mod:`lib.paper.tables`, :mod:`lib.paper.section2`,
:mod:`lib.paper.code` or :mod:`lib.paper.beyond`, so it is typed once.
"""

from __future__ import annotations

from dataclasses import dataclass

import lib.paper.beyond as beyond
import lib.paper.code as code
import lib.paper.section2 as section2
import lib.paper.tables as tables

_NAMES = tables.SHORT_NAMES
_NORMS = {"inf": "l_inf", 2: "l2"}


def eps_text(eps: float) -> str:
    """eps as the paper writes it: a short decimal (0.2, 1.5), else k/255 (4/255)."""
    short = f"{eps:g}"
    return short if len(short) <= 5 else f"{round(eps * 255)}/255"


def _table2_text() -> str:
    by_norm = (
        f"{_NORMS[norm]}: "
        + ", ".join(
            f"{_NAMES[ds]} {eps_text(e)}" for (ds, n), e in tables.TABLE2_EPS.items() if n == norm
        )
        for norm in _NORMS
    )
    return "eps " + "; ".join(by_norm)


def _table5_text() -> str:
    std, adv = tables.TABLE5["standard"], tables.TABLE5["adversarial"]
    return (
        f"linear 5-vs-7 model: standard {std['std test']:.2f}% std / {std['adv test']:.2f}% adv "
        f"test, ||w||_1 {std['||w||_1']:.2f}; adversarial {adv['std test']:.2f}% / "
        f"{adv['adv test']:.2f}%, ||w||_1 {adv['||w||_1']:.2f}"
    )


def _authors_pgd_text() -> str:
    pgd = code.AUTHORS_PGD
    (mn, mf), (ct, cf), (ce, cef), (rt, rf) = (
        pgd[("mnist", "train")],
        pgd[("cifar10", "train")],
        pgd[("cifar10", "eval")],
        pgd[("restricted_imagenet", "train")],
    )
    mnist_step = mf * tables.TABLE2_EPS[("mnist", "inf")]
    return (
        f"PGD settings: mnist_challenge {mn} steps of {mnist_step:.3g}; cifar10_challenge trains "
        f"with {ct} steps of eps/{1 / cf:g}, evaluates with {ce} of eps/{1 / cef:g}; "
        f"robust-features-code {rt} steps of eps/{1 / rf:g}"
    )


_S2 = section2
_LEDGER = code.SETUP_LEDGER
_FOOTNOTE = ", ".join(
    f"std {std:.0%} => robust <= {bound:.0%}" for std, bound in _S2.FOOTNOTE_BOUNDS.items()
)
_SEP = ", ".join(f"{_NAMES[ds]} {tt:.3f} / {te:.3f}" for ds, (tt, te) in beyond.SEPARATION.items())
_TRADES = ", ".join(
    f"{_NAMES[ds]} {eps:g} {nat:.2f} / {rob:.2f}" for ds, (eps, nat, rob) in beyond.TRADES.items()
)
_RST = ", ".join(f"{m} {rob:.1f} / {std:.1f}" for m, (rob, std) in beyond.RST.items())


@dataclass(frozen=True)
class Claim:
    """One claim of the paper: where it is stated and which chapters test it."""

    section: str  # where the paper states it
    statement: str  # the claim in one line (the ledger's wording, shortened)
    chapters: tuple[str, ...]  # book/<chapter>.py files whose reproduction table has a row for it


CLAIMS: dict[str, Claim] = {
    "T1": Claim(
        "Section 2.1, eq. 3",
        "Distribution D: x1 = y w.p. p, weak features x2.. ~ N(eta y, 1); running example "
        f"p = {_S2.P}",
        ("theory",),
    ),
    "T2": Claim(
        "Section 2.1",
        f"f_avg has standard accuracy Phi(eta sqrt(d)), above {_S2.STANDARD_ABOVE:.0%} once "
        f"eta >= {_S2.ETA_SCALE:g}/sqrt(d)",
        ("theory",),
    ),
    "T3": Claim(
        "Section 2.1",
        f"against l_inf eps = {_S2.EPS_OVER_ETA:g} eta, f_avg's accuracy is Phi(-eta sqrt(d)), "
        f"below {_S2.ADVERSARIAL_BELOW:.0%}",
        ("theory",),
    ),
    "T4": Claim(
        "Theorem 2.1",
        "standard accuracy >= 1 - delta implies robust accuracy <= p/(1-p) delta; " + _FOOTNOTE,
        ("theory",),
    ),
    "T5": Claim(
        "Theorem 2.2, Appendix D",
        f"the standard SVM has std > {_S2.STANDARD_ABOVE:.0%} and adv < "
        f"{_S2.ADVERSARIAL_BELOW:.0%}; the adversarial SVM puts no weight on x2.. and has "
        "std = adv = p",
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
        _table2_text() + "; PGD with a random start",
        ("setup", "price_of_robustness"),
    ),
    "L1": Claim(
        "Table 5, Appendix E",
        _table5_text(),
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
        f"Restricted ImageNet: {len(tables.TABLE1)} super-classes; {_LEDGER['ri_robustness']} "
        f"classes (robustness library) or {_LEDGER['ri_paper']} (the paper's code)",
        ("setup",),
    ),
    "S3": Claim(
        "Appendix A (authors' code)",
        _authors_pgd_text(),
        ("setup",),
    ),
    "S4": Claim(
        "Appendix A (make_visualizations.py)",
        f"gradients clipped to +-{code.GRADIENT_CLIP_SIGMA} sigma (CIFAR, ImageNet), blue/red "
        f"sign on MNIST; untargeted large-eps examples; Fig 4 has {code.FIG4_FRAMES} frames "
        "from 0 to 1",
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
        "points, train-train / test-train, " + _SEP,
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
        "CE + beta max KL(f(x) || f(x')): larger beta, more robust and less accurate; "
        + _TRADES
        + " (natural / robust)",
        ("trade_off_inherent",),
    ),
    "X4": Claim(
        "Raghunathan et al. 2020, Table 1, Fig 1",
        f"robust self-training shrinks the price (CIFAR-10 {eps_text(beyond.RST_EPS)}: {_RST}, "
        "robust / standard); the standard-accuracy cost falls with more labelled data",
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
