# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Performance
#
# Adversarial training is expensive because of its inner attack: PGD-k costs
# k forward passes and k input gradients per image, and PGD-k training about
# k + 1 training steps per batch. That is the **floor**: no implementation of
# the same attack can do less work. This page shows how close the library
# (`lib.attacks.pgd`, `lib.train.train`) comes to it, and how it compares with
# [torchattacks](https://github.com/Harry24k/adversarial-attacks-pytorch), the
# PGD most researchers use, at identical settings (eps, steps, step size,
# random start).
#
# Every number here comes from `results/bench/<device>.json`, written by
# `make bench` (`python -m lib.bench`) in one process: a warm-up, then rounds
# that interleave the variants, median over rounds. Only ratios measured in
# the same run are compared. The variants:
#
# - **ours**: `pgd(..., precision="auto")`, the default. It uses bf16 autocast
#   and channels_last where the hardware has bf16. BatchNorm, the loss, the
#   perturbation and the projection stay in fp32. It keeps the best iterate
#   per example, so it evaluates one more point than it steps from.
# - **ours fp32**: `precision="fp32"`. On the CPU it still uses channels_last,
#   oneDNN's native layout.
# - **torchattacks**: `torchattacks.PGD` / `PGDL2` in fp32, on the model as
#   people run it (default layout).
# - **floor fp32**: a bare loop of forward, input gradient, step and
#   projection, in fp32 with the default layout. **floor ours** is the same
#   loop at our layout and precision, so ours/floor ours is what our
#   bookkeeping costs.
# - on a GPU also **CUDA graph**: `pgd(..., cuda_graph=True)`. One PGD step
#   (forward, input gradient, bookkeeping, step, projection) is captured once
#   and replayed: one launch per step.
#
# Inputs are random tensors of the data set's shape, because speed does not
# depend on pixel values. The models are the paper's: the mnist_challenge CNN
# (3.3 M parameters), the cifar10_challenge ResNet (0.46 M), and, on a GPU,
# ResNet-50. eps are the paper's, with a step of 2.5 eps / k.

# %% [markdown]
# ```{glue:md} build_note
# :format: myst
# ```

# %% tags=["hide-input"]
import json
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Markdown, display
from myst_nb import glue

from lib import bench, chapter, profiles, runtime

timer = chapter.start()

# %% tags=["parameters"]
profile = "cpu"  # smoke | cpu | paper
seed = 0  # unused: the page reads stored measurements

# %% tags=["hide-input"]
profile = profiles.resolve(profile)
results_dir = runtime.PROJECT_ROOT / "results" / "bench"
results = {p.stem: json.loads(p.read_text()) for p in sorted(Path(results_dir).glob("*.json"))}


def machine_of(provenance: dict) -> str:
    """CPU model and allocator where recorded: machines of one name and the C
    library's allocator settings both move the ratios (README, Speed)."""
    parts = [provenance[k] for k in ("cpu_model", "cpu_id", "allocator") if provenance.get(k)]
    return "; " + ", ".join(parts) if parts else ""


display(
    Markdown(
        "Measurements on this page:\n\n"
        + "\n".join(
            f"- `{name}.json`: {r['provenance']['device']}, torch {r['provenance']['torch']}, "
            f"{r['provenance']['date'][:10]}, commit `{r['provenance']['commit'][:12]}`"
            f"{' (uncommitted changes)' if r['provenance']['commit'].endswith('+dirty') else ''}, "
            f"{r['settings']['rounds']} timed rounds, PGD-{r['settings']['steps']}"
            f"{machine_of(r['provenance'])}"
            for name, r in results.items()
        )
    )
)
glue("perf_result_files", len(results), display=False)

# %% [markdown]
# ## Attack throughput
#
# Throughput is images × steps per second. A ratio above 1 means ours is
# faster. The columns are ours/torchattacks, ours/floor fp32, ours/floor ours
# for the fast path, then the same three for the fp32 path.

# %% tags=["hide-input"]
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


def attack_table(result: dict) -> pd.DataFrame:
    rows = []
    for r in result["attack"]:
        row = {"model": r["model"], "batch": r["batch"], "norm": f"l{r['norm']}"}
        for key, label in VARIANT_NAMES.items():
            v = r["variants"].get(key)
            if v is not None:
                row[label] = v.get("throughput", float("nan"))
        row.update({k: v for k, v in r["ratios"].items() if v is not None})
        rows.append(row)
    return pd.DataFrame(rows).set_index(["model", "batch", "norm"])


