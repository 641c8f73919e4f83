"""A trained UniVA network as a self-describing folder anyone can load: tensors and JSON, no pickle.

`univa.export` writes the folder from a checkpoint, to be read back from a local
folder or a Hugging Face hub id (fetched with `huggingface_hub.snapshot_download`); `load_network`
builds its network (`univa.inference.load_pretrained` wraps it with what predicting needs). The
folder:

- `model.safetensors`: the network's tensors only (a PLM's included), shared tensors once;
- `config.json`: `format`, `format_version`, the `UniVAConfig` fields (`network`), the thresholds
  to decide at, the checkpoint's data settings and what else using the network needs;
- `text_encoder/` (PLM path): the PLM's Hugging Face `config.json` and its tokenizer files. The
  PLM is built from that config and takes its weights from `model.safetensors`, so loading reads
  nothing else and never reaches for the original text model.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save

from univa.constants import is_glove
from univa.custom_code import load_text_model_config
from univa.errors import InputError, InputFileNotFoundError
from univa.files import atomic_write, write_text
from univa.model.config import UniVAConfig
from univa.model.finite import refuse_non_finite_weights
from univa.model.folder_schema import check_folder_config
from univa.model.univa import UniVA
from univa.safe_json import read_json

FORMAT = "univa-pretrained"
FORMAT_VERSION = 1  # raised when a folder written now would be misread by an older univa
WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
TEXT_ENCODER_DIR = "text_encoder"
HUB_ID = re.compile(r"^[\w.-]+/[\w.-]+$")  # `org/name`, as the hub spells repositories


def folder_config(model: UniVA, **entries: Any) -> dict[str, Any]:
    """The `config.json` of `model`: its format, its `UniVAConfig` fields and `entries`."""
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "network": dataclasses.asdict(model.config),
        **entries,
    }


def network_tensors(model: UniVA) -> dict[str, torch.Tensor]:
    """`model`'s state dict with each shared (tied) tensor under its first name only, as
    safetensors requires; loading fills the other names from it (`load_weights`)."""
    tensors: dict[str, torch.Tensor] = {}
    seen = set()
    for name, tensor in model.state_dict().items():
        key = (tensor.data_ptr(), tuple(tensor.shape), tensor.stride(), tensor.dtype)
        if tensor.numel() and key in seen:
            continue
        seen.add(key)
        tensors[name] = tensor.detach().contiguous()
    return tensors


def save_network(model: UniVA, folder: Path, config: dict[str, Any]) -> None:
    """Write `model`'s tensors, `config` and, on the PLM path, the PLM's Hugging Face config
    into `folder` (the tokenizer files are the caller's: they belong to the data side)."""
    with atomic_write(folder / WEIGHTS_FILE) as file:
        file.write(save(network_tensors(model), metadata={"format": "pt"}))
    write_text(folder / CONFIG_FILE, json.dumps(config, indent=2) + "\n")
    if "text" in model.encoders and hasattr(model.encoders["text"], "plm"):
        model.encoders["text"].plm.config.save_pretrained(folder / TEXT_ENCODER_DIR)


def resolve(source: str | Path) -> Path:
    """The local folder of `source`: a folder as it is, a hub id `org/name` downloaded (or found
    in the cache) with `huggingface_hub`."""
    folder = Path(source)
    if folder.is_dir():
        return folder
    if folder.exists() or not HUB_ID.match(str(source)):
        raise InputFileNotFoundError(
            f"{source}: not a folder written by univa.export, nor a hub id like org/name"
        )
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(repo_id=str(source), library_name="univa"))
    except Exception as error:  # the hub client raises many types (offline, HTTP, missing repo)
        reason = " ".join(str(error).split())
        raise InputFileNotFoundError(
            f"{source}: no such local folder, and the hub could not give it "
            f"({type(error).__name__}: {reason})"
        ) from error


