"""lib.chapters.scorecard on the committed cpu claim files: counts that add up, one
verdict per claim, and the counts block the site test looks for."""

from __future__ import annotations

from lib import chapter, claims, runtime
from lib import scorecard as card
from lib import verdicts as V
from lib.chapters import scorecard as sc

RESULTS = runtime.PROJECT_ROOT / "results"
BOOK = runtime.PROJECT_ROOT / "book"


def _rows():
    records = chapter.load_results("cpu", RESULTS)
    return records, chapter.scorecard_rows(records), chapter.scorecard_rows(records, claims.BEYOND)


def test_the_counts_add_up_to_the_rows():
    records, rows, beyond = _rows()
    g = sc.glued(records, rows, beyond)
    per_row = sum(g[f"scorecard_{v.replace(' ', '_')}"] for v in V.VOCABULARY)
    per_setup = sum(g[f"scorecard_setup_{v.replace(' ', '_')}"] for v in V.VOCABULARY)
    per_claim = sum(g[f"scorecard_claims_{v.replace(' ', '_')}"] for v in V.VOCABULARY)
    assert per_row == g["scorecard_claim_rows"] and per_setup == g["scorecard_setup_rows"]
    assert per_row + per_setup == g["scorecard_rows"] == len(rows)
    assert per_claim == g["scorecard_claims"] == len(claims.CLAIMS)
    assert g["scorecard_chapters_run"] == len(claims.chapters())  # every chapter committed


def test_a_claim_takes_its_weakest_row():
    rows = [
        {"claim": "P1", "chapter": "a", "verdict": V.REPRODUCED, "reason": ""},
        {"claim": "P1", "chapter": "b", "verdict": V.NOT_REPRODUCED, "reason": ""},
    ]
    overall = sc.overall_verdicts(rows)
    assert overall["P1"] == V.NOT_REPRODUCED
    assert overall["P2"] == V.combine({}).verdict  # a claim with no row


def test_the_counts_block_names_every_chapter():
    _, rows, beyond = _rows()
    html = sc.counts_html(rows, beyond, BOOK)
    assert card.COUNTS_ID in html
    for c in {r["chapter"] for r in rows + beyond}:
        assert sc.chapter_title(BOOK, c) in html and f"{c}.html" in html
