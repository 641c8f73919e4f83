"""One optimizer step of univa or the original re-implementation at the shapes of one of the
paper's four presets (docs/method.md §7), on CPU or CUDA, in fp32 or bf16 autocast.

Run through `train_step.py --preset ...` (one model per process, so its peak memory is its own);
`gpu_train_step.sh` runs the four presets x {fp32, bf16} x {univa, original}.

Shapes: the preset's batch size (per GPU) and model (layers, temperature, alpha, label prior);
feature widths and lengths of the full-size synthetic data (`univa.data.synthetic.generator.plan`: MOSEI
text/audio/vision 300/74/35 over 50/100/100 steps; M3ED 300/1582/342 over 50/1/100). The PLM
presets read dialogues of `PLM_TOKENS` tokens (the original pads every dialogue to 512; univa
cuts each batch to its longest dialogue, so its real batches are shorter) through a PLM of the
paper's sizes with random weights built from a config (no download): roberta-base for MOSEI,
BERT-base with chinese-roberta-wwm-ext's 21128-token vocabulary for M3ED.

The step is what training runs: forward, losses, backward, gradient clipping at 1.0, AdamW
(univa: fused, as `configure_optimizers` builds it; the original: its non-fused AdamW).
Model FLOP utilisation = FLOPs of forward + backward (`FlopCounterMode`, matrix multiplies and
attention; the optimizer's few element-wise FLOPs are not counted) / median step time / the
GPU's dense peak for the dtype (fp32 without TF32, torch's default for matmuls).
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import tempfile
import time
from pathlib import Path

import torch
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf
from torch.utils.flop_counter import FlopCounterMode
from train_step import LABELS, OpCounter

from original_model import OriginalUniVA  # tests/: train_step puts it on the path
from univa import UniVALitModule
from univa.cli import CONFIG_DIR
from univa.data.synthetic.generator import plan

PLM_TOKENS = 512
M3ED_LABELS = ["Happy", "Surprise", "Sad", "Disgust", "Anger", "Fear", "Neutral"]
PRESETS = {  # preset -> (dataset, text)
    "mosei_glove": ("mosei", "glove"),
    "mosei_roberta": ("mosei", "roberta"),
    "m3ed_glove": ("m3ed", "glove"),
    "m3ed_roberta": ("m3ed", "roberta"),
}
PLM_CONFIGS = {  # the paper's PLMs' sizes; random weights
    "mosei": dict(
        model_type="roberta", vocab_size=50265, max_position_embeddings=514, type_vocab_size=1,
        pad_token_id=1, bos_token_id=0, eos_token_id=2, layer_norm_eps=1e-5,
    ),
    "m3ed": dict(
        model_type="bert", vocab_size=21128, max_position_embeddings=512, type_vocab_size=2,
        pad_token_id=0, layer_norm_eps=1e-12,
    ),
}  # fmt: skip
BASE = dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072)
TINY_PLM = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64)
TINY_MODEL = ["model.hidden_size=32", "model.num_heads=2", "model.ffn_size=64"]
# dense peak TFLOP/s per chip: (name fragment, bf16, fp32 without TF32); first match wins
PEAKS = (("H100 PCIe", 756.0, 51.0), ("H100", 989.0, 67.0), ("H200", 989.0, 67.0))


def peak_tflops(device: torch.device, dtype: str) -> tuple[str, float | None]:
    """The device's name and its dense peak for `dtype` (None where unknown, e.g. CPUs)."""
    if device.type != "cuda":
        return platform.processor() or platform.machine(), None
    name = torch.cuda.get_device_name(device)
    for fragment, bf16, fp32 in PEAKS:
        if fragment in name:
            tf32 = torch.backends.cuda.matmul.allow_tf32
            return name, bf16 if dtype == "bf16" else (495.0 if tf32 else fp32)
    return name, None


def plm_dir(flavor: str, tiny: bool) -> str:
    """A folder holding the random-weight PLM (built once per machine, outside $OUT)."""
    from transformers import AutoConfig, AutoModel

    folder = Path(tempfile.gettempdir()) / f"univa-bench-plm-{flavor}{'-tiny' if tiny else ''}"
    if not (folder / "config.json").is_file():
        options = dict(PLM_CONFIGS[flavor])
        config = AutoConfig.for_model(
            options.pop("model_type"), **options, **(TINY_PLM if tiny else BASE)
        )
        torch.manual_seed(0)
        AutoModel.from_config(config).save_pretrained(folder)
    return str(folder)


