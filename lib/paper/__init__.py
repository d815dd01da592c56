"""The paper's numbers and claims, typed once: Tsipras et al., "Robustness May Be at
Odds with Accuracy" (ICLR 2019), and the later work the book quotes (X1-X4).

Every table, constant and claim statement the book compares against lives here,
with the section, table or figure it comes from beside it; the rest of ``lib``
reads them from here instead of typing them again. This package imports nothing
from the rest of ``lib`` (``tests/test_paper.py`` checks), so any module may
import it without a cycle.

- :mod:`lib.paper.tables`: Tables 1-5 (eps in [0, 1] pixel space, accuracies in %).
- :mod:`lib.paper.section2`: the constants of Section 2 (p, the 99% / 1% marks,
  the footnote's bounds).
- :mod:`lib.paper.code`: what the authors' released code sets (Appendix A's
  references), and the setup facts worked out from it.
- :mod:`lib.paper.beyond`: the published numbers of the later work (X1-X4).
- :mod:`lib.paper.claims`: the claims ledger (ID, where stated, statement).
"""

from lib.paper import beyond, claims, code, section2, tables
from lib.paper.claims import ALL, BEYOND, CLAIMS, Claim
from lib.paper.tables import (
    TABLE1,
    TABLE2_EPS,
    TABLE3_EPS,
    TABLE4,
    TABLE4_EPS,
    TABLE4_TEST_IMAGES,
    TABLE5,
)

__all__ = [
    "ALL",
    "BEYOND",
    "CLAIMS",
    "TABLE1",
    "TABLE2_EPS",
    "TABLE3_EPS",
    "TABLE4",
    "TABLE4_EPS",
    "TABLE4_TEST_IMAGES",
    "TABLE5",
    "Claim",
    "beyond",
    "claims",
    "code",
    "section2",
    "tables",
]