for name, r in results.items():
    if not r["attack"]:
        continue
    display(Markdown(f"**{r['provenance']['device']}** (`{name}.json`)"))
    table = attack_table(r)
    display(
        table.style.format("{:.0f}", subset=[c for c in table if "/" not in c]).format(
            "{:.2f}", subset=[c for c in table if "/" in c]
        )
    )

# %% mystnb={"figure": {"caption": "PGD-k throughput of our paths relative to torchattacks, per device (not a figure of the paper)."}} tags=["hide-input"]
measured = [(name, r) for name, r in results.items() if r["attack"]]
fig, axes = plt.subplots(
    1, max(1, len(measured)), figsize=(6 * max(1, len(measured)), 3.8), squeeze=False
)
for ax, (name, r) in zip(axes[0], measured, strict=False):
    t = attack_table(r)
    keys = [
        k
        for k in (
            "ours/torchattacks",
            "ours_fp32/torchattacks",
            "ours_graph/torchattacks",
            "ours_compiled/torchattacks",
        )
        if k in t
    ]
    t[keys].rename(columns=lambda k: k.split("/")[0]).plot.bar(ax=ax, width=0.8)
    ax.axhline(1, color="black", lw=0.8)
    ax.set_ylabel("throughput / torchattacks'")
    ax.set_title(f"{r['provenance']['device']} ({name}.json)", fontsize=10)
    ax.set_xticklabels([f"{m.replace('_', ' ')}\n{b} {n}" for m, b, n in t.index], fontsize=7)
    ax.set_xlabel("")
    ax.legend(fontsize=7)
fig.suptitle("PGD-k throughput relative to torchattacks (same settings, same run)")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Adversarial training: the overhead above k + 1
#
# One epoch of PGD-k adversarial training (k = 7, as in cifar10_challenge)
# against k + 1 epochs of standard training on the same model, data and
# precision. A ratio of 1 is the floor. Below 1 is possible, because an
# attack step takes the input gradient only and skips the weight gradients.

# %% tags=["hide-input"]
for r in results.values():
    if not r["train"]:
        continue
    display(Markdown(f"**{r['provenance']['device']}**"))
    t = pd.DataFrame(r["train"])[
        [
            "model",
            "path",
            "k",
            "images",
            "standard_epoch_s",
            "adversarial_epoch_s",
            "overhead",
            "standard_images_per_s",
        ]
    ]
    display(
        t.style.format(
            {
                "standard_epoch_s": "{:.2f}",
                "adversarial_epoch_s": "{:.2f}",
                "overhead": "{:.3f}",
                "standard_images_per_s": "{:.0f}",
            }
        ).hide()
    )

# %% [markdown]
# ## Adversarial training throughput
#
# What limits how strong the book's `cpu` models can be is how many
# adversarial training images per second the loop gets through. One epoch of
# PGD-k training (k = 7, l_inf, the relative step rule) of a fresh copy of
# each model: ours is `train(model, data, mix="adversarial", attack=PGD...)`
# with its defaults (`precision="auto"`, the layout and the folded
# conv+BatchNorm attack forward applied by the library itself); the peer is
# a plain PyTorch loop (fp32, default layout) around torchattacks' `PGD` at
# the same k, step size, batch and optimizer. Images per second; the ratio
# is ours/torchattacks, measured interleaved in one run. The rows marked
# "cpu recipe" train the `cpu` profile's own model with its own training
# attack and batch (MNIST: the narrowed CNN, PGD-5; CIFAR-10: ResNet-8,
# one step from a random start); their last columns give what one Table 4
# run of that recipe (its epochs over the full training set) costs at the
# measured rates: ours, and the fp32 eager path the library had before its
# speed work.

