"""The first contact with a GPU: does the paper profile run, and what does it cost?

Each stage runs in its own process and prints one JSON line (``stage``,
``status``: ok / no device / failed / mismatch, ``seconds`` and what it
measured), so one failure cannot hide the rest; the lines are also written
to ``--out``. Nothing is installed: torchattacks may come as a wheel in
``--wheels DIR`` (a pure-Python wheel is a zip, importable from
``sys.path``), MNIST from ``$ODDS_DATA`` (or ``--data``; the ``.gz`` files
are enough, decompressed to a temporary folder). CIFAR-10 and Restricted
ImageNet are not needed: their stages time random images and a generated
JPEG tree, which is all a rate needs.

Stages (CUDA ones report "no device" on a CPU):

- env: versions, the device, torchattacks, MNIST, TF32 under fp32;
- graph_vs_eager (CUDA): the CUDA-graph attack against the eager loop from
  the same starts, fp32 and bf16, and under a caller's ``no_grad``;
- mnist, cifar10: the paper recipe's training step (seconds per step per
  mix), a partial last batch, half-half, BatchNorm in train mode;
- restricted_imagenet: the real loader (workers, pinned memory) on a
  generated tree, PGD training with the CUDA-graph attack (the capture vs
  pin-memory thread race), retried with graphs off if it fails;
- graph_memory (CUDA): reserved memory per captured graph at ResNet-50
  scale, and that a relayout does not keep the stale graphs;
- strong_audit: the strong cascade and the masking audit on the device;
- trades: TRADES training steps;
- estimate: the paper profile's GPU-hours per chapter from the rates
  measured above (:mod:`lib.bench.paper_cost`).

Usage: ``python scripts/gpu_first_contact.py [--quick] [--wheels DIR] [--out FILE]``
On a machine with no registry: first, where pip works, ``--prepare carry``
(``make gpu-first-contact-prepare``) gathers ``carry/wheels`` and
``carry/data/MNIST/raw/*.gz`` (about 11 MiB); carry that folder and run
``python3 scripts/gpu_first_contact.py --wheels carry/wheels --data carry/data``.
(``make gpu-first-contact``). On an H100 about 8-9 minutes in all
(``--budget`` seconds, default 540, bounds it: a stage gets what is left);
``--quick`` sizes every stage for a CPU (CI runs it: tests/test_first_contact.py).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: Stage name -> (its seconds at most on a GPU, whether it needs CUDA).
STAGES = {
    "env": (60, False),
    "graph_vs_eager": (90, True),
    "mnist": (90, False),
    "cifar10": (90, False),
    "restricted_imagenet": (150, False),
    "graph_memory": (120, True),
    "strong_audit": (90, False),
    "trades": (60, False),
    "estimate": (45, False),
}

NO_DEVICE = "no device"


# --------------------------------------------------------------------------
# The orchestrator: stdlib only, one process per stage


def wheel_paths(wheels: str | None) -> list[str]:
    """The ``.whl`` files of ``wheels`` (a folder), to put on ``sys.path``."""
    if not wheels or not Path(wheels).is_dir():
        return []
    return sorted(str(p) for p in Path(wheels).glob("*.whl"))


def run_stages(args) -> list[dict]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT), *wheel_paths(args.wheels), *filter(None, [env.get("PYTHONPATH")])]
    )
    env.setdefault("ODDS_OFFLINE", "1")
    results: list[dict] = []
    deadline = time.monotonic() + args.budget
    out = Path(args.out) if args.out else None
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text("")
    with tempfile.TemporaryDirectory(prefix="first_contact_") as work:
        for name in args.stages or list(STAGES):
            limit = min(STAGES[name][0] * (2 if args.quick else 1), deadline - time.monotonic())
            cmd = [sys.executable, __file__, "--stage", name, "--work", work]
            cmd += ["--quick"] if args.quick else []
            cmd += ["--data", args.data] if args.data else []
            cmd += ["--wheels", args.wheels] if args.wheels else []
            start = time.perf_counter()
            cuda = next((r.get("cuda_available") for r in results if r["stage"] == "env"), None)
            if STAGES[name][1] and cuda is False:  # known from env: no process to start
                result = {"stage": name, "status": NO_DEVICE}
            elif limit < 5:
                result = {"stage": name, "status": "skipped", "why": "out of budget"}
            else:
                try:
                    proc = subprocess.run(
                        cmd, env=env, capture_output=True, text=True, timeout=limit, cwd=ROOT
                    )
                    result = _last_json(proc.stdout) or {
                        "stage": name,
                        "status": "failed",
                        "error": f"exit {proc.returncode}: {proc.stderr[-1500:]}",
                    }
                except subprocess.TimeoutExpired:
                    result = {
                        "stage": name,
                        "status": "failed",
                        "error": f"timed out ({limit:.0f} s)",
                    }
            result.setdefault("seconds", round(time.perf_counter() - start, 1))
            result["wall_seconds"] = round(time.perf_counter() - start, 1)
            results.append(result)
            Path(work, f"{name}.json").write_text(json.dumps(result))
            line = json.dumps(result)
            print(line, flush=True)
            if out:
                with out.open("a") as f:
                    f.write(line + "\n")
    return results


#: What the device machine needs carried besides the repository: MNIST's
#: compressed files (under the data root) and the wheels.
MNIST_GZ = tuple(
    f"MNIST/raw/{n}.gz"
    for n in (
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    )
)
#: Pure-Python packages the stages need beyond torch and torchvision: carried as
#: wheels (lib.train imports tqdm; the strong cascade and the audit torchattacks).
CARRIED_WHEELS = ("torchattacks", "tqdm")
#: The device tool's limit on carried files.
CARRY_LIMIT_MIB = 64


def carried_bytes(args) -> int:
    """Bytes of the files to carry: the wheels and MNIST's ``.gz`` files."""
    data = Path(args.data or os.environ.get("ODDS_DATA") or ROOT / "data")
    files = [Path(w) for w in wheel_paths(getattr(args, "wheels", None))]
    files += [data / n for n in MNIST_GZ if (data / n).is_file()]
    return sum(f.stat().st_size for f in files)


