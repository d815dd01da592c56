"""B2/B3 helpers on hand-made predictions."""

from __future__ import annotations

import math

import pytest
import torch

from lib import judging, verdicts

T = torch.tensor


def test_correct_before_keeps_images_both_models_get_right():
    y = T([0, 1, 2, 3])
    a, b = T([0, 1, 0, 3]), T([0, 2, 2, 3])
    assert judging.correct_before(y, a, b).tolist() == [True, False, False, True]
    assert judging.correct_before(y, a).tolist() == [True, True, False, True]
    with pytest.raises(ValueError):
        judging.correct_before(y)
    with pytest.raises(ValueError):
        judging.correct_before(y, T([0, 1]))
    with pytest.raises(ValueError):
        judging.correct_before(y, T([0.0, 1, 2, 3]))


def test_judge_agreement_counts_only_moved_kept_images():
    y = T([0, 0, 0, 0, 0, 1])
    new = T([1, 2, 0, 3, 4, 5])  # image 2: the attack failed
    judged = T([1, 3, 0, 3, 0, 5])
    keep = T([True, True, True, True, False, True])  # image 4 was wrong before
    r = judging.judge_agreement(new, judged, y, keep)
    assert (r.k, r.n) == (3, 4)  # images 0, 3, 5 agree; 1 does not
    assert r.estimate.value == 0.75 and r.estimate.se == verdicts.binomial_se(0.75, 4)
    assert str(r) == "3 of 4 (75%)"
    assert judging.judge_agreement(new, judged, y).n == 5
    none = judging.judge_agreement(y, y, y)
    assert none.n == 0 and math.isnan(none.estimate.value) and str(none) == "0 of 0"


def test_class_changes():
    p = T([[0, 0, 0, 1, 1], [0, 1, 0, 1, 2], [3, 3, 3, 3, 3]])
    assert judging.class_changes(p).tolist() == [1, 4, 0]
    with pytest.raises(ValueError):
        judging.class_changes(T([0, 1]))


def test_judge_along_path():
    y = T([0, 0, 0, 0, 0])
    model = T(
        [
            [0, 0, 1, 1],  # changes to 1
            [0, 2, 0, 2],  # changes to 2, wandering
            [0, 0, 0, 0],  # the attack failed: not counted
            [0, 0, 3, 3],  # changes to 3
            [1, 1, 1, 1],  # wrong before the attack: not counted
        ]
    )
    judge = T(
        [
            [0, 0, 0, 1],  # the judge goes 0 -> 1 in one change: smooth
            [0, 5, 6, 2],  # ends in 2 but through other classes
            [0, 0, 0, 0],
            [0, 0, 0, 0],  # the judge never leaves the true class
            [1, 1, 1, 1],
        ]
    )
    r = judging.judge_along_path(model, judge, y)
    assert r.paths == 3
    assert (r.judge_ends_new.k, r.judge_ends_new.n) == (2, 3)
    assert (r.judge_one_step.k, r.judge_one_step.n) == (1, 3)
    assert r.model_changes == pytest.approx((1 + 3 + 1) / 3)
    assert r.judge_changes == pytest.approx((1 + 3 + 0) / 3)
    keep = T([False, True, True, True, True])
    assert judging.judge_along_path(model, judge, y, keep).paths == 2
    empty = judging.judge_along_path(model[2:3], judge[2:3], y[2:3])
    assert empty.paths == 0 and math.isnan(empty.judge_changes)
    with pytest.raises(ValueError):
        judging.judge_along_path(model, judge[:, :3], y)
