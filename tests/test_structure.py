"""The library's shape: no import cycle (lazy imports included, and package-level
ones: ``from lib.pkg import sub`` inside a module that ``lib.pkg`` imports), no module over
400 lines, and the one-run chapter's parameters the same as RunConfig's fields."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import jupytext
import pytest

from lib.experiments import grids
from lib.experiments.runs import RunConfig

ROOT = Path(__file__).resolve().parents[1]
LIB = ROOT / "lib"
MAX_LINES = 400
#: Modules still over MAX_LINES, each with the issue that splits it. Empty is the goal.
OVER_LIMIT: set[str] = set()


def _name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_name(p): p for p in sorted(LIB.rglob("*.py"))}


def _resolve(target: str, modules) -> str | None:
    """The lib module an import names: the longest prefix that is a module."""
    parts = target.split(".")
    for n in range(len(parts), 0, -1):
        name = ".".join(parts[:n])
        if name in modules:
            return name
    return None


def _imports(path: Path, modules) -> set[str]:
    """Every lib module ``path`` imports, at the top or inside a function.

    ``from lib.x import y`` imports ``lib.x`` itself as well as ``lib.x.y``: it
    reads ``y`` from ``lib.x``'s namespace, so a module that ``lib.x``'s
    ``__init__`` imports and that imports ``lib.x`` back is a package-level
    cycle (it works only while ``y`` happens to be a submodule, not a name
    defined further down the ``__init__``). ``import lib.x.y as y`` names
    ``lib.x.y`` alone.
    """
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # ``from lib.x import y``: y may be a submodule (lib.x.y) or a name in lib.x.
            targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        else:
            continue
        for target in targets:
            found = _resolve(target, modules)
            if found is not None:
                out.add(found)
    return out


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    graph = {}
    for name, path in modules.items():
        # ``from lib import x`` names lib.x; lib itself (the package doc) imports nothing.
        graph[name] = _imports(path, modules) - {name, "lib"}
    return graph


def _find_cycle(graph) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                return stack[stack.index(dep) :] + [dep]
            if dep not in state:
                found = visit(dep)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_the_walker_sees_lazy_imports():
    graph = _graph()
    assert "lib.data.imagenet" in graph["lib.data"]  # the loader's dispatch
    assert (
        "lib.experiments.execute.ray_executor" in graph["lib.experiments.execute.sweep"]
    )  # imported inside a function
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_the_walker_sees_package_level_imports(tmp_path):
    """``from pkg import sub`` imports ``pkg`` (its ``__init__``) as well as ``pkg.sub``."""
    pkg = tmp_path / "lib" / "pkg"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("from lib.pkg import sub\n")
    (pkg / "sub.py").write_text("from lib.pkg import other\n")
    (pkg / "other.py").write_text("import lib.pkg.sub as sub\n")
    modules = {"lib.pkg": pkg / "__init__.py", "lib.pkg.sub": pkg / "sub.py"}
    modules["lib.pkg.other"] = pkg / "other.py"
    assert _imports(pkg / "sub.py", modules) == {"lib.pkg", "lib.pkg.other"}
    assert _imports(pkg / "other.py", modules) == {"lib.pkg.sub"}
    graph = {name: _imports(path, modules) - {name} for name, path in modules.items()}
    assert _find_cycle(graph) == ["lib.pkg", "lib.pkg.sub", "lib.pkg"]


def test_no_import_cycle_among_lib_modules():
    cycle = _find_cycle(_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_experiments_wing_sits_below_the_chapters():
    """One way down (docs: DESIGN): nothing lib.experiments reaches, lazily or not,
    is a chapter, the book's plumbing or a verdict."""
    graph = _graph()
    above = ("lib.chapters", "lib.chapter", "lib.book_config", "lib.book_ext", "lib.verdicts")
    above += ("lib.scorecard", "lib.plots")  # lib.verdicts: every rule
    reached, stack = set(), [m for m in graph if m.startswith("lib.experiments")]
    assert "lib.experiments.runs" in stack and "lib.experiments.execute.sweep" in stack
    while stack:
        for dep in graph.get(stack.pop(), ()):
            if dep not in reached:
                reached.add(dep)
                stack.append(dep)
    wrong = sorted(m for m in reached if any(m == a or m.startswith(a + ".") for a in above))
    assert not wrong, f"lib.experiments reaches {wrong}"


def test_no_lib_module_over_400_lines():
    long = {
        name: len(path.read_text().splitlines())
        for name, path in _modules().items()
        if len(path.read_text().splitlines()) > MAX_LINES
    }
    assert set(long) <= OVER_LIMIT, f"over {MAX_LINES} lines: {long}"
    assert OVER_LIMIT <= set(long), f"no longer over the limit, drop from OVER_LIMIT: {OVER_LIMIT}"


def _one_run_parameters() -> list[ast.Assign]:
    """The assignments of the one-run chapter's parameters cell."""
    nb = jupytext.read(ROOT / "book" / "one_run.py")
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    return [node for node in ast.parse(cell.source).body if isinstance(node, ast.Assign)]


def test_one_run_parameters_are_runconfigs_fields():
    names = set()
    for node in _one_run_parameters():
        names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    fields = {f.name for f in dataclasses.fields(RunConfig)}
    assert names - {"device"} == fields


@pytest.mark.parametrize("profile", ["smoke", "cpu"])
def test_one_run_defaults_are_the_price_chapters_second_seed(profile):
    """The one-run chapter's two models (its run and the standard twin) are the price
    chapter's second-seed runs, so the two chapters share them in the store."""
    values = {
        node.targets[0].id: ast.literal_eval(node.value)
        for node in _one_run_parameters()
        if isinstance(node.targets[0], ast.Name)
    }
    values.pop("device")
    config = RunConfig(**{**values, "profile": profile})
    seeds = grids.price_configs(profile)["seeds"]
    assert seeds[:2] == [config.standard_twin(), config]
    # the other rows add their robust model only, without a curve
    assert all(c.mix == "adversarial" and c.eval_every is None for c in seeds[2:])
    assert len(seeds) == 1 + len(grids.price_grid(profile).seed_rows)
