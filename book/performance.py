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
# The numbers of the bench sections come from `results/bench/<device>.json`,
# written by `make bench` (`python -m lib.bench`) in one process: a warm-up,
# then rounds that interleave the variants, median over rounds; those of the
# later trials from `lab/results/<trial>.json`, written by the scripts of
# `lab/trials/`. Only ratios measured in the same run are compared. The
# variants:
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
import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Markdown, display
from myst_nb import glue

from lib import bench, chapter
from lib.bench import paper_cost
from lib.chapters import performance as perf
from lib.chapters import performance_trials as trials
from lib.experiments import profiles

timer = chapter.start()


def glue_all(values: dict) -> None:
    """Glue each computed value under its name, for the prose (nothing shown here)."""
    for name, value in values.items():
        glue(name, value, display=False)


# %% tags=["parameters"]
profile = "cpu"  # smoke | cpu | paper
seed = 0  # unused: the page reads stored measurements

# %% tags=["hide-input"]
profile = profiles.check_profile(profile)
results = perf.load_results()
glue("perf_result_files", len(results), display=False)
Markdown(perf.files_note(results))

# %% [markdown]
# ## Attack throughput
#
# Throughput is images × steps per second. A ratio above 1 means ours is
# faster. The columns are ours/torchattacks, ours/floor fp32, ours/floor ours
# for the fast path, then the same three for the fp32 path.

# %% tags=["hide-input"]
for name, r in results.items():
    if r["attack"]:
        display(Markdown(f"**{r['provenance']['device']}** (`{name}.json`)"))
        table = perf.attack_table(r)
        ratios = [c for c in table if "/" in c]
        throughputs = [c for c in table if "/" not in c]
        display(table.style.format("{:.0f}", subset=throughputs).format("{:.2f}", subset=ratios))

