"""Convert an original UniVA checkpoint (docs/original-checkpoints.md §3) into a Lightning checkpoint.

`UniVALitModule.load_from_checkpoint(OUT)` then works with `weights_only=True` (all
hyper-parameters are plain values), so a converted model evaluates or fine-tunes like one
trained here. The source is read with `weights_only=True` too (`univa.reference`): a file whose
pickle would run code is refused, whatever TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD says. A converted
checkpoint records no data settings: evaluate and predict ask for the dataset overrides.
"""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig

from univa.cli.command import tool_entry_point
from univa.errors import UsageError
from univa.files import atomic_write


def convert(src: str | Path, out: str | Path, text_model: str | Path | None = None) -> Path:
    """Write the converted checkpoint to `out`, which must not exist yet; return its path."""
    import lightning  # here, not at import: --help and --cfg job answer without it

    from univa.reference import load_reference_checkpoint
    from univa.training.checkpoint_io import save_checkpoint_file

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


def convert_command(cfg: DictConfig) -> None:
    """`python -m univa.convert_reference src=FILE.pth out=FILE.ckpt [text_model=DIR]`."""
    text_model = None if cfg.text_model is None else str(cfg.text_model)
    try:
        path = convert(str(cfg.src), str(cfg.out), text_model)
    except (OSError, ValueError) as err:  # the user's to fix: one line
        raise UsageError(str(err)) from None
    print(f"wrote {path}; load it with univa.UniVALitModule.load_from_checkpoint")


main = tool_entry_point("univa.convert_reference", convert_command)


if __name__ == "__main__":
    main()
