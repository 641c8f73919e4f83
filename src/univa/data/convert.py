"""`python -m univa.data.convert`: write a dataset in univa's generic format (docs/data-format.md §2).

`released=SRC out=OUT` converts a dataset in the UniVA release's layout (MOSEI, M3ED, or their
synthetic stand-ins): its pickles are read once more by the restricted unpickler, and OUT holds
no pickle, so a user never unpickles again. Rows keep the released feature order, so training
on OUT gives the same results as on SRC. `labels=... splits=... audio=... out=OUT` cuts
CMU-MultimodalSDK computational sequences into utterances (see `univa.data.csd`).
"""

from __future__ import annotations

import warnings
from contextlib import ExitStack
from pathlib import Path

import numpy as np
from omegaconf import DictConfig

from univa.cli.command import tool_entry_point
from univa.constants import MODALITIES, SPLITS
from univa.data.csd.sequences import MAX_STEPS, CsdFile, read_splits
from univa.data.csd.utterances import SHORTEN, LengthCap, write_csd_splits
from univa.data.generic.write import dataset_writer, write_dataset
from univa.data.records import MOSEI, RELEASED, DatasetRecord
from univa.data.released.features import check_dataset_dir, feature_file, read_split
from univa.data.released.text import read_dialogues, read_split_text
from univa.errors import InputError, UsageError
from univa.files import holds_something

PROGRAM = "univa.data.convert"
VA_TOLERANCE = 1e-6  # text VA of the features pickle and of the text file agree to float32


class TextVAMismatchWarning(UserWarning):
    """The released text features and text file give different text VA; the features' is kept."""


def detect_record(src: Path, name: str | None = None) -> DatasetRecord:
    """The record of the released dataset in `src`: `name` if given, else the one whose
    training audio pickle is there."""
    if name is not None:
        if name not in RELEASED:
            raise UsageError(f"name must be one of {sorted(RELEASED)}, got {name!r}")
        return RELEASED[name]
    found = [r for r in RELEASED.values() if feature_file(src, r.name, "train", "audio").is_file()]
    if len(found) != 1:
        expected = ", ".join(
            str(feature_file(src, r.name, "train", "audio")) for r in RELEASED.values()
        )
        raise InputError(
            f"{src}: cannot tell which released dataset this is (expected exactly one of "
            f"{expected}); give name="
        )
    return found[0]


def _lengths_or_masks(masks: dict[str, np.ndarray]) -> dict[str, dict[str, np.ndarray]]:
    """Per modality, its lengths when each mask is a prefix of ones, else the mask itself."""
    lengths, kept = {}, {}
    for modality, mask in masks.items():
        count = mask.sum(axis=1).astype(np.int64)
        if np.array_equal(mask, np.arange(mask.shape[1]) < count[:, None]):
            lengths[modality] = count
        else:
            kept[modality] = mask
    return {"lengths": lengths, "masks": kept}


def _check_text_rows(text, utt_ids: list[str], turns: dict[str, int], split: str) -> None:
    """The text file must list the feature rows' utterances in the same order and turns, or
    the PLM path would read another utterance's text for a row."""
    text_ids = [u.utt_id for u in text.utterances]
    if text_ids != utt_ids:
        row = next(
            i for i, pair in enumerate(zip(text_ids, utt_ids, strict=False)) if pair[0] != pair[1]
        )
        raise InputError(
            f"the {split!r} text file lists its utterances in another order than "
            f"videos_structure.json (row {row}: {text_ids[row]!r} vs {utt_ids[row]!r}); "
            "a converted row could not hold both"
        )
    moved = [u.utt_id for u in text.utterances if u.position != turns[u.utt_id]]
    if moved:
        raise InputError(
            f"the {split!r} text file gives {len(moved)} utterance(s) another position in their "
            f"dialogue than videos_structure.json, e.g. {moved[0]!r}"
        )


def _released_split(src: Path, record: DatasetRecord, split: str) -> dict:
    arrays = read_split(src, record.name, split, MODALITIES)
    dialogues = read_dialogues(src, split)
    utt_ids = [u for utts in dialogues.values() for u in utts]
    if len(utt_ids) != len(arrays):
        raise InputError(
            f"{record.name} {split} split in {src}: {len(utt_ids)} utterances in "
            f"videos_structure.json but {len(arrays)} rows of features"
        )
    owner = {u: d for d, utts in dialogues.items() for u in utts}
    turns = {u: t for utts in dialogues.values() for t, u in enumerate(utts)}
    table: dict[str, object] = {
        "utt_id": utt_ids,
        "dialogue_id": [owner[u] for u in utt_ids],
        "turn": [turns[u] for u in utt_ids],
    }
    if (src / record.text_file).is_file():
        text = read_split_text(src, record, split)
        _check_text_rows(text, utt_ids, turns, split)
        table["text"] = [text.texts[u] for u in utt_ids]
        _compare_text_va(np.asarray(text.va, dtype=np.float32), arrays.va["text"], split)
    for modality, va in arrays.va.items():
        table[f"{modality}_valence"], table[f"{modality}_arousal"] = va[:, 0], va[:, 1]
    return {
        "table": table,
        "labels": arrays.labels.astype(np.int64),
        "features": arrays.features,
        **_lengths_or_masks(arrays.masks),
    }


