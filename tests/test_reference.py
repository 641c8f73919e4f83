"""Original UniVA checkpoints (docs/original-checkpoints.md §3): loading, converting, and the errors on bad files.

A plain re-implementation of the original network (`original_model`) with random weights
is saved the way the original saves; the loaded `UniVALitModule` must reproduce its
predictions and both losses on the same batch.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import pytest
import torch

from original_model import OriginalUniVA
from univa import UniVALitModule
from univa.constants import M3ED_LABELS, MOSEI_LABELS
from univa.convert_reference import main as convert_main
from univa.data.synthetic.tiny_text_model import write_tiny_text_model
from univa.reference import load_reference_checkpoint

# The reference's `nn.KLDivLoss(reduction="mean")` is the original's and warns about it.
pytestmark = pytest.mark.filterwarnings("ignore:reduction. 'mean' divides:UserWarning")

LABELS = {"MOSEI": MOSEI_LABELS, "M3ED": M3ED_LABELS}
LENS = {"text": 7, "audio": 9, "vision": 8}
DIMS = {"text": 300, "audio": 5, "vision": 6}
DIALOGUE_LEN = 12
SENTENCES = ["i am so happy today", "that is really sad news", "why would you do that", "wow"]


def original_args(dataset: str = "MOSEI", **overrides) -> argparse.Namespace:
    """A config as the original's `main.py` builds it, with tiny sizes."""
    args = dict(
        DATASET=dataset,
        choice_modality="T+A+V",
        KLDivLoss=True,
        thres_kl=0.18,
        SupConLoss=True,
        temp=0.4,
        vaAug=True,
        thres_dist=0.1,
        labelSimilar_regulari=True,
        alpha=0.2,
        text_plm_checkpoint="glove",
        text_plm_path="/nonexistent/public_pretrained_model/glove",
        trg_lr=5e-5,
        hidden_size=16,
        fc_dropout=0.1,
        final_dropout=0.1,
        text_num_transformer_layers=2,
        audio_num_transformer_layers=1,
        vision_num_transformer_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        hidden_act="gelu",
        hidden_dropout_prob=0.1,
        attention_probs_dropout_prob=0.1,
        layer_norm_eps=1e-12,
        warm_up=0.1,
        weight_decay=0.0,
        seed=1111,
        num_multi_labels=len(LABELS[dataset]),
        audio_feat_dim=DIMS["audio"],
        vision_feat_dim=DIMS["vision"],
        get_text_utt_max_lens=LENS["text"],
        get_audio_utt_max_lens=LENS["audio"],
        get_vision_utt_max_lens=LENS["vision"],
    )
    return argparse.Namespace(**(args | overrides))


def build_original(args: argparse.Namespace, seed: int = 0) -> OriginalUniVA:
    """Random weights, every parameter perturbed so that no two share a value by construction."""
    torch.manual_seed(seed)
    model = OriginalUniVA(args)
    with torch.no_grad():
        for param in model.parameters():
            param.add_(0.1 * torch.randn_like(param))
    return model.eval()


def save_original(model: OriginalUniVA, path: Path, **config_changes: object) -> Path:
    """Save as the original's `save_checkpoint` does, the config changed by `config_changes`."""
    config = argparse.Namespace(**(vars(model.args) | config_changes))
    torch.save({"model": model.state_dict(), "config": config}, path)
    return path


def make_batch(num_labels: int, vocab_size: int | None = None, batch: int = 6) -> dict:
    """A univa batch (docs/api.md §1.2); token ids for the PLM path when `vocab_size` is given."""
    torch.manual_seed(1)
    out = {"labels": (torch.rand(batch, num_labels) < 0.4).float()}
    for modality, dim in DIMS.items():
        length = LENS[modality]
        lengths = torch.randint(1, length + 1, (batch,))
        lengths[0] = length
        out[modality] = torch.randn(batch, length, dim)
        out[f"{modality}_mask"] = (torch.arange(length) < lengths[:, None]).float()
        # VA on a coarse grid plus noise: close pairs exist at delta 0.1, and far ones
        out[f"va_{modality}"] = torch.randint(0, 3, (batch, 2)) * 0.5 + 0.01 * torch.randn(batch, 2)
    if vocab_size is not None:
        del out["text"]
        lengths = torch.randint(6, DIALOGUE_LEN + 1, (batch,))
        lengths[0] = DIALOGUE_LEN
        real = torch.arange(DIALOGUE_LEN) < lengths[:, None]
        ids = torch.randint(3, vocab_size, (batch, DIALOGUE_LEN))
        ids[:, 0] = 0  # <s>
        out["text_ids"] = ids.masked_fill(~real, 1)  # <pad>
        out["text_mask"] = real.long()
        start = torch.randint(1, 4, (batch,))[:, None]
        stop = torch.minimum(start + torch.randint(1, 5, (batch,))[:, None], lengths[:, None])
        steps = torch.arange(DIALOGUE_LEN)
        out["text_utt_mask"] = ((steps >= start) & (steps < stop)).long()
    return out


