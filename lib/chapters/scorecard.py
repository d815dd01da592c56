"""The scorecard page's numbers: verdict counts per claim, per row and per chapter.

Everything here is read from the claim files' rows (:func:`lib.chapter.scorecard_rows`)
and the ledger (:mod:`lib.paper.claims`); nothing is judged again, except that a claim's
several rows are combined into one verdict (:func:`overall_verdicts`). The page's HTML
is :mod:`lib.scorecard`.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from lib import scorecard as card
from lib import verdicts as V
from lib.paper import claims


def chapter_title(book: Path, chapter: str) -> str:
    """The title of a chapter: the first heading of ``book/<chapter>.py``."""
    for line in (Path(book) / f"{chapter}.py").read_text().splitlines():
        if line.startswith("# # "):
            return line[4:].strip()
    raise ValueError(f"book/{chapter}.py has no '# # Title' line")


def reproduction_href(row: dict) -> str:
    """The chapter's reproduction table: its ``(<chapter>-reproduction)=`` label, as
    Sphinx writes its id."""
    return f"{row['chapter']}.html#{row['chapter'].replace('_', '-')}-reproduction"


def paper_statement(row: dict) -> str:
    """The paper's section and statement of the row's claim."""
    return f"{claims.ALL[row['claim']].section}: {row['paper']}"


def kind(row: dict) -> str | None:
    """An inconclusive row's kind (``why_inconclusive``), None when not recorded (claim
    files of rules version 1) or when the row is not inconclusive."""
    k = row.get("why_inconclusive")
    return k if row["verdict"] == V.INCONCLUSIVE and k in V.INCONCLUSIVE_KINDS else None


def _as_judgement(row: dict) -> V.Judgement:
    # A setup fact saved before the rules as "reproduced" is taken as checked,
    # which is what that word meant for it then.
    old_setup = row["claim"] in V.SETUP_FACTS and row["verdict"] == V.REPRODUCED
    verdict = V.CHECKED if old_setup else row["verdict"]
    return V.Judgement(verdict, (), row.get("reason", ""), kind(row))


def _overall(rows: list[dict]) -> dict[str, V.Judgement]:
    overall = {}
    for claim_id in claims.CLAIMS:
        mine = [r for r in rows if r["claim"] == claim_id]
        parts = {f"{r['chapter']} {i + 1}": _as_judgement(r) for i, r in enumerate(mine)}
        overall[claim_id] = V.combine(parts)  # rows read back: never judged again
    return overall


def overall_verdicts(rows: list[dict]) -> dict[str, str]:
    """One verdict per claim of the paper's ledger: its rows combined (the weakest row
    wins; rows not run are named)."""
    return {c: j.verdict for c, j in _overall(rows).items()}


def overall_kinds(rows: list[dict]) -> dict[str, str | None]:
    """An inconclusive claim's kind of inconclusive: its inconclusive rows' first kind in
    :data:`lib.verdicts.INCONCLUSIVE_KINDS`' order (None: not recorded, or not inconclusive)."""
    return {c: j.why_inconclusive for c, j in _overall(rows).items()}


def glued(records: dict, rows: list[dict], beyond: list[dict]) -> dict:
    """The page's glued numbers: counts per verdict (claims, their rows, setup facts), the
    claim IDs shown and not run, and how many chapters wrote a claim file."""
    is_setup = [r["claim"] in V.SETUP_FACTS for r in rows]
    claim_counts = Counter(r["verdict"] for r, s in zip(rows, is_setup, strict=True) if not s)
    setup_counts = Counter(r["verdict"] for r, s in zip(rows, is_setup, strict=True) if s)
    by_claim = Counter(overall_verdicts(rows).values())
    out = {}
    for verdict in V.VOCABULARY:
        key = verdict.replace(" ", "_")
        out[f"scorecard_{key}"] = int(claim_counts.get(verdict, 0))
        out[f"scorecard_setup_{key}"] = int(setup_counts.get(verdict, 0))
        out[f"scorecard_claims_{key}"] = int(by_claim.get(verdict, 0))
    inconclusive = [kind(r) for r in rows + beyond if r["verdict"] == V.INCONCLUSIVE]
    for k in (*V.INCONCLUSIVE_KINDS, None):
        key = "unrecorded" if k is None else k.replace("'", "").replace(" ", "_")
        out[f"scorecard_inconclusive_{key}"] = int(sum(c == k for c in inconclusive))
    not_run = sorted({r["claim"] for r in rows if r["verdict"] == "not run"})
    return {
        **out,
        "scorecard_claim_rows": int(len(rows) - sum(is_setup)),
        "scorecard_setup_rows": int(sum(is_setup)),
        "scorecard_claims": len(claims.CLAIMS),
        "scorecard_rows": len(rows),
        "scorecard_ids": sorted({r["claim"] for r in rows}),
        "scorecard_not_run_ids": not_run,
        "scorecard_not_run_text": ", ".join(not_run) or "none",
        "scorecard_chapters_run": len(set(records) & set(claims.chapters())),
        "scorecard_chapters": len(claims.chapters()),
        "scorecard_beyond_ids": sorted({r["claim"] for r in beyond}),
        "scorecard_headline_words": card.HEADLINE_WORDS,
    }


def counts_html(rows: list[dict], beyond: list[dict], book: Path) -> str:
    """The counts block shown before any row: per verdict (the claims, their rows, the
    setup facts, the rows beyond the paper), then per chapter."""
    is_setup = [r["claim"] in V.SETUP_FACTS for r in rows]
    overall = overall_verdicts(rows)
    per_chapter = [
        (
            chapter_title(book, c),
            f"{c}.html",
            Counter(r["verdict"] for r in rows + beyond if r["chapter"] == c),
        )
        for c in dict.fromkeys(r["chapter"] for r in rows + beyond)
    ]
    inconclusive = [kind(r) for r in rows + beyond if r["verdict"] == V.INCONCLUSIVE]
    counts = [
        (
            f"The paper's {len(overall)} claims, one verdict each",
            card.by_verdict(overall, overall_kinds(rows)),
        ),
        (
            f"Their {len(rows) - sum(is_setup)} rows",
            card.badges(
                Counter(r["verdict"] for r, s in zip(rows, is_setup, strict=True) if not s)
            ),
        ),
        (
            f"The {sum(is_setup)} rows on setup facts",
            card.badges(Counter(r["verdict"] for r, s in zip(rows, is_setup, strict=True) if s)),
        ),
        (
            f"Beyond the paper, {len(beyond)} rows",
            card.badges(Counter(r["verdict"] for r in beyond)),
        ),
        (
            f"The {len(inconclusive)} inconclusive rows, by kind",
            card.kinds_line(inconclusive),
        ),
    ]
    return card.counts_block(counts, per_chapter)
