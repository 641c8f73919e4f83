"""The generic dataset format: `write_dataset` writes what `read_folder_split` reads back, and
`validate_dataset` / `python -m univa.data.validate` report every fault of a folder at once."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from folder_data import LABELS, split_data, write_tiny
from univa.data import read_folder_split, read_manifest, validate_dataset, write_dataset
from univa.data.validate import main as validate_main
from univa.errors import InputError, InputFileNotFoundError


def test_written_dataset_reads_back_exactly(tmp_path: Path) -> None:
    out = write_tiny(tmp_path / "ds", text=True, manifest={"language": "en"})
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["format"] == "univa-dataset" and manifest["format_version"] == 1
    assert manifest["modalities"] == {"text": 6, "audio": 5} and manifest["language"] == "en"
    assert validate_dataset(out) == []
    source = split_data(16, 0, LABELS, {"text": 6, "audio": 5}, text=True)
    split = read_folder_split(out, "train")
    assert split.utt_ids == source["table"]["utt_id"]
    assert split.text == source["table"]["text"]  # commas, quotes and newlines survive the CSV
    assert split.dialogue_ids[:5] == ["d0_0"] * 4 + ["d0_1"] and split.turns[:5] == [0, 1, 2, 3, 0]
    np.testing.assert_array_equal(split.labels, source["labels"])
    np.testing.assert_allclose(split.va["audio"][:, 0], source["table"]["audio_valence"], 1e-6)
    for row, sequence in enumerate(source["features"]["audio"]):
        steps = len(sequence)
        np.testing.assert_array_equal(split.features["audio"][row, :steps], sequence)
        assert split.masks["audio"][row].tolist() == [1.0] * steps + [0.0] * (
            split.features["audio"].shape[1] - steps
        )
    assert isinstance(split.features["audio"], np.memmap)  # mapped, not read into memory


def test_a_dataset_without_dialogues_gives_each_utterance_its_own(tmp_path: Path) -> None:
    out = write_tiny(tmp_path / "ds", dialogues=False, va=False)
    split = read_folder_split(out, "valid")
    assert split.dialogue_ids == split.utt_ids and split.turns == [0] * 8 and split.va == {}


def test_masks_and_padded_arrays_are_written_as_given(tmp_path: Path) -> None:
    splits = {}
    for split, rows in (("train", 4), ("valid", 2), ("test", 2)):
        mask = np.ones((rows, 3), dtype=np.float32)
        mask[:, 0] = 0  # real steps that are not a prefix
        splits[split] = {
            "table": {"utt_id": [f"{split}{i}" for i in range(rows)], "a": [1, 0] * (rows // 2)},
            "features": {"vision": np.ones((rows, 3, 2))},
            "masks": {"vision": mask},
        }
    out = write_dataset(tmp_path / "ds", {"name": "M", "labels": ["a"]}, splits)
    split = read_folder_split(out, "train")
    assert split.features["vision"].dtype == np.float32
    assert split.masks["vision"][:, 0].tolist() == [0.0] * 4
    assert (out / "train" / "vision_mask.npy").is_file()
    assert not (out / "train" / "vision_lengths.npy").exists()


def test_write_refuses_a_non_empty_folder_and_leaves_it_alone(tmp_path: Path) -> None:
    (tmp_path / "ds").mkdir()
    (tmp_path / "ds" / "keep.txt").write_text("mine")
    with pytest.raises(InputError, match="not an empty folder"):
        write_tiny(tmp_path / "ds")
    assert [p.name for p in (tmp_path / "ds").iterdir()] == ["keep.txt"]


def test_write_refuses_invalid_data_and_creates_nothing(tmp_path: Path) -> None:
    splits = {
        split: split_data(rows, seed, LABELS, {"audio": 3})
        for seed, (split, rows) in enumerate({"train": 4, "valid": 4, "test": 4}.items())
    }
    splits["valid"]["labels"][1, 2] = 2
    splits["test"]["table"]["utt_id"][3] = splits["test"]["table"]["utt_id"][0]
    with pytest.raises(InputError, match="2 problems") as error:
        write_dataset(tmp_path / "ds", {"name": "T", "labels": LABELS}, splits)
    assert "valid/utterances.csv: label column 'calm' is not 0 or 1 in row 1" in str(error.value)
    assert "test/utterances.csv: column 'utt_id' repeats ids of earlier rows in row 3" in str(
        error.value
    )
    assert list(tmp_path.iterdir()) == []


def _break(out: Path) -> None:
    """Five different faults in one folder."""
    manifest = json.loads((out / "manifest.json").read_text())
    del manifest["name"]
    manifest["modalities"]["audio"] = 7
    (out / "manifest.json").write_text(json.dumps(manifest))
    np.save(out / "valid" / "text_lengths.npy", np.array([1, 2, 99, 3, 1, 1, 1, 50]))
    table = (out / "test" / "utterances.csv").read_text().splitlines()
    header = table[0].split(",")
    fields = table[2].split(",")
    fields[header.index("joy")] = "2"
    fields[header.index("utt_id")] = table[1].split(",")[0]
    fields[header.index("text_valence")] = "nan"
    table[2] = ",".join(fields)
    (out / "test" / "utterances.csv").write_text("\n".join(table) + "\n")


def test_validate_reports_every_fault_at_once(tmp_path: Path) -> None:
    out = write_tiny(tmp_path / "ds")
    _break(out)
    problems = validate_dataset(out)
    expected = [
        "manifest.json: missing key 'name'",
        "train/audio.npy: width 5 disagrees with manifest key 'modalities.audio' = 7",
        "valid/text_lengths.npy: lengths outside 0..",
        "test/utterances.csv: label column 'joy' is not 0 or 1 in row 1",
        "test/utterances.csv: column 'utt_id' repeats ids of earlier rows in row 1",
        "test/utterances.csv: column 'text_valence' is not a finite number in row 1",
    ]
    for start in expected:
        assert any(p.startswith(start) for p in problems), (start, problems)
    assert any(p.endswith("rows 2, 7") for p in problems)


def _run_validate(data_dir: Path) -> int:
    """`python -m univa.data.validate data_dir=...` in this process: its exit status."""
    try:
        validate_main([f"data_dir={data_dir}"])
    except SystemExit as exit_:
        return exit_.code
    return 0


def test_validate_command_prints_all_problems_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = write_tiny(tmp_path / "ds")
    assert _run_validate(out) == 0
    assert "a valid univa dataset" in capsys.readouterr().out
    _break(out)
    assert _run_validate(out) == 1
    err = capsys.readouterr().err
    assert "problems:" in err and err.count("\n  ") >= 5


def test_row_counts_and_missing_files_are_reported(tmp_path: Path) -> None:
    out = write_tiny(tmp_path / "ds")
    np.save(out / "train" / "audio.npy", np.zeros((3, 2, 5), dtype=np.float32))
    (out / "valid" / "text_lengths.npy").unlink()
    (out / "test" / "utterances.csv").unlink()
    problems = validate_dataset(out)
    assert any("train/audio.npy: 3 rows but train/utterances.csv has 16" in p for p in problems)
    assert any(p.startswith("valid/text.npy: needs exactly one of") for p in problems)
    assert "test/utterances.csv: missing" in problems


def test_a_newer_format_version_is_refused(tmp_path: Path) -> None:
    out = write_tiny(tmp_path / "ds")
    manifest = json.loads((out / "manifest.json").read_text())
    (out / "manifest.json").write_text(json.dumps({**manifest, "format_version": 2}))
    problems = validate_dataset(out)
    assert len(problems) == 1 and "newer than the 1 this univa reads" in problems[0]
    with pytest.raises(InputError, match="upgrade univa"):
        read_folder_split(out, "train")


def test_a_released_layout_given_as_a_folder_dataset_says_how_to_convert(tmp_path: Path) -> None:
    (tmp_path / "MOSEI" / "preprocess_data").mkdir(parents=True)
    with pytest.raises(
        InputFileNotFoundError, match=r"release.s layout: .*univa.data.convert released="
    ):
        read_manifest(tmp_path / "MOSEI")


def test_texts_keep_bare_carriage_returns_and_missing_ones_stay_empty(tmp_path: Path) -> None:
    splits = {
        split: split_data(rows, seed, LABELS, {"audio": 5}, text=True)
        for seed, (split, rows) in enumerate({"train": 4, "valid": 4, "test": 4}.items())
    }
    texts = ["a\rb", None, float("nan"), "plain"]
    splits["train"]["table"]["text"] = texts
    out = write_dataset(tmp_path / "ds", {"name": "T", "labels": LABELS}, splits)
    assert read_folder_split(out, "train").text == ["a\rb", "", "", "plain"]


def test_columns_named_like_va_of_no_modality_are_not_read_as_va(tmp_path: Path) -> None:
    out = write_tiny(tmp_path / "ds")
    table = out / "train" / "utterances.csv"
    header, *rows = table.read_text().splitlines()
    speakers = [f"{row},high,low" for row in rows]
    table.write_text("\n".join([f"{header},speaker_valence,speaker_arousal", *speakers]) + "\n")
    assert validate_dataset(out) == []
    assert set(read_folder_split(out, "train").va) == {"text", "audio"}


def test_a_table_the_csv_module_cannot_read_is_one_problem(tmp_path: Path) -> None:
    out = write_tiny(tmp_path / "ds")
    (out / "valid" / "utterances.csv").write_text('utt_id\n"' + "x" * 200_000 + '"\n')
    problems = validate_dataset(out)
    assert any(
        "valid/utterances.csv" in p and "field larger than field limit" in p for p in problems
    )
