"""univa's generic dataset format: its names, reader, validator and writer, and its data module."""
