"""The validator of the generic dataset format: every problem of a folder at once, each naming
the file, the key and the rows, so one run of `python -m univa.data.validate` lists all a user
has to fix (not only the first)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from univa.constants import MODALITIES, PROVENANCE_KEYS, SPLITS
from univa.data.generic.format import (
    DIALOGUE_ID,
    FORMAT_NAME,
    FORMAT_VERSION,
    MANIFEST_FILE,
    REQUIRED_KEYS,
    TABLE_FILE,
    TEXT,
    TURN,
    UTT_ID,
    features_file,
    lengths_file,
    mask_file,
    present_splits,
    read_manifest,
    read_table,
    va_columns,
)
from univa.data.npy_file import load_npy
from univa.errors import UniVAError

SHOWN_ROWS = 5  # offending rows quoted per problem
CHUNK_ROWS = 1024  # rows of a feature array scanned at a time (the array is memory-mapped)


def rows_text(rows) -> str:
    """`rows 1, 4, 9 (+12 more)`: the first offending (0-based) rows and how many more."""
    rows = [int(r) for r in rows]
    shown = ", ".join(str(r) for r in rows[:SHOWN_ROWS])
    more = f" (+{len(rows) - SHOWN_ROWS} more)" if len(rows) > SHOWN_ROWS else ""
    return f"row{'s' if len(rows) > 1 else ''} {shown}{more}"


def _number(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None


def _check_manifest(manifest: dict) -> list[str]:
    problems = [
        f"{MANIFEST_FILE}: missing key '{key}'" for key in REQUIRED_KEYS if key not in manifest
    ]
    where = MANIFEST_FILE
    if "format" in manifest and manifest["format"] != FORMAT_NAME:
        problems.append(
            f"{where}: key 'format' must be {FORMAT_NAME!r}, got {manifest['format']!r}"
        )
    version = manifest.get("format_version", FORMAT_VERSION)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        problems.append(
            f"{where}: key 'format_version' must be a positive integer, got {version!r}"
        )
    elif version > FORMAT_VERSION:
        problems.append(
            f"{where}: key 'format_version' is {version}, newer than the {FORMAT_VERSION} this "
            "univa reads; upgrade univa"
        )
    if "name" in manifest and not (isinstance(manifest["name"], str) and manifest["name"]):
        problems.append(f"{where}: key 'name' must be a non-empty string")
    labels = manifest.get("labels", [])
    if not (isinstance(labels, list) and labels and all(isinstance(x, str) and x for x in labels)):
        if "labels" in manifest:
            problems.append(f"{where}: key 'labels' must be a non-empty list of label names")
    else:
        repeated = sorted({x for x in labels if labels.count(x) > 1})
        if repeated:
            problems.append(f"{where}: key 'labels' names {repeated} more than once")
    modalities = manifest.get("modalities", {})
    if not isinstance(modalities, dict):
        problems.append(f"{where}: key 'modalities' must map modality -> feature width")
    else:
        for modality, width in modalities.items():
            if modality not in MODALITIES:
                problems.append(
                    f"{where}: key 'modalities' has {modality!r}; modalities are {MODALITIES}"
                )
            if not isinstance(width, int) or isinstance(width, bool) or width < 1:
                problems.append(
                    f"{where}: key 'modalities.{modality}' must be a positive width, got {width!r}"
                )
    label_va = manifest.get("label_va", {})
    if not isinstance(label_va, dict):
        problems.append(f"{where}: key 'label_va' must map label -> [valence, arousal]")
    else:
        for label, point in label_va.items():
            if isinstance(labels, list) and label not in labels:
                problems.append(f"{where}: key 'label_va.{label}': not one of the labels {labels}")
            ok = isinstance(point, list) and len(point) == 2
            ok = ok and all(
                isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)
                for x in point
            )
            if not ok:
                problems.append(
                    f"{where}: key 'label_va.{label}' must be [valence, arousal] (two finite "
                    f"numbers), got {point!r}"
                )
    for key in ("language", "text_encoder"):
        if key in manifest and not (isinstance(manifest[key], str) and manifest[key]):
            problems.append(f"{where}: key '{key}' must be a non-empty string")
    return problems + _check_provenance(manifest.get("features", {}))


def _check_provenance(features: object) -> list[str]:
    """The manifest's optional `features`: modality -> what computed its features."""
    key = f"{MANIFEST_FILE}: key 'features"
    if not isinstance(features, dict):
        return [f"{key}' must map modality -> {{{', '.join(PROVENANCE_KEYS)}}}"]
    problems = []
    for modality, entry in features.items():
        if modality not in MODALITIES:
            problems.append(f"{key}' has {modality!r}; modalities are {MODALITIES}")
        if not isinstance(entry, dict):
            problems.append(f"{key}.{modality}' must be an object with keys {PROVENANCE_KEYS}")
            continue
        for name, value in entry.items():
            if name not in PROVENANCE_KEYS:
                problems.append(f"{key}.{modality}.{name}': unknown; keys are {PROVENANCE_KEYS}")
            elif not (isinstance(value, str) and value):
                problems.append(f"{key}.{modality}.{name}' must be a non-empty string")
    return problems


