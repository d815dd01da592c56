"""The verdict rules of the unexpected-benefits chapter (B1, B4) and their shared helpers.

Pure functions of per-image measurements (tensors), tested apart from any model:
the Bonferroni z of a claim of several tests is :func:`lib.verdicts.z_for`; a signed
effect against an effect-size floor (:func:`beyond_floor`), paired differences on
the same images (:func:`paired`), B1's verdict (:func:`b1_judgement`, floors
raised to an untrained network's spread by :func:`null_floors`) and B4's
(:func:`b4_judgement`). The measurements are in :mod:`lib.benefits`, B2 / B3's judges in
:mod:`lib.benefits_proxy`.
"""

from __future__ import annotations

import dataclasses

import torch

from lib import verdicts

#: No verdict on fewer items than this (B1's images, B2's examples, B3's paths):
#: below it a row is inconclusive for want of power (issue 39).
MIN_ITEMS = 50

#: B1's effect-size floors: a difference in edge alignment (a correlation) or in
#: sparsity (a share of the gradient's l1 mass) smaller than this is not counted,
#: however many images make it significant: the claims are about what the
#: figures show, and 0.05 is a twentieth of either score's range.
ALIGN_FLOOR = 0.05
SPARSITY_FLOOR = 0.05


def beyond_floor(effect, floor: float, *, name: str, z: float) -> verdicts.Judgement:
    """A signed effect (> 0 the paper's way) judged against an effect-size floor: above
    ``floor`` beyond z SE, reproduced; below ``-floor`` beyond z SE, not reproduced;
    otherwise (within noise, or too small to count) inconclusive."""
    e = verdicts.as_estimate(effect)
    numbers = ((name, e),)
    band = f"{name} {e.value:.4g} ± {z:.2f} x {e.se:.2g}"
    if verdicts.signed_effect(e - floor, z=z).verdict == verdicts.REPRODUCED:
        return verdicts.Judgement(verdicts.REPRODUCED, numbers, f"{band} is above {floor:g}")
    if verdicts.signed_effect(e + floor, z=z).verdict == verdicts.NOT_REPRODUCED:
        return verdicts.Judgement(verdicts.NOT_REPRODUCED, numbers, f"{band} is below -{floor:g}")
    return verdicts.Judgement(
        verdicts.INCONCLUSIVE,
        numbers,
        f"{band} is not beyond the floor {floor:g} and the noise",
        verdicts.WITHIN_NOISE,
    )


#: B4's transfer attack: the strong PGD (one start) on the standard model of the same
#: data set, its examples shown to the robust model. Beating the robust model's own
#: gradient attacks, it would say those follow gradients that mislead.
TRANSFER = "transfer from standard"
#: The audit's attacks that follow the attacked model's own gradients.
GRADIENT_ATTACKS = ("training PGD", "strong PGD", "APGD-CE", "APGD-T", "FAB-T")
#: Its gradient-free attack (torchattacks' Square, at the profile's queries).
GRADIENT_FREE = "Square"


#: Why B2 and B3 stop at qualitatively reproduced, even with a validated judge.
PROXY = "a judge is a proxy for how the images look; see the figures"


def paired(a: torch.Tensor, b: torch.Tensor) -> verdicts.Estimate:
    """mean(a - b) over the same images, with the paired standard error."""
    a, b = torch.as_tensor(a).double(), torch.as_tensor(b).double()
    return verdicts.Estimate(float((a - b).mean()), verdicts.paired_diff_se(a, b))


#: B1's paired tests on one data set: name -> (model, reference, score, floor). The
#: random-init network (``"random"``) is the null model: a robust model's gradient
#: must be better aligned than an untrained network's of the same architecture, as
#: well as than the standard model's.
B1_TESTS = {
    "l2 aligns": ("l2", "standard", "edge alignment", ALIGN_FLOOR),
    "linf aligns": ("linf", "standard", "edge alignment", ALIGN_FLOOR),
    "linf sparser": ("linf", "l2", "sparsity", SPARSITY_FLOOR),
    "l2 above random-init": ("l2", "random", "edge alignment", ALIGN_FLOOR),
    "linf above random-init": ("linf", "random", "edge alignment", ALIGN_FLOOR),
}


