"""Tiny datasets in the generic format, written with `univa.data.write_dataset`, for the tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from univa.data import write_dataset

LABELS = ["joy", "anger", "calm", "awe"]
SPLIT_ROWS = {"train": 16, "valid": 8, "test": 8}


def split_data(
    rows: int,
    seed: int,
    labels: list[str],
    widths: dict[str, int],
    *,
    va: bool = True,
    dialogues: bool = True,
    text: bool = False,
) -> dict:
    """One split: random ragged features, labels with at least one 1 per row, optional VA."""
    rng = np.random.default_rng(seed)
    table: dict[str, list] = {"utt_id": [f"u{seed}_{i}" for i in range(rows)]}
    if dialogues:
        table["dialogue_id"] = [f"d{seed}_{i // 4}" for i in range(rows)]
        table["turn"] = [i % 4 for i in range(rows)]
    if text:
        table["text"] = [f'utterance {i}, with "quotes"\nand a newline' for i in range(rows)]
    matrix = (rng.random((rows, len(labels))) < 0.4).astype(int)
    matrix[np.arange(rows), np.arange(rows) % len(labels)] = 1
    for modality in [*widths, *(["text"] if text and "text" not in widths else [])]:
        if va:
            table[f"{modality}_valence"] = rng.normal(size=rows).tolist()
            table[f"{modality}_arousal"] = rng.normal(size=rows).tolist()
    features = {
        m: [rng.normal(size=(int(rng.integers(1, 6)), d)).astype(np.float32) for _ in range(rows)]
        for m, d in widths.items()
    }
    return {"table": table, "labels": matrix, "features": features}


def write_tiny(
    out: Path,
    labels: list[str] = LABELS,
    widths: dict[str, int] | None = None,
    manifest: dict | None = None,
    **options,
) -> Path:
    """A tiny dataset folder (16/8/8 rows) with the given labels and feature widths."""
    widths = {"text": 6, "audio": 5} if widths is None else widths
    splits = {
        split: split_data(rows, seed, labels, widths, **options)
        for seed, (split, rows) in enumerate(SPLIT_ROWS.items())
    }
    return write_dataset(out, {"name": "Tiny", "labels": labels, **(manifest or {})}, splits)
