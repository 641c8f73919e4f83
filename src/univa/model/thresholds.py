"""The decision thresholds of a trained model: above which probability each label is predicted.

The paper decides at one fixed `model.threshold` (0.18, docs/method.md §2.5); a run may tune
them on validation, one global value or one per label (`univa.report.threshold_tuning`), and
records them in its `results.json` (`tuned`, `test.thresholds`); `univa.export` copies them
into the folder's `config.json` (`thresholds`). `Thresholds` is that one value wherever it travels: read
from either file, written back in their formats, applied by `predict_at`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from univa.constants import RESULTS_FILE
from univa.errors import UsageError
from univa.safe_json import read_json

FIXED = "fixed"  # the mode of `model.threshold` for every label; else global or per_label
REPAIR = "repair it, or predict at model.threshold with tuned_thresholds=false"


def predict_at(probs: torch.Tensor, thresholds: torch.Tensor | float) -> torch.Tensor:
    """0/1 predictions: label c iff its probability exceeds its threshold (a scalar or (C,)).

    Compared in the probabilities' dtype: a float32 probability of 0.18 is not above the
    threshold 0.18, however the threshold was stored.
    """
    return (probs > torch.as_tensor(thresholds, dtype=probs.dtype, device=probs.device)).long()


@dataclass(frozen=True)
class Thresholds:
    """Label -> threshold in the model's label order, how they were chosen (`mode`: fixed,
    global or per_label) and `source`, one line saying which they are and whence."""

    values: dict[str, float]
    mode: str
    source: str

    @classmethod
    def fixed(cls, labels: list[str], value: float, why: str = "") -> Thresholds:
        """`model.threshold` = `value` for every label; `why` is added to the source line."""
        source = f"model.threshold={value:g} ({FIXED}{why})"
        return cls(dict.fromkeys(labels, float(value)), FIXED, source)

    @classmethod
    def tuned(cls, labels: list[str], values: Any, mode: str, whence: str) -> Thresholds:
        listed = ", ".join(f"{label} {float(values[label]):g}" for label in labels)
        source = f"{mode} thresholds tuned on validation, from {whence}: {listed}"
        return cls({label: float(values[label]) for label in labels}, mode, source)

    @classmethod
    def of_checkpoint(cls, path: Path, labels: list[str], fixed: float) -> Thresholds:
        """Those the run tuned on validation for the checkpoint `path` (its results.json beside
        `checkpoints/`), else `fixed` for every label, saying why when the run tuned others."""
        results_file = path.parent.parent / RESULTS_FILE
        if path.parent.name != "checkpoints" or not results_file.is_file():
            return cls.fixed(labels, fixed)
        try:
            results = read_json(results_file)
        except (OSError, ValueError) as error:
            raise UsageError(
                f"cannot read {results_file}, where the run's tuned thresholds would be "
                f"({error}); {REPAIR}"
            ) from error
        tuned = results.get("tuned") if isinstance(results, dict) else None
        if tuned is None:
            return cls.fixed(labels, fixed)
        best = results.get("best_checkpoint")
        if not isinstance(tuned, dict) or not isinstance(best, str):
            raise UsageError(f"{results_file}: its tuned thresholds are damaged; {REPAIR}")
        # tuned for the best checkpoint's weights only; by name, so a moved run still works
        if Path(best).name != path.name:
            why = f"; the thresholds tuned in {results_file} are for {Path(best).name}"
            return cls.fixed(labels, fixed, why)
        values = tuned.get("thresholds")
        if not isinstance(values, dict) or sorted(values) != sorted(labels):
            raise UsageError(
                f"{results_file}: tuned thresholds {values!r} do not name the checkpoint's "
                f"labels {labels}; predict at model.threshold with tuned_thresholds=false"
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
                f"{results_file}: tuned thresholds {', '.join(damaged)} are not numbers in "
                f"[0, 1]; {REPAIR}"
            )
        return cls.tuned(labels, values, tuned.get("mode"), str(results_file))

    @classmethod
    def of_exported(
        cls, stored: dict[str, Any], labels: list[str], path: Path, fixed: float
    ) -> Thresholds:
        """Those an exported folder's `config.json` (`stored`, at `path`, checked by
        `univa.model.pretrained.read_config`) records: tuned when its run tuned them, else
        `fixed` (its network's `model.threshold`) for every label."""
        entry = stored.get("thresholds", {})
        if entry.get("tuned") is None:
            return cls.fixed(labels, fixed)
        return cls.tuned(labels, entry["tuned"], entry.get("mode"), str(path))

    @property
    def is_tuned(self) -> bool:
        return self.mode != FIXED

    def tensor(self) -> torch.Tensor:
        """(C,) in label order."""
        return torch.tensor(list(self.values.values()), dtype=torch.float64)

    def apply(self, probs: torch.Tensor) -> torch.Tensor:
        """0/1 predictions (N, C) of probabilities (N, C) at these thresholds."""
        return predict_at(probs, self.tensor())

    def record(self) -> dict[str, Any]:
        """results.json's `thresholds` of a split: {"mode", "values": {label: threshold}}."""
        return {"mode": self.mode, "values": dict(self.values)}

    def exported(self, fixed: float, source: str) -> dict[str, Any]:
        """config.json's `thresholds`: the `fixed` one, and these when they are tuned."""
        tuned = self.is_tuned
        return {
            "fixed": float(fixed),
            "tuned": dict(self.values) if tuned else None,
            "mode": self.mode if tuned else None,
            "source": source if tuned else "model.threshold",
        }