def _check_table(
    split: str, header: list[str], rows: list[list[str]], labels: list[str]
) -> list[str]:
    where = f"{split}/{TABLE_FILE}"
    problems = []
    ragged = [i for i, row in enumerate(rows) if len(row) != len(header)]
    if ragged:
        problems.append(f"{where}: not the header's {len(header)} columns in {rows_text(ragged)}")
        return problems
    columns = {name: [row[i] for row in rows] for i, name in enumerate(header)}
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        problems.append(f"{where}: columns {repeated} appear more than once")
    if not rows:
        problems.append(f"{where}: no rows: the {split} split is empty")
    if UTT_ID not in columns:
        problems.append(f"{where}: missing column '{UTT_ID}'")
    else:
        ids = columns[UTT_ID]
        empty = [i for i, x in enumerate(ids) if not x]
        if empty:
            problems.append(f"{where}: column '{UTT_ID}' is empty in {rows_text(empty)}")
        first: dict[str, int] = {}
        duplicated = [i for i, x in enumerate(ids) if x and first.setdefault(x, i) != i]
        if duplicated:
            problems.append(
                f"{where}: column '{UTT_ID}' repeats ids of earlier rows in {rows_text(duplicated)}"
            )
    if (DIALOGUE_ID in columns) != (TURN in columns):
        problems.append(
            f"{where}: columns '{DIALOGUE_ID}' and '{TURN}' go together (both or neither)"
        )
    elif TURN in columns:
        bad = [i for i, x in enumerate(columns[TURN]) if not (x.isdigit() and x.isascii())]
        if bad:
            problems.append(
                f"{where}: column '{TURN}' must be a 0-based integer position in {rows_text(bad)}"
            )
        else:
            seen: dict[tuple[str, str], int] = {}
            pairs = zip(columns[DIALOGUE_ID], columns[TURN], strict=True)
            clash = [i for i, pair in enumerate(pairs) if seen.setdefault(pair, i) != i]
            if clash:
                problems.append(
                    f"{where}: columns '{DIALOGUE_ID}', '{TURN}' repeat a dialogue's turn in "
                    f"{rows_text(clash)}"
                )
    present = [label for label in labels if label in columns]
    for label in labels if present else []:  # no label column at all: unlabelled data
        if label not in columns:
            problems.append(
                f"{where}: missing label column '{label}' (manifest 'labels'; a table has all "
                "of them, or none when its utterances are unlabelled)"
            )
            continue
        bad = [i for i, x in enumerate(columns[label]) if _number(x) not in (0.0, 1.0)]
        if bad:
            problems.append(f"{where}: label column '{label}' is not 0 or 1 in {rows_text(bad)}")
    for modality in MODALITIES:
        pair = va_columns(modality)
        present = [c for c in pair if c in columns]
        if len(present) == 1:
            problems.append(f"{where}: columns {list(pair)} go together (both or neither)")
        elif present:
            for column in pair:
                bad = [
                    i
                    for i, x in enumerate(columns[column])
                    if (v := _number(x)) is None or not math.isfinite(v)
                ]
                if bad:
                    problems.append(
                        f"{where}: column '{column}' is not a finite number in {rows_text(bad)}"
                    )
    return problems