def prepare(folder: str, data: str | None) -> int:
    """Gather what a device machine without a package registry needs, in ``folder``:
    ``wheels/`` (:data:`CARRIED_WHEELS`, by ``pip download --no-deps``: pure-Python)
    and ``data/MNIST/raw/*.gz`` (from ``data`` or ``$ODDS_DATA``). Prints the total
    size, which must stay under the device tool's :data:`CARRY_LIMIT_MIB`."""
    root = Path(folder)
    wheels, raw = root / "wheels", root / "data" / "MNIST" / "raw"
    wheels.mkdir(parents=True, exist_ok=True)
    raw.mkdir(parents=True, exist_ok=True)
    if not wheel_paths(str(wheels)):
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", *CARRIED_WHEELS, "-d", wheels],
            check=True,
        )
    source = Path(data or os.environ.get("ODDS_DATA") or ROOT / "data")
    for name in MNIST_GZ:
        if (source / name).is_file():
            shutil.copyfile(source / name, root / "data" / name)
    size = carried_bytes(argparse.Namespace(data=str(root / "data"), wheels=str(wheels)))
    print(f"{root}: {size / 2**20:.1f} MiB to carry (limit {CARRY_LIMIT_MIB} MiB)")
    return 0 if size < CARRY_LIMIT_MIB * 2**20 else 1


def _last_json(stdout: str) -> dict | None:
    for line in reversed(stdout.strip().splitlines()):
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict) and "stage" in value:
            return value
    return None


# --------------------------------------------------------------------------
# The stages: each runs in its own process and returns its record


def _device():
    import torch

    return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")


def _timed(fn, device):
    from lib import runtime

    runtime.synchronize(device)
    start = time.perf_counter()
    out = fn()
    runtime.synchronize(device)
    return out, time.perf_counter() - start


def _mnist_root(args) -> Path | None:
    """A data root with MNIST's raw files (decompressed from ``.gz`` when only those came)."""
    source = Path(args.data or os.environ.get("ODDS_DATA") or ROOT / "data") / "MNIST" / "raw"
    names = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte")
    names += ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
    if all((source / n).is_file() for n in names):
        return source.parents[1]
    if not all((source / f"{n}.gz").is_file() for n in names):
        return None
    root = Path(args.work) / "data"
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for n in names:
        if not (raw / n).is_file():
            with gzip.open(source / f"{n}.gz") as f, (raw / n).open("wb") as g:
                shutil.copyfileobj(f, g)
    return root


