"""Habits the code keeps: no import cycle and the declared layers (import-linter), small modules, a clean
`ruff check`, `ruff format --check` and `mypy helpers` (all configured in pyproject.toml), a top-level
namespace whose every name resolves, and notebooks that open and close with the same two calls."""

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from .conftest import ROOT

BIN = Path(sys.executable).parent
PACKAGE = ROOT / "helpers"


def _tool(name: str) -> str:
    exe = BIN / name
    if exe.exists():
        return str(exe)
    found = shutil.which(name)
    if not found:
        pytest.fail(f"{name} is not installed: it is in the 'dev' extra of pyproject.toml (make env installs it)")
    return found


def _import_graph() -> dict[str, set[str]]:
    """helpers module -> helpers modules it imports anywhere in its code (module level or inside functions),
    except the package's own lazy namespace and TYPE_CHECKING blocks."""
    graph: dict[str, set[str]] = {}
    for f in sorted(PACKAGE.glob("*.py")):
        mod = f.stem
        if mod == "__init__":
            continue
        deps: set[str] = set()
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                if node.module:
                    deps.add(node.module.split(".")[0])
                else:
                    deps.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("helpers."):
                deps.add(node.module.split(".")[1])
            elif isinstance(node, ast.Import):
                deps.update(a.name.split(".")[1] for a in node.names if a.name.startswith("helpers."))
        graph[mod] = deps - {mod}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_cycle_finder_finds_a_planted_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_among_helpers_modules():
    assert _cycles(_import_graph()) == []


def test_import_layers():
    r = subprocess.run([_tool("lint-imports"), "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]


def test_modules_are_small():
    sizes = {f.name: len(f.read_text(encoding="utf-8").splitlines()) for f in PACKAGE.glob("*.py")}
    assert {k: v for k, v in sizes.items() if v > 800} == {}


def test_ruff_check_and_format():
    r = subprocess.run([_tool("ruff"), "check", "helpers", "tests", "bench"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-4000:]
    r = subprocess.run(
        [_tool("ruff"), "format", "--check", "helpers", "tests", "bench"], cwd=ROOT, capture_output=True, text=True
    )
    assert r.returncode == 0, r.stdout[-4000:]


def test_mypy_helpers():
    r = subprocess.run([_tool("mypy"), "helpers"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-4000:]


def test_top_level_names_resolve():
    import helpers

    missing = [n for n in helpers.__all__ if not hasattr(helpers, n)]
    assert missing == []
    with pytest.raises(AttributeError, match="public names are listed in helpers.__all__"):
        helpers.no_such_name  # noqa: B018


@pytest.mark.parametrize("path", sorted((ROOT / "notebooks").glob("*.ipynb")), ids=lambda p: p.stem)
def test_notebooks_open_and_close_with_the_contract(path):
    code = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
    assert code[1].source == (
        "import helpers\n\nctx = helpers.open_campaign(campaign, params_file=params_file, "
        f'reports_dir=reports_dir)\nrep = helpers.run_report("{path.stem}", ctx)'
    )
    assert code[-1].source == "helpers.save_report(ctx, rep)"
    for c in code[2:-1]:
        assert "res." not in c.source and "save_results" not in c.source, c.source
