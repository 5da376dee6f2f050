"""Memory of one student's kernel: each notebook run top to bottom in a fresh kernel.

Usage: .venv/bin/python benchmarks/kernel_memory.py [notebooks/00_tour.ipynb ...]

For each notebook (default: all of notebooks/), a fresh python3 kernel runs every cell (cells
tagged needs-network are skipped), then reports its resident memory now and at its peak
(``ru_maxrss``) and the wall time. This is what a JupyterHub or Binder seat must provide.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
REPORT = """import os, resource
rss = int(open(f"/proc/{os.getpid()}/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
print(f"MEMORY {rss / 2**20:.0f} {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}")"""


def measure(path: Path) -> tuple[float, float, float]:
    nb = nbformat.read(path, as_version=4)
    nb.cells = [c for c in nb.cells if "needs-network" not in c.metadata.get("tags", [])]
    nb.cells.append(nbformat.v4.new_code_cell(REPORT))
    start = time.perf_counter()
    NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    seconds = time.perf_counter() - start
    line = next(o.text for o in nb.cells[-1].outputs if o.output_type == "stream" and "MEMORY" in o.text)
    now, peak = map(float, line.split()[1:3])
    return now, peak, seconds


def main() -> None:
    paths = [Path(p) for p in sys.argv[1:]] or sorted((ROOT / "notebooks").glob("*.ipynb"))
    print(f"{'notebook':34s} {'RSS at end':>11s} {'peak RSS':>9s} {'run time':>9s}")
    for path in paths:
        now, peak, seconds = measure(path)
        print(f"{path.name:34s} {now:8.0f} MiB {peak:5.0f} MiB {seconds:7.1f} s")


if __name__ == "__main__":
    main()
