"""Samplers that keep every process's share of a split exact and every epoch's order seeded."""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterator, Sequence

import torch
from torch.utils.data import Sampler


class UnpaddedDistributedSampler(Sampler[int]):
    """Rank r of R reads rows r, r + R, r + 2R, ... in order: every row exactly once overall.

    torch's `DistributedSampler` pads the split with repeated rows so that all ranks get as many,
    which would count those utterances twice in evaluation metrics.
    """

    def __init__(self, num_rows: int, num_replicas: int = 1, rank: int = 0) -> None:
        if not 0 <= rank < num_replicas:
            raise ValueError(f"rank {rank} outside [0, {num_replicas})")
        self.num_rows, self.num_replicas, self.rank = num_rows, num_replicas, rank

    def __iter__(self) -> Iterator[int]:
        return iter(range(self.rank, self.num_rows, self.num_replicas))

    def __len__(self) -> int:
        return len(range(self.rank, self.num_rows, self.num_replicas))


def dialogue_groups(dialogue_ids: Sequence[Hashable], keep_order: bool) -> list[list[int]]:
    """Row indices of each dialogue, rows in row order. With `keep_order`, each run of
    consecutive rows of one dialogue is a group (so concatenating the groups gives the rows in
    order); otherwise all rows of a dialogue form one group, dialogues in order of appearance."""
    if keep_order:
        groups: list[list[int]] = []
        for row, dialogue in enumerate(dialogue_ids):
            if row and dialogue == dialogue_ids[row - 1]:
                groups[-1].append(row)
            else:
                groups.append([row])
        return groups
    by_dialogue: dict[Hashable, list[int]] = {}
    for row, dialogue in enumerate(dialogue_ids):
        by_dialogue.setdefault(dialogue, []).append(row)
    return list(by_dialogue.values())


def whole_dialogue_batches(groups: list[list[int]], batch_size: int) -> list[list[int]]:
    """Groups packed greedily, in order, into batches of at most `batch_size` rows, never
    splitting a group: a group longer than `batch_size` is a batch of its own."""
    batches: list[list[int]] = []
    current: list[int] = []
    for group in groups:
        if current and len(current) + len(group) > batch_size:
            batches.append(current)
            current = []
        current = current + group
        if len(current) >= batch_size:
            batches.append(current)
            current = []
    if current:
        batches.append(current)
    return batches


class DialogueBatchSampler(Sampler[list[int]]):
    """Evaluation batches of whole dialogues (yields lists of row indices, for a loader with
    `batch_size=None`), so that each dialogue goes through the PLM once.

    Rank r of R reads batches r, r + R, ...: every row exactly once overall, no padding. A split
    packed into fewer batches than there are ranks is dealt row by row instead (r, r + R, ...),
    so that every rank has a batch: a rank without one would skip the evaluation loop and leave
    the others waiting forever in the metrics' synchronisation.
    """

    def __init__(
        self,
        dialogue_ids: Sequence[Hashable],
        batch_size: int,
        keep_order: bool = False,
        num_replicas: int = 1,
        rank: int = 0,
    ) -> None:
        if not 0 <= rank < num_replicas:
            raise ValueError(f"rank {rank} outside [0, {num_replicas})")
        groups = dialogue_groups(dialogue_ids, keep_order)
        batches = whole_dialogue_batches(groups, batch_size)
        if len(batches) < num_replicas:
            rows = [row for batch in batches for row in batch]
            batches = [rows[r::num_replicas] for r in range(num_replicas) if rows[r::num_replicas]]
        self.batches = batches[rank::num_replicas]

    def __iter__(self) -> Iterator[list[int]]:
        return iter(self.batches)

    def __len__(self) -> int:
        return len(self.batches)


class DialogueShuffleSampler(Sampler[int]):
    """Training order of whole dialogues: the dialogues are shuffled by `seed` + epoch
    (Lightning calls `set_epoch`), their rows concatenated and cut into batches of `batch_size`
    (a dialogue longer than a batch, or at a batch boundary, spans two batches).

    Under DDP every rank reads ceil(N / R) rows, as with torch's `DistributedSampler` (the
    order is padded with its first rows), in batches of equal sizes on all ranks: each step's
    R batches are consecutive slices of the shuffled order.
    """

    def __init__(
        self,
        dialogue_ids: Sequence[Hashable],
        batch_size: int,
        num_replicas: int = 1,
        rank: int = 0,
        seed: int = 0,
    ) -> None:
        if not 0 <= rank < num_replicas:
            raise ValueError(f"rank {rank} outside [0, {num_replicas})")
        self.groups = dialogue_groups(dialogue_ids, keep_order=False)
        self.num_rows = len(dialogue_ids)
        self.batch_size, self.num_replicas, self.rank = batch_size, num_replicas, rank
        self.seed, self.epoch = seed, 0
        self.rows_per_rank = math.ceil(self.num_rows / num_replicas)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self) -> Iterator[int]:
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        order = torch.randperm(len(self.groups), generator=generator).tolist()
        rows = [row for index in order for row in self.groups[index]]
        total = self.rows_per_rank * self.num_replicas
        rows = (rows * math.ceil(total / max(len(rows), 1)))[:total]
        mine: list[int] = []
        offset = 0
        for start in range(0, self.rows_per_rank, self.batch_size):
            size = min(self.batch_size, self.rows_per_rank - start)
            mine += rows[offset + self.rank * size : offset + (self.rank + 1) * size]
            offset += self.num_replicas * size
        return iter(mine)

    def __len__(self) -> int:
        return self.rows_per_rank
