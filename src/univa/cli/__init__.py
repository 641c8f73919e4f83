"""What the entry points share: Hydra's app around a task, with command-line mistakes in one line."""
