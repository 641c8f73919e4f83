"""JSON from a user's folder, read so that no file can crash the reader.

Python's `json` parser recurses once per nesting level, so a value nested some thousands deep
(a few hundred kilobytes of `[`) ends in a `RecursionError` traceback, here or in whatever walks
the value next (OmegaConf, `repr`). univa's own files nest a handful of levels: the brackets
are counted first, outside strings, and a file nested deeper than `MAX_DEPTH` is refused.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from itertools import accumulate
from pathlib import Path
from typing import Any

from univa.errors import InputError

MAX_DEPTH = 64  # far more than any manifest, config or splits file needs
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


def nesting_depth(text: str) -> int:
    """How deep the arrays and objects of the JSON `text` nest (brackets in strings ignored)."""
    steps = (1 if b in "[{" else -1 for b in _BRACKET.findall(_STRING.sub("", text)))
    return max(accumulate(steps, initial=0))


def loads(text: str, where: str | Path, object_pairs_hook: Callable | None = None) -> Any:
    """The value of the JSON `text` read from `where`; too deep or invalid -> `InputError`."""
    depth = nesting_depth(text)
    if depth > MAX_DEPTH:
        raise InputError(
            f"{where}: JSON nested {depth} levels deep, more than the {MAX_DEPTH} univa reads"
        )
    try:
        return json.loads(text, object_pairs_hook=object_pairs_hook)
    except json.JSONDecodeError as error:
        raise InputError(f"{where}: not valid JSON ({error})") from None


def read_json(path: Path, object_pairs_hook: Callable | None = None) -> Any:
    """The value of the JSON file `path` (UTF-8). A missing or unreadable file raises the
    `OSError`, for the caller to word; undecodable, invalid or too deep JSON is an `InputError`."""
    raw = Path(path).read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InputError(f"{path}: not UTF-8 text ({error})") from None
    return loads(text, path, object_pairs_hook)