def stage_env(args) -> dict:
    import torch

    from lib import runtime

    device = _device()
    out = {
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "cuda_available": torch.cuda.is_available(),
        "device": runtime.device_name(device),
        "cpu_cores": os.cpu_count(),
    }
    try:
        import torchvision

        out["torchvision"] = torchvision.__version__
    except ImportError as e:
        out["torchvision"] = f"missing: {e}"
    try:
        import torchattacks

        out["torchattacks"] = f"{torchattacks.__version__} ({Path(torchattacks.__file__).parent})"
    except ImportError as e:
        out["torchattacks"] = f"missing: {e}"
    out["mnist_root"] = str(_mnist_root(args))
    out["carried_mib"] = round(carried_bytes(args) / 2**20, 1)
    runtime.autocast("cuda", "fp32")  # what every fp32 path does on CUDA
    out["fp32_strict"] = runtime.fp32_is_strict()
    if device.type == "cuda":
        p = torch.cuda.get_device_properties(device)
        out["capability"] = f"{p.major}.{p.minor}"
        out["memory_gib"] = round(p.total_memory / 2**30, 1)
        out["bf16"] = torch.cuda.is_bf16_supported()
        out["devices"] = torch.cuda.device_count()
    status = "ok" if out["fp32_strict"] else "failed"
    return {"status": status, **out}


def stage_graph_vs_eager(args) -> dict:
    import torch

    from lib import attacks, models

    device = _device()
    if device.type != "cuda":
        return {"status": NO_DEVICE}
    torch.manual_seed(0)
    net = models.build("cifar_resnet").to(device).eval()
    x = torch.rand(256, 3, 32, 32, device=device)
    y = torch.randint(0, 10, (256,), device=device)
    kw = dict(eps=8 / 255, norm="inf", steps=10, step_size=2 / 255)
    out, worst = {}, 0.0
    for precision in ("fp32", "bf16"):
        for grad in ("grad", "no_grad"):
            ctx = torch.no_grad() if grad == "no_grad" else torch.enable_grad()
            runs = {}
            for graph in (False, True):
                with ctx:
                    runs[graph] = attacks.pgd(
                        net,
                        x,
                        y,
                        **kw,
                        precision=precision,
                        cuda_graph=graph,
                        generator=torch.Generator().manual_seed(7),  # the same starts
                    )
            diff = (runs[True] - runs[False]).abs().max().item()
            out[f"{precision}_{grad}_max_abs_diff"] = diff
            if precision == "fp32":
                worst = max(worst, diff)
    return {"status": "ok" if worst <= 1e-5 else "mismatch", **out}


def _slice(dataset: str, args, *, x=None, y=None) -> dict:
    """The paper recipe's training step on ``dataset``: seconds per step per mix."""
    import torch

    from lib import data as data_lib
    from lib import models, train
    from lib.experiments import profiles

    device = _device()
    s = profiles.settings(dataset, "smoke" if args.quick else "paper")
    torch.manual_seed(0)
    model = models.build(s.arch, **s.model_kwargs).to(device)
    bs = s.batch_size
    steps = 2 if args.quick else 20
    n = bs * (steps + 1) + bs // 2  # a partial last batch
    if x is None:
        shape = (1, 28, 28) if dataset == "mnist" else (3, 32, 32)
        x = torch.rand(n, *shape)
        y = torch.randint(0, 10, (n,))
    data = data_lib.TensorData(
        dataset, "train", x[:n].to(device), y[:n].to(device), tuple(str(i) for i in range(10))
    )
    eps = profiles.TABLE4_EPS[(dataset, "inf")][-1]
    attack = s.attack(eps, "inf")
    kw = dict(
        batch_size=bs,
        lr=s.lr,
        optimizer=s.optimizer,
        momentum=s.momentum,
        weight_decay=s.weight_decay,
        augment=s.augment,
        progress=False,
        precision="auto",
    )
    out = {"profile": s.profile, "batch": bs, "train_pgd_steps": attack.steps}
    for mix, bn_mode in (
        ("clean", "eval"),
        ("adversarial", "eval"),
        ("half", "eval"),
        ("adversarial", "train"),
    ):
        run = lambda steps, mix=mix, bn_mode=bn_mode: train.train(  # noqa: E731
            model,
            data,
            epochs=1,
            max_steps=steps,
            mix=mix,
            attack=None if mix == "clean" else attack,
            bn_mode=bn_mode,
            **kw,
        )
        run(1)  # warm-up: cuDNN, the graph's capture
        _, t = _timed(lambda run=run: run(steps), device)
        out[f"{mix}_{bn_mode}_step_s"] = t / steps
    # the partial last batch: a whole epoch, whose last step has bs // 2 images
    hist = train.train(model, data, epochs=1, mix="adversarial", attack=attack, **kw)
    out["partial_batch_epoch_ok"] = bool(hist) and all(
        torch.isfinite(torch.tensor(h["loss"])) for h in hist
    )
    k = attack.steps
    out["pass_s"] = out["adversarial_eval_step_s"] / (k + 1)  # for the estimate
    return {"status": "ok" if out["partial_batch_epoch_ok"] else "failed", **out}


