"""The typed configs (issue 12 item 2, issue 21 items 5 and 6): every default has one home, the
option dataclasses, and a misspelt key or a wrong type fails while Hydra composes, before any
data is read, also in a composition with `univa.conf.CONFIG_DIR` alone."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.errors import ConfigCompositionException
from omegaconf import OmegaConf

from univa.cli.command import composition_message
from univa.conf import CONFIG_DIR, ModelSchema, TextSchema
from univa.data.options import DataOptions, SyntheticOptions
from univa.model.config import LossConfig, NetworkOptions, OptimizerConfig
from univa.report.options import AnalysisOptions
from univa.training.lit_module import UniVALitModule

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


def compose_group(name: str):
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
            return compose(config_name=name)
    finally:
        GlobalHydra.instance().clear()


def test_each_model_key_defaults_to_its_dataclass_field() -> None:
    expected = field_defaults(NetworkOptions, LossConfig, OptimizerConfig)
    model = OmegaConf.to_container(compose_group("model/univa").model)
    assert model.pop("_target_") == "univa.UniVALitModule"
    assert model == expected | {"modalities": None}  # null: all the dataset provides
    # the flat keys docs/api.md §2.2 names, plus the optimiser's
    for key in ("temperature", "alpha", "delta", "threshold", "label_prior", "lr", "adam_eps"):
        assert key in model


@pytest.mark.parametrize(
    ("yaml", "defaults"),
    [
        ("model/univa.yaml", field_defaults(ModelSchema)),
        ("dataset/mosei.yaml", field_defaults(DataOptions)),
        ("dataset/m3ed.yaml", field_defaults(DataOptions)),
        ("dataset/folder.yaml", field_defaults(DataOptions)),
        ("dataset/synthetic.yaml", field_defaults(SyntheticOptions)),
        ("text/glove.yaml", field_defaults(TextSchema)),
        ("text/roberta.yaml", field_defaults(TextSchema)),
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


# composes an entry config in a fresh interpreter, importing nothing of univa but `univa.conf`
FRESH_COMPOSE = """
import json, sys
from hydra import compose, initialize_config_dir
from hydra.errors import ConfigCompositionException
from univa.conf import CONFIG_DIR
assert "univa.cli" not in sys.modules
with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
    cfg = compose(sys.argv[1], overrides=sys.argv[2:])
    try:
        compose(sys.argv[1], overrides=["model.temperature=abc"])
        refused = None
    except ConfigCompositionException as error:
        refused = error.__cause__.full_key
print(json.dumps({"temperature": cfg.model.temperature, "adam_eps": cfg.model.adam_eps, "refused": refused}))
"""


def compose_fresh(code: str, *args: str) -> dict:
    """What `code` prints (JSON), run by `python -c` in a fresh interpreter."""
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


@pytest.mark.slow  # a fresh interpreter each: seconds
@pytest.mark.parametrize("entry", ["train", "evaluate", "predict"])
def test_composing_with_the_config_dir_alone_is_typed(entry: str) -> None:
    """Hydra's `compose` with `univa.conf.CONFIG_DIR`, without importing `univa.cli`: the
    schemas are there, so the defaults are the dataclasses' and a typed key is checked."""
    composed = compose_fresh(FRESH_COMPOSE, entry, "model.temperature=0.3")
    assert composed == {
        "temperature": 0.3,
        "adam_eps": OptimizerConfig().adam_eps,
        "refused": "model.temperature",
    }


@pytest.mark.slow  # a fresh interpreter: seconds
def test_a_new_loss_option_is_a_model_key_without_touching_the_yaml() -> None:
    """The README's recipe: a field with its default in `LossConfig` becomes `model.<option>`,
    typed, with that default (here a subclass stands in for the edited dataclass)."""
    code = (
        "import dataclasses, univa.model.config as config\n"
        "config.LossConfig = dataclasses.make_dataclass('LossConfig', "
        "[('focal_gamma', float, dataclasses.field(default=2.0))], bases=(config.LossConfig,))\n"
        + FRESH_COMPOSE.replace(
            '"adam_eps": cfg.model.adam_eps', '"gamma": cfg.model.focal_gamma'
        ).replace("model.temperature=abc", "model.focal_gamma=abc")
    )
    composed = compose_fresh(code, "train")
    assert composed["gamma"] == 2.0 and composed["refused"] == "model.focal_gamma"
