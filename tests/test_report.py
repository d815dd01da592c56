"""The reproduction-table helpers every chapter uses."""

from __future__ import annotations

import pytest

from lib import report


def test_verdicts():
    assert report.verdict(True) == "reproduced"
    assert report.verdict(False, partly=True) == "qualitatively reproduced"
    assert report.verdict(False) == "not reproduced"
    with pytest.raises(ValueError, match="lacks"):
        report.reproduction_table([{"claim": "X1", "paper": "p"}])
    with pytest.raises(ValueError, match="verdict must be one of"):
        report.reproduction_table([{"claim": "X1", "paper": "p", "ours": "o", "verdict": "maybe"}])
