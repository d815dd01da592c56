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
from collections import Counter

import pandas as pd
from IPython.display import HTML, Markdown, display
from myst_nb import glue

from lib import chapter, claims, profiles, runtime
from lib import scorecard as card
from lib import verdicts as V

timer = chapter.start()

# %% tags=["parameters", "remove-input"]
profile = "cpu"  # smoke | cpu | paper: whose claim files to show
seed = 0  # unused: this page computes nothing random

# %% tags=["remove-input"]
profile = profiles.resolve(profile)
records = chapter.load_results(profile)
rows = chapter.scorecard_rows(records)
beyond = chapter.scorecard_rows(records, ledger=claims.BEYOND)
book = runtime.PROJECT_ROOT / "book"


def chapter_title(chapter: str) -> str:
    """The title of a chapter: the first heading of book/<chapter>.py."""
    for line in (book / f"{chapter}.py").read_text().splitlines():
        if line.startswith("# # "):
            return line[4:].strip()
    raise ValueError(f"book/{chapter}.py has no '# # Title' line")


def reproduction_href(row: dict) -> str:
    """The chapter's reproduction table: its ``(<chapter>-reproduction)=`` label as Sphinx ids it."""
    return f"{row['chapter']}.html#{row['chapter'].replace('_', '-')}-reproduction"


def paper_statement(row: dict) -> str:
    return f"{claims.ALL[row['claim']].section}: {row['paper']}"


# Counts per verdict: the paper's claims, and the setup facts (V.SETUP_FACTS) apart.
is_setup = [r["claim"] in V.SETUP_FACTS for r in rows]
claim_counts = Counter(r["verdict"] for r, s in zip(rows, is_setup, strict=True) if not s)
setup_counts = Counter(r["verdict"] for r, s in zip(rows, is_setup, strict=True) if s)
for verdict in V.VOCABULARY:
    key = verdict.replace(" ", "_")
    glue(f"scorecard_{key}", int(claim_counts.get(verdict, 0)), display=False)
    glue(f"scorecard_setup_{key}", int(setup_counts.get(verdict, 0)), display=False)
glue("scorecard_claim_rows", int(len(rows) - sum(is_setup)), display=False)
glue("scorecard_setup_rows", int(sum(is_setup)), display=False)


# One overall verdict per claim: its rows combined (the weakest row wins; rows
# not run are named). A setup fact saved before the rules as "reproduced" is
# taken as checked, which is what that word meant for it then.
def as_judgement(r):
    old_setup = r["claim"] in V.SETUP_FACTS and r["verdict"] == V.REPRODUCED
    return V.Judgement(V.CHECKED if old_setup else r["verdict"], (), r.get("reason", ""))


overall = {}
for claim_id in claims.CLAIMS:
    mine = [r for r in rows if r["claim"] == claim_id]
    parts = {f"{r['chapter']} {i + 1}": as_judgement(r) for i, r in enumerate(mine)}
    overall[claim_id] = V.combine(parts).verdict
by_claim = Counter(overall.values())
for verdict in V.VOCABULARY:
    glue(
        f"scorecard_claims_{verdict.replace(' ', '_')}",
        int(by_claim.get(verdict, 0)),
        display=False,
    )
glue("scorecard_claims", len(overall), display=False)
glue("scorecard_rows", len(rows), display=False)
glue("scorecard_ids", sorted({r["claim"] for r in rows}), display=False)
not_run = sorted({r["claim"] for r in rows if r["verdict"] == "not run"})
glue("scorecard_not_run_ids", not_run, display=False)
glue("scorecard_not_run_text", ", ".join(not_run) or "none", display=False)
glue("scorecard_chapters_run", len(set(records) & set(claims.chapters())), display=False)
glue("scorecard_chapters", len(claims.chapters()), display=False)
glue("scorecard_beyond_ids", sorted({r["claim"] for r in beyond}), display=False)
glue("scorecard_headline_words", card.HEADLINE_WORDS, display=False)

# The counts, before any row: per verdict, then per chapter.
per_chapter = [
    (
        chapter_title(c),
        f"{c}.html",
        Counter(r["verdict"] for r in rows + beyond if r["chapter"] == c),
    )
    for c in dict.fromkeys(r["chapter"] for r in rows + beyond)
]
counts = [
    (f"The paper's {len(overall)} claims, one verdict each", card.by_verdict(overall)),
    (f"Their {len(rows) - sum(is_setup)} rows", card.badges(claim_counts)),
    (f"The {sum(is_setup)} rows on setup facts", card.badges(setup_counts)),
    (f"Beyond the paper, {len(beyond)} rows", card.badges(Counter(r["verdict"] for r in beyond))),
]
display(HTML(card.counts_block(counts, per_chapter)))

# %% [markdown]
# A claim's verdict combines its rows: the weakest row wins, so a failure on
# one data set is never hidden by a success on another (rules in
# `lib/verdicts.py`; rows not run are left out). Setup facts (P4, S1-S4:
# what we built, checked against the paper or the authors' code) are counted
# apart. A claim tested on several data sets may have a row per data set,
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
            f"Restricted ImageNet): {', '.join(not_run) or 'none'}.",
        )
    ),
    display=False,
)
