"""The original UniVA network and losses, re-implemented plainly (docs/method.md §2, §3 and docs/original-checkpoints.md §1).

Not part of the package (the wheel does not ship it): the oracle that `tests/test_reference.py`
and `tests/test_losses.py` check univa against, and the baseline `benchmarks/train_step.py` times.

Attribute names follow the original `models.py` and `modules/Transformer.py`, so `state_dict()`
has exactly the keys of the original's checkpoints. Computation follows the original too:
separate Q/K/V, TF-style LayerNorm, erf GELU, a per-row loop gathering the utterance tokens,
`nn.KLDivLoss(reduction="mean")` and the SupCon loss with its double loop over VA pairs.
"""

from __future__ import annotations

import argparse
import copy
import math

import torch
import torch.nn.functional as F
from torch import nn
from transformers import AutoModel

from univa.constants import GLOVE  # the original's sentinel is univa's


class LayerNorm(nn.Module):
    """TF style: epsilon inside the square root."""

    def __init__(self, hidden_size: int, eps: float) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(hidden_size))
        self.bias = nn.Parameter(torch.zeros(hidden_size))
        self.variance_epsilon = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        u = x.mean(-1, keepdim=True)
        s = (x - u).pow(2).mean(-1, keepdim=True)
        return self.weight * ((x - u) / torch.sqrt(s + self.variance_epsilon)) + self.bias


class SelfAttention(nn.Module):
    def __init__(self, config: argparse.Namespace) -> None:
        super().__init__()
        self.num_attention_heads = config.num_attention_heads
        self.attention_head_size = config.hidden_size // config.num_attention_heads
        self.query = nn.Linear(config.hidden_size, config.hidden_size)
        self.key = nn.Linear(config.hidden_size, config.hidden_size)
        self.value = nn.Linear(config.hidden_size, config.hidden_size)
        self.dropout = nn.Dropout(config.attention_probs_dropout_prob)

    def transpose_for_scores(self, x: torch.Tensor) -> torch.Tensor:
        x = x.view(*x.shape[:-1], self.num_attention_heads, self.attention_head_size)
        return x.permute(0, 2, 1, 3)

    def forward(self, hidden_states: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        query = self.transpose_for_scores(self.query(hidden_states))
        key = self.transpose_for_scores(self.key(hidden_states))
        value = self.transpose_for_scores(self.value(hidden_states))
        scores = query @ key.transpose(-1, -2) / math.sqrt(self.attention_head_size)
        probs = self.dropout(nn.Softmax(dim=-1)(scores + attention_mask))
        context = (probs @ value).permute(0, 2, 1, 3).contiguous()
        return context.view(*context.shape[:-2], -1)


def gelu(x: torch.Tensor) -> torch.Tensor:
    return x * 0.5 * (1.0 + torch.erf(x / math.sqrt(2.0)))


class TransformerIntermediate(nn.Module):
    def __init__(self, config: argparse.Namespace) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.intermediate_size)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return gelu(self.dense(hidden_states))


