"""Speed benchmarks: ``make bench`` (``python -m lib.bench``).

PGD-k costs k forward + input-gradient passes per image; PGD-k adversarial
training about k + 1 training steps. That is the floor. This module measures
how close :func:`lib.attacks.pgd` and :func:`lib.train.train` come to it, and
how they compare with torchattacks at identical settings, in one process:

- **attack**: throughput (images x steps per second) of ours on the fast path
  (``precision="auto"``: bf16 autocast + channels_last where the hardware has
  bf16), ours in fp32, torchattacks' ``PGD`` / ``PGDL2`` (fp32, the model as
  people run it), and bare loops: the floor in fp32 with the default layout,
  and the floor at our layout and precision (what our bookkeeping costs);
- **train**: one PGD-k adversarial epoch against (k + 1) standard epochs at
  the same precision (the overhead ratio), and standard images per second;
- **equal**: robust accuracy of a trained model with the fast path and in
  fp32 (and compiled, when asked), for both norms;
- peak memory: CPU RSS of the process, GPU max allocated per variant.

Timing: warm-up first, then rounds that interleave the variants (so drift
of a noisy machine hits all of them alike), median over rounds. Only ratios
measured in one run are reported as results. Inputs are random: speed does
not depend on the pixel values.
"""

from __future__ import annotations

import argparse
import copy
import functools
import os
import platform
import resource
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

import torch
import torch.nn.functional as F

from lib import attacks, models, runtime, store
from lib import data as data_lib
from lib import train as train_lib

RESULTS = runtime.PROJECT_ROOT / "results" / "bench"

#: Per model: constructor, input shape, classes, (eps, step size) per norm.
#: eps are the paper's (Table 2/3) in [0, 1] pixel space; step 2.5 eps / k
#: as in Madry et al.
MODELS = {
    "mnist_cnn": (models.MnistCNN, (1, 28, 28), 10, {"inf": 0.3, 2: 2.5}),
    "cifar_resnet": (models.CifarResNet, (3, 32, 32), 10, {"inf": 8 / 255, 2: 0.5}),
    "resnet50": (models.resnet50, (3, 224, 224), 9, {"inf": 0.005, 2: 1.0}),
}
#: Narrow versions for the tiny size (the test suite).
TINY_KWARGS = {
    "mnist_cnn": {"channels": (4, 8), "hidden": 32},
    "cifar_resnet": {"widths": (4, 4, 8, 8), "units": 1},
    "resnet50": {},
}

SECTIONS = ("attack", "train", "equal")


@dataclass(frozen=True)
class BenchSettings:
    """What one benchmark run measures; see :data:`SIZES`."""

    models: tuple[str, ...] = ("mnist_cnn", "cifar_resnet")
    batches: tuple[int, ...] = (128, 512)
    norms: tuple[str | int, ...] = ("inf", 2)
    steps: int = 10  # PGD steps per attack
    rounds: int = 3  # timed rounds (median); one warm-up before
    train_steps: int = 7  # k of the PGD-k adversarial epoch
    train_images: int = 1024  # images per benchmark epoch
    train_batch: int = 128
    equal_images: int = 1000  # test images of the equal-results check
    equal_train_steps: int = 400
    compile: str | None = None  # also time ours with torch.compile(mode=compile)
    # Compiling pays off where kernel launches dominate (small models); a
    # ResNet-50 step is compute-bound and takes minutes to compile.
    compile_models: tuple[str, ...] = ("mnist_cnn", "cifar_resnet")
    tiny: bool = False  # narrow models (tests)

    def __post_init__(self):
        for m in self.models:
            if m not in MODELS:
                raise ValueError(f"unknown model {m!r}; allowed: {', '.join(MODELS)}")
        object.__setattr__(self, "norms", tuple(attacks.check_norm(n) for n in self.norms))
        for name in ("steps", "rounds", "train_steps", "train_images", "train_batch"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if not self.batches or any(not isinstance(b, int) or b < 1 for b in self.batches):
            raise ValueError(f"batches must be positive ints, got {self.batches!r}")
        if self.compile is not None and self.compile not in runtime.COMPILE_MODES:
            raise ValueError(
                f"compile must be None or one of {runtime.COMPILE_MODES}, got {self.compile!r}"
            )


SIZES = {
    "full": BenchSettings(),
    "quick": BenchSettings(batches=(128,), rounds=2, train_images=512, equal_train_steps=200),
    "tiny": BenchSettings(
        batches=(8,),
        steps=2,
        rounds=1,
        train_steps=2,
        train_images=32,
        train_batch=16,
        equal_images=64,
        equal_train_steps=20,
        tiny=True,
    ),
}


def settings_for(size: str, device: torch.device, **overrides) -> BenchSettings:
    """The named size's settings, with ResNet-50 added on a GPU (too slow on a CPU)."""
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}; allowed: {', '.join(SIZES)}")
    s = SIZES[size]
    if device.type == "cuda" and not s.tiny:
        # A GPU runs a 1,024-image epoch of a small model in milliseconds.
        s = replace(s, models=(*s.models, "resnet50"), train_images=8192)
    return replace(s, **{k: v for k, v in overrides.items() if v is not None})


