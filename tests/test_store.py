"""The run store: keys, atomic writes, never reading a half-written run."""

from __future__ import annotations

import importlib
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from lib.experiments import store as store_lib
from lib.experiments.store import Store, key_of


def _child_env() -> dict:
    """The environment of a child process: this lib first, then the caller's path (a
    mutation run's mutated copy needs mutmut's own modules too)."""
    path = [str(Path(store_lib.__file__).parents[2]), os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in path if p)}


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
    # one byte flipped, the size unchanged: only the SHA-256 can tell (catches a load
    # that checks the size alone)
    run = s.save({"k": 3}, metrics={}, state_dict={"w": torch.ones(3)})
    good = ckpt.read_bytes()
    ckpt.write_bytes(good[:-1] + bytes([good[-1] ^ 1]))
    assert ckpt.stat().st_size == run.record["checkpoint"]["bytes"]
    assert s.get({"k": 3}) is None
    ckpt.write_bytes(good)
    assert s.get({"k": 3}) is not None  # the same bytes back: served again
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


# --------------------------------------------------------------------------
# Reliability probes (issue 19): each failed before the fix.

KEY = "0123456789abcdef"


def test_records_of_the_wrong_shape_are_missing_runs(tmp_path):
    s = Store(tmp_path)
    run = s.save({"k": 5}, metrics={"acc": 1.0}, state_dict={"w": torch.ones(2)})
    record = json.loads((run.path / store_lib.RECORD).read_text())
    bad = [
        [],
        None,
        {},
        "text",
        {**record, "metrics": []},
        {**record, "history": None},
        {**record, "checkpoint": {"file": "model.pt"}},  # a checkpoint entry without its fields
        {**record, "checkpoint": {**record["checkpoint"], "sha256": "xyz"}},
    ]
    for value in bad:
        (run.path / store_lib.RECORD).write_text(json.dumps(value))
        assert s.load(run.key) is None, value
        assert s.get({"k": 5}) is None
        assert s.runs() == []


def test_a_record_copied_into_another_keys_folder_is_not_served(tmp_path):
    s = Store(tmp_path)
    a = s.save({"k": "a"}, metrics={"acc": 0.1})
    b_key = key_of({"k": "b"})
    s.path(b_key).mkdir()
    (s.path(b_key) / store_lib.RECORD).write_bytes((a.path / store_lib.RECORD).read_bytes())
    assert s.get({"k": "b"}) is None
    # a record whose "key" was edited to match the folder: its settings still do not
    record = json.loads((a.path / store_lib.RECORD).read_text()) | {"key": b_key}
    (s.path(b_key) / store_lib.RECORD).write_text(json.dumps(record))
    assert s.load(b_key) is None


def test_checkpoint_bytes_are_reproducible(tmp_path):
    state = {"w": torch.arange(6.0).reshape(2, 3), "b": torch.ones(3)}
    one = Store(tmp_path / "one").save({"k": 6}, metrics={}, state_dict=state)
    two = Store(tmp_path / "two").save({"k": 6}, metrics={}, state_dict=state)
    assert one.record["checkpoint"] == two.record["checkpoint"]
    assert (one.path / "model.pt").read_bytes() == (two.path / "model.pt").read_bytes()


def test_keys_are_validated():
    s = Store("/nonexistent-store")
    for bad in ("..", "../x", "a/b", "ABCDEF0123456789", "0123", "", None):
        with pytest.raises(ValueError, match="not a store key"):
            s.path(bad)
    assert s.path(KEY).name == KEY


def test_store_files_are_readable_by_the_group(tmp_path):
    old = os.umask(0o022)
    try:
        importlib.reload(store_lib)
        run = store_lib.Store(tmp_path).save({"k": 7}, metrics={}, state_dict={"w": torch.ones(1)})
        for name in (store_lib.RECORD, store_lib.CHECKPOINT):
            assert stat.S_IMODE((run.path / name).stat().st_mode) == 0o644
    finally:
        os.umask(old)
        importlib.reload(store_lib)


def test_stale_temporary_files_are_swept_at_open(tmp_path):
    s = Store(tmp_path)
    run = s.save({"k": 8}, metrics={})
    stale = run.path / ".model.pt.abc123.tmp"
    stale.write_bytes(b"half a checkpoint")
    store_lib._swept.clear()
    Store(tmp_path)
    assert not stale.exists()
    assert Store(tmp_path).load(run.key) is not None


def test_temporary_files_of_a_locked_key_are_kept(tmp_path):
    s = Store(tmp_path)
    run = s.save({"k": 9}, metrics={})
    live = run.path / ".model.pt.live.tmp"
    code = (
        "import sys, time; from lib.experiments.store import Store; "
        f"s = Store({str(tmp_path)!r}); "
        f"ctx = s.lock({run.key!r}); ctx.__enter__(); print('locked', flush=True); time.sleep(30)"
    )
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        live.write_bytes(b"being written")  # by the holder, as far as the store can tell
        assert s.sweep_temporary() == 0 and live.exists()
    finally:
        holder.kill()
        holder.wait()
    assert s.sweep_temporary() == 1 and not live.exists()


