"""The ledger's claims beyond the paper (X IDs) against the project's CLAIMS_BEYOND.md."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lib.paper import claims


def test_beyond_ids_are_apart_from_the_papers():
    assert not set(claims.BEYOND) & set(claims.CLAIMS)
    assert claims.ALL == {**claims.CLAIMS, **claims.BEYOND}
    assert claims.check_claim("X1") == "X1"
    with pytest.raises(ValueError):
        claims.check_claim("X9")


def test_claims_ledger_matches_claims_beyond_md():
    """Where the project's CLAIMS_BEYOND.md lies beside the clone, the ledger has its IDs."""
    ledger = Path(__file__).resolve().parents[2] / "shared" / "CLAIMS_BEYOND.md"
    if not ledger.exists():
        pytest.skip(f"{ledger} not found (the copy in lib/claims.py is used)")
    ids = re.findall(r"^\| ([A-Z]\d+) \|", ledger.read_text(), flags=re.M)
    assert sorted(ids) == sorted(claims.BEYOND)
