"""Synthetic datasets of every flavour, written on first use, and their data module
(`python -m univa.data.synthetic` writes one: `__main__.py`)."""
