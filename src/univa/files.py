"""Files and folders written whole or not at all.

Every file univa publishes goes through `atomic_write` (generated folders are written inside a
`building_folder`): a temporary file in the same folder, flushed to the disk, then renamed into
place. A full disk, an I/O error or a kill at any moment
leaves the previous file (or none), never a truncated one. A user's own file is never replaced
(`replace=False`); a run's own outputs (rewritten when a run reuses its folder) are replaced in
one step; generated folders appear only once complete. Files get the user's normal permissions
(0666 less the umask), as any other program's would.
"""

from __future__ import annotations

import csv
import errno
import glob
import os
import secrets
import shutil
import socket
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, Any

from univa.errors import InputError, OutputWriteError, UniVAError

TEMPORARY_SUFFIX = ".tmp"
PARTIAL_INFIX = ".partial-"  # `.<out>.partial-<tag>`: a folder being built
CLAIM = ".univa-claim"  # made in an empty `out` by the one writer moving its entries in
# what renaming a folder onto `out` fails with when something is there
TAKEN = (errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR, errno.EISDIR)


def _temporary_tag() -> str:
    """`<host>-<pid>-<random>`: who writes the temporary file, so that the leftovers of a
    killed writer can be told from those of a live one."""
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(4)}"


def _is_dead_writer(tag: str) -> bool:
    """Whether the temporary file tagged `tag` belongs to a process of this host that is gone."""
    host, _, pid = tag.rpartition("-")[0].rpartition("-")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:  # alive, owned by another user
        return False
    return False


def _dead_leftovers(path: Path, infix: str, suffix: str = "") -> list[Path]:
    """The entries `.<name><infix><tag><suffix>` next to `path` whose tag names a dead writer."""
    prefix = f".{path.name}{infix}"
    return [
        leftover
        for leftover in path.parent.glob(f"{glob.escape(prefix)}*{suffix}")
        if _is_dead_writer(leftover.name[len(prefix) : len(leftover.name) - len(suffix)])
    ]


def remove_dead_temporaries(path: Path) -> None:
    """Remove the temporary files of `path` left by writers of this host that were killed
    (best effort: one that cannot be removed does not stop the write)."""
    for leftover in _dead_leftovers(path, ".", TEMPORARY_SUFFIX):
        with suppress(OSError):
            leftover.unlink()


def _create_temporary(path: Path) -> tuple[Path, int]:
    """A new hidden file next to `path`, created with mode 0o666 so that the umask (and a
    folder's default ACL) decide its permissions, not mkstemp's owner-only 0o600."""
    while True:
        tmp = path.with_name(f".{path.name}.{_temporary_tag()}{TEMPORARY_SUFFIX}")
        with suppress(FileExistsError):
            return tmp, os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)


def _sync_folder(folder: Path) -> None:
    """Make a rename in `folder` durable; filesystems that cannot sync a folder are skipped."""
    with suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _publish(tmp: Path, path: Path, replace: bool) -> None:
    """Put the complete `tmp` at `path` in one step."""
    if replace:
        os.replace(tmp, path)
        return
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise InputError(f"{path} already exists; not overwriting it") from None


@contextmanager
def atomic_write(
    path: Path, mode: str = "wb", *, replace: bool = True, **open_args: Any
) -> Iterator[IO]:
    """An open file whose content appears at `path` only once written, flushed and synced.

    `replace=True` renames it over any old file; `replace=False` hard-links it into place,
    which fails with an `InputError` instead of replacing a file that is there (also one that
    appeared meanwhile). Any `OSError` on the way (ENOSPC, EDQUOT, EROFS, ...) ends in an
    `OutputWriteError` naming the folder; the old file stays and no temporary file is left.
    `open_args` go to `open` (encoding, newline).
    """
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_dead_temporaries(path)
        tmp, fd = _create_temporary(path)
        with os.fdopen(fd, mode, **open_args) as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        _publish(tmp, path, replace)
        _sync_folder(path.parent)
    except UniVAError:
        raise
    except OSError as error:
        reason = error.strerror or str(error)
        raise OutputWriteError(
            f"cannot write {path.name} into {path.parent}: {reason}; "
            f"the previous {path.name}, if any, is unchanged"
        ) from error
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)