_READ_ONLY = """
import ctypes, os, sys
if os.geteuid() == 0:
    # Root writes anywhere through CAP_DAC_OVERRIDE (and access() consults the
    # permitted set): drop it and CAP_DAC_READ_SEARCH from this process, so the mode
    # bits decide, as for any user. capset(2), _LINUX_CAPABILITY_VERSION_3.
    libc = ctypes.CDLL(None, use_errno=True)
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)
    caps = (ctypes.c_uint32 * 6)()  # (effective, permitted, inheritable) x 2 words
    assert libc.capget(header, caps) == 0, ctypes.get_errno()
    for i in (0, 1):
        caps[i] &= ~((1 << 1) | (1 << 2))
    assert libc.capset(header, caps) == 0, ctypes.get_errno()
    assert not os.access(sys.argv[1], os.W_OK), "still writable after dropping DAC_OVERRIDE"
from lib.experiments.store import Store
calls = []
try:
    Store(sys.argv[1]).get_or_run({"k": 10}, lambda: calls.append(1) or {"metrics": {}})
except PermissionError as err:
    print("refused" if calls == [] else "computed first", err)
else:
    print("saved", calls)
"""


def test_a_read_only_store_fails_before_computing(tmp_path):
    # Run as root too (CI is root): a child process gives up the capabilities that let
    # root ignore permissions, then opens a store in a folder it cannot write.
    root = tmp_path / "ro"
    root.mkdir()
    root.chmod(0o555)
    env = _child_env()
    try:
        out = subprocess.run(
            [sys.executable, "-c", _READ_ONLY, str(root)],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
    finally:
        root.chmod(0o755)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("refused") and "ODDS_STORE" in out.stdout, out.stdout
    assert list(root.iterdir()) == []  # not a lock, not a run


def test_a_read_only_store_fails_before_computing_even_as_root(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(store_lib.os, "access", lambda path, mode: False)
    with pytest.raises(PermissionError, match="not writable"):
        Store(tmp_path).get_or_run({"k": 11}, lambda: calls.append(1) or {"metrics": {}})
    assert calls == []


_WRITER = """
import sys, time
from lib.experiments.store import Store
root, tag, delay = sys.argv[1], sys.argv[2], float(sys.argv[3])

def compute():
    time.sleep(delay)  # long enough that the other writer asks meanwhile
    import torch
    return {"metrics": {"who": tag}, "state_dict": {"w": torch.full((4,), float(len(tag)))}}

run = Store(root).get_or_run({"k": "shared"}, compute)
print(run.metrics["who"])
"""


def test_two_writers_of_one_key_compute_it_once(tmp_path):
    env = _child_env()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(tmp_path), tag, "2"],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for tag in ("first", "second-writer")
    ]
    outs = [p.communicate(timeout=120)[0].strip() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    # both see the same run, made by one of them; the weights are that writer's
    assert outs[0] == outs[1] and outs[0] in ("first", "second-writer")
    run = Store(tmp_path).get({"k": "shared"})
    assert run is not None and run.metrics["who"] == outs[0]
    assert float(run.state_dict()["w"][0]) == len(outs[0])


# --------------------------------------------------------------------------
# Found by mutation testing (issue 41, lab/mutation/): each fails on a planted bug.


def test_keys_hash_sets_devices_and_settings_objects():
    # sets in sorted order, a device by its name, an object with to_dict() by that dict
    # (catches a key that refuses them, or hashes their repr)
    class Settings:
        def to_dict(self):
            return {"b": 1, "a": [2, 3]}

    assert store_lib.canonical({"s": {3, 1, 2}}) == '{"s":[1,2,3]}'
    assert key_of({"d": torch.device("cpu")}) == key_of({"d": "cpu"})
    assert key_of({"x": Settings()}) == key_of({"x": {"a": [2, 3], "b": 1}})
    with pytest.raises(TypeError, match="JSON-like"):
        key_of({"x": object()})


def test_a_record_without_its_checkpoint_entry_is_a_missing_run(tmp_path):
    # catches a record missing the "checkpoint" field read as "no checkpoint"
    s = Store(tmp_path)
    run = s.save({"k": 12}, metrics={"acc": 1.0})
    record = json.loads((run.path / store_lib.RECORD).read_text())
    assert s.load(run.key) is not None and record["checkpoint"] is None
    del record["checkpoint"]
    (run.path / store_lib.RECORD).write_text(json.dumps(record))
    assert s.load(run.key) is None


def test_a_read_only_store_still_serves_its_runs(tmp_path, monkeypatch):
    # catches a get_or_run that checks writability (or locks) before looking
    s = Store(tmp_path)
    s.save({"k": 13}, metrics={"acc": 0.5})
    monkeypatch.setattr(store_lib.os, "access", lambda path, mode: False)
    run = Store(tmp_path).get_or_run({"k": 13}, lambda: pytest.fail("recomputed"))
    assert run.metrics == {"acc": 0.5}


def test_get_or_run_stores_everything_compute_returns(tmp_path):
    s = Store(tmp_path)
    out = {
        "metrics": {"acc": 0.25},
        "history": [{"epoch": 1}],
        "state_dict": {"w": torch.arange(3.0)},
        "provenance": {"device": "test"},
    }
    run = s.get_or_run({"k": 14}, lambda: out)
    again = Store(tmp_path).get({"k": 14})
    for r in (run, again):
        assert r.metrics == out["metrics"] and r.history == out["history"]
        assert r.record["provenance"]["device"] == "test"
        assert torch.equal(r.state_dict()["w"], out["state_dict"]["w"])
        assert {"python", "torch", "numpy"} <= r.record["provenance"]["versions"].keys()
        assert r.settings == {"k": 14} and r.key == key_of({"k": 14})
