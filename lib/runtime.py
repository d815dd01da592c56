"""Where and how a computation runs: device, precision, seeds, project paths.

Nothing here touches CUDA at import time: the device is chosen when a function
is called, so every module imports on a CPU-only machine.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import random
import subprocess
from pathlib import Path

import numpy as np
import torch

PRECISIONS = ("auto", "bf16", "fp32")

log = logging.getLogger("lib")

#: The checkout ``lib`` was imported from (the folder holding ``lib/``): the
#: book's own files (``book/``, ``lab/``, ``results/bench``) are read from it,
#: and the default data root sits in it. What a run *writes* goes under
#: :func:`project_root` instead.
PROJECT_ROOT = Path(__file__).resolve().parents[1]

#: Files that mark a project's root folder (this book has both).
PROJECT_MARKERS = ("_config.yml", "pyproject.toml")


def project_root(start: Path | str | None = None) -> Path:
    """The project the user works in: the nearest folder at or above ``start``
    (default: the current directory) that holds ``_config.yml`` or ``pyproject.toml``.

    The run store and the results default to folders in it, never to where
    ``lib`` is installed, so two clones sharing one environment each write
    into their own ``runs/`` and ``_build/results``. With no marker above
    ``start``, ``start`` itself. A chapter executed by Jupyter Book runs in
    ``book/`` and finds the same root as a command run at the top.
    """
    here = Path(start if start is not None else Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if any((folder / marker).is_file() for marker in PROJECT_MARKERS):
            return folder
    return here


def default_device() -> torch.device:
    """``$ODDS_DEVICE`` when set (``cpu``, ``cuda``, ``cuda:1``), else CUDA when a GPU
    is visible now, else the CPU.

    The fallback is silent here; a profile that needs a GPU refuses it
    (:func:`lib.book_config.check_device`), and :func:`device_was_asked` tells it
    whether the CPU was asked for or fallen back to.
    """
    asked = os.environ.get("ODDS_DEVICE")
    if asked:
        return torch.device(asked)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def device_was_asked() -> bool:
    """Whether ``$ODDS_DEVICE`` names the device (so a CPU there is no fallback)."""
    return bool(os.environ.get("ODDS_DEVICE"))


# glibc's mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD, _M_MMAP_MAX = -1, -4
_kept = False  # whether keep_freed_memory() took in this process


def allocator() -> str:
    """How this process's allocator treats freed memory, for provenance."""
    return "glibc, freed memory kept (keep_freed_memory)" if _kept else "the C library's default"


def freed_memory_kept() -> bool:
    """Whether :func:`keep_freed_memory` took in this process (workers follow it)."""
    return _kept