def build_model(name: str, tiny: bool) -> torch.nn.Module:
    ctor, _, classes, _ = MODELS[name]
    kwargs = TINY_KWARGS[name] if tiny else {}
    if name == "resnet50":
        return ctor(classes=classes)
    return ctor(classes=classes, **kwargs)


# --------------------------------------------------------------------------
# The floor and the peer


def floor_pgd(model, x, y, *, eps, norm, steps, step_size, precision="fp32"):
    """PGD-k at its bare cost: k x (forward, input gradient, step, projection).

    No bookkeeping, no checks, last iterate returned: the loop every PGD
    implementation contains. ``precision`` is a resolved one.
    """
    delta = attacks.random_perturb(x, eps=eps, norm=norm)
    for _ in range(steps):
        delta.requires_grad_(True)
        with runtime.autocast(x.device, precision):
            logits = model(x + delta)
        loss = F.cross_entropy(logits.float(), y)
        (grad,) = torch.autograd.grad(loss, [delta])
        delta = attacks.project(
            x,
            attacks.step(delta.detach(), grad, norm=norm, step_size=step_size),
            eps=eps,
            norm=norm,
        )
    return (x + delta).detach()


def torchattacks_pgd(model, *, eps, norm, steps, step_size):
    """torchattacks' PGD (l_inf) or PGDL2 at our settings (random start on)."""
    import torchattacks

    if norm == "inf":
        return torchattacks.PGD(model, eps=eps, alpha=step_size, steps=steps, random_start=True)
    return torchattacks.PGDL2(model, eps=eps, alpha=step_size, steps=steps, random_start=True)


# --------------------------------------------------------------------------
# Timing


def _peak_rss_mb() -> float:
    # ru_maxrss is in KiB on Linux: the process's peak so far.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(fn: Callable[[], object], device: torch.device) -> tuple[float, float | None]:
    """Seconds of one call of ``fn`` and, on CUDA, its peak allocated MiB."""
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    runtime.synchronize(device)
    start = time.perf_counter()
    fn()
    runtime.synchronize(device)
    seconds = time.perf_counter() - start
    peak = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None
    return seconds, peak


def interleaved(
    variants: dict[str, Callable[[], object]], device, rounds: int, warmup: bool = True
) -> dict[str, dict]:
    """Median seconds of each variant over ``rounds`` interleaved rounds.

    A variant that raises is recorded with its error and dropped from the
    later rounds, so one broken path (say, a compile mode) does not stop
    the benchmark.
    """
    times: dict[str, list[float]] = {k: [] for k in variants}
    peaks: dict[str, float | None] = dict.fromkeys(variants)
    errors: dict[str, str] = {}
    for r in range(rounds + int(warmup)):
        for name, fn in variants.items():
            if name in errors:
                continue
            try:
                seconds, peak = timed(fn, device)
            except Exception as e:  # noqa: BLE001 (recorded, not hidden)
                errors[name] = f"{type(e).__name__}: {str(e).splitlines()[0][:300]}"
                continue
            if warmup and r == 0:
                continue
            times[name].append(seconds)
            if peak is not None:
                peaks[name] = max(peaks[name] or 0.0, peak)
    out = {}
    for name in variants:
        if name in errors:
            out[name] = {"error": errors[name]}
            continue
        ts = times[name]
        out[name] = {
            "seconds": statistics.median(ts),
            "min": min(ts),
            "max": max(ts),
            "rounds": len(ts),
            "gpu_peak_mib": peaks[name],
        }
    return out


# --------------------------------------------------------------------------
# Sections


