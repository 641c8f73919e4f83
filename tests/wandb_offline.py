"""Read what an offline W&B run recorded, from its `run-<id>.wandb` file.

The file is a LevelDB-style log of protobuf `Record`s (wandb's own transaction log, uploaded
by `wandb sync`): a 7-byte header, then 32 KiB blocks of chunks, each with a 7-byte header
(crc32, length, type: 1 full, 2 first, 3 middle, 4 last; a block tail under 7 bytes is
padding). Tests read it to check what a dashboard would show without an account or network.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from wandb.proto import wandb_internal_pb2

BLOCK_SIZE = 32 * 1024
HEADER = struct.Struct("<4sHB")  # b":W&B", magic 0xBEE1, version
CHUNK = struct.Struct("<IHB")  # crc32, length, type
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


def _records(path: Path) -> Iterator[bytes]:
    data = path.read_bytes()
    ident, magic, _ = HEADER.unpack_from(data)
    assert (ident, magic) == (b":W&B", 0xBEE1), f"{path} is not a W&B transaction log"
    position, pending = HEADER.size, b""
    while position + CHUNK.size <= len(data):
        left_in_block = BLOCK_SIZE - position % BLOCK_SIZE
        if left_in_block < CHUNK.size:
            position += left_in_block
            continue
        _, length, kind = CHUNK.unpack_from(data, position)
        start = position + CHUNK.size
        chunk = data[start : start + length]
        position = start + length
        if kind == FULL:
            yield chunk
        elif kind == FIRST:
            pending = chunk
        elif kind == MIDDLE:
            pending += chunk
        elif kind == LAST:
            yield pending + chunk
        else:  # zero padding: the rest of this block is empty
            position = start - CHUNK.size + left_in_block


def _key(item) -> str:
    return item.key or "/".join(item.nested_key)


@dataclass
class OfflineRun:
    """The parts of a run a dashboard shows: config, history rows, summary, group, exit code,
    logged artifacts."""

    folder: Path
    run_id: str = ""
    group: str = ""
    name: str = ""
    project: str = ""
    tags: list[str] = field(default_factory=list)
    config: dict = field(default_factory=dict)
    history: list[dict] = field(default_factory=list)
    summary: dict = field(default_factory=dict)
    exit_code: int | None = None
    artifacts: list[dict] = field(default_factory=list)  # name, type, aliases, metadata

    def column(self, key: str) -> list:
        """The values of `key` in the history rows that logged it."""
        return [row[key] for row in self.history if key in row]

    def media(self, kind: str) -> list[Path]:
        """Files under files/media/<kind> (images, table)."""
        return sorted((self.folder / "files" / "media" / kind).rglob("*.*"))


def read_offline_run(folder: Path) -> OfflineRun:
    """Parse `<folder>/run-*.wandb` (one offline run folder)."""
    (path,) = folder.glob("run-*.wandb")
    run = OfflineRun(folder)
    for data in _records(path):
        record = wandb_internal_pb2.Record()
        record.ParseFromString(data)
        kind = record.WhichOneof("record_type")
        if kind == "run":
            run.run_id, run.group, run.name = (
                record.run.run_id,
                record.run.run_group,
                record.run.display_name,
            )
            run.project, run.tags = record.run.project, list(record.run.tags)
            items = record.run.config.update
            run.config.update({_key(i): json.loads(i.value_json) for i in items})
        elif kind == "config":
            run.config.update({_key(i): json.loads(i.value_json) for i in record.config.update})
        elif kind == "history":
            run.history.append({_key(i): json.loads(i.value_json) for i in record.history.item})
        elif kind == "summary":
            run.summary.update({_key(i): json.loads(i.value_json) for i in record.summary.update})
        elif kind == "artifact":
            artifact = record.artifact
            metadata = json.loads(artifact.metadata) if artifact.metadata else {}
            run.artifacts.append(
                {
                    "name": artifact.name,
                    "type": artifact.type,
                    "aliases": list(artifact.aliases),
                    "metadata": metadata,
                }
            )
        elif kind == "exit":
            run.exit_code = record.exit.exit_code
    return run


def offline_runs(root: Path) -> list[OfflineRun]:
    """Every offline run folder under `root`, in folder order."""
    return [read_offline_run(p) for p in sorted(root.rglob("offline-run-*")) if p.is_dir()]
