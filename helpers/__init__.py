"""ubakit helpers (full exports restored once all modules exist)."""
__version__ = "0.1.0"
