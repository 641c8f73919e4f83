"""Checkpoints written by the original UniVA code (docs/original-checkpoints.md §3): loaded into
`UniVALitModule` (`univa.reference.load_reference_checkpoint`, its public name), or converted
into a Lightning checkpoint (`python -m univa.convert_reference`).

The original saves `{"model": state_dict, "config": argparse.Namespace}`. Sizes are read from
the state dict's shapes, options from the saved config, and every original weight is renamed
onto univa's network (Q, K, V fused into one `qkv`), strictly: nothing left over, nothing
missing. The result gives the original's predictions and losses on the same batch.

A converted checkpoint loads with `UniVALitModule.load_from_checkpoint(OUT)` and
`weights_only=True` (all hyper-parameters are plain values), so it evaluates or fine-tunes like
one trained here. The source is read with `weights_only=True` too: a file whose pickle would run
code is refused, whatever TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD says. A converted checkpoint records
no data settings: evaluate and predict ask for the dataset overrides.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import lightning
import torch

from univa.constants import GLOVE, MODALITIES, is_glove
from univa.data.records import RELEASED
from univa.errors import InputError, InputFileNotFoundError
from univa.files import atomic_write
from univa.training.checkpoint_io import load_error_reason, save_checkpoint_file
from univa.training.lit_module import UniVALitModule

# the original's `DATASET` names one of the released datasets, whose record holds its labels
DATASET_LABELS = {name: list(record.labels) for name, record in RELEASED.items()}
# The original weighs MOSEI's text 3x inside the contrastive loss (its `models.py`).
CONTRASTIVE_WEIGHTS = {
    "MOSEI": {"text": 3.0, "audio": 1.0, "vision": 1.0},
    "M3ED": {"text": 1.0, "audio": 1.0, "vision": 1.0},
}
# Saved config attribute -> (univa option, cast), all required.
CONFIG_OPTIONS: dict[str, tuple[str, type]] = {
    "num_attention_heads": ("num_heads", int),
    "layer_norm_eps": ("layer_norm_eps", float),
    "hidden_dropout_prob": ("hidden_dropout", float),
    "attention_probs_dropout_prob": ("attention_dropout", float),
    "fc_dropout": ("fc_dropout", float),
    "final_dropout": ("final_dropout", float),
    "thres_kl": ("threshold", float),
    "labelSimilar_regulari": ("label_prior", bool),
    "thres_dist": ("delta", float),
    "temp": ("temperature", float),
    "alpha": ("alpha", float),
    "SupConLoss": ("contrastive", bool),
    "vaAug": ("va_positives", bool),
}
# Optimisation settings, carried over when the saved config has them (for fine-tuning).
TRAINING_OPTIONS: dict[str, tuple[str, type]] = {
    "trg_lr": ("lr", float),
    "warm_up": ("warmup_ratio", float),
    "weight_decay": ("weight_decay", float),
}

_M = r"(text|audio|vision)"
_LAYER = rf"{_M}_utt_level_transformer\.layer\.(\d+)\."
_QKV = re.compile(rf"{_LAYER}transformer_self_attention\.selfatt\.(query|key|value)\.(weight|bias)")
QKV_ORDER = ("query", "key", "value")
# Original key pattern -> univa network key (under `module.model`), for everything but Q/K/V.
KEY_RULES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), target)
    for pattern, target in (
        (r"(audio|vision)_linear\.0\.(weight|bias)", r"encoders.\1.projection.0.\2"),
        (r"text_linear_(?:glove|plm)\.0\.(weight|bias)", r"encoders.text.projection.0.\1"),
        (r"text_plm\.(.+)", r"encoders.text.plm.\1"),
        (rf"{_M}_utt_level_transformer\.position_embeddings\.weight", r"encoders.\1.positions.weight"),
        (rf"{_LAYER}transformer_self_attention\.dense_norm\.dense\.(weight|bias)", r"encoders.\1.layers.\2.attn_out.\3"),
        (rf"{_LAYER}transformer_self_attention\.dense_norm\.LayerNorm\.(weight|bias)", r"encoders.\1.layers.\2.attn_norm.\3"),
        (rf"{_LAYER}intermediate\.dense\.(weight|bias)", r"encoders.\1.layers.\2.ffn_in.\3"),
        (rf"{_LAYER}output\.dense\.(weight|bias)", r"encoders.\1.layers.\2.ffn_out.\3"),
        (rf"{_LAYER}output\.LayerNorm\.(weight|bias)", r"encoders.\1.layers.\2.ffn_norm.\3"),
        (rf"{_M}_attention_mapping\.query_vector", r"encoders.\1.pooling.query"),
        (rf"{_M}_attention_mapping\.(P|Q)\.(weight|bias)", r"encoders.\1.pooling.\2.\3"),
        (rf"{_M}_attention_mapping\.value\.(weight|bias)", r"encoders.\1.pooling.score.\2"),
        (r"fc\.0\.(weight|bias)", r"classifier.0.\1"),
        (r"label_similar_matrix", r"label_similarity"),
    )
)  # fmt: skip


def _read(path: Path) -> tuple[dict[str, torch.Tensor], argparse.Namespace]:
    """The state dict and config of an original checkpoint, loaded with `weights_only=True`
    (passed here, so TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD cannot make the load run code)."""
    if not path.is_file():
        raise InputFileNotFoundError(f"original UniVA checkpoint {path} does not exist")
    expected = "a file saved by the original UniVA code: torch.save({'model': state_dict, 'config': argparse.Namespace})"
    try:
        with torch.serialization.safe_globals([argparse.Namespace]):
            payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises several types for foreign or unsafe files
        raise InputError(f"{path} is not {expected} ({load_error_reason(err)})") from err
    if not (
        isinstance(payload, Mapping)
        and isinstance(payload.get("model"), Mapping)
        and isinstance(payload.get("config"), argparse.Namespace)
    ):
        found = sorted(payload) if isinstance(payload, Mapping) else type(payload).__name__
        raise InputError(f"{path} is not {expected}; found {found}")
    return dict(payload["model"]), payload["config"]


def _config_value(config: argparse.Namespace, name: str, path: Path) -> Any:
    if not hasattr(config, name):
        raise InputError(f"{path}: the saved config has no attribute {name!r}, which UniVA needs")
    return getattr(config, name)


def _shape(state: dict[str, torch.Tensor], key: str, path: Path) -> torch.Size:
    if key not in state:
        raise InputError(f"{path}: the state dict has no {key!r}; is it a UniVA model?")
    return state[key].shape


def _text_encoder(config: argparse.Namespace, text_model: str | Path | None, path: Path) -> str:
    """The `text_encoder` option: glove, or the PLM folder (`text_model`, else the saved path)."""
    name = _config_value(config, "text_plm_checkpoint", path)
    if is_glove(name):
        return GLOVE
    saved = _config_value(config, "text_plm_path", path)
    folder = Path(text_model if text_model is not None else saved)
    if not folder.is_dir():
        raise InputFileNotFoundError(
            f"{path}: the text model folder {str(folder)!r} does not exist (saved text_plm_path "
            f"{saved!r} for {name!r}, text_model {text_model!r}); pass text_model (text_model=DIR on "
            "the command line) naming a local folder with that model"
        )
    return str(folder.resolve())


def _num_layers(state: dict[str, torch.Tensor], modality: str) -> int:
    """Highest `layer.N` + 1, so a gap surfaces as missing weights rather than fewer layers."""
    pattern = re.compile(rf"{modality}_utt_level_transformer\.layer\.(\d+)\.")
    indices = [int(m.group(1)) for key in state if (m := pattern.match(key))]
    return max(indices, default=-1) + 1


def module_options(
    state: dict[str, torch.Tensor], config: argparse.Namespace, text_encoder: str, path: Path
) -> dict[str, Any]:
    """`UniVALitModule` arguments: sizes from the weights' shapes, options from the config."""
    dataset = _config_value(config, "DATASET", path)
    if dataset not in DATASET_LABELS:
        raise InputError(
            f"{path}: unknown DATASET {dataset!r}; expected one of {list(DATASET_LABELS)}"
        )
    labels = DATASET_LABELS[dataset]
    num_labels, fused = _shape(state, "fc.0.weight", path)
    if num_labels != len(labels):
        raise InputError(
            f"{path}: fc.0.weight has {num_labels} rows but {dataset} has {len(labels)} labels"
        )
    features = [m for m in MODALITIES if m != "text" or is_glove(text_encoder)]
    projections = {m: "text_linear_glove" if m == "text" else f"{m}_linear" for m in features}
    ffn = re.compile(rf"{_LAYER}intermediate\.dense\.weight")  # not the PLM's own layers
    ffn_sizes = [value.shape[0] for key, value in state.items() if ffn.fullmatch(key)]
    options: dict[str, Any] = {
        "labels": list(labels),
        "input_dims": {m: _shape(state, f"{p}.0.weight", path)[1] for m, p in projections.items()},
        "max_lens": {
            m: _shape(state, f"{m}_utt_level_transformer.position_embeddings.weight", path)[0]
            for m in features
        },
        "num_layers": {m: _num_layers(state, m) for m in features},
        "text_encoder": text_encoder,
        "modalities": list(MODALITIES),  # the original always uses all three
        "hidden_size": fused // len(MODALITIES),
        # The original's BCE branch still scores with KL and thresholds exp(sigmoid); univa's
        # "bce" is the consistent version of it. The paper's runs all use KL.
        "loss_mode": "kl" if _config_value(config, "KLDivLoss", path) else "bce",
        "contrastive_weights": dict(CONTRASTIVE_WEIGHTS[dataset]),
    }
    if ffn_sizes:  # without any transformer layer the FFN size is moot
        options["ffn_size"] = ffn_sizes[0]
    for name, (option, cast) in CONFIG_OPTIONS.items():
        options[option] = cast(_config_value(config, name, path))
    for name, (option, cast) in TRAINING_OPTIONS.items():
        if hasattr(config, name):
            options[option] = cast(getattr(config, name))
    return options


