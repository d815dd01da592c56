"""B2, B3: judges that stand in for the eye, made symmetric, powered and validated.

A judge is a classifier that never saw the large-eps examples: the robust model
of the other norm (:data:`lib.benefits.JUDGE`) and, on MNIST, a pixel-space
judge, the nearest training image (:class:`NearestNeighbour`). Each is a proxy
for how an image looks, so:

- **symmetric**: both arms, the robust model's example and the standard model's,
  are judged on the *same* images (:func:`symmetric_items`: every model and the
  judge right before, both attacks moved the class); the effect is a paired
  difference;
- **powered**: a row with fewer than :data:`lib.verdicts.benefits.MIN_ITEMS` images is
  inconclusive;
- **validated**: the judge must pass two negative controls before it counts
  (:class:`Controls`): it keeps its class on random noise of the same norm as
  the robust model's perturbation, and on the standard model's examples (which
  the paper says look like noisy versions of the image). A judge that fails
  neither confirms nor refutes (:func:`proxy_judgement`); a validated one is
  still capped at qualitatively reproduced.

All functions but the judge itself work on predicted classes (integer tensors).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch

from lib import verdicts
from lib.attacks import check_norm
from lib.judging import Rate, class_changes, correct_before
from lib.verdicts import benefits as rules

#: A judge passes a negative control when it keeps its class on more than this share
#: of the images beyond z SE: one that changes its mind on most noise of this size
#: sees the perturbation, not the look.
JUDGE_KEEP = verdicts.MAJORITY

#: What a reason starts with when a judge failed its controls (see :func:`judges_row`).
UNVALIDATED = "judge not validated"


class NearestNeighbour(torch.nn.Module):
    """The pixel-space judge: the class of the nearest training image in l2 distance.

    ``forward`` returns one-hot scores, so ``argmax(1)`` is the 1-NN class (for
    :func:`lib.benefits.path_predictions`). Images in [0, 1] pixel space.
    """

    def __init__(self, x_train: torch.Tensor, y_train: torch.Tensor, classes: int = 10):
        super().__init__()
        self.register_buffer("x", x_train.flatten(1).float())
        self.register_buffer("sq", self.x.pow(2).sum(1))
        self.register_buffer("y", torch.as_tensor(y_train).long())
        self.classes = classes

    def forward(self, x: torch.Tensor, batch: int = 512) -> torch.Tensor:
        nearest = []
        for xb in x.flatten(1).float().split(batch):
            # |a - b|^2 = |a|^2 - 2 a.b + |b|^2; |a|^2 is the same for every b
            nearest.append((self.sq - 2 * xb @ self.x.T).argmin(1))
        return torch.nn.functional.one_hot(self.y[torch.cat(nearest)], self.classes).float()


def same_norm_noise(x, x_adv, norm, *, seed: int = 0) -> torch.Tensor:
    """x plus random noise as large as each image's perturbation ``x_adv - x`` in ``norm``:
    l_inf, every pixel +-||delta||_inf with a random sign; l2, a Gaussian direction of
    length ||delta||_2. Clipped to the pixel box [0, 1], as the attack's examples are."""
    delta = (x_adv - x).flatten(1)
    g = torch.Generator().manual_seed(seed)
    if check_norm(norm) == "inf":
        size = delta.abs().amax(1, keepdim=True)
        noise = (torch.randint(0, 2, delta.shape, generator=g) * 2 - 1).to(x) * size
    else:
        direction = torch.randn(delta.shape, generator=g).to(x)
        noise = direction / direction.norm(dim=1, keepdim=True) * delta.norm(dim=1, keepdim=True)
    return (x + noise.view_as(x)).clamp(0, 1)


def symmetric_items(y, clean_preds, new_robust, new_standard) -> torch.Tensor:
    """The images both arms are judged on: every model of ``clean_preds`` (the attacked
    ones and the judge) right before, and both attacks moved the attacked model's class."""
    return correct_before(y, *clean_preds) & (new_robust != y) & (new_standard != y)


