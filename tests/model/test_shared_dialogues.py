"""Each dialogue through the PLM once in evaluation: same outputs as one pass per utterance."""

from pathlib import Path

import pytest
import torch
from torch.utils.data import DataLoader

from univa.data import M3EDDataModule, MoseiDataModule
from univa.data.dataset import EmotionDataset, collate_trimmed, share_dialogues
from univa.data.released.text import read_dialogues
from univa.data.tokenization import SplitText, Utterance, load_tokenizer, plm_inputs
from univa.model import UniVA, UniVAConfig
from univa.model.plm import PLMTextEncoder

FLAVOURS = [(MoseiDataModule, "tiny_mosei"), (M3EDDataModule, "tiny_m3ed")]  # RoBERTa, BERT style


def plm_datamodule(module_class, data_dir: Path, batch_size: int = 8):
    datamodule = module_class(
        data_dir, text_encoder=str(data_dir / "text_model"), batch_size=batch_size
    )
    datamodule.setup()
    return datamodule


def tiny_network(datamodule) -> UniVA:
    torch.manual_seed(0)
    config = UniVAConfig(
        **datamodule.data_spec,
        hidden_size=16,
        num_heads=2,
        ffn_size=32,
        num_layers={"audio": 1, "vision": 1},
    )
    return UniVA(config).eval()


@torch.no_grad()
def outputs(network: UniVA, batches) -> dict[str, torch.Tensor]:
    outs = [network(batch) for batch in batches]
    return {
        "probs": torch.cat([out["probs"] for out in outs]),
        "text": torch.cat([out["features"]["text"] for out in outs]),
    }


class CountRows:
    """Forward hook on the PLM: how many rows it encoded."""

    def __init__(self, plm: torch.nn.Module) -> None:
        self.rows = 0
        self.handle = plm.register_forward_hook(self)

    def __call__(self, module, args, kwargs_or_output) -> None:
        self.rows += kwargs_or_output.last_hidden_state.shape[0]


def row_order(datamodule, split: str) -> DataLoader:
    """Today's evaluation batches: rows in order, one PLM pass per row."""
    return DataLoader(datamodule.datasets[split], batch_size=4, collate_fn=collate_trimmed)


@pytest.mark.parametrize(("module_class", "fixture"), FLAVOURS)
def test_evaluation_runs_each_dialogue_through_the_plm_once_with_unchanged_outputs(
    module_class, fixture: str, request
) -> None:
    datamodule = plm_datamodule(module_class, request.getfixturevalue(fixture), batch_size=4)
    network = tiny_network(datamodule)
    counter = CountRows(network.encoders["text"].plm)
    for split in ("valid", "test"):
        expected = outputs(network, row_order(datamodule, split))
        counter.rows = 0
        loader = datamodule.val_dataloader() if split == "valid" else datamodule.split_loader(split)
        ours = outputs(network, loader)
        dialogues = len(read_dialogues(datamodule.data_dir, split))
        assert counter.rows == dialogues < len(datamodule.datasets[split]), split
        rows = [row for batch in loader.sampler for row in batch]  # the loader's row order
        if split == "test":  # split_loader: row order, as split_utt_ids and split_labels
            assert rows == list(range(len(rows)))
            labels = torch.cat([batch["labels"] for batch in loader])
            assert torch.equal(labels, datamodule.split_labels(split))
        for key in expected:
            torch.testing.assert_close(ours[key], expected[key][rows], rtol=1e-4, atol=1e-5)


def long_dialogues(tokenizer) -> dict[str, torch.Tensor]:
    """Three dialogues over the 512-token limit (cut, some utterances to nothing) and one short."""
    words = [w for w in tokenizer.get_vocab() if w.isalpha()][:50]
    sizes = {"long": [300, 250, 40, 5], "many": [40] * 14, "one": [600], "short": [4, 6]}
    dialogues, texts, utterances = {}, {}, []
    for name, lengths in sizes.items():
        dialogues[name] = [f"{name}_{i}" for i in range(len(lengths))]
        for position, length in enumerate(lengths):
            texts[f"{name}_{position}"] = " ".join(
                words[(position + k) % 50] for k in range(length)
            )
            utterances.append(Utterance(f"{name}_{position}", name, position))
    split = SplitText(utterances, dialogues, texts, [(0.0, 0.0)] * len(utterances))
    return plm_inputs(split, tokenizer)


@pytest.mark.parametrize("fixture", ["tiny_mosei", "tiny_m3ed"])
def test_truncated_dialogues_share_passes_exactly(fixture: str, request) -> None:
    text_model = str(request.getfixturevalue(fixture) / "text_model")
    inputs = long_dialogues(load_tokenizer(text_model))
    assert inputs["text_mask"].sum(dim=1).max() == 512  # cut to the limit
    torch.manual_seed(0)
    encoder = PLMTextEncoder(text_model, hidden_size=8, fc_dropout=0.1).eval()
    batch = share_dialogues(dict(EmotionDataset(inputs | {"labels": torch.zeros(len(inputs["text_ids"]), 1)})[list(range(len(inputs["text_ids"])))]))  # fmt: skip
    assert len(batch["dialogue_rows"]) == 4

    def encode(shared: bool) -> tuple[torch.Tensor, torch.Tensor]:
        encoder.zero_grad()
        extra = (batch["dialogue_rows"], batch["row_dialogue"]) if shared else ()
        pooled = encoder(batch["text_ids"], batch["text_mask"], batch["text_utt_mask"], *extra)
        pooled.pow(2).sum().backward()
        grad = encoder.plm.embeddings.word_embeddings.weight.grad.clone()
        return pooled.detach(), grad

    (shared, shared_grad), (each, each_grad) = encode(True), encode(False)
    torch.testing.assert_close(shared, each, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(shared_grad, each_grad, rtol=1e-4, atol=1e-5)  # training too