def read_config(folder: Path) -> dict[str, Any]:
    """`folder/config.json`, checked to be a univa folder of a format this univa reads, every
    key and value as this univa writes them (`univa.model.folder_schema`)."""
    path = folder / CONFIG_FILE
    try:
        config = read_json(path)
    except FileNotFoundError:
        raise InputFileNotFoundError(
            f"{folder}: no {CONFIG_FILE}; not a folder written by univa.export"
        ) from None
    except (OSError, ValueError) as error:
        raise InputError(f"cannot read {path} ({error})") from error
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise InputError(f"{path}: not a univa model (its format is not {FORMAT!r})")
    version = config.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise InputError(f"{path}: format_version {version!r} is not a version number")
    if version > FORMAT_VERSION:
        raise InputError(
            f"{path}: format_version {version} is newer than this univa reads ({FORMAT_VERSION}); "
            "upgrade univa to load it"
        )
    check_folder_config(config, path)
    return config


def _network_config(folder: Path, options: dict[str, Any]) -> UniVAConfig:
    """The `UniVAConfig` of the folder (its options checked by `read_config`), its PLM (if any)
    read from `text_encoder/`."""
    config = UniVAConfig(**options)
    if is_glove(config.text_encoder):
        return config
    return dataclasses.replace(config, text_encoder=str(folder / TEXT_ENCODER_DIR))


def _listed(names: list[str], limit: int = 3) -> str:
    return ", ".join(names[:limit]) + (
        f" and {len(names) - limit} more" if len(names) > limit else ""
    )


def load_weights(model: UniVA, path: Path) -> None:
    """Fill `model` with the tensors of `path`; weights that do not fit it are refused whole."""
    try:
        state = load_file(path)
    except FileNotFoundError:
        raise InputFileNotFoundError(f"{path.parent}: no {path.name}") from None
    except (OSError, SafetensorError) as error:
        raise InputError(f"cannot read {path} ({' '.join(str(error).split())})") from error
    refuse_non_finite_weights(state, path)
    own = model.state_dict()
    stored_at = {tensor.data_ptr() for name, tensor in own.items() if name in state}
    problems = []
    missing = sorted(k for k in set(own) - set(state) if own[k].data_ptr() not in stored_at)
    unexpected = sorted(set(state) - set(own))
    reshaped = [
        f"{k} {tuple(state[k].shape)} for {tuple(own[k].shape)}"
        for k in sorted(set(state) & set(own))
        if state[k].shape != own[k].shape
    ]
    if missing:
        problems.append(f"missing {_listed(missing)}")
    if unexpected:
        problems.append(f"unexpected {_listed(unexpected)}")
    if reshaped:
        problems.append(f"shapes {_listed(reshaped)}")
    if problems:
        raise InputError(
            f"{path} does not fit the network of its {CONFIG_FILE}: " + "; ".join(problems)
        )
    model.load_state_dict(state, strict=False)  # the checks above are the strict ones


def load_network(source: str | Path) -> tuple[UniVA, dict[str, Any]]:
    """The network of a folder written by `univa.export` (or a hub id), ready, in eval mode,
    with the folder's whole `config.json`. On the PLM path its `config.text_encoder` names the
    folder's `text_encoder/`."""
    folder = resolve(source)
    stored = read_config(folder)
    config = _network_config(folder, stored["network"])
    text_model_config = None
    if not is_glove(config.text_encoder) and "text" in config.modalities:
        try:
            text_model_config = load_text_model_config(folder / TEXT_ENCODER_DIR)
        except (OSError, ValueError) as error:
            raise InputFileNotFoundError(
                f"{folder / TEXT_ENCODER_DIR}: cannot read the text model's config ({error})"
            ) from error
    try:
        model = UniVA(config, text_model_config)
    except (TypeError, ValueError, KeyError, RuntimeError) as error:
        raise InputError(
            f"{folder / CONFIG_FILE}: its network options build no UniVA network "
            f"({type(error).__name__}: {' '.join(str(error).split())})"
        ) from error
    load_weights(model, folder / WEIGHTS_FILE)
    model.eval()
    return model, stored
