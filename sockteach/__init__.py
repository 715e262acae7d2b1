"""sockteach: learn TCP sockets by watching real ones work."""

__version__ = "0.1.0"
