"""A trained model labels new, unlabelled data (issue 19, items 1-5): `predict input=`,
`univa.load_pretrained(...).predict(...)`, datasets without labels or with one split, and
exported folders that hold no local path."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import univa
from composing import compose_task
from pretrained_folders import LABELS, tiny_network, write_folder
from univa.data.generic.check import training_problems, validate_dataset
from univa.data.generic.datamodule import FolderDataModule
from univa.data.generic.format import read_folder_split
from univa.data.generic.write import write_dataset
from univa.data.validate import main as validate_main
from univa.errors import InputError
from univa.predict import predict
from univa.report.model_card import model_card

WIDTHS = {"text": 6, "audio": 5, "vision": 4}  # tiny_network's
ROWS = 7


def new_split(rows: int = ROWS, seed: int = 0, **widths: int) -> dict:
    """One split of unlabelled utterances for the tiny network: ragged sequences, no labels."""
    generator = np.random.default_rng(seed)
    features = {
        modality: [
            generator.normal(size=(int(generator.integers(1, 5)), width)).astype(np.float32)
            for _ in range(rows)
        ]
        for modality, width in (WIDTHS | widths).items()
    }
    table = {"utt_id": [f"clip{seed}_{i}" for i in range(rows)]}
    return {"table": table, "features": features}


def new_data(folder: Path, *splits: str, manifest: dict | None = None, **widths: int) -> Path:
    """A dataset folder of unlabelled utterances in `splits` (test by default)."""
    return write_dataset(
        folder,
        manifest or {"name": "new"},
        {split: new_split(seed=i, **widths) for i, split in enumerate(splits or ("test",))},
    )


@pytest.fixture
def model_folder(tmp_path: Path) -> Path:
    torch.manual_seed(0)
    settings = {"dataset": "folder", "name": "mine", "va_norm": "reference"}
    return write_folder(tmp_path / "model", tiny_network(), data_settings=settings)


def test_write_dataset_takes_one_unlabelled_split(tmp_path: Path, capsys) -> None:
    folder = new_data(tmp_path / "new")
    assert validate_dataset(folder) == []
    assert read_folder_split(folder, "test").labels is None
    lacking = training_problems(folder)
    assert any("train, valid" in p for p in lacking) and any("'labels'" in p for p in lacking)
    validate_main([f"data_dir={folder}"])  # valid: returns, where a problem exits 1
    assert "predict reads it with input=" in capsys.readouterr().out


def test_some_label_columns_but_not_all_is_a_problem(tmp_path: Path) -> None:
    split = new_split()
    split["table"]["happy"] = [0, 1] * 3 + [0]
    with pytest.raises(InputError, match=r"missing label column 'sad'.*or none"):
        write_dataset(tmp_path / "new", {"name": "new", "labels": LABELS}, {"test": split})


def test_training_on_unlabelled_data_is_refused(tmp_path: Path) -> None:
    folder = new_data(tmp_path / "new", "train", "valid", "test", manifest={"name": "n"})
    with pytest.raises(InputError, match=r"no key 'labels' \(training needs the label names\)"):
        FolderDataModule(data_dir=folder).setup()


def test_provenance_is_checked(tmp_path: Path) -> None:
    manifest = {"name": "n", "features": {"audio": {"extractor": "openSMILE", "rate": "16k"}}}
    with pytest.raises(InputError, match=r"features.audio.rate': unknown"):
        new_data(tmp_path / "new", manifest=manifest)


def reference_probs(network, split: dict) -> torch.Tensor:
    """The network's probabilities, one utterance at a time, from the arrays themselves."""
    probs = []
    with torch.no_grad():
        for row in range(len(split["table"]["utt_id"])):
            batch = {}
            for modality, sequences in split["features"].items():
                sequence = torch.from_numpy(sequences[row])[None]
                batch[modality] = sequence
                batch[f"{modality}_mask"] = torch.ones(sequence.shape[:2])
            probs.append(network(batch)["probs"][0])
    return torch.stack(probs)


def test_load_pretrained_predicts_a_folder_and_arrays_alike(
    model_folder: Path, tmp_path: Path
) -> None:
    model = univa.load_pretrained(model_folder)
    assert isinstance(model, univa.TrainedModel) and model.labels == LABELS
    assert model.feature_spec["audio"] == {"width": 5, "max_len": 6}
    split = new_split()
    folder = write_dataset(tmp_path / "new", {"name": "new"}, {"test": split})
    from_folder = model.predict(folder, batch_size=3)
    from_arrays = model.predict(table=pd.DataFrame(split["table"]), features=split["features"])
    assert list(from_folder.columns) == [
        "utt_id",
        *(f"prob_{label}" for label in LABELS),
        *(f"pred_{label}" for label in LABELS),
    ]
    pd.testing.assert_frame_equal(from_folder, from_arrays)
    probs = torch.tensor(from_folder.filter(like="prob_").to_numpy(), dtype=torch.float32)
    torch.testing.assert_close(probs, reference_probs(model.network, split), atol=1e-6, rtol=0)
    preds = from_folder.filter(like="pred_").to_numpy()
    assert (preds == (probs > 0.18).long().numpy()).all()


