"""The entry point shared by every command: `python -m univa.<command> key=value ...`.

Hydra composes the command's entry config (`conf/<command>.yaml`) and runs the task; every
mistake on the command line ends in one line `univa.<command>: error: ...` on stderr and a
non-zero exit, before any data is read:
Hydra's composition errors (a misspelt key, a value of the wrong type for the schemas of
`univa.conf`, an unknown group option, an unparsable override),
the checks of `univa.cli.config_check`, and the `UniVAError`s of the task. A failed task removes
its run folder when that holds only what Hydra wrote there. Everything else of Hydra (multirun,
sweepers, `--cfg`, `--help`, tab completion, Lightning's DDP relaunch of `sys.argv`) is
untouched. `entry_point` builds the commands that run jobs in run folders (train, evaluate,
predict); `tool_entry_point` the others, which write no run folder nor log (`hydra: tool`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import functools
import os
import re
import shutil
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.errors import (
    ConfigCompositionException,
    MissingConfigException,
    OverrideParseException,
    SearchPathException,
)
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import (
    ConfigAttributeError,
    ConfigKeyError,
    OmegaConfBaseException,
    ValidationError,
)

from univa.cli.config_check import SCALARS, check_config, first_line
from univa.conf import CONFIG_DIR
from univa.errors import UsageError, exit_on_user_error
from univa.report.console import quiet_library_noise

HYDRA_OUTPUT_SUBDIR = ".hydra"
HYDRA_MULTIRUN_FILE = "multirun.yaml"
# Hydra's own errors before a task runs: the command line does not compose
COMPOSITION_ERRORS = (ConfigCompositionException, OverrideParseException, SearchPathException)
# OmegaConf's words for a schema's types (in its validation errors) -> what a value must be
SCHEMA_TYPES: dict[str, str] = {
    r"converted to Float": SCALARS[float][1],
    r"converted to Integer": SCALARS[int][1],
    r"not a valid bool": SCALARS[bool][1],
    r"not a ListConfig": "a list, like [a,b]",
    r"to Dict\[": "a group of keys (key=value)",
}


# how Hydra refuses two modes at once, e.g. `-m ... --cfg hydra`
HYDRA_MODE_CLASH = "Only one of --run, --multirun"
MULTIRUN_FLAGS = {"-m", "--multirun"}
Main = Callable[[list[str] | None], None]


def entry_point(program: str, config_name: str, task: Callable[[DictConfig], Any]) -> Main:
    """The `main()` of a command that runs jobs in run folders: Hydra's app around `task`,
    errors as one line, and a failed job's run folder removed when it holds only Hydra's."""

    @functools.wraps(task)  # Hydra names the job (and its log) after the task's module
    def run_task(cfg: DictConfig) -> Any:
        output_dir = _job_output_dir()
        log_dir = OmegaConf.select(cfg, "paths.log_dir", throw_on_resolution_failure=False)
        try:
            with exit_on_user_error(program):
                check_config(cfg)
                return task(cfg)
        except BaseException:
            if output_dir is not None:
                with contextlib.suppress(OSError):  # the task's error is the one to report
                    remove_unused_run_folder(output_dir, log_dir and Path(log_dir).absolute())
            raise

    return _main(program, config_name, run_task)


def tool_entry_point(program: str, task: Callable[[DictConfig], Any]) -> Main:
    """The `main()` of a command that writes no run folder (export, aggregate, data.convert, ...).

    Its keys and their defaults are its entry config `conf/<command>.yaml` (`univa.` left out of
    the name), which picks `hydra: tool` (no output folder, no `.hydra/`, no log) and its
    `--help`, `conf/hydra/help/<command>.yaml`. The keys are that file's and no other; a key
    whose value there is `???` is required, and leaving it out names it in one line, with its
    line of the help. `-m` is refused: one run, no sweep folder.
    """
    config_name = program.removeprefix("univa.")

    @functools.wraps(task)
    def run_task(cfg: DictConfig) -> Any:
        with exit_on_user_error(program):
            check_config(cfg)
            check_tool_keys(cfg, program, HydraConfig.get().help.template)
            return task(cfg)

    return _main(program, config_name, run_task, tool=True)


def check_tool_keys(cfg: DictConfig, program: str, help_text: str) -> None:
    """No key beyond the entry config's (`+key=` would add one nothing reads), and each
    required one (`???` there) given and not empty."""
    entry = OmegaConf.load(Path(CONFIG_DIR) / f"{program.removeprefix('univa.')}.yaml")
    keys = [str(key) for key in entry if key != "defaults"]
    for key in cfg:
        if key not in keys:
            raise UsageError(
                f"+{key}: {key} is not a key of {program}; its keys: {', '.join(keys)}"
            )
    for key in keys:
        if OmegaConf.is_missing(entry, key) and cfg.get(key) in (None, ""):
            raise UsageError(f"{key} is required ({help_line(help_text, key) or '--help'})")


def help_line(help_text: str, key: str) -> str | None:
    """`key=VALUE: what it is`, from the line of `help_text` that starts with `key=`."""
    for line in help_text.splitlines():
        if line.strip().startswith(f"{key}="):
            usage, _, what = line.strip().partition("  ")
            return f"{usage}: {' '.join(what.split())}" if what.strip() else usage
    return None


def _main(
    program: str, config_name: str, run_task: Callable[[DictConfig], Any], tool: bool = False
) -> Main:
    hydra_app = hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name=config_name)(
        run_task
    )

    def main(argv: list[str] | None = None) -> None:
        quiet_library_noise()
        SweepFolderCleanup.started.clear()  # only this command's sweeps
        with _command_line(argv) as args, _hydra_errors_raised():
            if tool and MULTIRUN_FLAGS & set(args):
                raise SystemExit(
                    f"{program}: error: -m: {program} runs once and writes no run folder; "
                    "run it once for each value"
                )
            try:
                hydra_app()
            except COMPOSITION_ERRORS as error:
                SweepFolderCleanup.remove_unused()
                message = composition_message(error, program if tool else None)
                raise SystemExit(f"{program}: error: {' '.join(message.splitlines())}") from None
            except ValueError as error:
                if not str(error).startswith(HYDRA_MODE_CLASH):  # anything else is a bug
                    raise
                raise SystemExit(
                    f"{program}: error: {error}: `--cfg job` or `--cfg hydra` without -m shows "
                    "the config of one job of the sweep"
                ) from None

    main.__doc__ = f"`python -m {program} [key=value ...]`; `argv` in place of sys.argv[1:]."
    return main


@contextmanager
def _command_line(argv: list[str] | None) -> Iterator[list[str]]:
    """The arguments Hydra reads: `argv` in place of sys.argv[1:] for the time of the call."""
    saved = sys.argv
    sys.argv = saved if argv is None else [saved[0] if saved else "univa", *argv]
    try:
        yield sys.argv[1:]
    finally:
        sys.argv = saved


@contextmanager
def _hydra_errors_raised() -> Iterator[None]:
    """Let Hydra raise its errors instead of printing them (HYDRA_FULL_ERROR), so they can be
    told apart and reported in one line; a bug keeps its whole traceback."""
    previous = os.environ.get("HYDRA_FULL_ERROR")
    os.environ["HYDRA_FULL_ERROR"] = "1"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("HYDRA_FULL_ERROR", None)
        else:
            os.environ["HYDRA_FULL_ERROR"] = previous


def composition_message(error: Exception, tool: str | None = None) -> str:
    """One line for an error of Hydra's config composition, naming the key or the option
    (and, for the command `tool`, whose keys are fixed, its keys)."""
    if isinstance(error, MissingConfigException) and error.options and error.missing_cfg_file:
        group, _, name = error.missing_cfg_file.rpartition("/")
        return f"{group}={name}: no such option; {group} is one of {', '.join(error.options)}"
    if isinstance(error, OverrideParseException):
        return f"cannot read the override '{error.override}': {first_line(error)}"
    cause = error.__cause__
    if isinstance(cause, ConfigKeyError | ConfigAttributeError):  # a key not in the config
        return unknown_key_message(cause, tool)
    if isinstance(cause, OmegaConfBaseException):
        value = "" if cause.value is None else f"={cause.value}"
        return f"{cause.full_key}{value}: {expected_type(cause) or first_line(cause)}"
    return " ".join(line.strip() for line in str(error).splitlines() if line.strip())


def expected_type(error: OmegaConfBaseException) -> str | None:
    """`expected a number` for a value a schema's type refuses; None for other errors."""
    if not isinstance(error, ValidationError):
        return None
    text = first_line(error)
    return next(
        (f"expected {name}" for pattern, name in SCHEMA_TYPES.items() if re.search(pattern, text)),
        None,
    )


