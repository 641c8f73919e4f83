"""The command line answers without loading the heavy libraries (issue 14, item 4): importing
an entry point, or asking it for --help, --cfg job or --info, imports neither torch nor
Lightning (nor transformers, matplotlib, wandb), for every command (issue 21, item 7); the
public `univa.UniVALitModule` still resolves, on first use."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from command_line import COMMANDS as RUNS
from command_line import TOOLS

HEAVY = ("torch", "lightning", "transformers", "matplotlib", "wandb")
COMMANDS = RUNS + TOOLS


def loaded_after(code: str) -> list[str]:
    """The heavy modules in sys.modules after `code` ran in a fresh interpreter."""
    probe = (
        f"import json, sys\n{code}\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    return json.loads(out.splitlines()[-1])


def test_importing_the_entry_points_loads_no_heavy_library():
    modules = [f"{c}.__main__" if c == "univa.data.synthetic" else c for c in COMMANDS]
    assert loaded_after("import univa, " + ", ".join(modules)) == []


@pytest.mark.slow  # each of the nine commands composes its config: seconds
@pytest.mark.parametrize("question", ["--help", "--cfg job", "--info"])
def test_the_command_line_answers_without_heavy_libraries(question):
    code = (
        "import runpy\n"
        f"for command in {COMMANDS!r}:\n"
        f"    sys.argv = [command, *{question.split()!r}]\n"
        "    try:\n"
        "        runpy.run_module(command, run_name='__main__')\n"
        "    except SystemExit as stop:\n"
        "        assert not stop.code, stop.code\n"
    )
    assert loaded_after(code) == []


def test_the_lit_module_still_resolves_from_the_package():
    import univa
    from univa.training.lit_module import UniVALitModule

    assert univa.UniVALitModule is UniVALitModule
    assert "UniVALitModule" in univa.__all__ and "UniVALitModule" in dir(univa)
    with pytest.raises(AttributeError, match="no attribute 'NoSuchName'"):
        _ = univa.NoSuchName
