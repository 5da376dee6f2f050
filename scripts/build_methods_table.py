"""Write the table of every declared heatmap method into docs/methods.md, from the declarations.

Usage: python scripts/build_methods_table.py   (tests/test_guide.py fails when the page is out of date)
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

START, END = "<!-- methods-table:start -->", "<!-- methods-table:end -->"


def with_methods_table(page: str) -> str:
    """``page`` with the text between the two markers replaced by the methods table."""
    from cnnviz_widgets.methods import methods_table

    head, rest = page.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{methods_table()}\n{END}{tail}"


def main() -> None:
    path = ROOT / "docs" / "methods.md"
    path.write_text(with_methods_table(path.read_text()))
    print(f"wrote the methods table of {path}")


if __name__ == "__main__":
    main()
