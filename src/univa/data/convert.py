"""`python -m univa.data.convert`: write a dataset in univa's generic format (docs/data-format.md §2).

`released SRC OUT` converts a dataset in the UniVA release's layout (MOSEI, M3ED, or their
synthetic stand-ins): its pickles are read once more by the restricted unpickler, and OUT holds
no pickle, so a user never unpickles again. Rows keep the released feature order, so training
on OUT gives the same results as on SRC. `csd ... OUT` cuts CMU-MultimodalSDK computational
sequences into utterances (see `univa.data.csd`).
"""

from __future__ import annotations

import argparse
import warnings
from contextlib import ExitStack
from pathlib import Path

import numpy as np

from univa.data.csd import MAX_STEPS, CsdFile, read_splits
from univa.data.csd_utterances import SHORTEN, LengthCap, write_csd_splits
from univa.data.dialogue_text import read_dialogues, read_split_text
from univa.data.folder_write import dataset_writer, write_dataset
from univa.data.records import MOSEI, RELEASED, DatasetRecord
from univa.data.released import check_dataset_dir, feature_file, read_split
from univa.errors import InputError, UsageError, exit_on_user_error
from univa.files import holds_something
from univa.vocabulary import MODALITIES, SPLITS

PROGRAM = "univa.data.convert"
VA_TOLERANCE = 1e-6  # text VA of the features pickle and of the text file agree to float32


class TextVAMismatchWarning(UserWarning):
    """The released text features and text file give different text VA; the features' is kept."""


def detect_record(src: Path, name: str | None = None) -> DatasetRecord:
    """The record of the released dataset in `src`: `name` if given, else the one whose
    training audio pickle is there."""
    if name is not None:
        if name not in RELEASED:
            raise UsageError(f"--name must be one of {sorted(RELEASED)}, got {name!r}")
        return RELEASED[name]
    found = [r for r in RELEASED.values() if feature_file(src, r.name, "train", "audio").is_file()]
    if len(found) != 1:
        expected = ", ".join(
            str(feature_file(src, r.name, "train", "audio")) for r in RELEASED.values()
        )
        raise InputError(
            f"{src}: cannot tell which released dataset this is (expected exactly one of "
            f"{expected}); give --name"
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
        raise UsageError("give at least one --modality NAME=FILE.csd")
    unknown = sorted(set(modalities) - set(MODALITIES))
    if unknown:
        raise UsageError(f"--modality names must be among {list(MODALITIES)}, got {unknown}")
    if max_length is not None and max_length < 1:
        raise UsageError(f"--max-length must be at least 1, got {max_length}")
    if shorten not in SHORTEN:
        raise UsageError(f"--shorten must be one of {list(SHORTEN)}, got {shorten!r}")
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


class _Parser(argparse.ArgumentParser):
    """argparse whose mistakes are a `UsageError`, printed as one line like every other."""

    def error(self, message: str):
        raise UsageError(message)


def _modality(value: str) -> tuple[str, str]:
    name, sep, path = value.partition("=")
    if not sep or not name or not path:
        raise argparse.ArgumentTypeError(f"expected NAME=FILE.csd, got {value!r}")
    return name, path


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m univa.data.convert", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    released = commands.add_parser("released", help="a dataset in the UniVA release's layout")
    released.add_argument("src", type=Path, help="folder holding preprocess_data/")
    released.add_argument("out", type=Path, help="new folder to write")
    released.add_argument("--name", choices=sorted(RELEASED), help="default: found from the files")
    csd = commands.add_parser("csd", help="CMU-MultimodalSDK computational sequences (MOSEI)")
    csd.add_argument("--labels", required=True, type=Path, help="the labels .csd (7 columns)")
    csd.add_argument(
        "--modality", action="append", type=_modality, default=[], metavar="NAME=FILE.csd",
        help="a feature sequence: text=..., audio=..., vision=... (repeatable)",
    )  # fmt: skip
    csd.add_argument("--splits", required=True, type=Path, help="JSON: split -> video ids")
    csd.add_argument(
        "--max-steps", type=int, default=MAX_STEPS,
        help=f"the most rows one video of a sequence may hold (default {MAX_STEPS})",
    )  # fmt: skip
    csd.add_argument(
        "--max-length", type=int, default=None, metavar="N",
        help="the most rows one utterance keeps per modality (default: all)",
    )  # fmt: skip
    csd.add_argument(
        "--shorten", choices=SHORTEN, default="truncate",
        help="a longer utterance keeps its first N rows (truncate, the default) or N rows "
        "spread evenly over it (subsample)",
    )  # fmt: skip
    csd.add_argument("out", type=Path, help="new folder to write")
    return parser


def main(argv: list[str] | None = None) -> None:
    """Parse, convert, say where the dataset went; mistakes end in one line and exit 1."""
    with exit_on_user_error(PROGRAM):
        args = build_parser().parse_args(argv)
        if args.command == "released":
            path = convert_released(args.src, args.out, args.name)
        else:
            names = [name for name, _ in args.modality]
            if len(set(names)) < len(names):
                raise UsageError(f"each --modality once, got {names}")
            path = convert_csd(
                args.labels,
                dict(args.modality),
                args.splits,
                args.out,
                args.max_steps,
                args.max_length,
                args.shorten,
            )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
