"""Issue 38: does the stale-copy check (and the storage-keeping layout) slow the default call?

The default call, ``attacks.pgd(model, x, y, eps, norm="inf", steps=10,
step_size=2.5 eps / 10)``, on the bench's two `cpu` models (random weights:
time does not depend on them), timed interleaved over rounds (medians,
:func:`lib.bench.measure.interleaved`) in one process:

- ``after``: the code as it is: the folded copy compares the model's weights
  with the ones it was folded from on every call (``fast._same_values``), and
  the plain path gives each moved tensor its own storage back;
- ``before``: the same process with the code of 973eca7 patched back in: no
  value comparison (version and address only) and the old layout restore
  (a new tensor with the old strides).

cifar_resnet has BatchNorm (the folded copy, where the check runs);
mnist_cnn has none (the plain path: channels_last for the call). Batch 32 by
default: the check costs one read of the weights per call, whatever the
batch, so a small batch is where it would show. ``check_s``: the value
comparison alone, timed on its own.

    .venv/bin/python lab/trials/stale_check_trial.py --out lab/results/stale-check-cpu.json
"""

from __future__ import annotations

import argparse
import contextlib
import time

import torch

from lib import attacks, runtime
from lib.attacks import fast
from lib.bench import measure, settings


def _old_to_channels_last(tensors, *, strict=True):
    moved = []
    with torch.no_grad():
        for t in tensors:
            if t.dim() == 4 and not fast.is_channels_last(t):
                moved.append((t, t.stride()))
                t.data = t.data.to(memory_format=fast.CL)
    return moved


def _old_restore_layout(moved):
    with torch.no_grad():
        for t, stride in moved:
            old = torch.empty_strided(t.shape, stride, dtype=t.dtype, device=t.device)
            t.data = old.copy_(t.data)


@contextlib.contextmanager
def before():
    """973eca7's behaviour of :mod:`lib.attacks.fast` for the block."""
    saved = fast._same_values, fast.to_channels_last, fast.restore_layout
    fast._same_values = lambda seen, model: True
    fast.to_channels_last, fast.restore_layout = _old_to_channels_last, _old_restore_layout
    try:
        yield
    finally:
        fast._same_values, fast.to_channels_last, fast.restore_layout = saved


def trial(name: str, batch: int, steps: int, rounds: int) -> dict:
    _, shape, classes, eps = settings.MODELS[name]
    torch.manual_seed(0)
    model = settings.build_model(name, tiny=False).eval()
    x, y = torch.rand(batch, *shape), torch.randint(0, classes, (batch,))
    kw = dict(
        eps=eps["inf"], norm="inf", steps=steps, step_size=attacks.step_size(eps["inf"], steps)
    )

    def old():
        with before():
            return attacks.pgd(model, x, y, **kw)

    variants = {"after": lambda: attacks.pgd(model, x, y, **kw), "before": old}
    timing = measure.interleaved(variants, torch.device("cpu"), rounds)
    median = {k: v["seconds"] for k, v in timing.items()}
    check_s = None
    if fast.folded(model) is not None:  # the value comparison alone, per call
        hit = fast._FOLDED[model]
        start = time.perf_counter()
        for _ in range(20):
            fast._same_values(hit.seen, model)
        check_s = (time.perf_counter() - start) / 20
    return {
        "model": name,
        "folded": fast.has_conv_bn(model),
        "batch": batch,
        "steps": steps,
        "precision": runtime.resolve_precision("auto", torch.device("cpu")),
        "median_s": median,
        "after/before": median["after"] / median["before"],
        "check_s": check_s,
        "parameters": sum(p.numel() for p in model.parameters()),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--threads", type=int, default=None, help="default: torch's (the machine's)")
    p.add_argument("--out", default=None, help="write the rows with their provenance here")
    args = p.parse_args()
    measure.refuse_below_one(p, args, ("batch", "steps", "rounds", "threads"))
    if args.threads:
        torch.set_num_threads(args.threads)
    provenance = {**measure.provenance("cpu"), "args": vars(args)}
    measure.run_trial(
        ["cifar_resnet", "mnist_cnn"],
        lambda name: trial(name, args.batch, args.steps, args.rounds),
        provenance,
        args.out,
    )


if __name__ == "__main__":
    main()
