"""lib.chapters.scorecard on the committed cpu claim files: counts that add up, one
verdict per claim, and the counts block the site test looks for."""

from __future__ import annotations

from lib import chapter, runtime
from lib import scorecard as card
from lib import verdicts as V
from lib.chapters import scorecard as sc
from lib.paper import claims

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


def test_an_inconclusive_row_shows_its_kind():
    rows = [
        {
            "claim": "B2",
            "chapter": "a",
            "verdict": V.INCONCLUSIVE,
            "reason": "",
            "why_inconclusive": V.PROXY_ONLY,
        },
        {
            "claim": "B2",
            "chapter": "b",
            "verdict": V.INCONCLUSIVE,
            "reason": "",
            "why_inconclusive": V.WITHIN_NOISE,
        },
        {"claim": "P1", "chapter": "a", "verdict": V.INCONCLUSIVE, "reason": ""},  # rules v1
    ]
    assert sc.overall_verdicts(rows)["B2"] == V.INCONCLUSIVE
    kinds = sc.overall_kinds(rows)
    assert kinds["B2"] == V.PROXY_ONLY and kinds["P1"] is None
    for r in rows:
        r |= {"paper": "p", "ours": "o"}
    html = card.claim_table(rows, lambda r: "s", lambda r: "h")
    assert html.count('class="odds-why"') == 2 and "within noise" in html
    by = card.by_verdict(sc.overall_verdicts(rows), kinds)
    assert "B2 (proxy)" in by and "P1" in by and "P1 (" not in by
    line = card.kinds_line([sc.kind(r) for r in rows])
    assert line == "1 proxy, 1 within noise, 1 not recorded (claim files of rules version 1)"
    g = sc.glued({}, rows, [])
    assert (g["scorecard_inconclusive_proxy"], g["scorecard_inconclusive_unrecorded"]) == (1, 1)
    assert g["scorecard_inconclusive_below_the_rules_power"] == 0
    # a kind on a row that is not inconclusive is not shown
    assert card.kind_note(V.REPRODUCED, V.WITHIN_NOISE) == ""


def test_the_counts_block_counts_the_inconclusive_kinds():
    _, rows, beyond = _rows()
    html = sc.counts_html(rows, beyond, BOOK)
    n = sum(r["verdict"] == V.INCONCLUSIVE for r in rows + beyond)
    assert f"The {n} inconclusive rows, by kind" in html
