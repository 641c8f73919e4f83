"""Every option of every config group composes, presets apply, and overrides win."""

from pathlib import Path

import pytest
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import OmegaConf

from univa.cli import CONFIG_DIR

ABLATION_SWITCHES = {
    "no_contrastive": "contrastive",
    "no_va_positives": "va_positives",
    "no_label_prior": "label_prior",
}

GROUPS = [
    "dataset",
    "text",
    "model",
    "trainer",
    "logger",
    "callbacks",
    "paths",
    "hydra",
    "debug",
    "preset",
    "ablation",
]


def options(group: str) -> list[str]:
    return sorted(p.stem for p in (Path(CONFIG_DIR) / group).glob("*.yaml"))


@pytest.mark.parametrize(
    "override",
    [
        f"{group}={name}"
        for group in GROUPS
        if group not in ("preset", "hydra")
        for name in options(group)
    ],
)
def test_every_group_option_composes(compose_cfg, override: str) -> None:
    cfg = compose_cfg(override)
    resolved = {key: OmegaConf.select(cfg, key) for key in cfg if key != "hydra"}
    OmegaConf.to_container(OmegaConf.create(resolved), resolve=True)  # every interpolation resolves
    for key in ("dataset", "model", "trainer"):  # dataset=recorded: evaluate and predict's
        assert "_target_" in cfg[key] or override == "dataset=recorded"


@pytest.mark.parametrize("preset", options("preset"))
def test_every_preset_is_reachable(compose_cfg, preset: str) -> None:
    dataset, text = preset.split("_")
    cfg = compose_cfg(f"dataset={dataset}", f"text={text}")
    assert cfg.hydra.runtime.choices["preset"] == preset


def test_spec_section_9_keys_exist(compose_cfg) -> None:
    cfg = compose_cfg()
    for key in (
        "dataset.data_dir",
        "dataset.batch_size",
        "model.temperature",
        "model.alpha",
        "model.delta",
        "model.threshold",
        "model.label_prior",
        "seed",
        "ckpt_path",
        "paths.data_dir",
        "paths.output_dir",
    ):
        assert (
            OmegaConf.select(cfg, key, throw_on_missing=True) is not None or key == "ckpt_path"
        ), key


def test_mosei_glove_preset_is_the_paper_run(compose_cfg) -> None:
    cfg = compose_cfg("dataset=mosei", "text=glove", "trainer=gpu")
    assert (
        cfg.trainer.max_epochs == 15
        and cfg.trainer.devices == 1
        and cfg.trainer.accelerator == "gpu"
    )
    assert cfg.dataset.batch_size == 32
    model = cfg.model
    assert (model.lr, model.temperature, model.alpha, model.delta, model.threshold) == (
        7e-5,
        0.4,
        0.2,
        0.1,
        0.18,
    )
    assert dict(model.num_layers) == {"text": 7, "audio": 3, "vision": 5}
    assert model.label_prior is False and model.contrastive_weights.text == 3.0


def test_m3ed_glove_preset_is_the_paper_run(compose_cfg) -> None:
    cfg = compose_cfg("dataset=m3ed", "text=glove")
    model = cfg.model
    assert (model.lr, model.temperature, model.alpha, model.label_prior) == (5e-5, 0.4, 0.1, True)
    assert dict(model.num_layers) == {"text": 3, "audio": 5, "vision": 3}
    assert model.contrastive_weights.text == 1.0


def test_command_line_overrides_win_over_the_preset(compose_cfg) -> None:
    cfg = compose_cfg(
        "dataset=mosei", "model.temperature=0.9", "trainer.max_epochs=2", "dataset.batch_size=8"
    )
    assert (cfg.model.temperature, cfg.trainer.max_epochs, cfg.dataset.batch_size) == (0.9, 2, 8)


def test_trainer_and_callbacks_instantiate(compose_cfg) -> None:
    cfg = compose_cfg("trainer=cpu")
    callbacks = [instantiate(node) for node in cfg.callbacks.values()]
    trainer = instantiate(cfg.trainer, callbacks=callbacks, logger=False)
    assert trainer.max_epochs == cfg.trainer.max_epochs
    assert trainer.gradient_clip_val == 1.0


def test_misspelt_model_option_fails_naming_it(compose_cfg) -> None:
    cfg = compose_cfg("+model.temprature=0.5")
    with pytest.raises(InstantiationException, match=r"temprature.*did you mean 'temperature'"):
        instantiate(cfg.model, _convert_="all", labels=["happy"], input_dims={}, max_lens={})


def test_mosei_roberta_ddp4_is_the_paper_run(compose_cfg) -> None:
    cfg = compose_cfg("dataset=mosei", "text=roberta", "trainer=ddp4")
    trainer = cfg.trainer
    assert (trainer.accelerator, trainer.devices, trainer.precision) == ("gpu", 4, "32-true")
    assert trainer.strategy._target_.endswith("DDPStrategy")
    assert trainer.max_epochs == 5 and cfg.dataset.batch_size == 12
    assert cfg.text.encoder == "roberta-base" and cfg.dataset.text_encoder == "roberta-base"
    model = cfg.model
    assert (model.lr, model.temperature, model.alpha, model.delta, model.threshold) == (
        5e-5,
        0.7,
        0.45,
        0.1,
        0.18,
    )
    assert (model.num_layers.audio, model.num_layers.vision) == (5, 3)
    assert model.label_prior is True and model.contrastive and model.va_positives
    assert model.contrastive_weights.text == 3.0