def assert_matches_original(module: UniVALitModule, original: OriginalUniVA, batch: dict) -> None:
    with torch.no_grad():
        log_probs, preds, cls, con = original(batch)
        out = module.model(batch)
        losses = module.compute_losses(batch, out)
    tol = dict(atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(out["log_probs"], log_probs, **tol)
    assert torch.equal(out["preds"].float(), preds)
    torch.testing.assert_close(losses["cls"], cls, **tol)
    torch.testing.assert_close(losses["con"], con, **tol)


@pytest.fixture(scope="module")
def text_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_text_model(tmp_path_factory.mktemp("plm") / "roberta", SENTENCES)


@pytest.fixture(scope="module")
def plm_original(text_model_dir: Path) -> OriginalUniVA:
    """MOSEI + a RoBERTa-style PLM, label prior on, as the paper's PLM runs."""
    args = original_args(text_plm_checkpoint="roberta-base", text_plm_path=str(text_model_dir))
    return build_original(args, seed=2)


@pytest.mark.parametrize(
    ("dataset", "changes"),
    [("MOSEI", {}), ("M3ED", {"labelSimilar_regulari": False, "vaAug": False, "temp": 0.7})],
    ids=["mosei-label-prior", "m3ed-no-prior-no-va"],
)
def test_glove_checkpoint_matches_the_original(tmp_path: Path, dataset: str, changes: dict) -> None:
    original = build_original(original_args(dataset, **changes))
    module = load_reference_checkpoint(save_original(original, tmp_path / "best_model.pth"))
    assert module.labels == LABELS[dataset]
    assert hasattr(module.model, "label_similarity") == original.args.labelSimilar_regulari
    assert not module.training
    assert_matches_original(module, original, make_batch(len(LABELS[dataset])))


@pytest.mark.parametrize("tokenizer_files", [True, False], ids=["full-folder", "model-only"])
def test_plm_checkpoint_matches_the_original(
    tmp_path: Path, text_model_dir: Path, plm_original: OriginalUniVA, tokenizer_files: bool
) -> None:
    folder = text_model_dir
    if not tokenizer_files:
        folder = tmp_path / "model_only"
        folder.mkdir()
        for name in ("config.json", "model.safetensors"):
            shutil.copy(text_model_dir / name, folder / name)
    # the saved path is the original machine's and does not exist here
    src = save_original(plm_original, tmp_path / "best_model.pth", text_plm_path="/media/x/roberta")
    module = load_reference_checkpoint(src, text_model=folder)
    vocab_size = plm_original.text_plm.config.vocab_size
    assert_matches_original(module, plm_original, make_batch(len(MOSEI_LABELS), vocab_size))


def test_plm_checkpoint_without_its_text_model_names_both_paths(
    tmp_path: Path, plm_original: OriginalUniVA
) -> None:
    src = save_original(plm_original, tmp_path / "best_model.pth", text_plm_path="/media/x/roberta")
    with pytest.raises(FileNotFoundError, match=r"/media/x/roberta.*text_model"):
        load_reference_checkpoint(src)
    with pytest.raises(FileNotFoundError, match=r"elsewhere.*/media/x/roberta"):
        load_reference_checkpoint(src, text_model=tmp_path / "elsewhere")


@pytest.mark.parametrize("text", ["glove", "plm"])
def test_convert_round_trip_loads_with_weights_only(
    tmp_path: Path, text_model_dir: Path, plm_original: OriginalUniVA, text: str
) -> None:
    if text == "glove":
        original, text_model, argv, vocab_size = build_original(original_args()), None, [], None
    else:
        original, text_model = plm_original, text_model_dir
        argv, vocab_size = [f"text_model={text_model}"], original.text_plm.config.vocab_size
    src = save_original(original, tmp_path / "best_model.pth", text_plm_path="/media/x/roberta")
    out = tmp_path / "converted" / "univa.ckpt"
    convert_main([f"src={src}", f"out={out}", *argv])

    loaded = UniVALitModule.load_from_checkpoint(out, weights_only=True).eval()
    direct = load_reference_checkpoint(src, text_model=text_model)
    batch = make_batch(len(MOSEI_LABELS), vocab_size)
    with torch.no_grad():
        expected, actual = direct.model(batch), loaded.model(batch)
        expected_losses = direct.compute_losses(batch, expected)
        actual_losses = loaded.compute_losses(batch, actual)
    assert torch.equal(actual["log_probs"], expected["log_probs"])
    assert torch.equal(actual["preds"], expected["preds"])
    for name in ("cls", "con", "total"):
        assert torch.equal(actual_losses[name], expected_losses[name])
    assert loaded.hparams == direct.hparams


def test_convert_refuses_to_overwrite(tmp_path: Path) -> None:
    src = save_original(build_original(original_args()), tmp_path / "best_model.pth")
    out = tmp_path / "univa.ckpt"
    out.write_bytes(b"keep me")
    with pytest.raises(SystemExit) as exited:
        convert_main([f"src={src}", f"out={out}"])
    assert out.read_bytes() == b"keep me"
    assert "not overwriting" in str(exited.value.code)


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"absent\.pth"):
        load_reference_checkpoint(tmp_path / "absent.pth")