def write_csv(path: Path, header: list[str], rows: list[list], replace: bool = False) -> None:
    """Write a complete CSV file at `path` (see `atomic_write` for `replace`)."""
    with atomic_write(path, "w", replace=replace, newline="", encoding="utf-8") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def write_text(path: Path, text: str, replace: bool = True) -> None:
    """Write a complete UTF-8 text file at `path` (see `atomic_write` for `replace`)."""
    with atomic_write(path, "w", replace=replace, encoding="utf-8") as file:
        file.write(text)


def holds_something(path: Path) -> bool:
    """Whether `path` exists as anything but an empty folder: what a command that writes a new
    folder there must refuse, so that nothing of the user's is overwritten or mixed in."""
    return path.exists() and (not path.is_dir() or any(path.iterdir()))


def _taken(out: Path) -> InputError:
    return InputError(
        f"{out} is no longer absent or an empty folder (written meanwhile by another writer?); "
        "not writing into it"
    )


def _move_in(tmp: Path, out: Path, last: str | None, exclusive: bool) -> None:
    """Publish the complete `tmp` as `out`: one rename when `out` is absent (or an empty folder
    meanwhile); else its entries move in, `last` last, under an exclusive claim if asked."""
    if not out.exists():
        try:
            tmp.rename(out)
        except OSError as error:
            if error.errno in TAKEN:
                raise _taken(out) from None
            raise
        return
    entries = sorted(tmp.iterdir(), key=lambda path: path.name == last)
    claim = out / CLAIM
    if exclusive:
        try:
            claim.mkdir()  # one writer at a time; and none once another has moved in
        except (FileExistsError, NotADirectoryError):
            raise _taken(out) from None
    try:
        if exclusive and any(entry.name != CLAIM for entry in out.iterdir()):
            raise _taken(out)
        for entry in entries:
            entry.rename(out / entry.name)
    finally:
        if exclusive:
            with suppress(OSError):
                claim.rmdir()


def remove_dead_partials(out: Path) -> None:
    """Remove the partial folders of `out` left by writers of this host that were killed."""
    for leftover in _dead_leftovers(out, PARTIAL_INFIX):
        shutil.rmtree(leftover, ignore_errors=True)


@contextmanager
def building_folder(
    out: Path, last: str | None = None, *, exclusive: bool = False
) -> Iterator[Path]:
    """A temporary sibling of `out` (`.<name>.partial-<host>-<pid>-<random>`, the partial
    folders of killed writers removed first) to write into; on success it becomes `out`.

    An absent `out` appears in one rename. Into an existing folder the entries move, the one
    named `last` moved last so that a reader checking for it finds the rest in place.
    `exclusive=True` writes only an absent or empty `out`: of writers racing for it exactly one
    wins, the others get an `InputError`. Any `OSError` (a full or read-only disk) ends in an
    `OutputWriteError` naming `out`; on any error the temporary folder is removed.
    """
    where = Path(os.path.abspath(out))  # `.` has no name to build a sibling from
    tmp = None
    try:
        where.parent.mkdir(parents=True, exist_ok=True)
        remove_dead_partials(where)
        tmp = where.parent / f".{where.name}{PARTIAL_INFIX}{_temporary_tag()}"
        tmp.mkdir()  # not tempfile.mkdtemp: its 0o700 would carry over to the published folder
        yield tmp
        _move_in(tmp, where, last, exclusive)
    except UniVAError:
        raise
    except OSError as error:
        raise OutputWriteError(f"cannot write {out}: {error.strerror or error}") from error
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
