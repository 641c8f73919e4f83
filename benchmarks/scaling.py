"""How the synthetic data's costs grow with its size: generation, first load, cached load, peak
memory and a training epoch of the synthetic preset's small model, per `dataset.size`.

    python benchmarks/scaling.py [--flavor mosei|m3ed] [--sizes tiny,small,default,full]
                                 [--max-steps 60] [--root DIR] [--keep]

Each measurement runs in its own process, so its peak memory (ru_maxrss: resident pages,
file-backed mapped ones included) is its own; `private_mib` is the process's anonymous
resident memory at the end (RssAnon), what memory-mapping saves. First load = unpickling the
released layout, checking it and writing the array cache; cached load = reading that cache.
The epoch runs the `synthetic_glove` preset's model (hidden 64, one layer per modality, batch
32) over the training split on CPU (`--threads`, default 1: on a shared machine two threads
wait on each other at every barrier); when an epoch has more than `--max-steps` steps, that many
are timed and the epoch time is extrapolated from their median (the median step of a
shorter epoch, times its steps, likewise). Writes
`benchmarks/scaling_<flavor>.json` and prints a table.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).parent
BATCH = 32  # the preset's batch size


def private_mib() -> float:
    """This process's anonymous resident memory (not file-backed pages), in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def memory() -> dict:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"peak_rss_mib": peak, "private_mib": private_mib()}


def generate(args: argparse.Namespace) -> dict:
    from univa.data.synthetic.generator import write_synthetic_dataset

    start = time.perf_counter()
    write_synthetic_dataset(args.dir, args.flavor, size=args.size)
    return {"seconds": time.perf_counter() - start, **memory()}


def datamodule(args: argparse.Namespace):
    from univa.data import SyntheticDataModule

    return SyntheticDataModule(args.dir, flavor=args.flavor, size=args.size, batch_size=BATCH)


def load(args: argparse.Namespace) -> dict:
    data = datamodule(args)
    start = time.perf_counter()
    data.setup()
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "rows": {s: len(d) for s, d in data.datasets.items()}, **memory()}


def model_options() -> dict:
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from univa.cli import CONFIG_DIR

    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose("train", overrides=["dataset=synthetic", "text=glove"])  # synthetic_glove
    options = OmegaConf.to_container(cfg.model, resolve=True)
    options.pop("_target_")
    return options


def epoch(args: argparse.Namespace) -> dict:
    import torch

    from univa import UniVALitModule

    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    data = datamodule(args)
    data.setup()
    options = model_options()
    module = UniVALitModule(**data.data_spec, **options).train()
    optimizer = torch.optim.AdamW(module.parameters(), lr=options["lr"], eps=1e-6, fused=True)
    loader = data.train_dataloader()
    steps, times = len(loader), []
    start = time.perf_counter()
    for index, batch in enumerate(loader):
        if index > args.max_steps:  # step 0 warms up; then max_steps timed steps
            break
        losses = module.compute_losses(batch, module(batch))
        losses["total"].backward()
        torch.nn.utils.clip_grad_norm_(module.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        now = time.perf_counter()
        if index:
            times.append(now - start)
        start = now
    median = statistics.median(times) if times else float("nan")  # robust to a busy machine
    return {
        "steps_per_epoch": steps,
        "steps_timed": len(times),
        "ms_per_step": median * 1000,
        "epoch_seconds": median * steps,
        "extrapolated": len(times) + 1 < steps,
        **memory(),
    }


CHILDREN = {"generate": generate, "first_load": load, "cached_load": load, "epoch": epoch}


def child(stage: str, args: argparse.Namespace, data_dir: Path, size: str) -> dict:
    command = [sys.executable, __file__, "--child", stage, "--flavor", args.flavor,
               "--size", size, "--dir", str(data_dir), "--max-steps", str(args.max_steps),
               "--threads", str(args.threads)]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"{stage} {size} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def planned(flavor: str, size: str, rows: dict[str, int]) -> dict:
    from univa.data.synthetic.generator import plan

    shape = plan(flavor, size)
    return {
        "utterances": rows,
        "max_len": shape.max_len,
        "dims": shape.dims,
        "feature_mib": sum(shape.feature_bytes(n) for n in rows.values()) / 2**20,
    }


def table(rows: list[dict]) -> str:
    head = (
        "| size | utterances | features MiB | generate s | first load s | cached load s "
        "| peak RSS MiB gen / first / cached | private MiB cached | epoch s | s per GiB gen / first / cached |"
    )
    lines = [head, "|" + "---|" * 10]
    for r in rows:
        gib = r["feature_mib"] / 1024
        per_gib = " / ".join(
            f"{r[k]['seconds'] / gib:.1f}" for k in ("generate", "first_load", "cached_load")
        )
        peaks = " / ".join(
            f"{r[k]['peak_rss_mib']:.0f}" for k in ("generate", "first_load", "cached_load")
        )
        mark = "*" if r["epoch"]["extrapolated"] else ""
        lines.append(
            f"| {r['size']} | {sum(r['utterances'].values())} | {r['feature_mib']:.0f} "
            f"| {r['generate']['seconds']:.1f} | {r['first_load']['seconds']:.1f} "
            f"| {r['cached_load']['seconds']:.2f} | {peaks} | {r['cached_load']['private_mib']:.0f} "
            f"| {r['epoch']['epoch_seconds']:.1f}{mark} | {per_gib} |"
        )  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flavor", choices=["mosei", "m3ed"], default="mosei")
    parser.add_argument("--sizes", default="tiny,small,default,full")
    parser.add_argument("--max-steps", type=int, default=60)
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads of the epoch (1: steady when shared)"
    )
    parser.add_argument("--root", type=Path, default=None, help="where the datasets are written")
    parser.add_argument("--keep", action="store_true", help="keep the generated datasets")
    parser.add_argument("--child", choices=list(CHILDREN), help=argparse.SUPPRESS)
    parser.add_argument("--size", help=argparse.SUPPRESS)
    parser.add_argument("--dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(CHILDREN[args.child](args)))
        return

    root = Path(tempfile.mkdtemp(dir=args.root, prefix="univa-scaling-"))
    rows = []
    try:
        for size in args.sizes.split(","):
            data_dir = root / f"{args.flavor}-{size}"
            row = {"size": size}
            for stage in CHILDREN:
                row[stage] = child(stage, args, data_dir, size)
                print(size, stage, json.dumps(row[stage]), flush=True)
            row |= planned(args.flavor, size, row["first_load"]["rows"])
            rows.append(row)
            if not args.keep:
                shutil.rmtree(data_dir)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    import torch

    result = {
        "machine": f"{platform.machine()}, 2 shared CPU cores, torch {torch.__version__}",
        "flavor": args.flavor,
        "max_steps": args.max_steps,
        "epoch_threads": args.threads,
        "sizes": rows,
    }
    (HERE / f"scaling_{args.flavor}.json").write_text(json.dumps(result, indent=2))
    print(table(rows))


if __name__ == "__main__":
    main()
