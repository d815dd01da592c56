"""The performance chapter: tables and glued values from the committed measurements.

The bench's files (``results/bench/<device>.json``, written by ``make bench``,
:mod:`lib.bench`) and the one-process trials (``lab/results/<name>.json``,
written by ``lab/trials/*.py``) are read as they are; nothing here times
anything. Throughputs are images x steps per second (attacks) or images per
second (training); a ratio above 1 means the first path named is faster.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from lib import runtime

BENCH = runtime.PROJECT_ROOT / "results" / "bench"

#: The bench's attack variants, as the tables name them.
VARIANT_NAMES = {
    "ours": "ours",
    "ours_plain": "ours plain model",
    "ours_fp32": "ours fp32",
    "ours_graph": "ours CUDA graph",
    "ours_compiled": "ours compiled",
    "torchattacks": "torchattacks",
    "floor_fp32": "floor fp32",
    "floor_ours": "floor ours",
}
#: The ratios to torchattacks drawn per device, where measured.
PLOTTED = (
    "ours/torchattacks",
    "ours_fp32/torchattacks",
    "ours_graph/torchattacks",
    "ours_compiled/torchattacks",
)
#: The ratio ranges glued per device type (``perf_<kind>_<a>_vs_<b>_min`` / ``_max``).
GLUED_RATIOS = (
    "ours/torchattacks",
    "ours_fp32/torchattacks",
    "ours/floor_fp32",
    "ours_fp32/floor_fp32",
    "ours_graph/torchattacks",
)
NAN = float("nan")


def load_results(folder: Path | str = BENCH) -> dict[str, dict]:
    """Every bench file of ``folder``, by file stem, in name order."""
    return {p.stem: json.loads(p.read_text()) for p in sorted(Path(folder).glob("*.json"))}


def machine_of(provenance: dict) -> str:
    """CPU model and allocator where recorded (as "; a, b"): machines of one name and the C
    library's allocator settings both move the ratios."""
    parts = [provenance[k] for k in ("cpu_model", "cpu_id", "allocator") if provenance.get(k)]
    return "; " + ", ".join(parts) if parts else ""


def files_note(results: dict) -> str:
    """The measurements on the page, one Markdown item per file: device, torch, date,
    commit, rounds, PGD steps and machine."""
    items = []
    for name, r in results.items():
        prov = r["provenance"]
        dirty = " (uncommitted changes)" if prov["commit"].endswith("+dirty") else ""
        items.append(
            f"- `{name}.json`: {prov['device']}, torch {prov['torch']}, {prov['date'][:10]}, "
            f"commit `{prov['commit'][:12]}`{dirty}, {r['settings']['rounds']} timed rounds, "
            f"PGD-{r['settings']['steps']}{machine_of(prov)}"
        )
    return "Measurements on this page:\n\n" + "\n".join(items)


# --------------------------------------------------------------------------
# Attack throughput


def attack_table(result: dict) -> pd.DataFrame:
    """One bench file's attack rows, by (model, batch, norm): each variant's throughput, then
    the ratios measured (columns with a "/")."""
    rows = []
    for r in result["attack"]:
        row = {"model": r["model"], "batch": r["batch"], "norm": f"l{r['norm']}"}
        for key, label in VARIANT_NAMES.items():
            v = r["variants"].get(key)
            if v is not None:
                row[label] = v.get("throughput", NAN)
        row.update({k: v for k, v in r["ratios"].items() if v is not None})
        rows.append(row)
    return pd.DataFrame(rows).set_index(["model", "batch", "norm"])


def plotted_ratios(table: pd.DataFrame) -> pd.DataFrame:
    """The :data:`PLOTTED` ratios of an :func:`attack_table`, named by their first path
    (as :data:`VARIANT_NAMES` names it)."""
    keys = [k for k in PLOTTED if k in table]
    return table[keys].rename(columns=lambda k: VARIANT_NAMES[k.split("/")[0]])


def ratio_range(results: dict, kind: str, key: str) -> tuple[float, float]:
    """(min, max) of one attack ratio over the files of device type ``kind`` (NaNs if none)."""
    values = [
        row["ratios"][key]
        for r in results.values()
        if r["device_type"] == kind
        for row in r["attack"]
        if row["ratios"].get(key) is not None
    ]
    return (float(min(values)), float(max(values))) if values else (NAN, NAN)


def ratio_glued(results: dict) -> dict:
    """The glued ranges of :data:`GLUED_RATIOS` on CPUs and on GPUs."""
    glued = {}
    for kind in ("cpu", "cuda"):
        for key in GLUED_RATIOS:
            lo, hi = ratio_range(results, kind, key)
            tag = key.replace("/", "_vs_")
            glued[f"perf_{kind}_{tag}_min"], glued[f"perf_{kind}_{tag}_max"] = lo, hi
    return glued


# --------------------------------------------------------------------------
# Training


TRAIN_COLUMNS = [
    "model",
    "path",
    "k",
    "images",
    "standard_epoch_s",
    "adversarial_epoch_s",
    "overhead",
    "standard_images_per_s",
]


def train_table(result: dict) -> pd.DataFrame:
    """One file's training overhead rows: a PGD-k epoch against k + 1 standard epochs."""
    return pd.DataFrame(result["train"])[TRAIN_COLUMNS]


