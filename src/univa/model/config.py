"""The `model` options of the UniVA network and of its training (losses, optimiser), each
default defined here once, checked so a bad value fails at start with its name; light (no
torch): together they are the `model` config's schema (`univa.conf`)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from univa.constants import GLOVE, MODALITIES, is_glove
from univa.errors import InputError

LOSS_MODES: tuple[str, ...] = ("kl", "bce")
DROPOUTS: tuple[str, ...] = ("hidden_dropout", "attention_dropout", "fc_dropout", "final_dropout")


@dataclass
class NetworkOptions:
    """The `model` keys of the architecture (docs/method.md §2), each default defined here."""

    # null only in a config: train's "all the data has"; a network always has a list
    modalities: list[str] | None = field(default_factory=lambda: list(MODALITIES))
    hidden_size: int = 768
    num_heads: int = 12
    ffn_size: int = 3072
    num_layers: dict[str, int] = field(default_factory=lambda: {"text": 4, "audio": 4, "vision": 3})
    hidden_dropout: float = 0.1
    attention_dropout: float = 0.1
    fc_dropout: float = 0.1
    final_dropout: float = 0.1
    layer_norm_eps: float = 1e-12
    loss_mode: str = "kl"
    threshold: float | None = 0.18  # null only in evaluate/predict's config: the model's own
    label_prior: bool = False
    # torch.compile the forward function (by the Lightning module; state-dict keys stay the same)
    compile: bool = False
    # modalities whose features the network standardises per feature with the training split's
    # mean and std (docs/method.md §2.6; not in the paper): e.g. [audio] for openSMILE features
    standardize: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        unknown = [m for m in self.modalities or [] if m not in MODALITIES]
        if unknown or not self.modalities:
            raise InputError(
                f"model.modalities must be a non-empty subset of {MODALITIES}, got {self.modalities}"
            )
        unknown = [m for m in self.standardize if m not in (self.modalities or MODALITIES)]
        if unknown:
            raise InputError(
                f"model.standardize must name modalities the model reads, got {self.standardize}"
            )
        if self.loss_mode not in LOSS_MODES:
            raise InputError(f"model.loss_mode must be one of {LOSS_MODES}, got {self.loss_mode!r}")
        if self.hidden_size % self.num_heads:
            raise InputError(
                f"model.hidden_size ({self.hidden_size}) must be a multiple of model.num_heads ({self.num_heads})"
            )
        if self.threshold is None or not 0.0 < self.threshold < 1.0:
            raise InputError(f"model.threshold must lie in (0, 1), got {self.threshold}")
        for name in DROPOUTS:  # torch's Dropout refuses the rest only once the network is built
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise InputError(f"model.{name} must lie in [0, 1], got {getattr(self, name)}")
        if self.layer_norm_eps <= 0:
            raise InputError(f"model.layer_norm_eps must be > 0, got {self.layer_norm_eps}")


@dataclass(kw_only=True)
class UniVAConfig(NetworkOptions):
    """One UniVA network: its options and the sizes the data gives (not `model` keys).

    `input_dims` and `max_lens` come from the data: the feature width of each modality and the
    longest sequence over all splits (the size of its learned position table). `text_encoder`
    is "glove" or the hub name / local folder of the PLM the data was tokenised for.
    """

    labels: list[str]
    input_dims: dict[str, int]
    max_lens: dict[str, int]
    text_encoder: str = GLOVE
    # each label's (valence, arousal) for the label prior; None: the built-in table
    label_va: dict[str, list[float]] | None = None
    # per `standardize` modality, the training split's per-feature "mean" and "std"
    feature_stats: dict[str, dict[str, list[float]]] | None = None

    def __post_init__(self) -> None:
        if not self.labels or len(set(self.labels)) != len(self.labels):
            raise InputError(
                f"model.labels must be distinct names, at least one, got {self.labels}"
            )
        if self.label_va is not None and any(len(p) != 2 for p in self.label_va.values()):
            raise InputError(
                f"model.label_va must map labels to [valence, arousal], got {self.label_va}"
            )
        super().__post_init__()
        feature_modalities = [
            m for m in self.modalities if m != "text" or is_glove(self.text_encoder)
        ]
        for modality in feature_modalities:
            for name, table in (
                ("input_dims", self.input_dims),
                ("max_lens", self.max_lens),
                ("num_layers", self.num_layers),
            ):
                if modality not in table:
                    raise InputError(
                        f"model.{name} has no entry for modality {modality!r}: {table}"
                    )
        self._check_feature_stats(feature_modalities)

    def _check_feature_stats(self, feature_modalities: list[str]) -> None:
        """Each standardised modality is one of features, with a mean and a positive std per
        feature of its width."""
        stats = self.feature_stats or {}
        for modality in self.standardize:
            if modality not in feature_modalities:
                raise InputError(
                    f"model.standardize: {modality} is read by the PLM as text, not as features"
                )
            moments = stats.get(modality, {})
            width = self.input_dims[modality]
            if [len(moments.get(k, [])) for k in ("mean", "std")] != [width, width]:
                raise InputError(
                    f"model.standardize: {modality} needs the training split's mean and std "
                    f"of its {width} features (univa.train computes them), got {list(moments)}"
                )
            if min(moments["std"]) <= 0:
                raise InputError(f"model.feature_stats: the std of {modality} must be > 0")

    @property
    def num_labels(self) -> int:
        return len(self.labels)


@dataclass
class LossConfig:
    """How UniVA weighs its losses (docs/method.md §3.4): Total = (1 - alpha) L_cls + alpha L_con.

    `contrastive_weights` weigh the modalities inside L_con = sum_m w_m L_m / (number of
    modalities); the paper uses 3 for MOSEI's text and 1 elsewhere. `gather_negatives` (beyond
    the paper) contrasts against the global batch of all DDP ranks, not the local one.
    """

    alpha: float = 0.4
    temperature: float = 0.6
    delta: float = 0.1
    contrastive: bool = True
    va_positives: bool = True
    gather_negatives: bool = False
    contrastive_weights: dict[str, float] = field(
        default_factory=lambda: {"text": 1.0, "audio": 1.0, "vision": 1.0}
    )

    def __post_init__(self) -> None:
        if self.temperature <= 0:
            raise InputError(f"model.temperature must be > 0, got {self.temperature}")
        if not 0.0 <= self.alpha <= 1.0:
            raise InputError(f"model.alpha must lie in [0, 1], got {self.alpha}")
        if self.delta < 0:
            raise InputError(f"model.delta must be >= 0, got {self.delta}")


@dataclass
class OptimizerConfig:
    """The `model.lr`, `model.warmup_ratio`, `model.weight_decay` and `model.adam_eps` options;
    the defaults are the original code's, the presets set the paper's learning rates."""

    lr: float = 7e-5
    warmup_ratio: float = 0.1
    weight_decay: float = 0.0
    adam_eps: float = 1e-6

    def __post_init__(self) -> None:
        if self.lr <= 0:
            raise InputError(f"model.lr must be > 0, got {self.lr}")
        if not 0.0 <= self.warmup_ratio < 1.0:
            raise InputError(f"model.warmup_ratio must lie in [0, 1), got {self.warmup_ratio}")
        if self.weight_decay < 0:
            raise InputError(f"model.weight_decay must be >= 0, got {self.weight_decay}")
        if self.adam_eps <= 0:
            raise InputError(f"model.adam_eps must be > 0, got {self.adam_eps}")


def split_options(cls: type, options: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split `options` into the fields of dataclass `cls` and the rest."""
    names = {f.name for f in dataclasses.fields(cls)}
    return {k: v for k, v in options.items() if k in names}, {
        k: v for k, v in options.items() if k not in names
    }