def b1_tests(models_given) -> dict[str, tuple]:
    """The tests of :data:`B1_TESTS` whose models are in ``models_given``."""
    return {k: t for k, t in B1_TESTS.items() if {t[0], t[1]} <= set(models_given)}


FLOORS = {"edge alignment": ALIGN_FLOOR, "sparsity": SPARSITY_FLOOR}


def null_floors(null_scores) -> dict[str, float]:
    """B1's floors raised to the null's spread: per score, the larger of its constant floor
    (:data:`FLOORS`) and the largest difference in mean score between any two of
    ``null_scores`` (:func:`gradient_scores` of untrained networks of the same
    architecture, different seeds). A difference between trained models no larger than
    untrained networks differ by is not counted."""
    out = {}
    for score, floor in FLOORS.items():
        means = [float(s[score].double().mean()) for s in null_scores]
        spread = max((abs(a - b) for a in means for b in means), default=0.0)
        out[score] = max(floor, spread)
    return out


def b1_judgement(
    scores: dict[str, dict[str, torch.Tensor]],
    *,
    tests: int | None = None,
    floors: dict[str, float] | None = None,
):
    """B1 on one data set: both robust models' gradients align with the image's edges more
    than the standard model's and than a random-init network's (``scores["random"]``,
    when given), and the l_inf model's are sparser than the l2 model's; each a paired
    difference on the same images beyond its effect-size floor (``floors`` per score,
    default :data:`FLOORS`; the chapter: :func:`null_floors`) and z SE, where z is
    :func:`lib.verdicts.z_for` over ``tests`` tests (default: this data set's; the chapter
    passes the claim's total over its data sets). ``scores[model]`` is
    :func:`gradient_scores` of that model. Fewer than :data:`MIN_ITEMS` images:
    inconclusive."""
    chosen = b1_tests(scores)
    floors = {**FLOORS, **(floors or {})}
    k = tests or len(chosen)
    z = verdicts.z_for(k)
    parts = {
        name: beyond_floor(
            paired(scores[m][score], scores[ref][score]),
            floors[score],
            name=f"{score.replace('edge ', '')} {m} - {ref}",
            z=z,
        )
        for name, (m, ref, score, _) in chosen.items()
    }
    j = verdicts.all_hold(parts)
    n = len(scores["standard"]["edge alignment"])
    why = f"{j.reason} (z = {z:.2f}: Bonferroni over {k} tests)"
    if n < MIN_ITEMS:
        return verdicts.Judgement(
            verdicts.INCONCLUSIVE,
            j.numbers,
            f"{n} images (a verdict needs {MIN_ITEMS}); {why}",
            verdicts.UNDERPOWERED,
        )
    return dataclasses.replace(j, reason=why)


# --------------------------------------------------------------------------
# B4: masking

#: B4: "accuracy falls toward 0 as eps grows": at the large eps of Figure 3 the robust
#: model must keep at most this share of its accuracy at the training eps (beyond
#: noise). A model whose gradients mislead the attack keeps it all.
FALL_SHARE = 0.5
#: B4's tests per robust model: the gradient-free attack, the transfer attack, the fall.
B4_TESTS = 3


