"""Per module: mutants killed, survived, timed out (and the rest) after a mutmut run.

Reads mutmut's results under ``mutants/`` (``lib/**/*.py.meta``). With ``--names FILE``
only the mutants named there (one a line: a sample) are counted. Prints a Markdown
table, then the survivors' names.

    python lab/mutation/summarize.py [--root mutants] [--names lab/mutation/sample.txt]
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

#: mutmut's exit codes (mutmut.stats.status_by_exit_code), as the columns here name them.
STATUS = {1: "killed", 3: "killed", 0: "survived", 5: "no tests", 33: "no tests", 34: "skipped"}
STATUS |= {c: "timeout" for c in (36, -24, 24, 152, 255)}
STATUS |= {None: "not checked", 37: "killed"}
COLUMNS = ("killed", "survived", "timeout", "no tests", "not checked", "other")


def results(root: Path) -> dict[str, str]:
    """mutant name -> status, over every ``.meta`` file under ``root``."""
    out = {}
    for meta in sorted(root.glob("lib/**/*.py.meta")):
        for name, code in json.loads(meta.read_text())["exit_code_by_key"].items():
            out[name] = STATUS.get(code, "other")
    return out


def module_of(name: str) -> str:
    return name.split(".x_")[0].split(".xǁ")[0]


def table(status: dict[str, str]) -> str:
    by_module: dict[str, Counter] = {}
    for name, s in status.items():
        by_module.setdefault(module_of(name), Counter())[s] += 1
    lines = [
        "| module | mutants | " + " | ".join(COLUMNS) + " | kill rate |",
        "|---|---:|" + "---:|" * len(COLUMNS) + "---:|",
    ]
    total = Counter()
    for module in sorted(by_module) + ["all"]:
        c = total if module == "all" else by_module[module]
        if module != "all":
            total.update(c)
        tested = c["killed"] + c["survived"] + c["timeout"]
        rate = f"{100 * (c['killed'] + c['timeout']) / tested:.0f}%" if tested else "-"
        cells = " | ".join(str(c[k]) for k in COLUMNS)
        lines.append(f"| {module} | {sum(c.values())} | {cells} | {rate} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", type=Path, default=Path("mutants"))
    ap.add_argument("--names", type=Path, help="count only the mutants named in this file")
    args = ap.parse_args()
    status = results(args.root)
    if args.names:
        wanted = [n for n in args.names.read_text().split() if n]
        status = {n: status.get(n, "not checked") for n in wanted}
    print(table(status))
    survivors = sorted(n for n, s in status.items() if s == "survived")
    print(f"\nSurvivors ({len(survivors)}):")
    for n in survivors:
        print(f"- {n}")


if __name__ == "__main__":
    main()
