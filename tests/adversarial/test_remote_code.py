"""Folders that ship Python for transformers to run (issue 20, item 1): a dataset's tokenizer
with an `auto_map` to its `tokenization_*.py`, an exported model whose `text_encoder/config.json`
names a custom `model_type` and `modeling_*.py`. Each is refused in one line naming the file and
the key; nothing asks on stdin, and the shipped code never runs."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

import univa
from command_line import run_in_process
from folder_data import write_tiny
from pretrained_folders import write_folder
from univa.data.tokenization import load_tokenizer
from univa.errors import UniVAError
from univa.model.pretrained import CONFIG_FILE, TEXT_ENCODER_DIR


class WatchedStdin(io.StringIO):
    """Answers `y` to any prompt, and remembers that someone asked."""

    def __init__(self) -> None:
        super().__init__("y\n" * 10)
        self.was_read = False

    def readline(self, *args) -> str:
        self.was_read = True
        return super().readline(*args)

    def read(self, *args) -> str:
        self.was_read = True
        return super().read(*args)


@pytest.fixture
def stdin(monkeypatch: pytest.MonkeyPatch) -> WatchedStdin:
    watched = WatchedStdin()
    monkeypatch.setattr("sys.stdin", watched)
    return watched


def shipped_code(folder: Path, module: str, marker: Path) -> None:
    """`folder/<module>.py` that writes `marker` when imported."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{module}.py").write_text(
        f"from pathlib import Path\nPath({str(marker)!r}).write_text('ran')\n"
        "from transformers import PretrainedConfig, PreTrainedModel, PreTrainedTokenizerFast\n"
        "class EvilTokenizer(PreTrainedTokenizerFast):\n    pass\n"
        "class EvilConfig(PretrainedConfig):\n    model_type = 'evil'\n"
        "class EvilModel(PreTrainedModel):\n    config_class = EvilConfig\n"
    )


def hostile_tokenizer(folder: Path, marker: Path) -> Path:
    shipped_code(folder, "tokenization_evil", marker)
    config = {
        "tokenizer_class": "EvilTokenizer",
        "auto_map": {"AutoTokenizer": ["tokenization_evil.EvilTokenizer", None]},
    }
    (folder / "tokenizer_config.json").write_text(json.dumps(config))
    return folder


def test_a_tokenizer_with_an_auto_map_is_refused_and_never_run(
    tmp_path: Path, stdin: WatchedStdin
) -> None:
    marker = tmp_path / "ran"
    folder = hostile_tokenizer(tmp_path / "tokenizer", marker)
    with pytest.raises(UniVAError, match=r"tokenizer_config.json: key 'auto_map'") as caught:
        load_tokenizer(str(folder))
    assert "\n" not in str(caught.value)
    assert not marker.exists() and not stdin.was_read


def test_train_on_a_dataset_naming_such_a_tokenizer_ends_in_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, stdin: WatchedStdin
) -> None:
    marker = tmp_path / "ran"
    folder = hostile_tokenizer(tmp_path / "tokenizer", marker)
    out = write_tiny(tmp_path / "ds", text=True, manifest={"text_encoder": str(folder)})
    failure = run_in_process(
        monkeypatch, tmp_path, "univa.train", "dataset=folder", f"dataset.data_dir={out}",
        "text=roberta",
    )  # fmt: skip
    assert failure.returncode != 0 and len(failure.lines) == 1, failure.stderr
    assert failure.lines[0].startswith("univa.train: error: ")
    assert f"{folder}/tokenizer_config.json: key 'auto_map'" in failure.lines[0]
    assert not marker.exists() and not stdin.was_read


@pytest.mark.parametrize("auto_map", [True, False])
def test_an_exported_model_with_a_custom_model_type_is_refused_and_never_run(
    tmp_path: Path, stdin: WatchedStdin, auto_map: bool
) -> None:
    marker = tmp_path / "ran"
    folder = write_folder(tmp_path / "model")
    config = json.loads((folder / CONFIG_FILE).read_text())
    config["network"]["text_encoder"] = "roberta-base"
    (folder / CONFIG_FILE).write_text(json.dumps(config))
    text_dir = folder / TEXT_ENCODER_DIR
    shipped_code(text_dir, "modeling_evil", marker)
    plm_config = {"model_type": "evil", "hidden_size": 8}
    if auto_map:
        plm_config["auto_map"] = {
            "AutoConfig": "modeling_evil.EvilConfig",
            "AutoModel": "modeling_evil.EvilModel",
        }
    (text_dir / "config.json").write_text(json.dumps(plm_config))
    key = "auto_map" if auto_map else "model_type"
    with pytest.raises(UniVAError, match=rf"text_encoder/config.json: key '{key}'") as caught:
        univa.load_pretrained(folder)
    assert "\n" not in str(caught.value)
    assert not marker.exists() and not stdin.was_read