def b4_judgement(
    survived: dict[str, torch.Tensor],
    *,
    zero_fraction: float,
    large: torch.Tensor | None = None,
    at_train: torch.Tensor | None = None,
    classes: int = 10,
    tests: int = B4_TESTS,
) -> verdicts.Judgement:
    """B4 for one robust model: robustness not owed to masked gradients.

    ``survived[attack]``: per audited image, correct before and after the attack
    (every attack on the same images); ``large``, ``at_train``: per image, correct
    under the large-eps PGD of Figure 3 and under the training PGD at the training eps
    (the same images). With z = :func:`lib.verdicts.z_for` over ``tests`` (the chapter: the
    claim's total):

    - not reproduced: the gradient-free attack, or the transfer attack, beats the
      gradient attacks together (:data:`GRADIENT_ATTACKS`, an image counts as broken
      if any breaks it) beyond z paired SE; or the accuracy does not fall toward 0
      as eps grows (at the large eps above :data:`FALL_SHARE` of that at the training
      eps, beyond z SE);
    - inconclusive: otherwise, when fewer than ``MIN_AUDIT_IMAGES`` images were
      audited, the worst case (every attack) is not above chance (1 / ``classes``)
      beyond z SE, or an input gradient is exactly 0 (a masking flag);
    - reproduced: otherwise.

    The fixed-step PGD's gap (training and strong PGD above the worst case) is a fact
    reported in the reason, not a condition: it says the training attack was weak,
    not that gradients mislead.
    """
    n = len(survived[GRADIENT_ATTACKS[0]])
    z = verdicts.z_for(tests)
    grad = torch.stack([survived[a] for a in GRADIENT_ATTACKS]).all(0)
    worst = torch.stack(list(survived.values())).all(0)
    acc = {k: verdicts.accuracy(float(v.float().mean()), n) for k, v in survived.items()}
    numbers = [("gradient attacks", verdicts.accuracy(float(grad.float().mean()), n))]
    refuted, notes = [], []
    for name in (GRADIENT_FREE, TRANSFER):
        if name not in survived:
            notes.append(f"{name} not run")
            continue
        gap = paired(grad, survived[name])
        numbers.append((f"{name} beats the gradient attacks by", gap))
        if verdicts.signed_effect(gap, z=z).verdict == verdicts.REPRODUCED:
            refuted.append(f"{name} beats the gradient attacks by {gap.format()}")
    if large is not None and at_train is not None:
        kept = paired(large, FALL_SHARE * at_train.double())
        numbers.append(
            ("large-eps accuracy", verdicts.accuracy(float(large.float().mean()), len(large)))
        )
        if verdicts.signed_effect(kept, z=z).verdict == verdicts.REPRODUCED:
            refuted.append(
                f"accuracy does not fall as eps grows: {large.float().mean():.1%} at the large eps "
                f"against {at_train.float().mean():.1%} at the training eps"
            )
    else:
        notes.append("no large-eps accuracy")
    worst_acc = verdicts.accuracy(float(worst.float().mean()), n)
    numbers.append(("all attacks", worst_acc))
    facts = (
        f"fixed-step PGD gaps (facts, not conditions): training PGD "
        f"{acc['training PGD'].value - worst_acc.value:.1%}, strong PGD "
        f"{acc['strong PGD'].value - worst_acc.value:.1%} above all attacks"
    )
    tail = f"; {facts}; z = {z:.2f} (Bonferroni over {tests} tests)"
    if refuted:
        return verdicts.Judgement(
            verdicts.NOT_REPRODUCED, tuple(numbers), "; ".join(refuted) + tail
        )
    failed = list(notes)
    if n < verdicts.MIN_AUDIT_IMAGES:
        failed.append(f"{n} images audited (need {verdicts.MIN_AUDIT_IMAGES})")
    if verdicts.signed_effect(worst_acc - 1 / classes, z=z).verdict != verdicts.REPRODUCED:
        failed.append(
            f"all attacks leave {worst_acc.value:.1%}, not above chance {1 / classes:.0%}"
        )
    if zero_fraction > 0:
        failed.append(f"a masking flag: {zero_fraction:.1%} of input gradients are exactly 0")
    if failed:  # too few images, nothing above chance, or a flag: below the rule's power
        return verdicts.Judgement(
            verdicts.INCONCLUSIVE, tuple(numbers), "; ".join(failed) + tail, verdicts.UNDERPOWERED
        )
    return verdicts.Judgement(
        verdicts.REPRODUCED,
        tuple(numbers),
        "neither the gradient-free nor the transfer attack beats the gradient attacks, and "
        f"accuracy falls with eps; {worst_acc.value:.1%} robust on {n} images" + tail,
    )
