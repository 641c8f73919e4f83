"""`TrainedModel`: a trained UniVA network with what using it on new data needs.

Returned by `univa.load_pretrained` (an exported folder or hub id) and built by `univa.predict`
from a checkpoint, so both answer the same way: the network, its labels, the decision thresholds
to apply and where they come from, what it reads (feature widths, raw text or GloVe vectors, the
features' recorded provenance) and the data settings it was trained with. `predict` labels new,
unlabelled data, a dataset folder or in-memory arrays and a table, one batch at a time.
"""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from lightning.fabric.utilities.apply_func import move_data_to_device

from univa.constants import is_glove
from univa.data.generic.new_data import NetworkInputs, check_input, input_rows, read_input_split
from univa.data.generic.write import write_dataset
from univa.data.tokenization import load_tokenizer
from univa.errors import InputError
from univa.files import atomic_write
from univa.model import UniVA, UniVAConfig
from univa.model.finite import refuse_non_finite_probabilities
from univa.model.thresholds import Thresholds
from univa.progress import progress_bar

if TYPE_CHECKING:
    import pandas as pd

IN_MEMORY_SPLIT = "test"  # the split an in-memory table and arrays are written as


def network_inputs(config: UniVAConfig) -> NetworkInputs:
    """What a network of `config` reads: its feature modalities' widths and position tables,
    and whether its text is raw text for a PLM."""
    raw_text = "text" in config.modalities and not is_glove(config.text_encoder)
    features = [m for m in config.modalities if m != "text" or not raw_text]
    return NetworkInputs(
        input_dims={m: config.input_dims[m] for m in features},
        max_lens={m: config.max_lens[m] for m in features},
        raw_text=raw_text,
    )


def feature_spec(
    config: UniVAConfig, provenance: Mapping[str, Mapping[str, str]] | None
) -> dict[str, dict[str, Any]]:
    """Modality -> what a network of `config` reads of it: `width` and `max_len` of its
    features, or `raw_text` for a PLM's text, with the `provenance` its training data declared
    (`extractor`, `version`, `feature_set`, `level`, `notes`)."""
    inputs = network_inputs(config)
    spec = {}
    for modality in config.modalities:
        read = (
            {"width": inputs.input_dims[modality], "max_len": inputs.max_lens[modality]}
            if modality in inputs.input_dims
            else {"raw_text": True}
        )
        spec[modality] = read | dict((provenance or {}).get(modality) or {})
    return spec


