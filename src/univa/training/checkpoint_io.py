"""Lightning checkpoints written in place, atomically: `AtomicCheckpointIO`.

Lightning's `TorchCheckpointIO` stages each checkpoint in `$TMPDIR` and moves it with
`shutil.move`, a copy when the output folder is on another filesystem (a node-local temporary
folder, a shared output folder): a kill or a full disk during that copy leaves a truncated
checkpoint. This plugin writes next to the checkpoint and renames (`univa.files.atomic_write`),
so `last.ckpt` is always the previous complete file or the new one. The trainer configs set it
(`conf/trainer/default.yaml`, `plugins:`); Lightning hands it to every strategy, DDP included.
"""

from __future__ import annotations

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
