"""The run's figures, drawn with matplotlib's object API (no pyplot state, no display needed).

Each function returns a `Figure`; `save_figures` writes them as PNG into the run folder, and the
W&B and TensorBoard loggers receive the same objects.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from matplotlib.figure import Figure

from univa.constants import metric_name
from univa.files import atomic_write
from univa.report.outputs import SplitOutputs, project_2d

VA_NAMES = ("valence", "arousal")


def per_label_f1_figure(per_label: dict[str, dict[str, float]]) -> Figure:
    """Grouped bars of F1 per label, one bar per entry (e.g. val, test, test at tuned thresholds)."""
    labels = list(next(iter(per_label.values())))
    figure = Figure(figsize=(max(6.0, 1.1 * len(labels)), 3.5), layout="constrained")
    ax = figure.subplots()
    x = np.arange(len(labels))
    width = 0.8 / len(per_label)
    for i, (name, f1) in enumerate(per_label.items()):
        ax.bar(x + width * i, [f1[label] for label in labels], width, label=name)
    ax.set_xticks(x + width * (len(per_label) - 1) / 2, labels, rotation=30)
    ax.set(ylabel="F1 (%)", ylim=(0, 100), title="F1 per label")
    ax.legend()
    return figure


def threshold_sweep_figure(
    thresholds: torch.Tensor,
    sweep: dict[str, torch.Tensor],
    fixed: float,
    tuned: torch.Tensor | None = None,
) -> Figure:
    """Micro/macro F1 against the decision threshold; the fixed one dashed, a tuned global dotted."""
    figure = Figure(figsize=(7, 3.5), layout="constrained")
    ax = figure.subplots()
    for key in ("micro_f1", "macro_f1"):
        ax.plot(thresholds.numpy(), sweep[key].numpy(), label=metric_name(key))
    ax.axvline(fixed, ls="--", c="k", lw=1, label=f"fixed {fixed:g}")
    if tuned is not None and bool((tuned == tuned[0]).all()):
        ax.axvline(float(tuned[0]), ls=":", c="r", lw=1.5, label=f"tuned {float(tuned[0]):.2f}")
    ax.set(xlabel="decision threshold", ylabel="F1 (%)", title="threshold sweep (validation)")
    ax.legend()
    return figure


def feature_projection_figure(outputs: SplitOutputs, title: str = "") -> Figure:
    """Each modality's pooled features in 2-D (PCA), coloured by its valence and by its arousal.

    The VA-driven contrastive loss pulls utterances with close VA together, so colour should
    change smoothly across a well-trained modality's cloud. A modality without VA
    (`dataset.va_source=none`) has no figure row.
    """
    modalities = [m for m in outputs.features if m in outputs.va]
    figure = Figure(figsize=(9, 3.6 * len(modalities)), layout="constrained")
    axes = figure.subplots(len(modalities), 2, squeeze=False)
    for row, modality in zip(axes, modalities, strict=True):
        xy = project_2d(outputs.features[modality]).numpy()
        for column, (ax, name) in enumerate(zip(row, VA_NAMES, strict=True)):
            colour = outputs.va[modality][:, column].numpy()
            points = ax.scatter(xy[:, 0], xy[:, 1], c=colour, cmap="coolwarm", s=10)
            ax.set(title=f"{modality}: {name}", xticks=[], yticks=[])
            figure.colorbar(points, ax=ax)
    if title:
        figure.suptitle(title)
    return figure


def save_figures(figures: dict[str, Figure], folder: Path) -> dict[str, Path]:
    """Write each figure as `<folder>/<name>.png` (whole or not at all); returns the paths."""
    paths = {}
    for name, figure in figures.items():
        paths[name] = folder / f"{name}.png"
        with atomic_write(paths[name]) as file:
            figure.savefig(file, format="png", dpi=120)
    return paths