# %% tags=["hide-input"]
throughput_rows = []
for r in results.values():
    for row in r.get("train_throughput", []):
        v = row["variants"]
        minutes = row.get("cpu_run", {}).get("minutes", {})
        throughput_rows.append(
            {
                "device": r["provenance"]["device"],
                "model": row["model"],
                "setup": row.get("setup", "bench"),
                "k": row["k"],
                "batch": row["batch"],
                "ours img/s": v["ours"].get("images_per_s", float("nan")),
                "ours fp32 img/s": v["ours_fp32"].get("images_per_s", float("nan")),
                "torchattacks img/s": v["torchattacks"].get("images_per_s", float("nan")),
                "ours/torchattacks": row["ratios"]["ours/torchattacks"],
                "ours_fp32/torchattacks": row["ratios"]["ours_fp32/torchattacks"],
                # one Table 4 run of the cpu recipe at each measured rate, in minutes
                **{
                    f"cpu run min ({label})": minutes.get(variant, float("nan"))
                    for label, variant in (("ours", "ours"), ("fp32 eager", "ours_fp32"))
                },
            }
        )
if throughput_rows:
    t = pd.DataFrame(throughput_rows)
    display(
        t.style.format("{:.0f}", subset=[c for c in t if c.endswith("img/s")])
        .format("{:.2f}", subset=[c for c in t if "/" in c])
        .format("{:.1f}", subset=[c for c in t if c.startswith("cpu run")], na_rep="-")
        .hide()
    )
else:
    display(Markdown("No training-throughput measurement committed yet."))
glue("perf_train_throughput_rows", len(throughput_rows), display=False)

# %% [markdown]
# ## Equal results
#
# Speed is worth nothing if the attack gets weaker. A model is adversarially
# trained, then the same test images are attacked with each path, from the
# same seeded random starts. The robust accuracy must agree within 0.5 point.
# The test suite checks the same on CPU, with `torch.compile` included
# (`tests/test_bench.py`).

# %% tags=["hide-input"]
for name, r in results.items():
    if r["equal"]:
        display(Markdown(f"**{r['provenance']['device']}**"))
        display(pd.DataFrame(r["equal"]).style.hide())
    for section, why in r.get("skipped", {}).items():
        display(Markdown(f"- `{name}`: section *{section}* not measured: {why}"))
    checks = r.get("gpu_checks") or {}
    if checks.get("checked"):
        line = "no host synchronization inside `pgd`" if not checks["syncs"] else checks["error"]
        graph = checks.get("graph_auto") or {}
        if graph:
            line += (
                f"; CUDA-graph path vs eager from the same start: max |difference| "
                f"{graph['max_abs_diff_vs_eager']:.1e}, attack success {graph['success_graph']:.3f}"
                f" vs {graph['success_eager']:.3f}"
            )
        display(Markdown(f"- `{name}`, GPU checks (CUDA sync debug mode set to error): {line}."))

# %% [markdown]
# ## Targets
#
# The targets the project set itself (issue "Speed"), checked against the
# measured ratios. A missed target says by how much.

# %% tags=["hide-input"]
target_rows = []
for r in results.values():
    for t in r["targets"]:
        target_rows.append({"device": r["provenance"]["device"], **t})
targets = pd.DataFrame(target_rows)
if len(targets):
    summary = (
        targets.groupby(["device", "target"])
        .agg(met=("met", "sum"), of=("met", "size"), worst=("value", "min"), best=("value", "max"))
        .reset_index()
    )
    display(summary.style.format({"worst": "{:.3f}", "best": "{:.3f}"}).hide())
    missed = targets[~targets.met]
    if len(missed):
        display(Markdown("Missed, by how much:"))
        display(
            missed[["device", "target", "where", "value", "short_by"]]
            .style.format({"value": "{:.3f}", "short_by": "{:.3f}"})
            .hide()
        )


def ratio_range(kind: str, key: str) -> tuple[float, float]:
    values = [
        row["ratios"][key]
        for r in results.values()
        if r["device_type"] == kind
        for row in r["attack"]
        if row["ratios"].get(key) is not None
    ]
    return (float(min(values)), float(max(values))) if values else (float("nan"), float("nan"))


for kind in ("cpu", "cuda"):
    for key in (
        "ours/torchattacks",
        "ours_fp32/torchattacks",
        "ours/floor_fp32",
        "ours_fp32/floor_fp32",
        "ours_graph/torchattacks",
    ):
        lo, hi = ratio_range(kind, key)
        tag = key.replace("/", "_vs_")
        glue(f"perf_{kind}_{tag}_min", lo, display=False)
        glue(f"perf_{kind}_{tag}_max", hi, display=False)
glue("perf_targets_met", int(targets.met.sum()) if len(targets) else 0, display=False)
glue("perf_targets", len(targets), display=False)

