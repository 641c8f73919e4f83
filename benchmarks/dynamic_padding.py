"""What per-batch padding saves on the PLM text path, against always padding to 512 tokens.

    python benchmarks/dynamic_padding.py [--arch tiny|base] [--batches 20] [--batch-size 12]

Builds the synthetic MOSEI data (with its tiny local PLM), then for the same training batches
times a PLM forward + backward with the batch padded to its own longest dialogue (what univa
does) and padded to 512 (what the original code does). `--arch base` uses a randomly
initialised roberta-base-sized network (no download) for realistic costs. Prints a table and
writes JSON next to this script.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from transformers import AutoConfig, AutoModel

from univa.data import SyntheticDataModule

MAX_SEQ_LEN = 512


def pad_to(batch: dict[str, torch.Tensor], length: int, pad_id: int) -> dict[str, torch.Tensor]:
    extra = length - batch["text_ids"].shape[1]
    return {
        "text_ids": F.pad(batch["text_ids"], (0, extra), value=pad_id),
        "text_mask": F.pad(batch["text_mask"], (0, extra)),
    }


def step_ms(model: torch.nn.Module, ids: torch.Tensor, mask: torch.Tensor) -> float:
    start = time.perf_counter()
    model(input_ids=ids, attention_mask=mask.long()).last_hidden_state.sum().backward()
    return (time.perf_counter() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", choices=["tiny", "base"], default="tiny")
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=12)
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args()
    torch.manual_seed(0)
    data_dir = args.data_dir or Path(tempfile.mkdtemp()) / "MOSEI"
    datamodule = SyntheticDataModule(
        data_dir, batch_size=args.batch_size, text_encoder=str(data_dir / "text_model")
    )
    datamodule.setup()
    config = AutoConfig.from_pretrained(data_dir / "text_model")
    if args.arch == "base":  # roberta-base sizes, random weights
        config.update(
            dict(
                hidden_size=768,
                num_hidden_layers=12,
                num_attention_heads=12,
                intermediate_size=3072,
            )
        )
    model = AutoModel.from_config(config).train()

    loader = datamodule.train_dataloader()
    tokens = {"dynamic": 0, "padded_512": 0}
    times = {"dynamic": [], "padded_512": []}
    for index, batch in enumerate(loader):
        if index >= args.batches + 2:
            break
        variants = {"dynamic": batch, "padded_512": pad_to(batch, MAX_SEQ_LEN, config.pad_token_id)}
        for name, inputs in variants.items():
            ms = step_ms(model, inputs["text_ids"], inputs["text_mask"])
            if index >= 2:  # the first batches warm up allocators and kernels
                times[name].append(ms)
                tokens[name] += inputs["text_ids"].numel()
    lengths = [b["text_ids"].shape[1] for b in loader]
    result = {
        "machine": f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}",
        "arch": args.arch,
        "batch_size": args.batch_size,
        "batches_timed": args.batches,
        "mean_padded_length_dynamic": statistics.mean(lengths),
        "token_ratio_512_over_dynamic": tokens["padded_512"] / tokens["dynamic"],
        "median_ms": {name: statistics.median(v) for name, v in times.items()},
    }
    result["speedup"] = result["median_ms"]["padded_512"] / result["median_ms"]["dynamic"]
    print(f"{'variant':<12}{'median ms/step':>16}{'tokens':>12}")
    for name in times:
        print(f"{name:<12}{result['median_ms'][name]:>16.1f}{tokens[name]:>12}")
    print(
        f"mean padded length {result['mean_padded_length_dynamic']:.0f} tokens; 512-padding processes "
        f"{result['token_ratio_512_over_dynamic']:.1f}x the tokens and is {result['speedup']:.1f}x slower ({args.arch})"
    )
    out = Path(__file__).with_name(f"dynamic_padding_{args.arch}.json")
    out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