def throughput_table(results: dict) -> pd.DataFrame:
    """Adversarial training throughput of every file: images per second of ours, ours fp32
    and torchattacks, their ratios, and what one Table 4 run of the cpu recipe costs at the
    measured rates (minutes; NaN where not measured). Empty when nothing is committed."""
    rows = []
    for r in results.values():
        for row in r.get("train_throughput", []):
            v = row["variants"]
            minutes = row.get("cpu_run", {}).get("minutes", {})
            rows.append(
                {
                    "device": r["provenance"]["device"],
                    "model": row["model"],
                    "setup": row.get("setup", "bench"),
                    "k": row["k"],
                    "batch": row["batch"],
                    "ours img/s": v["ours"].get("images_per_s", NAN),
                    "ours fp32 img/s": v["ours_fp32"].get("images_per_s", NAN),
                    "torchattacks img/s": v["torchattacks"].get("images_per_s", NAN),
                    "ours/torchattacks": row["ratios"]["ours/torchattacks"],
                    "ours_fp32/torchattacks": row["ratios"]["ours_fp32/torchattacks"],
                    "cpu run min (ours)": minutes.get("ours", NAN),
                    "cpu run min (fp32 eager)": minutes.get("ours_fp32", NAN),
                }
            )
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------
# Equal results and the GPU checks


def notes(name: str, result: dict) -> list[str]:
    """One file's Markdown lines: the sections it skipped and why, and its GPU checks (no
    host synchronization inside ``pgd``; the CUDA-graph path against eager)."""
    lines = [
        f"- `{name}`: section *{section}* not measured: {why}"
        for section, why in result.get("skipped", {}).items()
    ]
    checks = result.get("gpu_checks") or {}
    if checks.get("checked"):
        line = "no host synchronization inside `pgd`" if not checks["syncs"] else checks["error"]
        graph = checks.get("graph_auto") or {}
        if graph:
            line += (
                f"; CUDA-graph path vs eager from the same start: max |difference| "
                f"{graph['max_abs_diff_vs_eager']:.1e}, attack success {graph['success_graph']:.3f}"
                f" vs {graph['success_eager']:.3f}"
            )
        lines.append(f"- `{name}`, GPU checks (CUDA sync debug mode set to error): {line}.")
    return lines


# --------------------------------------------------------------------------
# Targets


def targets_table(results: dict) -> pd.DataFrame:
    """Every file's targets (target, where, value, met, short_by), with its device."""
    return pd.DataFrame(
        [{"device": r["provenance"]["device"], **t} for r in results.values() for t in r["targets"]]
    )


def targets_summary(targets: pd.DataFrame) -> pd.DataFrame:
    """Per device and target: how many rows met it, of how many, and the worst and best value."""
    return (
        targets.groupby(["device", "target"])
        .agg(met=("met", "sum"), of=("met", "size"), worst=("value", "min"), best=("value", "max"))
        .reset_index()
    )


def targets_glued(targets: pd.DataFrame) -> dict:
    """How many target rows are met, of how many."""
    met = int(targets.met.sum()) if len(targets) else 0
    return {"perf_targets_met": met, "perf_targets": len(targets)}


# --------------------------------------------------------------------------
# The CPU ceiling


def ceiling_table(results: dict) -> pd.DataFrame:
    """Per CPU attack row with both bare loops measured: the bf16 floor over the fp32 floor
    (the ceiling of ours / torchattacks), ours over the bf16 floor, ours over torchattacks."""
    return pd.DataFrame(
        [
            {
                "file": name,
                "cpu": r["provenance"].get("cpu_id") or r["provenance"].get("cpu_model", "?"),
                "allocator": r["provenance"].get("allocator", "?"),
                "model": row["model"],
                "batch": row["batch"],
                "norm": row["norm"],
                "bf16 floor / fp32 floor": row["variants"]["floor_ours"]["throughput"]
                / row["variants"]["floor_fp32"]["throughput"],
                "ours / bf16 floor": row["ratios"]["ours/floor_ours"],
                "ours / torchattacks": row["ratios"]["ours/torchattacks"],
            }
            for name, r in results.items()
            if r["device_type"] == "cpu"
            for row in r["attack"]
            if "throughput" in row["variants"].get("floor_ours", {})
            and "throughput" in row["variants"].get("floor_fp32", {})
        ]
    )


def ceiling_per_file(ceiling: pd.DataFrame) -> pd.DataFrame:
    """:func:`ceiling_table`'s three ratios, min and max, per file (with its CPU, allocator)."""
    return (
        ceiling.groupby(["file", "cpu", "allocator"])
        .agg(
            ceiling_min=("bf16 floor / fp32 floor", "min"),
            ceiling_max=("bf16 floor / fp32 floor", "max"),
            ours_vs_floor_min=("ours / bf16 floor", "min"),
            ours_vs_floor_max=("ours / bf16 floor", "max"),
            ours_vs_ta_min=("ours / torchattacks", "min"),
            ours_vs_ta_max=("ours / torchattacks", "max"),
        )
        .reset_index()
    )


def ceiling_glued(ceiling: pd.DataFrame) -> dict:
    """How many CPU rows, and the smallest bf16 / fp32 ratio of the bare loops."""
    low = float(ceiling["bf16 floor / fp32 floor"].min()) if len(ceiling) else NAN
    return {"perf_ceiling_rows": len(ceiling), "perf_cpu_ceiling_min": low}
