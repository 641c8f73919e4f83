"""The `README.md` model card of an exported model: what it learnt, how well, how to use it.

Written by `univa.export` from the folder's `config.json`, the run's `results.json` and its
Hydra record; the metrics are printed with the decimals of every other univa table.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from univa.constants import METRIC_FORMATS, PROVENANCE_KEYS, format_metric, is_glove, metric_name

CITATION = """@inproceedings{zheng2024univa,
  title     = {{UniVA}: Unimodal Valence-Arousal Driven Contrastive Learning for Multimodal
               Multi-Label Emotion Recognition},
  author    = {Zheng and Yu and Xia},
  booktitle = {Proceedings of the 32nd ACM International Conference on Multimedia (MM '24)},
  year      = {2024}
}"""


def _training(config: dict[str, Any], run: dict[str, Any]) -> list[str]:
    network, data = config["network"], config.get("data_settings") or {}
    widths = ", ".join(
        f"{m} ({'the PLM' if m == 'text' and not is_glove(network['text_encoder']) else network['input_dims'].get(m)})"
        for m in network["modalities"]
    )
    dataset = data.get("dataset", "not recorded")
    if "flavor" in data:
        dataset += f" (synthetic {data['flavor']}, size {data['size']}, seed {data['seed']})"
    if run.get("overrides") is None:  # no `.hydra/` record beside `checkpoints/`
        how = "- preset and overrides: not recorded (no `.hydra/` beside `checkpoints/`)"
    else:
        overrides = " ".join(run["overrides"]) or "none"
        how = f"- preset: {run.get('preset') or 'none'}; overrides: `{overrides}`"
    return [
        "## Training",
        "",
        f"- dataset: {dataset}; VA normalisation: {data.get('va_norm', 'not recorded')}",
        f"- labels, in output order: {', '.join(network['labels'])}",
        f"- modalities and feature widths: {widths}",
        *_provenance(config.get("features") or {}),
        f"- text encoder: {network['text_encoder']}",
        how,
        f"- exported from: `{run['checkpoint']}`",
    ]


def _provenance(features: dict[str, Any]) -> list[str]:
    """One line per modality whose training data declared what computed its features."""
    lines = []
    for modality, spec in features.items():
        declared = [f"{key} {spec[key]}" for key in PROVENANCE_KEYS if spec.get(key)]
        if declared:
            lines.append(f"- {modality} features: {'; '.join(declared)}")
    return lines


def _metrics(results: dict[str, Any] | None, checkpoint: str) -> list[str]:
    """The run's test metrics, which are those of its best checkpoint: shown only when that is
    the exported `checkpoint`, never another checkpoint's numbers under these weights."""
    if not results or not isinstance(results.get("test"), dict):
        return [
            "## Test metrics",
            "",
            "The run's results.json was not found beside the checkpoint.",
        ]
    best = Path(str(results.get("best_checkpoint"))).name
    if best != checkpoint:
        return [
            "## Test metrics",
            "",
            f"None recorded for {checkpoint}: the run's results.json holds those of its best "
            f"checkpoint, {best}. Export that one for a card with test metrics, or evaluate "
            "this folder with `python -m univa.evaluate pretrained=<folder>`.",
        ]
    test = results["test"]
    names = [metric_name(key) for key in METRIC_FORMATS]
    per_label = test.get("per_label_f1") or {}
    return [
        "## Test metrics",
        "",
        f"Of the run's best checkpoint ({Path(str(results.get('best_checkpoint'))).name}) on the "
        f"test split, {test.get('num_samples')} utterances, from the run's `results.json`:",
        "",
        "| " + " | ".join(names) + " |",
        "|" + "---|" * len(names),
        "| " + " | ".join(format_metric(key, test[key]) for key in METRIC_FORMATS) + " |",
        "",
        "| label | F1 |",
        "|---|---|",
        *(f"| {label} | {value:.2f} |" for label, value in per_label.items()),
    ]


def _thresholds(config: dict[str, Any]) -> str:
    thresholds = config.get("thresholds") or {}
    tuned = thresholds.get("tuned")
    if tuned is None:
        return f"Decision threshold: {thresholds.get('fixed')} for every label."
    listed = ", ".join(f"{label} {value:g}" for label, value in tuned.items())
    return f"Decision thresholds, {thresholds.get('mode')}, tuned on validation: {listed}."


def model_card(config: dict[str, Any], run: dict[str, Any], results: dict[str, Any] | None) -> str:
    """The card's Markdown. `run`: `checkpoint`, `preset` and `overrides` of the training run."""
    data = config.get("data_settings", {}) or {}
    title = f"UniVA on {data.get('name') or data.get('dataset') or 'an unrecorded dataset'}"
    return "\n".join(
        [
            "---",
            "library_name: univa",
            "tags: [multimodal, emotion-recognition, multi-label-classification]",
            "---",
            "",
            f"# {title}",
            "",
            "A UniVA network (unimodal valence-arousal driven contrastive learning for multimodal "
            f"multi-label emotion recognition), exported by univa {config.get('univa_version')}: "
            "`model.safetensors` (weights only), `config.json` (its options, labels, thresholds "
            "and data settings)"
            + ("" if is_glove(config["network"]["text_encoder"]) else ", `text_encoder/`")
            + ". Nothing in this folder runs code when loaded.",
            "",
            *_training(config, run),
            "",
            *_metrics(results, run["checkpoint"]),
            "",
            _thresholds(config),
            "",
            "## Use",
            "",
            "New data is a dataset folder in univa's generic format (labels not needed) "
            "holding the features listed above; predictions are decided at the thresholds "
            "above.",
            "",
            "```python",
            "import univa",
            "",
            'model = univa.load_pretrained("THIS_FOLDER_OR_ORG/NAME")',
            "model.labels, model.thresholds, model.feature_spec",
            'predictions = model.predict("NEW_DATA")  # pandas: utt_id, prob_<label>, pred_<label>',
            "```",
            "",
            "```bash",
            "python -m univa.predict pretrained=THIS_FOLDER input=NEW_DATA output=preds.csv",
            "python -m univa.evaluate pretrained=THIS_FOLDER dataset.data_dir=LABELLED_DATA",
            "```",
            "",
            "## Citation",
            "",
            "```bibtex",
            CITATION,
            "```",
            "",
        ]
    )