def _rename(key: str) -> str | None:
    """univa's name for an original key (not Q/K/V), or None when there is none."""
    for pattern, target in KEY_RULES:
        if match := pattern.fullmatch(key):
            return match.expand(target)
    return None


def convert_state_dict(state: dict[str, torch.Tensor], path: Path) -> dict[str, torch.Tensor]:
    """Rename every original key onto univa's network; Q, K, V concatenate into `qkv`."""
    converted: dict[str, torch.Tensor] = {}
    qkv_parts: dict[str, dict[str, torch.Tensor]] = {}
    unknown = []
    for key, value in state.items():
        if match := _QKV.fullmatch(key):
            modality, layer, part, kind = match.groups()
            qkv_parts.setdefault(f"encoders.{modality}.layers.{layer}.qkv.{kind}", {})[part] = value
        elif (target := _rename(key)) is not None:
            converted[target] = value
        else:
            unknown.append(key)
    if unknown:
        raise InputError(f"{path}: state-dict keys with no univa counterpart: {sorted(unknown)}")
    for target, parts in qkv_parts.items():
        absent = [part for part in QKV_ORDER if part not in parts]
        if absent:
            raise InputError(f"{path}: {target} lacks the original selfatt {absent} weights")
        converted[target] = torch.cat([parts[part] for part in QKV_ORDER])
    return converted


