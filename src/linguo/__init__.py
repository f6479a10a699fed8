"""Linguo: the backend language-learning products run on."""

__version__ = "0.1.0"
