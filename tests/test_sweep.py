"""The sweep: papermill executions of one_run over a grid, resumable and fault-tolerant."""

from __future__ import annotations

import json

import pytest

from lib import sweep
from lib.store import Store
from lib.train import RunConfig, run_key

GRID = {
    "fixed": {"dataset": "mnist", "profile": "smoke", "mix": "adversarial"},
    "vary": {"norm": ["inf", 2], "eps_train": [0.1, 0.3]},
}


def test_grid_from_spec_expands_the_product():
    configs = sweep.grid_from_spec(GRID)
    assert len(configs) == 4
    assert {(c.norm, c.eps_train) for c in configs} == {
        ("inf", 0.1),
        ("inf", 0.3),
        (2, 0.1),
        (2, 0.3),
    }


@pytest.mark.parametrize(
    "spec,match",
    [
        ({"fixed": {"dataset": "svhn", "profile": "smoke"}}, "unknown dataset 'svhn'"),
        (
            {
                "fixed": {"dataset": "mnist", "mix": "adversarial", "eps_train": 0.1},
                "vary": {"norm": [2, 3]},
            },
            'norm must be "inf" or 2',
        ),
        ({"fixed": {"dataset": "mnist"}, "vary": {"lr": [0.1]}}, "unknown grid parameters"),
        ({"fixed": {"dataset": "mnist"}, "vary": {"seed": []}}, "non-empty list"),
        ({"fixed": {"dataset": "mnist"}, "grid": {}}, "unknown: \\['grid'\\]"),
    ],
)
def test_bad_grids_fail_before_anything_runs(spec, match):
    with pytest.raises(ValueError, match=match):
        sweep.grid_from_spec(spec)


def test_unknown_named_grid_and_cli(tmp_path, capsys):
    with pytest.raises(ValueError, match="unknown grid"):
        sweep.load_grid("fig99", "smoke")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"fixed": {"dataset": "imagenet"}}))
    with pytest.raises(SystemExit) as err:
        sweep.main(["--grid", str(bad), "--profile", "smoke"])
    assert err.value.code == 2
    assert "unknown dataset 'imagenet'" in capsys.readouterr().err


def test_price_grid_covers_the_chapter():
    parts = sweep.price_configs("cpu")
    table4 = parts["table4"]
    assert sum(c.mix == "half" for c in table4) == 12  # 2 data sets x 2 norms x 3 eps
    assert sum(c.mix == "clean" for c in parts["fig"]) == 6  # 2 data sets x 3 sizes
    assert all(c.bn_mode == "train" for c in parts["bn"])
    assert len(sweep.load_grid("price", "smoke")) == len(set(sweep.load_grid("price", "smoke")))


def test_sweep_runs_resumes_and_survives_a_failure(tmp_path, monkeypatch):
    store = Store(tmp_path / "store")
    out = tmp_path / "runs"
    configs = sweep.grid_from_spec(GRID)
    # Restricted ImageNet has no data here: this point fails, twice (one retry).
    monkeypatch.setenv("ODDS_IMAGENET", str(tmp_path / "no-imagenet"))
    failing = RunConfig("restricted_imagenet", "smoke", mix="adversarial", eps_train=0.005)
    result = sweep.sweep([*configs, failing], store=store, out_dir=out, progress=False)
    assert sorted(result.ran) == sorted(run_key(c) for c in configs)
    assert [c for c, _ in result.failed] == [failing]
    assert "DataNotFoundError" in result.failed[0][1]
    assert "1 failed" in result.summary()
    for c in configs:
        assert store.load(run_key(c)) is not None
        assert (out / f"{run_key(c)}.ipynb").is_file()  # the run's log
    assert (out / f"{run_key(failing)}.ipynb").is_file()  # a failed run keeps its log too
    assert not list(out.glob(".*.ipynb")), "no half-written log may be left"

    again = sweep.sweep(configs, store=store, out_dir=out, progress=False)
    assert again.ran == [] and sorted(again.skipped) == sorted(run_key(c) for c in configs)
