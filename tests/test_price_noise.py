"""The price chapter's estimates in lib.verdicts: a pooled effect over rows, a trend over
eps, the training seed's spread from pairs of seeds, and an SE widened by it. Each
checked against numbers worked out by hand."""

from __future__ import annotations

import math

import pytest

from lib import verdicts as V


def test_pooled_effect_is_the_unweighted_mean_with_its_se():
    e = V.pooled_effect([V.Estimate(0.01, 0.003), V.Estimate(0.03, 0.004), 0.02])
    assert e.value == pytest.approx(0.02) and e.se == pytest.approx(0.005 / 3)
    with pytest.raises(ValueError):
        V.pooled_effect([])


def test_pooled_rule_verdict_and_description():
    rows = [V.Estimate(0.02, 0.015), V.Estimate(0.02, 0.015), V.Estimate(-0.04, 0.015)]
    j = V.pooled_rule(rows, labels=["a", "b", "c"], paper_k=3)
    # the mean 0 is within noise; one row goes against on its own, named
    assert j.verdict == V.INCONCLUSIVE and "1 against (c)" in j.reason
    assert "the paper: 3 of 3" in j.reason
    # no single row beyond 2 SE, the mean of four is: pooled, the effect is there
    small = [V.Estimate(0.02, 0.012)] * 4
    assert all(V.signed_effect(e).verdict == V.INCONCLUSIVE for e in small)
    assert V.pooled_rule(small).verdict == V.REPRODUCED
    assert V.pooled_rule([]).verdict == V.NOT_RUN
    with pytest.raises(ValueError):
        V.pooled_rule(small, labels=["a"])


def test_paper_count_at_a_noise():
    assert V.paper_count([0.5, 0.1, -0.2]) == 2
    assert V.paper_count([0.5, 0.1, -0.2], [0.2, 0.2, 0.2]) == 1  # only 0.5 > 2 x 0.2
    with pytest.raises(ValueError):
        V.paper_count([0.5], [0.1, 0.1])


def test_trend_slope_and_se():
    # y = 1 - 0.1 x exactly, SE 0.01 each at x = 0, 0.5, 1
    ys = [V.Estimate(1.0, 0.01), V.Estimate(0.95, 0.01), V.Estimate(0.9, 0.01)]
    t = V.trend([0.0, 0.5, 1.0], ys)
    # sum (x - 0.5)^2 = 0.5; var = (0.25 + 0 + 0.25) 1e-4 / 0.25 = 2e-4
    assert t.value == pytest.approx(-0.1) and t.se == pytest.approx(math.sqrt(2e-4))
    # two points: the endpoint difference over the x range
    two = V.trend([0.0, 1.0], [ys[0], ys[2]])
    assert two.value == pytest.approx(-0.1) and two.se == pytest.approx(math.hypot(0.01, 0.01))
    with pytest.raises(ValueError):
        V.trend([1.0, 1.0], ys[:2])


def test_pair_spread_and_widened():
    # pairs 0.2 and 0 points apart: sqrt((0.002^2 + 0) / (2 x 2)) = 0.001
    assert V.pair_spread([(0.98, 0.982), (0.5, 0.5)]) == pytest.approx(0.001)
    assert math.isnan(V.pair_spread([]))
    w = V.widened(V.Estimate(0.9, 0.003), 0.004)
    assert w.value == 0.9 and w.se == pytest.approx(0.005)
    assert V.widened(V.Estimate(0.9, 0.003), math.nan).se == 0.003  # not measured
