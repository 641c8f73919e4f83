"""`python -m univa.data.validate DIR`: check a dataset folder in the generic format and print
every problem at once (exit 1), or say that it is valid (exit 0) and whether it can be trained
on (all three splits, labelled) or only predicted on."""

from __future__ import annotations

import argparse
import sys

from univa.data.folder_check import training_problems, validate_dataset

PROGRAM = "univa.data.validate"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m {PROGRAM}", description=__doc__)
    parser.add_argument("data_dir", help="the dataset folder (holding manifest.json)")
    args = parser.parse_args(argv)
    problems = validate_dataset(args.data_dir)
    if not problems:
        lacking = training_problems(args.data_dir)
        use = "trains with dataset=folder" if not lacking else "; ".join(lacking)
        print(f"{args.data_dir}: a valid univa dataset ({use}; predict reads it with input=)")
        return 0
    print(f"{PROGRAM}: {args.data_dir}: {len(problems)} problems:", file=sys.stderr)
    for problem in problems:
        print(f"  {problem}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
