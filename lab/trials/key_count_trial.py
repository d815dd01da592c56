"""How often is a run's store key derived in one run's life? (issue 36)

Counts the evaluations of the key schema (``runs._key_settings``: the data
fingerprint, the resolved settings) and the store's hashes of settings while a
smoke run is trained, evaluated at another eps (``robust_eval``) and under the
strong evaluation (``strong_eval``), then the same three again, served from the
store. Runs against this checkout (``lib.experiments``) or an older one (``lib.runs``):

    PYTHONPATH=$PWD .venv/bin/python lab/trials/key_count_trial.py
"""

import collections
import importlib
import tempfile

try:
    from lib.experiments import evals, runs
    from lib.experiments.store import Store
except ImportError:  # before the experiments wing (a70575f and earlier)
    from lib.store import Store

    from lib import evals, runs

count = collections.Counter()
schema, store_mod = runs._key_settings, importlib.import_module(Store.__module__)
hash_of = store_mod.key_of


def counted_schema(plan):
    count["schema"] += 1
    return schema(plan)


def counted_hash(settings):
    count["store hash"] += 1
    return hash_of(settings)


runs._key_settings, store_mod.key_of = counted_schema, counted_hash
cfg = runs.RunConfig(
    "mnist", "smoke", "adversarial", eps_train=0.3, n_train=128, max_steps=3, precision="fp32"
)
with tempfile.TemporaryDirectory() as root:
    store = Store(root)
    for rep in ("computed", "served"):
        start = dict(count)
        marks = []
        runs.train_run(cfg, store=store, device="cpu", progress=False)
        marks.append(count["schema"])
        evals.robust_eval(cfg, 0.1, store=store, device="cpu", progress=False)
        marks.append(count["schema"])
        evals.strong_eval(cfg, store=store, device="cpu", progress=False)
        marks.append(count["schema"])
        first = start.get("schema", 0)
        steps = [b - a for a, b in zip([first, *marks], marks, strict=False)]
        hashes = count["store hash"] - start.get("store hash", 0)
        print(
            f"{rep}: key schema evaluated {sum(steps)} times (train_run {steps[0]}, "
            f"robust_eval {steps[1]}, strong_eval {steps[2]}); store hashes {hashes}"
        )
