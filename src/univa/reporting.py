"""Readable end-of-run summary of `results.json` on the console."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table


def print_results_table(results: dict, output_dir: Path, console: Console | None = None) -> None:
    """Acc / HL / miF1 / maF1 of the best checkpoint on valid and test, then per-label test F1."""
    console = console or Console()
    table = Table(title="UniVA: best checkpoint", title_style="bold")
    table.add_column("split")
    for name in ("Acc", "HL", "miF1", "maF1", "utterances"):
        table.add_column(name, justify="right")
    for split in ("val", "test"):
        if split in results:
            m = results[split]
            table.add_row(
                split,
                f"{m['acc']:.2f}",
                f"{m['hl']:.3f}",
                f"{m['micro_f1']:.2f}",
                f"{m['macro_f1']:.2f}",
                str(m["num_samples"]),
            )
    console.print(table)
    if "test" in results:
        per_label = Table(title="test F1 per label")
        labels = list(results["test"]["per_label_f1"])
        for label in labels:
            per_label.add_column(label, justify="right")
        per_label.add_row(*(f"{results['test']['per_label_f1'][label]:.2f}" for label in labels))
        console.print(per_label)
        console.print(
            f"best constant prediction on test: miF1 {results['test']['best_constant_micro_f1']:.2f}"
        )
    console.print(
        f"results: {output_dir / 'results.json'}\nbest checkpoint: {results['best_checkpoint']}"
    )
