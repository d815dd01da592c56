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
# # Experimental setup
#
# This chapter covers Appendix A of the paper: the data sets, the models, the
# eps of Tables 2 and 3, the PGD adversary, and the classes of Restricted
# ImageNet (Table 1). It trains nothing. Everything in it is read from `lib`,
# the library the other chapters also use, so the settings shown here are the
# ones those chapters run with.

# %% [markdown]
# ```{glue:md} build_note
# :format: myst
# ```

# %% tags=["hide-input"]
import dataclasses

import matplotlib.pyplot as plt
from IPython.display import Markdown, display
from myst_nb import glue

from lib import chapter, data, plots, runtime
from lib.chapters import setup, setup_facts
from lib.data import imagenet
from lib.experiments import profiles

timer = chapter.start()


def glue_all(values: dict) -> None:
    """Glue every ``{name: value}`` without showing it: the prose shows them."""
    for name, value in values.items():
        glue(name, value, display=False)


# %% tags=["parameters"]
profile = "cpu"  # smoke | cpu | paper
seed = 0  # seeds the sample images shown

# %% tags=["hide-input"]
profile, device = chapter.setup(profile)
generator = runtime.seed_everything(seed)

# %% [markdown]
# ## Data sets (Appendix A.1)
#
# MNIST {cite:p}`lecun1998gradient` and CIFAR-10 {cite:p}`krizhevsky2009learning` are loaded through `lib.data.load` from one data root
# (`ODDS_DATA`). Binary MNIST keeps only the digits "5" (the paper's label
# -1, our class 0) and "7" (label +1, class 1). Images are kept as uint8
# tensors and scaled to [0, 1] when a batch is drawn. Every eps in this book
# is in that [0, 1] pixel space.

# %%
loaded, subset_notes = setup.load_all()
glue_all(setup.sizes_glued(loaded))
setup.sizes_table(loaded)

# %% tags=["hide-input"]
if subset_notes:
    display(Markdown(":::{warning}\n" + "\n\n".join(subset_notes) + "\n:::"))

# %% [markdown]
# One test image of each class, drawn with the chapter's seed
# (`lib.chapters.setup.one_per_class`):

# %% tags=["hide-input"] mystnb={"figure": {"caption": "One test image per class of MNIST (top row), binary MNIST (its two classes, the 5s and 7s) and CIFAR-10 (bottom row); not a figure of the paper."}}
setup.samples_figure(loaded, generator)
plt.show()

# %% [markdown]
# ## Models (Appendix A.2)
#
# | data set | the paper's model | here |
# |---|---|---|
# | binary MNIST | linear, $w \in \mathbb{R}^{784}, b \in \mathbb{R}$ | `LinearModel` |
# | MNIST | the TensorFlow tutorial CNN of MadryLab/mnist_challenge | `MnistCNN` |
# | CIFAR-10 | ResNet, filters (16, 16, 32, 64), 5 residual units per group (cifar10_challenge) | `CifarResNet` |
# | Restricted ImageNet | ResNet-50 {cite:p}`he2016deep` | torchvision `resnet50`, 9 outputs |
#
# Every model normalizes its input inside (the first layer), so attacks
# and eps always act on [0, 1] pixels. The `cpu` and `smoke` profiles use
# narrower or shallower versions of the same architectures. The table below
# counts the parameters of both:

# %%
model_table = setup.model_table(profile)
glue_all(setup.model_glued(model_table))
model_table.style.format(thousands=",")

# %% [markdown]
# The mnist_challenge CNN has {glue:text}`S1_mnist_cnn_params:,` parameters:
# conv 5x5x32, max-pool, conv 5x5x64, max-pool, fc 1024, fc 10. The CIFAR-10
# ResNet has {glue:text}`S1_cifar_resnet_params:,`. Its residual units are
# pre-activation units; where the width or the resolution changes, the
# shortcut average-pools and zero-pads the new channels, as in
# cifar10_challenge.

