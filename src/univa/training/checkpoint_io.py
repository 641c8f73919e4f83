"""Lightning checkpoints written in place, atomically (`AtomicCheckpointIO`), and why one does
not load (`load_error_reason`).

Lightning's `TorchCheckpointIO` stages each checkpoint in `$TMPDIR` and moves it with
`shutil.move`, a copy when the output folder is on another filesystem (a node-local temporary
folder, a shared output folder): a kill or a full disk during that copy leaves a truncated
checkpoint. This plugin writes next to the checkpoint and renames (`univa.files.atomic_write`),
so `last.ckpt` is always the previous complete file or the new one. The trainer configs set it
(`conf/trainer/default.yaml`, `plugins:`); Lightning hands it to every strategy, DDP included.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import IO, Any

import fsspec
import torch
from fsspec.implementations.local import LocalFileSystem
from lightning.fabric.utilities.types import _PATH
from lightning.pytorch.plugins.io import TorchCheckpointIO
from typing_extensions import override

from univa.files import atomic_write


class AtomicCheckpointIO(TorchCheckpointIO):
    """`torch.save` into a temporary file in the checkpoint's folder, fsync, then rename.

    Remote paths (`s3://`, ...) keep Lightning's fsspec transaction. A full disk ends in a
    `univa.errors.OutputWriteError` naming the folder, the previous checkpoint unchanged.
    """

    @override
    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: _PATH, storage_options: Any | None = None
    ) -> None:
        fs, local_path = fsspec.core.url_to_fs(str(path))
        if storage_options is not None or not isinstance(fs, LocalFileSystem):
            super().save_checkpoint(checkpoint, path, storage_options)
            return
        with atomic_write(Path(local_path)) as file:
            save_checkpoint_file(checkpoint, file)


def save_checkpoint_file(checkpoint: dict[str, Any], file: IO[bytes]) -> None:
    """`torch.save`, failing with the `OSError` of a failed write (a full disk).

    torch's zip writer, closing after a failed write, raises a RuntimeError ("unexpected pos")
    over it, which would hide the cause from `atomic_write` and the user.
    """
    try:
        torch.save(checkpoint, file)
    except RuntimeError as error:
        if isinstance(error.__context__, OSError):
            raise error.__context__ from None
        raise


# torch's request, in a weights-only refusal, for an issue about the refused file
TORCH_ISSUE_ADVICE = r"Please file an issue with the following so that[^:]*:\s*"


def load_error_reason(error: BaseException) -> str:
    """Why torch could not load a file, in one line. A weights-only refusal names what it
    refused, without torch's advice to load the file unsafely or to file an issue."""
    text = str(error)
    if text.startswith("Weights only load failed"):
        details = [
            re.sub(TORCH_ISSUE_ADVICE, "", line)
            for line in text.splitlines()[1:]
            if line.strip() and not line.startswith("Check the documentation")
        ]
        text = "it holds more than plain values, refused by weights-only loading: " + " ".join(
            details
        )
    return f"{type(error).__name__}: {' '.join(text.split())}"
