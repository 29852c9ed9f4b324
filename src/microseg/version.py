"""The package version, in a leaf module so any layer can record it (checkpoints do)."""

__version__ = "0.1.0"
