"""The floor (a bare PGD loop), the peer (torchattacks) and the timing."""

from __future__ import annotations

import json
import platform
import resource
import statistics
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import torch
import torch.nn.functional as F

from lib import attacks, runtime

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


def peak_rss_mb() -> float:
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


def reserved_mib(device: torch.device) -> float | None:
    """MiB the CUDA caching allocator holds now (None off CUDA): live tensors, its
    cache and every captured CUDA graph's private memory pool."""
    device = torch.device(device)
    return torch.cuda.memory_reserved(device) / 2**20 if device.type == "cuda" else None


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
    reserved: dict[str, float | None] = dict.fromkeys(variants)
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
                reserved[name] = max(reserved[name] or 0.0, reserved_mib(device))
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
            # The allocator's reserved memory after the call: what the GPU has lost,
            # CUDA graphs' private pools included (allocated memory does not see
            # them). The process's, so it includes the variants run before.
            "gpu_reserved_mib": reserved[name],
        }
    return out


def _cpuinfo() -> dict[str, str]:
    """The first processor's fields of Linux ``/proc/cpuinfo`` (empty elsewhere)."""
    fields: dict[str, str] = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if not line.strip():  # the first processor's block is enough
                    break
                key, _, value = line.partition(":")
                fields.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    return fields


def cpu_model() -> str:
    """The host CPU's model name (Linux ``/proc/cpuinfo``), else ``platform.processor()``."""
    return _cpuinfo().get("model name") or platform.processor() or "unknown"


def cpu_id() -> str | None:
    """The CPU's family, model, stepping and cache size (Linux /proc/cpuinfo), or None.

    Two machines of the same name can differ: two sessions' "AMD EPYC"
    machines gave absolute rates 1.7x apart and different ratios, so the
    model number is recorded too.
    """
    info = _cpuinfo()
    keys = [k for k in ("cpu family", "model", "stepping", "cache size") if k in info]
    return ", ".join(f"{k} {info[k]}" for k in keys) or None


def provenance(device: torch.device | str) -> dict:
    """Where and with what a measurement was made: date, device, versions, commit."""
    out = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "device": runtime.device_name(device),
        # Ratios move with the CPU model (an AMD EPYC and an earlier machine of
        # this project gave different CIFAR-10 training ratios): record it.
        "cpu_model": cpu_model(),
        "cpu_id": cpu_id(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "commit": runtime.git_commit(),
        "cudnn_allow_tf32": torch.backends.cudnn.allow_tf32,
        "matmul_allow_tf32": torch.backends.cuda.matmul.allow_tf32,
        "allocator": runtime.allocator(),
    }
    try:
        import torchattacks

        out["torchattacks"] = torchattacks.__version__
    except ImportError:
        out["torchattacks"] = None
    return out


def refuse_below_one(parser, args, names) -> None:
    """A trial script's count options (``--rounds``, ``--threads`` ...): each of
    ``names`` given (not None) must be at least 1, else ``parser`` exits with
    a message that names it."""
    for name in names:
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name} must be >= 1, got {value}")


def run_trial(models, measure_one, provenance: dict, out: str | None) -> list[dict]:
    """A trial script's loop: ``measure_one(model)`` per model, each row printed as
    JSON and, with ``out``, written with ``provenance`` after every model (to a
    temporary file, then renamed), so a killed trial keeps what it measured."""
    from lib.experiments.store_format import atomic_write_json

    rows = []
    for name in models:
        rows.append(measure_one(name))
        print(json.dumps(rows[-1]), flush=True)
        if out:
            Path(out).parent.mkdir(parents=True, exist_ok=True)
            atomic_write_json(Path(out), {"provenance": provenance, "rows": rows})
    return rows
