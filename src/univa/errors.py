"""Errors about the user's data, files and options: fixable, so reported without a traceback.

Each also derives from the built-in error a caller would expect (ValueError, KeyError,
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
