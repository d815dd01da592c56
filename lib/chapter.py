"""A chapter's start and finish, and what it reports.

Start: :func:`start` (plot style, warning filters, the wall-time timer) before
the parameters cell, :func:`setup` (profile and device) after it. Finish:
:func:`finish` shows the reproduction table, writes the claim file
(:func:`save_results`) and glues the build note. Labels for tables and
figures: :func:`norm_label`, :func:`eps_label`. The claim files of every
chapter feed the scorecard (:func:`load_results`, :func:`scorecard_rows`).
"""

from __future__ import annotations

import datetime
import json
import os
import re
import time
import warnings
from pathlib import Path

import torch

from lib import book_config, plots, runtime, verdicts
from lib.attacks import check_norm
from lib.experiments import profiles, store_format
from lib.paper import claims

#: The verdict vocabulary (:data:`lib.verdicts.judgement.VOCABULARY`).
VERDICTS = verdicts.VOCABULARY


class Timer:
    """Wall time since construction, for the chapter's build note."""

    def __init__(self):
        self.start = time.perf_counter()

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.start


def start(*, quiet_subsets: bool = False, keep_freed_memory: bool = True) -> Timer:
    """A chapter's first step, before its parameters: plot style, warning filters, timer.

    ``quiet_subsets=True`` silences :class:`lib.data.SubsetWarning` for pages
    that flag subsets themselves (from the runs' records) instead.
    ``keep_freed_memory`` (the default) calls :func:`lib.runtime.keep_freed_memory`:
    fewer page faults for buffers over glibc's mmap threshold, the same bits.
    """
    from lib.data import SubsetWarning

    plots.style()
    if keep_freed_memory:
        runtime.keep_freed_memory()  # fewer page faults: the same bits, faster (see there)
    if quiet_subsets:
        warnings.simplefilter("ignore", SubsetWarning)
    return Timer()


def setup(profile: str, device=None) -> tuple[str, torch.device]:
    """The profile (the chapter's parameter, checked) and the device to run on.

    The ``paper`` profile on a CPU nobody asked for (``device`` or
    ``$ODDS_DEVICE``) raises :class:`lib.book_config.PaperOnCpuError`.
    """
    asked = device is not None or runtime.device_was_asked()
    device = torch.device(device) if device is not None else runtime.default_device()
    profile = profiles.check_profile(profile)
    book_config.check_device(profile, device, asked=asked)
    return profile, device


def finish(
    chapter: str,
    rows: list[dict],
    *,
    profile: str,
    seed: int,
    device: torch.device | str,
    timer: Timer,
    extra: str = "",
) -> dict:
    """A chapter's last step: show its reproduction table, write its claim file
    (:func:`save_results`) and glue ``build_note``. Returns the claim record."""
    from IPython.display import Markdown, display
    from myst_nb import glue

    display(reproduction_table(rows))
    record = save_results(chapter, rows, profile=profile, seed=seed, device=device, timer=timer)
    note = build_note(profile, seed, device, record["seconds"], extra=extra)
    glue("build_note", Markdown(note), display=False)
    return record


def norm_label(norm) -> str:
    """``"l_inf"`` or ``"l2"``: a threat model's name in tables and titles."""
    return "l_inf" if check_norm(norm) == "inf" else "l2"


def eps_label(dataset: str, eps: float) -> str:
    """eps as the paper writes it: k/255 for CIFAR-10, else plainly."""
    return f"{round(eps * 255)}/255" if dataset == "cifar10" and eps else f"{eps:g}"


def norm_key(norm) -> str:
    """A threat model's name in glue keys: ``"linf"`` or ``"l2"``."""
    return "linf" if check_norm(norm) == "inf" else "l2"


def eps_key(dataset: str, eps: float) -> str:
    """A glue-safe name for an eps: 8/255 -> '8_255' on CIFAR-10, 0.3 -> '0p3' elsewhere."""
    if dataset == "cifar10":
        return f"{round(eps * 255)}_255"
    return f"{eps:g}".replace(".", "p")


