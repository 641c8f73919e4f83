"""Samplers that keep every process's share of a split exact and every epoch's order seeded."""

from __future__ import annotations

from collections.abc import Iterator

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
