"""The original UniVA loader's logic, re-implemented plainly as the reference for our readers."""

import csv
import json
from pathlib import Path

import torch


def original_inputs(
    dialogue: list[list[str]], position: int, style: str
) -> tuple[list[str], list[int]]:
    """The original `Data_Text.preprocess_data` for one utterance: tokens and flag mask."""
    tokens_per_utt = [list(u) for u in dialogue]
    total = sum(len(u) for u in tokens_per_utt)
    n = len(tokens_per_utt)
    max_len = 512 if total < 460 else (512 - 2 * n if style == "roberta" else 512 - n - 1)
    while sum(len(u) for u in tokens_per_utt) > max_len:
        lengths = [(i, len(u)) for i, u in enumerate(tokens_per_utt)]
        tokens_per_utt[sorted(lengths, key=lambda x: x[1], reverse=True)[0][0]].pop()
    for index, utt in enumerate(tokens_per_utt):
        if index == 0:
            tokens = ["<s>", *utt, "</s>"] if style == "roberta" else ["[CLS]", *utt, "[SEP]"]
        else:
            tokens += ["</s>", *utt, "</s>"] if style == "roberta" else [*utt, "[SEP]"]
    own = len(tokens_per_utt[position])
    if position == 0:
        flag = [0] + [1] * own + [0] * (len(tokens) - own - 1)
    elif position == n - 1:
        flag = [0] * (len(tokens) - own - 1) + [1] * own + [0]
    else:
        before = sum(len(tokens_per_utt[i]) for i in range(position))
        before += position * 2 + 1 if style == "roberta" else position + 1
        flag = [0] * before + [1] * own + [0] * (len(tokens) - own - before)
    return tokens, flag


def original_plm_rows(data_dir: Path, name: str, split: str, tokenizer) -> list[dict]:
    """`Data_Text.preprocess_data`: per utterance, in the original row order, ids, attention
    mask, flag (utterance) mask on the real tokens, and the raw text VA."""
    style = "roberta" if tokenizer.cls_token == "<s>" else "bert"
    pre = data_dir / "preprocess_data"
    structure = json.loads((pre / "videos_structure.json").read_text())[split]
    if name == "MOSEI":
        with open(data_dir / "final_multi_labels.csv", newline="") as file:
            rows = [r for r in csv.DictReader(file) if r["mode"] == split]
        utterances = {
            f"{r['video_id']}_{r['clip_id']}": (r["text"], r["video_id"], int(r["truely_sort"]))
            for r in rows
        }
    else:
        annotations = json.loads((pre / "utt_annot.json").read_text())[split]
        utterances = {}
        for utt_id, annotation in annotations.items():
            dialogue = utt_id.rsplit("_", 1)[0]
            utterances[utt_id] = (annotation["text"], dialogue, structure[dialogue].index(utt_id))
    va_table = json.loads((pre / "raw_utt_text_textVA.json").read_text())[split]
    texts = {utt_id: text for utt_id, (text, _, _) in utterances.items()}
    items = []
    for utt_id, (_, dialogue, position) in utterances.items():
        turns = [tokenizer.tokenize(texts[u]) for u in structure[dialogue]]
        tokens, flag = original_inputs(turns, position, style)
        items.append(
            {
                "text_ids": torch.tensor(tokenizer.convert_tokens_to_ids(tokens)),
                "text_utt_mask": torch.tensor(flag, dtype=torch.float32),
                "va": [float(v) for v in va_table[utt_id][-2:]],
            }
        )
    return items