# %% [markdown]
# ## The eps of Tables 2 and 3 (Appendix A.3, A.4)
#
# Table 2 gives the eps used to train and evaluate robust models. Table 3
# gives the larger eps of the Figure 3 examples. Both are in [0, 1] pixel
# space: an $\ell_\infty$ eps is a per-pixel bound, an $\ell_2$ eps a bound on
# the norm of the whole perturbation.


# %%
table2 = setup.eps_table(
    profiles.TABLE2_EPS, ["binary_mnist", "mnist", "cifar10", "restricted_imagenet"]
)
table3 = setup.eps_table(profiles.TABLE3_EPS, ["mnist", "cifar10", "restricted_imagenet"])
glue_all(setup.table2_glued())
display(Markdown("**Table 2**: eps for adversarial training and evaluation"), table2)
display(Markdown("**Table 3**: eps of the large-eps examples"), table3)

# %% [markdown]
# ## The PGD adversary
#
# The paper trains against projected gradient descent with a random start
# {cite:p}`madry2018towards` but does not give the number of steps or the step
# size. The `paper` profile uses the authors' released code where it
# exists. MNIST follows mnist_challenge ({glue:text}`S3_mnist_steps` steps of
# {glue:text}`S3_mnist_step` at eps {glue:text}`S3_mnist_eps`). CIFAR-10 follows
# cifar10_challenge: it trains with {glue:text}`S3_cifar_train_steps` steps of
# eps/{glue:text}`S3_cifar_train_div` and evaluates with
# {glue:text}`S3_cifar_eval_steps` steps of eps/{glue:text}`S3_cifar_eval_div`.
# Restricted ImageNet follows robust-features-code: {glue:text}`S3_ri_steps`
# steps of eps/{glue:text}`S3_ri_div`. The reduced profiles depart from these
# by design, to fit their budget; what the profile of this build runs is
# below. Every setting in the table is given relative to eps and used at
# Table 2's eps.
#
# The implementation is `lib.attacks.pgd`. The random start is uniform in the
# eps-ball: a uniform cube for $\ell_\infty$, and for $\ell_2$ uniform in the
# ball's volume, not on its sphere (in 784 or more dimensions nearly all that
# volume lies close to the sphere). Attacks use the true label, never the
# model's prediction. The model is in eval mode during an attack, so BatchNorm
# uses its running statistics. Each example keeps its best iterate: a point
# that fools the model beats one that does not, and among equals the higher
# loss wins.

# %%
glue_all(setup.authors_pgd_glued())
display(Markdown(setup.profile_pgd_text(profile)))
setup.pgd_table(profile)

# %% [markdown]
# ## Restricted ImageNet (Table 1)
#
# The paper groups ImageNet classes into super-classes. The ranges below are
# inclusive and refer to ImageNet class indices, which follow the sorted wnid
# order that torchvision's `ImageFolder` uses. The text of the paper gives
# fewer super-classes than Table 1, which lists
# {glue:text}`S2_ri_superclasses`, as the authors' code does. Two variants
# exist, and `lib.data.restricted_imagenet_classes(variant)` builds either one:
#
# - `"robustness"` keeps every class of the ranges, as MadryLab/robustness does.
# - `"paper"` follows the paper's own training code, which keeps only
#   {glue:text}`S2_ri_dogs_paper` of the {glue:text}`S2_ri_dogs_robustness`
#   dog classes.

# %%
glue_all(setup.ri_glued())
setup.ri_table()

# %% [markdown]
# The `robustness` variant has {glue:text}`S2_ri_classes_robustness` ImageNet
# classes and the `paper` variant {glue:text}`S2_ri_classes_paper`, in
# {glue:text}`S2_ri_superclasses` super-classes. Dogs make up most of the
# first variant, so every Restricted ImageNet accuracy in this book is
# reported twice: plain, and balanced over classes.
#
# ImageNet class index $i$ is the $i$-th wnid in sorted order, the order
# torchvision's `ImageFolder` gives an ImageNet train folder. The book ships
# the 1000 wnids in that order (`lib/data/imagenet_wnids.txt`, public ILSVRC-2012
# metadata) and reads only the wnid folders of the ranges, so the labels
# do not depend on which other classes a folder holds.
#
# ### Images per variant
#
# The paper variant's training set is the authors' published list. Every
# ImageNet class has 50 validation images, which gives the test sets. The
# robustness variant's training-set size is not published: it is counted from
# the ImageNet folder when one is there.

