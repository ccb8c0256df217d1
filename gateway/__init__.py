"""appeal-gateway: the process shell (I/O adapters, workers, CLI, composition root)."""

__version__ = "0.1.0"
