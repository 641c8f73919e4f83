"""Each dialogue through the PLM once: evaluation pass and training epoch, side by side.

    python benchmarks/dialogue_encoding.py [--tiny-dialogues 60 16] [--base-dialogues 4 2]

On the PLM path every utterance row carries its whole dialogue. Today's evaluation batches
(rows in order, `eval_batch_size` rows each) run a dialogue through the PLM once per utterance;
univa's evaluation loaders batch whole dialogues and run each distinct dialogue once
(`univa.data.samplers.DialogueBatchSampler` + `univa.data.dataset.share_dialogues`). This
times a whole evaluation pass of the UniVA network (text PLM + audio/vision encoders) both
ways on the same rows, for MOSEI-like dialogues (about 7 utterances) and M3ED-like ones (about
25), with the tiny local PLM and with a randomly initialised roberta-base-sized one (a capped
subset of dialogues). It also times one training epoch (tiny PLM) with shuffled rows against
`dataset.group_by_dialogue` (`DialogueShuffleSampler`). Data: synthetic dialogues in memory
(words of the synthetic vocabulary, features of the synthetic widths), tokenised as
`univa.data.tokenization.plm_inputs` does. Prints a table and writes
`dialogue_encoding.json` next to this script.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, DistributedSampler, SequentialSampler
from transformers import AutoConfig, AutoModel

from univa.data.dataset import EmotionDataset, collate_shared, collate_trimmed, share_dialogues
from univa.data.samplers import DialogueBatchSampler, DialogueShuffleSampler
from univa.data.synthetic.generator import WORDS
from univa.data.synthetic.tiny_text_model import write_tiny_text_model
from univa.data.tokenization import SplitText, Utterance, load_tokenizer, plm_inputs
from univa.model import UniVA, UniVAConfig

# utterances per dialogue (uniform in [low, high)), words per utterance, feature widths
DATASETS = {
    "mosei": {"turns": (3, 12), "words": (8, 31), "style": "roberta", "dims": (74, 35)},
    "m3ed": {"turns": (15, 36), "words": (4, 21), "style": "bert", "dims": (130, 64)},
}
LABELS = [f"label{i}" for i in range(6)]
FRAMES = 40
BASE = dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072)


def dialogues(name: str, count: int, seed: int = 0) -> SplitText:
    spec = DATASETS[name]
    rng = np.random.default_rng(seed)
    vocab = " ".join(WORDS.values()).split()
    utterances, turns, texts = [], {}, {}
    for d in range(count):
        dialogue = f"{name}{d}"
        turns[dialogue] = []
        for position in range(rng.integers(*spec["turns"])):
            utt_id = f"{dialogue}_{position}"
            turns[dialogue].append(utt_id)
            texts[utt_id] = " ".join(rng.choice(vocab, rng.integers(*spec["words"])))
            utterances.append(Utterance(utt_id, dialogue, position))
    return SplitText(utterances, turns, texts, [(0.0, 0.0)] * len(utterances))


def dataset(name: str, split: SplitText, tokenizer) -> EmotionDataset:
    generator = torch.Generator().manual_seed(0)
    rows = len(split.utterances)
    tensors = plm_inputs(split, tokenizer) | {
        "labels": torch.randint(0, 2, (rows, len(LABELS)), generator=generator).float(),
        "va_text": torch.randn(rows, 2, generator=generator),
    }
    for modality, dim in zip(("audio", "vision"), DATASETS[name]["dims"], strict=True):
        lengths = torch.randint(FRAMES // 5, FRAMES + 1, (rows,), generator=generator)
        tensors[modality] = torch.randn(rows, FRAMES, dim, generator=generator)
        tensors[f"{modality}_mask"] = (torch.arange(FRAMES) < lengths[:, None]).float()
        tensors[f"va_{modality}"] = torch.randn(rows, 2, generator=generator)
    return EmotionDataset(tensors)


def text_models(root: Path, name: str) -> dict[str, str]:
    """The tiny local PLM trained on this corpus, and a roberta-base-sized one (random)."""
    corpus = list(dialogues(name, 200, seed=1).texts.values())
    tiny = write_tiny_text_model(root / f"{name}_tiny", corpus, style=DATASETS[name]["style"])
    config = AutoConfig.from_pretrained(tiny)
    config.update(BASE)
    base = root / f"{name}_base"
    torch.manual_seed(0)
    AutoModel.from_config(config).save_pretrained(base)
    for file in tiny.iterdir():
        if "token" in file.name or file.name in ("vocab.txt", "vocab.json", "merges.txt"):
            shutil.copy(file, base / file.name)
    return {"tiny": str(tiny), "base": str(base)}


def network(text_encoder: str, name: str) -> UniVA:
    torch.manual_seed(0)
    dims = DATASETS[name]["dims"]
    config = UniVAConfig(
        labels=LABELS,
        input_dims={"audio": dims[0], "vision": dims[1]},
        max_lens={"audio": FRAMES, "vision": FRAMES},
        text_encoder=text_encoder,
        hidden_size=64,
        num_heads=4,
        ffn_size=128,
        num_layers={"audio": 1, "vision": 1},
    )
    return UniVA(config)


def loaders(data: EmotionDataset, split: SplitText, batch_size: int) -> dict[str, DataLoader]:
    """Today's evaluation loader and univa's, over the same rows."""
    ids = [u.dialogue_id for u in split.utterances]
    return {
        "per_utterance": DataLoader(
            data, batch_size, sampler=SequentialSampler(data), collate_fn=collate_trimmed
        ),
        "dialogue_once": DataLoader(
            data, None, sampler=DialogueBatchSampler(ids, batch_size), collate_fn=share_dialogues
        ),
    }


class PLMClock:
    """Forward hooks on the PLM: rows it encoded and seconds spent in it."""

    def __init__(self, plm: torch.nn.Module) -> None:
        self.rows, self.seconds, self.started = 0, 0.0, 0.0
        self.handles = [
            plm.register_forward_pre_hook(self.start),
            plm.register_forward_hook(self.stop),
        ]

    def start(self, module, args) -> None:
        self.started = time.perf_counter()

    def stop(self, module, args, out) -> None:
        self.seconds += time.perf_counter() - self.started
        self.rows += out.last_hidden_state.shape[0]

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()


@torch.no_grad()
def eval_pass(model: UniVA, loader: DataLoader) -> tuple[float, PLMClock, torch.Tensor]:
    """Seconds for one pass, the PLM's rows and seconds, and the probabilities."""
    clock = PLMClock(model.encoders["text"].plm)
    start = time.perf_counter()
    probs = [model(batch)["probs"] for batch in loader]
    seconds = time.perf_counter() - start
    clock.remove()
    return seconds, clock, torch.cat(probs)


