"""lib.paper: the paper's numbers, typed once, are self-consistent and depend on nothing."""

from __future__ import annotations

import ast
import math
import subprocess
import sys
from pathlib import Path

import pytest

from lib import paper
from lib.paper import beyond, code, section2, tables
from lib.paper.claims import eps_text

PAPER_DIR = Path(paper.__file__).parent


def _lib_imports(path: Path) -> set[str]:
    """Every ``lib...`` module a file names in an import, at the top or in a function."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names if a.name.split(".")[0] == "lib"}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] == "lib":
                names |= {f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level:
            names.add("<relative>")
    return names


def test_lib_paper_imports_nothing_else_from_lib():
    files = sorted(PAPER_DIR.glob("*.py"))
    assert len(files) >= 5
    for path in files:
        outside = {n for n in _lib_imports(path) if not n.startswith("lib.paper.")}
        assert not outside, f"{path.name} imports {outside}"


def test_importing_lib_paper_loads_no_other_lib_module():
    # lib/__init__.py imports nothing, so every lib module loaded is lib.paper's own.
    out = subprocess.run(
        [sys.executable, "-c", "import sys, lib.paper; print(sorted(sys.modules))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    loaded = {m for m in ast.literal_eval(out) if m.split(".")[0] == "lib"}
    assert loaded - {"lib"} and all(m.startswith("lib.paper") for m in loaded - {"lib"})


def test_the_walker_sees_an_outside_import(tmp_path):
    f = tmp_path / "m.py"
    f.write_text("def g():\n    from lib import store\n")
    assert _lib_imports(f) == {"lib.store"}


def test_table1_ranges_are_disjoint_imagenet_classes():
    assert len(tables.TABLE1) == code.SETUP_LEDGER["ri_superclasses"] == 9
    spans = sorted((lo, hi) for _, lo, hi in tables.TABLE1)
    assert all(0 <= lo <= hi < 1000 for lo, hi in spans)
    assert all(a[1] < b[0] for a, b in zip(spans, spans[1:], strict=False))
    # every class of the robustness variant counted once
    assert sum(hi - lo + 1 for lo, hi in spans) == code.SETUP_LEDGER["ri_robustness"]


def test_table1_is_the_one_lib_data_uses():
    import importlib

    # lib.data re-exports a function of the module's name: load the module itself
    ranges = importlib.import_module("lib.data.imagenet_classes").RESTRICTED_IMAGENET_RANGES
    assert ranges == tables.TABLE1


def test_table2_and_3_eps():
    for table in (tables.TABLE2_EPS, tables.TABLE3_EPS):
        assert all(norm in ("inf", 2) and eps > 0 for (_, norm), eps in table.items())
        assert all(eps <= 1 for (_, norm), eps in table.items() if norm == "inf")
    # the large eps of Fig 3 are at least Table 2's
    for key, eps in tables.TABLE3_EPS.items():
        assert eps >= tables.TABLE2_EPS[key]


def test_table4_cells_are_percentages_with_a_test_set():
    assert len(tables.TABLE4) == 12
    for (dataset, norm, eps), cells in tables.TABLE4.items():
        assert tables.TABLE4_TEST_IMAGES[dataset] > 0
        assert norm in ("inf", 2) and eps > 0
        assert [len(c) for c in cells] == [len(tables.TABLE4_MODELS)] * 2
        assert all(0 <= v <= 100 for c in cells for v in c)
        # robust accuracy never above standard accuracy for the same model
        assert all(r <= s for s, r in zip(*cells, strict=True))
    # one standard model per data set: its standard accuracy is the same on every row
    for dataset in tables.TABLE4_TEST_IMAGES:
        std = {cells[0][0] for (ds, _, _), cells in tables.TABLE4.items() if ds == dataset}
        assert len(std) == 1


def test_table4_eps_rows_grow():
    assert sum(map(len, tables.TABLE4_EPS.values())) == len(tables.TABLE4)
    for eps in tables.TABLE4_EPS.values():
        assert list(eps) == sorted(eps) and len(eps) == 3
    # Table 2's eps are among Table 4's rows where both give one
    assert tables.TABLE2_EPS[("mnist", "inf")] in tables.TABLE4_EPS[("mnist", "inf")]
    assert tables.TABLE2_EPS[("cifar10", "inf")] in tables.TABLE4_EPS[("cifar10", "inf")]


def test_table5():
    std, adv = tables.TABLE5["standard"], tables.TABLE5["adversarial"]
    for row in (std, adv):
        assert tuple(row) == tables.TABLE5_COLUMNS
        assert all(0 <= row[c] <= 100 for c in tables.TABLE5_COLUMNS[:4])
    assert adv["||w||_1"] < std["||w||_1"] and adv["adv test"] > std["adv test"]


def test_section2_footnote_is_theorem_2_1_at_p():
    p = section2.P
    for std, bound in section2.FOOTNOTE_BOUNDS.items():
        assert p / (1 - p) * (1 - std) == pytest.approx(bound, abs=5e-3)
    assert 0.5 <= p <= section2.SVM_P_MAX < 1
    # Phi(ETA_SCALE) is above the stated 99%
    assert 0.5 * math.erfc(-section2.ETA_SCALE / math.sqrt(2)) > section2.STANDARD_ABOVE


def test_beyond_numbers():
    assert all(0 < tt <= te < 1 for tt, te in beyond.SEPARATION.values())
    assert all(0 < rob < nat <= 100 for _, nat, rob in beyond.TRADES.values())
    assert all(0 < rob < std <= 100 for rob, std in beyond.RST.values())


def test_eps_text():
    assert [eps_text(e) for e in (0.2, 4 / 255, 0.005, 1.0, 0.314, 8 / 255)] == [
        "0.2",
        "4/255",
        "0.005",
        "1",
        "0.314",
        "8/255",
    ]


@pytest.mark.parametrize(
    "claim_id, numbers",
    [
        (
            "L1",
            [f"{tables.TABLE5[m][c]:.2f}" for m in tables.TABLE5 for c in ("std test", "adv test")],
        ),
        ("X1", [f"{v:.3f}" for pair in beyond.SEPARATION.values() for v in pair]),
        ("X4", [f"{v:.1f}" for pair in beyond.RST.values() for v in pair]),
        ("T1", [str(section2.P)]),
        ("P4", ["4/255", "0.314", "0.005"]),
    ],
)
def test_statements_quote_the_tables(claim_id, numbers):
    statement = paper.ALL[claim_id].statement
    assert all(n in statement for n in numbers), (claim_id, statement)


def test_lib_paper_reexports_its_claims_ledger():
    from lib.paper import claims

    assert claims.ALL is paper.ALL and claims.Claim is paper.Claim


def _cpu_paper_text(chapter: str, claim: str) -> str:
    import json

    path = Path(__file__).parents[1] / "results" / "claims" / "cpu" / f"{chapter}.json"
    if not path.exists():
        pytest.skip(f"{path} not committed")
    record = json.loads(path.read_text())
    from lib import verdicts

    if record.get("rules") != verdicts.RULES_VERSION:  # issue 39's rules v2 reworded P4
        pytest.xfail(f"{path.name} was built by rules v{record.get('rules')}: a cold build is due")
    rows = [r for r in record["rows"] if r["claim"] == claim]
    return rows[0]["paper"]


def test_setup_formats_the_committed_paper_text():
    # The setup chapter formats P4 and S3's paper text from lib.paper: it must read as
    # the committed cpu claim file does.
    from lib.chapters import setup_facts

    assert setup_facts._p4()["paper"] == _cpu_paper_text("setup", "P4")
    assert setup_facts._authors_pgd_text() == _cpu_paper_text("setup", "S3")
