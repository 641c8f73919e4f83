"""`univa.distributed` on its own, then multi-process behaviour on 2 CPU processes over gloo:
gathered negatives and DDP runs."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from univa import distributed
from univa.data.samplers import UnpaddedDistributedSampler
from univa.losses import LossConfig, contrastive_loss
from wandb_offline import offline_runs

WORLD = 2


def test_world_size_is_one_without_a_process_group() -> None:
    assert not dist.is_initialized()
    assert distributed.world_size() == 1


def test_scale_grad_keeps_the_value_and_scales_only_the_gradient() -> None:
    value = torch.tensor([1.5, -2.0], requires_grad=True)
    scaled = distributed.scale_grad(value, 4.0)
    torch.testing.assert_close(scaled, value.detach())
    (scaled * torch.tensor([1.0, 3.0])).sum().backward()
    torch.testing.assert_close(value.grad, torch.tensor([4.0, 12.0]))


def test_gather_puts_ranks_in_order_and_keeps_only_the_local_graph(monkeypatch) -> None:
    """Rank 1 of 3, with all_gather replaced by what the other ranks would send."""
    others = {0: torch.full((2, 3), 10.0), 2: torch.full((2, 3), 30.0)}

    def all_gather(parts: list[torch.Tensor], sent: torch.Tensor) -> None:
        assert not sent.requires_grad  # what goes over the wire carries no graph
        for rank, part in enumerate(parts):
            part.copy_(others.get(rank, sent))

    monkeypatch.setattr(dist, "get_world_size", lambda: 3)
    monkeypatch.setattr(dist, "get_rank", lambda: 1)
    monkeypatch.setattr(dist, "all_gather", all_gather)
    local = torch.arange(6.0).view(2, 3).requires_grad_()
    gathered = distributed.gather_with_local_grad(local)
    torch.testing.assert_close(gathered, torch.cat([others[0], local.detach(), others[2]]))
    (gathered * torch.arange(1.0, 7.0).view(6, 1)).sum().backward()
    # only rows 2 and 3 (this rank's) send gradient back, each its own weight
    torch.testing.assert_close(local.grad, torch.tensor([[3.0] * 3, [4.0] * 3]))


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _gathered_loss_worker(
    rank: int, port: int, features: torch.Tensor, va: torch.Tensor, out: dict
) -> None:
    dist.init_process_group(
        "gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=WORLD
    )
    try:
        local = features.chunk(WORLD)[rank].clone().requires_grad_()
        config = LossConfig(temperature=0.5, delta=0.3, gather_negatives=True)
        loss = contrastive_loss(local, va.chunk(WORLD)[rank], config)
        loss.backward()
        # DDP divides every parameter gradient by the number of ranks before summing them
        out[rank] = (loss.item(), local.grad / WORLD)
    finally:
        dist.destroy_process_group()


@pytest.mark.slow  # starts fresh interpreters: seconds each
def test_gathered_negatives_equal_one_process_on_the_concatenated_batch() -> None:
    torch.manual_seed(0)
    features, va = torch.randn(12, 8), torch.randn(12, 2) * 0.3
    manager = mp.Manager()
    out = manager.dict()
    mp.spawn(_gathered_loss_worker, args=(_free_port(), features, va, out), nprocs=WORLD, join=True)

    whole = features.clone().requires_grad_()
    expected = contrastive_loss(whole, va, LossConfig(temperature=0.5, delta=0.3))
    expected.backward()
    for rank in range(WORLD):
        loss, grad = out[rank]
        assert loss == pytest.approx(expected.item(), rel=1e-5)
        # after DDP's averaging, this rank's rows get exactly their gradient of the global loss
        torch.testing.assert_close(grad, whole.grad.chunk(WORLD)[rank], atol=1e-6, rtol=1e-4)


def test_unpadded_sampler_covers_every_row_once() -> None:
    shards = [list(UnpaddedDistributedSampler(11, 3, rank)) for rank in range(3)]
    assert sorted(i for shard in shards for i in shard) == list(range(11))
    assert [len(UnpaddedDistributedSampler(11, 3, r)) for r in range(3)] == [4, 4, 3]


@pytest.mark.slow
def test_two_process_ddp_multirun_counts_every_test_utterance_once(tmp_path: Path) -> None:
    """Two jobs of a multirun, each on 2 gloo processes: one folder per job, shared by both,
    and one W&B run per job, made by rank 0."""
    command = [
        sys.executable, "-m", "univa.train", "--multirun", f"paths.root_dir={tmp_path}",
        "trainer=ddp", "trainer.accelerator=cpu", "trainer.devices=2", "dataset.size=tiny",
        "trainer.max_epochs=1", "dataset.batch_size=8", "model.gather_negatives=true",
        "model.temperature=0.4,0.7", "logger=wandb", "logger.wandb.mode=offline",
    ]  # fmt: skip
    wandb_home = str(tmp_path / "wandb_home")
    env = os.environ | {
        "OMP_NUM_THREADS": "1",
        "WANDB_SILENT": "true",
        "WANDB_CONFIG_DIR": wandb_home,
        "WANDB_CACHE_DIR": wandb_home,
        "WANDB_DATA_DIR": wandb_home,
    }
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "sync_dist" not in done.stderr  # Lightning's advice: every epoch value is reduced
    assert done.stderr.count("Restoring states") == 2  # each job's best checkpoint, once
    (sweep,) = (tmp_path / "logs" / "train" / "multiruns").iterdir()
    jobs = sorted(p for p in sweep.iterdir() if p.is_dir() and not p.name.startswith("."))
    assert [job.name for job in jobs] == ["0", "1"]
    dataset_dir = next((tmp_path / "data" / "synthetic").iterdir())
    structure = json.loads((dataset_dir / "preprocess_data" / "videos_structure.json").read_text())
    num_test = sum(len(turns) for turns in structure["test"].values())
    for job in jobs:
        results = json.loads((job / "results.json").read_text())
        assert results["test"]["num_samples"] == num_test
        assert len(list((job / "checkpoints").glob("*.ckpt"))) == 2  # best + last, written once
        assert (job / "train_ddp_process_1.log").is_file()  # the worker ran in this folder
        assert not (job / ".univa.lock").exists()  # each job released its folder
        (run,) = offline_runs(job / "wandb")  # rank 0's only
        assert run.exit_code == 0
        assert run.summary["test/micro_f1"] == pytest.approx(results["test"]["micro_f1"])
