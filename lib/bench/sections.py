"""The sections of a benchmark: attack throughput, training overhead, equal results."""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from dataclasses import replace

import torch

from lib import attacks, models, runtime
from lib import data as data_lib
from lib import train as train_lib
from lib.bench.measure import floor_pgd, interleaved, peak_rss_mb, torchattacks_pgd
from lib.bench.settings import BENCH_MODEL, MODELS, TINY_KWARGS, BenchSettings, build_model
from lib.experiments import profiles

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
                        "cpu_peak_rss_mib": peak_rss_mb(),
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
        # the README's call: a plain model (default layout), no preparation
        "ours_plain": lambda: attacks.pgd(reference, x, y, **kw),
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
    try:  # the input range check is the one sync per call, outside the step loop
        attacks.pgd(model, x, y, **kw, check_range=False)
        out = {"checked": True, "syncs": False}
    except RuntimeError as e:
        out = {"checked": True, "syncs": True, "error": str(e).splitlines()[0][:300]}
    finally:
        torch.cuda.set_sync_debug_mode("default")
    # The CUDA-graph path against the eager loop from the same random start.
    try:
        for precision in ("fp32", "auto"):
            torch.manual_seed(1)
            # cuda_graph=False: the default ("auto") replays the graph on CUDA, and
            # the graph must be compared with the eager loop, not with itself
            eager = attacks.pgd(model, x, y, **kw, precision=precision, cuda_graph=False)
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
        "ours_plain/torchattacks": _ratio(timing, "ours_plain", "torchattacks"),
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


def _train_epoch(initial, data, batch_size, attack, mix: str, precision: str, **options) -> float:
    """Seconds of one training epoch of a fresh copy of ``initial`` (setup excluded).

    ``options`` go to :func:`lib.train.train` (the bench's SGD at 0.01 unless
    given: a recipe's optimizer, ``max_steps`` ...).
    """
    history = train_lib.train(
        copy.deepcopy(initial),
        data,
        epochs=1,
        batch_size=batch_size,
        mix=mix,
        attack=attack,
        precision=precision,
        progress=False,
        **{"lr": 0.01, **options},
    )
    return history[0]["seconds"]


def training_setups(s: BenchSettings, device: torch.device):
    """Per model of ``s``: (name, random training data, initial model, its PGD-k l_inf
    attack at the model's eps), the same for every training section."""
    for name in s.models:
        _, shape, classes, eps_of = MODELS[name]
        # ResNet-50 at 224 px costs ~100x a small model per image: cap its epoch.
        images = s.train_images if name != "resnet50" else min(s.train_images, 1024)
        data = _random_data(images, shape, classes, device)
        torch.manual_seed(0)
        initial = build_model(name, s.tiny).to(device)
        yield name, data, initial, attacks.PGD.madry(eps_of["inf"], "inf", s.train_steps)


def bench_train(s: BenchSettings, device: torch.device, progress: bool = True) -> list[dict]:
    """One PGD-k adversarial epoch vs (k + 1) standard epochs, per model and precision."""
    rows = []
    k = s.train_steps
    for name, data, initial, attack in training_setups(s, device):
        images = len(data)

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
                    "cpu_peak_rss_mib": peak_rss_mb(),
                }
            )
    return rows


def bench_equal(
    s: BenchSettings, device: torch.device, dataset: str = "mnist", progress: bool = True
) -> list[dict]:
    """Robust accuracy of one adversarially trained model: fast path vs fp32.

    Trains the `cpu` profile's model of the data set (l_inf PGD, fast path) on the real
    data set, then attacks the same test images with each precision and
    norm. Needs the data under ``ODDS_DATA``.
    """
    train_set = data_lib.load(dataset, "train", device=device)
    test_set = data_lib.load(dataset, "test", device=device).subset(s.equal_images, seed=0)
    torch.manual_seed(0)
    arch = BENCH_MODEL[dataset]
    # the cpu profile's model of the data set (its own kwargs, not a copy of them)
    kwargs = TINY_KWARGS[arch] if s.tiny else profiles.settings(dataset, "cpu").model_kwargs
    model = models.build(arch, **kwargs).to(device)
    eps_inf = MODELS[arch][3]["inf"]
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
