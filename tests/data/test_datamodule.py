"""Data modules read the released layout item for item as the original loader does."""

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from original_loader import original_plm_rows

from univa.constants import GLOVE, M3ED_LABELS, MOSEI_LABELS, Batch
from univa.data import M3EDDataModule, MoseiDataModule, SyntheticDataModule
from univa.data.dataset import collate_trimmed
from univa.data.tokenization import load_tokenizer
from univa.errors import InputError

KEYS = {
    "text",
    "text_mask",
    "audio",
    "audio_mask",
    "vision",
    "vision_mask",
    "labels",
    "va_text",
    "va_audio",
    "va_vision",
}


def original_items(data_dir: Path, name: str, split: str) -> list[dict[str, torch.Tensor]]:
    """The original `loading_multimodal_data` on the GloVe path with vaAug, as dicts."""

    def normalized(values: np.ndarray) -> torch.Tensor:
        values = torch.tensor(np.array(values).astype(np.float32))
        return (values - values.mean(dim=0)[0]) / values.std(dim=0)[0]

    final_feat = data_dir / "preprocess_data" / "final_feat"
    columns = {}
    for modality, folder in (("audio", "A"), ("vision", "V")):
        with open(final_feat / folder / f"{name}_{split}_{modality}_utt_VA.pkl", "rb") as file:
            table = pickle.load(file)[split]
        columns[modality] = torch.tensor(table[modality].astype(np.float32))
        columns[f"{modality}_mask"] = torch.tensor(table[f"{modality}_utt_mask"].astype(np.float32))
        columns[f"va_{modality}"] = normalized(table[f"{modality}_VA_values"])
        columns["labels"] = torch.tensor(table["labels_class"].astype(np.float32))
    with open(final_feat / "T" / f"{name}_{split}_text_glove300_VA.pkl", "rb") as file:
        table = pickle.load(file)
    columns["text"] = torch.tensor(table["text"].astype(np.float32))
    columns["text_mask"] = torch.tensor(table["text_utt_mask"].astype(np.float32))
    columns["va_text"] = normalized(table["text_VA_values"])
    return [
        {key: column[i] for key, column in columns.items()} for i in range(len(columns["labels"]))
    ]


@pytest.mark.parametrize(
    ("module_class", "fixture", "labels"),
    [(MoseiDataModule, "tiny_mosei", MOSEI_LABELS), (M3EDDataModule, "tiny_m3ed", M3ED_LABELS)],
)
def test_items_equal_the_original_loader(
    module_class, fixture: str, labels: list[str], request
) -> None:
    data_dir = request.getfixturevalue(fixture)
    datamodule = module_class(data_dir, batch_size=4)
    datamodule.setup()
    assert datamodule.data_spec["labels"] == labels
    for split in ("train", "valid", "test"):
        ours = datamodule.datasets[split]
        theirs = original_items(data_dir, module_class.name, split)
        assert len(ours) == len(theirs)
        for index in range(len(ours)):
            item = ours[index]
            assert set(item) == KEYS
            for key in KEYS:
                torch.testing.assert_close(
                    item[key], theirs[index][key], rtol=0, atol=0, msg=f"{split}[{index}].{key}"
                )


def test_data_spec_and_batches(tiny_mosei: Path) -> None:
    datamodule = MoseiDataModule(tiny_mosei, batch_size=5)
    datamodule.setup()
    spec = datamodule.data_spec
    assert spec["input_dims"] == {"text": 300, "audio": 74, "vision": 35}
    for modality in ("text", "audio", "vision"):
        longest = max(
            datamodule.datasets[s].tensors[modality].shape[1] for s in ("train", "valid", "test")
        )
        assert spec["max_lens"][modality] == longest
    batch = next(iter(datamodule.train_dataloader()))
    assert set(batch) == KEYS and batch["labels"].shape == (5, 6)
    assert batch["va_text"].shape == (5, 2)


def test_collate_trims_only_all_padding_columns() -> None:
    items = [
        {
            "audio": torch.randn(6, 3),
            "audio_mask": torch.tensor([1.0, 1, 0, 0, 0, 0]),
            "labels": torch.ones(2),
        },
        {
            "audio": torch.randn(6, 3),
            "audio_mask": torch.tensor([1.0, 1, 1, 0, 0, 0]),
            "labels": torch.zeros(2),
        },
    ]
    batch = collate_trimmed(items)
    assert batch["audio"].shape == (2, 3, 3) and batch["audio_mask"].shape == (2, 3)
    torch.testing.assert_close(batch["audio"][1], items[1]["audio"][:3])


def test_missing_dataset_folder_says_what_is_expected(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="preprocess_data"):
        MoseiDataModule(tmp_path / "nowhere").setup()


def test_label_width_must_match_the_dataset(tiny_m3ed: Path) -> None:
    with pytest.raises(ValueError, match="labels_class has 7 columns, expected 6"):
        module = MoseiDataModule(tiny_m3ed)
        module.name = "M3ED"  # the files are named M3ED_*, but MOSEI's six labels are expected
        module.setup()


