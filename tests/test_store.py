"""The run store: keys, atomic writes, never reading a half-written run."""

from __future__ import annotations

import json

import torch

from lib import store as store_lib
from lib.store import Store, key_of


def test_keys_ignore_order_and_separate_settings():
    a = {"dataset": "mnist", "eps": 0.3, "steps": (40, 1)}
    b = {"steps": [40, 1], "eps": 0.3, "dataset": "mnist"}
    assert key_of(a) == key_of(b)
    assert key_of(a) != key_of(a | {"eps": 0.2})


def test_save_and_load(tmp_path):
    s = Store(tmp_path)
    state = {"w": torch.arange(4.0)}
    run = s.save({"x": 1}, metrics={"acc": 0.5}, history=[{"epoch": 1}], state_dict=state)
    again = s.get({"x": 1})
    assert again is not None and again.metrics == {"acc": 0.5} and again.history == [{"epoch": 1}]
    assert torch.equal(again.state_dict()["w"], state["w"])
    prov = again.record["provenance"]
    assert {"git_commit", "torch", "created"} <= prov.keys()
    assert run.key == again.key and [r.key for r in s.runs()] == [run.key]
    assert not list(tmp_path.rglob("*.tmp")), "no temporary file may be left behind"


def test_get_or_run_computes_once(tmp_path):
    s = Store(tmp_path)
    calls = []

    def compute():
        calls.append(1)
        return {"metrics": {"acc": 1.0}}

    s.get_or_run({"k": 2}, compute)
    s.get_or_run({"k": 2}, compute)
    assert len(calls) == 1


def test_killed_or_corrupt_runs_are_recomputed(tmp_path):
    s = Store(tmp_path)
    run = s.save({"k": 3}, metrics={}, state_dict={"w": torch.ones(3)})
    ckpt = run.path / store_lib.CHECKPOINT
    # a checkpoint replaced by garbage after the record was written
    ckpt.write_bytes(b"garbage")
    assert s.get({"k": 3}) is None
    # a run killed after its checkpoint but before its record
    run = s.save({"k": 3}, metrics={}, state_dict={"w": torch.ones(3)})
    (run.path / store_lib.RECORD).unlink()
    assert s.get({"k": 3}) is None
    # a truncated record
    run = s.save({"k": 3}, metrics={}, state_dict={"w": torch.ones(3)})
    text = (run.path / store_lib.RECORD).read_text()
    (run.path / store_lib.RECORD).write_text(text[: len(text) // 2])
    assert s.get({"k": 3}) is None
    assert s.runs() == []


def test_failed_write_leaves_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "r.json"
    store_lib.atomic_write_json(path, {"v": 1})

    class Boom(Exception):
        pass

    def explode(*args, **kwargs):
        raise Boom

    monkeypatch.setattr(store_lib.os, "replace", explode)
    try:
        store_lib.atomic_write_json(path, {"v": 2})
    except Boom:
        pass
    assert json.loads(path.read_text()) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_checkpoints_load_with_weights_only(tmp_path):
    s = Store(tmp_path)
    run = s.save({"k": 4}, metrics={}, state_dict={"w": torch.ones(2)})
    # weights_only=True refuses arbitrary pickled objects; a plain state dict loads
    assert torch.load(run.path / "model.pt", weights_only=True)["w"].sum() == 2
