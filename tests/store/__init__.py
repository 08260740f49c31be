"""Database layer and state store tests (a package, so its conftest does not shadow tests/conftest.py)."""