def build_note(
    profile: str,
    seed: int,
    device: torch.device | str,
    seconds: float | None = None,
    extra: str = "",
) -> str:
    """A MyST admonition saying the profile, seed, device and wall time of a page.

    ``extra`` is appended to the admonition's text (a sentence of Markdown).
    """
    lines = [
        f"profile **{profile}**, seed {seed}, on {runtime.device_name(device)}",
        f"torch {torch.__version__}, commit `{runtime.git_commit()[:12]}`",
    ]
    if seconds is not None:
        lines.append(f"wall time {seconds:.0f} s")
    body = "; ".join(lines) + "." + (f" {extra}" if extra else "")
    return f":::{{admonition}} How this page was built\n:class: note\n{body}\n:::\n"


def check_verdict(verdict: str) -> str:
    if verdict not in VERDICTS:
        raise ValueError(f"verdict must be one of {VERDICTS}, got {verdict!r}")
    return verdict


def verdict(ok: bool, partly: bool = False) -> str:
    """Deprecated: a verdict from two booleans, with no noise. Use the rules of
    :mod:`lib.verdicts` (a ``Judgement`` and its ``row``) instead; kept only
    until the last chapter moves off it.

    "reproduced" when ``ok``, else "qualitatively reproduced" when
    ``partly``, else "not reproduced".
    """
    if ok:
        return "reproduced"
    return "qualitatively reproduced" if partly else "not reproduced"


def reproduction_table(rows: list[dict]):
    """A table of claims: each row has ``claim``, ``paper``, ``ours``, ``verdict``
    (and may have ``reason``, the one line of the rule that gave the verdict).

    Returned as a pandas DataFrame indexed by claim ID, for display.
    """
    import pandas as pd

    for row in rows:
        missing = {"claim", "paper", "ours", "verdict"} - row.keys()
        if missing:
            raise ValueError(f"reproduction row {row!r} lacks {sorted(missing)}")
        check_verdict(row["verdict"])
    table = pd.DataFrame(rows).set_index("claim")
    if "why_inconclusive" in table:  # the kind of an inconclusive row; blank for the others
        table["why_inconclusive"] = table["why_inconclusive"].fillna("")
    return table


def results_root() -> Path:
    """Where chapters write (and the scorecard reads) claim files: ``$ODDS_RESULTS``,
    else ``_build/results`` in the current directory's project
    (:func:`lib.runtime.project_root`).

    A scratch build therefore never overwrites the committed
    ``results/claims/<profile>/*.json``: only ``make claims`` (which copies a
    build's files there) or ``ODDS_RESULTS=results`` writes them. The tests
    point ``ODDS_RESULTS`` at a temporary folder.
    """
    env = os.environ.get("ODDS_RESULTS")
    return Path(env) if env else runtime.project_root() / "_build" / "results"


def claims_dir(profile: str, root: Path | str | None = None) -> Path:
    """The folder of one profile's per-chapter claim files: ``<root>/claims/<profile>``."""
    return Path(root or results_root()) / "claims" / profiles.check_profile(profile)


def _check_chapter(chapter: str) -> str:
    if not re.fullmatch(r"[a-z][a-z0-9_]*", chapter or ""):
        raise ValueError(f"chapter must be a book/<chapter>.py stem like 'setup', got {chapter!r}")
    return chapter


def _split_scope(row: dict) -> dict:
    """``"P1 (Restricted ImageNet)"`` -> claim ``"P1"``, the scope moved into ``paper``.

    A chapter may report one claim per data set; the scorecard keys rows by
    the ledger's ID and shows the scope beside the paper's statement.
    """
    claim = str(row["claim"])
    if "(" not in claim:
        return row
    base, scope = claim.split("(", 1)
    return {**row, "claim": base.strip(), "paper": f"[{scope.rstrip(')').strip()}] {row['paper']}"}


def _kind(row: dict) -> bool:
    kind = row.get("why_inconclusive")
    return isinstance(kind, str) and bool(kind)


