"""The built wheel carries the config tree: `python -m univa.train` works outside the checkout."""

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


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
