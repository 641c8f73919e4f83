"""Lightning data modules: one per benchmark, plus the embedded synthetic default."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.accelerators import CUDAAccelerator
from torch.utils.data import DataLoader, DistributedSampler, Sampler, SequentialSampler

from univa.data.dataset import (
    EmotionDataset,
    collate_shared,
    collate_trimmed,
    share_dialogues,
    split_tensors,
)
from univa.data.dialogue_text import TEXT_FILES, dialogue_order, read_dialogues, read_split_text
from univa.data.released import check_dataset_dir, read_split
from univa.data.samplers import (
    DialogueBatchSampler,
    DialogueShuffleSampler,
    UnpaddedDistributedSampler,
)
from univa.data.synthetic import FLAVORS, SIZES, write_synthetic_dataset
from univa.data.tokenization import load_tokenizer, plm_inputs
from univa.data.va import VA_NORMS, VANorm, normalize_va
from univa.errors import InputError
from univa.vocabulary import (
    GLOVE,
    M3ED_LABELS,
    MODALITIES,
    MOSEI_LABELS,
    SPLITS,
    Batch,
    is_glove,
    va_key,
)


class UniVADataModule(L.LightningDataModule):
    """Reads the three splits of a dataset in the released layout; after `setup`, callers read
    a split's rows through `split_loader`, its gold labels through `split_labels` and its
    utterance ids (for per-utterance outputs) through `split_utt_ids`.

    On the PLM path, evaluation batches hold whole dialogues, so that each dialogue goes
    through the PLM once; `group_by_dialogue` does the same for training (beyond the paper:
    dropout is then shared by the utterances of a dialogue, and batches differ from the paper's).

    Subclasses fix `name` (the file prefix, MOSEI or M3ED) and `labels`.
    """

    name: str
    labels: list[str]

    def __init__(
        self,
        data_dir: str | Path,
        text_encoder: str = GLOVE,
        batch_size: int = 32,
        va_norm: VANorm = "reference",
        eval_batch_size: int | None = None,
        num_workers: int | None = None,
        pin_memory: bool | None = None,
        shuffle_seed: int = 1111,
        group_by_dialogue: bool = False,
    ) -> None:
        super().__init__()
        if va_norm not in VA_NORMS:
            raise InputError(f"dataset.va_norm must be one of {VA_NORMS}, got {va_norm!r}")
        if batch_size < 1:
            raise InputError(f"dataset.batch_size must be >= 1, got {batch_size}")
        self.data_dir = Path(data_dir)
        self.text_encoder = text_encoder
        self.batch_size = batch_size
        self.eval_batch_size = eval_batch_size or batch_size
        self.va_norm = va_norm
        self.num_workers = num_workers
        self.pin_memory = pin_memory
        self.shuffle_seed = shuffle_seed
        self.group_by_dialogue = group_by_dialogue
        self.datasets: dict[str, EmotionDataset] = {}
        self.utt_ids: dict[str, list[str]] = {}
        self.dialogue_ids: dict[str, list[str]] = {}  # each row's dialogue, in row order
        self.max_lens: dict[str, int] = {}
        self.input_dims: dict[str, int] = {}

    def setup(self, stage: str | None = None) -> None:
        if self.datasets:
            return
        check_dataset_dir(self.data_dir, self.name)
        tokenizer = None if is_glove(self.text_encoder) else load_tokenizer(self.text_encoder)
        for split in SPLITS:
            self.datasets[split] = self._read_split(split, tokenizer)

    def _read_split(self, split: str, tokenizer) -> EmotionDataset:
        modalities = MODALITIES if tokenizer is None else ("audio", "vision")
        arrays = read_split(self.data_dir, self.name, split, modalities)
        if arrays.labels.shape[1] != len(self.labels):
            raise InputError(
                f"{self.name} {split}: labels_class has {arrays.labels.shape[1]} columns, expected "
                f"{len(self.labels)} for the labels {self.labels}"
            )
        for modality, features in arrays.features.items():
            self.max_lens[modality] = max(self.max_lens.get(modality, 0), features.shape[1])
            self.input_dims[modality] = features.shape[2]
        tensors = split_tensors(arrays, self.va_norm, f"{self.name} {split}")
        if tokenizer is None:
            dialogues = read_dialogues(self.data_dir, split)
            utt_ids = dialogue_order(dialogues)
            dialogue_ids = [d for d, turns in dialogues.items() for _ in turns]
            source = "utterances in preprocess_data/videos_structure.json"
        else:
            text = read_split_text(self.data_dir, self.name, split)
            utt_ids = [utterance.utt_id for utterance in text.utterances]
            dialogue_ids = [utterance.dialogue_id for utterance in text.utterances]
            source = f"utterances in {TEXT_FILES[self.name]}"
            tensors |= plm_inputs(text, tokenizer)
            tensors[va_key("text")] = normalize_va(
                torch.tensor(text.va), self.va_norm, f"{self.name} {split} text VA"
            )
        if len(utt_ids) != len(arrays):
            raise InputError(
                f"{self.name} {split} split in {self.data_dir}: {len(utt_ids)} {source} but "
                f"{len(arrays)} rows of features"
            )
        self.utt_ids[split] = utt_ids
        self.dialogue_ids[split] = dialogue_ids
        return EmotionDataset(tensors)

    @property
    def data_spec(self) -> dict:
        """What the network must know about the data: label names, feature widths, longest
        sequences, and the text encoder its token ids are meant for."""
        if not self.datasets:
            raise RuntimeError("call setup() before reading data_spec")
        return {
            "labels": list(self.labels),
            "input_dims": dict(self.input_dims),
            "max_lens": dict(self.max_lens),
            "text_encoder": self.text_encoder,
        }

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


class MoseiDataModule(UniVADataModule):
    """CMU-MOSEI in the released layout (`<data_dir>/preprocess_data/final_feat/...`)."""

    name = "MOSEI"
    labels = MOSEI_LABELS


class M3EDDataModule(UniVADataModule):
    """M3ED in the released layout."""

    name = "M3ED"
    labels = M3ED_LABELS


class SyntheticDataModule(UniVADataModule):
    """The embedded default: a synthetic dataset in the released layout, generated when absent."""

    def __init__(
        self,
        data_dir: str | Path,
        flavor: str = "mosei",
        seed: int = 1111,
        size: str = "default",
        **kwargs,
    ) -> None:
        if flavor not in FLAVORS:
            raise InputError(f"dataset.flavor must be one of {sorted(FLAVORS)}, got {flavor!r}")
        if size not in SIZES:
            raise InputError(f"dataset.size must be one of {sorted(SIZES)}, got {size!r}")
        super().__init__(data_dir, **kwargs)
        self.flavor, self.seed, self.size = flavor, seed, size
        self.name = FLAVORS[flavor].name
        self.labels = list(FLAVORS[flavor].labels)

    def prepare_data(self) -> None:
        if (self.data_dir / "preprocess_data").is_dir():
            return
        try:
            write_synthetic_dataset(
                self.data_dir, flavor=self.flavor, seed=self.seed, size=self.size
            )
        except OSError:  # e.g. processes started by torchrun racing to generate it
            if not (self.data_dir / "preprocess_data").is_dir():
                raise

    def setup(self, stage: str | None = None) -> None:
        self.prepare_data()
        super().setup(stage)
