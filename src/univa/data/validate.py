"""`python -m univa.data.validate data_dir=DIR`: check a dataset folder in the generic format
and print every problem at once (exit 1), or say that it is valid (exit 0) and whether it can be
trained on (all three splits, labelled) or only predicted on."""

from __future__ import annotations

import sys

from omegaconf import DictConfig

from univa.cli.command import tool_entry_point
from univa.data.generic.check import training_problems, validate_dataset

PROGRAM = "univa.data.validate"


def validate_command(cfg: DictConfig) -> None:
    """Say whether `cfg.data_dir` is a valid dataset; exit 1 after listing its problems."""
    data_dir = str(cfg.data_dir)
    problems = validate_dataset(data_dir)
    if not problems:
        lacking = training_problems(data_dir)
        use = "trains with dataset=folder" if not lacking else "; ".join(lacking)
        print(f"{data_dir}: a valid univa dataset ({use}; predict reads it with input=)")
        return
    print(f"{PROGRAM}: {data_dir}: {len(problems)} problems:", file=sys.stderr)
    for problem in problems:
        print(f"  {problem}", file=sys.stderr)
    raise SystemExit(1)


main = tool_entry_point(PROGRAM, validate_command)


if __name__ == "__main__":
    main()
