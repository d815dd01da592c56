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
# Every claim of the paper's ledger, with the paper's statement, our number
# and the verdict, in one table. Nothing here is typed by hand. Each chapter
# ends by writing its reproduction table, with the profile, seed, device,
# commit and wall time it ran with, to `results/claims/<profile>/<chapter>.json`.
# This page reads those files. The book reads it after every chapter, on
# every build, so it shows what the chapters of this build wrote. A claim
# whose chapter has not run at this profile says so. (This page's code is
# hidden; the download menu above has it.)

# %% [markdown]
# ```{glue:md} build_note
# :format: myst
# ```

# %% tags=["remove-input"]
import re

import pandas as pd
from IPython.display import Markdown, display
from myst_nb import glue

from lib import chapter, claims, profiles, runtime
from lib import verdicts as V

timer = chapter.start()

# %% tags=["parameters", "remove-input"]
profile = "cpu"  # smoke | cpu | paper: whose claim files to show
seed = 0  # unused: this page computes nothing random

# %% tags=["remove-input"]
profile = profiles.resolve(profile)
records = chapter.load_results(profile)
rows = chapter.scorecard_rows(records)
book = runtime.PROJECT_ROOT / "book"


def chapter_title(chapter: str) -> str:
    """The title of a chapter: the first heading of book/<chapter>.py."""
    for line in (book / f"{chapter}.py").read_text().splitlines():
        if line.startswith("# # "):
            return line[4:].strip()
    raise ValueError(f"book/{chapter}.py has no '# # Title' line")


def cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return re.sub(r"\s+", " ", str(text)).replace("|", "\\|")


VERDICT_LOOK = {
    "reproduced": "**reproduced**",
    "qualitatively reproduced": "qualitatively reproduced",
    "not reproduced": "**not reproduced**",
    "inconclusive": "*inconclusive*",
    "not run": "*not run*",
    "checked": "checked",
}
# Four columns, the chapter named under the claim ID, so the table fits a
# 1,280 px page; the rule's one-line reason follows the numbers.
lines = ["| claim | paper | ours | verdict |", "|---|---|---|---|"]
for r in rows:
    section = claims.CLAIMS[r["claim"]].section
    link = f"{{ref}}`{r['chapter'].replace('_', ' ')} <{r['chapter']}-reproduction>`"
    why = f" *({cell(r['reason'])})*" if r.get("reason") else ""
    lines.append(
        f"| **{r['claim']}**<br>{link} | {cell(section)}: {cell(r['paper'])} "
        f"| {cell(r['ours'])}{why} | {VERDICT_LOOK[r['verdict']]} |"
    )
display(Markdown("\n".join(lines)))

# Counts per verdict: the paper's claims, and the setup facts (V.SETUP_FACTS) apart.
is_setup = [r["claim"] in V.SETUP_FACTS for r in rows]
claim_counts = pd.Series([r["verdict"] for r in rows if r["claim"] not in V.SETUP_FACTS])
setup_counts = pd.Series([r["verdict"] for r in rows if r["claim"] in V.SETUP_FACTS])
claim_counts, setup_counts = claim_counts.value_counts(), setup_counts.value_counts()
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
by_claim = pd.Series(overall).value_counts()
for verdict in V.VOCABULARY:
    glue(
        f"scorecard_claims_{verdict.replace(' ', '_')}",
        int(by_claim.get(verdict, 0)),
        display=False,
    )
glue("scorecard_claims", len(overall), display=False)
display(
    pd.DataFrame(
        {
            "claims": [
                ", ".join(c for c, v in overall.items() if v == verdict) for verdict in V.VOCABULARY
            ],
            "count": [int(by_claim.get(verdict, 0)) for verdict in V.VOCABULARY],
        },
        index=pd.Index(V.VOCABULARY, name="overall verdict"),
    )
)
glue("scorecard_rows", len(rows), display=False)
glue("scorecard_ids", sorted({r["claim"] for r in rows}), display=False)
not_run = sorted({r["claim"] for r in rows if r["verdict"] == "not run"})
glue("scorecard_not_run_ids", not_run, display=False)
glue("scorecard_not_run_text", ", ".join(not_run) or "none", display=False)
glue("scorecard_chapters_run", len(set(records) & set(claims.chapters())), display=False)
glue("scorecard_chapters", len(claims.chapters()), display=False)

# %% [markdown]
# ## Beyond the paper
#
# Claims of later work that the chapter {ref}`Is the trade-off inherent?
# <trade_off_inherent-reproduction>` tests on the book's own data and models
# (X1-X4 of the second ledger, `CLAIMS_BEYOND.md`). They are not the
# paper's, and the counts below leave them out.

# %% tags=["remove-input"]
beyond = chapter.scorecard_rows(records, ledger=claims.BEYOND)
lines = ["| claim | later work | ours | verdict |", "|---|---|---|---|"]
for r in beyond:
    lines.append(
        f"| **{r['claim']}** | {cell(claims.BEYOND[r['claim']].section)}: {cell(r['paper'])} "
        f"| {cell(r['ours'])} | {VERDICT_LOOK.get(r['verdict'], r['verdict'])} |"
    )
display(Markdown("\n".join(lines)))
glue("scorecard_beyond_ids", sorted({r["claim"] for r in beyond}), display=False)

# %% [markdown]
# Of the {glue:text}`scorecard_claim_rows` rows on the paper's claims,
# {glue:text}`scorecard_reproduced` are reproduced,
# {glue:text}`scorecard_qualitatively_reproduced` qualitatively reproduced,
# {glue:text}`scorecard_not_reproduced` not reproduced,
# {glue:text}`scorecard_inconclusive` inconclusive (the effect is within the
# noise of our measurement) and {glue:text}`scorecard_not_run` not run. The
# {glue:text}`scorecard_setup_rows` rows on setup facts (P4, S1-S4: what we
# built, checked against the paper or the authors' code) are counted apart:
# {glue:text}`scorecard_setup_checked` checked,
# {glue:text}`scorecard_setup_not_reproduced` found different and
# {glue:text}`scorecard_setup_not_run` not run. The second table gives one
# verdict per claim, its rows combined: the weakest row wins, so a failure on
# one data set is never hidden by a success on another (rules in
# `lib/verdicts.py`; rows not run are left out). A claim that two chapters test
# (`P4`) has a row for each, and a claim tested on several data sets may
# have a row per data set, e.g. a Restricted ImageNet row that is not run
# when the data root has no ImageNet. Verdicts at the `cpu` profile compare trends at
# reduced scale, not the paper's numbers; each chapter's reproduction table
# says what was compared.
#
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