def test_files_that_are_not_original_checkpoints_are_refused(tmp_path: Path) -> None:
    text = tmp_path / "notes.pth"
    text.write_text("not a checkpoint")
    with pytest.raises(ValueError, match=r"notes.pth is not a file saved by the original"):
        load_reference_checkpoint(text)
    lightning_like = tmp_path / "lightning.pth"
    torch.save({"state_dict": {}, "hyper_parameters": {}}, lightning_like)
    with pytest.raises(ValueError, match=r"lightning.pth is not .*found \['hyper_parameters'"):
        load_reference_checkpoint(lightning_like)


def test_config_without_a_needed_attribute_is_named(tmp_path: Path) -> None:
    original = build_original(original_args())
    del original.args.thres_dist
    with pytest.raises(ValueError, match=r"best_model.pth: .*'thres_dist'"):
        load_reference_checkpoint(save_original(original, tmp_path / "best_model.pth"))


def test_unknown_and_missing_state_dict_keys_are_listed(tmp_path: Path) -> None:
    original = build_original(original_args())
    state = original.state_dict()
    state["audio_utt_level_transformer.layer.0.extra.weight"] = torch.zeros(1)
    src = tmp_path / "unknown.pth"
    torch.save({"model": state, "config": original.args}, src)
    with pytest.raises(ValueError, match=r"no univa counterpart: \['audio_utt_level_transformer"):
        load_reference_checkpoint(src)

    state = original.state_dict()
    del state["vision_attention_mapping.query_vector"]
    torch.save({"model": state, "config": original.args}, src)
    with pytest.raises(ValueError, match=r"missing: \['encoders.vision.pooling.query'\]"):
        load_reference_checkpoint(src)

    # a prior matrix saved without the option that creates it
    src = save_original(original, tmp_path / "prior.pth", labelSimilar_regulari=False)
    with pytest.raises(ValueError, match=r"unexpected: \['label_similarity'\]"):
        load_reference_checkpoint(src)


def test_convert_on_a_full_disk_is_one_line_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """torch.save on a full disk raised a RuntimeError ("unexpected pos") over the OSError: a
    traceback instead of the one line naming the folder."""
    from adversarial.test_faults import full_disk_save

    src = save_original(build_original(original_args()), tmp_path / "best_model.pth")
    out = tmp_path / "converted" / "univa.ckpt"
    monkeypatch.setattr(torch, "save", full_disk_save(lambda obj: "state_dict" in obj))
    with pytest.raises(SystemExit) as exited:
        convert_main([f"src={src}", f"out={out}"])
    error = str(exited.value.code)
    assert error.startswith("univa.convert_reference: error: cannot write univa.ckpt into ")
    assert "No space left on device" in error and "\n" not in error
    assert list(out.parent.iterdir()) == []