def test_predict_input_reads_no_dataset_of_the_model(
    model_folder: Path, tmp_path: Path, monkeypatch, capsys
) -> None:
    """`predict pretrained=DIR input=... output=...` with no dataset anywhere: the CSV equals
    `TrainedModel.predict` to its 6 decimals, and nothing is generated under paths.data_dir."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    folder = new_data(tmp_path / "new")
    output = tmp_path / "preds.csv"
    root = tmp_path / "home"
    predict(compose_task("predict", root, f"pretrained={model_folder}", f"input={folder}",
                         f"output={output}"))  # fmt: skip
    assert "7 predictions" in capsys.readouterr().out
    assert not (root / "data").exists()
    written = pd.read_csv(output)
    expected = univa.load_pretrained(model_folder).predict(folder)
    assert list(written["utt_id"]) == list(expected["utt_id"])
    np.testing.assert_allclose(
        written.filter(like="prob_"), expected.filter(like="prob_"), atol=5e-7, rtol=0
    )
    assert (
        written.filter(like="pred_").to_numpy() == expected.filter(like="pred_").to_numpy()
    ).all()


def test_several_splits_are_told_apart(model_folder: Path, tmp_path: Path) -> None:
    folder = new_data(tmp_path / "new", "valid", "test")
    predictions = univa.load_pretrained(model_folder).predict(folder)
    assert list(predictions["split"]) == ["valid"] * ROWS + ["test"] * ROWS


def test_split_chooses_one_split_of_the_input(
    model_folder: Path, tmp_path: Path, monkeypatch
) -> None:
    """`predict input=DIR split=test` labels that split alone; a split the folder lacks is one
    line, never all the splits silently."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    folder = new_data(tmp_path / "new", "valid", "test")
    output = tmp_path / "preds.csv"
    base = (f"pretrained={model_folder}", f"input={folder}")
    predict(compose_task("predict", tmp_path / "home", *base, f"output={output}", "split=test"))
    expected = univa.load_pretrained(model_folder).predict(folder)
    written = pd.read_csv(output)
    assert list(written["utt_id"]) == list(expected[expected["split"] == "test"]["utt_id"])
    assert "split" not in written.columns
    with pytest.raises(InputError, match=r"split=train: .*new holds no such split \(valid, test\)"):
        predict(compose_task("predict", tmp_path / "home", *base,
                             f"output={tmp_path / 'train.csv'}", "split=train"))  # fmt: skip
    assert not (tmp_path / "train.csv").exists()


@pytest.mark.parametrize(
    ("widths", "drop", "match"),
    [
        ({"audio": 9}, None, r"audio: the model reads width 5, input=.* has width 9"),
        ({}, "vision", r"the model reads vision features of width 4, which input="),
        ({}, "text", r"reads text GloVe vectors \(text.npy\) of width 6"),
    ],
)
def test_data_that_does_not_fit_is_refused_before_anything_runs(
    model_folder: Path, tmp_path: Path, widths: dict, drop: str | None, match: str
) -> None:
    split = new_split(**widths)
    if drop:
        del split["features"][drop]
    folder = write_dataset(tmp_path / "new", {"name": "new"}, {"test": split})
    with pytest.raises(InputError, match=match):
        univa.load_pretrained(model_folder).predict(folder)


def test_longer_sequences_than_the_model_read_are_refused(
    model_folder: Path, tmp_path: Path
) -> None:
    split = new_split()
    split["features"]["audio"][3] = np.zeros((11, 5), np.float32)
    folder = write_dataset(tmp_path / "new", {"name": "new"}, {"test": split})
    with pytest.raises(InputError, match=r"test/audio.npy has utterances of up to 11 steps; "):
        univa.load_pretrained(model_folder).predict(folder)


def test_predictions_stream_and_a_failure_writes_nothing(
    model_folder: Path, tmp_path: Path
) -> None:
    """Batches go through the network one at a time; a non-finite probability in the second
    batch stops the run with no CSV at all (no partial file, nothing written for it)."""
    model = univa.load_pretrained(model_folder)
    forward, seen = model.network.forward, []

    def counting(batch):
        out = forward(batch)
        seen.append(out["probs"].shape[0])
        if len(seen) == 2:
            out["probs"] = out["probs"].clone().fill_(float("nan"))
        return out

    model.network.forward = counting
    output = tmp_path / "preds.csv"
    with pytest.raises(
        InputError, match=r"NaN or infinite probabilities for 3 utterance\(s\) \(clip0_3, "
    ):
        model.write_predictions(new_data(tmp_path / "new"), output, batch_size=3)
    assert seen == [3, 3] and not output.exists()
    assert list(tmp_path.glob(".preds.csv*")) == []