# %% [markdown]
# ## Why some targets are missed
#
# - **On this CPU (2 cores, AVX-512 BF16, no AMX)**, bf16 roughly doubles the
#   convolutions' rate. channels_last also removes oneDNN's layout reorders,
#   which is most of the fp32 gain on the mnist_challenge CNN. The
#   cifar10_challenge ResNet is narrow (16 to 64 channels), so its time goes
#   into BatchNorm, ReLU and the residual additions. Those are memory-bound
#   and stay in fp32 by design, so bf16 helps it less.
# - **On a GPU**, a PGD step of a small model takes microseconds of compute
#   and hundreds of kernel launches. The eager loop is bound by Python and by
#   launches: ours launches a few more kernels than torchattacks, for the
#   best-iterate bookkeeping, so eager ours is slower on the MNIST CNN. The
#   CUDA-graph path removes the launches and gives the speed-up. ResNet-50 is
#   compute-bound. There bf16 gains little over fp32, since cuDNN already
#   runs fp32 convolutions as TF32, and the input gradient of the first 7×7
#   convolution (3 channels) runs at a low rate in bf16.
# - `torch.compile(mode="reduce-overhead")` (CUDA graphs of the model only)
#   is measured when `--compile` is given. When it fails, the error is
#   recorded: see the `-compile` file above.

# %% [markdown]
# The ceiling on a CPU, per committed file: the bare bf16 loop (channels_last,
# k forward passes and input gradients, no bookkeeping) over the bare fp32
# loop, and ours over the bare bf16 loop. Ours runs at about its floor, and
# torchattacks at about the fp32 floor, so ours / torchattacks can exceed
# the bf16 / fp32 ratio of the bare loops only by what torchattacks loses to
# its own floor. Machines of one name differ here (`cpu_id` in the list above).