@dataclass(frozen=True)
class Controls:
    """A judge's negative controls on a row's images: how often it keeps its class."""

    noise: Rate  # on random noise of the robust perturbation's norm
    standard: Rate  # on the standard model's large-eps examples

    def passed(self, z: float = verdicts.Z) -> bool:
        """Both rates above :data:`JUDGE_KEEP` beyond z SE."""
        return all(
            r.n > 0
            and verdicts.signed_effect(r.estimate - JUDGE_KEEP, z=z).verdict == verdicts.REPRODUCED
            for r in (self.noise, self.standard)
        )

    def __str__(self) -> str:
        return f"keeps its class on noise {self.noise}, on standard examples {self.standard}"


def controls_of(y, judged_noise, judged_standard) -> Controls:
    """:class:`Controls` from the judge's classes on the noise and on the standard
    model's examples of a row's images (labels ``y``)."""
    keep = lambda p: Rate(int((p == y).sum()), len(y))  # noqa: E731
    return Controls(keep(judged_noise), keep(judged_standard))


def one_step(judge_path, y, new) -> torch.Tensor:
    """B3 per path ([N, T] judge classes from x to its example): the judge goes from the
    true class ``y`` to the attacked model's new class ``new`` in a single change."""
    jp = torch.as_tensor(judge_path)
    return (jp[:, 0] == y) & (jp[:, -1] == new) & (class_changes(jp) == 1)


def proxy_judgement(
    robust, standard, controls: Controls | None, *, name: str, z: float, why: str
) -> verdicts.Judgement:
    """One judge's verdict on one row: the paired difference of per-image outcomes
    (``robust``, ``standard``: booleans on the same images) by the sign test at z.

    Fewer than MIN_ITEMS images: inconclusive (power). A judge without passed
    controls: inconclusive (an unvalidated proxy neither confirms nor refutes; the
    reason starts with :data:`UNVALIDATED`). Otherwise the sign test's verdict,
    capped at qualitatively reproduced (``why``: the judge is a proxy).
    """
    n = len(robust)
    if n < 2:
        e = verdicts.Estimate(float("nan"), float("nan"))
        return verdicts.Judgement(
            verdicts.INCONCLUSIVE, ((name, e),), f"{n} images", verdicts.UNDERPOWERED
        )
    j = verdicts.signed_effect(rules.paired(robust, standard), name=name, z=z)
    if n < rules.MIN_ITEMS:
        return verdicts.Judgement(
            verdicts.INCONCLUSIVE,
            j.numbers,
            f"{n} images (a verdict needs {rules.MIN_ITEMS}); {j.reason}",
            verdicts.UNDERPOWERED,
        )
    if controls is None or not controls.passed(z):
        said = "no controls" if controls is None else str(controls)
        return verdicts.Judgement(
            verdicts.INCONCLUSIVE,
            j.numbers,
            f"{UNVALIDATED}: {said} (needs above {JUDGE_KEEP:.0%} beyond {z:.2f} SE); "
            f"it neither confirms nor refutes ({j.reason})",
            verdicts.PROXY_ONLY,
        )
    # the judge passed its controls: a validated proxy may refute, but not confirm beyond
    return verdicts.at_most(j, verdicts.QUALITATIVE, why, validated=True)


def judges_row(parts: dict[str, verdicts.Judgement]) -> verdicts.Judgement:
    """One row from its judges' verdicts: the validated judges combined (weakest wins);
    none validated: inconclusive, each judge's reason kept."""
    counted = {k: j for k, j in parts.items() if not j.reason.startswith(UNVALIDATED)}
    if not counted:
        numbers = tuple((f"{k}: {n}", e) for k, j in parts.items() for n, e in j.numbers)
        reason = "; ".join(f"{k}: {j.reason}" for k, j in parts.items())
        return verdicts.Judgement(verdicts.INCONCLUSIVE, numbers, reason, verdicts.PROXY_ONLY)
    j = verdicts.combine(counted)
    left = [k for k in parts if k not in counted]
    return dataclasses.replace(
        j, reason=j.reason + (f"; not counted: {', '.join(left)}" if left else "")
    )
