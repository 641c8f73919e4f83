"""Hugging Face folders loaded without running any code they ship.

A tokenizer or model folder may carry an `auto_map` pointing at its own `tokenization_*.py` or
`modeling_*.py`; left to decide, transformers asks on stdin whether to run it, and a `y` runs
a stranger's Python. univa passes `trust_remote_code=False` to every transformers load, and
refuses such a local folder first, naming the file and the key, so that a dataset's
`text_encoder` or an exported model's `text_encoder/` can never run code.
"""

from __future__ import annotations

from pathlib import Path

from univa.errors import InputError
from univa.safe_json import read_json

CONFIG_FILES = ("config.json", "tokenizer_config.json")  # what transformers reads auto_map from


def _known_model_types() -> set[str]:
    from transformers import CONFIG_MAPPING

    return set(CONFIG_MAPPING.keys())


def refuse_custom_code(name_or_path: str | Path) -> None:
    """Raise `InputError` when the local folder `name_or_path` asks for code of its own: an
    `auto_map`, or a `model_type` transformers does not know. A hub name is left to
    transformers, which refuses it under `trust_remote_code=False`."""
    folder = Path(name_or_path)
    if not folder.is_dir():
        return
    for name in CONFIG_FILES:
        path = folder / name
        if not path.is_file():
            continue
        try:
            config = read_json(path)
        except OSError as error:
            raise InputError(f"cannot read {path} ({error})") from error
        if not isinstance(config, dict):
            raise InputError(f"{path}: must hold a JSON object, got {type(config).__name__}")
        if "auto_map" in config:
            raise InputError(
                f"{path}: key 'auto_map' asks to run code shipped in the folder; univa never "
                "runs it (use a model transformers knows, without 'auto_map')"
            )
        model_type = config.get("model_type") if name == "config.json" else None
        if model_type is not None and str(model_type) not in _known_model_types():
            raise InputError(
                f"{path}: key 'model_type' is {model_type!r}, not a model transformers knows; "
                "univa never runs code shipped in the folder"
            )


def load_text_model_config(folder: Path):
    """The Hugging Face config of the text model in `folder`, no code of the folder run."""
    from transformers import AutoConfig

    refuse_custom_code(folder)
    return AutoConfig.from_pretrained(folder, trust_remote_code=False)