@functools.cache
def keep_freed_memory() -> bool:
    """Make glibc's malloc keep freed memory for the next allocation, in this process.

    By default glibc serves a large allocation (over a threshold of at most
    32 MB) with a fresh ``mmap`` and unmaps it when freed, and gives the top of
    its heap back to the system. PyTorch's CPU allocator caches nothing, so a
    full-batch step's buffers come back as fresh pages that the kernel must
    fault in and zero again: system time, not compute. With no mmap and no
    trimming, freed memory is reused; the results are the same bits. It
    matters most for full-batch fits and for a fresh process (glibc raises its
    thresholds only as it frees large buffers, so a loop's speed depends on
    what the process did before); the measurements are in ``lab/``
    (``lab/trials/recipe_ratio_trial.py`` and the allocator trials).
    So every chapter (:func:`lib.chapter.start`) keeps freed memory, and so
    do the workers of :mod:`lib.experiments.execute.parallel` it starts (they follow their
    caller), and so does ``make bench`` for both sides of every comparison;
    training and the attacks (``lib.train``, ``lib.attacks``) leave the
    allocator alone. The cost: a process's resident memory stays at its peak. Returns whether
    the setting took (False off glibc, e.g. on macOS).
    """
    global _kept
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
        _ = libc.gnu_get_libc_version  # glibc only: other C libraries differ in mallopt
    except (OSError, AttributeError, TypeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    # the largest int: never trim (a trim threshold of -1 would be read as unset)
    _kept = bool(mallopt(_M_MMAP_MAX, 0)) and bool(mallopt(_M_TRIM_THRESHOLD, 2**31 - 1))
    return _kept


@functools.cache
def cpu_has_bf16() -> bool:
    """True when this CPU computes bf16 natively (AMX or AVX-512 BF16).

    On such CPUs oneDNN runs bf16 convolutions and matrix products at about
    twice the fp32 rate; elsewhere bf16 is emulated and slower than fp32.
    """
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags


def resolve_precision(precision: str, device: torch.device | str) -> str:
    """The precision a computation on ``device`` runs at: ``"bf16"`` or ``"fp32"``.

    ``"auto"`` (every entry point's default) picks bf16 where the hardware has
    it (CUDA with bf16 support, or a CPU with AMX / AVX-512 BF16) and fp32
    elsewhere, so the same call can give slightly different adversarial points
    on two machines; ``precision="fp32"`` is the same everywhere. The first
    time ``"auto"`` resolves on a device type, the choice is logged at INFO on
    the ``"lib"`` logger (``logging.basicConfig(level=logging.INFO)`` shows it).

    Args:
        precision (str): ``"auto"``, ``"bf16"`` or ``"fp32"``.
        device (torch.device | str): where the computation runs.

    Returns:
        str: ``"bf16"`` or ``"fp32"``.

    Example:
        >>> from lib import runtime
        >>> runtime.resolve_precision("auto", "cpu")  # on a CPU without bf16
        'fp32'
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if precision != "auto":
        return precision
    device = torch.device(device)
    if device.type == "cuda":
        resolved = "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    elif device.type == "cpu":
        resolved = "bf16" if cpu_has_bf16() else "fp32"
    else:
        resolved = "fp32"
    _report(device.type, resolved)
    return resolved


@functools.cache
def _report(device_type: str, resolved: str) -> None:
    # Once per device type and process: the first call says it, the others are cached.
    log.info(
        "precision='auto' runs at %s on %s%s",
        resolved,
        device_type,
        "; pass precision='fp32' for fp32" if resolved != "fp32" else "",
    )


def autocast(device: torch.device | str, precision: str):
    """The autocast context for a resolved precision (a no-op for fp32).

    Under bf16 autocast convolutions and matrix products run in bf16 while
    BatchNorm, softmax and losses stay in fp32 (PyTorch's autocast lists).
    fp32 on CUDA means fp32: TF32 is turned off (:func:`strict_fp32`), for the
    process, since the backward passes run after the block has closed.
    """
    device = torch.device(device)
    if precision == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    if precision == "fp32" and device.type == "cuda":
        strict_fp32()
    return contextlib.nullcontext()


def strict_fp32() -> None:
    """Make fp32 convolutions and matrix products on CUDA full fp32, not TF32.

    PyTorch lets cuDNN run fp32 convolutions in TF32 by default (10-bit
    mantissa inputs): the "fp32" the library promises (the strong cascade,
    the audit, ``precision="fp32"``) would be TF32 on an Ampere or later GPU.
    Process-wide; bf16 is left alone (autocast casts those ops to bf16
    whatever this says). Through the ``allow_tf32`` flags: the per-operator
    ``fp32_precision`` settings of PyTorch 2.9 on read them when unset, and
    once set they make the ``allow_tf32`` getters raise (in 2.14), which
    would break any code that reads those.
    """
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False


def fp32_is_strict() -> bool:
    """Whether CUDA's fp32 convolutions and matrix products are full fp32 now."""
    try:
        return not torch.backends.cudnn.allow_tf32 and not torch.backends.cuda.matmul.allow_tf32
    except RuntimeError:  # the fp32_precision settings were used: read those
        conv = torch.backends.cudnn.conv.fp32_precision
        return conv == "ieee" and torch.backends.cuda.matmul.fp32_precision == "ieee"


def prefers_channels_last(device: torch.device | str, precision: str) -> bool:
    """Whether convolutional models should use the channels_last (NHWC) layout.

    Always on the CPU: it is oneDNN's native layout, so no reorder per
    convolution (measured here, PGD on the mnist_challenge CNN: 2.4x faster in
    fp32, 2.9x with bf16; the CIFAR ResNet: 1.1x and 2.1x). On CUDA with bf16,
    where tensor-core kernels want NHWC. ``precision`` is a resolved one.
    """
    return torch.device(device).type == "cpu" or precision == "bf16"


COMPILE_MODES = ("default", "reduce-overhead", "max-autotune-no-cudagraphs")


def fast_model(
    model: torch.nn.Module,
    device: torch.device | str,
    precision: str = "auto",
    compile: str | None = None,
) -> torch.nn.Module:
    """The model on the fast path: channels_last where it helps, optionally compiled.

    The layout is changed in place (same parameters). ``compile`` is None
    (eager) or a ``torch.compile`` mode of :data:`COMPILE_MODES`;
    ``"reduce-overhead"`` uses CUDA graphs for fixed shapes. The compiled
    module shares its parameters with ``model``; it compiles on first call,
    so warm it up before timing.
    """
    if compile is not None and compile not in COMPILE_MODES:
        raise ValueError(f"compile must be None or one of {COMPILE_MODES}, got {compile!r}")
    precision = resolve_precision(precision, device)
    if prefers_channels_last(device, precision) and any(p.dim() == 4 for p in model.parameters()):
        model.to(memory_format=torch.channels_last)
    if compile is not None:
        return torch.compile(model, mode=compile)
    return model


def synchronize(device: torch.device | str) -> None:
    """Wait for queued work on ``device`` (a no-op on the CPU), for timing."""
    device = torch.device(device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch; return a CPU generator seeded the same."""
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002 (seeds code that uses the legacy global RNG)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


@functools.cache
def git_commit() -> str:
    """The commit of the working tree (with ``+dirty`` when it has changes).

    ``$ODDS_GIT_COMMIT`` overrides it: a Ray worker runs a copy of the
    driver's tree without ``.git``, and records the driver's commit.
    """
    if os.environ.get("ODDS_GIT_COMMIT"):
        return os.environ["ODDS_GIT_COMMIT"]
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            # The claim files a build writes under results/ are its output, not
            # a change to the code that made them: they do not make the tree dirty.
            ["git", "status", "--porcelain", "--untracked-files=no", "--", ":(exclude)results"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return sha + ("+dirty" if dirty else "")


def device_name(device: torch.device | str) -> str:
    """A human-readable name of the device, for provenance records."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({os.cpu_count()} cores{', bf16' if cpu_has_bf16() else ''})"