def compare_eval(model: UniVA, data, split, batch_size: int, repeats: int) -> dict:
    model.eval()
    variants = loaders(data, split, batch_size)
    order = torch.tensor([r for b in variants["dialogue_once"].sampler for r in b])
    with torch.no_grad():  # warm-up: allocators, thread pools, kernels
        for loader in variants.values():
            model(next(iter(loader)))
    times: dict[str, list[float]] = {name: [] for name in variants}
    plm_times: dict[str, list[float]] = {name: [] for name in variants}
    plm_rows, probs = {}, {}
    for _ in range(repeats):  # alternate, so both see the same machine load
        for name, loader in variants.items():
            seconds, clock, probs[name] = eval_pass(model, loader)
            times[name].append(seconds)
            plm_times[name].append(clock.seconds)
            plm_rows[name] = clock.rows
    error = (probs["dialogue_once"] - probs["per_utterance"][order]).abs().max().item()
    median = {name: statistics.median(t) for name, t in times.items()}
    plm_median = {name: statistics.median(t) for name, t in plm_times.items()}
    return {
        "rows": len(data),
        "dialogues": len(split.dialogues),
        "repeats": repeats,
        "plm_rows": plm_rows,
        "median_s": median,
        "plm_median_s": plm_median,
        "speedup": median["per_utterance"] / median["dialogue_once"],
        "plm_speedup": plm_median["per_utterance"] / plm_median["dialogue_once"],
        "max_abs_prob_difference": error,
    }


