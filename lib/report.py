"""What every chapter reports: how it was built, and its reproduction table."""

from __future__ import annotations

import time

import torch

from lib import runtime

VERDICTS = ("reproduced", "qualitatively reproduced", "not reproduced", "not run")


class Timer:
    """Wall time since construction, for the chapter's build note."""

    def __init__(self):
        self.start = time.perf_counter()

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.start


def build_note(
    profile: str, seed: int, device: torch.device | str, seconds: float | None = None
) -> str:
    """A MyST admonition saying the profile, seed, device and wall time of a page."""
    lines = [
        f"profile **{profile}**, seed {seed}, on {runtime.device_name(device)}",
        f"torch {torch.__version__}, commit `{runtime.git_commit()[:12]}`",
    ]
    if seconds is not None:
        lines.append(f"computed in {seconds:.0f} s")
    body = "; ".join(lines) + "."
    return f":::{{admonition}} How this page was built\n:class: note\n{body}\n:::\n"


def check_verdict(verdict: str) -> str:
    if verdict not in VERDICTS:
        raise ValueError(f"verdict must be one of {VERDICTS}, got {verdict!r}")
    return verdict


def verdict(ok: bool, partly: bool = False) -> str:
    """The verdict of a reproduction-table row.

    "reproduced" when ``ok``, else "qualitatively reproduced" when
    ``partly``, else "not reproduced".
    """
    if ok:
        return "reproduced"
    return "qualitatively reproduced" if partly else "not reproduced"


def reproduction_table(rows: list[dict]):
    """A table of claims: each row has ``claim``, ``paper``, ``ours``, ``verdict``.

    Returned as a pandas DataFrame indexed by claim ID, for display.
    """
    import pandas as pd

    for row in rows:
        missing = {"claim", "paper", "ours", "verdict"} - row.keys()
        if missing:
            raise ValueError(f"reproduction row {row!r} lacks {sorted(missing)}")
        check_verdict(row["verdict"])
    return pd.DataFrame(rows).set_index("claim")
