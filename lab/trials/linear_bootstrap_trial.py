"""How far do the linear chapter's 100-epoch models move over bootstrap resamples of the
training images? (issue 39: the SEs of L1-L3, and the ones tests/test_rule_controls.py uses.)

Fits the standard and the adversarial model (100 epochs of full-batch GD, lr 0.1, eps 0.2,
fp32) on each of 8 resamples (lib.bootstrap.resample_indices, seed 0) of all 11,686
binary-MNIST training images, measures each as the chapter does (Recipe.measures), and
writes every replicate and each measure's bootstrap SE (widened by t_7 / 2) as JSON.

Run from the repository root:
    PYTHONPATH=$PWD ODDS_DATA=... python lab/trials/linear_bootstrap_trial.py OUT.json
"""

import json
import subprocess
import sys
import time

import pandas as pd

from lib import bootstrap, data, runtime
from lib.chapters import linear_mnist as L

if __name__ == "__main__":
    runtime.keep_freed_memory()
    train_set, test_set = data.load("binary_mnist", "train"), data.load("binary_mnist", "test")
    recipe = L.Recipe(0.2, 100, 0.1, 300, precision="fp32")
    rows, t0 = [], time.time()
    for r, index in enumerate(bootstrap.resample_indices(len(train_set), 8, 0)):
        ds = L.resample(train_set, index)
        corr = data.feature_label_correlation(ds).cpu()
        for name, adversarial in (("standard", False), ("adversarial", True)):
            model, _ = recipe.fit(ds, adversarial=adversarial, seed=0)
            rows.append({"resample": r, "model": name} | recipe.measures(model, ds, test_set, corr))
    frame = pd.DataFrame(rows)
    se = {
        name: {c: bootstrap.bootstrap_se(g[c]) for c in L.MEASURES}
        for name, g in frame.groupby("model")
    }
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    out = {
        "provenance": {
            "date": time.strftime("%Y-%m-%d"),
            "commit": commit.stdout.strip(),
            "machine": "2-core EPYC, 1 thread, shared with other work",
            "seconds": round(time.time() - t0, 1),
        },
        "bootstrap_se": se,
        "replicates": rows,
    }
    with open(sys.argv[1], "w") as f:
        json.dump(out, f, indent=1)
