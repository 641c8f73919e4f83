"""How long the command line takes to answer, against `python -c "import lightning"`.

    python benchmarks/startup.py [--repeats 3] [--out benchmarks/startup.json]

Times, as median wall-clock seconds of `--repeats` fresh processes each, `import lightning` and
`python -m univa.<command> --help` and `--cfg job` for train, evaluate and predict, and reports
each as a ratio to `import lightning` (the target: at most 0.4x). The processes import the
univa found on PYTHONPATH, so the same script measures another checkout
(`PYTHONPATH=/other/src python benchmarks/startup.py --out before.json`).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

COMMANDS = ("train", "evaluate", "predict")
QUESTIONS = ("--help", "--cfg job")
BASELINE = "import lightning"


def wall_seconds(argv: list[str], repeats: int) -> float:
    """Median wall time of `repeats` runs of `argv` (each must succeed)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(repeats: int) -> dict:
    python = sys.executable
    cases = {BASELINE: [python, "-c", BASELINE]}
    for command in COMMANDS:
        for question in QUESTIONS:
            cases[f"univa.{command} {question}"] = [
                python,
                "-m",
                f"univa.{command}",
                *question.split(),
            ]
    seconds = {name: wall_seconds(argv, repeats) for name, argv in cases.items()}
    return {
        "seconds": seconds,
        "ratio_to_import_lightning": {
            name: value / seconds[BASELINE] for name, value in seconds.items()
        },
        "repeats": repeats,
        "univa": os.environ.get("PYTHONPATH", ""),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, Python {platform.python_version()}",
        "date": time.strftime("%Y-%m-%d"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("startup.json"))
    args = parser.parse_args()
    result = measure(args.repeats)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    for name, value in result["seconds"].items():
        ratio = result["ratio_to_import_lightning"][name]
        print(f"{name:32s} {value:6.2f} s  {ratio:5.2f}x")


if __name__ == "__main__":
    main()
