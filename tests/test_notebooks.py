"""House rules for every notebook: a tagged parameters cell of typed literals with help comments, no
outputs committed, thin code cells (no def/class), and the campaign loaded through the package."""

import ast

import nbformat
import pytest

from .conftest import ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_house_rules(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    tagged = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, "exactly one cell tagged 'parameters'"
    params = tagged[0]
    tree = ast.parse(params.source)
    names = []
    for node in tree.body:
        assert isinstance(node, ast.AnnAssign), "parameters cell: only typed assignments (name: type = literal)"
        assert isinstance(node.value, ast.Constant), "parameters cell: literals only, nothing derived"
        names.append(node.target.id)
    assert names[:3] == ["campaign", "params_file", "reports_dir"]
    for line in params.source.splitlines():
        assert "# help" in line, f"parameters need a '# help' comment: {line}"
    assert code.index(params) == 0, "parameters come first"
    assert "open_campaign(campaign, params_file=params_file, reports_dir=reports_dir)" in code[1].source
    for c in code:
        assert not c.get("outputs") and c.get("execution_count") is None, "strip outputs before commit"
        tree = ast.parse(c.source)
        assert not any(isinstance(n, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)) for n in ast.walk(tree)), (
            "no def/class in notebooks: put logic in helpers/"
        )
        assert len(c.source.splitlines()) <= 8, f"code cell too long, move logic to helpers/: {c.source[:60]}"
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