def _load(path: Path, where: str, problems: list[str]) -> np.ndarray | None:
    try:
        return load_npy(path, mmap_mode="r")
    except (ValueError, OSError, EOFError) as error:
        problems.append(f"{where}: cannot read it as a .npy array without pickle ({error})")
        return None


def _check_steps(
    split_dir: Path, split: str, modality: str, rows: int, steps: int, problems: list[str]
) -> None:
    has_lengths = (split_dir / lengths_file(modality)).is_file()
    has_mask = (split_dir / mask_file(modality)).is_file()
    if has_lengths == has_mask:
        which = "both" if has_lengths else "neither"
        problems.append(
            f"{split}/{features_file(modality)}: needs exactly one of {lengths_file(modality)} "
            f"and {mask_file(modality)}, found {which}"
        )
        return
    if has_lengths:
        where = f"{split}/{lengths_file(modality)}"
        lengths = _load(split_dir / lengths_file(modality), where, problems)
        if lengths is None:
            return
        if lengths.shape != (rows,) or lengths.dtype.kind not in "iu":
            problems.append(
                f"{where}: must be ({rows},) integers, got {lengths.shape} {lengths.dtype}"
            )
            return
        beyond = np.flatnonzero((lengths < 0) | (lengths > steps))
        if len(beyond):
            problems.append(
                f"{where}: lengths outside 0..{steps} (the array's steps) in {rows_text(beyond)}"
            )
        return
    where = f"{split}/{mask_file(modality)}"
    mask = _load(split_dir / mask_file(modality), where, problems)
    if mask is None:
        return
    if mask.shape != (rows, steps) or mask.dtype.kind not in "biuf":
        problems.append(
            f"{where}: must be ({rows}, {steps}) numbers, got {mask.shape} {mask.dtype}"
        )
        return
    bad = np.flatnonzero(~np.isin(mask, (0, 1)).all(axis=1))
    if len(bad):
        problems.append(f"{where}: values not 0 or 1 in {rows_text(bad)}")


def _check_arrays(split_dir: Path, split: str, modalities: dict, rows: int | None) -> list[str]:
    problems: list[str] = []
    for modality, width in modalities.items():
        where = f"{split}/{features_file(modality)}"
        path = split_dir / features_file(modality)
        if not path.is_file():
            problems.append(f"{where}: missing (manifest 'modalities' lists {modality!r})")
            continue
        features = _load(path, where, problems)
        if features is None:
            continue
        if features.ndim != 3 or features.dtype != np.float32:
            problems.append(
                f"{where}: must be float32 (N, L, D), got {features.dtype} {features.shape}"
            )
            continue
        if features.shape[2] != width:
            problems.append(
                f"{where}: width {features.shape[2]} disagrees with manifest key "
                f"'modalities.{modality}' = {width}"
            )
        if rows is not None and features.shape[0] != rows:
            problems.append(
                f"{where}: {features.shape[0]} rows but {split}/{TABLE_FILE} has {rows} "
                "(row i of every file is the same utterance)"
            )
            continue
        bad = [
            start + i
            for start in range(0, features.shape[0], CHUNK_ROWS)
            for i in np.flatnonzero(
                ~np.isfinite(features[start : start + CHUNK_ROWS]).all(axis=(1, 2))
            )
        ]
        if bad:
            problems.append(f"{where}: NaN or infinite features in {rows_text(bad)}")
        _check_steps(split_dir, split, modality, features.shape[0], features.shape[1], problems)
    for path in sorted(split_dir.glob("*.npy")):
        stem = path.stem.removesuffix("_lengths").removesuffix("_mask")
        if stem not in modalities:
            problems.append(
                f"{split}/{path.name}: not a file of a modality listed in manifest 'modalities' "
                f"({sorted(modalities)})"
            )
    return problems


