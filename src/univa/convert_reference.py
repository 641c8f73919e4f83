"""`python -m univa.convert_reference`: convert an original UniVA checkpoint into a Lightning
checkpoint (`univa.original.convert`, docs/original-checkpoints.md §3)."""

from __future__ import annotations

from omegaconf import DictConfig

from univa.cli.command import tool_entry_point
from univa.errors import UsageError


def convert_command(cfg: DictConfig) -> None:
    """`python -m univa.convert_reference src=FILE.pth out=FILE.ckpt [text_model=DIR]`."""
    from univa.original import convert  # here, not at import: --help answers without torch

    text_model = None if cfg.text_model is None else str(cfg.text_model)
    try:
        path = convert(str(cfg.src), str(cfg.out), text_model)
    except (OSError, ValueError) as err:  # the user's to fix: one line
        raise UsageError(str(err)) from None
    print(f"wrote {path}; load it with univa.UniVALitModule.load_from_checkpoint")


main = tool_entry_point("univa.convert_reference", convert_command)


if __name__ == "__main__":
    main()
