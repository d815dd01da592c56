"""What a book build at a profile asks of its machine and its config.

- The ``paper`` profile refuses a CPU it only fell back to (:func:`check_device`).
- Each profile has its own cell timeout (:data:`CELL_TIMEOUT`): none at ``paper``,
  whose cells train and evaluate for hours; ``make book`` builds with the config
  :func:`write_book_config` writes.
- The profile reaches a chapter by one channel, its parameters cell: papermill
  injects it (``-p profile smoke``), and so does ``make book PROFILE=...``, whose
  config reads each chapter with :func:`read_chapter`.
"""

from __future__ import annotations

from lib.experiments.profiles import check_profile


class PaperOnCpuError(RuntimeError):
    """The ``paper`` profile on a CPU that nobody asked for (see :func:`check_device`)."""


def check_device(profile: str, device, *, asked: bool) -> None:
    """Refuse the ``paper`` profile on a CPU unless the CPU was asked for.

    The paper's scale is GPU-hours per run (``lib.bench.paper_cost``): months
    on a CPU. :func:`lib.runtime.default_device` falls back to the CPU
    silently when no GPU is visible (a driver not loaded, a job without its
    GPU), so ``paper`` there is refused; ``asked`` (a device passed by the
    caller, or ``$ODDS_DEVICE=cpu``) lets it run.
    """
    import torch

    if check_profile(profile) == "paper" and torch.device(device).type == "cpu" and not asked:
        raise PaperOnCpuError(
            "the paper profile needs a GPU (GPU-hours per run; see lib.bench.paper_cost) and "
            "no CUDA device is visible, so the CPU was only a fallback. Check the GPU "
            "(nvidia-smi, CUDA_VISIBLE_DEVICES), or set ODDS_DEVICE=cpu to run it on the CPU "
            "anyway."
        )


#: The book's cell timeout per profile, in seconds (-1: none). At ``paper`` a
#: cell trains or evaluates for hours (Table 4's strong evaluations 1-3 h,
#: the TRADES runs about 11 h): no timeout, or the build would kill itself.
#: ``make book PROFILE=...`` builds with :func:`write_book_config`'s config.
CELL_TIMEOUT = {"smoke": 1800, "cpu": 7200, "paper": -1}


#: How ``_config.yml`` reads a chapter (``nb_custom_formats``), and how the config
#: of :func:`write_book_config` reads it instead.
_READER = ("        - jupytext.reads\n", "        - fmt: py:percent\n")


def read_chapter(text: str, fmt: str = "py:percent", profile: str | None = None):
    """A chapter's notebook as papermill runs it at ``profile``: read by jupytext,
    then a cell tagged ``injected-parameters`` (and ``remove-cell``: not on the page)
    after the one tagged ``parameters``, setting ``profile``. myst-nb reads the
    chapters with it in ``make book``'s config, so a build at another profile
    executes (and caches) each chapter with that profile in its parameters."""
    import jupytext
    import nbformat

    nb = jupytext.reads(text, fmt=fmt)
    if profile is None:
        return nb
    for i, cell in enumerate(nb.cells):
        if "parameters" in cell.metadata.get("tags", []):
            tags = ["injected-parameters", "remove-cell"]
            line = f"profile = {check_profile(profile)!r}"
            nb.cells.insert(i + 1, nbformat.v4.new_code_cell(line, metadata={"tags": tags}))
            break
    return nb


def write_book_config(profile: str, path, source="_config.yml") -> str:
    """Write ``source`` (the book's ``_config.yml``) to ``path`` with ``execute.timeout``
    set to ``profile``'s :data:`CELL_TIMEOUT`, and each chapter read by
    :func:`read_chapter` at ``profile``; returns the text written."""
    from pathlib import Path

    timeout = CELL_TIMEOUT[check_profile(profile)]
    lines, inside, done = [], False, False
    for line in Path(source).read_text().splitlines(keepends=True):
        if not line.startswith((" ", "#", "\n")):
            inside = line.startswith("execute:")
        if inside and line.startswith("  timeout:"):
            line, done = f"  timeout: {timeout}\n", True
        lines.append(line)
    if not done:
        raise ValueError(f"{source} has no execute.timeout to set")
    text = "".join(lines)
    reader = "".join(_READER)
    if reader not in text:
        raise ValueError(f"{source} does not read chapters with jupytext.reads (py:percent)")
    text = text.replace(
        reader,
        f"        - lib.book_config.read_chapter\n"
        f"        - {{fmt: py:percent, profile: {profile}}}\n",
    )
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(text)
    return text