def train_epoch(model: UniVA, loader: DataLoader) -> float:
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)
    start = time.perf_counter()
    for batch in loader:
        loss = F.binary_cross_entropy_with_logits(model(batch)["logits"], batch["labels"])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return time.perf_counter() - start


def compare_train(text_encoder: str, name: str, data, split, batch_size: int, repeats: int):
    ids = [u.dialogue_id for u in split.utterances]
    variants = {
        "shuffled_rows": DataLoader(
            data, batch_size, sampler=DistributedSampler(data, 1, 0, seed=1), collate_fn=collate_trimmed
        ),
        "group_by_dialogue": DataLoader(
            data, batch_size, sampler=DialogueShuffleSampler(ids, batch_size, seed=1), collate_fn=collate_shared
        ),
    }  # fmt: skip
    times: dict[str, list[float]] = {variant: [] for variant in variants}
    train_epoch(network(text_encoder, name), variants["shuffled_rows"])  # warm-up
    for epoch in range(repeats):
        for variant, loader in variants.items():
            loader.sampler.set_epoch(epoch)
            times[variant].append(train_epoch(network(text_encoder, name), loader))
    median = {variant: statistics.median(t) for variant, t in times.items()}
    return {
        "rows": len(data),
        "batch_size": batch_size,
        "median_s": median,
        "speedup": median["shuffled_rows"] / median["group_by_dialogue"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny-dialogues", type=int, nargs=2, default=[60, 16], metavar=("MOSEI", "M3ED"))  # fmt: skip
    parser.add_argument("--base-dialogues", type=int, nargs=2, default=[4, 2], metavar=("MOSEI", "M3ED"))  # fmt: skip
    parser.add_argument("--eval-batch-size", type=int, default=32)
    parser.add_argument("--train-batch-size", type=int, default=12)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="1: steadier on shared cores")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    result: dict = {
        "machine": f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}",
        "eval_batch_size": args.eval_batch_size,
        "eval": {},
        "train_epoch_tiny": {},
    }
    with tempfile.TemporaryDirectory() as root:  # the base-sized models take 0.3 GB each
        for index, name in enumerate(DATASETS):
            run(name, index, Path(root), args, result)
    Path(__file__).with_name("dialogue_encoding.json").write_text(json.dumps(result, indent=2))


def run(name: str, index: int, root: Path, args: argparse.Namespace, result: dict) -> None:
    """Both comparisons for one dataset's dialogue style; figures go into `result`."""
    models = text_models(root, name)
    tokenizer = load_tokenizer(models["tiny"])
    for arch, count in (("tiny", args.tiny_dialogues[index]), ("base", args.base_dialogues[index])):  # fmt: skip
        split = dialogues(name, count)
        data = dataset(name, split, tokenizer)
        model = network(models[arch], name)
        repeats = args.repeats if arch == "tiny" else 1  # base: minutes per pass
        row = compare_eval(model, data, split, args.eval_batch_size, repeats)
        result["eval"][f"{name}_{arch}"] = row
        print(
            f"eval {name:<5} {arch:<4} {row['rows']:>4} rows / {row['dialogues']:>3} dialogues: "
            f"per utterance {row['median_s']['per_utterance']:.2f} s, dialogue once "
            f"{row['median_s']['dialogue_once']:.2f} s, {row['speedup']:.1f}x "
            f"(PLM alone {row['plm_speedup']:.1f}x, max |dprob| "
            f"{row['max_abs_prob_difference']:.1e})"
        )
    split = dialogues(name, args.tiny_dialogues[index])
    data = dataset(name, split, tokenizer)
    row = compare_train(models["tiny"], name, data, split, args.train_batch_size, args.repeats)
    result["train_epoch_tiny"][name] = row
    print(
        f"train {name:<5} tiny {row['rows']:>4} rows, batch {row['batch_size']}: shuffled rows "
        f"{row['median_s']['shuffled_rows']:.2f} s, group_by_dialogue "
        f"{row['median_s']['group_by_dialogue']:.2f} s, {row['speedup']:.1f}x"
    )


if __name__ == "__main__":
    main()
