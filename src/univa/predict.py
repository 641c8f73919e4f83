"""`python -m univa.predict ckpt_path=... +output=preds.csv [split=valid] [overrides]`.

Writes one CSV row per utterance of the split, in the dataset's row order: `utt_id`, then
`prob_<label>` (the model's probability: softmax in KL mode, sigmoid in BCE mode) and
`pred_<label>` (0/1, the thresholded prediction) for each of the dataset's labels. `output` is
relative to the working directory; an existing file is never overwritten.
"""

from __future__ import annotations

from pathlib import Path

import torch
from omegaconf import DictConfig

from univa.cli import (
    UsageError,
    build_datamodule,
    build_trainer,
    checkpoint_path,
    chosen_split,
    load_module,
)
from univa.command import entry_point
from univa.data.released import SPLITS
from univa.files import write_csv


def output_path(cfg: DictConfig) -> Path:
    """The CSV to write: given, and not there yet."""
    if not cfg.get("output"):
        raise UsageError("+output=<file.csv> is required: where to write the predictions")
    path = Path(cfg.output)
    if path.exists():
        raise UsageError(f"output={path} already exists; not overwriting it")
    return path


def predict(cfg: DictConfig) -> Path:
    """Per-utterance probabilities and predictions of `cfg.ckpt_path` on `cfg.split`."""
    path = checkpoint_path(cfg)
    output = output_path(cfg)
    split = chosen_split(cfg, SPLITS)
    datamodule = build_datamodule(cfg)
    module = load_module(path, datamodule)
    # one process, in row order: the CSV rows must follow datamodule.utt_ids[split]
    trainer = build_trainer(cfg, devices=1, num_nodes=1, strategy="auto")
    outputs = trainer.predict(module, dataloaders=datamodule.split_loader(split))
    probs = torch.cat([out["probs"].float().cpu() for out in outputs]).tolist()
    preds = torch.cat([out["preds"].long().cpu() for out in outputs]).tolist()
    labels = module.labels
    header = [
        "utt_id",
        *(f"prob_{label}" for label in labels),
        *(f"pred_{label}" for label in labels),
    ]
    rows = [
        [utt_id, *(f"{p:.6f}" for p in prob), *pred]
        for utt_id, prob, pred in zip(datamodule.utt_ids[split], probs, preds, strict=True)
    ]
    write_csv(output, header, rows)
    print(f"{len(rows)} {split} predictions: {output}")
    return output


main = entry_point("univa.predict", "predict", predict)


if __name__ == "__main__":
    main()
