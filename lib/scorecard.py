"""The scorecard page's HTML: verdict counts, then one short line per claim row.

The rows come from :func:`lib.chapter.scorecard_rows` unchanged (the claim
files and the verdict rules decide every word of them); this module only lays
them out to be scanned. Each row shows the claim, the paper's statement, our
headline number (at most :data:`HEADLINE_WORDS` words) and a verdict badge (an
inconclusive one with its kind, ``why_inconclusive``, in small type beneath);
the rule's derivation (the row's ``reason``, and our full number when the
headline is cut) is folded into a ``<details>`` element. The style sheet is
``lib/static/odds.css``: on a phone each row becomes a card with the verdict
beside the claim ID, so the verdict is on screen without scrolling sideways.
"""

from __future__ import annotations

from collections import Counter
from html import escape

from lib import verdicts

HEADLINE_WORDS = 25
# Set on the elements the site test measures (tests/site/test_site.py).
COUNTS_ID = "odds-verdict-counts"
TABLE_CLASS = "odds-scorecard"


def headline(text: str, words: int = HEADLINE_WORDS) -> tuple[str, bool]:
    """``text`` cut to at most ``words`` words, and whether it was cut.

    Cut at the last clause (``"; "``) that fits when there is one, else at
    the word limit, and marked with an ellipsis.
    """
    parts = str(text).split()
    if len(parts) <= words:
        return " ".join(parts), False
    kept = " ".join(parts[:words])
    clause = kept.rfind("; ")
    if clause > len(kept) // 3:
        kept = kept[:clause]
    return kept.rstrip(" ,;:") + " …", True


def verdict_class(verdict: str) -> str:
    return "odds-v-" + verdict.replace(" ", "-")


def badge(verdict: str, count: int | None = None) -> str:
    """A verdict as a coloured pill, with its count in front when given."""
    text = escape(verdict) if count is None else f"{count} {escape(verdict)}"
    return f'<span class="odds-badge {verdict_class(verdict)}">{text}</span>'


def badges(counts: Counter | dict) -> str:
    """The non-zero counts as badges, in the vocabulary's order."""
    shown = [badge(v, int(counts[v])) for v in verdicts.VOCABULARY if counts.get(v, 0)]
    return " ".join(shown) or "none"


def kind_note(verdict: str, kind: str | None) -> str:
    """Which kind of inconclusive a verdict is, as a small line under its badge ("" when
    it is not inconclusive, or its claim file predates the kinds)."""
    if verdict != verdicts.INCONCLUSIVE or not kind:
        return ""
    return f'<br><small class="odds-why">{escape(kind)}</small>'


def by_verdict(ids: dict[str, str], kinds: dict[str, str | None] | None = None) -> str:
    """Claim IDs grouped under their verdict's badge, one verdict a line; an inconclusive
    claim's kind in brackets after its ID when ``kinds`` gives one."""
    kinds = kinds or {}

    def named(c: str) -> str:
        kind = kinds.get(c) if ids[c] == verdicts.INCONCLUSIVE else None
        return f"{c} ({kind})" if kind else c

    items = [
        f"<li>{badge(v, n)} {escape(', '.join(named(c) for c, o in ids.items() if o == v))}</li>"
        for v in verdicts.VOCABULARY
        if (n := sum(o == v for o in ids.values()))
    ]
    return f'<ul class="odds-by-verdict">{"".join(items)}</ul>'


def kinds_line(kinds: list[str | None]) -> str:
    """The kinds of the inconclusive rows ``kinds`` (None: not recorded), counted, in
    :data:`lib.verdicts.judgement.INCONCLUSIVE_KINDS`' order."""
    counts = Counter(kinds)
    shown = [f"{counts[k]} {escape(k)}" for k in verdicts.INCONCLUSIVE_KINDS if counts.get(k)]
    if counts.get(None):
        shown.append(f"{counts[None]} not recorded (claim files of rules version 1)")
    return ", ".join(shown) or "none"


def counts_block(lines: list[tuple[str, str]], per_chapter: list[tuple[str, str, Counter]]) -> str:
    """The counts that open the page: ``(label, html)`` lines, then a chapter table.

    ``per_chapter``: ``(title, href, verdict counts)`` per chapter.
    """
    out = [f'<div class="odds-counts" id="{COUNTS_ID}">']
    out += [f"<div><strong>{escape(label)}</strong>: {body}</div>" for label, body in lines]
    out.append('<table class="odds-chapter-counts"><thead><tr><th>chapter</th>')
    out.append("<th>its rows' verdicts</th></tr></thead><tbody>")
    for title, href, counts in per_chapter:
        link = f'<a href="{escape(href)}">{escape(title)}</a>'
        out.append(f"<tr><td>{link}</td><td>{badges(counts)}</td></tr>")
    out.append("</tbody></table></div>")
    return "\n".join(out)


def claim_table(rows: list[dict], statement_of, href_of, source: str = "paper") -> str:
    """One ``<tr>`` per row: claim and chapter link, statement, headline, verdict.

    ``statement_of(row)``: the text of the second column; ``href_of(row)``:
    the link to the chapter's reproduction table; ``source``: that column's
    header ("paper", or "later work" for the second ledger).
    """
    out = [
        f'<table class="{TABLE_CLASS}">',
        '<colgroup><col class="claim"><col class="paper"><col class="ours">'
        '<col class="verdict"></colgroup>',
        f"<thead><tr><th>claim</th><th>{escape(source)}</th><th>ours</th>"
        "<th>verdict</th></tr></thead>",
        "<tbody>",
    ]
    for r in rows:
        short, cut = headline(r["ours"])
        folded = []
        if cut:
            folded.append(f"<p>ours in full: {escape(str(r['ours']))}</p>")
        if r.get("reason"):
            folded.append(f"<p>{escape(str(r['reason']))}</p>")
        details = (
            "<details><summary>how the verdict was reached</summary>"
            + "".join(folded)
            + "</details>"
            if folded
            else ""
        )
        chapter = r["chapter"].replace("_", " ")
        out.append(
            f'<tr><td class="claim"><strong>{escape(r["claim"])}</strong><br>'
            f'<a href="{escape(href_of(r))}">{escape(chapter)}</a></td>'
            f'<td class="paper">{escape(statement_of(r))}</td>'
            f'<td class="ours">{escape(short)}{details}</td>'
            f'<td class="verdict">{badge(r["verdict"])}'
            f"{kind_note(r['verdict'], r.get('why_inconclusive'))}</td></tr>"
        )
    out.append("</tbody></table>")
    return "\n".join(out)
