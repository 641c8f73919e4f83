"""The contributor's tooling agrees with itself: one ruff version, CI = `.ci/run` = the README,
and benchmarks that run from the installed package, not from the test folder (but for the
original network they time univa against)."""

from __future__ import annotations

import ast
import re
import shlex
from pathlib import Path

import yaml

ROOT = Path(__file__).parents[1]
FAST_LANE = [
    "ruff check src tests benchmarks",
    "ruff format --check src tests benchmarks",
    'python -m pytest -m "not slow" -n 2',
]
SLOW_LANE = ["python -m pytest -m slow"]
ORACLE = "original_model"  # tests/original_model.py
# tests/whisper_model.py: Whisper base joined from its two index packages, for the ASR stage
WHISPER = "whisper_model"


def dev_extra() -> list[str]:
    """The `dev` extra's requirements (read as text: `tomllib` is not in Python 3.10)."""
    pyproject = (ROOT / "pyproject.toml").read_text()
    (block,) = re.findall(r"^dev = \[(.*?)^\]", pyproject, re.DOTALL | re.MULTILINE)
    return re.findall(r'^\s*"([^"]+)"', block, re.MULTILINE)


def commands(lines: list[str]) -> list[str]:
    """The ruff and pytest commands among `lines`, normalised (quotes, spaces)."""
    found = []
    for line in lines:
        if line.lstrip().startswith("#"):
            continue
        for part in line.split("&&"):
            words = shlex.split(part.split(" #")[0])
            if words[:1] == ["ruff"] or words[:3] == ["python", "-m", "pytest"]:
                found.append(shlex.join(words))
    return found


def test_pre_commit_and_the_dev_extra_pin_the_same_ruff() -> None:
    (pin,) = [r for r in dev_extra() if r.startswith("ruff")]
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    (hook,) = [repo for repo in config["repos"] if repo["repo"].endswith("/ruff-pre-commit")]
    assert re.fullmatch(r"ruff==[\d.]+", pin), pin
    assert hook["rev"] == "v" + pin.removeprefix("ruff==")


def test_the_dev_extra_can_build_the_package() -> None:
    assert any(re.match(r"build\b", requirement) for requirement in dev_extra())


def test_ci_script_runs_the_fast_lane_then_the_slow_lane() -> None:
    script = (ROOT / ".ci/run").read_text().splitlines()
    assert "set -euo pipefail" in script  # any failing command fails the script
    assert commands(script) == commands(FAST_LANE + SLOW_LANE)


def test_github_workflow_runs_what_the_ci_script_runs() -> None:
    workflow = yaml.safe_load((ROOT / ".github/workflows/ci.yml").read_text())
    steps = [
        step["run"] for job in workflow["jobs"].values() for step in job["steps"] if "run" in step
    ]
    assert commands("\n".join(steps).splitlines()) == commands(FAST_LANE + SLOW_LANE)


def test_the_readme_test_command_is_what_the_ci_script_runs() -> None:
    readme = (ROOT / "README.md").read_text().splitlines()
    (setup_and_test,) = [line for line in readme[:20] if "pytest" in line]
    assert commands([setup_and_test]) == commands(FAST_LANE[2:] + SLOW_LANE)


def test_benchmarks_import_nothing_from_the_test_folder_but_the_oracle() -> None:
    """The exceptions: the original network the benchmarks time univa against, which the
    wheel does not ship (issue 21), reached by putting tests/ on sys.path, and the assembled
    Whisper model of the extraction benchmark (`PYTHONPATH=src:tests`)."""
    test_modules = {path.stem for path in (ROOT / "tests").rglob("*.py")} | {"tests"}
    for script in (ROOT / "benchmarks").glob("*.py"):
        tree = ast.parse(script.read_text())
        imported, touches_path = set(), False
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr == "path":
                touches_path |= isinstance(node.value, ast.Name) and node.value.id == "sys"
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                imported.add((node.module or "").split(".")[0])
        assert imported & test_modules <= {ORACLE, WHISPER}, script
        assert not touches_path or ORACLE in imported, script
