"""The claims ledger, re-exported from :mod:`lib.paper.claims` (its one home).

Kept so that ``from lib import claims`` and ``lib.claims.CLAIMS`` go on working.
"""

from lib.paper.claims import ALL, BEYOND, CLAIMS, Claim, chapters, check_claim

__all__ = ["ALL", "BEYOND", "CLAIMS", "Claim", "chapters", "check_claim"]
