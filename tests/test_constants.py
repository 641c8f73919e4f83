"""Each shared word has one home (issue 12): `univa.constants` for modalities, splits, the GloVe
sentinel and the metric display names, `univa.errors` for every user-facing error class.

Read from the source with `ast`, so that a second definition anywhere in src/univa fails here.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import univa
from univa import errors
from univa.constants import GLOVE, METRIC_FORMATS, MODALITIES, SPLITS, format_metric, is_glove

SRC = Path(univa.__file__).parent
HOME = {"constants.py", "errors.py"}
DISPLAY_NAME = re.compile(r"\b(" + "|".join(name for name, _ in METRIC_FORMATS.values()) + r")\b")


def _sources() -> Iterator[tuple[str, ast.Module]]:
    for path in sorted(SRC.rglob("*.py")):
        if path.name not in HOME or path.parent != SRC:
            yield str(path.relative_to(SRC)), ast.parse(path.read_text())


def _code_strings(tree: ast.Module) -> Iterator[ast.Constant]:
    """String constants, f-string parts included, that are not docstrings."""
    docs = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Expr)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
            yield node


def test_modalities_splits_glove_and_metric_names_are_spelt_only_in_the_constants() -> None:
    copies = []
    for name, tree in _sources():
        for node in ast.walk(tree):
            if isinstance(node, ast.Tuple | ast.List):
                values = tuple(getattr(e, "value", None) for e in node.elts)
                if values in (MODALITIES, SPLITS):
                    copies.append(f"{name}:{node.lineno} {values}")
        for node in _code_strings(tree):
            if node.value == GLOVE or DISPLAY_NAME.search(node.value):
                copies.append(f"{name}:{node.lineno} {node.value!r}")
    assert copies == []


def test_every_user_facing_error_class_lives_in_errors() -> None:
    error_names = {
        n for n, v in vars(errors).items() if isinstance(v, type) and issubclass(v, Exception)
    }
    elsewhere = [
        f"{name}: {node.name}"
        for name, tree in _sources()
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef)
        and any(getattr(b, "id", getattr(b, "attr", None)) in error_names for b in node.bases)
    ]
    assert elsewhere == []
    assert issubclass(errors.UsageError, errors.InputError)  # still a ValueError to callers


def test_the_shared_words() -> None:
    assert is_glove("glove") and not is_glove("roberta-base")
    assert [format_metric(k, 1 / 3) for k in METRIC_FORMATS] == ["0.33", "0.333", "0.33", "0.33"]
