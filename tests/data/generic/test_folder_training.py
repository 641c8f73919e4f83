"""End to end on folder datasets: the README's example trains and predicts with its own label
names, and a text+audio dataset without VA trains with `dataset.va_source=labels` and `none`."""

from __future__ import annotations

import csv
import json
import re
import warnings
from pathlib import Path

import pytest

from composing import compose_task
from folder_data import write_tiny
from univa.data.va import NoVAWarning
from univa.predict import predict
from univa.train import train

README = Path(__file__).resolve().parents[3] / "README.md"
QUICK = ("trainer.max_epochs=1", "dataset.batch_size=8", "analysis.enabled=false", "logger=csv")


def readme_example() -> str:
    """The first python block of the README's "Bring your own dataset" section."""
    section = README.read_text().split("## Bring your own dataset", 1)[1].split("\n## ", 1)[0]
    return re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)


@pytest.mark.slow
def test_the_readme_example_trains_and_predicts_with_its_labels(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    exec(compile(readme_example(), "README.md", "exec"), {})
    data_dir = tmp_path / "my_dataset"
    assert json.loads((data_dir / "manifest.json").read_text())["labels"] == [
        "happy", "sad", "anger"
    ]  # fmt: skip
    cfg = compose_task(
        "train", tmp_path, "dataset=folder", f"dataset.data_dir={data_dir}",
        "preset=synthetic_glove", *QUICK,
    )  # fmt: skip
    train(cfg)
    results = json.loads((Path(cfg.paths.output_dir) / "results.json").read_text())
    assert list(results["test"]["per_label_f1"]) == ["happy", "sad", "anger"]
    assert results["test"]["num_samples"] == 16
    output = tmp_path / "predictions.csv"
    ckpt = results["best_checkpoint"]
    predict(compose_task("predict", tmp_path / "p", f"ckpt_path={ckpt}", f"output={output}"))
    with output.open() as file:
        rows = list(csv.reader(file))
    assert rows[0] == ["utt_id", *(f"{k}_{x}" for k in ("prob", "pred") for x in
                                   ("happy", "sad", "anger"))]  # fmt: skip
    assert len(rows) == 17


@pytest.mark.slow
@pytest.mark.parametrize("va_source", ["labels", "none"])
def test_text_and_audio_without_va_trains(tmp_path: Path, va_source: str) -> None:
    points = {"joy": [0.9, 0.6], "anger": [0.1, 0.9], "calm": [0.7, 0.1], "awe": [0.8, 0.7]}
    data_dir = write_tiny(tmp_path / "ds", va=False, manifest={"label_va": points})
    cfg = compose_task(
        "train", tmp_path, "dataset=folder", f"dataset.data_dir={data_dir}",
        "preset=synthetic_glove", f"dataset.va_source={va_source}", *QUICK,
    )  # fmt: skip
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        train(cfg)
    no_va = [w for w in caught if issubclass(w.category, NoVAWarning)]
    assert len(no_va) == (1 if va_source == "none" else 0)
    results = json.loads((Path(cfg.paths.output_dir) / "results.json").read_text())
    assert list(results["test"]["per_label_f1"]) == ["joy", "anger", "calm", "awe"]
