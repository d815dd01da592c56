"""The reproduction-table helpers every chapter uses."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from lib import chapter, verdicts
from lib.paper import claims


def test_verdicts():
    assert chapter.verdict(True) == "reproduced"
    assert chapter.verdict(False, partly=True) == "qualitatively reproduced"
    assert chapter.verdict(False) == "not reproduced"
    with pytest.raises(ValueError, match="lacks"):
        chapter.reproduction_table([{"claim": "X1", "paper": "p"}])
    with pytest.raises(ValueError, match="verdict must be one of"):
        chapter.reproduction_table([{"claim": "X1", "paper": "p", "ours": "o", "verdict": "maybe"}])


def _rows():
    return [
        {"claim": "T1", "paper": "p", "ours": "o", "verdict": "reproduced"},
        {"claim": "P4", "paper": "p | q", "ours": "o", "verdict": "not reproduced"},
    ]


def test_save_results_writes_atomically_under_odds_results(tmp_path, monkeypatch):
    monkeypatch.setenv("ODDS_RESULTS", str(tmp_path))
    timer = chapter.Timer()
    record = chapter.save_results(
        "theory", _rows(), profile="smoke", seed=3, device="cpu", timer=timer
    )
    path = tmp_path / "claims" / "smoke" / "theory.json"
    assert json.loads(path.read_text()) == record
    assert (record["profile"], record["seed"], record["chapter"]) == ("smoke", 3, "theory")
    assert record["device"].startswith("cpu") and record["torch"] and record["seconds"] >= 0
    assert [p.name for p in path.parent.iterdir()] == ["theory.json"]  # no temporary file left
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's 0600
    assert chapter.load_results("smoke") == {"theory": record}
    assert chapter.load_results("cpu") == {}  # another profile's folder is separate
    assert record["rules"] == verdicts.RULES_VERSION
    assert [r["reason"] for r in record["rows"]] == ["", ""]  # no reason given: kept empty


def test_save_results_keeps_a_judgements_reason(tmp_path):
    j = verdicts.signed_effect(verdicts.Estimate(0.1, 0.01), name="gain")
    kw = dict(profile="smoke", seed=0, device="cpu", timer=chapter.Timer(), root=tmp_path)
    record = chapter.save_results("theory", [j.row("T1", "p")], **kw)
    assert record["rows"][0]["reason"] == j.reason and "gain" in j.reason
    for v in ("inconclusive", "checked"):  # the whole vocabulary is accepted
        chapter.reproduction_table([{**_rows()[0], "verdict": v}])


def test_save_results_rejects_bad_input(tmp_path):
    kw = dict(profile="smoke", seed=0, device="cpu", timer=chapter.Timer(), root=tmp_path)
    with pytest.raises(ValueError, match="unknown claim ID"):
        chapter.save_results("theory", [{**_rows()[0], "claim": "Z9"}], **kw)
    with pytest.raises(ValueError, match="chapter must be"):
        chapter.save_results("../evil", _rows(), **kw)
    with pytest.raises(ValueError, match="profile"):
        chapter.save_results("theory", _rows(), **{**kw, "profile": "huge"})
    with pytest.raises(ValueError, match="verdict must be one of"):
        chapter.save_results("theory", [{**_rows()[0], "verdict": "maybe"}], **kw)
    assert not (tmp_path / "claims" / "smoke").exists() or not any(
        (tmp_path / "claims" / "smoke").iterdir()
    )


def test_scorecard_lists_every_claim_and_marks_missing_chapters(tmp_path):
    kw = dict(profile="smoke", seed=0, device="cpu", timer=chapter.Timer(), root=tmp_path)
    chapter.save_results("theory", _rows()[:1], **kw)
    rows = chapter.scorecard_rows(chapter.load_results("smoke", tmp_path))
    assert {r["claim"] for r in rows} == set(claims.CLAIMS)
    by_claim = {(r["claim"], r["chapter"]): r for r in rows}
    assert by_claim["T1", "theory"]["verdict"] == "reproduced"
    assert by_claim["T2", "theory"]["verdict"] == "not run"
    assert "has no row for T2" in by_claim["T2", "theory"]["ours"]
    assert by_claim["P4", "setup"]["verdict"] == "not run"
    assert "has not run" in by_claim["P4", "setup"]["ours"]
    assert len([r for r in rows if r["claim"] == "P4"]) == 2  # one row per reporting chapter


def test_claims_ledger_matches_the_books_chapters():
    root = Path(__file__).resolve().parents[1]
    for name in claims.chapters():
        page = (root / "book" / f"{name}.py").read_text()
        assert f"({name}-reproduction)=" in page, f"{name} needs a reproduction label"
        # The rows are built by the chapter's own analysis modules (lib/chapters/).
        imports = re.findall(r"^from lib\.chapters import ([\w, ]+)", page, flags=re.M)
        modules = [m.split(" as ")[0].strip() for line in imports for m in line.split(",")]
        assert modules, f"{name} imports no lib.chapters module"
        text = page + "".join((root / "lib" / "chapters" / f"{m}.py").read_text() for m in modules)
        for claim_id, claim in claims.CLAIMS.items():
            if name in claim.chapters:
                # a row as a dict, a Judgement's row(...), or a key of a dict of judgements
                forms = (f'"claim": "{claim_id}"', f'"{claim_id}"', f'"{claim_id} (')
                assert any(f in text for f in forms), f"{name} has no row for {claim_id}"


def test_claims_ledger_matches_claims_md():
    """Where the project's CLAIMS.md lies beside the clone, the ledger has its IDs."""
    ledger = Path(__file__).resolve().parents[2] / "shared" / "CLAIMS.md"
    if not ledger.exists():
        pytest.skip(f"{ledger} not found (the copy in lib/claims.py is used)")
    ids = re.findall(r"^\| ([A-Z]\d+) \|", ledger.read_text(), flags=re.M)
    assert sorted(ids) == sorted(claims.CLAIMS)


def test_labels():
    assert chapter.norm_label("inf") == "l_inf" and chapter.norm_label(2) == "l2"
    assert chapter.eps_label("cifar10", 8 / 255) == "8/255"
    assert chapter.eps_label("mnist", 0.3) == "0.3" and chapter.eps_label("cifar10", 0) == "0"


def test_setup_resolves_profile_and_device(monkeypatch):
    monkeypatch.delenv("ODDS_PROFILE", raising=False)
    profile, device = chapter.setup("smoke", "cpu")
    assert profile == "smoke" and str(device) == "cpu"
