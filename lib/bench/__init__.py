"""Speed benchmarks (a package: ``settings``, ``measure``, ``sections``; targets,
running and reporting here): ``make bench`` (``python -m lib.bench``).

PGD-k costs k forward + input-gradient passes per image; PGD-k adversarial
training about k + 1 training steps. That is the floor. This module measures
how close :func:`lib.attacks.pgd` and :func:`lib.train.train` come to it, and
how they compare with torchattacks at identical settings, in one process:

- **attack**: throughput (images x steps per second) of ours on the fast path
  (``precision="auto"``: bf16 autocast + channels_last where the hardware has
  bf16), ours in fp32, torchattacks' ``PGD`` / ``PGDL2`` (fp32, the model as
  people run it), and bare loops: the floor in fp32 with the default layout,
  and the floor at our layout and precision (what our bookkeeping costs);
- **train**: one PGD-k adversarial epoch against (k + 1) standard epochs (overhead);
  **train_throughput**: adversarial images / s, ours vs a torchattacks loop, cpu recipes too;
- **equal**: robust accuracy of a trained model, fast path vs fp32 (and compiled), both norms;
- peak memory: CPU RSS of the process, GPU max allocated per variant.

Timing: warm-up first, then rounds that interleave the variants (so drift
of a noisy machine hits all of them alike), median over rounds. Only ratios
measured in one run are reported as results. Inputs are random: speed does
not depend on the pixel values.
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from lib import data as data_lib
from lib import runtime
from lib.bench.measure import (
    floor_pgd,
    interleaved,
    peak_rss_mb,
    provenance,
    timed,
    torchattacks_pgd,
)
from lib.bench.sections import attack_ratios, bench_attack, bench_equal, bench_train, gpu_checks
from lib.bench.settings import (
    MODELS,
    RESULTS,
    SECTIONS,
    SIZES,
    TINY_KWARGS,
    BenchSettings,
    build_model,
    settings_for,
)
from lib.bench.throughput import bench_train_throughput, torchattacks_train_epoch
from lib.experiments import store_format

__all__ = [
    "MODELS",
    "RESULTS",
    "SECTIONS",
    "SIZES",
    "TARGETS",
    "TINY_KWARGS",
    "BenchResult",
    "BenchSettings",
    "Target",
    "attack_ratios",
    "bench_attack",
    "bench_equal",
    "bench_train",
    "bench_train_throughput",
    "build_model",
    "check_sections",
    "check_targets",
    "device_slug",
    "floor_pgd",
    "gpu_checks",
    "interleaved",
    "main",
    "peak_rss_mb",
    "run",
    "save",
    "settings_for",
    "table",
    "timed",
    "torchattacks_pgd",
    "torchattacks_train_epoch",
]


# --------------------------------------------------------------------------
# Targets (the issue's, measured in one run)


@dataclass(frozen=True)
class Target:
    name: str
    key: str  # a ratio key, "overhead", or "equal"
    bound: float
    at_least: bool = True  # value >= bound, else value <= bound
    device: str = "any"  # "cpu", "cuda" or "any"
    section: str = "attack"


TARGETS = (
    Target("fast path vs torchattacks", "ours/torchattacks", 2.5, device="cpu"),
    Target(
        "plain-model pgd (README call) vs torchattacks",
        "ours_plain/torchattacks",
        2.5,
        device="cpu",
    ),
    Target("fast path vs the fp32 floor", "ours/floor_fp32", 2.5, device="cpu"),
    Target("fp32 path vs the fp32 floor", "ours_fp32/floor_fp32", 0.97, device="cpu"),
    Target("fp32 path vs torchattacks", "ours_fp32/torchattacks", 1.0, device="cpu"),
    Target("fast path vs torchattacks (fp32)", "ours/torchattacks", 2.0, device="cuda"),
    Target("CUDA-graph path vs torchattacks (fp32)", "ours_graph/torchattacks", 2.0, device="cuda"),
    Target("adversarial epoch / (k+1) standard", "overhead", 1.10, False, "cpu", "train"),
    Target("adversarial epoch / (k+1) standard", "overhead", 1.05, False, "cuda", "train"),
    Target(
        "PGD-k training vs the torchattacks loop",
        "ours/torchattacks",
        2.5,
        device="cpu",
        section="train_throughput",
    ),
    Target("|fast - fp32| robust accuracy (points)", "equal", 0.5, False, "any", "equal"),
)


_TRAIN_VARIANTS = ("ours", "ours_fp32", "torchattacks")  # the training-throughput columns


def check_targets(result: dict) -> list[dict]:
    """Every measured value against its target: met or missed, and by how much."""
    kind = result["device_type"]
    rows = []
    for t in TARGETS:
        if t.device not in ("any", kind):
            continue
        for r in result.get(t.section, []):
            if t.section == "attack":
                value = r["ratios"].get(t.key)
                where = f"{r['model']} batch {r['batch']} l{r['norm']}"
            elif t.section == "train":
                value = r["overhead"]
                where = f"{r['model']} {r['path']}"
            elif t.section == "train_throughput":
                value = r["ratios"].get(t.key)
                where = f"{r['model']} PGD-{r['k']} batch {r['batch']}"
                if r.get("setup") == "cpu recipe":
                    where += " (cpu recipe)"
            else:
                value = abs(r["fast_minus_fp32_points"])
                where = f"{r['arch']} {r['dataset']} l{r['norm']} eps {r['eps']:.3g}"
            if value is None:
                continue
            met = value >= t.bound if t.at_least else value <= t.bound
            rows.append(
                {
                    "target": f"{t.name} {'>=' if t.at_least else '<='} {t.bound:g}",
                    "where": where,
                    "value": value,
                    "met": met,
                    # by how much it is missed, in the target's own units
                    "short_by": 0.0 if met else abs(value - t.bound),
                }
            )
    return rows


# --------------------------------------------------------------------------
# Running and reporting


@dataclass
class BenchResult:
    settings: dict
    provenance: dict
    device_type: str
    attack: list[dict] = field(default_factory=list)
    train: list[dict] = field(default_factory=list)
    train_throughput: list[dict] = field(default_factory=list)
    equal: list[dict] = field(default_factory=list)
    skipped: dict = field(default_factory=dict)
    gpu_checks: dict = field(default_factory=dict)


def check_sections(sections: tuple[str, ...]) -> tuple[str, ...]:
    for section in sections:
        if section not in SECTIONS:
            raise ValueError(f"unknown section {section!r}; allowed: {', '.join(SECTIONS)}")
    return sections


def device_slug(device: torch.device) -> str:
    """A file name for the device: ``cpu-2c-bf16``, ``nvidia-h200`` ..."""
    device = torch.device(device)
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device).lower()
        return "-".join("".join(c if c.isalnum() else " " for c in name).split())
    return f"cpu-{os.cpu_count()}c{'-bf16' if runtime.cpu_has_bf16() else ''}"


def run(
    settings: BenchSettings,
    device: torch.device | str | None = None,
    sections: tuple[str, ...] = SECTIONS,
    equal_dataset: str = "mnist",
    progress: bool = True,
    path: Path | None = None,
    strict: bool = False,
) -> dict:
    """Run the benchmark's sections; return the result as a JSON-ready dict.

    With ``path`` the result is written there after every section. A section
    that fails is recorded under ``skipped`` (``strict=True`` raises instead).
    """
    device = torch.device(device) if device is not None else runtime.default_device()
    check_sections(sections)
    start = time.perf_counter()
    result = BenchResult(asdict(settings), provenance(device), device.type)

    def snapshot() -> dict:
        out = asdict(result)
        out["targets"] = check_targets(out)
        out["provenance"]["seconds"] = time.perf_counter() - start
        out["provenance"]["cpu_peak_rss_mib"] = peak_rss_mb()
        if path is not None:
            save(out, path)  # after every section: a killed run keeps what it measured
        return out

    if "attack" in sections:
        result.gpu_checks = gpu_checks(device, settings.tiny)
    for section in SECTIONS:
        if section not in sections:
            continue
        try:
            if section == "attack":
                bench_attack(settings, device, progress, rows=result.attack, on_row=snapshot)
            elif section == "train":
                result.train = bench_train(settings, device, progress)
            elif section == "train_throughput":
                result.train_throughput = bench_train_throughput(settings, device, progress)
            else:
                result.equal = bench_equal(settings, device, equal_dataset, progress)
        except data_lib.DataNotFoundError as e:
            result.skipped[section] = str(e).splitlines()[0]
        except Exception as e:  # noqa: BLE001 (a broken section is reported, the others kept)
            if strict:
                raise
            result.skipped[section] = f"failed: {type(e).__name__}: {str(e).splitlines()[0]}"
        snapshot()
    return snapshot()


def save(result: dict, path: Path) -> Path:
    """Write the result atomically (temporary file, then rename)."""
    store_format.atomic_write_json(Path(path), result)
    return Path(path)


def _f(v, fmt=".2f") -> str:
    return "-" if v is None else format(v, fmt)


def table(result: dict) -> str:
    """The result as plain-text tables (what ``make bench`` prints)."""
    lines = [f"device: {result['provenance']['device']}, torch {result['provenance']['torch']}"]
    if result["attack"]:
        lines.append(
            "\nattack throughput (images x steps / s) and ratios"
            " (ours = fast path, precision " + result["attack"][0]["fast_precision"] + ")"
        )
        head = (
            f"{'model':<13}{'batch':>6}{'norm':>5}{'ours':>9}{'fp32':>9}{'t.attk':>9}"
            f"{'floor32':>9}{'o/ta':>7}{'o/fl32':>7}{'o/flo':>7}{'32/ta':>7}{'32/fl32':>8}{'32/fl':>7}"
        )
        lines.append(head)
        for r in result["attack"]:
            v, q = r["variants"], r["ratios"]

            def tp(name, v=v):
                return _f(v[name].get("throughput"), ".0f")

            lines.append(
                f"{r['model']:<13}{r['batch']:>6}{str(r['norm']):>5}{tp('ours'):>9}"
                f"{tp('ours_fp32'):>9}{tp('torchattacks'):>9}{tp('floor_fp32'):>9}"
                f"{_f(q['ours/torchattacks']):>7}{_f(q['ours/floor_fp32']):>7}"
                f"{_f(q['ours/floor_ours']):>7}{_f(q['ours_fp32/torchattacks']):>7}"
                f"{_f(q['ours_fp32/floor_fp32']):>8}{_f(q['ours_fp32/floor_ours_fp32']):>7}"
            )
            if "ours_graph" in v:
                lines.append(
                    f"{'':<24}CUDA graph: {v['ours_graph'].get('error') or tp('ours_graph')}"
                    f" img*step/s, {_f(q.get('ours_graph/torchattacks'))}x torchattacks"
                )
            if "ours_compiled" in v:
                c = v["ours_compiled"]
                lines.append(
                    f"{'':<24}compiled: {c.get('error') or tp('ours_compiled') + ' img*step/s'}"
                )
    if result["train"]:
        lines.append("\ntraining: one PGD-k epoch vs (k+1) standard epochs")
        lines.append(
            f"{'model':<13}{'path':>11}{'k':>3}{'std s':>9}{'adv s':>9}"
            f"{'overhead':>9}{'std img/s':>11}"
        )
        for r in result["train"]:
            lines.append(
                f"{r['model']:<13}{r['path']:>11}{r['k']:>3}{r['standard_epoch_s']:>9.2f}"
                f"{r['adversarial_epoch_s']:>9.2f}{r['overhead']:>9.3f}"
                f"{r['standard_images_per_s']:>11.0f}"
            )
    if result.get("train_throughput"):
        lines.append("\ntraining throughput: adversarial images / s, ours vs the torchattacks loop")
        lines.append(
            f"{'model':<13}{'k':>3}{'batch':>6}{'ours':>9}{'fp32':>9}{'t.attk':>9}{'o/ta':>7}"
        )
        for r in result["train_throughput"]:
            ips = [_f(r["variants"][k].get("images_per_s"), ".0f") for k in _TRAIN_VARIANTS]
            m = r.get("cpu_run", {}).get("minutes", {})
            cost = "  one cpu run, min (ours / fp32 / torchattacks): " if m else ""
            cost += " / ".join(_f(m[k], ".1f") for k in _TRAIN_VARIANTS if k in m)
            lines.append(
                f"{r['model']:<13}{r['k']:>3}{r['batch']:>6}{ips[0]:>9}{ips[1]:>9}{ips[2]:>9}"
                f"{_f(r['ratios']['ours/torchattacks']):>7}{cost}"
            )
    if result["equal"]:
        lines.append("\nequal results: robust accuracy, fast path vs fp32")
        for r in result["equal"]:
            extra = f", compiled {r['compiled']:.4f}" if "compiled" in r else ""
            lines.append(
                f"{r['arch']} {r['dataset']} l{r['norm']} eps {r['eps']:.3g} n {r['n']}: "
                f"clean {r['clean']:.4f}, fp32 {r['fp32']:.4f}, fast {r['fast']:.4f}"
                f" ({r['fast_minus_fp32_points']:+.2f} points){extra}"
            )
    for k, why in result.get("skipped", {}).items():
        lines.append(f"\n{k}: skipped ({why})")
    if result["targets"]:
        missed = [t for t in result["targets"] if not t["met"]]
        lines.append(
            f"\ntargets: {len(result['targets']) - len(missed)}/{len(result['targets'])} met"
        )
        for t in missed:
            lines.append(
                f"  MISSED {t['target']} at {t['where']}: {t['value']:.3f}"
                f" (short by {t['short_by']:.3f})"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lib.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--size", default="full", help=f"one of {', '.join(SIZES)}")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda if visible)")
    parser.add_argument("--sections", default=",".join(SECTIONS), help="comma-separated")
    parser.add_argument("--models", default=None, help=f"comma-separated, of {', '.join(MODELS)}")
    parser.add_argument("--batches", default=None, help="comma-separated batch sizes")
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument(
        "--compile", default=None, help=f"also time torch.compile: {runtime.COMPILE_MODES}"
    )
    parser.add_argument("--equal-dataset", default="mnist", choices=("mnist", "cifar10"))
    parser.add_argument(
        "--allocator",
        default="keep",
        choices=("keep", "default"),
        help="keep (the default, as the book's chapters and workers): freed memory kept "
        "for reuse (lib.runtime.keep_freed_memory), for every side of every comparison; "
        "default: the C library's, whose thresholds rise as a process frees large "
        "buffers, so a section's speed depends on the sections before it",
    )
    parser.add_argument(
        "--out", default=None, help="JSON path (default results/bench/<device>.json)"
    )
    args = parser.parse_args(argv)
    if args.allocator == "keep":
        runtime.keep_freed_memory()
    device = torch.device(args.device) if args.device else runtime.default_device()
    overrides = {
        "models": tuple(args.models.split(",")) if args.models else None,
        "batches": tuple(int(b) for b in args.batches.split(",")) if args.batches else None,
        "steps": args.steps,
        "rounds": args.rounds,
        "compile": args.compile,
    }
    try:
        settings = settings_for(args.size, device, **overrides)
        sections = check_sections(tuple(x for x in args.sections.split(",") if x))
    except ValueError as e:
        parser.error(str(e))
    path = Path(args.out) if args.out else RESULTS / f"{device_slug(device)}.json"
    result = run(settings, device, sections, args.equal_dataset, path=path)
    print(table(result))
    print(f"\nwritten: {path}")
    return 0
