"""`python -m univa.export ckpt_path=... out=DIR [push_to_hub=ORG/NAME]`: share a trained model.

Writes DIR with everything needed to use the checkpoint's network and nothing that runs code
(`univa.model.pretrained`): `model.safetensors`, `config.json` (network options, labels,
modalities and widths, thresholds, tuned ones included, data settings, format and univa
versions), a `README.md` model card (`univa.report.model_card`) and, on the PLM path,
`text_encoder/` (the PLM's Hugging Face config and tokenizer files). The folder appears whole or
not at all; an existing non-empty DIR is refused, and of two exports into one DIR one fails.
`push_to_hub=ORG/NAME` then uploads it with `huggingface_hub` (logged in with `hf auth login`
or `HF_TOKEN`). Load it with `univa.load_pretrained(DIR or ORG/NAME)`, or
`univa.predict pretrained=DIR`.
"""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from omegaconf import DictConfig

from univa import __version__
from univa.cli.command import tool_entry_point
from univa.constants import RESULTS_FILE, is_glove
from univa.errors import InputError, UsageError
from univa.files import building_folder, holds_something, write_text
from univa.report.model_card import model_card
from univa.safe_json import read_json

# torch, Lightning and transformers load when a model is exported, not at import: --help and
# --cfg job answer without them
if TYPE_CHECKING:
    from univa.training.lit_module import UniVALitModule

PROGRAM = "univa.export"
CARD_FILE = "README.md"
# overrides whose value is a local path (by key), and those naming the text encoder
PATH_KEYS = ("data_dir", "ckpt_path", "dir", "output_dir", "root_dir", "log_dir", "out")
TEXT_ENCODER_KEYS = ("text.encoder", "text_encoder")
# a hub model name as a PLM config records it: `name` or `org/name`, not a path
HUB_NAME = re.compile(r"^[\w-][\w.-]*(/[\w-][\w.-]*)?$")


def _free_folder(out: Path) -> Path:
    if holds_something(out):
        raise UsageError(f"out={out} exists and is not an empty folder; not writing into it")
    return out


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None


def _nested(value: Any, *keys: str) -> Any:
    """`value[k1][k2]...`, or None where a level is missing or not a mapping."""
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def shareable_override(override: str) -> str:
    """A training run's command-line override as a shared card shows it: a value that names a
    local file or folder becomes `<local path>` (a text encoder its shareable name)."""
    key, sep, value = override.partition("=")
    if not sep:
        return override
    if key.lstrip("+~").removeprefix("dataset.") in TEXT_ENCODER_KEYS:
        return f"{key}={shareable_text_encoder(value)}"
    local = (
        key.lstrip("+~").split(".")[-1] in PATH_KEYS
        or key.startswith(("paths.", "hydra."))
        or value.startswith(("/", "./", "../", "~"))
        or (os.sep in value and Path(value).exists())
    )
    return f"{key}=<local path>" if local else override


def run_record(path: Path) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """What the card says about the training run of the checkpoint `path` (its Hydra record,
    when the checkpoint is in its run's `checkpoints/`), and the run's results.json."""
    run: dict[str, Any] = {"checkpoint": path.name}
    run_dir = path.parent.parent if path.parent.name == "checkpoints" else None
    if run_dir is None:
        return run, None
    overrides = _read_yaml(run_dir / ".hydra" / "overrides.yaml")
    run["overrides"] = (
        [shareable_override(str(item)) for item in overrides]
        if isinstance(overrides, list)
        else None
    )
    run["preset"] = _nested(
        _read_yaml(run_dir / ".hydra" / "hydra.yaml"), "hydra", "runtime", "choices", "preset"
    )
    try:
        results = read_json(run_dir / RESULTS_FILE)
    except (OSError, ValueError):
        results = None
    return run, results if isinstance(results, dict) else None


def shareable_text_encoder(text_encoder: str) -> str:
    """How a shared folder names the text encoder, never by a local path: "glove" or a hub name
    as given; a local folder by the hub name its config records, else (or when it is gone) by
    its base name."""
    folder = Path(text_encoder)
    if is_glove(text_encoder) or (not folder.is_dir() and HUB_NAME.match(text_encoder)):
        return text_encoder
    if not folder.is_dir():  # a folder that moved since: its path still says whose disk it was
        return folder.name
    try:
        recorded = read_json(folder / "config.json")
        name = recorded.get("_name_or_path") if isinstance(recorded, dict) else None
    except (OSError, ValueError):  # no config (tokenizer files only), or not JSON
        name = None
    if isinstance(name, str) and HUB_NAME.match(name) and not Path(name).exists():
        return name
    return folder.resolve().name