class ResidualNorm(nn.Module):
    """Linear -> Dropout -> LayerNorm(. + residual); `Residual_Norm` / `Output_Residual_Norm`."""

    def __init__(self, config: argparse.Namespace, in_size: int) -> None:
        super().__init__()
        self.dense = nn.Linear(in_size, config.hidden_size)
        self.LayerNorm = LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, hidden_states: torch.Tensor, input_tensor: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.dropout(self.dense(hidden_states)) + input_tensor)


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, config: argparse.Namespace) -> None:
        super().__init__()
        self.selfatt = SelfAttention(config)
        self.dense_norm = ResidualNorm(config, config.hidden_size)

    def forward(self, input_tensor: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.dense_norm(self.selfatt(input_tensor, attention_mask), input_tensor)


class TransformerEncoderLayer(nn.Module):
    def __init__(self, config: argparse.Namespace) -> None:
        super().__init__()
        self.transformer_self_attention = MultiHeadSelfAttention(config)
        self.intermediate = TransformerIntermediate(config)
        self.output = ResidualNorm(config, config.intermediate_size)

    def forward(self, inputs: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        attention_output = self.transformer_self_attention(inputs, attention_mask)
        return self.output(self.intermediate(attention_output), attention_output)


class TransformerEncoder(nn.Module):
    def __init__(self, config: argparse.Namespace, layer_num: int, max_lens: int) -> None:
        super().__init__()
        self.position_embeddings = nn.Embedding(max_lens, config.hidden_size)
        layer = TransformerEncoderLayer(config)
        self.layer = nn.ModuleList([copy.deepcopy(layer) for _ in range(layer_num)])

    def forward(self, feature_input: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        batch, length = feature_input.shape[:2]
        positions = self.position_embeddings(torch.arange(length)).unsqueeze(0).repeat(batch, 1, 1)
        inputs = feature_input + positions
        for layer_module in self.layer:
            inputs = layer_module(inputs, attention_mask)
        return inputs


class AdditiveAttention(nn.Module):
    def __init__(self, inputs_dim: int, hidden_dim: int) -> None:
        super().__init__()
        self.query_vector = nn.Parameter(torch.randn(inputs_dim))
        self.value = nn.Linear(hidden_dim, 1)
        self.P = nn.Linear(inputs_dim, hidden_dim)
        self.Q = nn.Linear(inputs_dim, hidden_dim)
        self.tanh = nn.Tanh()

    def forward(self, inputs: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        batch, length, _ = inputs.size()
        if length == 1:
            return inputs.squeeze()
        scores = self.value(self.tanh(self.P(inputs) + self.Q(self.query_vector))).squeeze()
        scores = scores.masked_fill(mask == 0.0, -1e9)
        alpha = F.softmax(scores, dim=-1).view(batch, 1, length)
        return torch.bmm(alpha, inputs).squeeze(dim=1)


def euclidean_distance(va: torch.Tensor) -> torch.Tensor:
    expanded = va.unsqueeze(1).expand(-1, va.size(0), -1)
    tiled = va.repeat(va.size(0), 1).view(va.size(0), va.size(0), -1)
    return torch.sqrt(torch.sum((expanded - tiled) ** 2, dim=2))


def va_aware_supcon_loss(
    features: torch.Tensor, va: torch.Tensor | None, threshold: float, temperature: float
) -> torch.Tensor:
    """The original `VA_aware_SupConLoss` (contrast mode "one"), features (B, 2 views, H)."""
    batch = features.shape[0]
    mask = torch.eye(batch)
    if va is not None:
        distance = euclidean_distance(va)
        for i in range(batch):
            for j in range(batch):
                if i != j and mask[i, j] == 0 and distance[i, j] < threshold:
                    mask[i, j] = 1
    contrast_feature = torch.cat(torch.unbind(features, dim=1), dim=0)
    anchor_dot_contrast = features[:, 0] @ contrast_feature.T / temperature
    logits = anchor_dot_contrast - anchor_dot_contrast.max(dim=1, keepdim=True).values.detach()
    mask = mask.repeat(1, features.shape[1])
    logits_mask = torch.scatter(torch.ones_like(mask), 1, torch.arange(batch).view(-1, 1), 0)
    mask = mask * logits_mask
    exp_logits = torch.exp(logits) * logits_mask
    log_prob = logits - torch.log(exp_logits.sum(1, keepdim=True) + 1e-10)
    mean_log_prob_pos = (mask * log_prob).sum(1) / (mask.sum(1) + 1e-10)
    return -mean_log_prob_pos.mean()


class OriginalUniVA(nn.Module):
    """`multimodal_t_a_v_model`; `args` as the original's argparse config (docs/original-checkpoints.md §1)."""

    def __init__(self, args: argparse.Namespace) -> None:
        super().__init__()
        self.args = args
        if args.text_plm_checkpoint != GLOVE:
            self.text_plm = AutoModel.from_pretrained(args.text_plm_path, trust_remote_code=False)
            self.text_linear_plm = nn.Sequential(
                nn.Linear(self.text_plm.config.hidden_size, args.hidden_size),
                nn.Dropout(args.fc_dropout),
            )
        else:
            self.text_linear_glove = nn.Sequential(
                nn.Linear(300, args.hidden_size), nn.Dropout(args.fc_dropout)
            )
            self.text_utt_level_transformer = TransformerEncoder(
                args, args.text_num_transformer_layers, args.get_text_utt_max_lens
            )
        self.text_attention_mapping = AdditiveAttention(args.hidden_size, args.hidden_size)
        for m in ("audio", "vision"):
            linear = nn.Sequential(
                nn.Linear(getattr(args, f"{m}_feat_dim"), args.hidden_size),
                nn.Dropout(args.fc_dropout),
            )
            setattr(self, f"{m}_linear", linear)
            encoder = TransformerEncoder(
                args,
                getattr(args, f"{m}_num_transformer_layers"),
                getattr(args, f"get_{m}_utt_max_lens"),
            )
            setattr(self, f"{m}_utt_level_transformer", encoder)
            setattr(self, f"{m}_attention_mapping", AdditiveAttention(*[args.hidden_size] * 2))
        self.fc = nn.Sequential(
            nn.Linear(3 * args.hidden_size, args.num_multi_labels), nn.Dropout(args.final_dropout)
        )
        if args.labelSimilar_regulari:
            self.label_similar_matrix = nn.Parameter(
                torch.rand(args.num_multi_labels, args.num_multi_labels)
            )
        self.classifier = nn.LogSoftmax(dim=-1)  # KL mode only

    def encode(self, m: str, inputs: torch.Tensor, att_mask: torch.Tensor) -> torch.Tensor:
        """Linear -> transformer with the -10000 extended mask -> additive pooling."""
        extended = (1.0 - att_mask.unsqueeze(1).unsqueeze(2).float()) * -10000.0
        linear = getattr(self, "text_linear_glove" if m == "text" else f"{m}_linear")
        trans = getattr(self, f"{m}_utt_level_transformer")(linear(inputs), extended)
        return getattr(self, f"{m}_attention_mapping")(trans, att_mask)

    def encode_plm_text(
        self, text_inputs: torch.Tensor, text_att_mask: torch.Tensor, text_flag_mask: torch.Tensor
    ) -> torch.Tensor:
        dia_outputs = self.text_plm(text_inputs, text_att_mask)[0]
        utt_feats = torch.zeros_like(dia_outputs)
        utt_masks = torch.zeros_like(text_att_mask)
        for i in range(text_inputs.shape[0]):
            valid = text_flag_mask[i].bool()
            utt_feats[i, : int(valid.sum())] = dia_outputs[i][valid]
            utt_masks[i, : int(valid.sum())] = text_att_mask[i][valid]
        return self.text_attention_mapping(self.text_linear_plm(utt_feats), utt_masks)

    def forward(
        self, batch: dict[str, torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """log_probs, predictions, classification loss (with prior), VA-aware SupCon loss."""
        args = self.args
        if args.text_plm_checkpoint != GLOVE:
            text = self.encode_plm_text(
                batch["text_ids"], batch["text_mask"], batch["text_utt_mask"]
            )
        else:
            text = self.encode("text", batch["text"], batch["text_mask"])
        audio = self.encode("audio", batch["audio"], batch["audio_mask"])
        vision = self.encode("vision", batch["vision"], batch["vision_mask"])
        log_probs = self.classifier(self.fc(torch.cat((text, audio, vision), dim=-1)))
        regular_term = 0
        if args.labelSimilar_regulari:
            label_norm = torch.norm(log_probs.unsqueeze(2) - log_probs.unsqueeze(1), p=2, dim=0)
            regular_term = torch.sum(label_norm * self.label_similar_matrix) / log_probs.shape[0]
        preds = (torch.exp(log_probs) > args.thres_kl).float()
        target = F.softmax(batch["labels"], dim=-1)
        cls = nn.KLDivLoss(reduction="mean")(log_probs, target) * 1000 + regular_term
        losses = {}
        for m, feat in (("text", text), ("audio", audio), ("vision", vision)):
            va = batch[f"va_{m}"] if args.vaAug else None
            both = torch.stack((feat, feat), dim=1)
            losses[m] = va_aware_supcon_loss(both, va, args.thres_dist, args.temp)
        text_weight = 3 if args.DATASET == "MOSEI" else 1
        con = (text_weight * losses["text"] + losses["audio"] + losses["vision"]) / 3
        return log_probs, preds, cls, con
