"""`python -m univa.predict pretrained=DIR|ckpt_path=... output=preds.csv [input=DATA|split=valid]`.

`input=DATA` labels new data: a folder in the generic dataset format holding any of the splits,
labels not needed (`univa.inference.TrainedModel.predict`); it is checked against the model
(modalities, widths, text kind) before anything runs, and no dataset of the model's is read.
Without `input=`, scores a split of the data the model was trained on.

Writes one CSV row per utterance, in the data's row order: `utt_id` (then `split` when `input=`
holds several), `prob_<label>` (the model's probability: softmax in KL mode, sigmoid in BCE
mode) and `pred_<label>` (0/1, the thresholded prediction) for each of the model's labels. The
thresholds (`univa.model.thresholds`) are `model.threshold` when given, else (null, the default)
the model's own: those the run tuned on validation for this checkpoint (`results.json` beside
`checkpoints/`) or that an exported folder records, else its fixed one, which
`tuned_thresholds=false` keeps. `output` is relative to the working directory; an existing file is never
overwritten, and the CSV appears whole or not at all.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from omegaconf import DictConfig

from univa.cli.command import entry_point
from univa.constants import SPLITS
from univa.errors import UsageError
from univa.files import write_csv

# torch and Lightning load when a prediction starts: --help and --cfg answer without them
if TYPE_CHECKING:
    from univa.inference import TrainedModel
    from univa.model.thresholds import Thresholds
    from univa.training.lit_module import UniVALitModule


def output_path(cfg: DictConfig) -> Path:
    """The CSV to write: given, and not there yet."""
    if not cfg.get("output"):
        raise UsageError("output=<file.csv> is required: where to write the predictions")
    if str(cfg.output).endswith(("/", os.sep)):  # Path() would drop the slash: a file "dir"
        raise UsageError(f"output={cfg.output} names a folder; give the CSV file to write")
    path = Path(cfg.output)
    if path.exists():
        raise UsageError(f"output={path} already exists; not overwriting it")
    return path


def decision_thresholds(cfg: DictConfig, path: Path, module: UniVALitModule) -> Thresholds:
    """The thresholds to predict with, their source line saying which they are and whence:
    `model.threshold` when given (not null), else the model's own (tuned, unless
    `tuned_thresholds=false`, else fixed); `path` is the checkpoint, or an exported folder."""
    from univa.model.pretrained import CONFIG_FILE, read_config
    from univa.model.thresholds import Thresholds

    labels = module.labels
    if cfg.model.get("threshold") is not None:  # the user's fixed threshold wins over tuned ones
        return Thresholds.fixed(labels, float(cfg.model.threshold), ", given on the command line")
    fixed = float(module.model.config.threshold)
    if not cfg.get("tuned_thresholds", True):
        return Thresholds.fixed(labels, fixed)
    if path.is_dir():
        return Thresholds.of_exported(read_config(path), labels, path / CONFIG_FILE, fixed)
    return Thresholds.of_checkpoint(path, labels, fixed)


def trained_model(cfg: DictConfig, path: Path) -> TrainedModel:
    """The model of `path` (a checkpoint, or an exported folder) deciding at the thresholds
    `decision_thresholds` chooses, as evaluate does."""
    from univa.constants import is_glove
    from univa.inference import TrainedModel
    from univa.training.from_checkpoint import apply_threshold, load_module, load_pretrained_module

    module = load_pretrained_module(path) if path.is_dir() else load_module(path)
    apply_threshold(cfg, module)
    text_encoder = module.model.config.text_encoder
    return TrainedModel(
        network=module.model,
        thresholds=decision_thresholds(cfg, path, module),
        text_source=None if is_glove(text_encoder) else text_encoder,
        data_settings=module.data_settings,
    )


def predict_new_data(cfg: DictConfig, path: Path, output: Path) -> Path:
    """Label the utterances of `cfg.input`: a dataset folder (new data, labels not needed), or
    recordings, extracted as the model's training data was."""
    from univa.inference.recordings import is_recordings

    model = trained_model(cfg, path)
    print(f"thresholds: {model.thresholds.source}")
    device = "cpu" if cfg.trainer.get("accelerator") == "cpu" else None
    batch_size = cfg.dataset.get("batch_size")  # null (dataset: recorded): write_predictions'
    sizes = {} if batch_size is None else {"batch_size": int(batch_size)}
    if is_recordings(cfg.input):
        return predict_recordings(cfg, model, path, output, device, sizes)
    rows = model.write_predictions(cfg.input, output, device=device, split=cfg.split, **sizes)
    print(f"{rows} predictions of {cfg.input}: {output}")
    return output


def predict_recordings(
    cfg: DictConfig,
    model: TrainedModel,
    path: Path,
    output: Path,
    device: str | None,
    sizes: dict[str, int],
) -> Path:
    """Label the utterances of the recordings `cfg.input` (`univa.inference.recordings`)."""
    from univa.inference.recordings import predict_recordings as predict_on

    if cfg.split is not None:
        raise UsageError(f"split={cfg.split}: recordings have no splits; leave split out")
    table = predict_on(
        model,
        cfg.input,
        where=str(path),
        transcripts=cfg.transcripts,
        asr_model=cfg.asr_model,
        device=device,
        **sizes,
    )
    probs = [column for column in table.columns if column.startswith("prob_")]
    write_csv(output, list(table.columns), table.round({c: 6 for c in probs}).values.tolist())
    print(f"{len(table)} predictions of the recordings {cfg.input}: {output}")
    return output


def predict(cfg: DictConfig) -> Path:
    """Per-utterance probabilities and predictions of `cfg.ckpt_path` (or the folder
    `cfg.pretrained`) on the new data `cfg.input`, or else on the split `cfg.split` of the
    data it was trained on."""
    import torch

    from univa.model.finite import refuse_non_finite_probabilities
    from univa.training.from_checkpoint import (
        build_trainer,
        checkpoint_path,
        chosen_split,
        load_checkpoint_and_data,
    )

    path = checkpoint_path(cfg)
    output = output_path(cfg)
    if cfg.get("input"):
        return predict_new_data(cfg, path, output)
    split = chosen_split(cfg, SPLITS) if cfg.split else "test"
    module, datamodule = load_checkpoint_and_data(cfg, path)
    thresholds = decision_thresholds(cfg, path, module)
    print(f"thresholds: {thresholds.source}")
    # one process, in row order: the CSV rows must follow datamodule.split_utt_ids(split)
    trainer = build_trainer(cfg, devices=1, num_nodes=1, strategy="auto")
    outputs = trainer.predict(module, dataloaders=datamodule.split_loader(split))
    probs = torch.cat([out["probs"].cpu() for out in outputs])  # compared in the model's dtype
    refuse_non_finite_probabilities(probs, datamodule.split_utt_ids(split))
    preds = thresholds.apply(probs).tolist()
    labels = module.labels
    header = [
        "utt_id",
        *(f"prob_{label}" for label in labels),
        *(f"pred_{label}" for label in labels),
    ]
    rows = [
        [utt_id, *(f"{p:.6f}" for p in prob), *pred]
        for utt_id, prob, pred in zip(
            datamodule.split_utt_ids(split), probs.float().tolist(), preds, strict=True
        )
    ]
    write_csv(output, header, rows)
    print(f"{len(rows)} {split} predictions: {output}")
    return output


main = entry_point("univa.predict", "predict", predict)


if __name__ == "__main__":
    main()