def bench_attack(
    s: BenchSettings,
    device: torch.device,
    progress: bool = True,
    rows: list | None = None,
    on_row: Callable[[], object] | None = None,
) -> list[dict]:
    """Attack throughput of every variant, per model, batch size and norm.

    Rows are appended to ``rows`` as they are measured (a list the caller
    can save while the benchmark runs).
    """
    rows = [] if rows is None else rows
    fast_precision = runtime.resolve_precision("auto", device)
    for name in s.models:
        _, shape, classes, eps_of = MODELS[name]
        torch.manual_seed(0)
        reference = build_model(name, s.tiny).to(device).eval()  # default layout, fp32
        fast = runtime.fast_model(copy.deepcopy(reference), device, "auto")
        plain = runtime.fast_model(copy.deepcopy(reference), device, "fp32")
        compiled = (
            runtime.fast_model(copy.deepcopy(reference), device, "auto", compile=s.compile)
            if s.compile and name in s.compile_models
            else None
        )
        for batch in s.batches:
            x = torch.rand(batch, *shape, device=device)
            y = torch.randint(0, classes, (batch,), device=device)
            for norm in s.norms:
                eps = eps_of[norm]
                kw = dict(
                    eps=eps, norm=norm, steps=s.steps, step_size=attacks.step_size(eps, s.steps)
                )
                variants = _attack_variants(
                    reference, fast, plain, compiled, x, y, kw, fast_precision
                )
                if progress:
                    print(f"  attack {name} batch {batch} norm {norm} ...", flush=True)
                timing = interleaved(variants, device, s.rounds)
                for variant in timing.values():
                    if "seconds" in variant:
                        variant["throughput"] = batch * s.steps / variant["seconds"]
                rows.append(
                    {
                        "model": name,
                        "batch": batch,
                        "norm": norm,
                        "eps": eps,
                        "steps": s.steps,
                        "fast_precision": fast_precision,
                        "variants": timing,
                        "ratios": attack_ratios(timing),
                        "cpu_peak_rss_mib": _peak_rss_mb(),
                    }
                )
                if on_row is not None:
                    on_row()
    return rows


def _attack_variants(reference, fast, plain, compiled, x, y, kw, fast_precision) -> dict:
    """The timed attack calls, on the same inputs and settings."""
    peer = torchattacks_pgd(reference, **kw)
    variants = {
        "ours": lambda: attacks.pgd(fast, x, y, **kw, precision="auto"),
        "ours_fp32": lambda: attacks.pgd(plain, x, y, **kw, precision="fp32"),
        "torchattacks": lambda: peer(x, y),
        "floor_fp32": lambda: floor_pgd(reference, x, y, **kw),
        "floor_ours": lambda: floor_pgd(fast, x, y, **kw, precision=fast_precision),
        "floor_ours_fp32": lambda: floor_pgd(plain, x, y, **kw),
    }
    if x.device.type == "cuda":
        variants["ours_graph"] = lambda: attacks.pgd(
            fast, x, y, **kw, precision="auto", cuda_graph=True
        )
    if compiled is not None:
        variants["ours_compiled"] = lambda: attacks.pgd(compiled, x, y, **kw, precision="auto")
    return variants


def gpu_checks(device: torch.device, tiny: bool = False) -> dict:
    """Run :func:`lib.attacks.pgd` with CUDA's sync debug mode set to "error".

    Any host-device synchronization inside the attack (``.item()``, a
    data-dependent shape, a blocking copy) raises; the result records it.
    """
    if device.type != "cuda":
        return {"checked": False, "why": "not a CUDA device"}
    model = build_model("cifar_resnet", tiny).to(device).eval()
    x = torch.rand(64, 3, 32, 32, device=device)
    y = torch.randint(0, 10, (64,), device=device)
    kw = dict(eps=8 / 255, norm="inf", steps=5, step_size=2 / 255)
    attacks.pgd(model, x, y, **kw)  # warm-up outside the check
    torch.cuda.synchronize(device)
    torch.cuda.set_sync_debug_mode("error")
    try:
        attacks.pgd(model, x, y, **kw)
        out = {"checked": True, "syncs": False}
    except RuntimeError as e:
        out = {"checked": True, "syncs": True, "error": str(e).splitlines()[0][:300]}
    finally:
        torch.cuda.set_sync_debug_mode("default")
    # The CUDA-graph path against the eager loop from the same random start.
    try:
        for precision in ("fp32", "auto"):
            torch.manual_seed(1)
            eager = attacks.pgd(model, x, y, **kw, precision=precision)
            torch.manual_seed(1)
            graphed = attacks.pgd(model, x, y, **kw, precision=precision, cuda_graph=True)
            torch.manual_seed(1)
            again = attacks.pgd(model, x, y, **kw, precision=precision, cuda_graph=True)
            with torch.no_grad():
                wrong = [(model(a).argmax(1) != y).float().mean().item() for a in (eager, graphed)]
            out[f"graph_{precision}"] = {
                "max_abs_diff_vs_eager": (graphed - eager).abs().max().item(),
                "max_abs_diff_replay": (again - graphed).abs().max().item(),
                "success_eager": wrong[0],
                "success_graph": wrong[1],
            }
    except Exception as e:  # noqa: BLE001 (recorded)
        out["graph_error"] = f"{type(e).__name__}: {str(e).splitlines()[0][:300]}"
    return out