def shapes(preset: str, tiny: bool) -> dict:
    """The preset's model options and per-GPU batch size (conf/preset), and its data shapes."""
    flavor, text = PRESETS[preset]
    full = plan(flavor, "full")
    lengths = dict(full.max_len)
    if tiny:
        lengths = {m: min(n, 8) for m, n in lengths.items()}
    overrides = [f"dataset={flavor}", f"text={text}", *(TINY_MODEL if tiny else [])]
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose("train", overrides=overrides)
    options = OmegaConf.to_container(cfg.model, resolve=True)
    options.pop("_target_")
    options.pop("text_encoder", None)  # the random-weight PLM's folder is given instead
    return {
        "flavor": flavor,
        "plm": text != "glove",
        "labels": LABELS if flavor == "mosei" else M3ED_LABELS,
        "widths": dict(full.dims),
        "lengths": lengths,
        "tokens": 16 if tiny else PLM_TOKENS,
        "batch_size": 4 if tiny else int(cfg.dataset.batch_size),
        "options": options,
    }


def random_batch(shape: dict, vocab: int, device: torch.device) -> dict:
    g = torch.Generator().manual_seed(0)
    b = shape["batch_size"]
    batch = {"labels": (torch.rand(b, len(shape["labels"]), generator=g) < 0.3).float()}
    for m in ("text", "audio", "vision"):
        batch[f"va_{m}"] = torch.randn(b, 2, generator=g)
        if m == "text" and shape["plm"]:
            s = shape["tokens"]
            batch["text_ids"] = torch.randint(3, vocab, (b, s), generator=g)
            batch["text_mask"] = torch.ones(b, s)
            start = torch.randint(1, s // 2, (b, 1), generator=g)
            size = torch.randint(1, s // 4, (b, 1), generator=g)
            steps = torch.arange(s)
            batch["text_utt_mask"] = ((steps >= start) & (steps < start + size)).float()
            continue
        length, width = shape["lengths"][m], shape["widths"][m]
        real = torch.randint(1, length + 1, (b,), generator=g)
        batch[m] = torch.randn(b, length, width, generator=g)
        batch[f"{m}_mask"] = (torch.arange(length) < real[:, None]).float()
    return {k: v.to(device) for k, v in batch.items()}


def build(model: str, shape: dict, text_encoder: str, device: torch.device):
    """(module, step function) of one training step, as each code base trains."""
    options = dict(shape["options"])
    torch.manual_seed(0)
    if model == "univa":
        module = UniVALitModule(
            shape["labels"], shape["widths"], shape["lengths"],
            **options, text_encoder=text_encoder,
        ).to(device).train()  # fmt: skip
        optimizer = torch.optim.AdamW(module.parameters(), lr=options["lr"], eps=1e-6, fused=True)

        def losses(batch: dict) -> torch.Tensor:
            return module.compute_losses(batch, module(batch))["total"]
    else:
        layers, lengths = options["num_layers"], shape["lengths"]
        module = OriginalUniVA(
            argparse.Namespace(
                DATASET=shape["flavor"].upper(), text_plm_checkpoint=text_encoder,
                text_plm_path=text_encoder, hidden_size=options["hidden_size"],
                num_attention_heads=options["num_heads"], intermediate_size=options["ffn_size"],
                hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1, layer_norm_eps=1e-12,
                fc_dropout=0.1, final_dropout=0.1, text_num_transformer_layers=layers["text"],
                audio_num_transformer_layers=layers["audio"],
                vision_num_transformer_layers=layers["vision"],
                get_text_utt_max_lens=lengths["text"], get_audio_utt_max_lens=lengths["audio"],
                get_vision_utt_max_lens=lengths["vision"], audio_feat_dim=shape["widths"]["audio"],
                vision_feat_dim=shape["widths"]["vision"], num_multi_labels=len(shape["labels"]),
                labelSimilar_regulari=options["label_prior"], thres_kl=0.18,
                thres_dist=options["delta"], temp=options["temperature"], vaAug=True,
            )
        ).to(device).train()  # fmt: skip
        optimizer = torch.optim.AdamW(module.parameters(), lr=options["lr"], eps=1e-6)
        alpha = options["alpha"]

        def losses(batch: dict) -> torch.Tensor:
            _, _, cls, con = module(batch)
            return (1 - alpha) * cls + alpha * con

    return module, optimizer, losses


def measure(args: argparse.Namespace, shape: dict, dtype: str, device: torch.device) -> dict:
    text_encoder = plm_dir(shape["flavor"], args.tiny) if shape["plm"] else "glove"
    module, optimizer, losses = build(args.model, shape, text_encoder, device)
    vocab = PLM_CONFIGS[shape["flavor"]]["vocab_size"]
    batch = random_batch(shape, vocab, device)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=dtype == "bf16")

    def forward_backward() -> None:
        with autocast:
            loss = losses(batch)
        loss.backward()

    def step() -> None:
        forward_backward()
        torch.nn.utils.clip_grad_norm_(module.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    cuda = device.type == "cuda"
    if cuda:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
    for _ in range(args.warmup):
        step()
    times = []
    for _ in range(args.repeats):
        if cuda:
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            step()
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end) / 1000)
        else:
            begin = time.perf_counter()
            step()
            times.append(time.perf_counter() - begin)
    peak_memory = torch.cuda.max_memory_allocated(device) / 2**20 if cuda else None
    with OpCounter() as ops:
        step()
    with FlopCounterMode(display=False) as flops:
        forward_backward()
    optimizer.zero_grad(set_to_none=True)
    seconds = statistics.median(times)
    device_name, peak = peak_tflops(device, dtype)
    achieved = flops.get_total_flops() / seconds / 1e12
    return {
        "dtype": dtype,
        "device_name": device_name,
        "ms_per_step": seconds * 1000,
        "ms_per_step_min_max": [min(times) * 1000, max(times) * 1000],
        "utterances_per_s": shape["batch_size"] / seconds,
        "aten_ops": sum(ops.ops.values()),
        "host_syncs": ops.syncs,
        "flops_per_step": flops.get_total_flops(),
        "achieved_tflops": achieved,
        "peak_tflops": peak,
        "mfu": achieved / peak if peak else None,
        "peak_cuda_memory_mib": peak_memory,
    }


