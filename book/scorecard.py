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
#   mystnb:
#     execution_mode: force
# ---

# %% [markdown]
# # Scorecard
#
# Every claim of the paper's ledger ({doc}`../docs/claims`) with the paper's
# statement, our number and the verdict. The counts come first; each row
# below folds away how its verdict was reached. Nothing here is typed by
# hand: each chapter writes its reproduction table to a claim file when it
# runs, and this page reads the files of the build that just ran. (Its code
# is hidden; the download menu above has it.)

# %% [markdown]
# ```{glue:md} build_note
# :format: myst
# ```

# %% tags=["remove-input"]

import pandas as pd
from IPython.display import HTML, Markdown, display
from myst_nb import glue

from lib import chapter, runtime
from lib import scorecard as card
from lib.chapters import scorecard as sc
from lib.experiments import profiles
from lib.paper import claims

timer = chapter.start()

# %% tags=["parameters", "remove-input"]
profile = "cpu"  # smoke | cpu | paper: whose claim files to show
seed = 0  # unused: this page computes nothing random

# %% tags=["remove-input"]
profile = profiles.check_profile(profile)
records = chapter.load_results(profile)
rows = chapter.scorecard_rows(records)
beyond = chapter.scorecard_rows(records, ledger=claims.BEYOND)
book = runtime.PROJECT_ROOT / "book"
paper_statement, reproduction_href = sc.paper_statement, sc.reproduction_href
glued = sc.glued(records, rows, beyond)
for name, value in glued.items():
    glue(name, value, display=False)
display(HTML(sc.counts_html(rows, beyond, book)))

# %% [markdown]
# A claim's verdict combines its rows: the weakest row wins, so a failure on
# one data set is never hidden by a success on another (rules in
# `lib/verdicts/`; rows not run are left out). Within a chapter, a claim
# of several parts refutes only where a part does beyond the noise of that
# many tests (a Bonferroni correction), so many null parts do not add up to
# a refutation.
#
# An inconclusive row says why, in small type under its verdict:
# *within noise* (the effect lies within the noise of the rule's threshold),
# *below the rule's power* (too few images, no noise estimate, or an
# interval wider than the agreement the claim asks for), *a bound only* (the
# evidence bounds the quantity from one side), or *proxy* (a stand-in, such
# as a model judging how images look, that cannot confirm the claim and so
# may not refute it). Rows from claim files older than these kinds show none.
#
# Setup facts (P4, S1-S4: what we built, checked against the paper or the
# authors' code) are counted apart; one that departs from the paper on
# purpose (the `cpu` profile's smaller models) stays checked and says so. A claim tested on several data sets may have a row per data set,
# e.g. a Restricted ImageNet row that is not run when the data root has no
# ImageNet. Verdicts at the `cpu` profile compare trends at reduced scale,
# not the paper's numbers; each chapter's reproduction table says what was
# compared.
#
# ## Claim by claim
#
# Our number is cut to its first {glue:text}`scorecard_headline_words` words
# where it is longer; "how the verdict was reached" unfolds it whole, with
# the rule's derivation. The link under each ID goes to the chapter's
# reproduction table.

# %% tags=["remove-input"]
display(HTML(card.claim_table(rows, paper_statement, reproduction_href)))

# %% [markdown]
# ## Beyond the paper
#
# Claims of later work that the chapter {ref}`Is the trade-off inherent?
# <trade_off_inherent-reproduction>` tests on the book's own data and models
# (X1-X4 of the second ledger, {doc}`../docs/claims_beyond`). They are not
# the paper's, and the paper's counts above leave them out.

# %% tags=["remove-input"]
display(HTML(card.claim_table(beyond, paper_statement, reproduction_href, "later work")))

# %% [markdown]
# ## Where the numbers come from
#
# {glue:text}`scorecard_chapters_run` of the {glue:text}`scorecard_chapters`
# chapters that report claims have a claim file at this profile. Each was
# written when its chapter last ran; a chapter the book's cache did not need
# to rerun keeps the file of its last run, whose commit is shown.

# %% tags=["remove-input"]
head = runtime.git_commit().removesuffix("+dirty")
provenance = pd.DataFrame(
    [
        {
            "chapter": chapter,
            "profile": rec["profile"] if rec else "-",
            "seed": rec["seed"] if rec else "-",
            "device": rec["device"] if rec else "-",
            "torch": rec["torch"] if rec else "-",
            "commit": (
                rec["commit"][:12]
                + ("" if rec["commit"].removesuffix("+dirty") == head else " (earlier)")
                + (" +dirty" if rec["commit"].endswith("+dirty") else "")
            )
            if rec
            else "-",
            "wall time (s)": rec["seconds"] if rec else "-",
            "written (UTC)": rec["date"] if rec else "not run",
        }
        for chapter in claims.chapters()
        for rec in [records.get(chapter)]
    ]
).set_index("chapter")
provenance

# %% tags=["remove-input"]
glue(
    "build_note",
    Markdown(
        chapter.build_note(
            profile,
            seed,
            "cpu",
            timer.seconds,
            extra=f"It shows the `{profile}` claim files. Claims with a row not run "
            f"(a chapter that has not run, or a panel whose data is absent, such as "
            f"Restricted ImageNet): {glued['scorecard_not_run_text']}.",
        )
    ),
    display=False,
)
