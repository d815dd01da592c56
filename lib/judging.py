"""B2, B3: does another model see the class a large-eps example moved to, and along its path?

Pure functions on predicted classes (integer tensors), so the rules are
tested apart from any model:

- :func:`correct_before`: the images every given model classifies correctly
  before the attack. Only these say anything about an attack turning an
  image *into* another class (an image already misclassified has no class
  to leave).
- :func:`judge_agreement`: of the kept images the attack moved out of their
  class, how often a judge (a model of another kind that never saw the
  example) predicts the same new class.
- :func:`class_changes`, :func:`judge_along_path`: B3. Only paths on which
  the attacked model ends in another class count (a failed attack has no
  path between classes); on those, whether the judge too goes from the true
  class to the new one, and in one change.

Rates come with their binomial standard errors (:mod:`lib.verdicts`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from lib import verdicts


def _labels(t) -> torch.Tensor:
    t = torch.as_tensor(t)
    if t.dtype.is_floating_point:
        raise ValueError("predicted classes must be integers (take argmax of the logits)")
    return t


def correct_before(y, *clean_preds) -> torch.Tensor:
    """Boolean mask: every model's prediction on the clean image equals the label."""
    y = _labels(y)
    if not clean_preds:
        raise ValueError("give at least one model's clean predictions")
    ok = torch.ones_like(y, dtype=torch.bool)
    for p in clean_preds:
        p = _labels(p)
        if p.shape != y.shape:
            raise ValueError(f"predictions of shape {tuple(p.shape)} for labels {tuple(y.shape)}")
        ok &= p == y
    return ok


@dataclass(frozen=True)
class Rate:
    """k of n, with the rate and its binomial SE as an :class:`~lib.verdicts.Estimate`."""

    k: int
    n: int

    @property
    def estimate(self) -> verdicts.Estimate:
        if self.n == 0:
            return verdicts.Estimate(float("nan"), float("nan"))
        return verdicts.accuracy(self.k / self.n, self.n)

    def __str__(self) -> str:
        return f"{self.k} of {self.n}" + (f" ({self.k / self.n:.0%})" if self.n else "")


def judge_agreement(new, judged, y, keep=None) -> Rate:
    """Of the kept images whose class the attack changed (new != y), how many the judge
    also puts in the new class (judged == new).

    ``new``: the attacked model's prediction on its adversarial example;
    ``judged``: the judge's prediction on the same example; ``keep``: e.g.
    :func:`correct_before` of the attacked model and the judge.
    """
    new, judged, y = _labels(new), _labels(judged), _labels(y)
    keep = torch.ones_like(y, dtype=torch.bool) if keep is None else torch.as_tensor(keep)
    moved = keep & (new != y)
    return Rate(int((judged[moved] == new[moved]).sum()), int(moved.sum()))


def class_changes(path_preds) -> torch.Tensor:
    """Per path ([N, T] predicted classes along T frames): how many times the class changes."""
    p = _labels(path_preds)
    if p.dim() != 2 or p.shape[1] < 2:
        raise ValueError("path predictions must be [N, T] with T >= 2 frames")
    return (p[:, 1:] != p[:, :-1]).sum(1)


@dataclass(frozen=True)
class PathReport:
    """B3 on the paths where the attacked model changes class."""

    paths: int  # paths whose last frame the attacked model puts in another class
    judge_ends_new: Rate  # the judge's last frame is the model's new class
    judge_one_step: Rate  # the judge goes from the true class to the new one in one change
    model_changes: float  # mean class changes of the attacked model on these paths
    judge_changes: float  # mean class changes of the judge on these paths


def judge_along_path(model_path, judge_path, y, keep=None) -> PathReport:
    """B3: ask the judge along each path from x (frame 0) to its large-eps example (last frame).

    Only paths on which the attacked model starts in the true class and
    ends in another count (and only ``keep``ed images, e.g. both models
    right before the attack): a failed attack has no path between classes to
    judge, and counting it as "0 changes" would flatter the model.
    """
    mp, jp, y = _labels(model_path), _labels(judge_path), _labels(y)
    if mp.shape != jp.shape or mp.shape[0] != y.shape[0]:
        raise ValueError("model and judge paths must both be [N, T], one label per path")
    keep = torch.ones_like(y, dtype=torch.bool) if keep is None else torch.as_tensor(keep)
    new = mp[:, -1]
    use = keep & (mp[:, 0] == y) & (new != y)
    n = int(use.sum())
    mp, jp, y, new = mp[use], jp[use], y[use], new[use]
    jc, mc = class_changes(jp), class_changes(mp)
    ends = jp[:, -1] == new
    one_step = ends & (jp[:, 0] == y) & (jc == 1)
    return PathReport(
        paths=n,
        judge_ends_new=Rate(int(ends.sum()), n),
        judge_one_step=Rate(int(one_step.sum()), n),
        model_changes=float(mc.float().mean()) if n else float("nan"),
        judge_changes=float(jc.float().mean()) if n else float("nan"),
    )
