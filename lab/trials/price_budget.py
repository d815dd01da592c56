"""How long will the price chapter take in a cold `cpu` build? (issue 39's budget)

An estimate, not a measurement: every run of the chapter's `cpu` grid costed by
``parallel.run_cost`` and every Table 4 strong evaluation by ``parallel.strong_cost``
(``lib.experiments.execute.parallel``; one unit ~0.25 ms on one thread, `lab/builds.md`),
packed on two workers (``parallel.makespan``), training then strong evaluations,
as the chapter runs them. The grid of another commit (``--base``, read with ``git
show``) is costed the same way, and its estimate is scaled to ``--minutes``, the
price chapter's measured time in that commit's cold build (the 31ae218 build: 83.6
min on the slow EPYC), to turn this grid's estimate into minutes. Trains nothing.

    .venv/bin/python lab/trials/price_budget.py --base a70575f --minutes 83.6
"""

from __future__ import annotations

import argparse
import collections
import importlib.util
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from lib.experiments import grids
from lib.experiments.execute import parallel

UNIT_MINUTES = 0.25e-3 / 60  # one run_cost unit on one thread


#: Modules that moved into lib.experiments (issue 36): an older grids.py's imports of them
#: are read from their new home, so an older commit's grid can still be costed.
MOVED = ("profiles", "runs", "store", "results", "evals", "run_checks", "plan_data")


def grids_at(commit: str):
    """lib/grids.py (lib/experiments/grids.py since issue 36) as it was at ``commit``,
    imported under another name."""
    for path in ("lib/experiments/grids.py", "lib/grids.py"):
        shown = subprocess.run(["git", "show", f"{commit}:{path}"], capture_output=True, text=True)
        if shown.returncode == 0:
            break
    text = shown.stdout
    for name in MOVED:
        text = re.sub(
            rf"^from lib import {name}\b", f"from lib.experiments import {name}", text, flags=re.M
        )
        text = re.sub(
            rf"^from lib\.{name} import", f"from lib.experiments.{name} import", text, flags=re.M
        )
    text = re.sub(
        r"^from lib import parallel\b",
        "from lib.experiments.execute import parallel",
        text,
        flags=re.M,
    )
    path = Path(tempfile.mkdtemp()) / f"grids_{commit}.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module


def costs(mod) -> tuple[dict, float]:
    """Per (part, data set, model) the runs and their one-thread minutes, the strong
    evaluations likewise, and the two-worker wall estimate in minutes."""
    parts, grid = mod.price_configs("cpu"), mod.price_grid("cpu")
    seen, groups = set(), collections.defaultdict(lambda: [0, 0.0])
    for part, configs in parts.items():
        for c in configs:
            if c not in seen:
                seen.add(c)
                model = "robust" if c.mix == "adversarial" else c.mix
                groups[(part, c.dataset, model)][0] += 1
                groups[(part, c.dataset, model)][1] += parallel.run_cost(c) * UNIT_MINUTES
    rows = [(d, n, e) for d in grid.datasets for n in ("inf", 2) for e in grid.table4_eps[(d, n)]]
    cells = grids._table4_cells(parts["table4"], rows) + grids._table4_cells(
        parts["seeds"], [r[:3] for r in grid.seed_rows]
    )
    strong = [parallel.strong_cost(c) * UNIT_MINUTES for c in cells]
    groups[("strong evaluations", "", "")] = [len(cells), sum(strong)]
    train = [parallel.run_cost(c) * UNIT_MINUTES for c in seen]
    return groups, parallel.makespan(train, 2) + parallel.makespan(strong, 2)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--base", default="a70575f", help="the commit of the measured build's grid")
    p.add_argument("--minutes", type=float, default=83.6, help="its price chapter, measured")
    args = p.parse_args(argv)
    (before, wall_before), (after, wall_after) = costs(grids_at(args.base)), costs(grids)
    scale = args.minutes / wall_before
    for key in sorted(set(before) | set(after)):
        (a, ma), (b, mb) = before.get(key, [0, 0.0]), after.get(key, [0, 0.0])
        name = "/".join(k for k in key if k)
        print(f"{name:34s} {a:3d} -> {b:3d}   {ma:5.1f} -> {mb:5.1f} one-thread min")
    print(
        f"two workers: {wall_before:.1f} -> {wall_after:.1f} estimated min; scaled by "
        f"{scale:.2f}: {args.minutes:.1f} -> {wall_after * scale:.1f} min"
    )


if __name__ == "__main__":
    main()
