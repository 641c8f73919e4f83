"""What the entry points share: Hydra's app around a task, with command-line mistakes in one line,
and the typed schemas of the config groups, registered on import so that any composition (the
entry points, tests, scripts composing with `CONFIG_DIR`) checks keys and types."""

from univa.cli.schemas import register_schemas
from univa.conf import CONFIG_DIR

register_schemas()

__all__ = ["CONFIG_DIR"]
