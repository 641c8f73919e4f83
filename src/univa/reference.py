"""`univa.reference.load_reference_checkpoint`, the public name of `univa.original`'s loader."""

from univa.original import load_reference_checkpoint

__all__ = ["load_reference_checkpoint"]
