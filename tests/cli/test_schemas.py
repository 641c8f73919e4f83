"""The typed configs (issue 12 item 2): every default has one home, and a misspelt key or a
wrong type fails while Hydra composes, before any data is read."""

from __future__ import annotations

import dataclasses
import inspect
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.errors import ConfigCompositionException
from omegaconf import OmegaConf

from univa.cli import CONFIG_DIR
from univa.cli.command import composition_message
from univa.cli.schemas import TextOptions
from univa.data.datamodule import UniVADataModule
from univa.data.synthetic_datamodule import SyntheticDataModule
from univa.model.config import DATA_FIELDS
from univa.report.analysis import AnalysisOptions
from univa.training.lit_module import OPTION_CLASSES, UniVALitModule

CONF = Path(CONFIG_DIR)
SKIP = {"defaults", "_target_"}


def field_defaults(*classes: type) -> dict:
    """Each option's default, as its dataclass defines it."""
    defaults = {}
    for cls in classes:
        for f in dataclasses.fields(cls):
            no_factory = f.default_factory is dataclasses.MISSING
            defaults[f.name] = f.default if no_factory else f.default_factory()
    return defaults


def constructor_defaults(cls: type) -> dict:
    defaults = {}
    for klass in reversed(cls.__mro__):
        if "__init__" in vars(klass) and issubclass(klass, UniVADataModule):
            for p in inspect.signature(klass.__init__).parameters.values():
                if p.default is not p.empty:
                    defaults[p.name] = p.default
    return defaults


def compose_group(name: str):
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
            return compose(config_name=name)
    finally:
        GlobalHydra.instance().clear()


def test_each_model_key_defaults_to_its_dataclass_field() -> None:
    expected = {k: v for k, v in field_defaults(*OPTION_CLASSES).items() if k not in DATA_FIELDS}
    model = OmegaConf.to_container(compose_group("model/univa").model)
    assert model.pop("_target_") == "univa.UniVALitModule"
    assert model == expected
    # the flat keys docs/api.md §2.2 names, plus the optimiser's
    for key in ("temperature", "alpha", "delta", "threshold", "label_prior", "lr", "adam_eps"):
        assert key in model


@pytest.mark.parametrize(
    ("yaml", "defaults"),
    [
        ("model/univa.yaml", field_defaults(*OPTION_CLASSES)),
        ("dataset/mosei.yaml", constructor_defaults(UniVADataModule)),
        ("dataset/m3ed.yaml", constructor_defaults(UniVADataModule)),
        ("dataset/synthetic.yaml", constructor_defaults(SyntheticDataModule)),
        ("text/glove.yaml", field_defaults(TextOptions)),
        ("text/roberta.yaml", field_defaults(TextOptions)),
    ],
)
def test_no_yaml_default_repeats_its_schema(yaml: str, defaults: dict) -> None:
    raw = OmegaConf.to_container(OmegaConf.load(CONF / yaml))
    repeated = {k: v for k, v in raw.items() if k not in SKIP and defaults.get(k, object()) == v}
    assert repeated == {}
    assert raw["defaults"][0].startswith("/schema/")


def test_the_analysis_block_is_its_dataclass() -> None:
    raw = OmegaConf.load(CONF / "train.yaml")
    assert "analysis" not in raw  # its defaults are AnalysisOptions'
    cfg = compose_group("train")
    assert OmegaConf.get_type(cfg.analysis) is AnalysisOptions
    assert OmegaConf.to_object(cfg.analysis) == AnalysisOptions()


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("model.temperature=abc", "model.temperature=abc: expected a number"),
        ("model.lr=fast", "model.lr=fast: expected a number"),
        ("model.num_layers.txt=2", "did you mean model.num_layers.text?"),
        ("dataset.batch_size=8.5", "dataset.batch_size=8.5: expected an integer"),
        ("dataset.va_nrom=paper", "did you mean dataset.va_norm?"),
        ("text.encodr=x", "did you mean text.encoder?"),
        ("analysis.enabled=perhaps", "analysis.enabled=perhaps: expected true or false"),
        ("analysis.thresholds.steps=x", "analysis.thresholds.steps=x: expected an integer"),
        ("analysis.thresholds.setps=9", "did you mean analysis.thresholds.steps?"),
    ],
)
def test_a_wrong_key_or_type_fails_at_composition(compose_cfg, override: str, message) -> None:
    with pytest.raises(ConfigCompositionException) as failure:
        compose_cfg(override)
    assert message in composition_message(failure.value)


def test_presets_and_overrides_keep_their_types(compose_cfg) -> None:
    cfg = compose_cfg("dataset=mosei", "text=roberta", "model.temperature=1")
    assert cfg.model.temperature == 1.0 and isinstance(cfg.model.temperature, float)
    assert cfg.model.contrastive_weights.text == 3.0  # the paper's, from the preset
    assert cfg.dataset.batch_size == 12 and cfg.text.encoder == "roberta-base"


def test_flat_options_build_the_three_configs() -> None:
    module = UniVALitModule(
        labels=["a", "b"],
        input_dims={"text": 4, "audio": 3, "vision": 2},
        max_lens={"text": 5, "audio": 5, "vision": 5},
        hidden_size=8,
        num_heads=2,
        ffn_size=8,
        lr=1e-3,
        alpha=0.3,
    )
    assert module.optimizer_config.lr == 1e-3 and module.optimizer_config.adam_eps == 1e-6
    assert module.loss_config.alpha == 0.3 and module.model.config.hidden_size == 8
    assert all(type(v) in (str, int, float, bool, list, dict) for v in module.hparams.values())
