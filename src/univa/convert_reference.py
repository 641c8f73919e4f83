"""Convert an original UniVA checkpoint (docs/original-checkpoints.md §3) into a Lightning checkpoint.

`UniVALitModule.load_from_checkpoint(OUT)` then works with `weights_only=True` (all
hyper-parameters are plain values), so a converted model evaluates or fine-tunes like one
trained here. The source is read with `weights_only=True` too (`univa.reference`): a file whose
pickle would run code is refused, whatever TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD says. A converted
checkpoint records no data settings: evaluate and predict ask for the dataset overrides.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import lightning

from univa.files import atomic_write
from univa.reference import load_reference_checkpoint
from univa.training.checkpoint_io import save_checkpoint_file


def convert(src: str | Path, out: str | Path, text_model: str | Path | None = None) -> Path:
    """Write the converted checkpoint to `out`, which must not exist yet; return its path."""
    out = Path(out)
    if out.exists():
        raise FileExistsError(f"{out} exists; not overwriting it")
    module = load_reference_checkpoint(src, text_model)
    checkpoint = {
        "state_dict": module.state_dict(),
        "hyper_parameters": dict(module.hparams),
        "pytorch-lightning_version": lightning.__version__,  # Lightning's migration reads it
    }
    with atomic_write(out, replace=False) as file:  # nor one created meanwhile
        save_checkpoint_file(checkpoint, file)
    return out


def main(argv: list[str] | None = None) -> None:
    """CLI: ``python -m univa.convert_reference SRC.pth OUT.ckpt [--text-model DIR]``."""
    parser = argparse.ArgumentParser(
        prog="python -m univa.convert_reference",
        description="Convert a checkpoint of the original UniVA code into a Lightning checkpoint "
        "of univa.UniVALitModule.",
    )
    parser.add_argument("src", help="checkpoint written by the original code (.pth)")
    parser.add_argument("out", help="Lightning checkpoint to create (.ckpt); never overwritten")
    parser.add_argument(
        "--text-model",
        default=None,
        help="local folder of the text PLM (no tokenizer needed); replaces the saved "
        "text_plm_path, required when that path does not exist here",
    )
    args = parser.parse_args(argv)
    try:
        path = convert(args.src, args.out, args.text_model)
    except (OSError, ValueError) as err:  # the user's to fix: one line
        parser.exit(1, f"univa.convert_reference: error: {err}\n")
    print(f"wrote {path}; load it with univa.UniVALitModule.load_from_checkpoint")


if __name__ == "__main__":
    main()
