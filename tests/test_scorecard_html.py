"""The scorecard's layout (lib.scorecard): short headlines, the derivation folded, counts."""

from __future__ import annotations

from collections import Counter

from lib import scorecard as card


def test_headline_keeps_a_short_number_whole():
    assert card.headline("0.99865 exact, 0.99862 ± 0.00008 Monte Carlo") == (
        "0.99865 exact, 0.99862 ± 0.00008 Monte Carlo",
        False,
    )


def test_headline_cuts_at_a_clause_within_the_limit():
    text = "; ".join(f"part {i} has four words" for i in range(12))
    short, cut = card.headline(text)
    assert cut and short.endswith(" …")
    assert len(short.split()) <= card.HEADLINE_WORDS + 1  # the ellipsis
    assert short.removesuffix(" …").endswith("words")  # at a clause's end, not mid-clause


def test_claim_table_folds_the_derivation_and_escapes():
    row = {
        "claim": "L1",
        "chapter": "linear_mnist",
        "paper": "p",
        "ours": "a <b> " * 30,
        "verdict": "qualitatively reproduced",
        "reason": "direction holds (std down: 0.03 > 0)",
    }
    html = card.claim_table([row], lambda r: r["paper"], lambda r: "linear_mnist.html#x")
    assert html.count("<tr>") == 2  # the header and one row
    assert "<details>" in html and "direction holds" in html.split("<details>")[1]
    assert "<b>" not in html and "&lt;b&gt;" in html
    assert 'class="verdict"><span class="odds-badge odds-v-qualitatively-reproduced">' in html


def test_counts_block_shows_nonzero_counts_in_vocabulary_order():
    counts = Counter({"not run": 2, "reproduced": 5})
    block = card.counts_block([("rows", card.badges(counts))], [("Theory", "theory.html", counts)])
    assert f'id="{card.COUNTS_ID}"' in block
    assert block.index("5 reproduced") < block.index("2 not run")
    assert "inconclusive" not in block
