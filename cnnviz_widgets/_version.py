"""The package version, in one place: read by pyproject.toml (setuptools), the package and the docs."""

__version__ = "0.2.0"
