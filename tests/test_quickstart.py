"""examples/quickstart.py runs as a user would run it, and says something true."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _value(output: str, label: str) -> float:
    found = re.search(rf"^{label}: ([0-9.]+)", output, flags=re.MULTILINE)
    assert found, f"no line {label!r} in:\n{output}"
    return float(found.group(1))


@pytest.mark.slow
def test_quickstart_runs_and_its_numbers_mean_something():
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "quickstart.py")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    standard = _value(out, "standard accuracy")
    robust = _value(out, "PGD accuracy")
    assert standard > 0.6, "10 classes: chance is 0.1; 500 images train well past 0.6"
    assert robust < standard - 0.1, "an eps of 0.1 breaks an undefended model's accuracy"
    assert _value(out, "largest pixel change of pgd\\(\\.\\.\\.\\)") <= 0.1 + 1e-6
    assert re.search(r"^precision: (fp32|bf16) ", out, flags=re.MULTILINE), out
