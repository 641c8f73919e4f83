"""What the entry points share: Hydra's app around a task, with command-line mistakes in one line."""

from univa.conf import CONFIG_DIR

__all__ = ["CONFIG_DIR"]