def unknown_key_message(
    error: ConfigKeyError | ConfigAttributeError, tool: str | None = None
) -> str:
    """`model.temprature is not a key of the config; did you mean model.temperature?`"""
    key = str(error.full_key or error.key)
    prefix, _, name = key.rpartition(".")
    parent = error.parent_node
    keys = [str(k) for k in parent] if OmegaConf.is_dict(parent) else []
    keys = [k for k in keys if not (tool and k == "hydra")]  # Hydra's, not the tool's
    close = difflib.get_close_matches(name, keys, n=1, cutoff=0.6)
    config = tool or "the config"
    if close:
        return f"{key} is not a key of {config}; did you mean {prefix and prefix + '.'}{close[0]}?"
    if tool is not None:
        return f"{key} is not a key of {tool}; its keys: {', '.join(keys)}"
    if OmegaConf.is_dict(parent) and dataclasses.is_dataclass(OmegaConf.get_type(parent)):
        return f"{key} is not a key of the config; {prefix} has a fixed set of keys"
    return f"{key} is not a key of the config (a new key is added with +{key}=...)"


def _job_output_dir() -> Path | None:
    if not HydraConfig.initialized():
        return None
    runtime = HydraConfig.get().runtime
    return None if OmegaConf.is_missing(runtime, "output_dir") else Path(runtime.output_dir)