def test_a_folder_model_scoring_a_split_asks_for_its_data(
    model_folder: Path, tmp_path: Path
) -> None:
    cfg = compose_task("predict", tmp_path, f"pretrained={model_folder}", "output=p.csv")
    with pytest.raises(InputError, match=r"records no data folder .*: give dataset.data_dir=DIR"):
        predict(cfg)


def test_the_card_shows_the_declared_feature_provenance() -> None:
    network = {"labels": ["joy"], "modalities": ["audio"], "input_dims": {"audio": 1582}}
    features = {"audio": {"width": 1582, "extractor": "openSMILE", "feature_set": "IS10"}}
    config = {
        "network": {**network, "text_encoder": "glove"},
        "thresholds": {"fixed": 0.2},
        "features": features,
    }
    card = model_card(config, {"checkpoint": "last.ckpt"}, None)
    assert "- audio features: extractor openSMILE; feature_set IS10" in card
    assert "univa.predict pretrained=THIS_FOLDER input=NEW_DATA" in card


def read_rows(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


def local_paths_in(folder: Path, *paths: Path) -> list[str]:
    """The text files of `folder` that mention any of `paths` (as written, or resolved)."""
    needles = {str(p) for path in paths for p in (path, path.resolve())}
    return [
        str(file)
        for file in folder.rglob("*")
        if file.suffix in {".json", ".md", ".txt"}
        and any(needle in file.read_text(encoding="utf-8") for needle in needles)
    ]


@pytest.mark.slow
def test_an_exported_folder_stands_alone(tmp_path: Path, monkeypatch) -> None:
    """Train a PLM model on a folder dataset, export it: no local path in config.json, the card
    or text_encoder/; with the training data moved away and the hub offline, `predict
    pretrained= input=` from another working directory labels unlabelled data exactly as the
    checkpoint does."""
    from univa.data.synthetic.generator import write_synthetic_dataset
    from univa.export import export
    from univa.train import train

    data = write_synthetic_dataset(tmp_path / "gen", flavor="generic", size="tiny")
    cfg = compose_task(
        "train",
        tmp_path,
        "dataset=folder",
        f"dataset.data_dir={data}",
        "preset=synthetic_glove",
        "text=roberta",
        f"text.encoder={data / 'text_model'}",
        "trainer.max_epochs=1",
    )
    train(cfg)
    checkpoint = Path(
        json.loads((tmp_path / "run" / "results.json").read_text())["best_checkpoint"]
    )
    folder = export(checkpoint, tmp_path / "shared")
    assert local_paths_in(folder, tmp_path, data) == []
    config = json.loads((folder / "config.json").read_text())
    assert config["network"]["text_encoder"] == "text_model"
    assert "data_dir" not in config["data_settings"]
    assert config["features"]["text"] == {"raw_text": True}

    test = read_folder_split(data, "test")
    unlabelled = write_dataset(
        tmp_path / "new",
        {"name": "new"},
        {
            "test": {
                "table": {k: test.columns[k] for k in ("utt_id", "dialogue_id", "turn", "text")},
                "features": {"audio": np.asarray(test.features["audio"])},
                "masks": {"audio": test.masks["audio"]},
            }
        },
    )
    from_checkpoint = tmp_path / "checkpoint.csv"
    predict(compose_task("predict", tmp_path, f"ckpt_path={checkpoint}", "split=test",
                         f"output={from_checkpoint}"))  # fmt: skip
    (tmp_path / "gen").rename(tmp_path / "moved")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    predict(compose_task("predict", elsewhere, f"pretrained={folder}", f"input={unlabelled}",
                         "output=preds.csv"))  # fmt: skip
    assert not (tmp_path / "gen").exists()
    assert read_rows(elsewhere / "preds.csv") == read_rows(from_checkpoint)


@pytest.mark.parametrize(
    ("override", "shown"),
    [
        ("dataset.data_dir=my_data", "dataset.data_dir=<local path>"),
        ("+extra=./notes.txt", "+extra=<local path>"),
        ("model.temperature=.5", "model.temperature=.5"),  # a number, not a path
        ("text.encoder=FacebookAI/roberta-base", "text.encoder=FacebookAI/roberta-base"),
        ("text.encoder=/home/me/plms/roberta", "text.encoder=roberta"),  # moved away since
    ],
)
def test_the_card_shows_overrides_without_local_paths(override: str, shown: str) -> None:
    from univa.export import shareable_override

    assert shareable_override(override) == shown
