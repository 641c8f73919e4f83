"""What a command prints: no library chatter, nothing cropped in a log file.

The filters name each message they drop (and its category and source), so a new or a real
warning still shows.
"""

from __future__ import annotations

import logging
import re
import warnings

from rich.console import Console

# a file or pipe (a SLURM log) has no width: lines are never cut or wrapped there
UNLIMITED_WIDTH = 100_000
LIGHTNING_RANK_ZERO_LOGGERS = (
    "lightning.pytorch.utilities.rank_zero",
    "lightning.fabric.utilities.rank_zero",
)
# Lightning's INFO lines that only advertise or restate univa's own choices
LIGHTNING_CHATTER = (
    "Trainer already configured with model summary callbacks",  # univa's RichModelSummary
    "💡 Tip: For seamless cloud logging",  # an advertisement for litlogger
)


class DropMessages(logging.Filter):
    """Drop log records whose message starts with one of `prefixes`."""

    def __init__(self, prefixes: tuple[str, ...]) -> None:
        super().__init__()
        self.prefixes = prefixes

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(self.prefixes)


def quiet_library_noise() -> None:
    """Silence the known, harmless messages of the libraries at each command's start."""
    # Lightning 2.6 builds torch's deprecated LeafSpec itself (lightning/pytorch/utilities/_pytree)
    warnings.filterwarnings(
        "ignore",
        message=re.escape("`isinstance(treespec, LeafSpec)` is deprecated"),
        category=FutureWarning,
        module=r"lightning\.pytorch\.utilities\._pytree",
    )
    # small datasets have fewer batches per epoch than trainer.log_every_n_steps: the epoch's
    # metrics are still logged at its end
    warnings.filterwarnings(
        "ignore",
        message=r"The number of training batches \(\d+\) is smaller than the logging interval",
        module=r"lightning\.pytorch\.loops\.fit_loop",
    )
    # univa's conf/hydra/launcher/submitit_*.yaml extend the launcher plugin's configs of the
    # same names, which Hydra 1.3 still does (and warns it once would not): they name their
    # `_target_`, so they work without it
    warnings.filterwarnings(
        "ignore",
        message=r"\n'hydra/launcher/submitit_(slurm|local)' is validated against ConfigStore schema",
        category=UserWarning,
    )
    for name in LIGHTNING_RANK_ZERO_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, DropMessages) for f in logger.filters):
            logger.addFilter(DropMessages(LIGHTNING_CHATTER))


def console() -> Console:
    """A rich console for the terminal, or one that neither crops nor wraps in a file or pipe."""
    terminal = Console()
    if terminal.is_terminal:
        return terminal
    return Console(width=UNLIMITED_WIDTH, soft_wrap=True)
