"""Malformed `.csd` files (issue 20, item 6): a video stored as a dataset, links leading out of
the file, a few KB declaring hundreds of GiB. Each ends in one line naming the file and the
entry; no link is followed and nothing the size of the lie is allocated."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from univa.data.convert import main as convert_main
from univa.data.csd.sequences import read_csd

h5py = pytest.importorskip("h5py")


def write_csd(path: Path, damage: Callable | None = None) -> Path:
    """A two-video sequence in the SDK's layout, then `damage(data group)`."""
    with h5py.File(path, "w") as file:
        data = file.create_group("audio").create_group("data")
        for vid in ("v1", "v2"):
            data.create_group(vid).create_dataset("features", data=np.ones((3, 4), np.float32))
            data[vid].create_dataset("intervals", data=np.array([[0, 1], [1, 2], [2, 3]], float))
        if damage is not None:
            damage(data)
    return path


def video_as_dataset(data) -> None:
    del data["v2"]
    data.create_dataset("v2", data=np.ones((2, 2)))


def external_link(data) -> None:
    del data["v2"]
    data["v2"] = h5py.ExternalLink("/etc/passwd", "/")


def soft_link(data) -> None:
    del data["v2"]
    data["v2"] = h5py.SoftLink("/nowhere")


def external_features(data) -> None:
    del data["v2"]["features"]
    data["v2"]["features"] = h5py.ExternalLink("/etc/passwd", "/features")


def huge_compressed(data) -> None:
    del data["v2"]["features"]
    data["v2"].create_dataset(
        "features", shape=(10**7, 10**4), dtype=np.float32, chunks=(1000, 100), compression="gzip"
    )


DAMAGES = {
    "video-as-dataset": (video_as_dataset, r"data/v2 must be a group, it is a Dataset"),
    "external-link": (external_link, r"data/v2 is a soft or external link"),
    "soft-link": (soft_link, r"data/v2 is a soft or external link"),
    "external-features": (external_features, r"data/v2/features is a soft or external link"),
    "huge": (huge_compressed, r"data/v2/features declares \(10000000, 10000\) float32"),
}


@pytest.mark.parametrize(("damage", "match"), DAMAGES.values(), ids=DAMAGES.keys())
def test_a_malformed_csd_is_refused_in_one_line(
    tmp_path: Path, damage: Callable, match: str
) -> None:
    path = write_csd(tmp_path / "audio.csd", damage)
    assert path.stat().st_size < 100_000
    with pytest.raises(ValueError, match=rf"audio.csd: {match}") as caught:
        read_csd(path)
    assert "\n" not in str(caught.value)


def test_convert_ends_in_one_line_and_writes_nothing(tmp_path: Path) -> None:
    audio = write_csd(tmp_path / "audio.csd", huge_compressed)
    splits = tmp_path / "splits.json"
    splits.write_text(json.dumps({"train": ["v1"], "valid": ["v2"], "test": []}))
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exit_info:
        convert_main([f"labels={audio}", f"audio={audio}", f"splits={splits}", f"out={out}"])
    message = str(exit_info.value.code)
    assert message.startswith("univa.data.convert: error: ") and "\n" not in message
    assert "declares (10000000, 10000) float32" in message and "max_steps=" in message
    assert not out.exists()


def test_max_steps_is_an_option(tmp_path: Path) -> None:
    path = write_csd(tmp_path / "audio.csd")
    assert set(read_csd(path, max_steps=3).videos) == {"v1", "v2"}
    with pytest.raises(ValueError, match=r"data/v1/features declares \(3, 4\) float32"):
        read_csd(path, max_steps=2)
