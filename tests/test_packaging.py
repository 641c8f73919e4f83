"""The built wheel carries the config tree: `python -m univa.train` works outside the checkout;
and it ships only modules univa runs, none that only the tests use (issue 21)."""

import importlib
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import setuptools

from test_import_graph import import_graph

ROOT = Path(__file__).parents[1]
# public import paths (docs/api.md §1) that no univa module needs to import
PUBLIC = {"univa.reference"}


def shipped_modules() -> dict[str, Path]:
    """Dotted name -> file of every module the wheel holds, found as pyproject's
    `[tool.setuptools.packages.find]` finds them."""
    tomllib = pytest.importorskip("tomllib")
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    where = ROOT / config["tool"]["setuptools"]["packages"]["find"]["where"][0]
    modules = {}
    for package in setuptools.find_packages(where=str(where)):
        for path in (where / Path(*package.split("."))).glob("*.py"):
            modules[package if path.stem == "__init__" else f"{package}.{path.stem}"] = path
    return modules


def unused_modules(modules: dict[str, Path]) -> list[str]:
    """Modules of `modules` that univa itself never reaches: none imports it, names it in a
    string (a lazy export, a config's `_target_`) or runs it as a command or a script."""
    sources = [path.read_text() for path in modules.values()]
    sources += [path.read_text() for path in (ROOT / "src/univa/conf").rglob("*.yaml")]
    sources.append((ROOT / "pyproject.toml").read_text())  # [project.scripts]
    named = {m for text in sources for m in re.findall(r"univa(?:\.\w+)+", text)}
    reached = {".".join(n.split(".")[:i]) for n in named for i in range(2, n.count(".") + 2)}
    reached |= set().union(*import_graph(ROOT / "src/univa", "univa").values())
    return sorted(
        name
        for name, path in modules.items()
        if name not in reached | PUBLIC
        and path.stem not in ("__init__", "__main__")
        and 'if __name__ == "__main__":' not in path.read_text()
    )


def test_the_wheel_ships_no_module_only_the_tests_use() -> None:
    modules = shipped_modules()
    assert {"univa.train", "univa.data.va", "univa.reference"} <= set(modules)
    assert unused_modules(modules) == []


def test_a_module_only_the_tests_use_is_found(tmp_path: Path) -> None:
    oracle = tmp_path / "oracle.py"
    oracle.write_text('"""An oracle the tests check univa against."""\n')
    modules = shipped_modules()
    assert unused_modules(modules | {"univa.oracle": oracle}) == ["univa.oracle"]


def test_every_installed_command_names_a_function_of_the_package() -> None:
    tomllib = pytest.importorskip("tomllib")
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    for command, target in scripts.items():
        module, function = target.split(":")
        assert callable(getattr(importlib.import_module(module), function, None)), command


@pytest.mark.slow
def test_wheel_trains_from_any_folder(tmp_path: Path) -> None:
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q", "-w", str(tmp_path / "wheel")],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr[-2000:]
    (wheel,) = (tmp_path / "wheel").glob("univa-*.whl")
    configs = {
        p.relative_to(ROOT / "src").as_posix() for p in (ROOT / "src/univa/conf").rglob("*.yaml")
    }
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(tmp_path / "site")
        assert configs <= set(archive.namelist())

    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    env = os.environ | {"PYTHONPATH": str(tmp_path / "site")}
    code = "import univa, sys; sys.exit(0 if univa.__file__.startswith(sys.argv[1]) else 1)"
    assert (
        subprocess.run(
            [sys.executable, "-c", code, str(tmp_path / "site")], env=env, cwd=workdir
        ).returncode
        == 0
    )
    run = subprocess.run(
        [sys.executable, "-m", "univa.train", "debug=fdr", "dataset.size=tiny", "logger=csv"],
        capture_output=True, text=True, timeout=600, env=env, cwd=workdir,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    assert list(workdir.glob("logs/train/runs/*/results.json"))
