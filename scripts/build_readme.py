"""Write the README's generated parts from the code: the table of every declared heatmap method.

Usage: python scripts/build_readme.py   (tests/test_readme.py fails when the README is out of date)
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

START, END = "<!-- methods-table:start -->", "<!-- methods-table:end -->"


def with_methods_table(readme: str) -> str:
    """``readme`` with the text between the two markers replaced by the methods table."""
    from cnnviz_widgets.methods import methods_table

    head, rest = readme.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{methods_table()}\n{END}{tail}"


def main() -> None:
    path = ROOT / "README.md"
    path.write_text(with_methods_table(path.read_text()))
    print(f"wrote the methods table of {path}")


if __name__ == "__main__":
    main()
