"""The packaged Hydra configs: `CONFIG_DIR` holds the entry configs and one folder per group."""

from pathlib import Path

CONFIG_DIR = str(Path(__file__).parent)
