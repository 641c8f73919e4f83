"""`univa.report.figures`: each figure draws what its caption promises, and is saved as a whole PNG."""

from __future__ import annotations

from pathlib import Path

import torch
from matplotlib.figure import Figure

from univa.report.figures import (
    feature_projection_figure,
    per_label_f1_figure,
    save_figures,
    threshold_sweep_figure,
)
from univa.report.outputs import SplitOutputs

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_per_label_f1_has_one_bar_per_label_and_entry_in_label_order() -> None:
    per_label = {
        "val": {"happy": 10.0, "sad": 20.0, "anger": 30.0},
        "test": {"happy": 40.0, "sad": 50.0, "anger": 60.0},
    }
    (ax,) = per_label_f1_figure(per_label).axes
    heights = [bar.get_height() for bar in ax.patches]
    assert heights == [10.0, 20.0, 30.0, 40.0, 50.0, 60.0]
    assert [tick.get_text() for tick in ax.get_xticklabels()] == ["happy", "sad", "anger"]
    assert [text.get_text() for text in ax.get_legend().get_texts()] == ["val", "test"]


def sweep_lines(tuned: torch.Tensor | None) -> list[str]:
    thresholds = torch.linspace(0.05, 0.95, 5)
    sweep = {"micro_f1": torch.arange(5.0), "macro_f1": torch.arange(5.0) / 2}
    (ax,) = threshold_sweep_figure(thresholds, sweep, 0.5, tuned).axes
    return [line.get_label() for line in ax.get_lines()]


def test_threshold_sweep_marks_the_fixed_threshold_and_a_global_tuned_one_only() -> None:
    assert sweep_lines(None) == ["miF1", "maF1", "fixed 0.5"]
    assert sweep_lines(torch.tensor([0.3, 0.3])) == [
        "miF1",
        "maF1",
        "fixed 0.5",
        "tuned 0.30",
    ]
    # per-label thresholds have no single line to draw
    assert sweep_lines(torch.tensor([0.3, 0.6])) == ["miF1", "maF1", "fixed 0.5"]


def test_feature_projection_has_a_valence_and_an_arousal_panel_per_modality() -> None:
    n = 12
    generator = torch.Generator().manual_seed(0)
    outputs = SplitOutputs(
        utt_ids=[str(i) for i in range(n)],
        probs=torch.rand(n, 3, generator=generator),
        targets=torch.zeros(n, 3),
        features={m: torch.randn(n, 6, generator=generator) for m in ("text", "audio")},
        va={m: torch.randn(n, 2, generator=generator) for m in ("text", "audio")},
    )
    figure = feature_projection_figure(outputs, title="test split")
    titles = [ax.get_title() for ax in figure.axes if ax.get_title()]
    assert titles == ["text: valence", "text: arousal", "audio: valence", "audio: arousal"]
    assert figure.get_suptitle() == "test split"
    colours = figure.axes[1].collections[0].get_array()
    assert colours.tolist() == outputs.va["text"][:, 1].tolist()  # coloured by arousal


def test_save_figures_writes_one_png_per_figure_and_nothing_else(tmp_path: Path) -> None:
    figures = {"a": Figure(figsize=(1, 1)), "b": Figure(figsize=(1, 1))}
    paths = save_figures(figures, tmp_path / "figures")
    assert paths == {name: tmp_path / "figures" / f"{name}.png" for name in figures}
    assert sorted(p.name for p in (tmp_path / "figures").iterdir()) == ["a.png", "b.png"]
    assert all(path.read_bytes().startswith(PNG_MAGIC) for path in paths.values())