# %% mystnb={"figure": {"caption": "Not a figure of the paper: PGD-k throughput of our paths relative to torchattacks (same settings, same run), one panel per committed bench file."}} tags=["hide-input"]
measured = [(name, r) for name, r in results.items() if r["attack"]]
ncols = min(2, max(1, len(measured)))  # two panels a row: tick labels legible at page width
nrows = max(1, -(-len(measured) // ncols))
fig, axes = plt.subplots(nrows, ncols, figsize=(6.5 * ncols, 4 * nrows), squeeze=False)
for ax in axes.flat[len(measured) :]:
    ax.axis("off")
for ax, (name, r) in zip(axes.flat, measured, strict=False):
    t = perf.attack_table(r)
    perf.plotted_ratios(t).plot.bar(ax=ax, width=0.8)
    ax.axhline(1, color="black", lw=0.8)
    ax.set_ylabel("throughput / torchattacks'")
    ax.set_title(f"{r['provenance']['device']} ({name}.json)", fontsize=10)
    ax.set_xticklabels([f"{m.replace('_', ' ')}\n{b} {n}" for m, b, n in t.index], fontsize=8)
    ax.set_xlabel("")
    ax.legend(fontsize=8)
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
    if r["train"]:
        display(Markdown(f"**{r['provenance']['device']}**"))
        seconds = {"standard_epoch_s": "{:.2f}", "adversarial_epoch_s": "{:.2f}"}
        formats = seconds | {"overhead": "{:.3f}", "standard_images_per_s": "{:.0f}"}
        display(perf.train_table(r).style.format(formats).hide())

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
t = perf.throughput_table(results)
glue("perf_train_throughput_rows", len(t), display=False)
if len(t):
    display(
        t.style.format("{:.0f}", subset=[c for c in t if c.endswith("img/s")])
        .format("{:.2f}", subset=[c for c in t if "/" in c])
        .format("{:.1f}", subset=[c for c in t if c.startswith("cpu run")], na_rep="-")
        .hide()
    )
else:
    display(Markdown("No training-throughput measurement committed yet."))

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
    for line in perf.notes(name, r):
        display(Markdown(line))

# %% [markdown]
# ## Targets
#
# The targets the project set itself (issue "Speed"), checked against the
# measured ratios. A missed target says by how much.

# %% tags=["hide-input"]
targets = perf.targets_table(results)
glue_all(perf.targets_glued(targets) | perf.ratio_glued(results))
if len(targets):
    summary = perf.targets_summary(targets)
    display(summary.style.format({"worst": "{:.3f}", "best": "{:.3f}"}).hide())
    missed = targets[~targets.met][["device", "target", "where", "value", "short_by"]]
    if len(missed):
        display(Markdown("Missed, by how much:"))
        display(missed.style.format({"value": "{:.3f}", "short_by": "{:.3f}"}).hide())

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
ceiling = perf.ceiling_table(results)
glue_all(perf.ceiling_glued(ceiling))
if len(ceiling):
    display(perf.ceiling_per_file(ceiling).style.format(precision=2).hide())

# %% [markdown]
# ## `torch.compile` on this CPU
#
# Inductor could fuse the ResNet's BatchNorm and ReLU, the memory-bound part
# of its step. `lab/trials/compile_trial.py` measures it on both `cpu` models:
# PGD-10 at batch 128, and one training epoch of the profile's own recipe,
# each eager (the default path) against `torch.compile` (mode "default"),
# after a first call that compiles. A ratio above 1 means compiling wins.


# %% tags=["hide-input"]
def show_trial(name: str) -> None:
    """The committed trial ``lab/results/<name>.json`` as a table (rows by model) under its
    provenance, or a note when none is committed; glues its numbers."""
    rows, text = trials.trial(name)
    display(Markdown(text))
    if rows:
        # two decimals for the measurements; text columns (a precision) as they are
        display(pd.DataFrame(rows).set_index("model").style.format(precision=2))
    glue_all(trials.trial_glued(name, rows))


show_trial("compile-cpu")

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
show_trial("input-conv-cpu")

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
show_trial("user-cnn-cpu")

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
# time; the ceiling is a 2,048-square matrix multiply, at the step's own
# precision (bf16 where the CPU has it, fp32 elsewhere), on the same
# thread(s). A step near 1 can only get faster by doing less arithmetic.


# %% tags=["hide-input"]
show_trial("roofline-cpu")

# %% [markdown]
# The adversarial step nearest the ceiling runs at
# {glue:text}`perf_roofline_best:.0%` of it (nan: no trial committed).

# %% [markdown]
# ## Training runs side by side
#
# A chapter trains its missing runs in worker processes (`lib.experiments.execute.parallel`):
# on a CPU, two workers with half the cores' threads each. A small model's
# step at batch 128 leaves cores idle in one process (serial Python, kernels
# too small to split). `lab/trials/jobs_trial.py` measures the whole machine's
# adversarial images per second on each `cpu` recipe: one process with
# every core's thread against the workers at the same time. The workers
# take the costliest runs first, and runs too unequal to share (one four
# times the other) stay in one process with every thread
# (`lib.experiments.execute.parallel.workers_pay`, from the recipes alone).


# %% tags=["hide-input"]
show_trial("jobs-cpu")

# %% [markdown]
# The best ratio here is {glue:text}`perf_jobs_best:.2f`x. Short trials
# on this shared machine scatter widely between runs; `lab/builds.md` gives the
# gain measured on the same runs of two whole cold builds. The bench's
# ratios above are one training loop against one; this is how the book's
# build spends the machine.

# %% [markdown]
# ## What the paper profile costs
#
# The `paper` profile trains the paper's architectures on the full data sets:
# GPU work. The table counts its runs and strong evaluations per chapter from
# the same grids the chapters run, and turns them into hours on one GPU. Until
# `make gpu-first-contact` has measured the seconds per training pass on a GPU,
# those seconds are assumed, and the table says so.

# %% tags=["hide-input"]
display(Markdown(paper_cost.summary()))

# %% [markdown]
# On a GPU machine, `make gpu-first-contact` checks everything the paper
# profile needs in about nine minutes, with nothing to install, and measures
# those rates. Then `make sweep PROFILE=paper GRID=price` (and `GRID=trades`),
# `make strong-evals PROFILE=paper` and `make book PROFILE=paper` build the
# book at the paper's scale, with no cell timeout; `EXECUTOR=ray ADDRESS=...`
# spreads the sweeps over a cluster (`docs/running.md`).

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
    # The page's own code path, end to end, at the tiny size: no timing claim, nothing shown.
    live = bench.run(
        bench.SIZES["tiny"], "cpu", sections=("attack", "train", "train_throughput"), progress=False
    )
    glue("perf_live_rows", len(live["attack"]), display=False)
    glue("perf_live_throughput_rows", len(live["train_throughput"]), display=False)
    bench.table(live)  # the bench's own table renders (its text is not shown)
glue("build_note", Markdown(chapter.build_note(profile, seed, "cpu", timer.seconds)), display=False)
