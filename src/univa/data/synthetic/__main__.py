"""`python -m univa.data.synthetic out=DIR [flavor=mosei] [size=default] [seed=1111]`: write a
synthetic dataset (`univa.data.synthetic`), or synthetic recordings (`flavor=recordings`)."""

from __future__ import annotations

from omegaconf import DictConfig

from univa.cli.command import tool_entry_point
from univa.data.synthetic.generator import write_synthetic_dataset
from univa.errors import UsageError


def synthetic_command(cfg: DictConfig) -> None:
    """Write the dataset (or recordings) of `flavor`, `size` and `seed` to `out`."""
    try:
        if cfg.flavor == "recordings":
            from univa.data.synthetic.recordings import write_synthetic_recordings

            path = write_synthetic_recordings(str(cfg.out), cfg.seed, cfg.size)
        else:
            path = write_synthetic_dataset(str(cfg.out), cfg.flavor, cfg.seed, cfg.size)
    except (FileExistsError, ValueError) as err:  # a dataset there, or no such flavour or size
        raise UsageError(str(err)) from None
    print(f"wrote a synthetic {cfg.flavor} dataset ({cfg.size}, seed {cfg.seed}) to {path}")


main = tool_entry_point("univa.data.synthetic", synthetic_command)


if __name__ == "__main__":
    main()
