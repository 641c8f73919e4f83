"""The base of the Lightning data modules: what every layout's reader fills, and its loaders."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.accelerators import CUDAAccelerator
from torch.utils.data import DataLoader, DistributedSampler, Sampler, SequentialSampler

from univa.constants import SPLITS, Batch, is_glove, mask_key, va_key
from univa.data.dataset import EmotionDataset, collate_shared, collate_trimmed, share_dialogues
from univa.data.options import DataOptions
from univa.data.records import DEFAULT_THRESHOLD_TUNING, DatasetRecord
from univa.data.samplers import (
    DialogueBatchSampler,
    DialogueShuffleSampler,
    UnpaddedDistributedSampler,
)
from univa.data.va import labels_va, normalize_va, resolve_va_sources, warn_without_va
from univa.errors import InputError
from univa.label_prior import label_points


class UniVADataModule(L.LightningDataModule):
    """Serves the three splits a layout's reader fills in `setup` (`univa.data.released`,
    `univa.data.generic`); after it, callers read a split's rows through `split_loader`, its
    gold labels through `split_labels` and its utterance ids (for per-utterance outputs)
    through `split_utt_ids`.

    On the PLM path, evaluation batches hold whole dialogues, so that each dialogue goes
    through the PLM once; `group_by_dialogue` does the same for training (beyond the paper:
    dropout is then shared by the utterances of a dialogue, and batches differ from the paper's).

    Subclasses fix `record`, the dataset's data record, whose `name` (the file prefix, MOSEI or
    M3ED), `labels` and text file they read; a data module without one (a folder dataset) sets
    `name` and `labels` from its data. `va_source` chooses each modality's VA
    (`univa.data.va`); the released data has scores for all.
    """

    option_type: type[DataOptions] = DataOptions  # the `dataset` options it takes
    record: DatasetRecord | None = None
    name: str
    labels: list[str]
    label_va: dict[str, list[float]] | None = None  # None: the built-in table of emotion words

    def __init_subclass__(cls, **kwargs) -> None:
        """A subclass that names its record takes its name and labels from it."""
        super().__init_subclass__(**kwargs)
        if "record" in vars(cls) and cls.record is not None:
            cls.name, cls.labels = cls.record.name, list(cls.record.labels)

    def __init__(self, data_dir: str | Path, **options) -> None:
        super().__init__()
        vars(self).update(vars(self.option_type(data_dir, **options)))  # checked, as attributes
        self.va_sources: dict[str, str] = {}
        self.modalities: list[str] = []
        self.datasets: dict[str, EmotionDataset] = {}
        self.utt_ids: dict[str, list[str]] = {}
        self.dialogue_ids: dict[str, list[str]] = {}  # each row's dialogue, in row order
        self.max_lens: dict[str, int] = {}
        self.input_dims: dict[str, int] = {}

    @property
    def threshold_tuning(self) -> str | None:
        """How `analysis.threshold_tuning=dataset` decides this data's labels: its record's
        choice; a folder dataset, without one, gets the default."""
        return self.record.threshold_tuning if self.record else DEFAULT_THRESHOLD_TUNING

    def warn_missing_va(self) -> None:
        """Warn once about the modalities the data gives no VA (`dataset.va_source`)."""
        warn_without_va([m for m, s in self.va_sources.items() if s == "none"], self.name)

    def with_va_sources(
        self, tensors: dict[str, torch.Tensor], modalities: list[str], name: str
    ) -> dict[str, torch.Tensor]:
        """`tensors` with each modality's VA as `dataset.va_source` says: the data's scores
        (already there), points derived from the labels, or left out (`none`)."""
        points = label_points(self.labels, self.label_va)
        scored = {m for m in modalities if va_key(m) in tensors}
        self.va_sources = resolve_va_sources(
            self.va_source, modalities, scored, len(points) == len(self.labels)
        )
        for modality, source in self.va_sources.items():
            if source == "labels":
                derived = labels_va(tensors["labels"].numpy(), self.labels, points)
                tensors[va_key(modality)] = normalize_va(
                    torch.from_numpy(derived), self.va_norm, f"{name} {modality} VA from labels"
                )
            elif source == "none":
                tensors.pop(va_key(modality), None)
        return tensors

    @property
    def data_spec(self) -> dict:
        """What the network must know about the data: label names (and their VA points, None
        for the built-in table), feature widths, longest sequences, the modalities it has, and
        the text encoder its token ids are meant for."""
        if not self.datasets:
            raise RuntimeError("call setup() before reading data_spec")
        return {
            "labels": list(self.labels),
            "input_dims": dict(self.input_dims),
            "max_lens": dict(self.max_lens),
            "text_encoder": self.text_encoder,
            "modalities": list(self.modalities),
            "label_va": None if self.label_va is None else dict(self.label_va),
        }

    def feature_statistics(self, modalities: list[str]) -> dict[str, dict[str, list[float]]]:
        """Per modality, each feature's mean and std over the real steps of the train split,
        for `model.standardize` (a constant feature's std is 1: it becomes 0)."""
        train = self._dataset("train").tensors
        stats = {}
        for modality in modalities:
            if modality not in train:
                raise InputError(
                    f"model.standardize: the dataset has no {modality} features "
                    f"(it has {', '.join(self.input_dims) or 'none'})"
                )
            stats[modality] = feature_moments(train[modality], train[mask_key(modality)])
        return stats

    def _dataset(self, split: str) -> EmotionDataset:
        if not self.datasets:
            raise RuntimeError("call setup() before reading a split")
        if split not in self.datasets:
            raise InputError(f"split must be one of {SPLITS}, got {split!r}")
        return self.datasets[split]

    def split_labels(self, split: str) -> torch.Tensor:
        """(N, C) multi-hot gold labels of every row of `split`, in row order."""
        return self._dataset(split).tensors["labels"]

    def split_utt_ids(self, split: str) -> list[str]:
        """The utterance id of every row of `split`, in row order (the order of `split_loader`)."""
        self._dataset(split)
        return list(self.utt_ids[split])

    def _replicas(self) -> tuple[int, int]:
        """(number of processes, this process's rank) of the attached Trainer, else (1, 0)."""
        trainer = self.trainer
        return (trainer.world_size, trainer.global_rank) if trainer is not None else (1, 0)

    def _loader_options(self) -> dict:
        """Workers and pinned memory as configured, or (None) chosen for the Trainer's device:
        on GPUs, loading overlaps the step (up to 4 workers per process) into pinned memory;
        on CPU, workers would only take cores from the step."""
        trainer = self.trainer
        on_gpu = trainer is not None and isinstance(trainer.accelerator, CUDAAccelerator)
        workers = self.num_workers
        if workers is None:
            workers = min(4, (os.cpu_count() or 1) // max(trainer.num_devices, 1)) if on_gpu else 0
        pin = on_gpu if self.pin_memory is None else self.pin_memory
        return {"num_workers": workers, "pin_memory": pin, "persistent_workers": workers > 0}

    def _loader(
        self,
        split: str,
        batch_size: int | None,
        sampler: Sampler,
        collate: Callable[..., Batch] = collate_trimmed,
    ) -> DataLoader:
        return DataLoader(
            self.datasets[split],
            batch_size=batch_size,
            sampler=sampler,
            collate_fn=collate,
            **self._loader_options(),
        )

    def _dialogue_loader(self, split: str, sampler: DialogueBatchSampler) -> DataLoader:
        """Batches of whole dialogues, read as one index each (`batch_size=None`)."""
        return self._loader(split, None, sampler, share_dialogues)

    @property
    def _reads_tokens(self) -> bool:
        """Whether the text goes through a PLM, where batching whole dialogues pays."""
        return not is_glove(self.text_encoder)

    def train_dataloader(self) -> DataLoader:
        """Shuffled by `shuffle_seed` and the epoch (Lightning calls `set_epoch`), so a run's
        order is reproducible and resumable; split evenly over processes under DDP. With
        `group_by_dialogue`, whole dialogues are shuffled and share their PLM pass."""
        replicas, rank = self._replicas()
        if self.group_by_dialogue:
            sampler = DialogueShuffleSampler(
                self.dialogue_ids["train"], self.batch_size, replicas, rank, self.shuffle_seed
            )
            return self._loader("train", self.batch_size, sampler, collate_shared)
        sampler = DistributedSampler(
            self.datasets["train"], replicas, rank, shuffle=True, seed=self.shuffle_seed
        )
        return self._loader("train", self.batch_size, sampler)

    def _eval_loader(self, split: str) -> DataLoader:
        """Every row once over all processes, without padding."""
        replicas, rank = self._replicas()
        if self._reads_tokens:
            sampler = DialogueBatchSampler(
                self.dialogue_ids[split], self.eval_batch_size, num_replicas=replicas, rank=rank
            )
            return self._dialogue_loader(split, sampler)
        sampler = UnpaddedDistributedSampler(len(self.datasets[split]), replicas, rank)
        return self._loader(split, self.eval_batch_size, sampler)

    def split_loader(self, split: str) -> DataLoader:
        """Every row of `split`, in row order, in this one process: for per-utterance outputs
        that must line up with `self.utt_ids[split]` (predictions, the end-of-run analysis).
        On the PLM path each batch holds whole runs of a dialogue's consecutive rows."""
        if self._reads_tokens:
            sampler = DialogueBatchSampler(
                self.dialogue_ids[split], self.eval_batch_size, keep_order=True
            )
            return self._dialogue_loader(split, sampler)
        return self._loader(split, self.eval_batch_size, SequentialSampler(self.datasets[split]))

    def val_dataloader(self) -> DataLoader:
        return self._eval_loader("valid")

    def test_dataloader(self) -> DataLoader:
        return self._eval_loader("test")


def feature_moments(
    features: torch.Tensor, mask: torch.Tensor, rows: int = 1024
) -> dict[str, list[float]]:
    """Mean and std of each of the (N, L, D) `features`' D columns over the steps `mask`
    (N, L) marks real, summed in float64 `rows` utterances at a time (the features may be a
    memory map larger than memory)."""
    width = features.shape[-1]
    count = torch.zeros((), dtype=torch.float64)
    total = torch.zeros(width, dtype=torch.float64)
    squares = torch.zeros(width, dtype=torch.float64)
    for start in range(0, features.shape[0], rows):
        real = mask[start : start + rows].bool()
        values = features[start : start + rows][real].double()
        count += values.shape[0]
        total += values.sum(0)
        squares += (values * values).sum(0)
    if count == 0:
        raise InputError("model.standardize: the train split has no feature steps")
    mean = total / count
    std = (squares / count - mean * mean).clamp_min(0).sqrt()
    std = torch.where(std > 1e-6 * (1 + mean.abs()), std, torch.ones_like(std))
    return {"mean": mean.tolist(), "std": std.tolist()}
