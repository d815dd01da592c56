"""What does the exact l_inf separation search of MNIST cost, and what does it find?

Runs :func:`lib.exact_separation.exact_min_distance` over every test-train pair (10,000 x
60,000) and every unordered train-train pair of MNIST on one thread, and records each
search's minimum, the pair at it, the pairs the prefilter kept, and its wall and CPU
seconds (the machine is shared: CPU seconds are the stable figure).

    python lab/trials/exact_separation_trial.py --out lab/results/exact-separation-cpu.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import resource

import torch

from lib import data, exact_separation, runtime


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    tr, te = data.load("mnist", "train"), data.load("mnist", "test")
    rows = []
    for kind, (qx, qy, symmetric) in {
        "test-train": (te.x, te.y, False),
        "train-train": (tr.x, tr.y, True),
    }.items():
        start = cpu_seconds()
        found = exact_separation.exact_min_distance(qx, qy, tr.x, tr.y, symmetric=symmetric)
        rows.append(
            {
                "search": kind,
                **dataclasses.asdict(found),
                "levels": round(found.min_dist * 255),
                "pruned": found.pruned,
                "cpu_seconds": cpu_seconds() - start,
            }
        )
        print(rows[-1], flush=True)
    record = {
        "what": __doc__.splitlines()[0],
        "threads": args.threads,
        "rows": rows,
        "provenance": {"commit": runtime.git_commit(), "torch": torch.__version__},
    }
    with open(args.out, "w") as f:
        json.dump(record, f, indent=1)


if __name__ == "__main__":
    main()
