"""Every user-facing error: a mistake or a fault the user can fix, so reported without a traceback.

Kept in one module, importing nothing from univa, so that any layer may raise them and a caller
finds them all in one place. Each also derives from the built-in error a caller would expect (ValueError, KeyError,
FileNotFoundError), so code catching those keeps working.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


class UniVAError(Exception):
    """A mistake the user can fix; the message names the file, key or option and what is expected."""


class InputError(UniVAError, ValueError):
    """A value, an option or a file's content is not what univa expects."""


class InputFileNotFoundError(UniVAError, FileNotFoundError):
    """A file or folder univa needs is missing or cannot be opened."""


class InputKeyError(UniVAError, KeyError):
    """An entry univa needs is missing from a file."""

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0]) if self.args else ""


class UsageError(InputError):
    """A wrong option or input of a command (missing `ckpt_path`, an unknown split, a checkpoint
    that does not fit the data); the message says which and what is expected."""


class OutputWriteError(UniVAError, OSError):
    """A file could not be written (a full disk, a quota, a read-only or vanished folder)."""


class RunFolderInUseError(InputError):
    """Another run owns the output folder (it holds that run's checkpoints, or it is running)."""


class MediaError(InputError):
    """A recording that cannot be decoded: not media, no audio track, an unsupported codec."""


class CheckpointError(InputError):
    """The checkpoint to resume from is missing, damaged or not a univa training checkpoint."""


class NonFiniteLossError(UniVAError, RuntimeError):
    """The training loss became NaN or infinite; the run stopped before that step's update."""


class InterruptedRunError(UniVAError):
    """The run was stopped before it finished; the message says where to resume from."""


def user_error_in(error: BaseException) -> UniVAError | None:
    """The `UniVAError` behind `error`, also when wrapped (Hydra's instantiate wraps them)."""
    while error is not None:
        if isinstance(error, UniVAError):
            return error
        error = error.__cause__ or error.__context__
    return None


@contextmanager
def exit_on_user_error(program: str) -> Iterator[None]:
    """Print a user's mistake as `program: error: <message>` and exit with status 1.

    Anything else is a bug and keeps its traceback.
    """
    try:
        yield
    except Exception as error:
        cause = user_error_in(error)
        if cause is None:
            raise
        message = " ".join(str(cause).splitlines())  # one line, whatever the message
        raise SystemExit(f"{program}: error: {message}") from None
