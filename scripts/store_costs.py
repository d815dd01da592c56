"""Where a build's time went, read from its run store: training and evaluations.

Every trained run's record gives its training seconds, steps and thread
count; every stored evaluation (robust or strong) and B4 audit attack its
seconds. This prints, per group (data set, mix, norm, full or subset
training data), the number of runs, their total seconds (worker time: two
one-thread workers add up to about twice the wall time) and their median
milliseconds per step, then the evaluations, then the span from the first
record to the last (about the build's wall time, less the chapters that
store nothing). It reads the store only.

    .venv/bin/python scripts/store_costs.py runs/store [--json costs.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections import defaultdict
from datetime import datetime
from pathlib import Path


def records(root: Path):
    """(key, record) of every complete record under ``root``."""
    for path in sorted(root.glob("*/record.json")):
        try:
            yield path.parent.name, json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            continue  # a record being written, or a corrupt one: not a cost


def rows_of(root: Path) -> tuple[list[dict], list[dict]]:
    """The store's training runs and evaluations, one dict each."""
    runs, evals = [], []
    for key, r in records(root):
        settings, metrics = r.get("settings", {}), r.get("metrics", {})
        created = r.get("provenance", {}).get("created")
        threads = r.get("provenance", {}).get("threads")
        if "run" in settings and "train_seconds" in metrics:
            run = settings["run"]
            steps = metrics.get("steps") or 0
            runs.append(
                {
                    "key": key,
                    "dataset": run.get("dataset"),
                    "mix": run.get("mix"),
                    "norm": run.get("norm"),
                    "eps_train": run.get("eps_train"),
                    "n_train": run.get("n_train"),
                    "seed": run.get("seed"),
                    "steps": steps,
                    "seconds": metrics["train_seconds"],
                    "ms_per_step": 1000 * metrics["train_seconds"] / steps if steps else None,
                    "threads": threads,
                    "created": created,
                }
            )
        elif ("robust_eval_of" in settings or "audit_of" in settings) and "seconds" in metrics:
            if "audit_of" in settings:  # one of B4's attacks, one per record
                of, kind = settings["audit_of"], f"audit {settings.get('attack')}"
            else:
                of = settings["robust_eval_of"]
                kind = "strong" if "strong" in settings else "robust"
            evals.append(
                {
                    "key": key,
                    "of": of,
                    "kind": kind,
                    "seconds": metrics["seconds"],
                    "threads": threads,
                    "created": created,
                }
            )
    return runs, evals


def summary(runs: list[dict], evals: list[dict]) -> dict:
    """Totals per group of runs and per kind of evaluation, and the records' time span."""
    groups = defaultdict(list)
    for r in runs:
        subset = "full" if r["n_train"] is None else "subset"
        groups[(r["dataset"], r["mix"], str(r["norm"]), subset)].append(r)
    out = {"runs": [], "evals": [], "total_seconds": {}}
    for (dataset, mix, norm, subset), rs in sorted(groups.items()):
        rates = [r["ms_per_step"] for r in rs if r["ms_per_step"] is not None]
        out["runs"].append(
            {
                "dataset": dataset,
                "mix": mix,
                "norm": norm,
                "train": subset,
                "runs": len(rs),
                "seconds": sum(r["seconds"] for r in rs),
                "median_ms_per_step": statistics.median(rates) if rates else None,
            }
        )
    for kind in sorted({e["kind"] for e in evals}):
        es = [e for e in evals if e["kind"] == kind]
        out["evals"].append(
            {"kind": kind, "evals": len(es), "seconds": sum(e["seconds"] for e in es)}
        )
    out["total_seconds"] = {
        "training": sum(r["seconds"] for r in runs),
        "evaluations": sum(e["seconds"] for e in evals),
    }
    stamps = [
        datetime.strptime(x["created"], "%Y-%m-%dT%H:%M:%S%z")
        for x in (*runs, *evals)
        if x.get("created")
    ]
    out["span_seconds"] = (max(stamps) - min(stamps)).total_seconds() if stamps else None
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("store", type=Path, help="the run store's root (runs/store or $ODDS_STORE)")
    p.add_argument("--json", default=None, help="also write the rows and the summary here")
    args = p.parse_args()
    if not args.store.is_dir():
        raise SystemExit(f"no run store at {args.store}")
    runs, evals = rows_of(args.store)
    s = summary(runs, evals)
    print(f"{'data set':10} {'mix':12} {'norm':5} {'train':7} {'runs':>5} {'s':>9} {'ms/step':>8}")
    for g in s["runs"]:
        rate = g["median_ms_per_step"]
        print(
            f"{g['dataset']:10} {g['mix']:12} {g['norm']:5} {g['train']:7} {g['runs']:5d} "
            f"{g['seconds']:9.0f} {rate if rate is None else round(rate):>8}"
        )
    for e in s["evals"]:
        print(f"{e['kind']} evaluations: {e['evals']}, {e['seconds']:.0f} s")
    t = s["total_seconds"]
    print(f"training {t['training']:.0f} s, evaluations {t['evaluations']:.0f} s (worker time)")
    if s["span_seconds"] is not None:
        print(f"first record to last: {s['span_seconds']:.0f} s")
    if args.json:
        Path(args.json).write_text(
            json.dumps({"runs": runs, "evals": evals, "summary": s}, indent=1)
        )


if __name__ == "__main__":
    main()
