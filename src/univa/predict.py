"""`python -m univa.predict pretrained=DIR|ckpt_path=... output=preds.csv [input=DATA|split=valid]`.

`input=DATA` labels new data: a folder in the generic dataset format holding any of the splits,
labels not needed (`univa.inference.TrainedModel.predict`); it is checked against the model
(modalities, widths, text kind) before anything runs, and no dataset of the model's is read.
Without `input=`, scores a split of the data the model was trained on.

Writes one CSV row per utterance, in the data's row order: `utt_id` (then `split` when `input=`
holds several), `prob_<label>` (the model's probability: softmax in KL mode, sigmoid in BCE
mode) and `pred_<label>` (0/1, the thresholded prediction) for each of the model's labels. The
thresholds are those the run tuned on validation for this checkpoint (`results.json` beside
`checkpoints/`) or that an exported folder records, else `model.threshold`;
`tuned_thresholds=false` keeps `model.threshold`, and so does `model.threshold=X` given on the
command line. `output` is relative to the working directory; an existing file is never
overwritten, and the CSV appears whole or not at all.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from omegaconf import DictConfig

from univa.cli.command import entry_point
from univa.constants import RESULTS_FILE, SPLITS
from univa.errors import UsageError
from univa.files import write_csv
from univa.safe_json import read_json

# torch and Lightning load when a prediction starts: --help and --cfg answer without them
if TYPE_CHECKING:
    import torch

    from univa.inference import TrainedModel
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


def _tuned_for(path: Path, results_file: Path) -> tuple[dict | None, str]:
    """The `tuned` entry of the run's results.json when it holds thresholds for `path`, and
    otherwise why none apply ("" when the run tuned none)."""
    repair = "repair it, or predict at model.threshold with tuned_thresholds=false"
    try:
        results = read_json(results_file)
    except (OSError, ValueError) as error:
        raise UsageError(
            f"cannot read {results_file}, where the run's tuned thresholds would be ({error}); "
            + repair
        ) from error
    tuned = results.get("tuned") if isinstance(results, dict) else None
    if tuned is None:
        return None, ""
    best = results.get("best_checkpoint")
    if not isinstance(tuned, dict) or not isinstance(best, str):
        raise UsageError(f"{results_file}: its tuned thresholds are damaged; {repair}")
    # tuned for the best checkpoint's weights only; compared by name, so a moved run still works
    if Path(best).name != path.name:
        return None, f"the thresholds tuned in {results_file} are for {Path(best).name}"
    return tuned, ""


def tuned_thresholds(path: Path, labels: list[str]) -> tuple[dict[str, float] | None, str]:
    """The thresholds (label -> value) the run tuned on validation for the checkpoint `path`
    (`analysis.threshold_tuning`, in the results.json beside `checkpoints/`) and a line saying
    which they are; when none apply, None and why ("" when the run tuned none)."""
    results_file = path.parent.parent / RESULTS_FILE
    if path.parent.name != "checkpoints" or not results_file.is_file():
        return None, ""
    tuned, elsewhere = _tuned_for(path, results_file)
    if tuned is None:
        return None, elsewhere
    values = tuned.get("thresholds")
    if not isinstance(values, dict) or sorted(values) != sorted(labels):
        raise UsageError(
            f"{results_file}: tuned thresholds {values!r} do not name the checkpoint's labels "
            f"{labels}; predict at model.threshold with tuned_thresholds=false"
        )
    damaged = [
        f"{label}={values[label]!r}"
        for label in labels
        if isinstance(values[label], bool)
        or not isinstance(values[label], (int, float))
        or not 0.0 <= values[label] <= 1.0  # NaN too
    ]
    if damaged:
        raise UsageError(
            f"{results_file}: tuned thresholds {', '.join(damaged)} are not numbers in [0, 1]; "
            "repair it, or predict at model.threshold with tuned_thresholds=false"
        )
    thresholds = {label: float(values[label]) for label in labels}
    listed = ", ".join(f"{label} {value:g}" for label, value in thresholds.items())
    return thresholds, (
        f"{tuned.get('mode')} thresholds tuned on validation, from {results_file}: {listed}"
    )


def exported_thresholds(folder: Path, labels: list[str]) -> tuple[dict[str, float] | None, str]:
    """The tuned thresholds an exported folder records (`univa.export`), as `tuned_thresholds`."""
    from univa.model.pretrained import CONFIG_FILE, read_config, recorded_thresholds

    stored = read_config(folder)
    thresholds = recorded_thresholds(stored, labels)
    if thresholds is None:
        return None, ""
    listed = ", ".join(f"{label} {value:g}" for label, value in thresholds.items())
    mode = stored.get("thresholds", {}).get("mode")
    return thresholds, (
        f"{mode} thresholds tuned on validation, from {folder / CONFIG_FILE}: {listed}"
    )


def decision_thresholds(
    cfg: DictConfig, path: Path, module: UniVALitModule
) -> tuple[torch.Tensor, str]:
    """The thresholds (C,) to predict with, and a line saying which they are and whence; `path`
    is the checkpoint, or the folder of an exported model."""
    import torch

    from univa.training.data_settings import user_overrides
    from univa.training.from_checkpoint import THRESHOLD_KEY

    labels = module.labels
    fixed = float(module.model.config.threshold)
    tuned, elsewhere = None, ""
    given = THRESHOLD_KEY in user_overrides()  # the user's fixed threshold wins over tuned ones
    if cfg.get("tuned_thresholds", True) and not given:
        if path.is_dir():
            tuned, elsewhere = exported_thresholds(path, labels)
        else:
            tuned, elsewhere = tuned_thresholds(path, labels)
    if tuned is None:
        whence = "fixed, given on the command line" if given else "fixed"
        whence += f"; {elsewhere}" if elsewhere else ""
        return torch.full(
            (len(labels),), fixed
        ), f"thresholds: model.threshold={fixed:g} ({whence})"
    return torch.tensor([tuned[label] for label in labels]), f"thresholds: {elsewhere}"


def trained_model(cfg: DictConfig, path: Path) -> TrainedModel:
    """The model of `path` (a checkpoint, or an exported folder) deciding at the thresholds
    `decision_thresholds` chooses, as evaluate does."""
    from univa.constants import is_glove
    from univa.inference import TrainedModel
    from univa.training.from_checkpoint import (
        apply_model_overrides,
        load_module,
        load_pretrained_module,
    )

    module = load_pretrained_module(path) if path.is_dir() else load_module(path)
    apply_model_overrides(cfg, module)
    thresholds, source = decision_thresholds(cfg, path, module)
    text_encoder = module.model.config.text_encoder
    return TrainedModel(
        network=module.model,
        thresholds=dict(zip(module.labels, thresholds.tolist(), strict=True)),
        threshold_source=source,
        text_source=None if is_glove(text_encoder) else text_encoder,
        data_settings=module.data_settings,
    )


def predict_new_data(cfg: DictConfig, path: Path, output: Path) -> Path:
    """Label the utterances of the folder `cfg.input` (new data, labels not needed)."""
    model = trained_model(cfg, path)
    print(model.threshold_source)
    device = "cpu" if cfg.trainer.get("accelerator") == "cpu" else None
    rows = model.write_predictions(
        cfg.input, output, batch_size=int(cfg.dataset.batch_size), device=device
    )
    print(f"{rows} predictions of {cfg.input}: {output}")
    return output


def predict(cfg: DictConfig) -> Path:
    """Per-utterance probabilities and predictions of `cfg.ckpt_path` (or the folder
    `cfg.pretrained`) on the new data `cfg.input`, or else on the split `cfg.split` of the
    data it was trained on."""
    import torch

    from univa.metrics import predict_at
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
    split = chosen_split(cfg, SPLITS)
    module, datamodule = load_checkpoint_and_data(cfg, path)
    thresholds, source = decision_thresholds(cfg, path, module)
    print(source)
    # one process, in row order: the CSV rows must follow datamodule.split_utt_ids(split)
    trainer = build_trainer(cfg, devices=1, num_nodes=1, strategy="auto")
    outputs = trainer.predict(module, dataloaders=datamodule.split_loader(split))
    probs = torch.cat([out["probs"].cpu() for out in outputs])  # compared in the model's dtype
    refuse_non_finite_probabilities(probs, datamodule.split_utt_ids(split))
    preds = predict_at(probs, thresholds).tolist()
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
