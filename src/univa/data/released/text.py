"""The text side of the released layout (docs/method.md §4 and docs/data-format.md §1): dialogues and utterance texts.

On the PLM path each utterance is read with its dialogue, its position in it, and the text
modality's VA, in the row order the features use: the CSV rows of the split (MOSEI) or the key
order of `utt_annot.json` (M3ED). On the GloVe path the feature rows follow the dialogues of
`videos_structure.json`, which names each row's utterance.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

from univa import safe_json
from univa.data.records import DatasetRecord
from univa.data.tokenization import SplitText, Utterance
from univa.errors import InputError, InputFileNotFoundError, InputKeyError

SHOWN = 3  # offending ids or lines quoted in an error message


def _shown(items: list) -> str:
    """The first few of `items`, for an error message."""
    return ", ".join(map(repr, items[:SHOWN])) + (", ..." if len(items) > SHOWN else "")


class _DuplicateKeyError(ValueError):
    """A JSON object names the same key twice (`json` would silently keep the last one)."""


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    table = dict(pairs)
    if len(table) < len(pairs):
        keys = [key for key, _ in pairs]
        repeated = sorted({key for key in keys if keys.count(key) > 1})
        raise _DuplicateKeyError(f"the key(s) {_shown(repeated)} appear more than once")
    return table


def read_json(path: Path) -> Any:
    if not path.is_file():
        raise InputFileNotFoundError(f"missing {path} (see the README's 'Data layout')")
    try:
        return safe_json.read_json(path, object_pairs_hook=_unique_keys)
    except _DuplicateKeyError as error:
        raise InputError(f"{path}: {error} (a duplicated utterance or dialogue?)") from None
    except OSError as error:
        raise InputError(f"cannot read {path}: {error} (truncated or not JSON?)") from error


def _section(table: Any, split: str, path: Path) -> Any:
    if not isinstance(table, dict) or split not in table:
        found = sorted(table) if isinstance(table, dict) else type(table).__name__
        raise InputKeyError(f"{path} has no {split!r} section; found {found}")
    return table[split]


def read_dialogues(data_dir: Path, split: str) -> dict[str, list[str]]:
    """`videos_structure.json`'s dialogues of a split: dialogue id -> utterance ids in order.

    Each utterance id appears once in a split: a repeated one would give two feature rows the
    same name and shift every later row onto the wrong utterance.
    """
    path = Path(data_dir) / "preprocess_data" / "videos_structure.json"
    dialogues = _section(read_json(path), split, path)
    if not isinstance(dialogues, dict) or not all(
        isinstance(utt_ids, list) and all(isinstance(u, str) for u in utt_ids)
        for utt_ids in dialogues.values()
    ):
        raise InputError(
            f"{path}: the {split!r} section must map dialogue ids to lists of utterance ids"
        )
    seen: dict[str, str] = {}
    repeated = []
    for dialogue_id, utt_ids in dialogues.items():
        for utt_id in utt_ids:
            if utt_id in seen:
                repeated.append(f"{utt_id!r} (dialogues {seen[utt_id]!r} and {dialogue_id!r})")
            seen.setdefault(utt_id, dialogue_id)
    if repeated:
        raise InputError(
            f"{path}: the {split!r} section lists {len(repeated)} utterance id(s) more than "
            f"once: {', '.join(repeated[:SHOWN])}{', ...' if len(repeated) > SHOWN else ''}"
        )
    return dialogues


def dialogue_order(dialogues: dict[str, list[str]]) -> list[str]:
    """Utterance ids dialogue by dialogue: the row order of the feature pickles."""
    return [utt_id for utt_ids in dialogues.values() for utt_id in utt_ids]


MOSEI_COLUMNS = ("video_id", "clip_id", "text", "mode", "truely_sort")


def _read_csv(path: Path, columns: tuple[str, ...]) -> list[dict[str, str]]:
    """Rows of a CSV file that has at least `columns`, each row complete."""
    if not path.is_file():
        raise InputFileNotFoundError(f"missing {path} (see the README's 'Data layout')")
    try:
        with path.open(newline="", encoding="utf-8") as file:
            reader = csv.DictReader(file)
            rows = list(reader)
    except (OSError, csv.Error, UnicodeDecodeError) as error:
        raise InputError(f"cannot read {path}: {error} (truncated or not CSV?)") from error
    missing = [c for c in columns if c not in (reader.fieldnames or [])]
    if missing:
        raise InputKeyError(
            f"{path} has no column(s) {missing}; expected {list(columns)}, found {reader.fieldnames}"
        )
    for number, row in enumerate(rows, start=2):  # line 1 is the header
        if any(row[c] is None for c in columns):
            raise InputError(f"{path}: line {number} has too few fields (truncated?)")
    return rows


def _csv_rows(
    path: Path, split: str, dialogues: dict[str, list[str]]
) -> tuple[list[Utterance], dict[str, str]]:
    """MOSEI's way: the split's rows of a CSV, each with its video (dialogue) and position."""
    utterances, texts = [], {}
    for number, row in enumerate(_read_csv(path, MOSEI_COLUMNS), start=2):
        if row["mode"] != split:
            continue
        utt_id = f"{row['video_id']}_{row['clip_id']}"
        if utt_id in texts:
            raise InputError(
                f"{path}: line {number} repeats utterance {utt_id!r} of the {split!r} split "
                f"(video_id {row['video_id']!r}, clip_id {row['clip_id']!r})"
            )
        try:
            position = int(float(row["truely_sort"]))
        except ValueError:
            raise InputError(
                f"{path}: line {number} has truely_sort={row['truely_sort']!r}, expected a number"
            ) from None
        utterances.append(Utterance(utt_id, row["video_id"], position))
        texts[utt_id] = row["text"]
    return utterances, texts


def _annotation_keys(
    path: Path, split: str, dialogues: dict[str, list[str]]
) -> tuple[list[Utterance], dict[str, str]]:
    """M3ED's way: the key order of the split's annotations, `<dialogue id>_<n>` each."""
    annotations = _section(read_json(path), split, path)
    utterances, texts = [], {}
    for utt_id, annotation in annotations.items():
        dialogue_id = utt_id.rsplit("_", 1)[0]
        if utt_id not in dialogues.get(dialogue_id, []):
            raise InputKeyError(
                f"{path}: utterance {utt_id!r} is not in dialogue {dialogue_id!r} of "
                f"videos_structure.json's {split!r} section"
            )
        if not isinstance(annotation, dict) or "text" not in annotation:
            raise InputKeyError(f"{path}: utterance {utt_id!r} has no 'text'")
        utterances.append(Utterance(utt_id, dialogue_id, dialogues[dialogue_id].index(utt_id)))
        texts[utt_id] = annotation["text"]
    return utterances, texts


ROW_READERS = {"csv_rows": _csv_rows, "annotation_keys": _annotation_keys}


def _check_same_utterances(
    dialogues: dict[str, list[str]], texts: dict[str, str], text_file: Path, split: str
) -> None:
    """The text file and `videos_structure.json` name the same utterances of a split: one
    without a text cannot be put in its dialogue, one outside the structure has no dialogue."""
    structured = dialogue_order(dialogues)
    no_text = [utt_id for utt_id in structured if utt_id not in texts]
    if no_text:
        raise InputKeyError(
            f"{text_file} has no {split!r} row for {len(no_text)} utterance(s) of "
            f"videos_structure.json: {_shown(no_text)}"
        )
    known = set(structured)
    unstructured = [utt_id for utt_id in texts if utt_id not in known]
    if unstructured:
        raise InputKeyError(
            f"{text_file} has {len(unstructured)} {split!r} utterance(s) that are in no dialogue "
            f"of videos_structure.json: {_shown(unstructured)}"
        )


def _text_va(entry: Any, utt_id: str, path: Path) -> tuple[float, float]:
    """The last two entries of a `raw_utt_text_textVA.json` row, as finite numbers."""
    try:
        valence, arousal = float(entry[-2]), float(entry[-1])
    except (TypeError, ValueError, IndexError, KeyError):
        raise InputError(
            f"{path}: utterance {utt_id!r} has {entry!r}; expected [..., valence, arousal]"
        ) from None
    if not (math.isfinite(valence) and math.isfinite(arousal)):
        raise InputError(f"{path}: utterance {utt_id!r} has a non-finite VA {entry[-2:]!r}")
    return valence, arousal


def read_split_text(data_dir: Path, record: DatasetRecord, split: str) -> SplitText:
    """Read dialogues, utterance texts and text VA of one split of the dataset of `record`,
    from the text file its record names, in the order the record says."""
    preprocess = Path(data_dir) / "preprocess_data"
    dialogues = read_dialogues(data_dir, split)
    text_file = Path(data_dir) / record.text_file
    utterances, texts = ROW_READERS[record.text_order](text_file, split, dialogues)
    _check_same_utterances(dialogues, texts, text_file, split)
    va_path = preprocess / "raw_utt_text_textVA.json"
    va_table = _section(read_json(va_path), split, va_path)
    missing = [u.utt_id for u in utterances if u.utt_id not in va_table]
    if missing:
        raise InputKeyError(
            f"{va_path} has no text VA for {len(missing)} {split} utterances, e.g. {missing[:3]}"
        )
    va = [_text_va(va_table[u.utt_id], u.utt_id, va_path) for u in utterances]
    return SplitText(utterances=utterances, dialogues=dialogues, texts=texts, va=va)
