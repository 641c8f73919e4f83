"""Training-step throughput, latency, memory, operator and sync counts of UniVA.

    python benchmarks/train_step.py [--shape paper|tiny] [--variants eager,bf16,compiled]
                                    [--batch-sizes 32] [--repeats 10] [HYDRA OVERRIDES...]
    python benchmarks/train_step.py --preset mosei_glove|mosei_roberta|m3ed_glove|m3ed_roberta
                                    --model univa|original [--device cuda] [--dtypes fp32,bf16]
                                    [--repeats 20] [--warmup 3] [--tiny] --out FILE.json

Shapes: `paper` is the paper's MOSEI GloVe model (hidden 768, 12 heads, text/audio/vision
layers 7/3/5, batch 32; the `dataset=mosei text=glove` preset), `tiny` the synthetic default's
model. Inputs are random batches of MOSEI's feature widths (text 300, audio 74, vision 35) and
`--lengths` steps (random real lengths, left-aligned masks). Each variant runs in a fresh
process so its peak memory is its own. Also counts, for one step, the aten operators dispatched
and those that force a host-device synchronisation (TorchDispatchMode), for univa and for a
re-implementation of the original code (tests/original_model.py); times the contrastive loss
alone at batch 32 on one core; and profiles the share of time spent outside matrix multiplies
and attention. Prints a table and writes JSON next to this script.

With `--preset` it measures one model (univa or the original re-implementation) at one of the
paper's four presets' shapes instead, on `--device` (CPU or CUDA) in fp32 and/or bf16 autocast:
median step time (CUDA events), host syncs and aten operators of one step, FLOPs of one step
(torch.utils.flop_counter) and the model FLOP utilisation against the GPU's dense peak, and
peak memory; `benchmarks/gpu_train_step.sh` runs all of them (`preset_step.py` holds the shapes).
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import torch
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf
from torch.utils._python_dispatch import TorchDispatchMode

from univa import UniVALitModule
from univa.cli import CONFIG_DIR
from univa.losses import va_supcon_loss

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))  # the oracle stays with the tests
from original_model import OriginalUniVA, va_aware_supcon_loss

HERE = Path(__file__).parent
SHAPES = {"paper": ["dataset=mosei", "text=glove"], "tiny": ["dataset=synthetic", "text=glove"]}
WIDTHS = {"text": 300, "audio": 74, "vision": 35}
LABELS = ["happy", "sad", "anger", "surprise", "disgust", "fear"]
# aten operators that copy a value or a data-dependent shape back to the host
SYNC_OPS = {"_local_scalar_dense", "is_nonzero", "nonzero", "masked_select", "equal", "item"}
MATMUL_OPS = (
    "addmm",
    "mm",
    "bmm",
    "baddbmm",
    "scaled_dot_product",
    "_flash_attention",
    "linear_backward",
)


class OpCounter(TorchDispatchMode):
    """Counts every aten operator dispatched while active."""

    def __init__(self) -> None:
        super().__init__()
        self.ops: Counter[str] = Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.ops[func.overloadpacket.__name__] += 1
        return func(*args, **(kwargs or {}))

    @property
    def syncs(self) -> int:
        return sum(n for name, n in self.ops.items() if name in SYNC_OPS)


def model_options(shape: str, overrides: list[str]) -> dict:
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose("train", overrides=[*SHAPES[shape], *overrides])
    options = OmegaConf.to_container(cfg.model, resolve=True)
    options.pop("_target_")
    return options


def random_batch(batch_size: int, lengths: dict[str, int], generator: torch.Generator) -> dict:
    batch = {"labels": (torch.rand(batch_size, len(LABELS), generator=generator) < 0.3).float()}
    for modality, width in WIDTHS.items():
        length = lengths[modality]
        real = torch.randint(1, length + 1, (batch_size,), generator=generator)
        batch[modality] = torch.randn(batch_size, length, width, generator=generator)
        batch[f"{modality}_mask"] = (torch.arange(length) < real[:, None]).float()
        batch[f"va_{modality}"] = torch.randn(batch_size, 2, generator=generator)
    return batch


def build(
    options: dict, lengths: dict[str, int], compile_model: bool
) -> tuple[UniVALitModule, torch.optim.Optimizer]:
    module = UniVALitModule(LABELS, WIDTHS, lengths, **(options | {"compile": compile_model}))
    # as UniVALitModule.configure_optimizers builds it (fused AdamW, no per-parameter sync)
    optimizer = torch.optim.AdamW(module.parameters(), lr=options["lr"], eps=1e-6, fused=True)
    return module.train(), optimizer


def train_step(
    module: UniVALitModule, optimizer: torch.optim.Optimizer, batch: dict, bf16: bool
) -> None:
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        losses = module.compute_losses(batch, module(batch))
    losses["total"].backward()
    torch.nn.utils.clip_grad_norm_(module.parameters(), 1.0)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)


def run_variant(args: argparse.Namespace) -> dict:
    """One variant in this process: median step time, throughput, peak RSS."""
    torch.manual_seed(0)
    lengths = dict(zip(WIDTHS, args.lengths, strict=True))
    options = model_options(args.shape, args.overrides)
    module, optimizer = build(options, lengths, args.variant == "compiled")
    batch = random_batch(args.batch_size, lengths, torch.Generator().manual_seed(0))
    bf16 = args.variant == "bf16"
    for _ in range(args.warmup):
        train_step(module, optimizer, batch, bf16)
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        train_step(module, optimizer, batch, bf16)
        times.append(time.perf_counter() - start)
    ms = statistics.median(times) * 1000
    return {
        "variant": args.variant,
        "batch_size": args.batch_size,
        "ms_per_step": ms,
        "utterances_per_s": args.batch_size / ms * 1000,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def count_ops(args: argparse.Namespace) -> dict:
    """aten operators and host-syncing operators of one training step, univa vs the original."""
    lengths = dict(zip(WIDTHS, args.lengths, strict=True))
    options = model_options(args.shape, args.overrides)
    batch = random_batch(32, lengths, torch.Generator().manual_seed(0))
    module, optimizer = build(options, lengths, False)
    train_step(module, optimizer, batch, False)
    with OpCounter() as ours:
        train_step(module, optimizer, batch, False)

    layers = options["num_layers"]
    original = OriginalUniVA(
        argparse.Namespace(
            DATASET="MOSEI", text_plm_checkpoint="glove", hidden_size=options["hidden_size"],
            num_attention_heads=options["num_heads"], intermediate_size=options["ffn_size"],
            hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1, layer_norm_eps=1e-12,
            fc_dropout=0.1, final_dropout=0.1, text_num_transformer_layers=layers["text"],
            audio_num_transformer_layers=layers["audio"], vision_num_transformer_layers=layers["vision"],
            get_text_utt_max_lens=lengths["text"], get_audio_utt_max_lens=lengths["audio"],
            get_vision_utt_max_lens=lengths["vision"], audio_feat_dim=74, vision_feat_dim=35,
            num_multi_labels=len(LABELS), labelSimilar_regulari=options["label_prior"],
            thres_kl=0.18, thres_dist=options["delta"], temp=options["temperature"], vaAug=True,
        )
    ).train()  # fmt: skip
    original_optimizer = torch.optim.AdamW(original.parameters(), lr=options["lr"], eps=1e-6)

    def original_step() -> None:
        _, _, cls, con = original(batch)
        ((1 - options["alpha"]) * cls + options["alpha"] * con).backward()
        torch.nn.utils.clip_grad_norm_(original.parameters(), 1.0)
        original_optimizer.step()
        original_optimizer.zero_grad()

    original_step()
    with OpCounter() as theirs:
        original_step()
    return {
        "univa": {"aten_ops": sum(ours.ops.values()), "syncs": ours.syncs},
        "original": {"aten_ops": sum(theirs.ops.values()), "syncs": theirs.syncs},
    }


def contrastive_loss_ms() -> dict:
    """The contrastive loss alone at batch 32, hidden 768, on one CPU core."""
    torch.set_num_threads(1)
    features, va = torch.randn(32, 768, requires_grad=True), torch.randn(32, 2) * 0.2

    def median_ms(fn, repeats: int = 50) -> float:
        for _ in range(5):
            fn()
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        return statistics.median(times) * 1000

    both = torch.stack((features, features), dim=1)
    return {
        "univa_forward_ms": median_ms(lambda: va_supcon_loss(features, va, 0.1, 0.4)),
        "univa_forward_backward_ms": median_ms(
            lambda: va_supcon_loss(features, va, 0.1, 0.4).backward()
        ),
        "original_forward_ms": median_ms(
            lambda: va_aware_supcon_loss(both, va, 0.1, 0.4), repeats=5
        ),
    }


def time_outside_matmul(args: argparse.Namespace) -> float:
    """Share of CPU self time in operators other than matrix multiplies and attention."""
    lengths = dict(zip(WIDTHS, args.lengths, strict=True))
    module, optimizer = build(model_options(args.shape, args.overrides), lengths, False)
    batch = random_batch(32, lengths, torch.Generator().manual_seed(0))
    train_step(module, optimizer, batch, False)
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as profile:
        for _ in range(3):
            train_step(module, optimizer, batch, False)
    events = [e for e in profile.key_averages() if e.key.startswith("aten::")]
    total = sum(e.self_cpu_time_total for e in events)
    matmul = sum(e.self_cpu_time_total for e in events if any(op in e.key for op in MATMUL_OPS))
    return 1 - matmul / total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", choices=list(SHAPES), default="paper")
    parser.add_argument("--variants", default="eager,bf16,compiled")
    parser.add_argument("--batch-sizes", default="32")
    parser.add_argument(
        "--lengths", type=lambda s: [int(x) for x in s.split(",")], default=[50, 50, 50]
    )
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument(
        "--preset",
        choices=["mosei_glove", "mosei_roberta", "m3ed_glove", "m3ed_roberta"],
        help="measure one model at this preset's shapes (see above)",
    )
    parser.add_argument("--model", choices=["univa", "original"], default="univa")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtypes", default="fp32,bf16")
    parser.add_argument("--tiny", action="store_true", help="tiny shapes, to check it runs")
    parser.add_argument("--out", type=Path, help="JSON file of a --preset run")
    parser.add_argument("--variant", help=argparse.SUPPRESS)
    parser.add_argument("--batch-size", type=int, help=argparse.SUPPRESS)
    parser.add_argument(
        "overrides", nargs="*", help="Hydra overrides of the model, e.g. model.hidden_size=256"
    )
    args = parser.parse_args()
    if args.preset:  # one model at one of the paper's presets' shapes
        if args.out is None:
            parser.error("--preset needs --out FILE.json")
        from preset_step import measure_preset

        measure_preset(args)
        return
    if args.variant:  # a child process measuring one variant
        print(json.dumps(run_variant(args)))
        return

    rows = []
    for batch_size in args.batch_sizes.split(","):
        for variant in args.variants.split(","):
            command = [sys.executable, __file__, "--shape", args.shape, "--variant", variant,
                       "--batch-size", batch_size, "--lengths", ",".join(map(str, args.lengths)),
                       "--repeats", str(args.repeats), "--warmup", str(args.warmup), *args.overrides]  # fmt: skip
            done = subprocess.run(command, capture_output=True, text=True, check=True)
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    result = {
        "machine": f"{platform.machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}",
        "shape": args.shape,
        "lengths": dict(zip(WIDTHS, args.lengths, strict=True)),
        "variants": rows,
        "ops_per_step": count_ops(args),
        "share_outside_matmul_and_attention": time_outside_matmul(args),
        "contrastive_loss_batch32_one_core": contrastive_loss_ms(),
    }
    print(f"{'variant':<10}{'batch':>6}{'ms/step':>10}{'utt/s':>9}{'peak RSS MiB':>14}")
    for row in rows:
        print(
            f"{row['variant']:<10}{row['batch_size']:>6}{row['ms_per_step']:>10.1f}{row['utterances_per_s']:>9.1f}{row['peak_rss_mib']:>14.0f}"
        )
    print(
        json.dumps(
            {
                k: result[k]
                for k in (
                    "ops_per_step",
                    "share_outside_matmul_and_attention",
                    "contrastive_loss_batch32_one_core",
                )
            },
            indent=2,
        )
    )
    (HERE / f"train_step_{args.shape}.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