# %%
counted = setup.count_imagenet()  # None without an ImageNet folder
glue_all(setup.variant_glued(counted))
setup.variant_table(counted).style.format(thousands=",")

# %% [markdown]
# The paper variant has {glue:text}`S2_ri_train_images_paper:,` training
# images in the authors' list and {glue:text}`S2_ri_test_images_paper:,`
# test images; the robustness variant has
# {glue:text}`S2_ri_test_images_robustness:,` test images. One training
# "epoch" is {glue:text}`S2_ri_epoch_images:,` images, drawn at random, as
# in the paper (Appendix A.2).
#
# ### Reading ImageNet
#
# ImageNet is never downloaded by this book (its licence and size forbid
# it). The book looks for it in one place: the folder named by the
# environment variable `ODDS_IMAGENET` when that is set, else
# `<ODDS_DATA>/imagenet`. That folder has the usual layout,
# `train/<wnid>/*.JPEG` and `val/<wnid>/*.JPEG`, with the validation images
# sorted into wnid folders. A missing folder, a missing wnid folder or an
# unknown variant fails at once with a message that names it.
#
# The input pipeline is built for a GPU (`lib.data.imagenet`). DataLoader worker
# processes decode the JPEGs, one per core but one. For training they apply
# a random-resized crop to 224 pixels and a horizontal flip. For evaluation
# they resize to 256 and take the center 224. Batches travel as uint8 from
# pinned memory with non-blocking copies, are scaled to [0, 1] on the device,
# and are normalized inside the model. The reduced profiles use smaller
# crops and ResNets (the model table above).

# %% tags=["hide-input"]
if counted is not None:
    display(setup.per_class_table(counted))
else:
    display(
        Markdown(
            ":::{admonition} No ImageNet on this machine\n:class: note\n"
            f"`{imagenet.imagenet_root()}` holds no ImageNet, so the image counts above "
            "are the published ones and no Restricted ImageNet images are shown. Point "
            "`ODDS_IMAGENET` at an ImageNet folder (or put it at `<ODDS_DATA>/imagenet`) "
            "and rebuild to count and show them.\n:::"
        )
    )

# %% tags=["hide-input"] mystnb={"figure": {"caption": "One validation image of each Restricted ImageNet super-class (paper variant), as the evaluation pipeline crops it; not a figure of the paper."}}
if counted is not None:
    te = data.load("restricted_imagenet", "test", variant="paper", crop=160, workers=0)
    picks = [int((te.y == c).nonzero()[0]) for c in range(te.num_classes)]
    shown = dataclasses.replace(te, samples=tuple(te.samples[i] for i in picks))
    images, labels = next(shown.batches(len(picks)))
    plots.image_grid(images, [te.classes[i] for i in labels], ncols=9, size=1.3)
    plt.show()

# %% [markdown]
# (setup-reproduction)=
# ## Reproduction table

# %% [markdown]
# Setup facts are `checked` (counted apart from the paper's claims): each value
# computed from the library's settings is compared with its reference
# (`lib.chapters.setup.LEDGER`: the parameter counts worked out from the
# authors' layer shapes, Table 1's counts, the ledger's Table 2, the authors'
# PGD settings). S1, S3 and P4 check two things: that the `paper` profile is
# the paper's setup, and what the profile of this build runs: its models'
# parameter counts, its PGD, and the eps its adversarial runs train at with a
# random start. Where that profile departs from the paper, the row says
# "differs by design" and why, with the numbers read from its settings: a
# departure the profile declares (`lib.chapters.setup_facts.BY_DESIGN`) keeps the
# row `checked`; an undeclared one makes it "not reproduced". Restricted
# ImageNet's runs need ImageNet: without it their facts are "not run".

# %% tags=["hide-input"]
rows = setup_facts.claim_rows(model_table, profile, counted)
record = chapter.finish("setup", rows, profile=profile, seed=seed, device=device, timer=timer)