def stage_mnist(args) -> dict:
    root = _mnist_root(args)
    x = y = None
    if root is not None:
        from lib import data as data_lib

        train_set = data_lib.load("mnist", "train", root=root)
        x, y = train_set.x, train_set.y
    out = _slice("mnist", args, x=x, y=y)
    out["data"] = "MNIST" if root is not None else "random images (no MNIST found)"
    return out


def stage_cifar10(args) -> dict:
    return {**_slice("cifar10", args), "data": "random images"}


def _make_tree(root: Path, per_class: int, size: tuple[int, int]) -> int:
    import numpy as np
    from PIL import Image

    from lib import data as data_lib

    rng = np.random.default_rng(0)
    n = 0
    for split, count in (("train", per_class), ("val", max(1, per_class // 4))):
        for wnid in data_lib.restricted_imagenet_wnids("paper"):
            folder = root / "imagenet" / split / wnid
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(count):
                arr = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
                Image.fromarray(arr).save(folder / f"{wnid}_{i}.JPEG", quality=85)
                n += 1
    return n


def stage_restricted_imagenet(args) -> dict:
    import torch

    from lib import data as data_lib
    from lib import models, train
    from lib.attacks.cuda_graph import cuda_graphs
    from lib.experiments import profiles

    device = _device()
    s = profiles.settings("restricted_imagenet", "smoke" if args.quick else "paper")
    root = Path(args.work) / "ri"
    t0 = time.perf_counter()
    images = _make_tree(root, 2 if args.quick else 12, (64, 80) if args.quick else (300, 400))
    out = {"profile": s.profile, "tree_images": images, "tree_s": time.perf_counter() - t0}
    opts = {**s.data, "epoch_size": s.batch_size * (2 if args.quick else 6)}
    with warnings.catch_warnings():  # a generated tree is a subset, by design
        warnings.simplefilter("ignore", data_lib.SubsetWarning)
        tr = data_lib.load("restricted_imagenet", "train", root=root, device=device, **opts)
    out["workers"] = tr.workers
    torch.manual_seed(0)
    model = models.build(s.arch, **s.model_kwargs).to(device)
    attack = s.attack(profiles.table2_eps("restricted_imagenet", "inf"), "inf")
    kw = dict(epochs=1, batch_size=s.batch_size, lr=s.lr, augment=True, progress=False)
    for graphs in ("on", "off"):
        try:
            with cuda_graphs(graphs):
                # the first epoch: workers start, the step is captured (while the pin
                # thread works: the race); the second is timed, the loader's included
                _, first = _timed(
                    lambda: train.train(model, tr, mix="adversarial", attack=attack, **kw), device
                )
                _, t = _timed(
                    lambda: train.train(model, tr, mix="adversarial", attack=attack, **kw), device
                )
            out[f"graphs_{graphs}"] = "ok"
            out[f"graphs_{graphs}_first_epoch_s"] = first
            out[f"graphs_{graphs}_step_s"] = t / (opts["epoch_size"] // s.batch_size)
            break  # graphs on worked: no retry needed
        except Exception as e:  # noqa: BLE001 (recorded: the race, if it happens)
            out[f"graphs_{graphs}"] = f"{type(e).__name__}: {str(e)[:300]}"
    ok = out.get("graphs_on") == "ok"
    out["pass_s"] = out.get("graphs_on_step_s", out.get("graphs_off_step_s", 0)) / (
        attack.steps + 1
    )
    return {"status": "ok" if ok else "failed", **out}


def stage_graph_memory(args) -> dict:
    import torch

    from lib import attacks, models
    from lib.attacks import cuda_graph

    device = _device()
    if device.type != "cuda":
        return {"status": NO_DEVICE}
    bs = 256
    torch.manual_seed(0)
    net = models.build("resnet50", classes=9).to(device).eval()
    x = torch.rand(bs, 3, 224, 224, device=device)
    y = torch.randint(0, 9, (bs,), device=device)
    kw = dict(
        eps=4 / 255, norm="inf", steps=2, step_size=1 / 255, precision="fp32", cuda_graph=True
    )
    gib = lambda: torch.cuda.memory_reserved(device) / 2**30  # noqa: E731
    torch.cuda.synchronize()
    out = {"batch": bs, "reserved_before_gib": gib()}
    attacks.pgd(net, x, y, **kw)
    out["reserved_one_graph_gib"] = gib()
    attacks.pgd(net, x[: bs // 2], y[: bs // 2], **kw)  # a second shape: a second graph
    out["reserved_two_graphs_gib"] = gib()
    out["graphs_cached"] = cuda_graph.cached_graphs(net)
    net.to(memory_format=torch.channels_last)  # a relayout: new addresses, stale graphs
    attacks.pgd(net, x, y, **kw)
    out["graphs_after_relayout"] = cuda_graph.cached_graphs(net)
    torch.cuda.empty_cache()
    out["reserved_after_relayout_gib"] = gib()
    out["max_allocated_gib"] = torch.cuda.max_memory_allocated(device) / 2**30
    ok = out["graphs_after_relayout"] == 1
    return {"status": "ok" if ok else "failed", **out}


def stage_strong_audit(args) -> dict:
    import torch

    from lib import models
    from lib.attacks import audit, strong
    from lib.experiments import grids, profiles

    device = _device()
    profile = "smoke" if args.quick else "paper"
    s = profiles.settings("mnist", profile)
    torch.manual_seed(0)
    model = models.build(s.arch, **s.model_kwargs).to(device).eval()
    n = 32 if args.quick else 500
    x = torch.rand(n, 1, 28, 28, device=device)
    y = torch.randint(0, 10, (n,), device=device)
    pgd_ok = torch.ones(n, dtype=torch.bool, device=device)
    budget = profiles.strong_budget(profile)
    (m, t) = _timed(
        lambda: strong.evaluate(model, x, y, pgd_ok, eps=0.3, norm="inf", budget=budget), device
    )
    out = {"profile": profile, "n": n, "strong_s": t, "strong_adv_acc": m["adv_acc"]}
    b = grids.benefits_sizes(profile)
    ab = audit.AuditBudget(b.strong_steps, b.strong_restarts, **b.autoattack)
    fns = audit.suite(model, norm="inf", eps=0.3, training_attack=s.attack(0.3, "inf"), budget=ab)
    if not args.quick:  # a slice of the paper's audit: Square's queries cut 5x
        ab = audit.AuditBudget(b.strong_steps, 2, b.autoattack["steps"], 9, 1000)
        fns = audit.suite(
            model, norm="inf", eps=0.3, training_attack=s.attack(0.3, "inf"), budget=ab
        )
    k = 16 if args.quick else 100
    accs, t = _timed(lambda: audit.robust_accuracies(model, fns, x[:k], y[:k]), device)
    out.update(audit_s=t, audit_n=k, audit_attacks=sorted(fns), audit_accs=accs)
    return {"status": "ok", **out}


def stage_trades(args) -> dict:
    import torch

    from lib import data as data_lib
    from lib import models, train
    from lib.experiments import profiles
    from lib.trades import TradesAttack

    device = _device()
    s = profiles.settings("mnist", "smoke" if args.quick else "paper")
    torch.manual_seed(0)
    model = models.build(s.arch, **s.model_kwargs).to(device)
    steps = 2 if args.quick else 20
    n = s.batch_size * steps
    data = data_lib.TensorData(
        "mnist",
        "train",
        torch.rand(n, 1, 28, 28, device=device),
        torch.randint(0, 10, (n,), device=device),
        tuple(str(i) for i in range(10)),
    )
    attack = TradesAttack.like(s.attack(0.3, "inf"))
    kw = dict(epochs=1, batch_size=s.batch_size, lr=s.lr, optimizer=s.optimizer, progress=False)
    train.train(model, data, mix="trades", attack=attack, beta=6.0, max_steps=1, **kw)
    hist, t = _timed(
        lambda: train.train(model, data, mix="trades", attack=attack, beta=6.0, **kw), device
    )
    finite = all(torch.isfinite(torch.tensor(h["loss"])) for h in hist)
    return {"status": "ok" if finite else "failed", "step_s": t / steps, "batch": s.batch_size}


def stage_estimate(args) -> dict:
    from lib.bench import paper_cost

    measured = {}
    for name, dataset in (
        ("mnist", "mnist"),
        ("cifar10", "cifar10"),
        ("restricted_imagenet", "restricted_imagenet"),
    ):
        path = Path(args.work, f"{name}.json")
        if not path.is_file():
            continue
        r = json.loads(path.read_text())
        if r.get("status") == "ok" and r.get("profile") == "paper" and r.get("pass_s"):
            measured[dataset] = r["pass_s"]
    rows = paper_cost.chapter_hours(measured)
    without = paper_cost.chapter_hours(measured, imagenet=False)[-1]
    return {
        "status": "ok",
        "measured_pass_s": measured,
        "rates": rows[-1].rates,
        "chapters": [
            {
                "chapter": r.chapter,
                "runs": r.runs,
                "evaluations": r.evaluations,
                "gpu_hours": round(r.hours, 1),
            }
            for r in rows
        ],
        "total_gpu_hours": round(rows[-1].hours, 1),
        "without_imagenet_gpu_hours": round(without.hours, 1),
    }


def _unavailable(*args, **kwargs):
    raise RuntimeError("scipy is not installed here (a stand-in for torchattacks' import)")


def stub_scipy() -> bool:
    """Stand in for scipy where it is missing; returns whether it did.

    torchattacks imports scipy when it is imported, for attacks this project
    never runs (TIFGSM, OnePixel); the device's Python may have torch and
    torchvision only, and scipy is no pure-Python wheel to carry.
    """
    import importlib.util
    import types

    try:
        if importlib.util.find_spec("scipy") is not None:
            return False
    except ImportError:  # a finder that refuses it (the tests' bare Python)
        pass
    names = ("scipy", "scipy.optimize", "scipy.stats", "scipy._lib", "scipy._lib._util")
    mods = {n: types.ModuleType(n) for n in names}
    mods["scipy"].optimize, mods["scipy"].stats = mods["scipy.optimize"], mods["scipy.stats"]
    mods["scipy"]._lib, mods["scipy._lib"]._util = mods["scipy._lib"], mods["scipy._lib._util"]
    mods["scipy.optimize"].OptimizeResult = dict
    mods["scipy.optimize"].minimize = _unavailable
    mods["scipy._lib._util"].check_random_state = _unavailable
    sys.modules.update(mods)
    return True


def run_stage(name: str, args) -> dict:
    start = time.perf_counter()
    stubbed = stub_scipy()
    try:
        if os.environ.get("ODDS_FIRST_CONTACT_FAIL") == name:  # the tests' injected failure
            raise RuntimeError(f"injected failure of stage {name}")
        if STAGES[name][1] and not _cuda():
            result = {"status": NO_DEVICE}
        else:
            result = globals()[f"stage_{name}"](args)
    except Exception as e:  # noqa: BLE001 (the stage's failure is its record)
        result = {
            "status": "failed",
            "error": f"{type(e).__name__}: {e}"[:500],
            "traceback": traceback.format_exc()[-1500:],
        }
    if stubbed and name == "env":
        result["scipy"] = "missing: a stand-in lets torchattacks import"
    return {"stage": name, **result, "seconds": round(time.perf_counter() - start, 1)}


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stage", choices=list(STAGES), help="run one stage here (internal)")
    parser.add_argument("--stages", nargs="*", choices=list(STAGES), help="only these stages")
    parser.add_argument("--quick", action="store_true", help="CPU sizes (CI)")
    parser.add_argument("--wheels", default=None, help="a folder of wheels to import from")
    parser.add_argument("--data", default=None, help="the data root (default: $ODDS_DATA)")
    parser.add_argument("--out", default=None, help="also write the JSON lines here")
    parser.add_argument("--budget", type=float, default=540, help="seconds for all stages")
    parser.add_argument("--work", default=None, help=argparse.SUPPRESS)
    parser.add_argument(
        "--prepare",
        metavar="DIR",
        help="gather the wheels and MNIST's .gz files to carry, and exit",
    )
    args = parser.parse_args(argv)
    if args.prepare:
        return prepare(args.prepare, args.data)
    if args.stage:
        sys.path.insert(0, str(ROOT))
        print(json.dumps(run_stage(args.stage, args), default=str), flush=True)
        return 0
    results = run_stages(args)
    bad = [r["stage"] for r in results if r["status"] not in ("ok", NO_DEVICE)]
    print(
        f"# {len(results)} stages, {len(bad)} not ok: {', '.join(bad) or 'none'}", file=sys.stderr
    )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
