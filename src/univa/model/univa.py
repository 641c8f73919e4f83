"""The UniVA network (docs/method.md §2): one encoder per modality, concatenation, linear classifier."""

from __future__ import annotations

from typing import TypedDict

import torch
from torch import nn
from transformers import PretrainedConfig

from univa.constants import Batch, is_glove, mask_key
from univa.label_prior import label_similarity
from univa.model.config import UniVAConfig
from univa.model.encoder import SequenceEncoder
from univa.model.plm import PLMTextEncoder
from univa.model.thresholds import predict_at


class _Output(TypedDict):
    logits: torch.Tensor  # (B, C)
    probs: torch.Tensor  # (B, C) softmax (KL mode) or sigmoid (BCE mode) scores
    preds: torch.Tensor  # (B, C) 0/1, probs above the threshold
    features: dict[str, torch.Tensor]  # modality -> (B, H) pooled representation


class UniVAOutput(_Output, total=False):
    """What `UniVA.forward` returns (docs/api.md §1.3); `log_probs` only in KL mode."""

    log_probs: torch.Tensor  # (B, C) log-softmax of the logits


class Standardize(nn.Module):
    """(x - mean) / std per feature, padded steps kept at 0; the statistics come with the
    config (non-persistent buffers), so the state dict is the paper's network's."""

    def __init__(self, mean: list[float], std: list[float]) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32), persistent=False)
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32), persistent=False)

    def forward(self, features: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        scaled = (features - self.mean.to(features.dtype)) / self.std.to(features.dtype)
        return scaled * mask.unsqueeze(-1).to(features.dtype)


class UniVA(nn.Module):
    """Takes a `Batch` (docs/api.md §1.3) and returns logits, probabilities, predictions, features.

    `text_model_config`, the PLM's Hugging Face config, builds the PLM from it (its weights
    loaded afterwards, as `univa.model.pretrained` does) instead of from `config.text_encoder`.
    """

    def __init__(
        self, config: UniVAConfig, text_model_config: PretrainedConfig | None = None
    ) -> None:
        super().__init__()
        self.config = config
        self.text_model_config = text_model_config
        self.encoders = nn.ModuleDict(
            {modality: self._encoder(modality) for modality in config.modalities}
        )
        self.classifier = nn.Sequential(
            nn.Linear(len(config.modalities) * config.hidden_size, config.num_labels),
            nn.Dropout(config.final_dropout),
        )
        self.standardizers = nn.ModuleDict(
            {m: Standardize(**(config.feature_stats or {})[m]) for m in config.standardize}
        )
        if config.label_prior:
            self.label_similarity = nn.Parameter(label_similarity(config.labels, config.label_va))

    def _encoder(self, modality: str) -> nn.Module:
        """A PLM for text when `text_encoder` names one, else a transformer over features."""
        config = self.config
        if modality == "text" and not is_glove(config.text_encoder):
            return PLMTextEncoder(
                config.text_encoder,
                config.hidden_size,
                config.fc_dropout,
                plm_config=self.text_model_config,
            )
        return SequenceEncoder(
            modality=modality,
            input_dim=config.input_dims[modality],
            max_len=config.max_lens[modality],
            num_layers=config.num_layers[modality],
            hidden_size=config.hidden_size,
            num_heads=config.num_heads,
            ffn_size=config.ffn_size,
            hidden_dropout=config.hidden_dropout,
            attention_dropout=config.attention_dropout,
            fc_dropout=config.fc_dropout,
            layer_norm_eps=config.layer_norm_eps,
        )

    def encode(self, modality: str, batch: Batch) -> torch.Tensor:
        """The pooled (B, H) features of one modality, from the batch tensors its encoder reads:
        a PLM reads the dialogue's token ids, their attention mask and the target utterance's
        tokens (each distinct dialogue once where the batch marks them, `share_dialogues`); a
        sequence encoder reads the modality's features and mask."""
        encoder = self.encoders[modality]
        if isinstance(encoder, PLMTextEncoder):
            return encoder(
                batch["text_ids"],
                batch["text_mask"],
                batch["text_utt_mask"],
                batch.get("dialogue_rows"),
                batch.get("row_dialogue"),
            )
        features, mask = batch[modality], batch[mask_key(modality)]
        if modality in self.standardizers:
            features = self.standardizers[modality](features, mask)
        return encoder(features, mask)

    def forward(self, batch: Batch) -> UniVAOutput:
        features = {modality: self.encode(modality, batch) for modality in self.config.modalities}
        logits = self.classifier(torch.cat(list(features.values()), dim=-1))
        kl = self.config.loss_mode == "kl"
        log_probs = torch.log_softmax(logits, dim=-1) if kl else None
        probs = log_probs.exp() if kl else torch.sigmoid(logits)
        preds = predict_at(probs, self.config.threshold)
        out = UniVAOutput(logits=logits, probs=probs, preds=preds, features=features)
        if log_probs is not None:
            out["log_probs"] = log_probs
        return out