def _check_split(data_dir: Path, split: str, manifest: dict) -> tuple[list[str], list[str]]:
    """Problems of one split, and its table's header."""
    split_dir = data_dir / split
    problems: list[str] = []
    rows = None
    header: list[str] = []
    table = split_dir / TABLE_FILE
    if not table.is_file():
        problems.append(f"{split}/{TABLE_FILE}: missing")
    else:
        try:
            header, body = read_table(table)
        except (UnicodeDecodeError, OSError, ValueError) as error:
            problems.append(f"{split}/{TABLE_FILE}: cannot read it as UTF-8 CSV ({error})")
        else:
            rows = len(body)
            labels = manifest.get("labels")
            labels = labels if isinstance(labels, list) else []
            problems += _check_table(split, header, body, [x for x in labels if isinstance(x, str)])
    modalities = manifest.get("modalities")
    if isinstance(modalities, dict):
        modalities = {m: w for m, w in modalities.items() if m in MODALITIES}
        problems += _check_arrays(split_dir, split, modalities, rows)
    return problems, header


def validate_dataset(data_dir: str | Path) -> list[str]:
    """Every problem of the dataset folder `data_dir` (empty when it is valid), each naming the
    file (relative to `data_dir`), the key or column and the offending rows. Valid data may be
    unlabelled and hold any of the splits; `training_problems` says what training needs more."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        return [f"{data_dir}: not a folder"]
    try:
        manifest = read_manifest(data_dir)
    except UniVAError as error:
        return [str(error)]
    problems = _check_manifest(manifest)
    splits = present_splits(data_dir)
    if not splits:
        problems.append(f"no split folder: a dataset holds one or more of {', '.join(SPLITS)}")
    headers = {}
    for split in splits:
        split_problems, headers[split] = _check_split(data_dir, split, manifest)
        problems += split_problems
    modalities = manifest.get("modalities")
    has_text = all(TEXT in header for header in headers.values())
    if isinstance(modalities, dict) and not modalities and not has_text:
        problems.append(
            f"{MANIFEST_FILE}: key 'modalities' is empty and the tables have no '{TEXT}' column: "
            "a dataset needs at least one modality"
        )
    va_by_split = {
        split: {m for m in MODALITIES if all(c in header for c in va_columns(m))}
        for split, header in headers.items()
    }
    everywhere = set.intersection(*va_by_split.values()) if va_by_split else set()
    for split, va in va_by_split.items():
        for modality in sorted(va - everywhere):
            problems.append(
                f"{split}/{TABLE_FILE}: columns {list(va_columns(modality))} are not in every "
                "split (all splits or none)"
            )
    return problems


def training_problems(data_dir: str | Path) -> list[str]:
    """What a valid folder lacks to be trained on: all three splits, labelled."""
    problems = []
    splits = present_splits(data_dir)
    missing = [split for split in SPLITS if split not in splits]
    if missing:
        problems.append(
            f"no {', '.join(missing)} split folder (training needs train/, valid/ and test/)"
        )
    labels = read_manifest(data_dir).get("labels")
    if not labels:
        problems.append(f"{MANIFEST_FILE}: no key 'labels' (training needs the label names)")
        return problems
    for split in splits:  # validated: a table has all label columns or none
        table = Path(data_dir) / split / TABLE_FILE
        if labels[0] not in read_table(table, header_only=True)[0]:
            problems.append(f"{split}/{TABLE_FILE}: no label columns (training needs labels)")
    return problems
