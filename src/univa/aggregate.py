"""`python -m univa.aggregate sweep_dir=DIR`: mean ± std of the test metrics over seeds, per configuration.

Every `results.json` under DIR (docs/run-folder.md §2) is one run. A run's configuration is its
Hydra overrides (`<run>/.hydra/overrides.yaml`) without the `seed=` override, so a 3-seed
multirun of two temperatures gives two rows of n=3; a run with no overrides.yaml is grouped with
the other runs of its parent folder. Std is the sample std (n-1); a configuration with a single
run shows "-" for it. The table is printed and written to `DIR/aggregate.md` (paste into a
paper) and `DIR/aggregate.csv`, the only two files this command writes (and rewrites).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException
from rich.console import Console
from rich.table import Table

from univa.cli.command import tool_entry_point
from univa.constants import METRIC_FORMATS, RESULTS_FILE, format_metric, metric_name
from univa.errors import InputError, UsageError
from univa.files import write_csv, write_text
from univa.safe_json import read_json

MARKDOWN_FILE = "aggregate.md"
CSV_FILE = "aggregate.csv"
_SEED_OVERRIDE = re.compile(r"^\+{0,2}seed=")


@dataclass
class Group:
    """The runs of one configuration: its overrides, their seeds and test metrics."""

    overrides: tuple[str, ...]
    seeds: list[int]
    values: dict[str, list[float]]

    def mean(self, key: str) -> float:
        return float(np.mean(self.values[key]))

    def std(self, key: str) -> float:
        """Sample std (n-1); NaN for a single run, where it is undefined."""
        values = self.values[key]
        return float(np.std(values, ddof=1)) if len(values) > 1 else float("nan")

    def cell(self, key: str, sep: str = " ± ") -> str:
        """`mean ± std` as written in a paper; the console table uses a tighter `sep`."""
        std = self.std(key)
        spread = "-" if np.isnan(std) else format_metric(key, std)
        return f"{format_metric(key, self.mean(key))}{sep}{spread}"


def configuration(run_dir: Path, sweep_dir: Path) -> tuple[str, ...]:
    """Hydra overrides of a run minus its seed, sorted so that their order does not matter."""
    overrides_file = run_dir / ".hydra" / "overrides.yaml"
    if not overrides_file.is_file():
        parent = run_dir.parent.relative_to(sweep_dir) if run_dir != sweep_dir else Path(".")
        return (f"folder {parent.as_posix()}",)
    overrides = [str(o) for o in OmegaConf.load(overrides_file)]
    return tuple(sorted(o for o in overrides if not _SEED_OVERRIDE.match(o)))


def collect(sweep_dir: Path, tuned: bool = False) -> tuple[list[Group], list[str]]:
    """Groups of every results.json under `sweep_dir` holding test metrics, and what was skipped.

    `tuned`: the test metrics at the thresholds tuned on validation (`results["tuned"]["test"]`,
    runs with `analysis.threshold_tuning`) instead of the fixed threshold's.
    """
    groups: dict[tuple[str, ...], Group] = {}
    skipped = []
    for path in sorted(sweep_dir.rglob(RESULTS_FILE)):
        try:
            results = read_json(path)
            metrics = results["tuned"]["test"] if tuned else results["test"]
            test = {metric: float(metrics[metric]) for metric in METRIC_FORMATS}
            seed = int(results.get("seed", -1))
            damaged = [f"{k}={v}" for k, v in test.items() if not math.isfinite(v)]
            if damaged:  # a NaN would print as a mean, and hide the std of the others
                raise ValueError(f"not a finite number: {', '.join(damaged)}")
            key = configuration(path.parent, sweep_dir)
        except (ValueError, KeyError, TypeError, OmegaConfBaseException, yaml.YAMLError) as error:
            # unreadable or damaged, or a test=false run
            what = "tuned-threshold test" if tuned else "test"
            reason = " ".join(str(error).split())
            skipped.append(f"{path} (no {what} metrics: {type(error).__name__} {reason})")
            continue
        group = groups.setdefault(key, Group(key, [], {k: [] for k in METRIC_FORMATS}))
        group.seeds.append(seed)
        for metric, value in test.items():
            group.values[metric].append(value)
    return [groups[k] for k in sorted(groups)], skipped


def labels(groups: list[Group]) -> tuple[list[str], list[str]]:
    """Short row labels (the overrides that differ between groups) and the overrides they share."""
    shared = set.intersection(*(set(g.overrides) for g in groups))
    rows = [" ".join(o for o in g.overrides if o not in shared) for g in groups]
    rows = [row or ("(shared only)" if shared else "(defaults)") for row in rows]
    return rows, sorted(shared)


def to_markdown(groups: list[Group], what: str = "Test metrics") -> str:
    rows, shared = labels(groups)
    headers = ["Configuration", "Seeds", *map(metric_name, METRIC_FORMATS)]
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" + "---:|" * (len(headers) - 1)]
    for label, group in zip(rows, groups, strict=True):
        cells = [f"`{label}`", str(len(group.seeds)), *(group.cell(k) for k in METRIC_FORMATS)]
        lines.append("| " + " | ".join(cells) + " |")
    note = f'{what}, mean ± sample std over seeds ("-": a single run).'
    if shared:
        note += " Shared overrides: " + " ".join(f"`{o}`" for o in shared) + "."
    return "\n".join([*lines, "", note]) + "\n"


def write_summary_csv(groups: list[Group], path: Path) -> None:
    """One row per configuration with full overrides, seeds, and mean/std columns (empty std for n=1)."""
    stats = [f"{k}_{s}" for k in METRIC_FORMATS for s in ("mean", "std")]
    rows = []
    for group in groups:
        numbers = [(group.mean(k), group.std(k)) for k in METRIC_FORMATS]
        flat = ["" if np.isnan(v) else repr(v) for pair in numbers for v in pair]
        seeds = " ".join(map(str, group.seeds))
        rows.append([" ".join(group.overrides), len(group.seeds), seeds, *flat])
    write_csv(path, ["overrides", "n", "seeds", *stats], rows, replace=True)


def print_table(groups: list[Group], console: Console, what: str = "Test metrics") -> None:
    rows, shared = labels(groups)
    table = Table(title=f"{what}: mean ± std over seeds", title_style="bold")
    table.add_column("configuration", overflow="fold", min_width=13)
    table.add_column("seeds", justify="right")
    for key in METRIC_FORMATS:
        table.add_column(metric_name(key), justify="right", no_wrap=True)
    for label, group in zip(rows, groups, strict=True):
        table.add_row(label, str(len(group.seeds)), *(group.cell(k, "±") for k in METRIC_FORMATS))
    console.print(table)
    if shared:
        console.print("shared overrides: " + " ".join(shared), highlight=False)


def aggregate(cfg: DictConfig) -> None:
    """`python -m univa.aggregate`: the table of `sweep_dir`'s runs, printed and written there."""
    sweep_dir = Path(str(cfg.sweep_dir))
    if not sweep_dir.is_dir():
        raise UsageError(f"sweep_dir={sweep_dir} is not a folder")
    groups, skipped = collect(sweep_dir, tuned=cfg.tuned)
    console = Console()
    for entry in skipped:
        console.print(f"skipped {entry}", style="yellow", highlight=False, soft_wrap=True)
    if not groups:
        raise InputError(f"no results.json with test metrics under {sweep_dir}")
    what = "Test metrics at the thresholds tuned on validation" if cfg.tuned else "Test metrics"
    print_table(groups, console, what)
    write_text(sweep_dir / MARKDOWN_FILE, to_markdown(groups, what))
    write_summary_csv(groups, sweep_dir / CSV_FILE)
    console.print(
        f"wrote {sweep_dir / MARKDOWN_FILE} and {sweep_dir / CSV_FILE}",
        highlight=False,
        soft_wrap=True,
    )


main = tool_entry_point("univa.aggregate", aggregate)


if __name__ == "__main__":
    main()
