"""The README's front door: its length, and the commands it documents, on a fresh clone.

Each documented way to run the project is run here the way a reader would:
the papermill recipe from a folder with no ``build/``, ``make claims``, the
Jupyter it names, and where a scratch run writes (never over the committed
claim files, never into the checkout ``lib`` was imported from).
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

from lib import chapter, runtime
from lib.experiments import store
from lib.paper import claims

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
BIN = Path(sys.executable).parent  # the environment running the tests: `.venv/bin` under make


def _name(spec: str) -> str:
    return re.split(r"[<>=!\[ ;]", spec.strip())[0].lower()


def _requirements() -> set[str]:
    """What `pip install -r requirements.txt` installs by name: its own lines, and the
    pyproject.toml optional-dependency groups its ``-e .[group,...]`` line names."""
    groups = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = groups["optional-dependencies"]
    names, wanted = set(), []
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if m := re.fullmatch(r"-e \.\[([\w,]+)\]", line):
            wanted += m.group(1).split(",")
        elif line and not line.startswith("-"):
            names.add(_name(line))
    names |= {_name(d) for d in groups["dependencies"]}
    while wanted:  # groups may name other groups as odds-lib[...]
        for spec in extras[wanted.pop()]:
            if m := re.fullmatch(r"odds-lib\[([\w,]+)\]", spec):
                wanted += m.group(1).split(",")
            else:
                names.add(_name(spec))
    return names


def _fresh_clone(tmp_path: Path) -> Path:
    """What a fresh clone has that the recipes use (no build/, no _build/, no .venv)."""
    clone = tmp_path / "clone"
    (clone / "book").mkdir(parents=True)
    for name in ("Makefile", "_config.yml", "pyproject.toml", "requirements.txt"):
        shutil.copy2(ROOT / name, clone / name)
    shutil.copy2(ROOT / "book" / "setup.py", clone / "book" / "setup.py")
    return clone


def _make(clone: Path, *args: str) -> subprocess.CompletedProcess:
    """``make`` in ``clone`` with this environment's tools (``-o``: skip creating .venv)."""
    return subprocess.run(
        ["make", "-o", ".venv/.installed", f"BIN={BIN}", *args],
        cwd=clone,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_readme_is_short_and_starts_with_the_two_commands():
    lines = README.splitlines()
    assert len(lines) <= 150, f"README.md has {len(lines)} lines"
    head = "\n".join(lines[:60])
    assert "make book" in head and "make test" in head


def test_readme_links_exist():
    links = re.findall(r"\]\(([^)#]+)\)|src=\"([^\"]+)\"", README)
    for path in {a or b for a, b in links}:
        if "://" not in path:
            assert (ROOT / path).exists(), f"README.md links to a missing {path}"


def test_license_and_citation():
    import yaml

    assert "MIT License" in (ROOT / "LICENSE").read_text()
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert cff["cff-version"].startswith("1.2") and cff["license"] == "MIT"
    cited = cff.get("preferred-citation", {}), *cff.get("references", [])
    assert any(c.get("title") == "Robustness May Be at Odds with Accuracy" for c in cited)


def test_no_trial_script_in_scripts():
    trials = [p.name for p in (ROOT / "scripts").glob("*.py") if "trial" in p.stem]
    assert not trials, f"trial scripts belong in lab/trials/: {trials}"


def test_requirements_list_what_is_used():
    names = _requirements()
    assert "nbval" not in names  # never used by the tests or the book
    assert "django-static-mathjax" in names  # the book's offline MathJax (lib/book_ext.py)


def test_the_jupyter_the_readme_names_is_installed():
    """`jupyter lab` in the README: jupyterlab in requirements.txt, with jupytext and ipywidgets."""
    named = set(re.findall(r"jupyter (lab|notebook)\b", README))
    assert named, "the README names no way to open a chapter in Jupyter"
    package = {"lab": "jupyterlab", "notebook": "notebook"}
    missing = {package[n] for n in named} - _requirements()
    assert not missing, f"the README names {sorted(named)} but requirements.txt lacks {missing}"
    assert {"jupytext", "ipywidgets"} <= _requirements()


def test_the_claims_ledgers_are_in_the_repository():
    """docs/ holds both ledgers, with every ID of lib.paper.claims; nothing points to ../shared."""
    for name, ledger in (("claims.md", claims.CLAIMS), ("claims_beyond.md", claims.BEYOND)):
        ids = re.findall(r"^\| ([A-Z]\d+) \|", (ROOT / "docs" / name).read_text(), flags=re.M)
        assert sorted(ids) == sorted(ledger), f"docs/{name}: {sorted(ids)}"
    for path in ("README.md", "book/intro.md", "book/scorecard.py"):
        assert "CLAIMS.md" not in (ROOT / path).read_text(), path


def _readme_papermill_lines() -> list[str]:
    block = re.search(r"make notebook CHAPTER=\w+.*?\n\s*(\.venv/bin/papermill [^\n]+)", README)
    assert block, "the README's papermill recipe (make notebook, then papermill) is gone"
    return [block.group(1)]


def test_papermill_recipe_works_on_a_fresh_clone(tmp_path):
    clone = _fresh_clone(tmp_path)
    assert not (clone / "build").exists()
    made = _make(clone, "notebook", "CHAPTER=setup")
    assert made.returncode == 0, made.stdout + made.stderr
    assert (clone / "build" / "nb" / "setup.ipynb").is_file()
    # The README's papermill line, with this environment's papermill, parameters
    # applied but not executed (executing the chapter is test_notebooks' job).
    (line,) = _readme_papermill_lines()
    cmd = shlex.split(line.replace(".venv/bin/", f"{BIN}/")) + ["--prepare-only"]
    done = subprocess.run(cmd, cwd=clone, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    out = json.loads((clone / "build" / "nb" / "setup.out.ipynb").read_text())
    injected = [c for c in out["cells"] if "injected-parameters" in c["metadata"].get("tags", [])]
    assert injected and 'profile = "smoke"' in "".join(injected[0]["source"])


def test_make_claims_copies_a_builds_claim_files(tmp_path):
    clone = _fresh_clone(tmp_path)
    refused = _make(clone, "claims")
    assert refused.returncode != 0 and "PROFILE" in refused.stdout + refused.stderr
    empty = _make(clone, "claims", "PROFILE=smoke")
    assert empty.returncode != 0 and not (clone / "results").exists()
    built = clone / "_build" / "results" / "claims" / "smoke"
    built.mkdir(parents=True)
    (built / "theory.json").write_text('{"chapter": "theory"}\n')
    made = _make(clone, "claims", "PROFILE=smoke")
    assert made.returncode == 0, made.stdout + made.stderr
    assert (clone / "results" / "claims" / "smoke" / "theory.json").read_text() == (
        built / "theory.json"
    ).read_text()


@pytest.fixture
def user_project(tmp_path, monkeypatch):
    """Another project (a second clone) as the current directory; no ODDS_* roots set."""
    project = tmp_path / "other-clone"
    (project / "book").mkdir(parents=True)
    (project / "_config.yml").write_text("title: another clone\n")
    monkeypatch.delenv("ODDS_STORE", raising=False)
    monkeypatch.delenv("ODDS_RESULTS", raising=False)
    monkeypatch.chdir(project / "book")  # as a chapter executed by Jupyter Book
    return project


def test_roots_come_from_the_project_you_work_in(user_project):
    assert runtime.project_root() == user_project.resolve()
    assert store.default_root() == user_project.resolve() / "runs" / "store"
    assert chapter.results_root() == user_project.resolve() / "_build" / "results"
    # ... never from the checkout lib was imported from
    assert runtime.PROJECT_ROOT not in store.default_root().parents


def test_odds_store_and_odds_results_win(user_project, tmp_path, monkeypatch):
    monkeypatch.setenv("ODDS_STORE", str(tmp_path / "s"))
    monkeypatch.setenv("ODDS_RESULTS", str(tmp_path / "r"))
    assert store.default_root() == tmp_path / "s"
    assert chapter.claims_dir("cpu") == tmp_path / "r" / "claims" / "cpu"


def test_a_scratch_build_never_writes_the_committed_claim_files(monkeypatch):
    """From the repository itself, with no ODDS_RESULTS: claim files go under _build/."""
    monkeypatch.delenv("ODDS_RESULTS", raising=False)
    monkeypatch.chdir(ROOT)
    committed = ROOT / "results" / "claims" / "cpu"
    assert chapter.claims_dir("cpu") == ROOT / "_build" / "results" / "claims" / "cpu"
    assert chapter.claims_dir("cpu") != committed


def test_the_lab_index_lists_every_trial_and_build_log():
    """lab/README.md has a row for each trial script; lab/builds.md holds the build records."""
    index = (ROOT / "lab" / "README.md").read_text()
    missing = [p.name for p in (ROOT / "lab" / "trials").glob("*.py") if p.name not in index]
    assert not missing, f"lab/README.md has no row for {missing}"
    assert "31ae218" in (ROOT / "lab" / "builds.md").read_text()  # the committed claim files' build