@dataclass
class TrainedModel:
    """A trained network ready to label new data.

    `thresholds` are the probabilities above which each label is predicted (the ones tuned on
    validation when the run tuned them, else `model.threshold` for all) and say which in their
    `source`; `text_source` is the tokenizer (a folder or hub name) of a PLM network;
    `data_settings` are those recorded at training (dataset, its options, feature provenance).
    """

    network: UniVA
    thresholds: Thresholds
    text_source: str | None = None
    data_settings: dict[str, Any] | None = field(default=None)

    @property
    def labels(self) -> list[str]:
        return list(self.network.config.labels)

    @property
    def network_inputs(self) -> NetworkInputs:
        return network_inputs(self.network.config)

    @property
    def feature_spec(self) -> dict[str, dict[str, Any]]:
        """Modality -> what the network reads of it (`feature_spec`)."""
        return feature_spec(self.network.config, (self.data_settings or {}).get("features"))

    def _decisions(
        self, folder: Path, batch_size: int, device: torch.device, split: str | None = None
    ) -> tuple[int, bool, Iterator[list[tuple[str, str, list[float], list[int]]]]]:
        """The number of utterances in `folder` (of its `split` alone, if given), whether they
        span several splits, and per batch their rows (utt id, split, probabilities, 0/1
        predictions at `thresholds`); the folder is checked against the network before anything
        runs. Moves the network to `device`."""
        needs = self.network_inputs
        splits = check_input(folder, needs)
        if split is not None:
            if split not in splits:
                raise InputError(
                    f"split={split}: {folder} holds no such split ({', '.join(splits)})"
                )
            splits = [split]
        tokenizer = load_tokenizer(self.text_source) if needs.raw_text else None
        inputs = [read_input_split(folder, s, needs, tokenizer, batch_size) for s in splits]
        total = sum(len(split.utt_ids) for split in inputs)
        network = self.network.to(device).eval()

        def batches() -> Iterator[list[tuple[str, str, list[float], list[int]]]]:
            with torch.inference_mode():
                for split, utt_ids, batch in input_rows(inputs):
                    probs = network(move_data_to_device(batch, device))["probs"].float().cpu()
                    refuse_non_finite_probabilities(probs, utt_ids)
                    preds = self.thresholds.apply(probs).tolist()
                    yield [
                        (utt_id, split, prob, pred)
                        for utt_id, prob, pred in zip(utt_ids, probs.tolist(), preds, strict=True)
                    ]

        return total, len(splits) > 1, batches()

    def _columns(self, splits: bool) -> list[str]:
        return [
            "utt_id",
            *(["split"] if splits else []),
            *(f"prob_{label}" for label in self.labels),
            *(f"pred_{label}" for label in self.labels),
        ]

    def predict(
        self,
        data: str | Path | None = None,
        *,
        table: Any = None,
        features: Mapping[str, Any] | None = None,
        lengths: Mapping[str, Any] | None = None,
        masks: Mapping[str, Any] | None = None,
        batch_size: int = 32,
        device: str | torch.device | None = None,
    ) -> pd.DataFrame:
        """Label new data: a dataset folder in the generic format (`data`; any of its splits,
        labels not needed and ignored), or a `table` (DataFrame or column -> values with
        `utt_id`, optional `dialogue_id`/`turn` and `text`) with `features` (modality ->
        (N, L, D) array or N (L_i, D) arrays) and optional `lengths`/`masks`, as
        `univa.data.write_dataset` takes them. One row per utterance in row order: `utt_id`
        (`split` too for a folder of several splits), `prob_<label>`, `pred_<label>` (0/1 at
        `thresholds`)."""
        import pandas as pd

        with _as_folder(data, table, features, lengths, masks) as folder:
            _, splits, batches = self._decisions(folder, batch_size, _device(device))
            rows = [
                [utt_id, *([split] if splits else []), *prob, *pred]
                for batch in batches
                for utt_id, split, prob, pred in batch
            ]
        return pd.DataFrame(rows, columns=self._columns(splits))

    def write_predictions(
        self,
        data: str | Path,
        output: str | Path,
        *,
        batch_size: int = 32,
        device: str | torch.device | None = None,
        split: str | None = None,
    ) -> int:
        """`predict` on the folder `data` (its `split` alone, if given), streamed into the CSV
        `output` one batch at a time (probabilities with 6 decimals), which appears whole or not
        at all and never replaces a file; returns the number of rows."""
        total, splits, batches = self._decisions(Path(data), batch_size, _device(device), split)
        written = 0
        with (
            atomic_write(Path(output), "w", replace=False, newline="", encoding="utf-8") as file,
            progress_bar(total, "predicting") as advance,
        ):
            writer = csv.writer(file, lineterminator="\n")
            writer.writerow(self._columns(splits))
            for batch in batches:
                writer.writerows(
                    [utt_id, *([split] if splits else []), *(f"{p:.6f}" for p in prob), *pred]
                    for utt_id, split, prob, pred in batch
                )
                written += len(batch)
                advance(len(batch))
        return written


def _device(device: str | torch.device | None) -> torch.device:
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


@contextmanager
def _as_folder(data, table, features, lengths, masks) -> Iterator[Path]:
    """The dataset folder to predict on: `data` as given, or the table and arrays written as
    one unlabelled split of a temporary folder (removed afterwards)."""
    if (data is None) == (table is None):
        raise InputError("predict: give a dataset folder, or a table with features; not both")
    if data is not None:
        yield Path(data)
        return
    split = {"table": table, "features": dict(features or {})}
    split |= {"lengths": dict(lengths or {}), "masks": dict(masks or {})}
    with tempfile.TemporaryDirectory(prefix="univa-predict-") as tmp:
        yield write_dataset(Path(tmp) / "input", {"name": "in-memory"}, {IN_MEMORY_SPLIT: split})
