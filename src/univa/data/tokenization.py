"""Dialogue-context inputs of the PLM text path (docs/method.md §4).

Every utterance is encoded with its whole dialogue: `<s> u1 </s></s> u2 </s> ... </s>` (RoBERTa
style) or `[CLS] u1 [SEP] u2 [SEP] ...` (BERT style), and an utterance mask marks its own tokens.
Long dialogues are cut the way the original code cuts them, so results stay comparable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from univa.custom_code import refuse_custom_code
from univa.errors import InputError, InputFileNotFoundError, InputKeyError

MAX_SEQ_LEN = 512
NO_CUT_BELOW = 460  # dialogues with fewer tokens than this are never cut

if TYPE_CHECKING:  # torch and transformers load on first use: `python -m univa.data.convert
    import torch  # --help` reads SplitText (released/text.py) without them


@dataclass(frozen=True)
class Utterance:
    """One row of a split on the PLM path, from either layout."""

    utt_id: str
    dialogue_id: str
    position: int  # 0-based place of the utterance in its dialogue


@dataclass(frozen=True)
class SplitText:
    """Utterances in row order, dialogues in turn order, every text and the raw text VA."""

    utterances: list[Utterance]
    dialogues: dict[str, list[str]]
    texts: dict[str, str]
    va: list[tuple[float, float]]


@dataclass(frozen=True)
class DialogueStyle:
    """How utterances are joined: tokens before the first, between two, and after the last."""

    name: str
    opening: tuple[str, ...]
    between: tuple[str, ...]
    closing: tuple[str, ...]

    def budget(self, num_utterances: int) -> int:
        """Tokens left for the utterances of a dialogue once its special tokens are placed."""
        special = len(self.opening) + len(self.closing) + len(self.between) * (num_utterances - 1)
        return MAX_SEQ_LEN - special


def load_tokenizer(name_or_path: str):
    """A PLM's tokenizer from a hub name or a local folder (tokenizer files alone suffice)."""
    from transformers import AutoTokenizer

    try:
        refuse_custom_code(name_or_path)
        return AutoTokenizer.from_pretrained(name_or_path, trust_remote_code=False)
    except InputError:
        raise
    except (OSError, ValueError) as error:
        raise InputFileNotFoundError(
            f"text_encoder={name_or_path!r}: cannot load its tokenizer ({error}). Give a local "
            "folder with the tokenizer files, or a hub name on a machine that can reach the hub."
        ) from error


def dialogue_style(tokenizer) -> DialogueStyle:
    """RoBERTa style iff the tokenizer's cls token is `<s>`, otherwise BERT style."""
    cls, sep = tokenizer.cls_token, tokenizer.sep_token
    if cls == "<s>":
        return DialogueStyle("roberta", (cls,), (sep, sep), (sep,))
    return DialogueStyle("bert", (cls,), (sep,), (sep,))


def truncate_dialogue(utterances: list[list[str]], style: DialogueStyle) -> list[list[str]]:
    """Cut tokens off the end of the longest utterance, one at a time, until the dialogue fits.

    Dialogues under 460 tokens are kept whole. Ties go to the earliest utterance (the
    original's stable sort). Returns new lists; the input is left alone.
    """
    kept = [list(tokens) for tokens in utterances]
    total = sum(len(tokens) for tokens in kept)
    if total < NO_CUT_BELOW:
        return kept
    budget = max(style.budget(len(kept)), 0)
    while total > budget:
        longest = max(range(len(kept)), key=lambda i: (len(kept[i]), -i))
        kept[longest].pop()
        total -= 1
    return kept


def encode_dialogue(
    utterances: list[list[str]], style: DialogueStyle
) -> tuple[list[str], list[tuple[int, int]]]:
    """Join a (cut) dialogue into one token sequence; return it with each utterance's span."""
    tokens = list(style.opening)
    spans = []
    for index, utterance in enumerate(utterances):
        if index:
            tokens += style.between
        spans.append((len(tokens), len(tokens) + len(utterance)))
        tokens += utterance
    tokens += style.closing
    return tokens, spans


def plm_inputs(split: SplitText, tokenizer) -> dict[str, torch.Tensor]:
    """`text_ids`, `text_mask` (attention) and `text_utt_mask` (N, S) for every row of a split.

    Each utterance is tokenised once and each dialogue encoded once, then shared by all of its
    utterances; S is the split's longest sequence (batches are trimmed further when collated).
    """
    import torch

    style = dialogue_style(tokenizer)
    encoded: dict[str, tuple[list[int], list[tuple[int, int]]]] = {}
    rows = []
    for utterance in split.utterances:
        if utterance.dialogue_id not in encoded:
            turns = split.dialogues.get(utterance.dialogue_id)
            if turns is None or any(utt_id not in split.texts for utt_id in turns):
                raise InputKeyError(
                    f"dialogue {utterance.dialogue_id!r} of {utterance.utt_id!r}: videos_structure.json "
                    "and the utterance texts disagree"
                )
            cut = truncate_dialogue([tokenizer.tokenize(split.texts[u]) for u in turns], style)
            tokens, spans = encode_dialogue(cut, style)
            encoded[utterance.dialogue_id] = (tokenizer.convert_tokens_to_ids(tokens), spans)
        ids, spans = encoded[utterance.dialogue_id]
        rows.append((ids, spans[utterance.position]))
    length = max(len(ids) for ids, _ in rows)
    text_ids = torch.full((len(rows), length), tokenizer.pad_token_id, dtype=torch.long)
    text_mask = torch.zeros(len(rows), length)
    utt_mask = torch.zeros(len(rows), length)
    for row, (ids, (start, end)) in enumerate(rows):
        text_ids[row, : len(ids)] = torch.tensor(ids)
        text_mask[row, : len(ids)] = 1.0
        utt_mask[row, start:end] = 1.0
    return {"text_ids": text_ids, "text_mask": text_mask, "text_utt_mask": utt_mask}
