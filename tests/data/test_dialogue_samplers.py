"""Batches of whole dialogues: every row once, dialogues kept together, seeded and DDP-safe."""

from itertools import pairwise

import pytest
from hydra.utils import instantiate

from univa.constants import GLOVE, SPLITS
from univa.data import M3EDDataModule
from univa.data.released.text import read_dialogues
from univa.data.samplers import DialogueBatchSampler, DialogueShuffleSampler

# rows of dialogues a (3), b (1), c (9, longer than a batch), d (4), then a again (non-contiguous)
DIALOGUES = ["a"] * 3 + ["b"] + ["c"] * 9 + ["d"] * 4 + ["a"] * 2


def dialogues_of(batch: list[int]) -> set[str]:
    return {DIALOGUES[row] for row in batch}


@pytest.mark.parametrize("replicas", [1, 2, 3])
def test_evaluation_batches_hold_whole_dialogues_and_every_row_once(replicas: int) -> None:
    shards = [
        DialogueBatchSampler(DIALOGUES, batch_size=5, num_replicas=replicas, rank=rank)
        for rank in range(replicas)
    ]
    batches = [batch for shard in shards for batch in shard]
    rows = sorted(row for batch in batches for row in batch)
    assert rows == list(range(len(DIALOGUES)))  # no padding, no duplicates
    for dialogue in set(DIALOGUES):  # each dialogue in exactly one batch
        assert sum(dialogue in dialogues_of(batch) for batch in batches) == 1
    assert [DIALOGUES[row] for row in max(batches, key=len)] == ["c"] * 9  # a batch of its own
    assert all(len(batch) <= 5 for batch in batches if dialogues_of(batch) != {"c"})


def test_a_split_of_fewer_batches_than_ranks_gives_every_rank_rows_once() -> None:
    dialogues = ["a"] * 5 + ["b"] * 6  # one batch of 32: under DDP a rank would get none
    shares = [list(DialogueBatchSampler(dialogues, 32, num_replicas=3, rank=r)) for r in range(3)]
    assert all(len(share) == 1 for share in shares)
    assert sorted(row for share in shares for batch in share for row in batch) == list(range(11))


def test_ordered_batches_keep_row_order_and_cut_only_between_runs() -> None:
    batches = list(DialogueBatchSampler(DIALOGUES, batch_size=5, keep_order=True))
    assert [row for batch in batches for row in batch] == list(range(len(DIALOGUES)))
    for before, after in pairwise(batches):
        assert DIALOGUES[before[-1]] != DIALOGUES[after[0]]


def training_order(sampler: DialogueShuffleSampler, epoch: int) -> list[int]:
    sampler.set_epoch(epoch)
    return list(sampler)


def test_training_order_is_whole_shuffled_dialogues_reproducible_by_seed_and_epoch() -> None:
    sampler = DialogueShuffleSampler(DIALOGUES, batch_size=4, seed=7)
    order = training_order(sampler, 0)
    assert sorted(order) == list(range(len(DIALOGUES)))
    changes = [DIALOGUES[row] for prev, row in pairwise(order) if DIALOGUES[row] != DIALOGUES[prev]]
    runs = [DIALOGUES[order[0]], *changes]
    assert sorted(runs) == sorted(set(DIALOGUES))  # each dialogue's rows are contiguous
    again = DialogueShuffleSampler(DIALOGUES, batch_size=4, seed=7)
    assert training_order(again, 0) == order
    epochs = {tuple(training_order(sampler, epoch)) for epoch in range(6)}
    assert len(epochs) > 1  # a new order each epoch
    other_seed = DialogueShuffleSampler(DIALOGUES, batch_size=4, seed=100)
    assert {tuple(training_order(other_seed, e)) for e in range(6)} != epochs


@pytest.mark.parametrize("replicas", [2, 3])
def test_training_shards_have_equal_batches_and_cover_every_row(replicas: int) -> None:
    batch_size = 4
    shards = [
        training_order(DialogueShuffleSampler(DIALOGUES, batch_size, replicas, rank, seed=3), 2)
        for rank in range(replicas)
    ]
    assert len({len(shard) for shard in shards}) == 1  # every rank takes as many steps
    assert set().union(*shards) == set(range(len(DIALOGUES)))
    assert sum(map(len, shards)) - len(DIALOGUES) < replicas  # padding as DistributedSampler's
    whole = training_order(DialogueShuffleSampler(DIALOGUES, batch_size, seed=3), 2)
    steps = [
        [shard[start : start + batch_size] for shard in shards]
        for start in range(0, len(shards[0]), batch_size)
    ]
    flat = [row for step in steps for batch in step for row in batch]
    assert flat[: len(DIALOGUES)] == whole  # each step: consecutive slices of one shuffled order


def test_group_by_dialogue_is_a_dataset_option_off_by_default(compose_cfg, tiny_mosei) -> None:
    assert compose_cfg().dataset.group_by_dialogue is False
    cfg = compose_cfg("dataset.group_by_dialogue=true", "text=roberta")
    datamodule = instantiate(
        cfg.dataset,
        data_dir=str(tiny_mosei),
        text_encoder=str(tiny_mosei / "text_model"),
        batch_size=8,
    )
    datamodule.setup()
    loader = datamodule.train_dataloader()
    assert isinstance(loader.sampler, DialogueShuffleSampler)
    ids = datamodule.dialogue_ids["train"]
    order = list(loader.sampler)
    for start, batch in zip(range(0, len(order), 8), loader, strict=True):
        dialogues = {ids[row] for row in order[start : start + 8]}
        assert len(batch["dialogue_rows"]) == len(dialogues)  # one PLM pass per dialogue


def test_dialogue_ids_name_each_rows_dialogue_on_both_text_paths(tiny_m3ed) -> None:
    for text_encoder in (GLOVE, str(tiny_m3ed / "text_model")):
        datamodule = M3EDDataModule(tiny_m3ed, text_encoder=text_encoder)
        datamodule.setup()
        for split in SPLITS:
            structure = read_dialogues(tiny_m3ed, split)
            dialogue_of = {utt: dialogue for dialogue, utts in structure.items() for utt in utts}
            expected = [dialogue_of[utt] for utt in datamodule.split_utt_ids(split)]
            assert datamodule.dialogue_ids[split] == expected
