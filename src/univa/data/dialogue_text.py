"""The text side of the released layout for the PLM path (SPEC sections 4 and 5).

Each utterance is read with its dialogue, its position in it, and the text modality's VA, in
the row order the features use: the CSV rows of the split (MOSEI) or the key order of
`utt_annot.json` (M3ED).
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Utterance:
    """One row of a split on the PLM path."""

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


def read_json(path: Path) -> Any:
    if not path.is_file():
        raise FileNotFoundError(f"missing {path} (see the README's 'Data layout')")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"cannot read {path}: {error} (truncated or not JSON?)") from error


def _section(table: Any, split: str, path: Path) -> Any:
    if not isinstance(table, dict) or split not in table:
        raise KeyError(f"{path} has no {split!r} section")
    return table[split]


def _mosei_rows(
    data_dir: Path, split: str, dialogues: dict[str, list[str]]
) -> tuple[list[Utterance], dict[str, str]]:
    path = data_dir / "final_multi_labels.csv"
    if not path.is_file():
        raise FileNotFoundError(
            f"missing {path} (MOSEI's utterance texts; see the README's 'Data layout')"
        )
    utterances, texts = [], {}
    with path.open(newline="", encoding="utf-8") as file:
        for row in csv.DictReader(file):
            if row["mode"] != split:
                continue
            utt_id = f"{row['video_id']}_{row['clip_id']}"
            utterances.append(Utterance(utt_id, row["video_id"], int(float(row["truely_sort"]))))
            texts[utt_id] = row["text"]
    return utterances, texts


def _m3ed_rows(
    data_dir: Path, split: str, dialogues: dict[str, list[str]]
) -> tuple[list[Utterance], dict[str, str]]:
    path = data_dir / "preprocess_data" / "utt_annot.json"
    annotations = _section(read_json(path), split, path)
    utterances, texts = [], {}
    for utt_id, annotation in annotations.items():
        dialogue_id = utt_id.rsplit("_", 1)[0]
        utterances.append(Utterance(utt_id, dialogue_id, dialogues[dialogue_id].index(utt_id)))
        texts[utt_id] = annotation["text"]
    return utterances, texts


ROW_READERS = {"MOSEI": _mosei_rows, "M3ED": _m3ed_rows}


def read_split_text(data_dir: Path, name: str, split: str) -> SplitText:
    """Read dialogues, utterance texts and text VA of one split of dataset `name`."""
    preprocess = Path(data_dir) / "preprocess_data"
    structure_path = preprocess / "videos_structure.json"
    dialogues = _section(read_json(structure_path), split, structure_path)
    utterances, texts = ROW_READERS[name](Path(data_dir), split, dialogues)
    va_path = preprocess / "raw_utt_text_textVA.json"
    va_table = _section(read_json(va_path), split, va_path)
    missing = [u.utt_id for u in utterances if u.utt_id not in va_table]
    if missing:
        raise KeyError(
            f"{va_path} has no text VA for {len(missing)} {split} utterances, e.g. {missing[:3]}"
        )
    va = [(float(va_table[u.utt_id][-2]), float(va_table[u.utt_id][-1])) for u in utterances]
    return SplitText(utterances=utterances, dialogues=dialogues, texts=texts, va=va)
