"""B4's rule: is a model's robustness real, or gradient masking?"""

from __future__ import annotations

import math

from lib.verdicts.judgement import (
    INCONCLUSIVE,
    MIN_AUDIT_IMAGES,
    NOT_REPRODUCED,
    PGD_GAP,
    REPRODUCED,
    UNDERPOWERED,
    WITHIN_NOISE,
    Judgement,
    Z,
    _over,
)
from lib.verdicts.noise import (
    Estimate,
    as_estimate,
    binomial_se,
)
from lib.verdicts.rules import signed_effect


def no_masking(
    *,
    flagged: bool,
    strong_pgd: Estimate | float,
    worst: Estimate | float,
    n_images: int,
    floor: Estimate | float = 0.0,
    z: float = Z,
    best_gradient: Estimate | float | None = None,
    gap_se: float | None = None,
    falls_to_zero: bool | None = None,
    chance: float = 0.0,
) -> Judgement:
    """B4 for one model: robustness not owed to masked gradients.

    ``strong_pgd``, ``worst``: accuracy under the strong PGD and under the
    worst of all attacks per image (gradient-free and transfer ones
    included), on the same ``n_images`` images; ``best_gradient``: under the
    strongest gradient attack (default ``strong_pgd``). The gap is
    best_gradient - worst; its SE ``gap_se`` defaults to the paired one,
    binomial in the gap on ``n_images`` images (an image robust to all
    attacks is robust to the gradient attack, so the two differ only on the
    gap's images).

    - not reproduced (masking shown): ``falls_to_zero`` is False (the caller
      found accuracy not falling toward 0 as eps grows), or a masking flag
      is raised and the gap exceeds PGD_GAP + z gap SE;
    - reproduced, only when all hold: no flag; the strong PGD within PGD_GAP
      of the worst attack (same images: no noise allowance); at least
      MIN_AUDIT_IMAGES images; and real residual robustness: the worst-case
      accuracy above the floor, the larger of ``floor`` (e.g. the standard
      model's under the same attacks) and ``chance`` (e.g. 0.1 for ten
      classes), beyond z SE, so a model at chance is never reproduced;
    - inconclusive otherwise, saying which condition failed (kind: below the
      rule's power for too few images or a PGD too weak to tell, else within
      noise).
    """
    pgd, w, fl = as_estimate(strong_pgd), as_estimate(worst), as_estimate(floor)
    grad = pgd if best_gradient is None else as_estimate(best_gradient)
    if chance > fl.value:
        fl = Estimate(float(chance))
    numbers = (("strong PGD", pgd), ("all attacks", w))
    if best_gradient is not None:
        numbers += (("best gradient attack", grad),)
    gap = grad.value - w.value
    if gap_se is None:
        gap_se = binomial_se(min(max(gap, 0.0), 1.0), n_images) if n_images >= 1 else math.nan
    shown = []
    if falls_to_zero is False:
        shown.append("accuracy does not fall toward 0 as eps grows")
    if flagged and _over(gap, PGD_GAP + z * gap_se):
        shown.append(
            f"a masking flag is raised and the worst attack is {gap:.1%} below the best "
            f"gradient attack, beyond {PGD_GAP:.0%} + {z:g} x {gap_se:.2g}"
        )
    if shown:
        return Judgement(NOT_REPRODUCED, numbers, "; ".join(shown))
    failed, kind = [], WITHIN_NOISE
    if flagged:
        failed.append(
            f"a masking flag is raised, but the gap ({gap:.1%}) is not beyond "
            f"{PGD_GAP:.0%} + {z:g} x {gap_se:.2g}"
        )
    pgd_gap = pgd.value - w.value
    if _over(pgd_gap, PGD_GAP):
        failed.append(f"strong PGD is {pgd_gap:.1%} above the worst attack (allowed {PGD_GAP:.0%})")
        kind = UNDERPOWERED
    if n_images < MIN_AUDIT_IMAGES:
        failed.append(f"{n_images} images audited (need {MIN_AUDIT_IMAGES})")
        kind = UNDERPOWERED
    if signed_effect(w - fl, z=z).verdict != REPRODUCED:
        failed.append(f"no residual robustness beyond {z:g} SE above {fl.value:.1%}")
    if failed:
        return Judgement(INCONCLUSIVE, numbers, "; ".join(failed), kind)
    return Judgement(
        REPRODUCED,
        numbers,
        f"no flag; strong PGD within {pgd_gap:.1%} of all attacks on {n_images} images; "
        f"{w.value:.1%} robust",
    )