def test_m3ed_roberta_ddp4_is_the_paper_run(compose_cfg) -> None:
    cfg = compose_cfg("dataset=m3ed", "text=roberta", "trainer=ddp4")
    assert cfg.dataset.text_encoder == "hfl/chinese-roberta-wwm-ext"
    assert (
        cfg.trainer.max_epochs == 10 and cfg.dataset.batch_size == 22 and cfg.trainer.devices == 4
    )
    model = cfg.model
    assert (model.lr, model.temperature, model.alpha, model.label_prior) == (5e-5, 0.4, 0.2, True)
    assert (model.num_layers.audio, model.num_layers.vision) == (5, 3)


def test_any_plm_by_override(compose_cfg) -> None:
    cfg = compose_cfg("dataset=mosei", "text=roberta", "text.encoder=/models/roberta-large")
    assert cfg.dataset.text_encoder == "/models/roberta-large"


@pytest.mark.parametrize("experiment", options("experiment"))
def test_ablation_experiments_keep_their_preset_and_flip_one_switch(
    compose_cfg, experiment: str
) -> None:
    dataset, text, *ablation = experiment.split("_")
    cfg = compose_cfg(f"experiment={experiment}")
    choices = cfg.hydra.runtime.choices
    assert (choices["dataset"], choices["text"], choices["preset"]) == (
        dataset,
        text,
        f"{dataset}_{text}",
    )
    preset = compose_cfg(f"dataset={dataset}", f"text={text}").model
    switch = {"contrastive": "contrastive", "va": "va_positives", "label": "label_prior"}[
        ablation[1]
    ]
    assert cfg.model[switch] is False
    for key in ("lr", "temperature", "alpha", "delta", "num_layers"):
        assert cfg.model[key] == preset[key], key


@pytest.mark.parametrize("ablation", options("ablation"))
@pytest.mark.parametrize(
    "choices",
    [
        ("dataset=synthetic", "text=glove", "trainer=cpu"),
        ("dataset=synthetic", "text=roberta", "trainer=ddp"),
        ("dataset=mosei", "text=glove", "trainer=gpu"),
        ("dataset=m3ed", "text=roberta", "trainer=ddp4"),
    ],
)
def test_ablation_composes_with_any_dataset_text_and_trainer(
    compose_cfg, ablation: str, choices: tuple[str, ...]
) -> None:
    plain = compose_cfg(*choices)
    cfg = compose_cfg(*choices, f"ablation={ablation}")
    switch = ABLATION_SWITCHES[ablation]
    assert cfg.model[switch] is False
    assert cfg.trainer == plain.trainer and cfg.dataset == plain.dataset  # nothing pinned
    others = {key: value for key, value in plain.model.items() if key != switch}
    assert {key: cfg.model[key] for key in others} == others


@pytest.mark.parametrize("experiment", options("experiment"))
def test_experiment_files_use_the_ablation_group(compose_cfg, experiment: str) -> None:
    """Each experiment includes its ablation file, so that an `ablation=` on the command line
    adds a second ablation instead of silently replacing the experiment's (a group choice in
    the defaults list would lose to the command line's)."""
    switch = next(
        ABLATION_SWITCHES[name] for name in ABLATION_SWITCHES if experiment.endswith(name)
    )
    defaults = OmegaConf.load(Path(CONFIG_DIR) / "experiment" / f"{experiment}.yaml").defaults
    assert any(entry == f"/ablation/{experiment.split('_', 2)[2]}" for entry in defaults)
    other = next(name for name, key in ABLATION_SWITCHES.items() if key != switch)
    for extra in ([], [f"ablation={other}"], ["~ablation"]):
        cfg = compose_cfg(f"experiment={experiment}", *extra)
        assert cfg.task_name == experiment and cfg.model[switch] is False, extra
        if extra and extra[0].startswith("ablation="):
            assert cfg.model[ABLATION_SWITCHES[other]] is False


def test_tags_default_to_an_empty_list(compose_cfg) -> None:
    assert list(compose_cfg().tags) == []
    assert list(compose_cfg("tags=[baseline,seed_sweep]").tags) == ["baseline", "seed_sweep"]


def test_the_progress_bar_counts_epochs_from_one(compose_cfg) -> None:
    from types import SimpleNamespace

    bar = instantiate(compose_cfg().callbacks.rich_progress_bar)
    bar._trainer = SimpleNamespace(max_epochs=1)
    assert bar._get_train_description(0).strip() == "Epoch 1/1"
    bar._trainer = SimpleNamespace(max_epochs=-1)  # no limit
    assert bar._get_train_description(2).strip() == "Epoch 3"


def test_tags_reach_the_loggers(compose_cfg, tmp_path: Path, monkeypatch) -> None:
    """W&B gets them after its own (logger.wandb.tags, WANDB_TAGS); CSV/TensorBoard hparams
    hold them with the rest of the config."""
    import yaml
    from lightning.pytorch.loggers import CSVLogger, WandbLogger

    from univa.report.tracking import finish_tracking, start_tracking

    monkeypatch.setenv("WANDB_MODE", "disabled")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path))
    cfg = compose_cfg("tags=[baseline,ablation]")
    wandb = WandbLogger(save_dir=str(tmp_path), tags=["mine", "baseline"])
    csv = CSVLogger(tmp_path, name="csv", version="")
    start_tracking([wandb, csv], cfg)
    try:
        assert list(wandb.experiment.tags) == ["mine", "baseline", "ablation"]
    finally:
        finish_tracking([wandb, csv], failed=False)
    csv.save()
    assert yaml.safe_load((Path(csv.log_dir) / "hparams.yaml").read_text())["tags"] == [
        "baseline",
        "ablation",
    ]
