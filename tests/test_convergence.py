"""The gap-drift check of the price of robustness (lib.convergence)."""

from __future__ import annotations

import math

import pytest

from lib import convergence, verdicts


def test_a_settled_gap_has_no_drift():
    std = [(s, 0.99) for s in range(10, 110, 10)]
    rob = [(s, 0.97) for s in range(10, 110, 10)]
    d = convergence.gap_drift(std, rob, 10_000)
    assert d.steps == (80, 90, 100)  # the last fifth of 100 steps
    assert d.drift.value == pytest.approx(0) and d.spread == pytest.approx(0)
    assert verdicts.signed_effect(d.drift).verdict == verdicts.INCONCLUSIVE  # no drift beyond noise


def test_a_closing_gap_is_a_drift_beyond_noise():
    std = [(s, 0.99) for s in range(10, 110, 10)]
    rob = [(s, 0.90 + s / 1000) for s in range(10, 110, 10)]  # still catching up
    d = convergence.gap_drift(std, rob, 10_000)
    assert d.drift.value == pytest.approx(-0.02)
    assert abs(d.drift.z()) > verdicts.Z  # the gap moved: the price is partly unequal convergence
    # on 100 test images the same drift is within noise
    assert abs(convergence.gap_drift(std, rob, 100).drift.z()) < verdicts.Z


def test_one_point_in_the_last_fifth_cannot_measure_a_drift():
    d = convergence.gap_drift([(8, 0.9)], [(8, 0.8)], 256)
    assert d.steps == (8,) and math.isnan(d.drift.se)
    assert verdicts.signed_effect(d.drift).verdict == verdicts.INCONCLUSIVE


def test_bad_curves_fail_with_a_message():
    with pytest.raises(ValueError, match="different steps"):
        convergence.gap_drift([(10, 0.9)], [(12, 0.8)], 100)
    with pytest.raises(ValueError, match="at least one point"):
        convergence.gap_drift([], [(12, 0.8)], 100)
    with pytest.raises(ValueError, match="last"):
        convergence.gap_drift([(10, 0.9)], [(10, 0.8)], 100, last=0)


def test_curve_of_reads_a_history():
    hist = [{"epoch": 1, "curve": [[5, 0.5], [10, 0.7]]}, {"epoch": 2, "curve": [[15, 0.8]]}]
    assert convergence.curve_of(hist) == [(5, 0.5), (10, 0.7), (15, 0.8)]
    assert convergence.curve_of([{"epoch": 1}]) == []


def test_gap_curve_keeps_the_shared_steps_in_order():
    std = [(20, 0.9), (10, 0.8), (30, 0.95)]
    rob = [(10, 0.7), (30, 0.9)]
    assert convergence.gap_curve(std, rob) == [(10, pytest.approx(0.1)), (30, pytest.approx(0.05))]
