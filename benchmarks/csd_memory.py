"""Peak memory of `python -m univa.data.convert labels=...` against the number of videos.

Writes MOSEI-like computational sequences (labels; COVAREP-like audio, 74 columns at 100 Hz;
FACET-like vision, 35 columns at 30 Hz), each video `--seconds` long and cut into 10 s labelled
segments, then converts them in a fresh process per size. That process reports its peak
resident memory (`ru_maxrss`, which also counts the pages of files it maps), the same just
before converting (imports done), and the peak of its anonymous memory (`RssAnon`, sampled
every 5 ms: what cannot be handed back to the disk). Run it with `PYTHONPATH` pointing at the
univa to measure: `python benchmarks/csd_memory.py --videos 50 200 [--max-length 500]`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import h5py
import numpy as np

SEGMENT_SECONDS = 10.0
MODALITIES = {"audio": (74, 100.0), "vision": (35, 30.0)}  # width, rows per second

CHILD = """
import json, resource, sys, threading, time
from univa.data.convert import main

def anon_kib():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("RssAnon:"))

peak, done = [anon_kib()], threading.Event()
def sample():
    while not done.wait(0.005):
        peak.append(anon_kib())
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
thread = threading.Thread(target=sample, daemon=True)
thread.start()
start = time.perf_counter()
main(sys.argv[1:])
seconds = time.perf_counter() - start
done.set()
thread.join()
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"maxrss_before_kib": before, "maxrss_kib": after,
                  "peak_anon_kib": max(peak), "seconds": seconds}))
"""


def write_sequences(folder: Path, videos: int, seconds: float) -> dict[str, Path]:
    """The labels, audio and vision sequences of `videos` videos, and their splits file; one
    video is generated at a time, so writing them needs little memory either."""
    rng = np.random.default_rng(0)
    vids = [f"video{i:05d}" for i in range(videos)]
    starts = np.arange(0.0, seconds, SEGMENT_SECONDS)
    segments = np.stack([starts, np.minimum(starts + SEGMENT_SECONDS, seconds)], axis=1)
    paths = {"labels": folder / "labels.csd", **{m: folder / f"{m}.csd" for m in MODALITIES}}
    with h5py.File(paths["labels"], "w") as file:
        data = file.create_group("All Labels").create_group("data")
        for vid in vids:
            labels = rng.choice([0.0, 0.0, 0.333, 1.0], size=(len(segments), 7))
            data.create_group(vid).create_dataset("features", data=labels)
            data[vid].create_dataset("intervals", data=segments)
    for modality, (width, rate) in MODALITIES.items():
        steps = np.arange(0.0, seconds, 1.0 / rate)
        intervals = np.stack([steps, steps + 1.0 / rate], axis=1)
        with h5py.File(paths[modality], "w") as file:
            data = file.create_group(modality).create_group("data")
            for vid in vids:
                features = rng.normal(size=(len(steps), width)).astype(np.float32)
                data.create_group(vid).create_dataset("features", data=features)
                data[vid].create_dataset("intervals", data=intervals)
    third = max(1, videos // 10)
    splits = {
        "train": vids[: -2 * third],
        "valid": vids[-2 * third : -third],
        "test": vids[-third:],
    }
    paths["splits"] = folder / "splits.json"
    paths["splits"].write_text(json.dumps(splits))
    return paths


def measure(videos: int, seconds: float, max_length: int | None, work: Path) -> dict:
    folder = Path(tempfile.mkdtemp(dir=work))
    paths = write_sequences(folder, videos, seconds)
    args = [f"labels={paths['labels']}", f"splits={paths['splits']}"]
    args += [f"{m}={paths[m]}" for m in MODALITIES]
    if max_length is not None:
        args += [f"max_length={max_length}"]
    out = folder / "out"
    done = subprocess.run(
        [sys.executable, "-c", CHILD, *args, f"out={out}"],
        check=True,
        capture_output=True,
        text=True,
    )
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    inputs = sum(paths[m].stat().st_size for m in MODALITIES)
    outputs = sum(p.stat().st_size for p in out.rglob("*.npy"))
    subprocess.run(["rm", "-rf", str(folder)], check=True)
    mib = 2**20
    return {
        "videos": videos,
        "seconds_per_video": seconds,
        "max_length": max_length,
        "input_features_mib": round(inputs / mib),
        "output_arrays_mib": round(outputs / mib),
        "maxrss_before_mib": round(figures["maxrss_before_kib"] / 1024),
        "maxrss_mib": round(figures["maxrss_kib"] / 1024),
        "peak_anon_mib": round(figures["peak_anon_kib"] / 1024),
        "convert_seconds": round(figures["seconds"], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, nargs="+", default=[50, 200])
    parser.add_argument("--seconds", type=float, default=60.0, help="length of each video")
    parser.add_argument("--max-length", type=int, default=None)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    import univa

    rows = [measure(n, args.seconds, args.max_length, args.work) for n in args.videos]
    report = {"univa": str(Path(univa.__file__).parent), "cpus": os.cpu_count(), "runs": rows}
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
