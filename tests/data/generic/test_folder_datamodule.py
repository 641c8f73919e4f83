"""`dataset=folder`: any label set and subset of modalities from a folder in the generic format,
memory-mapped, with dialogue-context text through a PLM; every data module names each row's
dialogue."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import univa.train as train_module
from composing import compose_plain
from folder_data import LABELS, write_tiny
from univa.data import FolderDataModule, MoseiDataModule
from univa.data.generic.datamodule import UnusedTextWarning
from univa.data.generic.format import read_folder_split
from univa.data.tokenization import load_tokenizer
from univa.errors import InputError
from univa.training.lit_module import UniVALitModule, network_inputs

SMALL = {"hidden_size": 16, "num_heads": 2, "ffn_size": 32}


def test_labels_modalities_and_widths_come_from_the_folder(tmp_path: Path) -> None:
    out = write_tiny(tmp_path / "ds", widths={"audio": 5, "vision": 3})
    datamodule = FolderDataModule(out, batch_size=4)
    datamodule.setup()
    spec = datamodule.data_spec
    assert spec["labels"] == LABELS and spec["modalities"] == ["audio", "vision"]
    assert spec["input_dims"] == {"audio": 5, "vision": 3}
    assert datamodule.name == "Tiny"
    assert datamodule.utt_ids["test"] == read_folder_split(out, "test").utt_ids
    assert datamodule.dialogue_ids["test"][:5] == ["d2_0"] * 4 + ["d2_1"]
    batch = next(iter(datamodule.train_dataloader()))
    assert set(batch) == {
        "labels", "audio", "audio_mask", "vision", "vision_mask", "va_audio", "va_vision"
    }  # fmt: skip
    assert batch["labels"].shape == (4, 4)
    module = UniVALitModule(**network_inputs(spec, None), **SMALL)
    assert module.model.config.modalities == ["audio", "vision"]
    out_ = module.model(batch)
    assert out_["logits"].shape == (4, 4) and set(out_["features"]) == {"audio", "vision"}


def test_no_requested_modality_in_the_data_is_refused() -> None:
    spec = {"modalities": ["audio"]}
    with pytest.raises(InputError, match=r"model.modalities=\['vision'\].*only \['audio'\]"):
        network_inputs(spec, ["vision"])


def test_a_chosen_modality_the_data_lacks_is_refused_not_dropped() -> None:
    spec = {"modalities": ["audio", "text"]}
    assert network_inputs(spec, None)["modalities"] == ["text", "audio"]  # null: all it has
    with pytest.raises(InputError, match=r"the dataset has no vision, only \['audio', 'text'\]"):
        network_inputs(spec, ["text", "audio", "vision"])


def _mapped_ranges(path: Path) -> list[tuple[int, int]]:
    """Address ranges where this process maps the file `path` (from /proc/self/maps)."""
    ranges = []
    for line in Path("/proc/self/maps").read_text().splitlines():
        fields = line.split(maxsplit=5)
        if len(fields) == 6 and fields[5] == str(path.resolve()):
            start, end = (int(x, 16) for x in fields[0].split("-"))
            ranges.append((start, end))
    return ranges


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs /proc/self/maps")
def test_raw_text_that_text_glove_cannot_read_is_warned_about_once(tmp_path: Path) -> None:
    out = write_tiny(tmp_path / "ds", widths={"audio": 5}, text=True)
    with pytest.warns(UnusedTextWarning, match="raw 'text' is not used") as caught:
        FolderDataModule(out).setup()
    assert len([w for w in caught if w.category is UnusedTextWarning]) == 1


def test_feature_tensors_share_the_memory_map(tmp_path: Path) -> None:
    """No split is held twice (nor even once in private memory): each feature tensor's memory
    is the mapped .npy file itself."""
    out = write_tiny(tmp_path / "ds")
    datamodule = FolderDataModule(out)
    datamodule.setup()
    for split in ("train", "valid", "test"):
        for modality in ("text", "audio"):
            tensor = datamodule.datasets[split].tensors[modality]
            path = out / split / f"{modality}.npy"
            assert tensor.shape == np.load(path, mmap_mode="r").shape
            first, last = tensor.data_ptr(), tensor.data_ptr() + tensor.nbytes - 1
            assert any(start <= first and last < end for start, end in _mapped_ranges(path))


def test_the_benchmarks_name_each_rows_dialogue(tiny_mosei: Path) -> None:
    datamodule = MoseiDataModule(tiny_mosei)
    datamodule.setup()
    for split in ("train", "valid", "test"):
        dialogues, utts = datamodule.dialogue_ids[split], datamodule.utt_ids[split]
        assert len(dialogues) == len(utts) and len(set(dialogues)) < len(utts)
    assert datamodule.data_spec["modalities"] == ["text", "audio", "vision"]
    assert datamodule.data_spec["label_va"] is None  # the built-in table, as before


def _plm_rows(tmp_path: Path, tiny_mosei: Path, dialogues: bool) -> tuple[dict, object]:
    out = write_tiny(tmp_path / "ds", widths={"audio": 5}, text=True, dialogues=dialogues)
    text_model = str(tiny_mosei / "text_model")
    datamodule = FolderDataModule(out, text_encoder=text_model)
    datamodule.setup()
    assert datamodule.data_spec["modalities"] == ["text", "audio"]
    return datamodule.datasets["train"].tensors, load_tokenizer(text_model)


def test_raw_text_is_read_with_its_dialogue(tmp_path: Path, tiny_mosei: Path) -> None:
    tensors, tokenizer = _plm_rows(tmp_path, tiny_mosei, dialogues=True)
    utterance = len(tokenizer.tokenize('utterance 1, with "quotes"\nand a newline'))
    # row 1 is turn 1 of a 4-utterance dialogue: its tokens are its own, inside the dialogue's
    assert int(tensors["text_utt_mask"][1].sum()) == utterance
    assert int(tensors["text_mask"][1].sum()) > 3 * utterance
    assert torch.equal(tensors["text_ids"][0], tensors["text_ids"][1])  # the same dialogue


def test_raw_text_without_dialogues_is_read_alone(tmp_path: Path, tiny_mosei: Path) -> None:
    tensors, tokenizer = _plm_rows(tmp_path, tiny_mosei, dialogues=False)
    utterance = len(tokenizer.tokenize('utterance 1, with "quotes"\nand a newline'))
    assert int(tensors["text_utt_mask"][1].sum()) == utterance
    assert int(tensors["text_mask"][1].sum()) == utterance + 2  # <s> utterance </s>


def test_a_plm_on_a_folder_without_text_is_refused(tmp_path: Path, tiny_mosei: Path) -> None:
    out = write_tiny(tmp_path / "ds", widths={"audio": 5})
    datamodule = FolderDataModule(out, text_encoder=str(tiny_mosei / "text_model"))
    with pytest.raises(InputError, match="has no 'text' column"):
        datamodule.setup()


def test_a_malformed_folder_is_refused_with_all_its_problems(tmp_path: Path) -> None:
    out = write_tiny(tmp_path / "ds")
    manifest = json.loads((out / "manifest.json").read_text())
    (out / "manifest.json").write_text(json.dumps({**manifest, "modalities": {"text": 9}}))
    with pytest.raises(InputError) as error:
        FolderDataModule(out).setup()
    message = str(error.value)
    assert "train/text.npy: width 6 disagrees with manifest key 'modalities.text' = 9" in message
    assert "train/audio.npy: not a file of a modality listed" in message


@pytest.mark.parametrize(
    ("given", "expected"), [((), "my/plm"), (("text.encoder=other",), "other")]
)
def test_text_roberta_takes_the_manifests_plm_unless_one_is_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, given: tuple, expected: str
) -> None:
    """The preset folder_roberta says it (text.encoder: null), so train(cfg) from Python and the
    command line choose alike."""
    out = write_tiny(tmp_path / "ds", text=True, manifest={"text_encoder": "my/plm"})
    cfg = compose_plain(
        "train", tmp_path, "dataset=folder", f"dataset.data_dir={out}", "text=roberta", *given
    )
    seen = {}

    def stop_before_training(cfg) -> None:
        seen["encoder"] = cfg.dataset.text_encoder
        raise InputError("stop")

    monkeypatch.setattr(train_module, "check_options", stop_before_training)
    with pytest.raises(InputError, match="stop"):
        train_module.train(cfg)
    assert seen["encoder"] == expected
