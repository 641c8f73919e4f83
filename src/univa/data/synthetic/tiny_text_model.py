"""A tiny, randomly initialised text model with a tokenizer trained on a corpus (docs/method.md §4).

The PLM text path needs `AutoTokenizer` / `AutoModel` folders, and the real ones (roberta-base,
chinese-roberta-wwm-ext) cannot be downloaded offline. This writes a stand-in of the same
architecture and tokenizer style, small enough to train on CPU in seconds, as a normal,
self-contained Hugging Face folder: `tokenizer.json`, `tokenizer_config.json`, `config.json`,
`model.safetensors`. The tokenizer files alone also load (docs/api.md §2.3).
"""

from __future__ import annotations

import json
import string
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
from tokenizers.trainers import BpeTrainer
from transformers import BertConfig, BertModel, PreTrainedTokenizerFast, RobertaConfig, RobertaModel
from transformers.utils import logging as hf_logging

from univa.files import building_folder

TEXT_MODEL_STYLES = ("roberta", "bert")
VOCAB_CAP = 1000
ASCII = string.ascii_lowercase + string.digits + string.punctuation
TINY = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64)
# Special tokens in id order, so ids match the real checkpoints (roberta: <s> 0, <pad> 1, </s> 2;
# bert: [PAD] 0), and the role each plays.
SPECIALS = {
    "roberta": {"<s>": ("bos", "cls"), "<pad>": ("pad",), "</s>": ("eos", "sep"), "<unk>": ("unk",),
                "<mask>": ("mask",)},
    "bert": {"[PAD]": ("pad",), "[UNK]": ("unk",), "[CLS]": ("cls",), "[SEP]": ("sep",),
             "[MASK]": ("mask",)},
}  # fmt: skip


def _wordpiece_vocab(sentences: Iterable[str], tok: Tokenizer) -> dict[str, int]:
    """Every character (alone and as `##` piece), then whole words by count, ties by spelling.

    Lowercase ASCII letters, digits and punctuation are always in, so English text outside the
    corpus splits into pieces instead of becoming `[UNK]`. Built from counts because the
    `tokenizers` WordPiece trainer numbers its `##` pieces in hash-map order and so is not
    deterministic (huggingface/tokenizers#1794).
    """
    normalize, split = tok.normalizer.normalize_str, tok.pre_tokenizer.pre_tokenize_str
    counts = Counter(word for s in sentences for word, _ in split(normalize(s)))
    chars = sorted({c for word in counts for c in word} | set(ASCII))
    words = sorted(counts, key=lambda w: (-counts[w], w))
    tokens = dict.fromkeys([*SPECIALS["bert"], *chars, *(f"##{c}" for c in chars), *words])
    return {token: i for i, token in enumerate(list(tokens)[:VOCAB_CAP])}


def _train_tokenizer(sentences: Iterable[str], style: str) -> PreTrainedTokenizerFast:
    """Byte-level BPE like roberta-base, or lowercasing WordPiece like BERT, fitted to the corpus."""
    if style == "roberta":
        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        trainer = BpeTrainer(
            vocab_size=VOCAB_CAP,
            special_tokens=list(SPECIALS[style]),
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),  # every byte: nothing unknown
            show_progress=False,
        )
        tok.train_from_iterator(sentences, trainer)
        tok.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0))
    else:
        tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
        tok.normalizer = normalizers.BertNormalizer(lowercase=True)
        tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        tok.model = models.WordPiece(_wordpiece_vocab(sentences, tok), unk_token="[UNK]")
        tok.decoder = decoders.WordPiece()
        tok.post_processor = processors.BertProcessing(("[SEP]", 3), ("[CLS]", 2))
    roles = {f"{role}_token": token for token, rs in SPECIALS[style].items() for role in rs}
    return PreTrainedTokenizerFast(tokenizer_object=tok, model_max_length=512, **roles)


def _init_model(style: str, vocab_size: int, seed: int) -> RobertaModel | BertModel:
    """Random weights from `seed` alone; the caller's global torch RNG is left as it was."""
    if style == "roberta":  # as roberta-base: <pad> 1, positions counted from pad id + 1
        config = RobertaConfig(vocab_size=vocab_size, max_position_embeddings=514, type_vocab_size=1,
                               layer_norm_eps=1e-5, pad_token_id=1, bos_token_id=0, eos_token_id=2,
                               **TINY)  # fmt: skip
    else:
        config = BertConfig(
            vocab_size=vocab_size, max_position_embeddings=512, pad_token_id=0, **TINY
        )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return RobertaModel(config) if style == "roberta" else BertModel(config)


@contextmanager
def _no_progress_bar() -> Iterator[None]:
    """Turn transformers' progress bars off, then back to what they were."""
    enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if enabled:
            hf_logging.enable_progress_bar()


def write_tiny_text_model(
    out_dir: str | Path, sentences: Iterable[str], style: str = "roberta", seed: int = 1111
) -> Path:
    """Write a tiny `style` text model + tokenizer trained on `sentences` to `out_dir`; return it.

    Written into a temporary sibling and moved into place, so an interrupted run leaves no
    half folder; a non-empty `out_dir` is never overwritten.
    """
    if style not in TEXT_MODEL_STYLES:
        raise ValueError(f"unknown style {style!r}; valid values: {', '.join(TEXT_MODEL_STYLES)}")
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} exists and is not empty; not overwriting it")
    tokenizer = _train_tokenizer(sentences, style)
    model = _init_model(style, len(tokenizer), seed)
    with building_folder(out) as tmp:
        tokenizer.save_pretrained(tmp)
        # transformers 5 records its backend name; the generic name also loads on transformers 4.
        config_path = tmp / "tokenizer_config.json"
        config = json.loads(config_path.read_text(encoding="utf-8"))
        config["tokenizer_class"] = "PreTrainedTokenizerFast"
        config_path.write_text(json.dumps(config, indent=2), encoding="utf-8")
        with _no_progress_bar():  # a one-shard model: transformers' bar is only noise
            model.save_pretrained(tmp)
    return out