def _compare_text_va(from_text: np.ndarray, from_features: np.ndarray, split: str) -> None:
    differ = np.flatnonzero(np.abs(from_text - from_features).max(axis=1) > VA_TOLERANCE)
    if len(differ):
        warnings.warn(
            TextVAMismatchWarning(
                f"the {split!r} split's text VA differs between raw_utt_text_textVA.json and the "
                f"text features pickle in {len(differ)} row(s) (first: row {differ[0]}); the "
                "pickle's is written, so the PLM path on the converted folder may differ"
            ),
            stacklevel=2,
        )


def check_out_is_free(out: str | Path) -> None:
    """Refuse an existing non-empty `out` before reading anything (the writer would, later)."""
    out = Path(out)
    if holds_something(out):
        raise UsageError(f"{out} already exists and is not an empty folder; not overwriting it")


def convert_released(src: str | Path, out: str | Path, name: str | None = None) -> Path:
    """Write the released-layout dataset in `src` to `out` in the generic format."""
    src = Path(src)
    check_out_is_free(out)
    record = detect_record(src, name)
    check_dataset_dir(src, record.name)
    splits = {split: _released_split(src, record, split) for split in SPLITS}
    return write_dataset(out, record.manifest(), splits)


def convert_csd(
    labels: str | Path,
    modalities: dict[str, str | Path],
    splits: str | Path,
    out: str | Path,
    max_steps: int = MAX_STEPS,
    max_length: int | None = None,
    shorten: str = "truncate",
) -> Path:
    """Write MOSEI computational sequences to `out`: one row per labelled segment of the labels
    sequence, each modality's rows cut by its interval, splits from a JSON file of video ids.
    A video longer than `max_steps` rows is refused before it is read; an utterance longer than
    `max_length` rows keeps that many, its first (`shorten="truncate"`) or evenly spread
    (`"subsample"`). Videos are read one at a time and the splits written through memory maps,
    so memory does not grow with the number of videos."""
    check_out_is_free(out)
    if not modalities:
        raise UsageError("give at least one of text=, audio=, vision= (a .csd file each)")
    unknown = sorted(set(modalities) - set(MODALITIES))
    if unknown:
        raise UsageError(f"the modalities must be among {list(MODALITIES)}, got {unknown}")
    if max_length is not None and max_length < 1:
        raise UsageError(f"max_length must be at least 1, got {max_length}")
    if shorten not in SHORTEN:
        raise UsageError(f"shorten must be one of {list(SHORTEN)}, got {shorten!r}")
    video_splits = read_splits(splits)
    manifest = MOSEI.manifest() | {"name": "CMU-MOSEI"}
    manifest.pop("text_encoder", None)  # no raw text to read with a PLM
    with ExitStack() as files:
        sequences = {
            m: files.enter_context(CsdFile(path, max_steps)) for m, path in modalities.items()
        }
        label_sequence = files.enter_context(CsdFile(labels, max_steps))
        with dataset_writer(out, manifest) as writer:
            cap = LengthCap(max_length, shorten)
            write_csd_splits(writer, label_sequence, sequences, video_splits, cap)
    return Path(out)


CSD_KEYS = ("labels", "splits", *MODALITIES)


def convert_command(cfg: DictConfig) -> None:
    """`released=` converts a released folder, `labels=` and its keys CSD sequences."""
    given = [f"{key}=" for key in CSD_KEYS if cfg[key] is not None]
    if cfg.released is not None and given:
        raise UsageError(
            f"released= converts a folder of the UniVA release and {', '.join(given)} "
            "CMU-MultimodalSDK sequences: give one of the two"
        )
    if cfg.name is not None and cfg.released is None:
        raise UsageError(f"name={cfg.name} names the dataset of released=DIR, which is not given")
    if cfg.released is not None:
        path = convert_released(str(cfg.released), str(cfg.out), cfg.name)
    elif given:
        for key in ("labels", "splits"):
            if cfg[key] is None:
                raise UsageError(f"{key} is required with CMU-MultimodalSDK sequences")
        length = cfg.max_length
        if length is not None and (isinstance(length, bool) or not isinstance(length, int)):
            raise UsageError(f"max_length={length}: expected an integer")
        modalities = {m: str(cfg[m]) for m in MODALITIES if cfg[m] is not None}
        files = (str(cfg.labels), modalities, str(cfg.splits), str(cfg.out))
        path = convert_csd(*files, cfg.max_steps, length, cfg.shorten)
    else:
        raise UsageError(
            "give released=DIR (a folder of the UniVA release) or labels=FILE.csd "
            "splits=FILE.json and text=, audio=, vision= (CMU-MultimodalSDK sequences)"
        )
    print(f"wrote {path}")


main = tool_entry_point(PROGRAM, convert_command)


if __name__ == "__main__":
    main()