def measure_preset(args: argparse.Namespace) -> None:
    """`train_step.py --preset`: every dtype of one model at one preset's shapes, as JSON
    (rewritten after each dtype, so a run cut short keeps what it measured)."""
    device = torch.device(args.device)
    shape = shapes(args.preset, args.tiny)
    result = {
        "preset": args.preset,
        "model": args.model,
        "device": args.device,
        "torch": torch.__version__,
        "tiny": args.tiny,
        "batch_size": shape["batch_size"],
        "lengths": shape["lengths"],
        "widths": shape["widths"],
        "plm_tokens": shape["tokens"] if shape["plm"] else None,
        "warmup": args.warmup,
        "repeats": args.repeats,
        "dtypes": [],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    for dtype in args.dtypes.split(","):
        result["dtypes"].append(measure(args, shape, dtype, device))
        result["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(result["dtypes"][-1]), flush=True)
        args.out.write_text(json.dumps(result, indent=2))
        if device.type == "cuda":
            torch.cuda.empty_cache()


def summary(folder: Path) -> str:
    """A Markdown table of every `train_step_<preset>_<model>.json` in `folder`."""
    results = {}
    for path in sorted(folder.glob("train_step_*.json")):
        result = json.loads(path.read_text())
        for row in result["dtypes"]:
            results[(result["preset"], row["dtype"], result["model"])] = (result, row)
    lines = [
        "| preset | dtype | model | batch | ms / step | original / univa | host syncs | aten ops "
        "| TFLOP/s | MFU | peak memory MiB |",
        "|" + "---|" * 11,
    ]
    order = {name: i for i, name in enumerate([*PRESETS, "fp32", "bf16", "univa", "original"])}
    for (preset, dtype, model), (result, row) in sorted(
        results.items(), key=lambda item: [order.get(part, len(order)) for part in item[0]]
    ):
        ours = results.get((preset, dtype, "univa"))
        ratio = row["ms_per_step"] / ours[1]["ms_per_step"] if ours else float("nan")
        memory = row["peak_cuda_memory_mib"] or result["peak_rss_mib"]
        mfu = f"{row['mfu']:.1%}" if row["mfu"] is not None else "n/a"
        lines.append(
            f"| {preset} | {dtype} | {model} | {result['batch_size']} | {row['ms_per_step']:.1f} "
            f"| {ratio:.2f} | {row['host_syncs']} | {row['aten_ops']} "
            f"| {row['achieved_tflops']:.2f} | {mfu} | {memory:.0f} |"
        )
    names = {row["device_name"] for _, row in results.values()}
    return "\n".join(lines) + f"\n\nDevice: {', '.join(sorted(names))}\n"


if __name__ == "__main__":  # python benchmarks/preset_step.py FOLDER: the table of a run
    import sys

    print(summary(Path(sys.argv[1])))
