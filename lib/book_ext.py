"""A small Sphinx extension for the book (listed in ``_config.yml``).

Two jobs the stock Jupyter Book 1.x does not do:

- The scorecard page summarizes the claim files the chapters write when they
  run. Sphinx reads (and MyST-NB executes) pages in alphabetical order, so the
  scorecard would run before ``setup``, ``theory`` and ``unexpected_benefits``
  and show their previous results. This extension reads the scorecard last, and
  on every build, so it always shows what the chapters of this build wrote.
  (The scorecard itself is executed with ``execution_mode: force``: the
  notebook cache keys on code, not on the claim files.)
- sphinx-book-theme offers an ``.ipynb`` download only for Markdown notebooks.
  Our chapters are py:percent files, so the executed notebook MyST-NB writes
  is copied next to the page's source and offered in the download menu.

It also lists each script of a page once (see ``_drop_duplicate_scripts``),
labels the bibliography author-year like the citations (``AuthorYearStyle``),
serves MathJax from the build instead of a CDN (see ``_copy_mathjax``), and
adds the book's small style sheet (``lib/static/odds.css``: the scorecard).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

from pybtex.plugin import register_plugin
from pybtex.style.formatting.unsrt import Style as UnsrtStyle
from pybtex.style.labels import BaseLabelStyle
from sphinx.util import logging

SCORECARD = "book/scorecard"
# _config.yml's ``mathjax_path``, relative to the site's _static folder.
MATHJAX_JS = "mathjax/tex-chtml.js"
STATIC = Path(__file__).parent / "static"

logger = logging.getLogger(__name__)


def _reread_scorecard(app, env, added, changed, removed):
    """env-get-outdated: the scorecard is outdated on every build."""
    return [SCORECARD] if SCORECARD in env.found_docs else []


def _read_scorecard_last(app, env, docnames):
    """env-before-read-docs: move the scorecard to the end of the reading order."""
    if SCORECARD in docnames:
        docnames.remove(SCORECARD)
        docnames.append(SCORECARD)


def _offer_notebook(app, pagename, templatename, context, doctree):
    """html-page-context: add the executed ``.ipynb`` of a ``.py`` page to its downloads."""
    if doctree is None or pagename not in app.env.all_docs:
        return
    if Path(app.env.doc2path(pagename)).suffix != ".py":
        return
    executed = Path(app.outdir).parent / "jupyter_execute" / f"{pagename}.ipynb"
    if not executed.exists():
        return
    target = Path(app.outdir) / "_sources" / f"{pagename}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(executed, target)
    context["ipynb_source"] = f"{pagename}.ipynb"


def _drop_duplicate_scripts(app, pagename, templatename, context, doctree):
    """html-page-context: list each script once.

    sphinx-thebe adds its inline ``const THEBE_JS_URL = ...`` script in an
    event that runs more than once per build, and a page that declares a
    ``const`` twice logs an error in the reader's console.
    """
    seen, unique = set(), []
    for js in context.get("script_files", []):
        # an inline script's filename is None or "" depending on who added it
        key = (str(getattr(js, "filename", js) or ""), repr(sorted(js.attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(js)
    # in place: Sphinx adds MathJax to this same list after us, and a new list
    # would leave its script off the page (every formula shown as raw TeX)
    context["script_files"][:] = unique


class AuthorYearLabels(BaseLabelStyle):
    """Bibliography labels like the text's citations: "Tsipras et al. 2019".

    pybtex's default (alpha) labels the list ``[TSE+19]`` even when the text
    cites author-year; a second work of the same names and year gets a, b.
    """

    def format_labels(self, sorted_entries):
        labels = [self._label(entry) for entry in sorted_entries]
        seen: dict[str, int] = {}
        for label in labels:
            seen[label] = seen.get(label, 0) + 1
        suffix: dict[str, int] = {}
        for label in labels:
            if seen[label] > 1:
                suffix[label] = suffix.get(label, 0) + 1
                yield f"{label}{chr(ord('a') + suffix[label] - 1)}"
            else:
                yield label

    @staticmethod
    def _label(entry) -> str:
        people = entry.persons.get("author") or entry.persons.get("editor") or []
        last = [" ".join(p.last_names) for p in people] or [entry.fields.get("title", "?")]
        if len(last) == 1:
            names = last[0]
        elif len(last) == 2:
            names = f"{last[0]} and {last[1]}"
        else:
            names = f"{last[0]} et al."
        return f"{names} {entry.fields.get('year', '')}".strip()


class AuthorYearStyle(UnsrtStyle):
    """pybtex's unsrt entries, sorted by author and year, labelled author-year."""

    default_label_style = AuthorYearLabels
    default_sorting_style = "author_year_title"


# _config.yml's bibtex_default_style names it.
register_plugin("pybtex.style.formatting", "odds_author_year", AuthorYearStyle)


def mathjax_source() -> Path | None:
    """A local MathJax 3 ``es5`` folder: ``$ODDS_MATHJAX``, else the one PyPI's
    ``django-static-mathjax`` ships (in requirements.txt; its module is ``mathjax``).

    None when neither is there. The folder is copied whole: ``tex-chtml.js``
    loads its fonts and any TeX extension a formula needs from beside itself.
    """
    env = os.environ.get("ODDS_MATHJAX")
    if env:
        folder = Path(env)
    else:
        spec = importlib.util.find_spec("mathjax")
        if spec is None or not spec.submodule_search_locations:
            return None
        folder = Path(next(iter(spec.submodule_search_locations))) / "static" / "mathjax" / "es5"
    return folder if (folder / "tex-chtml.js").is_file() else None


def _add_static(app, config):
    """config-inited: the book's style sheet, from lib/static."""
    config.html_static_path.append(str(STATIC))


def _copy_mathjax(app, exception):
    """build-finished: put MathJax under ``_static/mathjax`` so formulas render offline.

    A reader without internet (and the site test, which blocks other hosts)
    would otherwise see raw TeX: Sphinx's default ``mathjax_path`` is a CDN.
    """
    if exception is not None or app.builder.format != "html":
        return
    if app.config.mathjax_path != MATHJAX_JS:
        return  # the book points elsewhere on purpose
    source = mathjax_source()
    if source is None:
        logger.warning(
            "no local MathJax: `pip install django-static-mathjax` (requirements.txt) "
            "or set ODDS_MATHJAX to a MathJax 3 es5 folder; formulas will show as TeX"
        )
        return
    target = Path(app.outdir) / "_static" / Path(MATHJAX_JS).parent
    shutil.copytree(source, target, dirs_exist_ok=True)


def setup(app):
    app.connect("config-inited", _add_static)
    app.add_css_file("odds.css")
    app.connect("build-finished", _copy_mathjax)
    app.connect("env-get-outdated", _reread_scorecard)
    app.connect("env-before-read-docs", _read_scorecard_last)
    # before sphinx-book-theme's header buttons (priority 501) read ipynb_source
    app.connect("html-page-context", _offer_notebook, priority=500)
    # early: html-page-context stops at the first handler that returns a template
    app.connect("html-page-context", _drop_duplicate_scripts, priority=100)
    return {"parallel_read_safe": False, "parallel_write_safe": True}
