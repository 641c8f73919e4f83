"""The PLM of `text=roberta` on a folder dataset: the one its manifest names (`text_encoder`),
or one given with `text.encoder=`; roberta-base, the text group's default, is MOSEI's PLM and
would silently read a dataset in another language, so without either the run is refused."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from hydra.core.override_parser.types import Override
from omegaconf import DictConfig, OmegaConf

from univa.conf import CONFIG_DIR
from univa.data.generic.format import read_manifest
from univa.errors import InputError, UniVAError

ENCODER_KEYS = ("text.encoder", "dataset.text_encoder")


@cache
def group_default_encoder() -> str:
    """`encoder` of conf/text/roberta.yaml."""
    return str(OmegaConf.load(Path(CONFIG_DIR) / "text" / "roberta.yaml").encoder)


def choose_folder_text_encoder(
    cfg: DictConfig, choices: DictConfig, overrides: list[Override]
) -> None:
    """With `dataset=folder text=roberta` and no encoder chosen (on the command line or by a
    preset), set `text.encoder` to the manifest's `text_encoder`, or refuse in one line."""
    if choices.get("dataset") != "folder" or choices.get("text") != "roberta":
        return
    if {o.key_or_group for o in overrides} & set(ENCODER_KEYS):
        return
    if cfg.text.encoder != group_default_encoder():  # a preset chose one
        return
    data_dir = cfg.dataset.get("data_dir")
    try:
        encoder = read_manifest(data_dir).get("text_encoder")
    except UniVAError:
        return  # the data module reports the folder's problems
    if not encoder:
        raise InputError(
            f"text=roberta on dataset=folder needs text.encoder=<hub name or local folder of a "
            f'PLM>: the manifest of {data_dir} names no text_encoder (add "text_encoder" to '
            "its manifest.json to make one the default)"
        )
    cfg.text.encoder = encoder