# %% tags=["hide-input"]
ceiling_rows = [
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
ceiling = pd.DataFrame(ceiling_rows)
if len(ceiling):
    per_file = (
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
    display(per_file.style.format(precision=2).hide())
glue("perf_ceiling_rows", len(ceiling), display=False)
glue(
    "perf_cpu_ceiling_min",
    float(ceiling["bf16 floor / fp32 floor"].min()) if len(ceiling) else float("nan"),
    display=False,
)

# %% [markdown]
# ## `torch.compile` on this CPU
#
# Inductor could fuse the ResNet's BatchNorm and ReLU, the memory-bound part
# of its step. `lab/trials/compile_trial.py` measures it on both `cpu` models:
# PGD-10 at batch 128, and one training epoch of the profile's own recipe,
# each eager (the default path) against `torch.compile` (mode "default"),
# after a first call that compiles. A ratio above 1 means compiling wins.


# %% tags=["hide-input"]
def show_trial(name: str, script: str, rows_of, caption_of) -> list[dict]:
    """The committed trial ``lab/results/<name>.json`` as a table (rows by
    model), under its provenance; [] with a note when none is committed."""
    path = runtime.PROJECT_ROOT / "lab" / "results" / f"{name}.json"
    if not path.exists():
        display(Markdown(f"No `{name}` trial is committed: run `lab/trials/{script} --out ...`."))
        return []
    trial = json.loads(path.read_text())
    rows = rows_of(trial)
    display(Markdown(f"`lab/results/{name}.json`: {caption_of(trial, trial['provenance'])}"))
    display(pd.DataFrame(rows).set_index("model").style.format("{:.2f}"))
    return rows


def run_of(prov: dict) -> str:
    """Where and with what a one-process trial ran: device, torch, threads, commit, date."""
    return (
        f"{prov['device']}, torch {prov['torch']}, {prov['torch_threads']} thread(s), "
        f"commit {prov['commit']}, {prov['date']}"
    )


compile_rows = show_trial(
    "compile-cpu",
    "compile_trial.py",
    lambda trial: [
        {
            "model": r["model"],
            "attack: eager / compiled": r["eager/compiled"]["attack"],
            "training: eager / compiled": r["eager/compiled"]["train"],
            "first training epoch, compiled / eager": r["train_first_epoch_s"]["compiled"]
            / r["train_first_epoch_s"]["eager"],
        }
        for r in trial["rows"]
    ],
    lambda trial, prov: (
        f"{run_of(prov)}; {trial['rows'][0]['images']} images an epoch, median of "
        f"{prov['args']['rounds']} interleaved rounds."
    ),
)
for kind in ("attack", "training"):
    values = [r[f"{kind}: eager / compiled"] for r in compile_rows]
    glue(f"perf_compile_{kind}_best", max(values, default=float("nan")), display=False)
glue("perf_compile_rows", len(compile_rows), display=False)

# %% [markdown]
# The best speed-up of compiling is {glue:text}`perf_compile_attack_best:.2f`x
# for the attack and {glue:text}`perf_compile_training_best:.2f`x for
# training (below 1: a slow-down). The default path stays eager on the CPU
# unless a ratio here is clearly above 1: compiling also costs the first
# epoch's compile time, and every new input shape compiles again.

# %% [markdown]
# ## The MNIST CNN's first conv
#
# For a one-channel input, oneDNN's backward-data kernel is slow on this CPU,
# and an attack takes the input gradient at every step. The MNIST CNN's first
# conv (`lib.models.InputConv2d`) computes it as a depthwise conv of the output
# gradient with the flipped filters, summed over the filters: the same sums,
# the same forward and weight gradients. `lab/trials/input_conv_trial.py` times
# the `cpu` MNIST model with it and with a conv of the same parameters that
# keeps oneDNN's kernel, in one process, interleaved. A ratio above 1 means
# the fast layer wins.


# %% tags=["hide-input"]
input_conv_rows = show_trial(
    "input-conv-cpu",
    "input_conv_trial.py",
    lambda trial: [
        {
            "model": r["model"],
            "PGD-10, bf16: plain / fast": r["plain/fast"]["attack_bf16"],
            "PGD-10, fp32: plain / fast": r["plain/fast"]["attack_fp32"],
            "PGD-5 training epoch: plain / fast": r["plain/fast"]["train"],
        }
        for r in trial["rows"]
    ],
    lambda trial, prov: (
        f"{run_of(prov)}; batch 128, {trial['rows'][0]['images']} images an epoch, median "
        f"of {prov['args']['rounds']} interleaved rounds."
    ),
)
glue("perf_input_conv_rows", len(input_conv_rows), display=False)

# %% [markdown]
# ## A user's own grayscale CNN
#
# The bench attacks the library's models, and torchattacks attacks the same
# model, so it gains from that layer too. A user's model is built from plain
# `nn.Conv2d` layers: `attacks.pgd` gives a plain one-channel conv the same
# fast input gradient for the call (`lib.attacks.fast.one_channel_convs`),
# besides bf16 and channels_last. `lab/trials/user_cnn_trial.py` times the
# README's call, `pgd(model, x, y, eps=0.3, norm="inf", steps=10, ...)`, on
# two CNNs written as `nn.Sequential` (the paper's MNIST network and a small
# one), against torchattacks' PGD, and the same call with the first conv
# left to oneDNN's kernel (a subclass of `nn.Conv2d`, which the attack leaves
# alone). The target is 2.5x torchattacks.


# %% tags=["hide-input"]
user_cnn_rows = show_trial(
    "user-cnn-cpu",
    "user_cnn_trial.py",
    lambda trial: [
        {
            "model": r["model"],
            "ours / torchattacks": r["ours/torchattacks"],
            "oneDNN's input gradient / torchattacks": r["ours_onednn/torchattacks"],
            "oneDNN's / ours (time)": r["ours_onednn/ours"],
        }
        for r in trial["rows"]
    ],
    lambda trial, prov: (
        f"{run_of(prov)}; batch {trial['rows'][0]['batch']}, PGD-{trial['rows'][0]['steps']} "
        f"l_inf, {trial['rows'][0]['precision']}, median of {prov['args']['rounds']} "
        "interleaved rounds."
    ),
)
glue("perf_user_cnn_rows", len(user_cnn_rows), display=False)
for key, column in (("best", "ours / torchattacks"), ("gain", "oneDNN's / ours (time)")):
    glue(
        f"perf_user_cnn_{key}",
        max((r[column] for r in user_cnn_rows), default=float("nan")),
        display=False,
    )

# %% [markdown]
# On a user's CNN the README's call runs at up to
# {glue:text}`perf_user_cnn_best:.2f`x torchattacks' speed, and the fast
# input gradient makes it up to {glue:text}`perf_user_cnn_gain:.2f`x faster
# than with oneDNN's kernel (nan: no trial committed).

# %% [markdown]
# ## How near the ceiling is a training step?
#
# `lab/trials/roofline_trial.py` counts the matrix-multiply and convolution FLOPs
# of one `cpu`-recipe training step (`torch.utils.flop_counter`; element-wise
# work such as BatchNorm and ReLU is not counted) and divides by the step's
# time; the ceiling is a 2,048-square bf16 matrix multiply on the same
# thread(s). A step near 1 can only get faster by doing less arithmetic.


# %% tags=["hide-input"]
roofline_rows = show_trial(
    "roofline-cpu",
    "roofline_trial.py",
    lambda trial: [
        {
            "model": r["model"],
            "adversarial step: GFLOP/s": r["adversarial"]["gflops"],
            "adversarial step / ceiling": r["adversarial"]["of_gemm"],
            "standard step / ceiling": r["clean"]["of_gemm"],
            "ceiling: GFLOP/s": r["gemm_bf16_gflops"],
        }
        for r in trial["rows"]
    ],
    lambda trial, prov: (
        f"{run_of(prov)}; each recipe's own model, batch, training attack and precision, "
        f"median of {prov['args']['rounds']} rounds."
    ),
)
glue(
    "perf_roofline_best",
    max((r["adversarial step / ceiling"] for r in roofline_rows), default=float("nan")),
    display=False,
)

# %% [markdown]
# The adversarial step nearest the ceiling runs at
# {glue:text}`perf_roofline_best:.0%` of it (nan: no trial committed).

# %% [markdown]
# ## Training runs side by side
#
# A chapter trains its missing runs in worker processes (`lib.parallel`):
# on a CPU, two workers with half the cores' threads each. A small model's
# step at batch 128 leaves cores idle in one process (serial Python, kernels
# too small to split). `lab/trials/jobs_trial.py` measures the whole machine's
# adversarial images per second on each `cpu` recipe: one process with
# every core's thread against the workers at the same time. The workers
# take the costliest runs first, and runs too unequal to share (one four
# times the other) stay in one process with every thread
# (`lib.parallel.workers_pay`, from the recipes alone).


# %% tags=["hide-input"]
def _workers_row(r: dict) -> dict:
    workers = next(v for k, v in r.items() if k.endswith(" workers"))
    return {
        "model": r["model"],
        "one process: images/s": r["one process"]["images_per_s"],
        "workers: images/s": sum(w["images_per_s"] for w in workers),
        "workers / one process": r["workers/one process"],
    }


jobs_rows = show_trial(
    "jobs-cpu",
    "jobs_trial.py",
    lambda trial: [_workers_row(r) for r in trial["rows"]],
    lambda trial, prov: (
        f"{prov['device']}, {prov['cores']} cores, {prov['args']['jobs']} workers of "
        f"{prov['cores'] // prov['args']['jobs']} thread(s), torch {prov['torch']}, "
        f"commit {prov['commit']}, {prov['date']}; median of {prov['args']['rounds']} "
        f"epochs of {prov['args']['images']} images."
    ),
)
glue("perf_jobs_rows", len(jobs_rows), display=False)
glue(
    "perf_jobs_best",
    max((r["workers / one process"] for r in jobs_rows), default=float("nan")),
    display=False,
)

# %% [markdown]
# The best ratio here is {glue:text}`perf_jobs_best:.2f`x. Short trials
# on this shared machine scatter widely between runs; the README gives the
# gain measured on the same runs of two whole cold builds. The bench's
# ratios above are one training loop against one; this is how the book's
# build spends the machine.

# %% [markdown]
# ## Reproduce
#
# ```bash
# make bench                      # full size on this machine, ~15 min on 2 CPU cores
# make bench SIZE=quick           # batch 128 only, 2 rounds
# python -m lib.bench --device cuda --compile reduce-overhead   # on a GPU
# ```

# %% tags=["hide-input"]
if profile == "smoke":
    # The page's own code path, end to end, at the tiny size: no timing claim.
    live = bench.run(
        bench.SIZES["tiny"], "cpu", sections=("attack", "train", "train_throughput"), progress=False
    )
    glue("perf_live_rows", len(live["attack"]), display=False)
    glue("perf_live_throughput_rows", len(live["train_throughput"]), display=False)
    print(bench.table(live).splitlines()[0])
glue("build_note", Markdown(chapter.build_note(profile, seed, "cpu", timer.seconds)), display=False)
