"""The tiny local text model must load offline through the Auto classes like a real PLM folder,
with the special tokens the dialogue builder relies on (docs/method.md §4 and docs/api.md §2.3)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import AutoModel, AutoTokenizer, BertModel, RobertaModel

from univa.data.synthetic.generator import WORDS
from univa.data.synthetic.tiny_text_model import TEXT_MODEL_STYLES, write_tiny_text_model

EXPECTED = {  # style -> model class, cls, sep, pad, pad id
    "roberta": (RobertaModel, "<s>", "</s>", "<pad>", 1),
    "bert": (BertModel, "[CLS]", "[SEP]", "[PAD]", 0),
}
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json")


@pytest.fixture(scope="module")
def corpus() -> list[str]:
    rng = np.random.default_rng(0)
    words = " ".join(WORDS.values()).split()
    return [" ".join(rng.choice(words, rng.integers(3, 13))) for _ in range(50)]


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.mark.parametrize("style", TEXT_MODEL_STYLES)
def test_loads_offline_with_the_style_tokens(tmp_path: Path, corpus: list[str], style: str) -> None:
    model_class, cls, sep, pad, pad_id = EXPECTED[style]
    folder = write_tiny_text_model(tmp_path / "deep" / "plm", corpus, style=style, seed=3)
    assert folder == tmp_path / "deep" / "plm"
    assert sorted(p.name for p in tmp_path.joinpath("deep").iterdir()) == ["plm"]  # no temp left
    (tmp_path / "made_by_mkdir").mkdir()
    assert folder.stat().st_mode == (tmp_path / "made_by_mkdir").stat().st_mode  # not 0o700
    tokenizer = AutoTokenizer.from_pretrained(folder)
    assert tokenizer.is_fast
    assert (tokenizer.cls_token, tokenizer.sep_token, tokenizer.pad_token) == (cls, sep, pad)
    assert tokenizer.pad_token_id == pad_id
    if style == "roberta":
        assert tokenizer.convert_tokens_to_ids("<s>") == 0
    tokens = tokenizer.tokenize(corpus[0])
    assert len(tokens) >= len(corpus[0].split())
    assert tokenizer.unk_token not in tokens
    assert tokenizer.unk_token not in tokenizer.tokenize("Unseen words, Numbers 42 & CAPS!")
    ids = tokenizer.convert_tokens_to_ids([cls, *tokens, sep])
    assert tokenizer.unk_token_id not in ids

    model = AutoModel.from_pretrained(folder)
    assert type(model) is model_class
    assert model.pooler is not None
    assert model.config.hidden_size == 32
    assert model.config.vocab_size == len(tokenizer)
    assert model.config.max_position_embeddings == (514 if style == "roberta" else 512)
    model.eval()
    with torch.no_grad():
        out = model(input_ids=torch.tensor([ids]))
    assert out.last_hidden_state.shape == (1, len(ids), 32)
    assert torch.isfinite(out.last_hidden_state).all()


@pytest.mark.parametrize("style", TEXT_MODEL_STYLES)
def test_tokenizer_files_alone_load(tmp_path: Path, corpus: list[str], style: str) -> None:
    folder = write_tiny_text_model(tmp_path / "plm", corpus, style=style)
    only = tmp_path / "tokenizer_only"
    only.mkdir()
    for name in TOKENIZER_FILES:
        shutil.copy(folder / name, only / name)
    full, alone = AutoTokenizer.from_pretrained(folder), AutoTokenizer.from_pretrained(only)
    assert alone.cls_token == EXPECTED[style][1]
    assert alone.tokenize(corpus[1]) == full.tokenize(corpus[1])
    assert alone(corpus[1]).input_ids == full(corpus[1]).input_ids


@pytest.mark.parametrize("style", TEXT_MODEL_STYLES)
def test_same_seed_same_files(tmp_path: Path, corpus: list[str], style: str) -> None:
    state = {}
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        folder = write_tiny_text_model(tmp_path / name, corpus, style=style, seed=seed)
        state[name] = AutoModel.from_pretrained(folder).state_dict()
        assert (folder / "tokenizer.json").read_bytes() == (
            tmp_path / "a" / "tokenizer.json"
        ).read_bytes()
    assert state["a"].keys() == state["b"].keys() == state["c"].keys()
    assert all(torch.equal(state["a"][k], state["b"][k]) for k in state["a"])
    assert not all(torch.equal(state["a"][k], state["c"][k]) for k in state["a"])


def test_leaves_the_global_rng_alone(tmp_path: Path, corpus: list[str]) -> None:
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    write_tiny_text_model(tmp_path / "plm", corpus)
    assert torch.equal(torch.rand(3), expected)


def test_fills_an_empty_folder_and_refuses_a_full_one(tmp_path: Path, corpus: list[str]) -> None:
    (tmp_path / "plm").mkdir()
    write_tiny_text_model(tmp_path / "plm", corpus)
    assert (tmp_path / "plm" / "model.safetensors").is_file()
    with pytest.raises(FileExistsError, match="plm"):
        write_tiny_text_model(tmp_path / "plm", corpus)


def test_rejects_an_unknown_style(tmp_path: Path, corpus: list[str]) -> None:
    with pytest.raises(ValueError, match=r"'gpt2'.*roberta, bert"):
        write_tiny_text_model(tmp_path / "plm", corpus, style="gpt2")
    assert not (tmp_path / "plm").exists()