def test_synthetic_module_generates_once_then_reads(tmp_path: Path) -> None:
    data_dir = tmp_path / "synthetic"
    datamodule = SyntheticDataModule(data_dir, flavor="m3ed", size="tiny", batch_size=4)
    datamodule.setup()
    assert (data_dir / "preprocess_data").is_dir()
    stamp = {p: p.stat().st_mtime_ns for p in data_dir.rglob("*.pkl")}
    again = SyntheticDataModule(data_dir, flavor="m3ed", size="tiny")
    again.setup()
    assert {p: p.stat().st_mtime_ns for p in data_dir.rglob("*.pkl")} == stamp
    assert len(again.datasets["train"]) == len(datamodule.datasets["train"])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"va_norm": "zscore"}, "va_norm"),
        ({"batch_size": 0}, "batch_size"),
    ],
)
def test_bad_options_are_named(tmp_path: Path, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        MoseiDataModule(tmp_path, **kwargs)


def test_unloadable_text_encoder_is_named(tiny_mosei: Path, tmp_path: Path) -> None:
    with pytest.raises(OSError, match="text_encoder="):
        MoseiDataModule(tiny_mosei, text_encoder=str(tmp_path / "no_such_model")).setup()


@pytest.mark.parametrize(
    ("module_class", "fixture"), [(MoseiDataModule, "tiny_mosei"), (M3EDDataModule, "tiny_m3ed")]
)
def test_plm_items_equal_the_original_loader(module_class, fixture: str, request) -> None:
    data_dir = request.getfixturevalue(fixture)
    text_model = data_dir / "text_model"
    datamodule = module_class(data_dir, text_encoder=str(text_model), batch_size=4)
    datamodule.setup()
    assert datamodule.data_spec["text_encoder"] == str(text_model)
    tokenizer = load_tokenizer(str(text_model))
    for split in ("train", "valid", "test"):
        ours = datamodule.datasets[split]
        theirs = original_plm_rows(data_dir, module_class.name, split, tokenizer)
        glove = original_items(data_dir, module_class.name, split)
        raw_va = torch.tensor([row["va"] for row in theirs])
        expected_va = (raw_va - raw_va[:, 0].mean()) / raw_va[:, 0].std()
        assert len(ours) == len(theirs)
        for index, expected in enumerate(theirs):
            item = ours[index]
            real = int(item["text_mask"].sum())
            assert real == len(expected["text_ids"])
            assert torch.equal(item["text_ids"][:real], expected["text_ids"])
            assert torch.equal(item["text_utt_mask"][:real], expected["text_utt_mask"])
            assert item["text_utt_mask"][real:].sum() == 0
            assert torch.all(item["text_ids"][real:] == tokenizer.pad_token_id)
            torch.testing.assert_close(item["va_text"], expected_va[index])
            for key in ("labels", "audio", "audio_mask", "va_audio", "vision", "va_vision"):
                torch.testing.assert_close(item[key], glove[index][key], rtol=0, atol=0)


def test_plm_batches_are_padded_to_their_own_longest_dialogue(tiny_m3ed: Path) -> None:
    datamodule = M3EDDataModule(tiny_m3ed, text_encoder=str(tiny_m3ed / "text_model"), batch_size=3)
    datamodule.setup()
    stored = datamodule.datasets["valid"].tensors["text_ids"].shape[1]
    lengths = [batch["text_ids"].shape[1] for batch in datamodule.val_dataloader()]
    for batch in datamodule.val_dataloader():
        assert batch["text_mask"][:, -1].any()  # no all-padding column left
        assert batch["text_ids"].shape == batch["text_utt_mask"].shape == batch["text_mask"].shape
    assert max(lengths) <= stored < 512


def test_the_batch_type_declares_every_key_a_loader_yields(tiny_m3ed: Path) -> None:
    """`univa.constants.Batch` is the contract between loaders, network and losses, on the
    GloVe and the PLM path alike."""
    declared = Batch.__required_keys__ | Batch.__optional_keys__
    for text_encoder in (GLOVE, str(tiny_m3ed / "text_model")):
        datamodule = M3EDDataModule(tiny_m3ed, text_encoder=text_encoder, batch_size=3)
        datamodule.setup()
        keys = set(next(iter(datamodule.val_dataloader())))
        assert Batch.__required_keys__ <= keys <= declared, keys - declared


def test_split_labels_and_utterance_ids_follow_the_split_loader(tiny_mosei: Path) -> None:
    datamodule = MoseiDataModule(tiny_mosei, batch_size=4)
    with pytest.raises(RuntimeError, match="setup"):
        datamodule.split_labels("test")
    datamodule.setup()
    labels = torch.cat([batch["labels"] for batch in datamodule.split_loader("test")])
    assert torch.equal(datamodule.split_labels("test"), labels)
    utt_ids = datamodule.split_utt_ids("test")
    assert len(set(utt_ids)) == len(utt_ids) == len(labels)
    with pytest.raises(InputError, match="split must be one of"):
        datamodule.split_labels("dev")


def test_loader_options_follow_the_trainer_unless_configured(tmp_path: Path, monkeypatch) -> None:
    from types import SimpleNamespace

    from lightning.pytorch.accelerators import CPUAccelerator, CUDAAccelerator

    monkeypatch.setattr("os.cpu_count", lambda: 16)
    gpus = SimpleNamespace(accelerator=CUDAAccelerator(), num_devices=2)
    cpu = SimpleNamespace(accelerator=CPUAccelerator(), num_devices=1)
    datamodule = MoseiDataModule(tmp_path)
    assert datamodule._loader_options() == {
        "num_workers": 0,
        "pin_memory": False,
        "persistent_workers": False,
    }
    datamodule.trainer = gpus
    assert datamodule._loader_options() == {
        "num_workers": 4,
        "pin_memory": True,
        "persistent_workers": True,
    }
    datamodule.trainer = cpu
    assert datamodule._loader_options()["num_workers"] == 0
    configured = MoseiDataModule(tmp_path, num_workers=1, pin_memory=False)
    configured.trainer = gpus
    assert configured._loader_options() == {
        "num_workers": 1,
        "pin_memory": False,
        "persistent_workers": True,
    }