def load_reference_checkpoint(
    path: str | Path, text_model: str | Path | None = None
) -> UniVALitModule:
    """An original UniVA checkpoint as `UniVALitModule`, in eval mode, weights loaded strictly.

    `text_model` is a local folder holding the PLM (its tokenizer is not needed); it replaces the
    saved `text_plm_path`, and is required when that path does not exist here.
    """
    path = Path(path)
    state, config = _read(path)
    converted = convert_state_dict(state, path)  # before building: a foreign file fails fast
    text_encoder = _text_encoder(config, text_model, path)
    module = UniVALitModule(**module_options(state, config, text_encoder, path))
    expected = module.model.state_dict()
    missing, unexpected = sorted(expected.keys() - converted), sorted(converted.keys() - expected)
    if missing or unexpected:
        raise InputError(
            f"{path}: weights do not fit univa's network; missing: {missing}; unexpected: {unexpected}"
        )
    try:
        module.model.load_state_dict(converted, strict=True)
    except RuntimeError as err:  # shape mismatches
        raise InputError(f"{path}: weights do not fit univa's network: {err}") from err
    return module.eval()


def convert(src: str | Path, out: str | Path, text_model: str | Path | None = None) -> Path:
    """Write the converted checkpoint to `out`, which must not exist yet; return its path."""
    out = Path(out)
    if out.exists():
        raise FileExistsError(f"{out} exists; not overwriting it")
    module = load_reference_checkpoint(src, text_model)
    checkpoint = {
        "state_dict": module.state_dict(),
        "hyper_parameters": dict(module.hparams),
        "pytorch-lightning_version": lightning.__version__,  # Lightning's migration reads it
    }
    with atomic_write(out, replace=False) as file:  # nor one created meanwhile
        save_checkpoint_file(checkpoint, file)
    return out
