"""`python -m univa.aggregate`: grouping by overrides minus the seed, mean ± sample std, files."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from univa.aggregate import CSV_FILE, MARKDOWN_FILE, main

KEYS = ("acc", "hl", "micro_f1", "macro_f1")
# configuration -> seed -> (acc, hl, micro_f1, macro_f1)
KNOWN = {
    "model.temperature=0.4": {1: (40.0, 0.30, 50.0, 30.0), 2: (42.0, 0.28, 53.0, 31.0), 3: (47.0, 0.25, 55.5, 36.0)},
    "model.temperature=0.7": {1: (35.0, 0.33, 45.0, 25.0), 2: (36.5, 0.31, 47.0, 24.0), 3: (38.0, 0.32, 46.0, 29.5)},
}  # fmt: skip


def write_run(run_dir: Path, seed: int, metrics: tuple[float, ...], overrides=None) -> None:
    """A run folder as `univa.train` leaves it, reduced to what aggregate reads."""
    run_dir.mkdir(parents=True)
    test = dict(zip(KEYS, metrics, strict=True)) | {"num_samples": 10, "per_label_f1": {}}
    results = {"test": test, "val": test, "best_checkpoint": None, "seed": seed}
    (run_dir / "results.json").write_text(json.dumps(results))
    if overrides is not None:
        (run_dir / ".hydra").mkdir()
        (run_dir / ".hydra" / "overrides.yaml").write_text("".join(f"- {o}\n" for o in overrides))


@pytest.fixture
def sweep(tmp_path: Path) -> Path:
    """3 seeds x 2 temperatures, jobs numbered as a Hydra multirun numbers them."""
    job = 0
    for config, runs in KNOWN.items():
        for seed, metrics in runs.items():
            write_run(tmp_path / str(job), seed, metrics, [f"seed={seed}", config, "trainer=cpu"])
            job += 1
    return tmp_path


def read_csv(path: Path) -> dict[str, dict[str, str]]:
    with path.open() as file:
        return {row["overrides"]: row for row in csv.DictReader(file)}


def test_means_and_sample_stds_per_configuration(sweep: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # rich wraps to the terminal's width
    main([f"sweep_dir={sweep}"])
    rows = read_csv(sweep / CSV_FILE)
    assert len(rows) == 2
    for config, runs in KNOWN.items():
        row = rows[f"{config} trainer=cpu"]
        assert row["n"] == "3" and row["seeds"] == "1 2 3"
        values = np.array(list(runs.values()))  # (seeds, metrics)
        for i, key in enumerate(KEYS):
            assert float(row[f"{key}_mean"]) == pytest.approx(values[:, i].mean())
            assert float(row[f"{key}_std"]) == pytest.approx(values[:, i].std(ddof=1))
    printed = capsys.readouterr().out
    assert "model.temperature=0.4" in printed and "shared overrides: trainer=cpu" in printed


def test_markdown_table_shows_mean_pm_std_and_the_varying_overrides(sweep: Path) -> None:
    main([f"sweep_dir={sweep}"])
    lines = (sweep / MARKDOWN_FILE).read_text().splitlines()
    assert lines[0] == "| Configuration | Seeds | Acc | HL | miF1 | maF1 |"
    acc = np.array([m[0] for m in KNOWN["model.temperature=0.4"].values()])
    hl = np.array([m[1] for m in KNOWN["model.temperature=0.4"].values()])
    expected = f"| `model.temperature=0.4` | 3 | {acc.mean():.2f} ± {acc.std(ddof=1):.2f} | {hl.mean():.3f} ± {hl.std(ddof=1):.3f} |"
    assert lines[2].startswith(expected)
    assert "Shared overrides: `trainer=cpu`" in lines[-1]


def test_single_run_has_no_std_and_runs_without_overrides_group_by_parent(tmp_path: Path) -> None:
    write_run(tmp_path / "a" / "run1", 1, (40.0, 0.3, 50.0, 30.0))
    write_run(tmp_path / "a" / "run2", 2, (44.0, 0.2, 52.0, 34.0))
    write_run(tmp_path / "b" / "run1", 1, (30.0, 0.4, 40.0, 20.0))
    main([f"sweep_dir={tmp_path}"])
    rows = read_csv(tmp_path / CSV_FILE)
    assert rows["folder a"]["n"] == "2" and float(rows["folder a"]["acc_mean"]) == 42.0
    assert rows["folder b"]["n"] == "1" and rows["folder b"]["acc_std"] == ""
    assert "| `folder b` | 1 | 30.00 ± - | 0.400 ± - |" in (tmp_path / MARKDOWN_FILE).read_text()


def test_writes_only_its_own_two_files(sweep: Path) -> None:
    before = {p: p.read_bytes() for p in sweep.rglob("*") if p.is_file()}
    main([f"sweep_dir={sweep}"])
    main([f"sweep_dir={sweep}"])  # rerunning rewrites the aggregate files, nothing else
    after = {p: p.read_bytes() for p in sweep.rglob("*") if p.is_file()}
    assert set(after) - set(before) == {sweep / MARKDOWN_FILE, sweep / CSV_FILE}
    assert all(after[p] == content for p, content in before.items())


def test_unreadable_runs_and_runs_without_test_metrics_are_skipped_and_said(
    sweep: Path, capsys, monkeypatch
) -> None:
    monkeypatch.setenv("COLUMNS", "500")  # keep each skipped path on one line
    (sweep / "9").mkdir()
    (sweep / "9" / "results.json").write_text(json.dumps({"val": {}, "seed": 9}))
    (sweep / "10").mkdir()
    (sweep / "10" / "results.json").write_text("{truncated")
    main([f"sweep_dir={sweep}"])
    printed = capsys.readouterr().out
    assert f"skipped {sweep / '9' / 'results.json'}" in printed
    assert f"skipped {sweep / '10' / 'results.json'}" in printed
    assert sum(int(r["n"]) for r in read_csv(sweep / CSV_FILE).values()) == 6


@pytest.mark.parametrize("make_dir", [True, False])
def test_clear_error_without_results(tmp_path: Path, make_dir: bool, capsys) -> None:
    """One line naming the folder and a non-zero exit status, not a traceback."""
    target = tmp_path / "sweep"
    if make_dir:
        target.mkdir()
    with pytest.raises(SystemExit) as exit_info:
        main([f"sweep_dir={target}"])
    message = str(exit_info.value.code)
    assert message.startswith("univa.aggregate: error: ") and "\n" not in message
    assert str(target) in message
    assert not (target / MARKDOWN_FILE).exists()


@pytest.mark.slow
def test_aggregates_a_real_three_seed_multirun(tmp_path: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "univa.train",
        "-m",
        "seed=1,2,3",
        f"paths.root_dir={tmp_path}",
        "dataset.size=tiny",
        "trainer.max_epochs=1",
        "dataset.batch_size=8",
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    (sweep,) = (tmp_path / "logs" / "train" / "multiruns").iterdir()
    done = subprocess.run(
        [sys.executable, "-m", "univa.aggregate", f"sweep_dir={sweep}"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    (row,) = read_csv(sweep / CSV_FILE).values()
    assert row["n"] == "3" and row["seeds"] == "1 2 3"
    seeds = [json.loads((sweep / str(j) / "results.json").read_text()) for j in range(3)]
    f1 = np.array([r["test"]["micro_f1"] for r in seeds])
    assert float(row["micro_f1_mean"]) == pytest.approx(f1.mean())
    assert float(row["micro_f1_std"]) == pytest.approx(f1.std(ddof=1))


def test_tuned_metrics_are_aggregated_on_request(tmp_path: Path, capsys) -> None:
    """tuned=true reads results["tuned"]["test"]; a run without tuning is skipped and said."""
    for seed, (fixed, tuned) in enumerate([(50.0, 52.0), (54.0, 57.0)], start=1):
        write_run(tmp_path / str(seed), seed, (40.0, 0.3, fixed, 30.0), [f"seed={seed}"])
        results = json.loads((tmp_path / str(seed) / "results.json").read_text())
        results["tuned"] = {"mode": "global", "test": results["test"] | {"micro_f1": tuned}}
        (tmp_path / str(seed) / "results.json").write_text(json.dumps(results))
    write_run(tmp_path / "untuned", 3, (40.0, 0.3, 99.0, 30.0), ["seed=3"])
    main([f"sweep_dir={tmp_path}", "tuned=true"])
    (row,) = read_csv(tmp_path / CSV_FILE).values()
    assert row["n"] == "2" and float(row["micro_f1_mean"]) == pytest.approx(54.5)
    assert "untuned/results.json (no tuned-threshold test metrics" in capsys.readouterr().out
    assert "tuned on validation" in (tmp_path / MARKDOWN_FILE).read_text()
