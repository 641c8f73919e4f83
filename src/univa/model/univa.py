"""The UniVA network (SPEC section 2): one encoder per modality, concatenation, linear classifier."""

from __future__ import annotations

import torch
from torch import nn

from univa.label_prior import label_similarity
from univa.model.config import UniVAConfig
from univa.model.encoder import SequenceEncoder
from univa.model.plm import PLMTextEncoder
from univa.vocabulary import is_glove


class UniVA(nn.Module):
    """Takes a batch dict (SPEC section 8) and returns logits, probabilities, predictions, features."""

    def __init__(self, config: UniVAConfig) -> None:
        super().__init__()
        self.config = config
        self.encoders = nn.ModuleDict(
            {modality: self._encoder(modality) for modality in config.modalities}
        )
        self.classifier = nn.Sequential(
            nn.Linear(len(config.modalities) * config.hidden_size, config.num_labels),
            nn.Dropout(config.final_dropout),
        )
        if config.label_prior:
            self.label_similarity = nn.Parameter(label_similarity(config.labels))

    def _encoder(self, modality: str) -> nn.Module:
        """A PLM for text when `text_encoder` names one, else a transformer over features."""
        config = self.config
        if modality == "text" and not is_glove(config.text_encoder):
            return PLMTextEncoder(config.text_encoder, config.hidden_size, config.fc_dropout)
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

    def forward(self, batch: dict[str, torch.Tensor]) -> dict:
        features = {
            modality: encoder(*(batch[key] for key in encoder.input_keys))
            for modality, encoder in self.encoders.items()
        }
        logits = self.classifier(torch.cat([features[m] for m in self.config.modalities], dim=-1))
        out: dict = {"logits": logits, "features": features}
        if self.config.loss_mode == "kl":
            out["log_probs"] = torch.log_softmax(logits, dim=-1)
            out["probs"] = out["log_probs"].exp()
        else:
            out["probs"] = torch.sigmoid(logits)
        out["preds"] = (out["probs"] > self.config.threshold).long()
        return out