def remove_unused_run_folder(output_dir: Path, log_dir: Path | None) -> None:
    """After a failed job, remove its run folder if that holds only what Hydra wrote there
    (`.hydra/`, the job's log), then the folders around it that Hydra made and that are now
    unused. Anything else (a checkpoint, results, a user's file) keeps its folder as it is."""
    hydra_cfg = HydraConfig.get()
    if _holds_only(output_dir, {HYDRA_OUTPUT_SUBDIR, f"{hydra_cfg.job.name}.log"}):
        shutil.rmtree(output_dir)
        _remove_unused_parents(output_dir, log_dir, hydra_cfg.mode == RunMode.MULTIRUN)


def remove_unused_sweep_folder(sweep_dir: Path, log_dir: Path | None) -> None:
    """After a multirun failed before its first job ran, remove its folder if that holds only
    Hydra's `multirun.yaml`, then the now empty folders Hydra made above it."""
    if _holds_only(sweep_dir, {HYDRA_MULTIRUN_FILE}):
        shutil.rmtree(sweep_dir)
        _remove_unused_parents(sweep_dir, log_dir, multirun=False)


def _remove_unused_parents(folder: Path, log_dir: Path | None, multirun: bool) -> None:
    """Up to `log_dir` (kept), the empty folders above `folder`, or a sweep folder holding only
    `multirun.yaml`. Outside `log_dir` the folders are the user's: only the sweep folder of a
    multirun job is Hydra's."""
    if log_dir is None or not folder.is_relative_to(log_dir):
        parents = [folder.parent] if multirun else []
    else:
        parents = [log_dir / parent for parent in list(folder.relative_to(log_dir).parents)[:-1]]
    for parent in parents:
        if not _holds_only(parent, {HYDRA_MULTIRUN_FILE}):
            return
        shutil.rmtree(parent)


class SweepFolderCleanup(Callback):
    """A Hydra callback (conf/hydra/default.yaml) that records each multirun's folder, so that
    a sweep whose jobs do not compose (a misspelt key) leaves no folder behind."""

    started: ClassVar[list[tuple[Path, Path | None]]] = []

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        log_dir = OmegaConf.select(config, "paths.log_dir", throw_on_resolution_failure=False)
        sweep_dir = Path(str(config.hydra.sweep.dir)).absolute()
        self.started.append((sweep_dir, log_dir and Path(log_dir).absolute()))

    @classmethod
    def remove_unused(cls) -> None:
        while cls.started:
            with contextlib.suppress(OSError):
                remove_unused_sweep_folder(*cls.started.pop())


def _holds_only(folder: Path, names: set[str]) -> bool:
    """`folder` holds nothing but plain files and Hydra's `.hydra/` config files, all named in
    `names` (an empty folder too)."""
    if not folder.is_dir() or folder.is_symlink():
        return False
    for entry in folder.iterdir():
        if entry.name not in names or entry.is_symlink():
            return False
        if entry.name == HYDRA_OUTPUT_SUBDIR and entry.is_dir():
            if not all(child.is_file() and child.suffix == ".yaml" for child in entry.iterdir()):
                return False
        elif not entry.is_file():
            return False
    return True
