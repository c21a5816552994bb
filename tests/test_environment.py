"""pyproject.toml, constraints.txt and environment.yml describe one environment."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


CONDA_NAMES = {"python-duckdb": "duckdb"}  # conda-forge's name for a PyPI package, where they differ


def canonical(name: str) -> str:
    name = re.sub(r"[-_.]+", "-", name).lower()
    return CONDA_NAMES.get(name, name)


def test_environment_yml_has_the_packages_of_pyproject_at_the_pinned_versions():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {
        canonical(re.split(r"[<>=!~ \[]", d)[0])
        for d in project["dependencies"] + project["optional-dependencies"]["dev"]
    }
    lines = (ROOT / "constraints.txt").read_text().splitlines()
    pins = {canonical(name): version.strip() for name, version in (line.split("==") for line in lines if "==" in line)}
    conda = yaml.safe_load((ROOT / "environment.yml").read_text())["dependencies"]
    listed = dict(tuple(entry.split("=", 1)) for entry in conda if isinstance(entry, str) and "=" in entry)
    listed = {canonical(k): v for k, v in listed.items() if k != "python"}
    assert set(listed) == wanted
    for name, version in listed.items():
        assert pins.get(name) == version, f"{name}: environment.yml {version}, constraints.txt {pins.get(name)}"
    assert wanted <= set(pins), "every dependency is pinned in constraints.txt"
