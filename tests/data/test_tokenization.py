"""Dialogue-context inputs against the original loader's algorithm (docs/method.md §4)."""

from dataclasses import dataclass

import pytest
import torch
from original_loader import original_inputs

from univa.data.tokenization import (
    SplitText,
    Utterance,
    dialogue_style,
    encode_dialogue,
    plm_inputs,
    truncate_dialogue,
)


@dataclass
class WordTokenizer:
    """Whitespace tokenizer with a growing vocabulary, in the RoBERTa or BERT style."""

    cls_token: str
    sep_token: str
    pad_token_id: int = 1

    def __post_init__(self) -> None:
        self.vocab = {self.cls_token: 0, "<pad>": 1, self.sep_token: 2}

    def tokenize(self, text: str) -> list[str]:
        return text.split()

    def convert_tokens_to_ids(self, tokens: list[str]) -> list[int]:
        return [self.vocab.setdefault(token, len(self.vocab)) for token in tokens]


ROBERTA = WordTokenizer("<s>", "</s>")
BERT = WordTokenizer("[CLS]", "[SEP]", pad_token_id=0)


def dialogue_of(lengths: list[int]) -> list[list[str]]:
    return [[f"w{u}_{t}" for t in range(length)] for u, length in enumerate(lengths)]


CASES = {
    "short": [5, 3, 8],
    "single": [7],
    "long, ties to the earliest": [200, 200, 120, 30],
    "just under 460": [230, 229],
    "over budget, many turns": [90] * 7,
    "an empty utterance": [0, 600, 2],
    "cut to zero tokens": [3] * 200,
}


@pytest.mark.parametrize("tokenizer", [ROBERTA, BERT], ids=["roberta", "bert"])
@pytest.mark.parametrize("lengths", CASES.values(), ids=CASES.keys())
def test_every_position_matches_the_original(tokenizer: WordTokenizer, lengths: list[int]) -> None:
    style = dialogue_style(tokenizer)
    dialogue = dialogue_of(lengths)
    tokens, spans = encode_dialogue(truncate_dialogue(dialogue, style), style)
    assert len(tokens) <= 512
    n = len(dialogue)
    for position in range(n) if n <= 10 else (0, 1, n // 2, n - 1):
        expected_tokens, flag = original_inputs(dialogue, position, style.name)
        assert tokens == expected_tokens
        start, end = spans[position]
        assert flag == [int(start <= i < end) for i in range(len(tokens))]


def test_long_dialogues_cut_utterances_to_zero_tokens() -> None:
    style = dialogue_style(ROBERTA)
    cut = truncate_dialogue(dialogue_of([3] * 200), style)
    assert sum(len(u) for u in cut) == 512 - 2 * 200
    assert [len(u) for u in cut[:88]] == [0] * 88 and {len(u) for u in cut[88:]} == {1}
    tokens, spans = encode_dialogue(cut, style)
    assert len(tokens) == 512 and spans[0][0] == spans[0][1]


def test_truncation_cuts_the_longest_first_and_leaves_the_input_alone() -> None:
    dialogue = dialogue_of([300, 250, 10])
    cut = truncate_dialogue(dialogue, dialogue_style(ROBERTA))
    assert [len(u) for u in dialogue] == [300, 250, 10]
    assert sum(len(u) for u in cut) == 512 - 2 * 3
    assert [len(u) for u in cut] == [248, 248, 10]
    assert cut[0] == dialogue[0][:248]


def test_style_follows_the_cls_token() -> None:
    assert dialogue_style(ROBERTA).name == "roberta"
    assert dialogue_style(BERT).name == "bert"


@pytest.mark.parametrize("tokenizer", [ROBERTA, BERT], ids=["roberta", "bert"])
def test_plm_inputs_rows_follow_the_split_order(tokenizer: WordTokenizer) -> None:
    texts = {"d1_1": "a b c", "d1_2": "d e", "d2_1": "f", "d2_2": ""}
    split = SplitText(
        utterances=[
            Utterance("d2_2", "d2", 1),
            Utterance("d1_1", "d1", 0),
            Utterance("d1_2", "d1", 1),
        ],
        dialogues={"d1": ["d1_1", "d1_2"], "d2": ["d2_1", "d2_2"]},
        texts=texts,
        va=[(0.0, 0.0)] * 3,
    )
    out = plm_inputs(split, tokenizer)
    assert out["text_ids"].shape[0] == 3
    # row 0 is an empty utterance: attention on its dialogue, no utterance token
    assert out["text_utt_mask"][0].sum() == 0 and out["text_mask"][0].sum() > 0
    ids = out["text_ids"][2][out["text_utt_mask"][2].bool()]
    assert ids.tolist() == tokenizer.convert_tokens_to_ids(["d", "e"])
    padded = out["text_mask"] == 0
    assert torch.all(out["text_ids"][padded] == tokenizer.pad_token_id)