def _ratio(timing: dict, a: str, b: str) -> float | None:
    """Throughput of ``a`` over that of ``b`` (time of b / time of a)."""
    if "seconds" not in timing.get(a, {}) or "seconds" not in timing.get(b, {}):
        return None
    return timing[b]["seconds"] / timing[a]["seconds"]


def attack_ratios(timing: dict) -> dict[str, float | None]:
    out = {
        "ours/torchattacks": _ratio(timing, "ours", "torchattacks"),
        "ours/floor_fp32": _ratio(timing, "ours", "floor_fp32"),
        "ours/floor_ours": _ratio(timing, "ours", "floor_ours"),
        "ours_fp32/torchattacks": _ratio(timing, "ours_fp32", "torchattacks"),
        "ours_fp32/floor_fp32": _ratio(timing, "ours_fp32", "floor_fp32"),
        "ours_fp32/floor_ours_fp32": _ratio(timing, "ours_fp32", "floor_ours_fp32"),
    }
    if "ours_graph" in timing:
        out["ours_graph/torchattacks"] = _ratio(timing, "ours_graph", "torchattacks")
        out["ours_graph/ours"] = _ratio(timing, "ours_graph", "ours")
    if "ours_compiled" in timing:
        out["ours_compiled/torchattacks"] = _ratio(timing, "ours_compiled", "torchattacks")
        out["ours_compiled/ours"] = _ratio(timing, "ours_compiled", "ours")
    return out


def _random_data(n: int, shape, classes: int, device) -> data_lib.TensorData:
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (n, *shape), generator=g, dtype=torch.uint8)
    y = torch.randint(0, classes, (n,), generator=g)
    return data_lib.TensorData(
        "random", "train", x.to(device), y.to(device), tuple(map(str, range(classes)))
    )


def _train_epoch(initial, data, batch_size, attack, mix: str, precision: str) -> float:
    """Seconds of one training epoch of a fresh copy of ``initial`` (setup excluded)."""
    history = train_lib.train(
        copy.deepcopy(initial),
        data,
        epochs=1,
        batch_size=batch_size,
        lr=0.01,
        mix=mix,
        attack=attack,
        precision=precision,
        progress=False,
    )
    return history[0]["seconds"]


def bench_train(s: BenchSettings, device: torch.device, progress: bool = True) -> list[dict]:
    """One PGD-k adversarial epoch vs (k + 1) standard epochs, per model and precision."""
    rows = []
    k = s.train_steps
    for name in s.models:
        _, shape, classes, eps_of = MODELS[name]
        # ResNet-50 at 224 px costs ~100x a small model per image: cap its epoch.
        images = s.train_images if name != "resnet50" else min(s.train_images, 1024)
        data = _random_data(images, shape, classes, device)
        torch.manual_seed(0)
        initial = build_model(name, s.tiny).to(device)
        eps = eps_of["inf"]
        attack = attacks.PGD.madry(eps, "inf", k)

        # (path, precision, attack): auto first, the default a user gets.
        paths = [("auto", "auto", attack), ("fp32", "fp32", attack)]
        if device.type == "cuda":
            paths.append(("auto+graph", "auto", replace(attack, cuda_graph=True)))
        variants = {}
        for path, precision, adversary in paths:
            if path in ("auto", "fp32"):
                variants[f"standard_{path}"] = functools.partial(
                    _train_epoch, initial, data, s.train_batch, None, "clean", precision
                )
            variants[f"adversarial_{path}"] = functools.partial(
                _train_epoch, initial, data, s.train_batch, adversary, "adversarial", precision
            )
        if progress:
            print(f"  train {name} ...", flush=True)
        timing = interleaved(variants, device, s.rounds)
        for path, precision, _ in paths:
            std = timing[f"standard_{path.split('+')[0]}"]
            adv = timing[f"adversarial_{path}"]
            if "seconds" not in std or "seconds" not in adv:
                continue
            rows.append(
                {
                    "model": name,
                    "path": path,
                    "precision": runtime.resolve_precision(precision, device),
                    "k": k,
                    "images": images,
                    "batch": s.train_batch,
                    "standard_epoch_s": std["seconds"],
                    "adversarial_epoch_s": adv["seconds"],
                    "overhead": adv["seconds"] / ((k + 1) * std["seconds"]),
                    "standard_images_per_s": images / std["seconds"],
                    "adversarial_images_per_s": images / adv["seconds"],
                    "gpu_peak_mib": adv.get("gpu_peak_mib"),
                    "cpu_peak_rss_mib": _peak_rss_mb(),
                }
            )
    return rows


