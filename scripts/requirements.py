"""Print the project's declared requirements, one per line, for ``pip install -r``.

    python scripts/requirements.py --extras jax,dev --without tensorflow

prints the core dependencies and those of the named extras from pyproject.toml, less the
packages named by ``--without``. ``make test`` uses it to build the JAX-only environment
(.venv-jax) from the same declarations as the default one, with no list copied by hand.
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def requirement_name(requirement: str) -> str:
    """The distribution name of a requirement string (``"ray[data]>=2.40"`` -> ``"ray"``)."""
    return re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def requirements(extras: list[str], without: list[str]) -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    optional = project.get("optional-dependencies", {})
    unknown = [e for e in extras if e not in optional]
    if unknown:
        raise SystemExit(f"unknown extras {unknown}; pyproject.toml declares {sorted(optional)}")
    chosen = list(project["dependencies"]) + [r for e in extras for r in optional[e]]
    dropped = {w.lower() for w in without}
    return list(dict.fromkeys(r for r in chosen if requirement_name(r) not in dropped))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--extras", default="", help="comma-separated extras of pyproject.toml")
    parser.add_argument("--without", default="", help="comma-separated package names to leave out")
    args = parser.parse_args(argv)
    split = [[p for p in value.split(",") if p] for value in (args.extras, args.without)]
    sys.stdout.write("".join(r + "\n" for r in requirements(*split)))


if __name__ == "__main__":
    main()
