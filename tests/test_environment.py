"""pyproject.toml is the single source of dependencies; environment.yml installs from it."""

import tomllib

import yaml

from .conftest import ROOT


def test_environment_yml_installs_the_package_from_pyproject():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    deps = env["dependencies"]
    pip = next(d["pip"] for d in deps if isinstance(d, dict) and "pip" in d)
    assert pip == ['-e ".[dev]"'] or pip == ["-e .[dev]"], "environment.yml must install the package, not list deps"
    conda_pkgs = [d.split("=")[0] for d in deps if isinstance(d, str)]
    # only the interpreter and pip come from conda: everything else from pyproject.toml
    assert sorted(conda_pkgs) == ["pip", "python"]
    py = next(d for d in deps if isinstance(d, str) and d.startswith("python"))
    req = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert req == ">=3.11" and py.split("=")[1] >= "3.11"


def test_pyproject_declares_the_design_card_packages():
    proj = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = {d.split("[")[0].split("=")[0].split(">")[0].split("<")[0].strip().lower() for d in proj["dependencies"]}
    for pkg in [
        "jupyterlab",
        "papermill",
        "pandas",
        "seaborn",
        "scikit-learn",
        "nbconvert",
        "jieba",
        "snownlp",
        "duckdb",
        "ibis-framework",
        "pydantic",
    ]:
        assert pkg in names, pkg
    dev = proj["optional-dependencies"]["dev"]
    assert any(d.startswith("pytest") for d in dev)


def test_makefile_and_ci_use_the_readme_commands():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = [
        l
        for l in (ROOT / ".ci" / "run").read_text().splitlines()
        if l.strip() and not l.startswith(("#", "set ", "cd "))
    ]
    assert ci == ["make test"]
    assert "make report" in readme and "make test" in readme