def bench_equal(
    s: BenchSettings, device: torch.device, dataset: str = "mnist", progress: bool = True
) -> list[dict]:
    """Robust accuracy of one adversarially trained model: fast path vs fp32.

    Trains a narrow mnist_challenge CNN (l_inf PGD, fast path) on the real
    data set, then attacks the same test images with each precision and
    norm. Needs the data under ``ODDS_DATA``.
    """
    train_set = data_lib.load(dataset, "train", device=device)
    test_set = data_lib.load(dataset, "test", device=device).subset(s.equal_images, seed=0)
    torch.manual_seed(0)
    arch = "mnist_cnn" if dataset == "mnist" else "cifar_resnet"
    if s.tiny:
        kwargs = TINY_KWARGS[arch]
    elif arch == "mnist_cnn":
        kwargs = {"channels": (16, 32), "hidden": 256}  # the cpu profile's MNIST CNN
    else:
        kwargs = {"units": 1}
    model = models.build(arch, **kwargs).to(device)
    eps_inf = 0.3 if dataset == "mnist" else 8 / 255
    if progress:
        print(f"  equal: training a {arch} on {dataset} ...", flush=True)
    train_lib.train(
        model,
        train_set,
        epochs=1000,
        max_steps=s.equal_train_steps,
        batch_size=128,
        lr=1e-3,
        optimizer="adam",
        mix="adversarial",
        attack=attacks.PGD.relative(eps_inf, "inf", 4, 0.5),
        progress=False,
    )
    model.eval()
    paths = {"fp32": ("fp32", None), "fast": ("auto", None)}
    if s.compile:
        paths["compiled"] = ("auto", s.compile)
    rows = []
    for norm, eps in (("inf", eps_inf), (2, 2.0 if dataset == "mnist" else 0.5)):
        attack = attacks.PGD.relative(eps, norm, 20, attacks.step_factor(20))
        row = {"dataset": dataset, "arch": arch, "norm": norm, "eps": eps, "n": len(test_set)}
        for label, (precision, mode) in paths.items():
            net = runtime.fast_model(copy.deepcopy(model), device, precision, compile=mode)
            g = torch.Generator().manual_seed(0)
            row[label] = train_lib.evaluate(net, test_set, attack, precision=precision, generator=g)
        row["clean"] = train_lib.evaluate(model, test_set, precision="fp32")
        row["fast_minus_fp32_points"] = 100 * (row["fast"] - row["fp32"])
        if "compiled" in row:
            row["compiled_minus_fp32_points"] = 100 * (row["compiled"] - row["fp32"])
        rows.append(row)
    return rows


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
    Target("fast path vs the fp32 floor", "ours/floor_fp32", 2.5, device="cpu"),
    Target("fp32 path vs the fp32 floor", "ours_fp32/floor_fp32", 0.97, device="cpu"),
    Target("fp32 path vs torchattacks", "ours_fp32/torchattacks", 1.0, device="cpu"),
    Target("fast path vs torchattacks (fp32)", "ours/torchattacks", 2.0, device="cuda"),
    Target("CUDA-graph path vs torchattacks (fp32)", "ours_graph/torchattacks", 2.0, device="cuda"),
    Target("adversarial epoch / (k+1) standard", "overhead", 1.10, False, "cpu", "train"),
    Target("adversarial epoch / (k+1) standard", "overhead", 1.05, False, "cuda", "train"),
    Target("|fast - fp32| robust accuracy (points)", "equal", 0.5, False, "any", "equal"),
)


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
    provenance = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "device": runtime.device_name(device),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "commit": runtime.git_commit(),
        "cudnn_allow_tf32": torch.backends.cudnn.allow_tf32,
        "matmul_allow_tf32": torch.backends.cuda.matmul.allow_tf32,
    }
    try:
        import torchattacks

        provenance["torchattacks"] = torchattacks.__version__
    except ImportError:
        provenance["torchattacks"] = None
    result = BenchResult(asdict(settings), provenance, device.type)

    def snapshot() -> dict:
        out = asdict(result)
        out["targets"] = check_targets(out)
        out["provenance"]["seconds"] = time.perf_counter() - start
        out["provenance"]["cpu_peak_rss_mib"] = _peak_rss_mb()
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
    store.atomic_write_json(Path(path), result)
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
        "--out", default=None, help="JSON path (default results/bench/<device>.json)"
    )
    args = parser.parse_args(argv)
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


if __name__ == "__main__":
    sys.exit(main())