def save_results(
    chapter: str,
    rows: list[dict],
    *,
    profile: str,
    seed: int,
    device: torch.device | str,
    timer: Timer,
    root: Path | str | None = None,
) -> dict:
    """Write a chapter's reproduction rows and provenance to ``claims/<profile>/<chapter>.json``.

    The file is written atomically (a temporary file, then a rename), so a
    reader such as the scorecard never sees half a file. Returns the record
    written; its ``seconds`` is the chapter's wall time up to this call.
    ``rules`` records the version of the verdict rules (:data:`lib.verdicts.RULES_VERSION`);
    each row keeps its ``reason`` ("" when the chapter gave none), and an inconclusive
    row its ``why_inconclusive`` when the rule gave one (the key is absent otherwise).
    """
    reproduction_table(rows)  # validates every row
    rows = [_split_scope(row) for row in rows]
    for row in rows:
        claims.check_claim(row["claim"])
    record = {
        "chapter": _check_chapter(chapter),
        "profile": profiles.check_profile(profile),
        "seed": int(seed),
        "device": runtime.device_name(device),
        "torch": torch.__version__,
        "commit": runtime.git_commit(),
        "seconds": round(float(timer.seconds), 1),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "rules": verdicts.RULES_VERSION,
        "rows": [
            {k: str(row.get(k, "")) for k in ("claim", "paper", "ours", "verdict", "reason")}
            | ({"why_inconclusive": str(row["why_inconclusive"])} if _kind(row) else {})
            for row in rows
        ],
    }
    verdicts.check_vocabulary(record["rows"], strict=False)
    folder = claims_dir(profile, root)
    folder.mkdir(parents=True, exist_ok=True)
    # The store's atomic write: a temporary file, then a rename, with the
    # umask's mode (a bare mkstemp file would be 0600, unreadable to a group).
    text = json.dumps(record, indent=1) + "\n"
    store_format.atomic_write_bytes(folder / f"{chapter}.json", text.encode())
    return record


def load_results(profile: str, root: Path | str | None = None) -> dict[str, dict]:
    """Every chapter's saved record for ``profile``, keyed by chapter (absent ones are missing)."""
    folder = claims_dir(profile, root)
    records = {}
    for path in sorted(folder.glob("*.json")):
        try:
            record = json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, ValueError) as err:
            raise ValueError(
                f"claim file {path} is unreadable or not JSON ({err}): delete it and "
                f"re-run chapter {path.stem!r} at profile {profile!r}"
            ) from err
        if not isinstance(record, dict):
            raise ValueError(
                f"claim file {path} holds a {type(record).__name__}, not a chapter's "
                f"record: delete it and re-run chapter {path.stem!r} at profile {profile!r}"
            )
        if record.get("profile") != profile or record.get("chapter") != path.stem:
            raise ValueError(
                f"{path} holds chapter {record.get('chapter')!r} at profile "
                f"{record.get('profile')!r}, not {path.stem!r} at {profile!r}"
            )
        records[path.stem] = record
    return records


def scorecard_rows(records: dict[str, dict], ledger: dict | None = None) -> list[dict]:
    """One row per claim of the ledger and chapter that reports it, in ledger order.

    ``ledger``: the claims to list, :data:`lib.paper.claims.CLAIMS` (the paper's)
    by default; :data:`lib.paper.claims.BEYOND` for X1-X4.

    A claim with no saved record in any of its chapters gets one row with
    verdict ``"not run"``, saying which chapter would report it; a chapter
    that ran but has no row for a claim it should report says so too.
    """
    out = []
    for claim_id, claim in (claims.CLAIMS if ledger is None else ledger).items():
        for chapter in claim.chapters:
            record = records.get(chapter)
            found = [r for r in (record or {}).get("rows", []) if r["claim"] == claim_id]
            if found:
                for r in found:
                    out.append({**r, "chapter": chapter, "ran": True})
                continue
            why = (
                f"chapter {chapter} has not run at this profile"
                if record is None
                else f"chapter {chapter} ran but has no row for {claim_id}"
            )
            out.append(
                {
                    "claim": claim_id,
                    "paper": claim.statement,
                    "ours": why,
                    "verdict": "not run",
                    "chapter": chapter,
                    "ran": record is not None,
                }
            )
    return out