def shareable_settings(settings: dict[str, Any] | None) -> dict[str, Any] | None:
    """A checkpoint's data settings without where its data lay: the dataset, its options and
    the text encoder by its shareable name (`dataset.data_dir=` says where on the user's side)."""
    if settings is None:
        return None
    shared = {key: value for key, value in settings.items() if key != "data_dir"}
    if "text_encoder" in shared:
        shared["text_encoder"] = shareable_text_encoder(str(shared["text_encoder"]))
    return shared


def exported_config(module: UniVALitModule, path: Path) -> dict[str, Any]:
    """The `config.json` of the checkpoint's network: no local path in it."""
    from univa.inference.trained_model import feature_spec
    from univa.model.pretrained import folder_config
    from univa.model.thresholds import Thresholds

    fixed = float(module.model.config.threshold)
    thresholds = Thresholds.of_checkpoint(path, module.labels, fixed)
    network = dataclasses.asdict(module.model.config)
    network["text_encoder"] = shareable_text_encoder(network["text_encoder"])
    settings = shareable_settings(module.data_settings)
    return folder_config(
        module.model,
        network=network,
        univa_version=__version__,
        thresholds=thresholds.exported(fixed, f"the run's {RESULTS_FILE}"),
        features=feature_spec(module.model.config, (settings or {}).get("features")),
        data_settings=settings,
        training={
            **dataclasses.asdict(module.loss_config),
            **dataclasses.asdict(module.optimizer_config),
        },
    )


def export(ckpt_path: str | Path, out: str | Path) -> Path:
    """Write the folder of the checkpoint `ckpt_path` at `out`; return `out`."""
    from univa.data.tokenization import load_tokenizer
    from univa.model.pretrained import CONFIG_FILE, TEXT_ENCODER_DIR, save_network
    from univa.training.from_checkpoint import load_module

    path, out = Path(ckpt_path), _free_folder(Path(out))
    if not path.is_file():
        raise UsageError(f"ckpt_path={path} is not a file")
    module = load_module(path)
    run, results = run_record(path)
    config = exported_config(module, path)
    text_encoder = module.model.config.text_encoder  # the data is read with its tokenizer
    tokenizer = None if is_glove(text_encoder) else load_tokenizer(text_encoder)
    # config.json last: no config.json, no loadable folder; exclusive: of two exports into one
    # new folder, one wins and the other fails
    with building_folder(out, last=CONFIG_FILE, exclusive=True) as tmp:
        save_network(module.model, tmp, config)
        if tokenizer is not None:
            _save_tokenizer(tokenizer, tmp / TEXT_ENCODER_DIR)
        write_text(tmp / CARD_FILE, model_card(config, run, results))
    return out


def _save_tokenizer(tokenizer: Any, folder: Path) -> None:
    """`tokenizer.save_pretrained(folder)`, a failed write raised as the `OSError` it is (the
    tokenizers library raises a bare `Exception`, e.g. on a full disk)."""
    try:
        tokenizer.save_pretrained(folder)
    except Exception as error:
        if type(error) is not Exception:
            raise
        raise OSError(str(error)) from error


def push_to_hub(folder: Path, repo_id: str) -> str:
    """Upload `folder` to the hub repository `repo_id` (created if absent); its URL."""
    from huggingface_hub import HfApi

    api = HfApi()
    try:
        api.create_repo(repo_id, exist_ok=True)
        commit = api.upload_folder(
            repo_id=repo_id, folder_path=folder, commit_message=f"univa {__version__} export"
        )
    except Exception as error:  # the hub client raises many types (auth, HTTP, offline)
        reason = " ".join(str(error).split())
        raise InputError(
            f"push_to_hub={repo_id}: upload failed ({type(error).__name__}: {reason}); "
            f"the folder {folder} is written, upload it again later"
        ) from error
    return str(getattr(commit, "commit_url", repo_id))


def export_command(cfg: DictConfig) -> None:
    """`python -m univa.export`: export `ckpt_path` to `out`, then upload it to `push_to_hub`."""
    from univa.model.pretrained import HUB_ID

    repo_id = None if cfg.push_to_hub is None else str(cfg.push_to_hub)
    if repo_id is not None and not HUB_ID.match(repo_id):
        raise UsageError(f"push_to_hub={repo_id}: expected a hub repository ORG/NAME")
    out = export(str(cfg.ckpt_path), str(cfg.out))
    print(f"exported {cfg.ckpt_path} to {out}; load it with univa.load_pretrained")
    if repo_id is not None:
        print(f"uploaded to {push_to_hub(out, repo_id)}")


main = tool_entry_point(PROGRAM, export_command)


if __name__ == "__main__":
    main()
